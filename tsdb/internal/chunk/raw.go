// Package chunk holds the codecs of Ward's chunks: one chunk holds the
// samples of one series in one time bucket (raw) or one rollup period.
//
// A raw chunk is
//
//	flags    byte   bits 0-1 timestamp mode, bits 2-4 value mode
//	n        uvarint  number of samples (>= 1)
//	t0       varint   first timestamp minus the bucket start
//	timestamps        regular: uvarint step; irregular: integer stream of deltas
//	values            see the value modes
//
// Timestamps on a fixed grid cost one varint per chunk. Values that are
// short decimals (integers, "12.34", "0.0123") are turned into integers at
// a common decimal exponent and coded as an integer stream (see ints.go);
// other values fall back to Gorilla XOR, which is exact to the bit.
package chunk

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// ErrCorrupt marks a chunk that does not decode.
var ErrCorrupt = errors.New("chunk: corrupt")

// MaxSamples bounds the samples of one chunk so that a corrupt count cannot
// make a decoder allocate without limit. A day at one sample per 100ms fits.
const MaxSamples = 1 << 20

const (
	tsRegular   = 0
	tsIrregular = 1

	valXOR     = 0
	valDecimal = 1
	valConst   = 2
)

// Encoder encodes chunks, reusing its buffers. It is not safe for
// concurrent use; the zero value is ready.
type Encoder struct{ sc intScratch }

// Decoder decodes chunks, reusing its buffers. It is not safe for
// concurrent use; the zero value is ready.
type Decoder struct{ d decoder }

// EncodeRaw appends the chunk of samples to dst with a fresh Encoder.
func EncodeRaw(dst []byte, base int64, ts []int64, vs []float64) []byte {
	var e Encoder
	return e.EncodeRaw(dst, base, ts, vs)
}

// DecodeRaw decodes a chunk with a fresh Decoder.
func DecodeRaw(src []byte, base int64, ts []int64, vs []float64) ([]int64, []float64, error) {
	var d Decoder
	return d.DecodeRaw(src, base, ts, vs)
}

// EncodeRaw appends the chunk of samples (ts strictly increasing, len(ts) ==
// len(vs) >= 1) to dst. base is the bucket start the chunk belongs to.
func (e *Encoder) EncodeRaw(dst []byte, base int64, ts []int64, vs []float64) []byte {
	n := len(ts)
	if n == 0 || n != len(vs) {
		panic(fmt.Sprintf("chunk: EncodeRaw with %d timestamps and %d values", len(ts), len(vs)))
	}
	flagsAt := len(dst)
	dst = append(dst, 0)
	dst = binary.AppendUvarint(dst, uint64(n))
	dst = binary.AppendVarint(dst, ts[0]-base)
	tsMode := tsRegular
	if n > 1 {
		step := ts[1] - ts[0]
		for i := 2; i < n; i++ {
			if ts[i]-ts[i-1] != step {
				tsMode = tsIrregular
				break
			}
		}
		if tsMode == tsRegular {
			dst = binary.AppendUvarint(dst, uint64(step))
		} else {
			dst = encodeTimestamps(dst, ts, &e.sc)
		}
	}
	var vMode byte
	dst, vMode = encodeValues(dst, vs, &e.sc)
	dst[flagsAt] = byte(tsMode) | vMode<<2
	return dst
}

// DecodeRaw decodes a raw chunk made by EncodeRaw with the same base,
// appending to ts and vs.
func (d *Decoder) DecodeRaw(src []byte, base int64, ts []int64, vs []float64) ([]int64, []float64, error) {
	if len(src) < 3 {
		return ts, vs, fmt.Errorf("%w: raw chunk of %d bytes", ErrCorrupt, len(src))
	}
	flags := src[0]
	tsMode, vMode := flags&3, flags>>2
	p := 1
	n64, w := binary.Uvarint(src[p:])
	if w <= 0 || n64 == 0 || n64 > MaxSamples {
		return ts, vs, fmt.Errorf("%w: raw chunk sample count", ErrCorrupt)
	}
	p += w
	n := int(n64)
	t0, w := binary.Varint(src[p:])
	if w <= 0 {
		return ts, vs, fmt.Errorf("%w: raw chunk first timestamp", ErrCorrupt)
	}
	p += w
	t0 += base
	off := len(ts)
	ts = grow(ts, n)
	out := ts[off:]
	switch {
	case n == 1:
		out[0] = t0
	case tsMode == tsRegular:
		step, w := binary.Uvarint(src[p:])
		if w <= 0 || step == 0 || step > 1<<40 {
			return ts[:off], vs, fmt.Errorf("%w: raw chunk step", ErrCorrupt)
		}
		p += w
		t, s := t0, int64(step)
		for i := range out {
			out[i] = t
			t += s
		}
	case tsMode == tsIrregular:
		used, err := d.d.decodeTimestamps(src[p:], t0, out)
		if err != nil {
			return ts[:off], vs, err
		}
		p += used
	default:
		return ts[:off], vs, fmt.Errorf("%w: raw chunk timestamp mode %d", ErrCorrupt, tsMode)
	}
	voff := len(vs)
	vs = growF(vs, n)
	if err := d.d.decodeValues(src[p:], vMode, vs[voff:]); err != nil {
		return ts[:off], vs[:voff], err
	}
	return ts, vs, nil
}

// encodeTimestamps writes irregular timestamps (relative to the first) as
// an integer stream, which picks delta-of-delta for jittery periodic series.
func encodeTimestamps(dst []byte, ts []int64, sc *intScratch) []byte {
	rel := sc.ms[:0]
	for _, t := range ts {
		rel = append(rel, t-ts[0])
	}
	sc.ms = rel
	return encodeInts(dst, rel, sc)
}

func (d *decoder) decodeTimestamps(src []byte, t0 int64, out []int64) (int, error) {
	var used int
	var err error
	if used, d.us, err = decodeInts(src, out, d.us, &d.table); err != nil {
		return 0, err
	}
	if out[0] != 0 {
		return 0, fmt.Errorf("%w: irregular timestamps do not start at zero", ErrCorrupt)
	}
	prev := int64(-1)
	for i, rel := range out {
		if rel <= prev {
			return 0, fmt.Errorf("%w: raw chunk timestamps not increasing at %d", ErrCorrupt, i)
		}
		prev = rel
		out[i] = rel + t0
	}
	return used, nil
}

func encodeValues(dst []byte, vs []float64, sc *intScratch) ([]byte, byte) {
	first := math.Float64bits(vs[0])
	same := true
	for _, v := range vs[1:] {
		if math.Float64bits(v) != first {
			same = false
			break
		}
	}
	if same {
		return binary.LittleEndian.AppendUint64(dst, first), valConst
	}
	ms, exp, ok := toDecimals(vs, sc.ms)
	sc.ms = ms
	if ok {
		dst = binary.AppendVarint(dst, int64(exp))
		return encodeInts(dst, ms, sc), valDecimal
	}
	var w bitWriter
	w.buf = dst
	encodeXOR(&w, vs)
	return w.bytes(), valXOR
}

// decoder holds reusable decoding buffers.
type decoder struct {
	ms        []int64
	us        []uint64
	table     huffTable
	last, min []int64 // rollup columns
	fs        []float64
}

func (d *decoder) decodeValues(src []byte, mode byte, out []float64) error {
	switch mode {
	case valXOR:
		r := newBitReader(src)
		decodeXOR(&r, out)
		if r.overrun {
			return fmt.Errorf("%w: xor values truncated", ErrCorrupt)
		}
		return nil
	case valConst:
		if len(src) < 8 {
			return fmt.Errorf("%w: constant value truncated", ErrCorrupt)
		}
		v := math.Float64frombits(binary.LittleEndian.Uint64(src))
		for i := range out {
			out[i] = v
		}
		return nil
	case valDecimal:
		e, w := binary.Varint(src)
		if w <= 0 || e < -22 || e > 22 {
			return fmt.Errorf("%w: decimal exponent", ErrCorrupt)
		}
		if cap(d.ms) < len(out) {
			d.ms = make([]int64, len(out))
		}
		ms := d.ms[:len(out)]
		var err error
		if _, d.us, err = decodeInts(src[w:], ms, d.us, &d.table); err != nil {
			return err
		}
		if e < 0 {
			p := pow10[-e]
			for i, m := range ms {
				out[i] = float64(m) / p
			}
		} else {
			p := pow10[e]
			for i, m := range ms {
				out[i] = float64(m) * p
			}
		}
		return nil
	}
	return fmt.Errorf("%w: value mode %d", ErrCorrupt, mode)
}

func grow(s []int64, n int) []int64 {
	if cap(s)-len(s) < n {
		ns := make([]int64, len(s), len(s)+n)
		copy(ns, s)
		s = ns
	}
	return s[:len(s)+n]
}

func growF(s []float64, n int) []float64 {
	if cap(s)-len(s) < n {
		ns := make([]float64, len(s), len(s)+n)
		copy(ns, s)
		s = ns
	}
	return s[:len(s)+n]
}

// RawLen returns the number of samples in a raw chunk without decoding it.
func RawLen(src []byte) (int, error) {
	if len(src) < 3 {
		return 0, fmt.Errorf("%w: raw chunk of %d bytes", ErrCorrupt, len(src))
	}
	n, w := binary.Uvarint(src[1:])
	if w <= 0 || n == 0 || n > MaxSamples {
		return 0, fmt.Errorf("%w: raw chunk sample count", ErrCorrupt)
	}
	return int(n), nil
}
