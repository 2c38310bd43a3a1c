package chunk

import (
	"math"
)

// Stream is the append-only in-memory encoding of the head: timestamps as
// Gorilla delta-of-delta, values as Gorilla XOR. Appending costs a few
// nanoseconds and 1-2 bytes per sample, which is what lets a million open
// series fit in memory; at seal time the samples are decoded and re-encoded
// with the denser (but batch-only) raw chunk codec. A Stream is not safe for
// concurrent use.
type Stream struct {
	w     bitWriter
	n     uint32
	t0    int64
	tPrev int64
	dPrev int64
	vPrev uint64
	lead  uint8
	trail uint8
}

// Len returns the number of samples.
func (s *Stream) Len() int { return int(s.n) }

// FirstT returns the first timestamp (undefined when empty).
func (s *Stream) FirstT() int64 { return s.t0 }

// LastT returns the last timestamp (undefined when empty).
func (s *Stream) LastT() int64 { return s.tPrev }

// LastV returns the last value (undefined when empty).
func (s *Stream) LastV() float64 { return math.Float64frombits(s.vPrev) }

// Size returns the bytes held.
func (s *Stream) Size() int { return cap(s.w.buf) + 64 }

// Append adds a sample; t must be greater than LastT.
func (s *Stream) Append(t int64, v float64) {
	bits := math.Float64bits(v)
	switch s.n {
	case 0:
		s.t0, s.tPrev = t, t
		s.w.writeBits(bits, 64)
		s.vPrev = bits
		s.lead = 0xff
		s.n = 1
		return
	case 1:
		d := t - s.tPrev
		writeDoD(&s.w, d)
		s.dPrev = d
	default:
		d := t - s.tPrev
		writeDoD(&s.w, d-s.dPrev)
		s.dPrev = d
	}
	s.tPrev = t
	s.n++
	x := bits ^ s.vPrev
	s.vPrev = bits
	if x == 0 {
		s.w.writeBits(0, 1)
		return
	}
	lz, tz := leadingZeros64(x), trailingZeros64(x)
	if lz > 31 {
		lz = 31
	}
	if s.lead != 0xff && lz >= uint(s.lead) && tz >= uint(s.trail) {
		s.w.writeBits(0b10, 2)
		s.w.writeBits(x>>s.trail, 64-uint(s.lead)-uint(s.trail))
		return
	}
	s.lead, s.trail = uint8(lz), uint8(tz)
	sig := 64 - lz - tz
	s.w.writeBits(0b11, 2)
	s.w.writeBits(uint64(lz), 5)
	s.w.writeBits(uint64(sig-1), 6)
	s.w.writeBits(x>>tz, sig)
}

// writeDoD writes a delta-of-delta with Gorilla's prefix classes, widened
// for millisecond timestamps.
func writeDoD(w *bitWriter, dod int64) {
	switch {
	case dod == 0:
		w.writeBits(0, 1)
	case dod >= -63 && dod <= 64:
		w.writeBits(0b10, 2)
		w.writeBits(uint64(dod), 7)
	case dod >= -2047 && dod <= 2048:
		w.writeBits(0b110, 3)
		w.writeBits(uint64(dod), 12)
	case dod >= -(1<<19)+1 && dod <= 1<<19:
		w.writeBits(0b1110, 4)
		w.writeBits(uint64(dod), 20)
	default:
		w.writeBits(0b1111, 4)
		w.writeBits(uint64(dod), 64)
	}
}

// readDoD reads a delta-of-delta; the caller has filled the reader.
func readDoD(r *bitReader) int64 {
	var n uint
	switch {
	case r.take(1) == 0:
		return 0
	case r.take(1) == 0:
		n = 7
	case r.take(1) == 0:
		n = 12
	case r.take(1) == 0:
		n = 20
	default:
		return int64(r.readBits(64))
	}
	v := r.take(n)
	// Sign-extend, with the positive edge (e.g. 64 for n=7) kept positive.
	if v > 1<<(n-1) {
		return int64(v) - 1<<n
	}
	return int64(v)
}

// Decode appends the samples with mint <= t <= maxt to ts and vs.
func (s *Stream) Decode(ts []int64, vs []float64, mint, maxt int64) ([]int64, []float64) {
	if s.n == 0 || s.tPrev < mint || s.t0 > maxt {
		return ts, vs
	}
	// Snapshot the pending accumulator bits without disturbing the writer.
	buf := make([]byte, len(s.w.buf), len(s.w.buf)+8)
	copy(buf, s.w.buf)
	acc, nacc := s.w.acc, s.w.nacc
	for nacc > 0 {
		buf = append(buf, byte(acc>>56))
		acc <<= 8
		if nacc >= 8 {
			nacc -= 8
		} else {
			nacc = 0
		}
	}
	r := newBitReader(buf)
	bits := r.readBits(64)
	t, d := s.t0, int64(0)
	lead, trail := uint(0), uint(0)
	for i := uint32(0); ; i++ {
		if t > maxt {
			break
		}
		if t >= mint {
			ts = append(ts, t)
			vs = append(vs, math.Float64frombits(bits))
		}
		if i+1 == s.n {
			break
		}
		r.fill()
		if i == 0 {
			d = readDoD(&r)
		} else {
			d += readDoD(&r)
		}
		t += d
		r.fill()
		if r.take(1) == 1 {
			if r.take(1) == 1 {
				lead = uint(r.take(5))
				trail = 64 - lead - (uint(r.take(6)) + 1)
			}
			if sig := 64 - lead - trail; sig <= 44 {
				bits ^= r.take(sig) << trail
			} else {
				bits ^= r.readBits(sig) << trail
			}
		}
	}
	return ts, vs
}
