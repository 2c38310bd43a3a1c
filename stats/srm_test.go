package stats

import (
	"errors"
	"math"
	"testing"
)

// Reference values from R 4.2.2, chisq.test(x, p = w, rescale.p = TRUE).
func TestSampleRatioMismatchMatchesChisqTest(t *testing.T) {
	cases := []struct {
		name     string
		observed []int64
		weights  []float64
		x2, pv   float64
		mismatch bool
	}{
		{"50/50", []int64{5050, 4950}, []float64{0.5, 0.5}, 1, 0.31731050786291415, false},
		{"three equal", []int64{3421, 3350, 3229}, []float64{1, 1, 1}, 5.6546000000000012, 0.059172403669929353, false},
		{"2:1:1", []int64{5120, 2400, 2480}, []float64{2, 1, 1}, 7.04, 0.029599435167891999, false},
		// IMVU's own screenshot has 148266 control and 150702 treatment
		// users: under a 50/50 split that is itself a mismatch.
		{"IMVU users", []int64{148266, 150702}, []float64{1, 1}, 19.848599181183271, 8.3824137256810917e-06, true},
	}
	for _, c := range cases {
		r, err := SampleRatioMismatch(c.observed, c.weights)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		checkRef(t, c.name+" X-squared", r.ChiSquared, c.x2)
		checkRef(t, c.name+" p", r.PValue, c.pv)
		if r.Mismatch() != c.mismatch {
			t.Errorf("%s: mismatch %v, want %v", c.name, r.Mismatch(), c.mismatch)
		}
		if r.DF != len(c.observed)-1 {
			t.Errorf("%s: df %d", c.name, r.DF)
		}
	}
	r, _ := SampleRatioMismatch([]int64{5120, 2400, 2480}, []float64{2, 1, 1})
	if r.Expected[0] != 5000 || r.Expected[1] != 2500 || math.Abs(r.ObservedShares[0]-0.512) > 1e-15 {
		t.Errorf("expected %v shares %v", r.Expected, r.ObservedShares)
	}
}

func TestSampleRatioMismatchErrors(t *testing.T) {
	if _, err := SampleRatioMismatch([]int64{0, 0}, []float64{1, 1}); !errors.Is(err, ErrNoData) {
		t.Errorf("no users: %v, want ErrNoData", err)
	}
	for _, c := range []struct {
		o []int64
		w []float64
	}{{[]int64{1}, []float64{1}}, {[]int64{1, 2}, []float64{1}}, {[]int64{1, 2}, []float64{1, 0}}, {[]int64{-1, 2}, []float64{1, 1}}} {
		if _, err := SampleRatioMismatch(c.o, c.w); !errors.Is(err, ErrInvalid) {
			t.Errorf("%v %v: %v, want ErrInvalid", c.o, c.w, err)
		}
	}
}
