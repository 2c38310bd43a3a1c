package chunk

import (
	"encoding/binary"
	"fmt"
)

// An integer stream codes n int64s (decimal mantissas, rollup columns) as
//
//	mode     byte   transform | signed<<3
//	header   varints: the values the transform needs to start
//	residuals         class + extra bits (huff.go), n - skip of them
//
// The encoder tries every transform and keeps the smallest:
//
//	raw:   x[i] - min                    levels that jump around (latency)
//	mean:  zigzag(x[i] - mean)           the same, centred
//	delta: x[i] - x[i-1]                 counters, random walks
//	dod:   delta of delta                steady rates
const (
	xfRaw   = 0
	xfMean  = 1
	xfDelta = 2
	xfDoD   = 3
	numXf   = 4
)

func zigzag(x int64) uint64   { return uint64(x<<1) ^ uint64(x>>63) }
func unzigzag(u uint64) int64 { return int64(u>>1) ^ -int64(u&1) }

// intScratch holds reusable buffers for encoding.
type intScratch struct {
	ms  []int64
	col []int64
	fs  []float64
}

// transforms computes the header and the class histogram of every
// transform of xs in two passes, without materialising residuals.
func transforms(xs []int64, hists *[numXf][numClasses]int, hdrs *[numXf][2]int64, signed *[numXf]bool) {
	n := len(xs)
	lo := xs[0]
	var sum float64
	decreasing := false
	for i, x := range xs {
		lo = min(lo, x)
		sum += float64(x)
		if i > 0 && x < xs[i-1] {
			decreasing = true
		}
	}
	mean := int64(sum / float64(n))
	hdrs[xfRaw][0], hdrs[xfMean][0], hdrs[xfDelta][0], hdrs[xfDoD][0] = lo, mean, xs[0], xs[0]
	signed[xfRaw], signed[xfMean], signed[xfDelta], signed[xfDoD] = false, true, decreasing, true
	if n > 1 {
		hdrs[xfDoD][1] = xs[1] - xs[0]
	}
	hr, hm, hd, hdd := &hists[xfRaw], &hists[xfMean], &hists[xfDelta], &hists[xfDoD]
	prev, prevD := xs[0], int64(0)
	for i, x := range xs {
		hr[class(uint64(x-lo))]++
		hm[class(zigzag(x-mean))]++
		if i == 0 {
			continue
		}
		d := x - prev
		if decreasing {
			hd[class(zigzag(d))]++
		} else {
			hd[class(uint64(d))]++
		}
		if i >= 2 {
			hdd[class(zigzag(d-prevD))]++
		}
		prev, prevD = x, d
	}
}

// residual returns residual i of transform xf (for delta, i >= 1; for
// dod, i >= 2).
func residual(xs []int64, i, xf int, hdr [2]int64, signed bool) uint64 {
	switch xf {
	case xfRaw:
		return uint64(xs[i] - hdr[0])
	case xfMean:
		return zigzag(xs[i] - hdr[0])
	case xfDelta:
		if signed {
			return zigzag(xs[i] - xs[i-1])
		}
		return uint64(xs[i] - xs[i-1])
	default:
		return zigzag((xs[i] - xs[i-1]) - (xs[i-1] - xs[i-2]))
	}
}

// encodeInts appends the stream of xs (len >= 1) to dst.
func encodeInts(dst []byte, xs []int64, sc *intScratch) []byte {
	var hists [numXf][numClasses]int
	var hdrs [numXf][2]int64
	var signed [numXf]bool
	transforms(xs, &hists, &hdrs, &signed)
	best, bestCost := -1, 0
	var bestLens [numClasses]uint8
	bestMax, bestUsed := 0, 0
	for xf := 0; xf < numXf; xf++ {
		if xf == xfDoD && len(xs) < 3 {
			continue
		}
		var lens [numClasses]uint8
		maxClass, used := huffLengths(&hists[xf], &lens)
		cost := codeCost(&hists[xf], &lens, maxClass, used) + 8*varintLen(hdrs[xf][0])
		if xf == xfDoD {
			cost += 8 * varintLen(hdrs[xf][1])
		}
		if best < 0 || cost < bestCost {
			best, bestCost = xf, cost
			bestLens, bestMax, bestUsed = lens, maxClass, used
		}
	}
	mode := byte(best)
	if signed[best] {
		mode |= 1 << 3
	}
	dst = append(dst, mode)
	dst = binary.AppendVarint(dst, hdrs[best][0])
	first := 0
	switch best {
	case xfDelta:
		first = 1
	case xfDoD:
		dst = binary.AppendVarint(dst, hdrs[best][1])
		first = 2
	}
	w := bitWriter{buf: dst}
	if bestUsed <= 1 {
		w.writeBits(1, 1) // single class
		k := max(bestMax, 0)
		w.writeBits(uint64(k), classBits)
		if eb := extraBits(k); eb > 0 {
			for i := first; i < len(xs); i++ {
				w.writeBits(residual(xs, i, best, hdrs[best], signed[best]), eb)
			}
		}
		return w.bytes()
	}
	var codes [numClasses]uint16
	canonicalCodes(&bestLens, &codes)
	w.writeBits(0, 1)
	w.writeBits(uint64(bestMax), classBits)
	for k := 0; k <= bestMax; k++ {
		w.writeBits(uint64(bestLens[k]), codeLenBits)
	}
	for i := first; i < len(xs); i++ {
		u := residual(xs, i, best, hdrs[best], signed[best])
		k := class(u)
		l, eb := uint(bestLens[k]), extraBits(k)
		if l+eb <= 64 {
			// One write: the code, then the bits below the leading one.
			v := uint64(codes[k])<<eb | u&(1<<eb-1)
			w.writeBits(v, l+eb)
			continue
		}
		w.writeBits(uint64(codes[k]), l)
		w.writeBits(u, eb)
	}
	return w.bytes()
}

func varintLen(x int64) int {
	var b [binary.MaxVarintLen64]byte
	return binary.PutVarint(b[:], x)
}

// decodeInts decodes len(out) values from src, returning the bytes used.
func decodeInts(src []byte, out []int64, us []uint64, table *huffTable) (int, []uint64, error) {
	n := len(out)
	if len(src) < 2 {
		return 0, us, fmt.Errorf("%w: int stream header", ErrCorrupt)
	}
	mode := src[0]
	xf, signed := int(mode&7), mode&(1<<3) != 0
	p := 1
	h0, w := binary.Varint(src[p:])
	if w <= 0 {
		return 0, us, fmt.Errorf("%w: int stream header", ErrCorrupt)
	}
	p += w
	var h1 int64
	skip := 0
	switch xf {
	case xfRaw, xfMean:
	case xfDelta:
		skip = 1
	case xfDoD:
		if h1, w = binary.Varint(src[p:]); w <= 0 {
			return 0, us, fmt.Errorf("%w: int stream header", ErrCorrupt)
		}
		p += w
		skip = min(2, n)
	default:
		return 0, us, fmt.Errorf("%w: int transform %d", ErrCorrupt, xf)
	}
	m := n - skip
	if cap(us) < m {
		us = make([]uint64, m)
	}
	us = us[:m]
	r := newBitReader(src[p:])
	if !readResiduals(&r, us, table) {
		return 0, us, fmt.Errorf("%w: int stream residuals", ErrCorrupt)
	}
	used := p + (r.pos*8-int(r.nacc)+7)/8
	switch xf {
	case xfRaw:
		for i, u := range us {
			out[i] = h0 + int64(u)
		}
	case xfMean:
		for i, u := range us {
			out[i] = h0 + unzigzag(u)
		}
	case xfDelta:
		x := h0
		out[0] = x
		if signed {
			for i, u := range us {
				x += unzigzag(u)
				out[i+1] = x
			}
		} else {
			for i, u := range us {
				x += int64(u)
				out[i+1] = x
			}
		}
	case xfDoD:
		x, d := h0, h1
		out[0] = x
		if n > 1 {
			x += d
			out[1] = x
		}
		for i, u := range us {
			d += unzigzag(u)
			x += d
			out[i+2] = x
		}
	}
	return used, us, nil
}
