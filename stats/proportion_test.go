package stats

import (
	"errors"
	"math"
	"testing"
)

// IMVU's experiment screenshot: control 64630 of 148266 users converted,
// treatment 66903 of 150702; the dashboard showed "P-value 0.000010".
//
// The pooled two-proportion z-test gives z = 4.4261406069392848 and a
// two-sided p = 2·Φ(-z) = 9.5934004688590e-06, which the dashboard's six
// decimals show as 0.000010; a one-sided test would have shown 0.000005
// (4.7967002344295e-06). So the screenshot was a two-sided test on per-user
// 0/1 data. Reference values from R 4.2.2:
//
//	prop.test(c(66903, 64630), c(150702, 148266), correct = FALSE)
//	  X-squared = 19.590720672396884 (= z²), p = 9.5934004688590218e-06,
//	  95% CI of the difference [0.0044780489364537497, 0.011595176696935893]
//	alternative = "greater": p = 4.7967002344295083e-06, CI [0.0050501718660838687, 1]
//
// (prop.test's one-sided interval is clipped to the range of a difference of
// proportions; TwoProportionZTest leaves it open.) The relative lift and its
// delta-method interval are checked against R's symbolic deriv() gradient:
// 0.01843658418505445 ± 1.96·0.0042039918529054171.
func TestIMVUTwoProportion(t *testing.T) {
	control := Proportion{Successes: 64630, Trials: 148266}
	treatment := Proportion{Successes: 66903, Trials: 150702}
	r, err := TwoProportionZTest(control, treatment, Options{})
	if err != nil {
		t.Fatal(err)
	}
	checkRef(t, "z", r.Statistic, 4.4261406069392848)
	checkRef(t, "z² vs prop.test X-squared", r.Statistic*r.Statistic, 19.590720672396884)
	checkRef(t, "two-sided p", r.PValue, 9.5934004688590218e-06)
	checkInterval(t, "difference", r.CI, 0.0044780489364537497, 0.011595176696935893)
	checkRef(t, "treatment rate", r.TreatmentRate, 0.4439423498029223)
	checkRef(t, "control rate", r.ControlRate, 0.43590573698622748)
	if got := math.Round(r.PValue*1e6) / 1e6; got != 0.000010 {
		t.Errorf("p-value shows as %.6f, IMVU's screenshot shows 0.000010", got)
	}
	checkRef(t, "lift", r.Lift.Estimate, 0.01843658418505445)
	checkRef(t, "lift se", r.Lift.StdErr, 0.0042039918529054171)
	checkInterval(t, "lift", r.Lift.CI, 0.010196911562060026, 0.026676256808048873)

	g, err := TwoProportionZTest(control, treatment, Options{Alternative: Greater})
	if err != nil {
		t.Fatal(err)
	}
	checkRef(t, "one-sided p", g.PValue, 4.7967002344295083e-06)
	checkRef(t, "one-sided CI low", g.CI.Lo, 0.0050501718660838687)
	if got := math.Round(g.PValue*1e6) / 1e6; got != 0.000005 {
		t.Errorf("one-sided p-value shows as %.6f, want 0.000005", got)
	}
}

// R 4.2.2: prop.test(c(45, 30), c(500, 520), correct = FALSE,
// alternative = "less", conf.level = 0.9): X-squared = 3.9056410256410237,
// p = 0.97593786737654176, CI upper 0.053301133151429508 (first minus
// second, so the treatment is the first group).
func TestTwoProportionLess(t *testing.T) {
	r, err := TwoProportionZTest(Proportion{30, 520}, Proportion{45, 500}, Options{Alternative: Less, Confidence: 0.9})
	if err != nil {
		t.Fatal(err)
	}
	checkRef(t, "z²", r.Statistic*r.Statistic, 3.9056410256410237)
	checkRef(t, "p", r.PValue, 0.97593786737654176)
	checkRef(t, "CI high", r.CI.Hi, 0.053301133151429508)
	if !math.IsInf(r.CI.Lo, -1) {
		t.Errorf("one-sided CI low %v, want -Inf", r.CI.Lo)
	}
}

func TestTwoProportionErrors(t *testing.T) {
	if _, err := TwoProportionZTest(Proportion{0, 10}, Proportion{0, 12}, Options{}); !errors.Is(err, ErrNoData) {
		t.Errorf("no conversions: %v, want ErrNoData", err)
	}
	if _, err := TwoProportionZTest(Proportion{0, 0}, Proportion{1, 12}, Options{}); !errors.Is(err, ErrNoData) {
		t.Errorf("no trials: %v, want ErrNoData", err)
	}
	if _, err := TwoProportionZTest(Proportion{5, 4}, Proportion{1, 12}, Options{}); !errors.Is(err, ErrInvalid) {
		t.Errorf("more successes than trials: %v, want ErrInvalid", err)
	}
}
