package stats

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// Wikipedia, "Mann-Whitney U test", worked example: six tortoises and six
// hares race; the finishing order is T H H H H H T T T T T H. Using the
// finishing positions as times, the tortoises win 11 of the 36 pairings
// (U_T = 11, U_H = 25). Beyond Wikipedia's U, the p-values, shifts and
// intervals are from R 4.2.2, wilcox.test(hare, tortoise, conf.int = TRUE, ...):
//
//	exact, 0.98:  W = 11, p = 0.30952380952380953, est -4, CI [-7, 4]
//	exact, 0.95:  CI [-7, 3]
//	exact = FALSE, 0.98: p = 0.29795306160816787, est -3.99993, CI [-7.99998, 4.999996]
//
// R's asymptotic estimate and interval come from uniroot with tolerance
// 1e-4; the exact roots, which MannWhitney computes, are -8 and 5 (the
// statistic jumps there) and the estimate is the median of the differences,
// -4, inside R's flat zero region.
func TestMannWhitneyTortoiseAndHare(t *testing.T) {
	tortoise := []float64{1, 7, 8, 9, 10, 11}
	hare := []float64{2, 3, 4, 5, 6, 12}
	r, err := MannWhitney(tortoise, hare, MannWhitneyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !r.Exact || r.Statistic != 11 {
		t.Errorf("hares' U = %v (exact %v), want 11 exact (Wikipedia: U_T = 11)", r.Statistic, r.Exact)
	}
	if r.Confidence != 0.98 {
		t.Errorf("default confidence %v, want Kayenta's 0.98", r.Confidence)
	}
	checkRef(t, "exact p", r.PValue, 0.30952380952380953)
	checkRef(t, "HL shift", r.Estimate, -4)
	checkInterval(t, "exact 98%", r.CI, -7, 4)
	rev, _ := MannWhitney(hare, tortoise, MannWhitneyOptions{})
	if rev.Statistic != 25 {
		t.Errorf("tortoises' U = %v, want 25 (Wikipedia: U_H = 25)", rev.Statistic)
	}

	r95, _ := MannWhitney(tortoise, hare, MannWhitneyOptions{Options: Options{Confidence: 0.95}})
	checkInterval(t, "exact 95%", r95.CI, -7, 3)

	rn, _ := MannWhitney(tortoise, hare, MannWhitneyOptions{Method: MethodNormal})
	checkRef(t, "normal p", rn.PValue, 0.29795306160816787)
	checkInterval(t, "normal 98% (exact roots)", rn.CI, -8, 5)
	withinUniroot(t, "normal 98% low vs R", rn.CI.Lo, -7.9999785397755589)
	withinUniroot(t, "normal 98% high vs R", rn.CI.Hi, 4.999995626007447)
	withinUniroot(t, "normal estimate vs R", rn.Estimate, -3.9999317303109003)
}

// withinUniroot checks a value against one R found with uniroot(tol = 1e-4).
func withinUniroot(t *testing.T, what string, got, want float64) {
	t.Helper()
	if math.Abs(got-want) > 1e-4 {
		t.Errorf("%s: %v, R's uniroot gave %v", what, got, want)
	}
}

// The example of R's ?wilcox.test (Hollander & Wolfe 1973, p. 110,
// permeability constants): documented W = 35, p-value = 0.1272 for
// alternative "greater". Full values from R 4.2.2.
func TestMannWhitneyHollanderWolfe(t *testing.T) {
	x := []float64{0.80, 0.83, 1.89, 1.04, 1.45, 1.38, 1.91, 1.64, 0.73, 1.46}
	y := []float64{1.15, 0.88, 0.90, 0.74, 1.21}
	cases := []struct {
		alt        Alternative
		conf       float64
		pv, lo, hi float64
	}{
		{Greater, 0.95, 0.1272061272061272, -0.07999999999999996, inf},
		{TwoSided, 0.95, 0.2544122544122544, -0.15000000000000002, 0.7599999999999999},
		{Less, 0.9, 0.89676989676989671, -inf, 0.69999999999999996},
	}
	for _, c := range cases {
		r, err := MannWhitney(y, x, MannWhitneyOptions{Options: Options{Alternative: c.alt, Confidence: c.conf}})
		if err != nil {
			t.Fatal(err)
		}
		name := fmt.Sprintf("wilcox.test(x, y, %v, %v)", c.alt, c.conf)
		if r.Statistic != 35 || !r.Exact {
			t.Errorf("%s: W = %v exact %v, want 35 exact", name, r.Statistic, r.Exact)
		}
		checkRef(t, name+" p", r.PValue, c.pv)
		checkRef(t, name+" estimate", r.Estimate, 0.30500000000000005)
		checkInterval(t, name, r.CI, c.lo, c.hi)
	}
}

// Kayenta's own unit test (kayenta-mannwhitney MannWhitneySuite "returns
// expected values"): control 1..4, experiment 10..40, confidence 0.95,
// asymptotic: interval [6, 39], estimate 22.5. R 4.2.2 gives W = 16,
// p = 0.030382821976577493 with exact = FALSE.
func TestMannWhitneyKayentaSuite(t *testing.T) {
	r, err := MannWhitney([]float64{1, 2, 3, 4}, []float64{10, 20, 30, 40},
		MannWhitneyOptions{Options: Options{Confidence: 0.95}, Method: MethodNormal})
	if err != nil {
		t.Fatal(err)
	}
	checkInterval(t, "kayenta", r.CI, 6, 39)
	checkRef(t, "kayenta estimate", r.Estimate, 22.5)
	checkRef(t, "kayenta p", r.PValue, 0.030382821976577493)
	if r.Statistic != 16 {
		t.Errorf("W = %v, want 16", r.Statistic)
	}
}

// Samples with many ties (set.seed(42); a <- sample(0:30, 60, TRUE);
// b <- sample(3:35, 70, TRUE) in R 4.2.2), so the normal approximation with
// tie correction applies. p-values from wilcox.test(b, a, ...); interval
// ends from the same calls agree to uniroot's 1e-4 with the exact order
// statistics, which are integers here.
var tiesA = []float64{16, 4, 0, 24, 9, 3, 17, 25, 16, 14, 23, 6, 3, 24, 4, 13, 19, 25, 17, 14, 2, 8, 24, 26, 3, 4, 30,
	12, 4, 19, 1, 27, 7, 2, 25, 0, 9, 23, 29, 10, 14, 21, 25, 7, 3, 3, 21, 17, 12, 27, 4, 3, 1, 23, 17, 2, 23, 22, 16, 20}
var tiesB = []float64{28, 8, 8, 4, 5, 23, 4, 12, 7, 35, 11, 31, 14, 22, 11, 31, 18, 30, 7, 30, 4, 20, 26, 20, 7, 23,
	20, 29, 15, 21, 34, 18, 31, 19, 11, 23, 10, 31, 3, 15, 16, 7, 11, 18, 28, 35, 31, 27, 34, 19, 16, 8,
	18, 33, 32, 34, 8, 24, 33, 8, 22, 17, 25, 14, 28, 3, 4, 26, 27, 30}

func TestMannWhitneyTiesMatchesR(t *testing.T) {
	cases := []struct {
		opt        MannWhitneyOptions
		pv         float64
		rLo, rHi   float64 // R's uniroot values
		exLo, exHi float64 // the exact roots
	}{
		{MannWhitneyOptions{}, 0.0011333679915928692, 1.9999484433427057, 9.9999089339109606, 2, 10},
		{MannWhitneyOptions{Options: Options{Alternative: Greater, Confidence: 0.95}}, 0.00056668399579643458, 2.9999737413891574, inf, 3, inf},
		{MannWhitneyOptions{Options: Options{Alternative: Less, Confidence: 0.9}, NoContinuityCorrection: true}, 0.99943796115899775, -inf, 7.9999520975440905, -inf, 8},
	}
	for _, c := range cases {
		r, err := MannWhitney(tiesA, tiesB, c.opt)
		if err != nil {
			t.Fatal(err)
		}
		name := fmt.Sprintf("ties %v %v", c.opt.Alternative, c.opt.Confidence)
		if r.Exact || r.Statistic != 2797 {
			t.Errorf("%s: W = %v exact %v, want 2797 normal", name, r.Statistic, r.Exact)
		}
		checkRef(t, name+" p", r.PValue, c.pv)
		checkInterval(t, name, r.CI, c.exLo, c.exHi)
		if !math.IsInf(c.rLo, 0) {
			withinUniroot(t, name+" low vs R", r.CI.Lo, c.rLo)
		}
		if !math.IsInf(c.rHi, 0) {
			withinUniroot(t, name+" high vs R", r.CI.Hi, c.rHi)
		}
		withinUniroot(t, name+" estimate vs R", r.Estimate, 5.9999779493203222)
	}
}

// Two tie-free samples of 30 and 40 (set.seed(7); round(rnorm(30, 100, 15), 3)
// and round(rnorm(40, 108, 15), 3) in R 4.2.2), exact and asymptotic.
var exactC1 = []float64{134.309, 82.048, 89.586, 93.816, 85.44, 85.791, 111.222, 98.246, 102.29, 132.85, 105.355, 140.751,
	134.222, 104.86, 128.441, 107.015, 86.593, 95.39, 99.928, 114.822, 112.596, 110.58, 119.589, 79.18, 119.094,
	102.763, 111.284, 108.876, 85.254, 95.859}
var exactC2 = []float64{94.937, 118.781, 109.66, 106.823, 101.693, 99.568, 122.963, 91.423, 105.866, 112.725, 126.278,
	97.51, 103.719, 88.327, 102.135, 101.977, 128.258, 116.868, 109.508, 121.966, 104.059, 107.885, 113.507, 133.607,
	118.856, 115.216, 84.482, 112.774, 110.49, 94.501, 109.146, 110.387, 116.155, 118.572, 112.785, 124.639, 119.537,
	125.302, 126.91, 118.509}

func TestMannWhitneyExact30x40MatchesR(t *testing.T) {
	r, err := MannWhitney(exactC1, exactC2, MannWhitneyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !r.Exact || r.Statistic != 730 {
		t.Errorf("W = %v exact %v, want 730 exact", r.Statistic, r.Exact)
	}
	checkRef(t, "exact p", r.PValue, 0.12486655802634566)
	checkRef(t, "exact estimate", r.Estimate, 6.2775000000000034)
	checkInterval(t, "exact 98%", r.CI, -2.7220000000000084, 14.677000000000007)

	g, _ := MannWhitney(exactC1, exactC2, MannWhitneyOptions{Options: Options{Alternative: Greater, Confidence: 0.95}})
	checkRef(t, "exact greater p", g.PValue, 0.062433279013172832)
	checkInterval(t, "exact greater", g.CI, -0.35999999999999943, inf)

	n, _ := MannWhitney(exactC1, exactC2, MannWhitneyOptions{Method: MethodNormal})
	checkRef(t, "normal p", n.PValue, 0.12432214756891023)
	withinUniroot(t, "normal low vs R", n.CI.Lo, -2.7250547137402559)
	withinUniroot(t, "normal high vs R", n.CI.Hi, 14.72204662089308)
	// R's asymptotic estimate is some point of the flat zero region of its
	// statistic, between the 600th and 601st of the 1200 differences; the
	// Hodges-Lehmann median is that region's midpoint.
	diffs := allDiffs(exactC2, exactC1)
	if !(diffs[599] <= 6.2767774878378821 && 6.2767774878378821 <= diffs[600]) || n.Estimate != (diffs[599]+diffs[600])/2 {
		t.Errorf("estimate %v, R %v, region [%v, %v]", n.Estimate, 6.2767774878378821, diffs[599], diffs[600])
	}
}

func allDiffs(t, c []float64) []float64 {
	var d []float64
	for _, x := range t {
		for _, y := range c {
			d = append(d, x-y)
		}
	}
	slices.Sort(d)
	return d
}

// The order-statistic selection against a plain sort of all differences,
// on random samples with and without ties, negative values and zeros.
func TestPairDiffsKthAgainstSort(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for iter := range 300 {
		m, n := 1+rng.IntN(25), 1+rng.IntN(25)
		x, y := make([]float64, m), make([]float64, n)
		for i := range x {
			x[i] = math.Round(rng.NormFloat64()*10) / float64(1+iter%3)
		}
		for i := range y {
			y[i] = math.Round(rng.NormFloat64()*10) / float64(1+iter%3)
		}
		want := allDiffs(x, y)
		slices.Sort(x)
		slices.Sort(y)
		d := &pairDiffs{t: x, c: y}
		for k := int64(1); k <= d.size(); k++ {
			if got := d.kth(k); got != want[k-1] {
				t.Fatalf("iter %d: kth(%d) = %v, want %v", iter, k, got, want[k-1])
			}
		}
		mn := len(want)
		med := want[mn/2]
		if mn%2 == 0 {
			med = (want[mn/2-1] + want[mn/2]) / 2
		}
		if got := d.median(); got != med {
			t.Fatalf("iter %d: median %v, want %v", iter, got, med)
		}
	}
}

// The exact null distribution against brute-force enumeration of every way
// to place m first-sample observations among m+n ranks.
func TestUDistAgainstEnumeration(t *testing.T) {
	for m := 1; m <= 7; m++ {
		for n := 1; n <= 7; n++ {
			want := make([]float64, m*n+1)
			for mask := 0; mask < 1<<(m+n); mask++ {
				if popcount(mask) != m {
					continue
				}
				// U = pairs (x, y) with x above y: for each x at rank r,
				// the y below it.
				u, ys := 0, 0
				for r := 0; r < m+n; r++ {
					if mask&(1<<r) != 0 {
						u += ys
					} else {
						ys++
					}
				}
				want[u]++
			}
			got := newUDist(m, n)
			if !slices.Equal(got.count, want) {
				t.Fatalf("m=%d n=%d: counts %v, want %v", m, n, got.count, want)
			}
		}
	}
}

func popcount(v int) int {
	c := 0
	for ; v != 0; v &= v - 1 {
		c++
	}
	return c
}

func TestMannWhitneyEdgeCases(t *testing.T) {
	if _, err := MannWhitney(nil, []float64{1}, MannWhitneyOptions{}); !errors.Is(err, ErrNoData) {
		t.Errorf("empty control: %v, want ErrNoData", err)
	}
	if _, err := MannWhitney([]float64{1, math.NaN()}, []float64{1}, MannWhitneyOptions{}); !errors.Is(err, ErrInvalid) {
		t.Errorf("NaN: %v, want ErrInvalid", err)
	}
	if _, err := MannWhitney([]float64{1, 2}, []float64{2, 3}, MannWhitneyOptions{Method: MethodExact}); !errors.Is(err, ErrInvalid) {
		t.Errorf("exact with ties: %v, want ErrInvalid", err)
	}
	// All observations equal: no evidence, a zero shift.
	r, err := MannWhitney([]float64{3, 3, 3}, []float64{3, 3}, MannWhitneyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if r.PValue != 1 || r.Estimate != 0 || r.CI != (Interval{0, 0}) {
		t.Errorf("all tied: %+v", r)
	}
	// 50 observations per sample switch Auto to the normal approximation.
	big := make([]float64, 50)
	for i := range big {
		big[i] = float64(i)
	}
	r, _ = MannWhitney(big, big[:10], MannWhitneyOptions{})
	if r.Exact {
		t.Errorf("n=50: exact, want normal approximation")
	}
}

// GateShift: Kayenta-style effect-size gate. A shift that is significant
// but under the tolerance is negligible; one beyond it is not.
func TestGateShift(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	base := make([]float64, 400)
	small := make([]float64, 400)
	large := make([]float64, 400)
	for i := range base {
		base[i] = 100 + rng.NormFloat64()
		small[i] = 101 + rng.NormFloat64() // +1%: significant at n=400
		large[i] = 120 + rng.NormFloat64() // +20%
	}
	rs, err := MannWhitney(base, small, MannWhitneyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if rs.PValue > 1e-6 {
		t.Fatalf("a 1%% shift over 400 samples should be significant, p = %v", rs.PValue)
	}
	if got := rs.Gate(0.05); got != ShiftNegligible {
		t.Errorf("1%% shift with 5%% tolerance: %v, want negligible", got)
	}
	if got := rs.Gate(0.005); got != ShiftIncrease {
		t.Errorf("1%% shift with 0.5%% tolerance: %v, want increase", got)
	}
	rl, _ := MannWhitney(base, large, MannWhitneyOptions{})
	if got := rl.Gate(0.05); got != ShiftIncrease {
		t.Errorf("20%% shift: %v, want increase", got)
	}
	rd, _ := MannWhitney(large, base, MannWhitneyOptions{})
	if got := rd.Gate(0.05); got != ShiftDecrease {
		t.Errorf("-17%% shift: %v, want decrease", got)
	}
	// Not significant: negligible whatever the tolerance.
	rn, _ := MannWhitney(base[:200], base[200:], MannWhitneyOptions{})
	if rn.CI.Contains(0) && rn.Gate(0) != ShiftNegligible {
		t.Errorf("no shift: %v", rn.Gate(0))
	}
}

// Benchmark for the guard's largest per-metric rank test: two samples of
// 1000 per-interval values (normal approximation, Hodges-Lehmann interval).
func BenchmarkMannWhitney2x1000(b *testing.B) {
	rng := rand.New(rand.NewPCG(5, 6))
	x, y := make([]float64, 1000), make([]float64, 1000)
	for i := range x {
		x[i] = 100 + 10*rng.NormFloat64()
		y[i] = 102 + 10*rng.NormFloat64()
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := MannWhitney(x, y, MannWhitneyOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

func TestMannWhitneyExactTooLarge(t *testing.T) {
	x := make([]float64, 101)
	y := make([]float64, 100)
	for i := range x {
		x[i] = float64(2 * i)
	}
	for i := range y {
		y[i] = float64(2*i + 1)
	}
	if _, err := MannWhitney(y, x, MannWhitneyOptions{Method: MethodExact}); !errors.Is(err, ErrInvalid) {
		t.Errorf("exact 101×100: %v, want ErrInvalid", err)
	}
	if _, err := MannWhitney(y, x[:100], MannWhitneyOptions{Method: MethodExact}); err != nil {
		t.Errorf("exact 100×100: %v", err)
	}
}
