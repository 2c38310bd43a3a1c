package chunk

import (
	"math/rand/v2"
	"testing"
)

// TestHuffmanDecodersAgree codes random residual columns of several shapes
// with a canonical code, behind every number of already-read bits (so the
// decoders start at every accumulator fill level, 64 included), and
// checks that the single-symbol decoder, the multi-symbol decoder and a
// bit-at-a-time reference all return the residuals written.
func TestHuffmanDecodersAgree(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	shapes := []func() uint64{
		func() uint64 { return 0 }, // mostly overridden below by mixing
		func() uint64 { return uint64(rng.IntN(4)) },
		func() uint64 { return uint64(rng.IntN(100)) },
		func() uint64 { return uint64(rng.ExpFloat64() * 20) },
		func() uint64 { return uint64(rng.Int64N(1 << 40)) },
	}
	for trial := 0; trial < 400; trial++ {
		n := 1 + rng.IntN(3000)
		pZero := rng.Float64()
		shape := shapes[rng.IntN(len(shapes))]
		us := make([]uint64, n)
		var hist [numClasses]int
		for i := range us {
			if rng.Float64() > pZero {
				us[i] = shape()
			}
			hist[class(us[i])]++
		}
		// Two classes at least, so that the column is Huffman-coded.
		if hist[0] == 0 || hist[0] == n {
			us[0] = 0
			us[n-1] = 5
			hist = [numClasses]int{}
			for _, u := range us {
				hist[class(u)]++
			}
		}
		var lens [numClasses]uint8
		maxClass, used := huffLengths(&hist, &lens)
		if used < 2 {
			continue
		}
		var codes [numClasses]uint16
		canonicalCodes(&lens, &codes)
		pad := uint(rng.IntN(130))
		if trial%5 == 0 {
			pad = 0 // and a full accumulator: see below
		}
		var w bitWriter
		for p := pad; p > 0; p -= min(p, 32) {
			w.writeBits(rng.Uint64(), min(p, 32))
		}
		for _, u := range us {
			k := class(u)
			w.writeBits(uint64(codes[k]), uint(lens[k]))
			w.writeBits(u, extraBits(k))
		}
		src := w.bytes()
		maxLen := uint8(0)
		for _, l := range lens {
			maxLen = max(maxLen, l)
		}
		var tab huffTable
		tab.build(&lens, maxClass, uint(maxLen))
		tab.buildMulti()
		for _, dec := range []string{"single", "multi"} {
			r := newBitReader(src)
			for p := pad; p > 0; p -= min(p, 32) {
				r.readBits(min(p, 32))
			}
			if pad == 0 {
				r.refill() // 64 bits held: the fill level no read leaves
			}
			got := make([]uint64, n)
			var ok bool
			if dec == "single" {
				ok = decodeClasses(&r, got, tab.entries, tab.L)
			} else {
				ok = decodeMulti(&r, got, tab.multi, tab.entries, tab.L)
			}
			if !ok {
				t.Fatalf("trial %d (%s, n=%d, pad=%d): decode failed", trial, dec, n, pad)
			}
			for i := range us {
				if got[i] != us[i] {
					t.Fatalf("trial %d (%s, n=%d, pad=%d): residual %d = %d, want %d", trial, dec, n, pad, i, got[i], us[i])
				}
			}
			if usedBits := r.pos*8 - int(r.nacc); usedBits != int(pad)+codedBits(us, &lens) {
				t.Fatalf("trial %d (%s): consumed %d bits, want %d", trial, dec, usedBits, int(pad)+codedBits(us, &lens))
			}
		}
	}
}

func codedBits(us []uint64, lens *[numClasses]uint8) int {
	n := 0
	for _, u := range us {
		k := class(u)
		n += int(lens[k]) + int(extraBits(k))
	}
	return n
}
