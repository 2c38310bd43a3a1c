package stats

import (
	"errors"
	"math"
	"testing"
)

// The three worked examples of Wikipedia's "Welch's t-test" article. The
// article gives the rounded Welch results (example 1: t = -2.46, df = 25.0,
// p = 0.021; example 2: t = -1.57, df = 9.9, p = 0.149); the full values
// are R 4.2.2's t.test(A1, A2, var.equal = FALSE, alternative, conf.level).
// The test sees only the sufficient statistics (n, sum, sum of squares).
var (
	welchA1 = []float64{27.5, 21.0, 19.0, 23.6, 17.0, 17.9, 16.9, 20.1, 21.9, 22.6, 23.1, 19.6, 19.0, 21.7, 21.4}
	welchA2 = []float64{27.1, 22.0, 20.8, 23.4, 23.4, 23.5, 25.8, 22.0, 24.8, 20.2, 21.9, 22.1, 22.9, 20.5, 24.4}
	welchB1 = []float64{17.2, 20.9, 22.6, 18.1, 21.7, 21.4, 23.5, 24.2, 14.7, 21.8}
	welchB2 = []float64{21.5, 22.8, 21.0, 23.0, 21.6, 23.6, 22.5, 20.7, 23.4, 21.8, 20.7, 21.7, 21.5, 22.5, 23.6, 21.5, 22.5, 23.5, 21.5, 21.8}
	welchC1 = []float64{19.8, 20.4, 19.6, 17.8, 18.5, 18.9, 18.3, 18.9, 19.5, 22.0}
	welchC2 = []float64{28.2, 26.6, 20.1, 23.3, 25.2, 22.1, 17.7, 27.6, 20.6, 13.7, 23.2, 17.5, 20.6, 18.0, 23.9, 21.6, 24.3, 20.4, 23.9, 13.3}
)

func TestWelchMatchesWikipediaAndR(t *testing.T) {
	cases := []struct {
		name                    string
		treatment, control      []float64
		alt                     Alternative
		conf                    float64
		tstat, df, pv, lo, hi   float64
		roundT, roundDF, roundP float64 // Wikipedia's rounded values, 0 if none
	}{
		{"ex1", welchA1, welchA2, TwoSided, 0.95, -2.455356398286006, 24.988529290231416, 0.021378001462866985, -3.9840962671409286, -0.34923706619240674, -2.46, 25.0, 0.021},
		{"ex2", welchB1, welchB2, TwoSided, 0.95, -1.5654335235985073, 9.9047412486508311, 0.14884169660532745, -3.6984213253751661, 0.64842132537516195, -1.57, 9.9, 0.149},
		{"ex3", welchC1, welchC2, TwoSided, 0.95, -2.225512039969852, 24.524634944257347, 0.035484530830010325, -4.2764586501205546, -0.1635413498794433, 0, 0, 0},
		{"ex1 greater 0.9", welchA1, welchA2, Greater, 0.9, -2.455356398286006, 24.988529290231416, 0.98931099926856647, -3.3282562999034488, inf, 0, 0, 0},
		{"ex3 less 0.99", welchC1, welchC2, Less, 0.99, -2.225512039969852, 24.524634944257347, 0.017742265415005162, -inf, 0.2622202073560197, 0, 0, 0},
	}
	for _, c := range cases {
		r, err := WelchTTest(SummaryOf(c.control), SummaryOf(c.treatment), Options{Alternative: c.alt, Confidence: c.conf})
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		checkRef(t, c.name+" t", r.Statistic, c.tstat)
		checkRef(t, c.name+" df", r.DF, c.df)
		checkRef(t, c.name+" p", r.PValue, c.pv)
		checkInterval(t, c.name, r.CI, c.lo, c.hi)
		if c.roundT != 0 {
			round := func(v float64, digits int) float64 { s := math.Pow(10, float64(digits)); return math.Round(v*s) / s }
			if round(r.Statistic, 2) != c.roundT || round(r.DF, 1) != c.roundDF || round(r.PValue, 3) != c.roundP {
				t.Errorf("%s: t=%.2f df=%.1f p=%.3f, Wikipedia has %v %v %v", c.name, r.Statistic, r.DF, r.PValue, c.roundT, c.roundDF, c.roundP)
			}
		}
	}
}

// Student's sleep data (R's datasets::sleep, the example of ?t.test):
// t.test(extra ~ group) is group 1 minus group 2, so group 1 is the
// treatment here. R 4.2.2: t = -1.8608134674868531, df = 17.776473516178498,
// p = 0.079394140187358173, CI [-3.3654832307117104, 0.20548323071171018].
func TestWelchSleepData(t *testing.T) {
	g1 := []float64{0.7, -1.6, -0.2, -1.2, -0.1, 3.4, 3.7, 0.8, 0.0, 2.0}
	g2 := []float64{1.9, 0.8, 1.1, 0.1, -0.1, 4.4, 5.5, 1.6, 4.6, 3.4}
	r, err := WelchTTest(SummaryOf(g2), SummaryOf(g1), Options{})
	if err != nil {
		t.Fatal(err)
	}
	checkRef(t, "sleep t", r.Statistic, -1.8608134674868531)
	checkRef(t, "sleep df", r.DF, 17.776473516178498)
	checkRef(t, "sleep p", r.PValue, 0.079394140187358173)
	checkInterval(t, "sleep", r.CI, -3.3654832307117104, 0.20548323071171018)
}

func TestWelchErrors(t *testing.T) {
	one := SummaryOf([]float64{1})
	two := SummaryOf([]float64{1, 2})
	if _, err := WelchTTest(one, two, Options{}); !errors.Is(err, ErrNoData) {
		t.Errorf("n=1: %v, want ErrNoData", err)
	}
	flat := SummaryOf([]float64{3, 3, 3})
	if _, err := WelchTTest(flat, flat, Options{}); !errors.Is(err, ErrNoData) {
		t.Errorf("zero variance: %v, want ErrNoData", err)
	}
}

// Delta-method relative lift. Reference values from R 4.2.2 with the
// gradient of mt/mc - 1 taken by R's symbolic deriv(), an independent route
// to the same first-order variance: se² = g_c² v_c + g_t² v_t.
func TestRelativeLiftDeltaMethod(t *testing.T) {
	l, err := RelativeLift(12.5, 0.09, 13.1, 0.11, Options{Confidence: 0.9})
	if err != nil {
		t.Fatal(err)
	}
	checkRef(t, "lift", l.Estimate, 0.048000000000000043)
	checkRef(t, "lift se", l.StdErr, 0.036559856454860429)
	checkInterval(t, "lift 90%", l.CI, -0.012135612490602299, 0.10813561249060238)
	if _, err := RelativeLift(0, 1, 1, 1, Options{}); !errors.Is(err, ErrNoData) {
		t.Errorf("zero control mean: %v, want ErrNoData", err)
	}
}

func TestSummary(t *testing.T) {
	s := SummaryOf([]float64{2, 4, 4, 4, 5, 5, 7, 9})
	if s.N != 8 || s.Mean() != 5 || !near(s.Variance(), 32.0/7, 1e-15) {
		t.Errorf("summary %+v mean %v variance %v, want 8, 5, 32/7", s, s.Mean(), s.Variance())
	}
	if v := (Summary{N: 1, Sum: 3, SumSquares: 9}).Variance(); !math.IsNaN(v) {
		t.Errorf("variance of one observation %v, want NaN", v)
	}
}
