package stats

import (
	"math"
	"testing"
)

// Reference values quoted from R in these tests were printed by
// testdata/reference.R (R 4.2.2); each test names the call it quotes.

// refTol is the agreement the issue asks for between a computed value and
// its reference: 1e-6, relative for values away from zero (so that tiny
// p-values are checked in their significant digits, not only against 0).
const refTol = 1e-6

func near(got, want, tol float64) bool {
	if math.IsInf(want, 0) || math.IsNaN(want) {
		return got == want || (math.IsNaN(got) && math.IsNaN(want))
	}
	return math.Abs(got-want) <= tol*math.Max(1e-6, math.Abs(want))
}

// checkRef fails the test when got is not want to refTol.
func checkRef(t *testing.T, what string, got, want float64) {
	t.Helper()
	if !near(got, want, refTol) {
		t.Errorf("%s = %.17g, want %.17g (diff %.3g)", what, got, want, got-want)
	}
}

func checkInterval(t *testing.T, what string, got Interval, lo, hi float64) {
	t.Helper()
	checkRef(t, what+" CI low", got.Lo, lo)
	checkRef(t, what+" CI high", got.Hi, hi)
}

var inf = math.Inf(1)
