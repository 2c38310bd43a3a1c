package chunk

import (
	"encoding/binary"
	"fmt"
	"math"
)

// Point is one rollup bucket: the aggregate of the raw samples with
// Start <= t < Start+resolution (NaNs excluded).
type Point struct {
	Start int64 // bucket start
	LastT int64 // timestamp of the last sample
	Count int64
	Sum   float64
	Min   float64
	Max   float64
	Last  float64
}

// Add folds a sample into p (p.Count == 0 means empty).
func (p *Point) Add(t int64, v float64) {
	if p.Count == 0 {
		p.Min, p.Max, p.Sum = v, v, 0
	}
	p.Count++
	p.Sum += v
	p.Min = math.Min(p.Min, v)
	p.Max = math.Max(p.Max, v)
	if t >= p.LastT || p.Count == 1 {
		p.LastT, p.Last = t, v
	}
}

// Merge folds q (a later or equal bucket part) into p.
func (p *Point) Merge(q Point) {
	if q.Count == 0 {
		return
	}
	if p.Count == 0 {
		start := p.Start
		*p = q
		p.Start = start
		return
	}
	p.Count += q.Count
	p.Sum += q.Sum
	p.Min = math.Min(p.Min, q.Min)
	p.Max = math.Max(p.Max, q.Max)
	if q.LastT >= p.LastT {
		p.LastT, p.Last = q.LastT, q.Last
	}
}

// A rollup chunk holds the points of one series in one period:
//
//	n         uvarint
//	positions int stream of (Start - base) / res        (1 per point)
//	lastT     int stream of LastT - Start
//	count     int stream
//	vmode     byte: decimal or XOR
//	decimal:  varint exponent, then 4 length-prefixed int streams:
//	          last, max-last, last-min, sum-count*min
//	XOR:      4 length-prefixed XOR streams: last, max, min, sum
//
// Columns are length-prefixed so that a reader needing only "last" skips
// the others. Derived columns (max-last, ...) are small and non-negative.

// Columns selects what DecodeRollup fills.
type Columns uint8

// Column flags.
const (
	ColLast Columns = 1 << iota
	ColMax
	ColMin
	ColSum
	ColAll = ColLast | ColMax | ColMin | ColSum
)

// EncodeRollup appends the chunk of points (sorted by Start, all within
// the period starting at base, Start multiples of res) to dst.
func (e *Encoder) EncodeRollup(dst []byte, base, res int64, ps []Point) []byte {
	n := len(ps)
	dst = binary.AppendUvarint(dst, uint64(n))
	if n == 0 {
		return dst
	}
	col := e.sc.col[:0]
	for _, p := range ps {
		col = append(col, (p.Start-base)/res)
	}
	dst = encodeInts(dst, col, &e.sc)
	col = col[:0]
	for _, p := range ps {
		col = append(col, p.LastT-p.Start)
	}
	dst = encodeInts(dst, col, &e.sc)
	col = col[:0]
	for _, p := range ps {
		col = append(col, p.Count)
	}
	dst = encodeInts(dst, col, &e.sc)
	e.sc.col = col

	if d, ok := e.rollupDecimal(dst, ps); ok {
		return d
	}
	dst = append(dst, valXOR)
	vs := e.sc.fs[:0]
	for c := 0; c < 4; c++ {
		vs = vs[:0]
		for _, p := range ps {
			vs = append(vs, [4]float64{p.Last, p.Max, p.Min, p.Sum}[c])
		}
		var w bitWriter
		encodeXOR(&w, vs)
		b := w.bytes()
		dst = binary.AppendUvarint(dst, uint64(len(b)))
		dst = append(dst, b...)
	}
	e.sc.fs = vs
	return dst
}

// rollupDecimal writes the value columns as decimal integer streams; false
// when some value is not a short decimal or a derived column overflows.
func (e *Encoder) rollupDecimal(dst []byte, ps []Point) ([]byte, bool) {
	vs := e.sc.fs[:0]
	for _, p := range ps {
		vs = append(vs, p.Last, p.Max, p.Min, p.Sum)
	}
	e.sc.fs = vs
	ms, exp, ok := toDecimals(vs, e.sc.ms)
	e.sc.ms = ms
	if !ok {
		return dst, false
	}
	n := len(ps)
	cols := make([]int64, 4*n)
	for i, p := range ps {
		l, mx, mn, s := ms[4*i], ms[4*i+1], ms[4*i+2], ms[4*i+3]
		cm, ok1 := mulOK(p.Count, mn)
		ds, ok2 := subOK(s, cm)
		dmx, ok3 := subOK(mx, l)
		dmn, ok4 := subOK(l, mn)
		if !ok1 || !ok2 || !ok3 || !ok4 {
			return dst, false
		}
		cols[i], cols[n+i], cols[2*n+i], cols[3*n+i] = l, dmx, dmn, ds
	}
	dst = append(dst, valDecimal)
	dst = binary.AppendVarint(dst, int64(exp))
	var tmp []byte
	for c := 0; c < 4; c++ {
		tmp = encodeInts(tmp[:0], cols[c*n:(c+1)*n], &e.sc)
		dst = binary.AppendUvarint(dst, uint64(len(tmp)))
		dst = append(dst, tmp...)
	}
	return dst, true
}

func mulOK(a, b int64) (int64, bool) {
	if a == 0 || b == 0 {
		return 0, true
	}
	c := a * b
	if c/b != a || (a == -1 && b == math.MinInt64) || (b == -1 && a == math.MinInt64) {
		return 0, false
	}
	return c, true
}

func subOK(a, b int64) (int64, bool) {
	c := a - b
	if (c > a) != (b < 0) {
		return 0, false
	}
	return c, true
}

// DecodeRollup decodes a rollup chunk, appending to ps. Only the columns
// in cols are filled; the others are left zero.
func (d *Decoder) DecodeRollup(src []byte, base, res int64, cols Columns, ps []Point) ([]Point, error) {
	n64, w := binary.Uvarint(src)
	if w <= 0 || n64 > MaxSamples {
		return ps, fmt.Errorf("%w: rollup count", ErrCorrupt)
	}
	n := int(n64)
	p := w
	if n == 0 {
		return ps, nil
	}
	off := len(ps)
	if cap(ps)-off < n {
		nps := make([]Point, off, off+n)
		copy(nps, ps)
		ps = nps
	}
	ps = ps[:off+n]
	out := ps[off:]
	clear(out)
	dd := &d.d
	if cap(dd.ms) < n {
		dd.ms = make([]int64, n)
	}
	xs := dd.ms[:n]
	var err error
	var used int
	read := func(what string) error {
		used, dd.us, err = decodeInts(src[p:], xs, dd.us, &dd.table)
		if err != nil {
			return fmt.Errorf("rollup %s: %w", what, err)
		}
		p += used
		return nil
	}
	if err := read("positions"); err != nil {
		return ps[:off], err
	}
	for i, x := range xs {
		if x < 0 || x > 1<<40 {
			return ps[:off], fmt.Errorf("%w: rollup position %d", ErrCorrupt, x)
		}
		out[i].Start = base + x*res
	}
	if err := read("last timestamps"); err != nil {
		return ps[:off], err
	}
	for i, x := range xs {
		out[i].LastT = out[i].Start + x
	}
	if err := read("counts"); err != nil {
		return ps[:off], err
	}
	for i, x := range xs {
		out[i].Count = x
	}
	if p >= len(src) {
		return ps[:off], fmt.Errorf("%w: rollup value mode", ErrCorrupt)
	}
	mode := src[p]
	p++
	switch mode {
	case valDecimal:
		e, w := binary.Varint(src[p:])
		if w <= 0 || e < -22 || e > 22 {
			return ps[:off], fmt.Errorf("%w: rollup exponent", ErrCorrupt)
		}
		p += w
		// fromDecimal, with the exponent's branch and power hoisted.
		p10 := pow10[max(e, -e)]
		div := e < 0
		conv := func(m int64) float64 { return decConv(m, p10, div) }
		if cols&(ColMax|ColMin|ColSum) != 0 {
			cols |= ColLast // derived columns need last
		}
		if cols&ColSum != 0 {
			cols |= ColMin
		}
		if cap(dd.last) < n {
			dd.last, dd.min = make([]int64, n), make([]int64, n)
		}
		last, mn := dd.last[:n], dd.min[:n]
		for c := 0; c < 4; c++ {
			l, w := binary.Uvarint(src[p:])
			if w <= 0 || l > uint64(len(src)-p-w) {
				return ps[:off], fmt.Errorf("%w: rollup column %d length", ErrCorrupt, c)
			}
			p += w
			body := src[p : p+int(l)]
			p += int(l)
			if cols&(1<<c) == 0 {
				continue
			}
			if _, dd.us, err = decodeInts(body, xs, dd.us, &dd.table); err != nil {
				return ps[:off], fmt.Errorf("rollup column %d: %w", c, err)
			}
			switch c {
			case 0:
				copy(last, xs)
				for i, x := range xs {
					out[i].Last = conv(x)
				}
			case 1:
				for i, x := range xs {
					out[i].Max = conv(last[i] + x)
				}
			case 2:
				for i, x := range xs {
					mn[i] = last[i] - x
					out[i].Min = conv(mn[i])
				}
			case 3:
				for i, x := range xs {
					out[i].Sum = conv(x + out[i].Count*mn[i])
				}
			}
		}
	case valXOR:
		for c := 0; c < 4; c++ {
			l, w := binary.Uvarint(src[p:])
			if w <= 0 || l > uint64(len(src)-p-w) {
				return ps[:off], fmt.Errorf("%w: rollup column %d length", ErrCorrupt, c)
			}
			p += w
			body := src[p : p+int(l)]
			p += int(l)
			if cols&(1<<c) == 0 {
				continue
			}
			if cap(dd.fs) < n {
				dd.fs = make([]float64, n)
			}
			fs := dd.fs[:n]
			r := newBitReader(body)
			decodeXOR(&r, fs)
			if r.overrun {
				return ps[:off], fmt.Errorf("%w: rollup column %d", ErrCorrupt, c)
			}
			for i, f := range fs {
				switch c {
				case 0:
					out[i].Last = f
				case 1:
					out[i].Max = f
				case 2:
					out[i].Min = f
				case 3:
					out[i].Sum = f
				}
			}
		}
	default:
		return ps[:off], fmt.Errorf("%w: rollup value mode %d", ErrCorrupt, mode)
	}
	return ps, nil
}

// decConv is fromDecimal with the exponent's sign and power hoisted by the
// caller; it inlines, and its branch is the same for a whole column.
func decConv(m int64, p10 float64, div bool) float64 {
	if div {
		return float64(m) / p10
	}
	return float64(m) * p10
}
