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
	us  [numXf][]uint64
	ms  []int64
	col []int64
	fs  []float64
}

// residuals computes the residuals of transform xf; signed reports whether
// they are zigzagged; hdr are the header values.
func residuals(xs []int64, xf int, us []uint64, hist *[numClasses]int) (out []uint64, hdr [2]int64, signed bool) {
	*hist = [numClasses]int{}
	us = us[:0]
	n := len(xs)
	switch xf {
	case xfRaw:
		lo := xs[0]
		for _, x := range xs {
			lo = min(lo, x)
		}
		hdr[0] = lo
		for _, x := range xs {
			u := uint64(x - lo)
			us = append(us, u)
			hist[class(u)]++
		}
	case xfMean:
		var sum float64
		for _, x := range xs {
			sum += float64(x)
		}
		m := int64(sum / float64(n))
		hdr[0] = m
		signed = true
		for _, x := range xs {
			u := zigzag(x - m)
			us = append(us, u)
			hist[class(u)]++
		}
	case xfDelta:
		hdr[0] = xs[0]
		signed = false
		for i := 1; i < n; i++ {
			if xs[i] < xs[i-1] {
				signed = true
				break
			}
		}
		for i := 1; i < n; i++ {
			d := xs[i] - xs[i-1]
			u := uint64(d)
			if signed {
				u = zigzag(d)
			}
			us = append(us, u)
			hist[class(u)]++
		}
	case xfDoD:
		hdr[0] = xs[0]
		if n > 1 {
			hdr[1] = xs[1] - xs[0]
		}
		signed = true
		for i := 2; i < n; i++ {
			u := zigzag((xs[i] - xs[i-1]) - (xs[i-1] - xs[i-2]))
			us = append(us, u)
			hist[class(u)]++
		}
	}
	return us, hdr, signed
}

// encodeInts appends the stream of xs (len >= 1) to dst.
func encodeInts(dst []byte, xs []int64, sc *intScratch) []byte {
	best, bestCost := -1, 0
	var hists [numXf][numClasses]int
	var hdrs [numXf][2]int64
	var signed [numXf]bool
	for xf := 0; xf < numXf; xf++ {
		if xf == xfDoD && len(xs) < 3 {
			continue
		}
		sc.us[xf], hdrs[xf], signed[xf] = residuals(xs, xf, sc.us[xf], &hists[xf])
		var lens [numClasses]uint8
		maxClass, used := huffLengths(&hists[xf], &lens)
		cost := codeCost(&hists[xf], &lens, maxClass, used) + 8*varintLen(hdrs[xf][0])
		if xf == xfDoD {
			cost += 8 * varintLen(hdrs[xf][1])
		}
		if best < 0 || cost < bestCost {
			best, bestCost = xf, cost
		}
	}
	mode := byte(best)
	if signed[best] {
		mode |= 1 << 3
	}
	dst = append(dst, mode)
	dst = binary.AppendVarint(dst, hdrs[best][0])
	if best == xfDoD {
		dst = binary.AppendVarint(dst, hdrs[best][1])
	}
	w := bitWriter{buf: dst}
	writeResiduals(&w, sc.us[best], &hists[best])
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
