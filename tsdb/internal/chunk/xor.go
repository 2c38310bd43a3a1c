package chunk

import "math"

// Gorilla-style XOR coding of float64 values (Pelkonen et al., VLDB 2015),
// used for values that are not short decimals (NaN payloads, irrational
// ratios): it is exact to the bit, which keeps Prometheus' stale markers.
//
// First value: 64 bits. Then per value, x = bits XOR previous bits:
//   '0'                         x == 0
//   '10' <meaningful bits>      x fits the previous leading/trailing window
//   '11' <5 lz> <6 len-1> <bits> otherwise

func encodeXOR(w *bitWriter, vs []float64) {
	if len(vs) == 0 {
		return
	}
	prev := math.Float64bits(vs[0])
	w.writeBits(prev, 64)
	lead, trail := uint(0xff), uint(0)
	for _, v := range vs[1:] {
		cur := math.Float64bits(v)
		x := cur ^ prev
		prev = cur
		if x == 0 {
			w.writeBits(0, 1)
			continue
		}
		lz, tz := leadingZeros64(x), trailingZeros64(x)
		if lz > 31 {
			lz = 31
		}
		if lead != 0xff && lz >= lead && tz >= trail {
			w.writeBits(0b10, 2)
			w.writeBits(x>>trail, 64-lead-trail)
			continue
		}
		lead, trail = lz, tz
		sig := 64 - lz - tz
		w.writeBits(0b11, 2)
		w.writeBits(uint64(lz), 5)
		w.writeBits(uint64(sig-1), 6)
		w.writeBits(x>>tz, sig)
	}
}

func decodeXOR(r *bitReader, vs []float64) {
	if len(vs) == 0 {
		return
	}
	prev := r.readBits(64)
	vs[0] = math.Float64frombits(prev)
	lead, trail := uint(0), uint(0)
	for i := 1; i < len(vs); i++ {
		if r.readBits(1) == 0 {
			vs[i] = math.Float64frombits(prev)
			continue
		}
		if r.readBits(1) == 1 {
			lead = uint(r.readBits(5))
			sig := uint(r.readBits(6)) + 1
			if lead+sig > 64 {
				r.overrun = true
				return
			}
			trail = 64 - lead - sig
		}
		x := r.readBits(64-lead-trail) << trail
		prev ^= x
		vs[i] = math.Float64frombits(prev)
	}
}
