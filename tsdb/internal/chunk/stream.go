package chunk

import (
	"encoding/binary"
	"math"
	"slices"
	"sort"
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
	// marks holds the decoder's state after every streamMarkEvery-th
	// sample, so that a read of a recent window (an instant query's
	// lookback, an alert rule's range) starts decoding near the window
	// instead of at the stream's first sample: a 2h bucket at 10 s holds
	// 720 samples, a 5m lookback wants the last 30.
	marks []streamMark
}

// streamMarkEvery is how many samples apart the marks are: a windowed
// read decodes at most this many samples before its window. A 2h bucket
// at 10 s gets 4 marks, 120 bytes with the slice (about 7% of what its
// series holds in memory).
const streamMarkEvery = 160

// streamMark is the decoder's state right after one sample, in 24 bytes.
// A stream whose state no longer fits (a bucket longer than 49 days, a gap
// over 24 days) gets no more marks: reads then start at the last one.
type streamMark struct {
	bit         uint32 // offset in the stream's bits where the next sample starts
	dt          uint32 // the sample's timestamp minus the stream's first
	d           int32  // the sample's delta from the one before
	lead, trail uint8  // the XOR window (lead 0xff: none yet)
	v           uint64 // the sample's value bits
}

// t is the timestamp of the mark's sample in s.
func (m *streamMark) t(s *Stream) int64 { return s.t0 + int64(m.dt) }

// Len returns the number of samples.
func (s *Stream) Len() int { return int(s.n) }

// FirstT returns the first timestamp (undefined when empty).
func (s *Stream) FirstT() int64 { return s.t0 }

// LastT returns the last timestamp (undefined when empty).
func (s *Stream) LastT() int64 { return s.tPrev }

// LastV returns the last value (undefined when empty).
func (s *Stream) LastV() float64 { return math.Float64frombits(s.vPrev) }

// Size returns the bytes held.
func (s *Stream) Size() int { return cap(s.w.buf) + 88 + cap(s.marks)*24 }

// Append adds a sample; t must be greater than LastT.
func (s *Stream) Append(t int64, v float64) {
	s.append(t, v)
	if s.n%streamMarkEvery == 0 && len(s.marks) == int(s.n/streamMarkEvery)-1 {
		bit, dt := len(s.w.buf)*8+int(s.w.nacc), s.tPrev-s.t0
		if bit <= math.MaxUint32 && dt <= math.MaxUint32 && s.dPrev <= math.MaxInt32 {
			s.marks = append(s.marks, streamMark{bit: uint32(bit), dt: uint32(dt), d: int32(s.dPrev), lead: s.lead, trail: s.trail, v: s.vPrev})
		}
	}
}

// append writes one sample. The timestamp and value codes of a sample are
// usually written with one writeBits call.
func (s *Stream) append(t int64, v float64) {
	bits := math.Float64bits(v)
	if s.n == 0 {
		s.t0, s.tPrev = t, t
		s.w.writeBits(bits, 64)
		s.vPrev = bits
		s.lead = 0xff
		s.n = 1
		return
	}
	d := t - s.tPrev
	dod := d
	if s.n > 1 {
		dod = d - s.dPrev
	}
	s.dPrev, s.tPrev = d, t
	s.n++
	code, n := dodCode(dod)
	if n > 64 {
		s.w.writeBits(0b1111, 4)
		s.w.writeBits(uint64(dod), 64)
		code, n = 0, 0
	}
	x := bits ^ s.vPrev
	s.vPrev = bits
	if x == 0 {
		s.w.writeBits(code<<1, n+1)
		return
	}
	lz, tz := leadingZeros64(x), trailingZeros64(x)
	if lz > 31 {
		lz = 31
	}
	var vcode uint64
	var vn, sig uint
	if s.lead != 0xff && lz >= uint(s.lead) && tz >= uint(s.trail) {
		sig = 64 - uint(s.lead) - uint(s.trail)
		vcode, vn = 0b10, 2
		tz = uint(s.trail)
	} else {
		s.lead, s.trail = uint8(lz), uint8(tz)
		sig = 64 - lz - tz
		vcode, vn = 0b11<<11|uint64(lz)<<6|uint64(sig-1), 13
	}
	if n+vn+sig <= 64 {
		s.w.writeBits((code<<vn|vcode)<<sig|x>>tz, n+vn+sig)
		return
	}
	s.w.writeBits(code<<vn|vcode, n+vn)
	s.w.writeBits(x>>tz, sig)
}

// dodCode returns the code of a delta-of-delta with Gorilla's prefix
// classes, widened for millisecond timestamps; n > 64 means the 64-bit
// escape, which the caller writes in two parts.
func dodCode(dod int64) (code uint64, n uint) {
	switch {
	case dod == 0:
		return 0, 1
	case dod >= -63 && dod <= 64:
		return 0b10<<7 | uint64(dod)&(1<<7-1), 9
	case dod >= -2047 && dod <= 2048:
		return 0b110<<12 | uint64(dod)&(1<<12-1), 15
	case dod >= -(1<<19)+1 && dod <= 1<<19:
		return 0b1110<<20 | uint64(dod)&(1<<20-1), 24
	}
	return 0, 68
}

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
	ts, vs, _ = s.DecodeBuf(ts, vs, mint, maxt, nil)
	return ts, vs
}

// DecodeBuf is Decode with a scratch buffer for the snapshot of the
// encoded bytes, returned for reuse: a read of many series decodes them all
// with one buffer instead of one allocation each.
func (s *Stream) DecodeBuf(ts []int64, vs []float64, mint, maxt int64, scratch []byte) ([]int64, []float64, []byte) {
	if s.n == 0 || s.tPrev < mint || s.t0 > maxt {
		return ts, vs, scratch
	}
	whole := mint <= s.t0 && maxt >= s.tPrev
	// A window after the stream's start begins decoding at the last mark
	// before it: the mark's sample is not wanted, the ones after it may be.
	var m *streamMark
	mi := -1 // m's index in s.marks
	if !whole {
		mi = sort.Search(len(s.marks), func(i int) bool { return s.marks[i].t(s) >= mint }) - 1
		if mi >= 0 {
			m = &s.marks[mi]
		}
	}
	// Snapshot the encoded bits from where decoding starts, with the
	// pending accumulator bits, without disturbing the writer.
	from := 0
	if m != nil {
		// The mark may lie in bits still pending in the writer's
		// accumulator: start at the last whole byte written before it.
		from = min(int(m.bit/8), len(s.w.buf))
	}
	buf := append(scratch[:0], s.w.buf[from:]...)
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
	if whole {
		// The whole stream is wanted (sealing, and most reads of the
		// head): the fast loop, into outputs sized once.
		off := len(ts)
		ts, vs = slices.Grow(ts, int(s.n))[:off+int(s.n)], slices.Grow(vs, int(s.n))[:off+int(s.n)]
		s.decodeAll(buf, ts[off:], vs[off:])
		return ts, vs, buf
	}
	r := newBitReader(buf)
	var t, d int64
	var bits uint64
	var lead, trail uint
	var i uint32
	if m != nil {
		r.readBits(uint(int(m.bit) - from*8))
		t, d, bits = m.t(s), int64(m.d), m.v
		if m.lead != 0xff {
			lead, trail = uint(m.lead), uint(m.trail)
		}
		i = uint32((mi+1)*streamMarkEvery - 1) // m's sample
	} else {
		bits = r.readBits(64)
		t = s.t0
	}
	for ; ; i++ {
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
	return ts, vs, buf
}

// refillLocal is bitReader.refill on a decoder's local state: at least 57
// bits in acc when input remains.
func refillLocal(src []byte, acc uint64, nacc uint, pos int) (uint64, uint, int) {
	if pos+8 <= len(src) {
		v := binary.BigEndian.Uint64(src[pos:])
		take := (64 - nacc) >> 3
		// take == 0 shifts by 64, which is 0 in Go: nothing added.
		acc |= (v >> (64 - take*8)) << (64 - nacc - take*8)
		return acc, nacc + take*8, pos + int(take)
	}
	for nacc <= 56 && pos < len(src) {
		acc |= uint64(src[pos]) << (56 - nacc)
		nacc += 8
		pos++
	}
	return acc, nacc, pos
}

// decodeAll decodes all s.n samples of the snapshot buf into ts and vs
// (both of length s.n). It is the loop of DecodeBuf with the reader's
// state in locals, so that it stays in registers: sealing a bucket decodes
// every sample of the head once.
func (s *Stream) decodeAll(src []byte, ts []int64, vs []float64) {
	n := int(s.n)
	if n == 0 || len(ts) < n || len(vs) < n {
		return
	}
	var acc uint64
	var nacc uint
	pos := 0
	acc, nacc, pos = refillLocal(src, acc, nacc, pos)
	// The first value: 64 raw bits, read in two halves.
	hi := acc >> 32
	acc <<= 32
	nacc -= min(nacc, 32)
	acc, nacc, pos = refillLocal(src, acc, nacc, pos)
	bits := hi<<32 | acc>>32
	acc <<= 32
	nacc -= min(nacc, 32)
	t, d := s.t0, int64(0)
	ts[0], vs[0] = t, math.Float64frombits(bits)
	lead, trail := uint(0), uint(0)
	for i := 1; i < n; i++ {
		if nacc < 57 {
			acc, nacc, pos = refillLocal(src, acc, nacc, pos)
		}
		// Timestamp: delta of delta, prefix classes 0, 10, 110, 1110, 1111.
		if acc>>63 != 0 {
			var dod int64
			switch ones := uint(leadingZeros64(^acc)); {
			case ones >= 4:
				acc <<= 4
				nacc -= 4
				r := bitReader{src: src, pos: pos, acc: acc, nacc: nacc}
				dod = int64(r.readBits(64))
				acc, nacc, pos = r.acc, r.nacc, r.pos
			default:
				w := [4]uint{0, 7, 12, 20}[ones]
				acc <<= ones + 1
				v := acc >> (64 - w)
				acc <<= w
				nacc -= ones + 1 + w
				// Sign-extend, the positive edge kept positive (readDoD).
				dod = int64(v)
				if v > 1<<(w-1) {
					dod -= 1 << w
				}
			}
			if i == 1 {
				d = dod
			} else {
				d += dod
			}
		} else {
			acc <<= 1
			nacc--
		}
		t += d
		if nacc < 57 {
			acc, nacc, pos = refillLocal(src, acc, nacc, pos)
		}
		// Value: 0 same, 10 same window, 11 new window (5+6 bits).
		if acc>>63 != 0 {
			if acc>>62 == 3 {
				lead = uint(acc>>(64-7)) & 31
				trail = 64 - lead - (uint(acc>>(64-13))&63 + 1)
				acc <<= 13
				nacc -= 13
			} else {
				acc <<= 2
				nacc -= 2
			}
			sig := 64 - lead - trail
			if sig > nacc {
				acc, nacc, pos = refillLocal(src, acc, nacc, pos)
			}
			var x uint64
			if sig <= nacc {
				x = acc >> (64 - sig)
				acc <<= sig
				nacc -= sig
			} else {
				r := bitReader{src: src, pos: pos, acc: acc, nacc: nacc}
				x = r.readBits(sig)
				acc, nacc, pos = r.acc, r.nacc, r.pos
			}
			bits ^= x << trail
		} else {
			acc <<= 1
			nacc--
		}
		ts[i], vs[i] = t, math.Float64frombits(bits)
	}
}
