package stats

import (
	"math"
	"testing"
)

// Reference values from R 4.2.2, p.adjust(p, "holm") and p.adjust(p, "BH")
// on a vector with ties and a missing value (NA here is NaN).
func TestAdjustMatchesPAdjust(t *testing.T) {
	nan := math.NaN()
	p := []float64{0.01, 0.04, 0.03, 0.005, 0.2, 0.04, nan, 0.5, 0.0001}
	holm := []float64{0.06, 0.16, 0.15, 0.035, 0.4, 0.16, nan, 0.5, 0.0008}
	bh := []float64{0.026666666666666665, 0.05333333333333333, 0.05333333333333333, 0.02, 0.22857142857142856, 0.05333333333333333, nan, 0.5, 0.0008}
	for name, c := range map[string]struct{ got, want []float64 }{
		"holm":             {Holm(p), holm},
		"BH":               {BenjaminiHochberg(p), bh},
		"holm (all large)": {Holm([]float64{0.9, 0.8, 0.95}), []float64{1, 1, 1}},
		"BH (all large)":   {BenjaminiHochberg([]float64{0.9, 0.8, 0.95}), []float64{0.95, 0.95, 0.95}},
	} {
		if len(c.got) != len(c.want) {
			t.Fatalf("%s: %d values, want %d", name, len(c.got), len(c.want))
		}
		for i := range c.got {
			checkRef(t, name, c.got[i], c.want[i])
		}
	}
	if got := Holm(nil); len(got) != 0 {
		t.Errorf("Holm(nil) = %v", got)
	}
}
