package deploy

import (
	"math"
	"slices"
)

// radixMin is the length from which sortFloats uses a radix sort; below it a
// comparison sort is as fast.
const radixMin = 1024

// sortFloats sorts finite samples in ascending order. The rank test sorts its own copy
// of every sample; handing it sorted samples turns that sort into one linear pass, and
// a radix sort of the ~10,000 samples of a per-host metric costs a fraction of a
// comparison sort (the sort was half of the rank test's time). Ranks, medians and
// pairwise shifts do not depend on the order the samples come in.
func sortFloats(xs []float64) {
	var sc radixScratch
	sc.sort(xs)
}

// radixScratch holds the key buffers of sortFloats, so that a worker judging
// metric after metric sorts without allocating.
type radixScratch struct {
	keys, tmp []uint64
}

// sort sorts finite samples in ascending order (see sortFloats).
func (sc *radixScratch) sort(xs []float64) {
	if len(xs) < radixMin {
		slices.Sort(xs)
		return
	}
	if cap(sc.keys) < len(xs) {
		sc.keys, sc.tmp = make([]uint64, len(xs)), make([]uint64, len(xs))
	}
	keys, tmp := sc.keys[:len(xs)], sc.tmp[:len(xs)]
	// Map each float to a uint64 that orders the same way: flip every bit of a
	// negative number, only the sign bit of a positive one.
	for i, x := range xs {
		b := math.Float64bits(x)
		if b>>63 == 1 {
			b = ^b
		} else {
			b |= 1 << 63
		}
		keys[i] = b
	}
	var count [256]int
	for shift := uint(0); shift < 64; shift += 8 {
		count = [256]int{}
		for _, k := range keys {
			count[byte(k>>shift)]++
		}
		if count[byte(keys[0]>>shift)] == len(keys) {
			continue // every key has this byte: the pass would not move anything
		}
		pos := 0
		for i, c := range count {
			count[i] = pos
			pos += c
		}
		for _, k := range keys {
			b := byte(k >> shift)
			tmp[count[b]] = k
			count[b]++
		}
		keys, tmp = tmp, keys
	}
	for i, b := range keys {
		if b>>63 == 1 {
			b &^= 1 << 63
		} else {
			b = ^b
		}
		xs[i] = math.Float64frombits(b)
	}
}
