package stats

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// randSample draws n values; kind picks a continuous sample, a heavily tied
// one (few distinct values), one with zeros and negative zeros, or a
// skewed one with a long tail.
func randSample(rng *rand.Rand, n, kind int, shift float64) []float64 {
	x := make([]float64, n)
	for i := range x {
		switch kind {
		case 0:
			x[i] = 100 + shift + rng.NormFloat64()
		case 1:
			x[i] = float64(rng.IntN(5)) + shift
		case 2:
			x[i] = math.Copysign(0, float64(rng.IntN(2))-0.5)
			if rng.IntN(3) == 0 {
				x[i] = math.Round(rng.NormFloat64()*3) / 2
			}
		default:
			x[i] = shift + math.Exp(3*rng.NormFloat64())
		}
	}
	slices.Sort(x)
	return x
}

// The selection against the previous bisection (refPairDiffs), bit for bit,
// on random samples of different sizes (either sample the shorter), with
// and without ties, at the ranks the median and the intervals use and at
// random ones.
func TestPairDiffsAgainstReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for iter := range 400 {
		m, n := 1+rng.IntN(80), 1+rng.IntN(300)
		if iter%8 == 0 || iter%8 == 3 {
			// Large enough for the grid's first pivots.
			n = 1024 + rng.IntN(2000)
		}
		if iter%2 == 1 {
			m, n = n, m
		}
		kind := iter % 4
		x := randSample(rng, m, kind, float64(rng.IntN(3))-1)
		y := randSample(rng, n, (kind+iter/4)%4, 0)
		d, ref := &pairDiffs{t: x, c: y}, &refPairDiffs{t: x, c: y}
		if got, want := d.median(), ref.median(); math.Float64bits(got) != math.Float64bits(want) {
			t.Fatalf("iter %d (%d×%d, kind %d): median %v, reference %v", iter, m, n, kind, got, want)
		}
		mn := d.size()
		ks := []int64{1, 2, mn / 2, mn/2 + 1, mn - 1, mn, mn / 50, mn - mn/50}
		for range 20 {
			ks = append(ks, 1+rng.Int64N(mn))
		}
		for _, k := range ks {
			if got, want := d.at(k), ref.at(k); math.Float64bits(got) != math.Float64bits(want) {
				t.Fatalf("iter %d (%d×%d, kind %d): at(%d) = %v, reference %v", iter, m, n, kind, k, got, want)
			}
		}
		if mn > 1 {
			k := 1 + rng.Int64N(mn-1)
			a, b := d.kthPair(k)
			if a != ref.kth(k) || b != ref.kth(k+1) {
				t.Fatalf("iter %d: kthPair(%d) = %v, %v, reference %v, %v", iter, k, a, b, ref.kth(k), ref.kth(k+1))
			}
		}
	}
}

// The guard's shape (600 canary against 11,400 baseline values, and the
// reverse), continuous and rounded to a few distinct values: the whole
// Mann-Whitney result with the new selection equals the one computed with
// the reference selection.
func TestMannWhitneyAgainstReferenceLarge(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	for iter := range 6 {
		m, n := 600, 11400
		if iter%2 == 1 {
			m, n = n, m
		}
		x := randSample(rng, m, 0, 0.05*float64(iter))
		y := randSample(rng, n, 0, 0)
		if iter >= 4 {
			for i := range x {
				x[i] = math.Round(x[i] * 4)
			}
			for i := range y {
				y[i] = math.Round(y[i] * 4)
			}
		}
		for _, alt := range []Alternative{TwoSided, Greater, Less} {
			got, err := MannWhitney(y, x, MannWhitneyOptions{Options: Options{Alternative: alt}})
			if err != nil {
				t.Fatal(err)
			}
			want := refMannWhitneyShift(x, y, got.Confidence, alt)
			if got.Estimate != want.Estimate || got.CI != want.CI {
				t.Fatalf("iter %d %v: estimate %v CI %+v, reference %v %+v", iter, alt, got.Estimate, got.CI, want.Estimate, want.CI)
			}
		}
	}
}

// refMannWhitneyShift is MannWhitney's estimate and normal-approximation
// interval computed with the reference selection (sorted samples).
func refMannWhitneyShift(x, y []float64, confidence float64, alt Alternative) Result {
	ref := &refPairDiffs{t: x, c: y}
	m, n := float64(len(x)), float64(len(y))
	mn := m * n
	sigma := math.Sqrt(mn / 12 * ((m + n + 1) - (tieTerm(x)+tieTerm(y))/((m+n)*(m+n-1))))
	alpha := 1 - confidence
	lower := func(zq float64) float64 {
		c := math.Floor(mn/2 + 0.5 + zq*sigma)
		return ref.at(int64(mn - c))
	}
	upper := func(zq float64) float64 {
		c := math.Floor(mn/2 - 0.5 - zq*sigma)
		return ref.at(int64(mn - c))
	}
	r := Result{Estimate: ref.median()}
	switch alt {
	case Greater:
		r.CI = Interval{Lo: lower(stdNormal.Quantile(1 - alpha)), Hi: math.Inf(1)}
	case Less:
		r.CI = Interval{Lo: math.Inf(-1), Hi: upper(stdNormal.Quantile(1 - alpha))}
	default:
		zq := stdNormal.Quantile(1 - alpha/2)
		r.CI = Interval{Lo: lower(zq), Hi: upper(zq)}
	}
	return r
}

// BenchmarkMannWhitney runs the guard's two shapes: per host, 600 canary
// against 11,400 baseline values, and per interval, 60 canary against 60
// baseline interval averages, already sorted as the guard hands them over.
func BenchmarkMannWhitney(b *testing.B) {
	for _, c := range []struct{ canary, baseline int }{{600, 11400}, {60, 60}} {
		b.Run(fmt.Sprintf("%dx%d", c.canary, c.baseline), func(b *testing.B) {
			rng := rand.New(rand.NewPCG(uint64(c.canary), uint64(c.baseline)))
			x, y := randSample(rng, c.canary, 0, 0.02), randSample(rng, c.baseline, 0, 0)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := MannWhitney(y, x, MannWhitneyOptions{Options: Options{Alternative: Greater}}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
