package stats

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/stat/distuv"
)

// SRMThreshold is the p-value below which GrowthBook and Eppo flag a
// sample-ratio mismatch. It is strict because an SRM check runs on every
// look at every experiment and a real mismatch is usually blatant.
const SRMThreshold = 0.001

// SRMResult is the outcome of [SampleRatioMismatch].
type SRMResult struct {
	// Method is "chi-squared goodness-of-fit test".
	Method string
	// ChiSquared is Pearson's statistic Σ (o-e)²/e.
	ChiSquared float64
	// DF is the number of groups minus one.
	DF int
	// PValue is P(χ²_DF > ChiSquared).
	PValue float64
	// Expected are the counts the weights predict, in the order given.
	Expected []float64
	// Observed shares of the total, in the order given.
	ObservedShares []float64
}

// Mismatch reports whether the p-value is below [SRMThreshold].
func (r SRMResult) Mismatch() bool { return r.PValue < SRMThreshold }

// SampleRatioMismatch tests whether observed counts (users per branch,
// events on canary and baseline) fit the configured weights: Pearson's
// chi-squared goodness-of-fit test with expected counts N·w_i/Σw on
// len(observed)-1 degrees of freedom, as R's chisq.test(observed, p =
// weights, rescale.p = TRUE). A mismatch means the assignment or the
// logging is broken and no comparison of the groups can be trusted.
//
// Weights need not sum to one; each must be positive.
func SampleRatioMismatch(observed []int64, weights []float64) (SRMResult, error) {
	if len(observed) != len(weights) {
		return SRMResult{}, fmt.Errorf("sample ratio mismatch: %d counts for %d weights: %w", len(observed), len(weights), ErrInvalid)
	}
	if len(observed) < 2 {
		return SRMResult{}, fmt.Errorf("sample ratio mismatch: %d groups, need 2: %w", len(observed), ErrInvalid)
	}
	var total, wsum float64
	for i, o := range observed {
		w := weights[i]
		if o < 0 || !(w > 0) || math.IsInf(w, 0) {
			return SRMResult{}, fmt.Errorf("sample ratio mismatch: group %d count %d weight %v: %w", i, o, w, ErrInvalid)
		}
		total += float64(o)
		wsum += w
	}
	if total == 0 {
		return SRMResult{}, fmt.Errorf("sample ratio mismatch: no observations: %w", ErrNoData)
	}
	r := SRMResult{
		Method:         "chi-squared goodness-of-fit test",
		DF:             len(observed) - 1,
		Expected:       make([]float64, len(observed)),
		ObservedShares: make([]float64, len(observed)),
	}
	for i, o := range observed {
		e := total * weights[i] / wsum
		d := float64(o) - e
		r.Expected[i] = e
		r.ObservedShares[i] = float64(o) / total
		r.ChiSquared += d * d / e
	}
	r.PValue = distuv.ChiSquared{K: float64(r.DF)}.Survival(r.ChiSquared)
	return r, nil
}
