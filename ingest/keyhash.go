package ingest

import (
	"encoding/binary"
	"math/bits"
)

// Multipliers of the key hash (wyhash's primes).
const (
	hashP0 = 0xa0761d6478bd642f
	hashP1 = 0xe7037ed1a0b428db
)

func hashMix(a, b uint64) uint64 {
	hi, lo := bits.Mul64(a, b)
	return hi ^ lo
}

// KeyHasher is the seeded hash the aggregator files raw statsd names under
// (a wyhash-style multiply-fold over little-endian 8-byte words). It is
// exported so that a parser can hash a name in the same pass that finds
// the name's end and hand the result over in Metric.NameHash, instead of
// the aggregator reading the name a second time. The seed is random per
// aggregator, so colliding names cannot be precomputed.
//
// The hash of b is: h = Start(); Word(h, w) for each full 8-byte word of b
// in order; Word(h, tail) for the remaining 1-7 bytes read little-endian
// (zero high bytes), if any; then Finish(h, len(b)). Bytes does exactly
// this.
type KeyHasher struct{ s1, s2 uint64 }

// Start returns the initial state.
func (k KeyHasher) Start() uint64 { return k.s2 }

// Word folds one little-endian 8-byte word (or the zero-padded tail) into h.
func (k KeyHasher) Word(h, w uint64) uint64 { return hashMix(w^k.s1, h^hashP0) }

// Finish folds the length in and returns the hash of n bytes.
func (k KeyHasher) Finish(h uint64, n int) uint64 { return hashMix(h^uint64(n), hashP1^k.s2) }

// Bytes returns the hash of b.
func (k KeyHasher) Bytes(b []byte) uint64 {
	h := k.s2
	n := len(b)
	whole := b
	for len(b) >= 8 {
		h = k.Word(h, binary.LittleEndian.Uint64(b))
		b = b[8:]
	}
	if t := len(b); t > 0 {
		var w uint64
		if n >= 8 {
			// The last 8 bytes in one load, shifted down to the tail.
			w = binary.LittleEndian.Uint64(whole[n-8:]) >> (8 * (8 - t))
		} else {
			for i := t - 1; i >= 0; i-- {
				w = w<<8 | uint64(b[i])
			}
		}
		h = k.Word(h, w)
	}
	return k.Finish(h, n)
}
