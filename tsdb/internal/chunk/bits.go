package chunk

import (
	"encoding/binary"
	"math/bits"
)

// bitWriter appends bits MSB-first to a byte slice through a 64-bit
// accumulator, which keeps the per-value cost to a few shifts.
type bitWriter struct {
	buf  []byte
	acc  uint64 // pending bits, left-aligned
	nacc uint   // number of pending bits in acc
}

// writeBits writes the low n bits of v (n <= 64).
func (w *bitWriter) writeBits(v uint64, n uint) {
	if n == 0 {
		return
	}
	if n < 64 {
		v &= (1 << n) - 1
	}
	free := 64 - w.nacc
	if n <= free {
		w.acc |= v << (free - n) // free-n < 64 because n >= 1
		w.nacc += n
		if w.nacc == 64 {
			w.buf = binary.BigEndian.AppendUint64(w.buf, w.acc)
			w.acc, w.nacc = 0, 0
		}
		return
	}
	// Split: the high (n-free) bits... fill acc with the top `free` bits of v.
	rest := n - free
	w.acc |= v >> rest
	w.buf = binary.BigEndian.AppendUint64(w.buf, w.acc)
	w.acc = v << (64 - rest)
	w.nacc = rest
}

// bytes flushes the pending bits (zero-padded to a byte) and returns the buffer.
func (w *bitWriter) bytes() []byte {
	for w.nacc > 0 {
		w.buf = append(w.buf, byte(w.acc>>56))
		w.acc <<= 8
		if w.nacc >= 8 {
			w.nacc -= 8
		} else {
			w.nacc = 0
		}
	}
	w.acc = 0
	return w.buf
}

// bitReader reads bits MSB-first. Reads past the end return zero bits and
// set overrun, so decoders check once at the end instead of per bit.
type bitReader struct {
	src     []byte
	pos     int    // next byte of src to load
	acc     uint64 // bits left-aligned
	nacc    uint
	overrun bool
}

func newBitReader(src []byte) bitReader { return bitReader{src: src} }

// refill tops up the accumulator to at least 57 bits when input remains.
func (r *bitReader) refill() {
	if r.pos+8 <= len(r.src) {
		// Fast path: load 8 bytes, keep as many whole bytes as fit.
		v := binary.BigEndian.Uint64(r.src[r.pos:])
		take := (64 - r.nacc) / 8
		if take == 0 {
			return
		}
		r.acc |= (v >> (64 - take*8)) << (64 - r.nacc - take*8)
		r.nacc += take * 8
		r.pos += int(take)
		return
	}
	for r.nacc <= 56 && r.pos < len(r.src) {
		r.acc |= uint64(r.src[r.pos]) << (56 - r.nacc)
		r.nacc += 8
		r.pos++
	}
}

// readBits reads n bits (n <= 64).
func (r *bitReader) readBits(n uint) uint64 {
	if n == 0 {
		return 0
	}
	if n > 56 {
		hi := r.readBits(n - 32)
		return hi<<32 | r.readBits(32)
	}
	if r.nacc < n {
		r.refill()
		if r.nacc < n {
			r.overrun = true
			v := r.acc >> (64 - n)
			r.acc, r.nacc = 0, 0
			return v
		}
	}
	v := r.acc >> (64 - n)
	r.acc <<= n
	r.nacc -= n
	return v
}

// leadingZeros64 is bits.LeadingZeros64, named for readability at call sites.
func leadingZeros64(v uint64) uint { return uint(bits.LeadingZeros64(v)) }

func trailingZeros64(v uint64) uint { return uint(bits.TrailingZeros64(v)) }

// fill makes at least 57 bits available when input remains.
func (r *bitReader) fill() {
	if r.nacc < 57 {
		r.refill()
	}
}

// take consumes n <= nacc bits; callers fill first. It inlines.
func (r *bitReader) take(n uint) uint64 {
	v := r.acc >> (64 - n)
	r.acc <<= n
	r.nacc -= n
	return v
}
