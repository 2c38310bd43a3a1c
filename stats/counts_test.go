package stats

import (
	"errors"
	"fmt"
	"math"
	"testing"

	"gonum.org/v1/gonum/stat/distuv"
)

// Reference values from R 4.2.2: poisson.test(c(A, B), c(f, 1-f),
// alternative), which conditions on A+B exactly as CountShareTest does and
// maps the Clopper-Pearson interval of the share to a rate ratio.
func TestCountShareTestMatchesPoissonTest(t *testing.T) {
	cases := []struct {
		c          Counts
		alt        Alternative
		pv, rr     float64
		rrLo, rrHi float64
	}{
		{Counts{Canary: 6, Baseline: 0, Share: 0.05}, TwoSided, 1.5624999999999993e-08, inf, 22.371069788759382, inf},
		{Counts{Canary: 6, Baseline: 0, Share: 0.05}, Greater, 1.5624999999999993e-08, inf, 29.341410161375684, inf},
		{Counts{Canary: 30, Baseline: 270, Share: 0.1}, TwoSided, 1, 1, 0.66174949826709706, 1.4611423508566816},
		{Counts{Canary: 45, Baseline: 255, Share: 0.1}, Greater, 0.0040550380666712349, 1.5882352941176472, 1.1939093686730884, inf},
	}
	for _, c := range cases {
		name := fmt.Sprintf("poisson.test(%+v, %v)", c.c, c.alt)
		r, err := CountShareTest(c.c, Options{Alternative: c.alt})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		checkRef(t, name+" p-value", r.PValue, c.pv)
		checkRef(t, name+" rate ratio", r.Estimate, c.rr)
		checkInterval(t, name, r.CI, c.rrLo, c.rrHi)
	}
}

// The case Kayenta's users keep filing (kayenta#377, #799): errors on the
// canary, none on the baseline. 6 errors on a canary holding 5% of the
// traffic has probability 0.05^6 if the canary is no worse.
func TestCanaryErrorsWhereBaselineHasNoneFails(t *testing.T) {
	c := Counts{Canary: 6, Baseline: 0, Share: 0.05}
	for _, alt := range []Alternative{TwoSided, Greater} {
		r, err := CountShareTest(c, Options{Alternative: alt})
		if err != nil {
			t.Fatal(err)
		}
		if want := math.Pow(0.05, 6); !near(r.PValue, want, 1e-12) {
			t.Errorf("%v: p-value %g, want 0.05^6 = %g", alt, r.PValue, want)
		}
		if r.PValue > 1e-6 || !math.IsInf(r.Estimate, 1) || !(r.CI.Lo > 20) {
			t.Errorf("%v: p %g rate ratio %v CI %+v: the canary should fail", alt, r.PValue, r.Estimate, r.CI)
		}
	}
	s, err := SequentialCountShare(c, SequentialCountOptions{Alternative: Greater})
	if err != nil {
		t.Fatal(err)
	}
	if s.PValue > 0.001 {
		t.Errorf("sequential p-value %g: the canary should fail even with always-valid inference", s.PValue)
	}
}

// Reference values from R 4.2.2: prop.test(A, N, p = f, correct = FALSE,
// alternative) for the statistic, p-value and Wilson interval of the share,
// and chisq.test(c(45, 255), p = c(.1, .9)) for the same statistic.
func TestCountShareChiSquaredMatchesPropTest(t *testing.T) {
	cases := []struct {
		c            Counts
		alt          Alternative
		x2, pv       float64
		shLo, shHigh float64
	}{
		{Counts{Canary: 30, Baseline: 270, Share: 0.1}, TwoSided, 0, 1, 0.070947914595015329, 0.13916646238462146},
		{Counts{Canary: 45, Baseline: 255, Share: 0.1}, TwoSided, 8.3333333333333339, 0.0038924171227786297, 0.11403246871185317, 0.194817611145329},
		{Counts{Canary: 45, Baseline: 255, Share: 0.1}, Greater, 8.3333333333333339, 0.0019462085613893127, 0.1192259738733313, 1},
		{Counts{Canary: 530, Baseline: 470, Share: 0.5}, TwoSided, 3.6000000000000001, 0.057779571123597537, 0.49901030909301675, 0.56076008539784994},
		{Counts{Canary: 0, Baseline: 50, Share: 0.2}, TwoSided, 12.5, 0.00040695201744495903, 0, 0.071347599133358683},
	}
	for _, c := range cases {
		name := fmt.Sprintf("prop.test(%+v, %v)", c.c, c.alt)
		r, err := CountShareChiSquared(c.c, Options{Alternative: c.alt})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if c.x2 == 0 {
			if r.Statistic > 1e-12 {
				t.Errorf("%s: statistic %v, want 0", name, r.Statistic)
			}
		} else {
			checkRef(t, name+" X-squared", r.Statistic, c.x2)
		}
		checkRef(t, name+" p-value", r.PValue, c.pv)
		checkInterval(t, name+" share", r.ShareCI, c.shLo, c.shHigh)
		checkRef(t, name+" rate ratio low", r.CI.Lo, rateRatio(c.shLo, c.c.Share))
	}
}

// The slide's rule "significant when D² > N" is the chi-squared test of a
// 50/50 split at X² = 4D²/N > 4, a level of P(χ²₁ <= 4) = erf(√2) ≈ 95.45%.
func TestDSquaredRuleIsChiSquaredAt95Point4(t *testing.T) {
	if want := 1 - (distuv.ChiSquared{K: 1}).Survival(4); !near(DSquaredRuleConfidence, want, 1e-12) {
		t.Errorf("DSquaredRuleConfidence = %v, want 1 - P(χ²₁ > 4) = %v", DSquaredRuleConfidence, want)
	}
	if want := math.Erf(math.Sqrt2); !near(DSquaredRuleConfidence, want, 1e-15) {
		t.Errorf("DSquaredRuleConfidence = %v, want erf(√2) = %v", DSquaredRuleConfidence, want)
	}
	if math.Abs(DSquaredRuleConfidence-0.954) > 0.001 {
		t.Errorf("DSquaredRuleConfidence = %v, want about 95.4%%", DSquaredRuleConfidence)
	}
	alpha := 1 - DSquaredRuleConfidence
	checked, significant := 0, 0
	for a := int64(0); a <= 150; a++ {
		for b := int64(0); b <= 150; b++ {
			if a+b == 0 {
				continue
			}
			rule := DSquaredRule(a, b)
			n, d := float64(a+b), float64(a-b)/2
			if d*d == n {
				continue // exactly on the boundary: p equals alpha up to rounding
			}
			r, err := CountShareChiSquared(Counts{Canary: a, Baseline: b, Share: 0.5}, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if !near(r.Statistic, rule.ChiSquared, 1e-12) {
				t.Fatalf("a=%d b=%d: chi-squared %v, rule's 4D²/N %v", a, b, r.Statistic, rule.ChiSquared)
			}
			if rule.Significant != (r.PValue < alpha) {
				t.Fatalf("a=%d b=%d: D²>N is %v but chi-squared p=%v at alpha %v", a, b, rule.Significant, r.PValue, alpha)
			}
			checked++
			if rule.Significant {
				significant++
			}
		}
	}
	if checked < 20000 || significant == 0 || significant == checked {
		t.Errorf("checked %d pairs, %d significant: the grid does not exercise both sides", checked, significant)
	}
	// The slide's own kind of example: 5200 against 4800 is D = 200,
	// D² = 40000 > N = 10000.
	if r := DSquaredRule(5200, 4800); !r.Significant || r.D != 200 || r.N != 10000 {
		t.Errorf("DSquaredRule(5200, 4800) = %+v", r)
	}
}

func TestCountShareErrors(t *testing.T) {
	if _, err := CountShareTest(Counts{Share: 0.1}, Options{}); !errors.Is(err, ErrNoData) {
		t.Errorf("no events: %v, want ErrNoData", err)
	}
	if _, err := CountShareChiSquared(Counts{Share: 0.1}, Options{}); !errors.Is(err, ErrNoData) {
		t.Errorf("no events: %v, want ErrNoData", err)
	}
	for _, c := range []Counts{{Canary: 1, Baseline: 1, Share: 0}, {Canary: 1, Baseline: 1, Share: 1}, {Canary: -1, Baseline: 3, Share: 0.5}} {
		if _, err := CountShareTest(c, Options{}); !errors.Is(err, ErrInvalid) {
			t.Errorf("%+v: %v, want ErrInvalid", c, err)
		}
	}
	if r := DSquaredRule(0, 0); r.Significant || !math.IsNaN(r.ChiSquared) {
		t.Errorf("DSquaredRule(0, 0) = %+v, want not significant with NaN statistic", r)
	}
}
