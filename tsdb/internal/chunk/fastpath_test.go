package chunk

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// toDecimalsRef is the straightforward conversion toDecimals must agree
// with: each value's shortest decimal, then all rescaled to the smallest
// exponent.
func toDecimalsRef(vs []float64) ([]int64, int, bool) {
	var ms []int64
	var es []int
	minE := 0
	for _, v := range vs {
		m, e, ok := toDecimal(v)
		if !ok {
			return nil, 0, false
		}
		ms, es = append(ms, m), append(es, e)
		minE = min(minE, e)
	}
	for i := range ms {
		p := int64(pow10[es[i]-minE])
		if ms[i] > maxMantissa/p || ms[i] < -maxMantissa/p {
			return nil, 0, false
		}
		ms[i] *= p
	}
	return ms, minE, true
}

// TestToDecimalsMatchesReference checks the fast conversion against the
// reference: same success, same exponent, every mantissa exact, and the
// same mantissas wherever they are unique.
func TestToDecimalsMatchesReference(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	gens := []func() float64{
		func() float64 { return float64(r.IntN(1000)) },
		func() float64 { return math.Round(r.Float64()*10000) / 100 },
		func() float64 { return math.Round(r.NormFloat64()*1e5) / 1e3 },
		func() float64 { return float64(r.IntN(999)+1) * math.Pow(10, -float64(r.IntN(6))) },
		func() float64 { return r.Float64() },
		func() float64 { return float64(r.Int64N(1<<54) - 1<<53) },
		func() float64 {
			return []float64{0, math.Copysign(0, -1), 0.5, -1.25, 1e15 + 0.5, math.NaN(), math.Inf(1)}[r.IntN(7)]
		},
	}
	for i := range 20000 {
		vs := make([]float64, 1+r.IntN(40))
		for j := range vs {
			vs[j] = gens[(i+r.IntN(2)*j)%len(gens)]()
		}
		want, wantE, wantOK := toDecimalsRef(vs)
		got, gotE, gotOK := toDecimals(vs, nil)
		// Near 2^53 several mantissas can give the same float: any of
		// them is exact. Below 2^50 the mantissa is unique.
		small := !slices.ContainsFunc(want, func(m int64) bool { return m > 1<<50 || m < -1<<50 })
		if gotOK != wantOK || (wantOK && (gotE != wantE || (small && !slices.Equal(got, want)))) {
			t.Fatalf("toDecimals(%v) = %v e%d %v, want %v e%d %v", vs, got, gotE, gotOK, want, wantE, wantOK)
		}
		if gotOK {
			for j, m := range got {
				if d := fromDecimal(m, gotE); math.Float64bits(d) != math.Float64bits(vs[j]) {
					t.Fatalf("%v: mantissa %d e%d decodes to %v", vs[j], m, gotE, d)
				}
			}
		}
	}
}

// TestStreamDecodeAllEscapes round-trips streams whose timestamps jump by
// every delta-of-delta class, including the 64-bit escape, and whose
// values need every XOR window width: the whole-stream fast loop must read
// them exactly as they were written, and agree with the ranged loop.
func TestStreamDecodeAllEscapes(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	gaps := []int64{1, 10_000, 10_063, 12_000, 500_000, 1 << 21, 1 << 33, 1 << 40}
	for iter := range 300 {
		n := 1 + r.IntN(300)
		ts, vs := make([]int64, n), make([]float64, n)
		tt := r.Int64N(1<<50) - 1<<49
		for i := range n {
			tt += gaps[r.IntN(len(gaps))]
			ts[i] = tt
			switch r.IntN(4) {
			case 0:
				vs[i] = math.Float64frombits(r.Uint64())
			case 1:
				vs[i] = float64(r.IntN(10))
			case 2:
				if i > 0 {
					vs[i] = vs[i-1]
				}
			default:
				vs[i] = r.NormFloat64()
			}
		}
		var s Stream
		for i := range ts {
			s.Append(ts[i], vs[i])
		}
		gts, gvs := s.Decode([]int64{7}, []float64{7}, math.MinInt64, math.MaxInt64)
		// The ranged loop, on a range that excludes nothing but is not
		// the whole-stream case (mint after the first sample is not).
		rts, rvs := s.Decode(nil, nil, ts[0]+1, math.MaxInt64)
		if len(gts) != n+1 || gts[0] != 7 || len(rts) != n-1 {
			t.Fatalf("iter %d: %d and %d samples decoded, want %d+1 and %d", iter, len(gts), len(rts), n, n-1)
		}
		for i := range ts {
			if gts[i+1] != ts[i] || math.Float64bits(gvs[i+1]) != math.Float64bits(vs[i]) {
				t.Fatalf("iter %d sample %d: got (%d, %x), want (%d, %x)", iter, i, gts[i+1], math.Float64bits(gvs[i+1]), ts[i], math.Float64bits(vs[i]))
			}
			if i > 0 && (rts[i-1] != ts[i] || math.Float64bits(rvs[i-1]) != math.Float64bits(vs[i])) {
				t.Fatalf("iter %d sample %d: ranged loop got (%d, %v)", iter, i, rts[i-1], rvs[i-1])
			}
		}
	}
}

// toDecimalRef is toDecimal without the pre-filter of its digit loop.
func toDecimalRef(v float64) (int64, int, bool) {
	if v == math.Trunc(v) {
		if math.Abs(v) < maxMantissa && (v != 0 || !math.Signbit(v)) {
			return int64(v), 0, true
		}
		return 0, 0, false
	}
	if math.IsNaN(v) || math.Abs(v) >= maxMantissa {
		return 0, 0, false
	}
	for k := 1; k <= maxDecimals; k++ {
		x := math.Round(v * pow10[k])
		if math.Abs(x) >= maxMantissa {
			return 0, 0, false
		}
		if x/pow10[k] == v {
			return int64(x), -k, true
		}
	}
	return 0, 0, false
}

func TestToDecimalMatchesReference(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for i := range 2_000_000 {
		var v float64
		switch i % 5 {
		case 0: // short decimals of every length and magnitude
			k := r.IntN(maxDecimals + 1)
			v = float64(r.Int64N(1<<53)>>r.IntN(53)) / pow10[k]
		case 1:
			v = math.Round(r.NormFloat64()*1e6) / pow10[r.IntN(9)]
		case 2:
			v = math.Float64frombits(r.Uint64())
		case 3:
			v = r.NormFloat64() * math.Pow(10, float64(r.IntN(30)-15))
		default: // near-halves and just-off values
			v = math.Nextafter(float64(r.IntN(1e6))/pow10[r.IntN(8)], math.Inf(r.IntN(2)*2-1))
		}
		if r.IntN(2) == 0 {
			v = -v
		}
		m, e, ok := toDecimal(v)
		rm, re, rok := toDecimalRef(v)
		if m != rm || e != re || ok != rok {
			t.Fatalf("toDecimal(%v) = %d, %d, %v; reference %d, %d, %v", v, m, e, ok, rm, re, rok)
		}
	}
}
