package stats

import (
	"errors"
	"fmt"
	"math"
	"math/big"
	"testing"
)

// The closed form of the normal mixture against a numerical one: R 4.2.2
// integrates dnorm(est; θ, √V)·dnorm(θ; null, τ) over θ (integrate,
// rel.tol = 1e-13, abs.tol = 0), divides by dnorm(est; null, √V), and finds the
// confidence sequence's ends as the roots of log Λ(θ₀) = log(1/α) with
// uniroot(tol = 1e-14). Nothing of the closed form is used there.
func TestNormalMixtureMatchesIntegration(t *testing.T) {
	cases := []struct {
		est, v, null, tau2, alpha float64
		lr, lo, hi                float64
	}{
		{0.8, 0.09, 0, 0.5, 0.05, 7.9488418667415983, -0.11432092906842527, 1.7143209290684254},
		{-0.03, 0.0001, 0, 0.0008, 0.05, 18.199383344381417, -0.060351730206035577, 0.00035173020603557778},
		{2.5, 1, 1, 3, 0.1, 1.1625348301385605, -0.32641458320324529, 5.3264145832032446},
	}
	for _, c := range cases {
		name := fmt.Sprintf("mixture(est=%v V=%v null=%v τ²=%v α=%v)", c.est, c.v, c.null, c.tau2, c.alpha)
		r, err := NormalMixture(c.est, c.v, c.null, c.tau2, 1-c.alpha)
		if err != nil {
			t.Fatal(err)
		}
		checkRef(t, name+" Λ", r.Statistic, c.lr)
		checkRef(t, name+" p", r.PValue, math.Min(1, 1/c.lr))
		checkInterval(t, name, r.CI, c.lo, c.hi)
		// p <= α exactly when the null is outside the sequence.
		if (r.PValue <= c.alpha) == r.CI.Contains(c.null) {
			t.Errorf("%s: p %v but CI %+v around null %v", name, r.PValue, r.CI, c.null)
		}
	}
}

// With V = σ²/n and τ² = σ²ρ², the mixture's sequence is the asymptotic
// confidence sequence GrowthBook implements (Waudby-Smith et al. 2021):
// θ̂ ± σ·sqrt(2(nρ²+1)/(n²ρ²)·log(sqrt(nρ²+1)/α)), with
// ρ² = (−2 log α + log(1 − 2 log α))/N* tuned at N*.
func TestNormalMixtureIsGrowthBookSequence(t *testing.T) {
	const alpha, sigma2, nStar = 0.05, 2.3, 5000.0
	rho2 := (-2*math.Log(alpha) + math.Log(1-2*math.Log(alpha))) / nStar
	for _, n := range []float64{10, 100, 5000, 1e6} {
		v := sigma2 / n
		tau2 := OptimalMixingVariance(v*n/nStar, alpha)
		if !near(tau2, sigma2*rho2, 1e-12) {
			t.Fatalf("n=%v: τ² %v, want σ²ρ² %v", n, tau2, sigma2*rho2)
		}
		r, err := NormalMixture(0.1, v, 0, tau2, 1-alpha)
		if err != nil {
			t.Fatal(err)
		}
		want := math.Sqrt(sigma2 * 2 * (n*rho2 + 1) / (n * n * rho2) * math.Log(math.Sqrt(n*rho2+1)/alpha))
		if got := (r.CI.Hi - r.CI.Lo) / 2; !near(got, want, 1e-12) {
			t.Errorf("n=%v: half-width %v, GrowthBook's %v", n, got, want)
		}
	}
	// The tuned τ² is close to the exact minimiser of the width at N*:
	// r solving r = −2 log α + log(1 + r).
	r := 1.0
	for range 100 {
		r = -2*math.Log(alpha) + math.Log(1+r)
	}
	width := func(tau2 float64) float64 { return mixtureHalfWidth(1, tau2, alpha) }
	if w, best := width(OptimalMixingVariance(1, alpha)), width(r); w > best*1.001 {
		t.Errorf("tuned width %v, optimal %v", w, best)
	}
}

// The beta-binomial mixture against R 4.2.2: the marginal likelihood
// M = ∫ p^A (1-p)^B Beta(p; κf, κ(1-f)) dp (truncated and renormalised for
// one-sided tests) by integrate(rel.tol = 1e-13, abs.tol = 0) on either side
// of the mode, with the integrand scaled by its peak (unscaled, integrate's
// default absolute tolerance swamps integrands of 1e-45 and is off by
// 0.3%), Λ = M / (f^A (1-f)^B),
// and the share's confidence sequence as the roots of
// log M − A log p₀ − B log(1−p₀) = log(1/α) by uniroot(tol = 1e-15).
func TestSequentialCountShareMatchesIntegration(t *testing.T) {
	cases := []struct {
		c         Counts
		alt       Alternative
		kappa     float64
		alpha     float64
		lr        float64
		shLo, shH float64 // 0 and 1 where a one-sided sequence is open
	}{
		{Counts{6, 0, 0.05}, TwoSided, 10, 0.05, 2884.6153846153838, 0.11450197849209784, 1},
		{Counts{6, 0, 0.05}, Greater, 10, 0.05, 8744.4003733495247, 0.13774843627034367, 1},
		{Counts{30, 270, 0.1}, TwoSided, 10, 0.05, 0.16591792835004787, 0.054883885505202915, 0.16194947726583614},
		{Counts{45, 255, 0.1}, TwoSided, 10, 0.05, 4.9427820588614644, 0.092472130093580671, 0.22311465358907559},
		{Counts{45, 255, 0.1}, Greater, 10, 0.05, 12.703654116851883, 0.097377898523464262, 1},
		{Counts{12, 30, 0.5}, Less, 4, 0.1, 22.516133969920578, 0, 0.47614281233386602},
		{Counts{520, 480, 0.5}, TwoSided, 10, 0.05, 0.21455272116129298, 0.46838823162662713, 0.57132813664012028},
	}
	for _, c := range cases {
		name := fmt.Sprintf("beta-binomial(%+v, %v, κ=%v)", c.c, c.alt, c.kappa)
		r, err := SequentialCountShare(c.c, SequentialCountOptions{Alternative: c.alt, Confidence: 1 - c.alpha, Concentration: c.kappa})
		if err != nil {
			t.Fatal(err)
		}
		checkRef(t, name+" Λ", r.Statistic, c.lr)
		checkRef(t, name+" p", r.PValue, math.Min(1, 1/c.lr))
		checkInterval(t, name+" share", r.ShareCI, c.shLo, c.shH)
		checkRef(t, name+" rate ratio low", r.CI.Lo, rateRatio(c.shLo, c.c.Share))
	}
}

// The two-sided mixture marginal has the product form
// M = Π_{i<A}(a+i) · Π_{j<B}(b+j) / Π_{k<A+B}(a+b+k); computed here in
// 256-bit big.Float arithmetic, independent of the log-beta path.
func TestSequentialCountShareProductForm(t *testing.T) {
	for _, c := range []Counts{{6, 0, 0.05}, {45, 255, 0.1}, {300, 2700, 0.1}, {0, 40, 0.25}, {1234, 1111, 0.5}} {
		const kappa = DefaultConcentration
		a, b := kappa*c.Share, kappa*(1-c.Share)
		num := new(big.Float).SetPrec(256).SetFloat64(1)
		for i := range c.Canary {
			num.Mul(num, big.NewFloat(a+float64(i)).SetPrec(256))
			num.Quo(num, big.NewFloat(c.Share).SetPrec(256))
		}
		for j := range c.Baseline {
			num.Mul(num, big.NewFloat(b+float64(j)).SetPrec(256))
			num.Quo(num, big.NewFloat(1-c.Share).SetPrec(256))
		}
		for k := range c.Total() {
			num.Quo(num, big.NewFloat(a+b+float64(k)).SetPrec(256))
		}
		want, _ := num.Float64()
		r, err := SequentialCountShare(c, SequentialCountOptions{})
		if err != nil {
			t.Fatal(err)
		}
		// Lbeta at 1e3 loses a few digits to cancellation; 1e-9 relative
		// is still far inside the 1e-6.
		if !near(r.Statistic, want, 1e-9) {
			t.Errorf("%+v: Λ %.17g, product form %.17g", c, r.Statistic, want)
		}
	}
}

func TestSequentialErrors(t *testing.T) {
	if _, err := SequentialCountShare(Counts{Share: 0.1}, SequentialCountOptions{}); !errors.Is(err, ErrNoData) {
		t.Errorf("no events: %v, want ErrNoData", err)
	}
	if _, err := SequentialCountShare(Counts{1, 1, 0.1}, SequentialCountOptions{Concentration: -1}); !errors.Is(err, ErrInvalid) {
		t.Errorf("negative κ: %v, want ErrInvalid", err)
	}
	if _, err := NormalMixture(1, 0, 0, 1, 0.95); !errors.Is(err, ErrNoData) {
		t.Errorf("zero variance: %v, want ErrNoData", err)
	}
	if _, err := NormalMixture(1, 1, 0, 0, 0.95); !errors.Is(err, ErrInvalid) {
		t.Errorf("zero τ²: %v, want ErrInvalid", err)
	}
	if _, err := SequentialTwoProportion(Proportion{0, 10}, Proportion{0, 10}, SequentialOptions{}); !errors.Is(err, ErrNoData) {
		t.Errorf("no conversions: %v, want ErrNoData", err)
	}
	if _, err := SequentialWelch(Summary{N: 1}, SummaryOf([]float64{1, 2}), SequentialOptions{}); !errors.Is(err, ErrNoData) {
		t.Errorf("one observation: %v, want ErrNoData", err)
	}
}

// IMVU's experiment read with the always-valid test: still significant at
// 0.05 after any number of looks, at the price of a larger p-value than the
// fixed-horizon 9.6e-6.
func TestIMVUSequential(t *testing.T) {
	control := Proportion{Successes: 64630, Trials: 148266}
	treatment := Proportion{Successes: 66903, Trials: 150702}
	r, err := SequentialTwoProportion(control, treatment, SequentialOptions{})
	if err != nil {
		t.Fatal(err)
	}
	fixed, _ := TwoProportionZTest(control, treatment, Options{})
	if !(r.PValue < 0.01 && r.PValue > fixed.PValue) || r.CI.Contains(0) {
		t.Errorf("sequential p %v CI %+v, fixed p %v", r.PValue, r.CI, fixed.PValue)
	}
	if !(r.CI.Lo < fixed.CI.Lo && r.CI.Hi > fixed.CI.Hi) {
		t.Errorf("sequence %+v should be wider than the fixed interval %+v", r.CI, fixed.CI)
	}
	if !(r.Lift.CI.Lo > 0 && r.Lift.CI.Lo < fixed.Lift.CI.Lo) {
		t.Errorf("lift sequence %+v, fixed %+v", r.Lift.CI, fixed.Lift.CI)
	}
}

func BenchmarkSequentialCountShare(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := SequentialCountShare(Counts{Canary: 45, Baseline: 255, Share: 0.1}, SequentialCountOptions{Alternative: Greater}); err != nil {
			b.Fatal(err)
		}
	}
}
