package stats

import (
	"fmt"
	"math"
)

// Shift is the practical verdict on a difference once its size is weighed,
// not only its significance.
type Shift int

const (
	// ShiftNegligible means the difference is not significant, or is
	// smaller than the tolerance.
	ShiftNegligible Shift = iota
	// ShiftIncrease means the treatment is significantly and materially
	// larger.
	ShiftIncrease
	// ShiftDecrease means the treatment is significantly and materially
	// smaller.
	ShiftDecrease
)

// String returns "negligible", "increase" or "decrease".
func (s Shift) String() string {
	switch s {
	case ShiftNegligible:
		return "negligible"
	case ShiftIncrease:
		return "increase"
	case ShiftDecrease:
		return "decrease"
	}
	return fmt.Sprintf("Shift(%d)", int(s))
}

// GateShift weighs a result's effect against a relative tolerance, so that
// a shift that is significant but tiny (a 0.3% latency change over many
// samples) does not fail a release. It reports [ShiftIncrease] when the
// confidence interval lies above zero and the estimate exceeds
// tolerance·|reference|, [ShiftDecrease] symmetrically, and
// [ShiftNegligible] otherwise.
//
// The reference is the baseline's location on the same scale as the
// estimate: the control median for a Hodges-Lehmann shift, the control mean
// for a difference of means. This follows Kayenta's judge, which also asks
// for both an interval that excludes no change and an effect beyond an
// allowed fraction. With a zero reference (a baseline that has no errors)
// any significant increase counts.
func GateShift(r Result, reference, tolerance float64) Shift {
	band := tolerance * math.Abs(reference)
	switch {
	case r.CI.Lo > 0 && r.Estimate > band:
		return ShiftIncrease
	case r.CI.Hi < 0 && r.Estimate < -band:
		return ShiftDecrease
	}
	return ShiftNegligible
}

// Gate is [GateShift] with the control median as the reference.
func (r MannWhitneyResult) Gate(tolerance float64) Shift {
	return GateShift(r.Result, r.ControlMedian, tolerance)
}
