package stats

import (
	"fmt"
	"math"
)

// Lift is a relative difference, treatment/control - 1, with its interval.
type Lift struct {
	// Estimate is m_t/m_c - 1.
	Estimate float64
	// StdErr is its delta-method standard error.
	StdErr float64
	// CI is Estimate ± q·StdErr, one-sided like the test it comes with.
	CI Interval
}

// RelativeLift is the relative difference of two independent means,
// m_t/m_c - 1, with the delta-method standard error that GrowthBook and
// Eppo report:
//
//	Var(m_t/m_c) ≈ v_t/m_c² + m_t²·v_c/m_c⁴,
//
// where v_c and v_t are the variances of the means (s²/n, not s²). The
// interval is normal with the given confidence. A zero control mean has no
// lift and the error wraps [ErrNoData].
func RelativeLift(controlMean, controlVar, treatmentMean, treatmentVar float64, opt Options) (Lift, error) {
	opt, err := opt.resolve(0.95)
	if err != nil {
		return Lift{}, fmt.Errorf("relative lift: %w", err)
	}
	if controlMean == 0 {
		return Lift{}, fmt.Errorf("relative lift: control mean is zero: %w", ErrNoData)
	}
	if controlVar < 0 || treatmentVar < 0 {
		return Lift{}, fmt.Errorf("relative lift: variances %v, %v: %w", controlVar, treatmentVar, ErrInvalid)
	}
	q := criticalZ(opt.Confidence, opt.Alternative)
	return deltaLift(controlMean, controlVar, treatmentMean, treatmentVar, q, opt.Alternative), nil
}

func deltaLift(mc, vc, mt, vt, q float64, alt Alternative) Lift {
	if mc == 0 {
		nan := math.NaN()
		return Lift{Estimate: nan, StdErr: nan, CI: Interval{Lo: nan, Hi: nan}}
	}
	est := mt/mc - 1
	se := math.Sqrt(vt/(mc*mc) + mt*mt*vc/(mc*mc*mc*mc))
	return Lift{Estimate: est, StdErr: se, CI: symmetricInterval(est, q, se, alt)}
}
