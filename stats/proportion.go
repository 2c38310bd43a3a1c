package stats

import (
	"fmt"
	"math"
)

// Proportion is a count of successes (converted users) among trials
// (exposed users).
type Proportion struct {
	Successes, Trials int64
}

// Rate is Successes / Trials.
func (p Proportion) Rate() float64 { return float64(p.Successes) / float64(p.Trials) }

func (p Proportion) check(name string) error {
	if p.Trials <= 0 {
		return fmt.Errorf("%s has %d trials: %w", name, p.Trials, ErrNoData)
	}
	if p.Successes < 0 || p.Successes > p.Trials {
		return fmt.Errorf("%s has %d successes in %d trials: %w", name, p.Successes, p.Trials, ErrInvalid)
	}
	return nil
}

// TwoProportionResult is the outcome of [TwoProportionZTest].
type TwoProportionResult struct {
	// Result's Statistic is z, Estimate the difference of rates
	// (treatment - control) and CI its unpooled (Wald) interval.
	Result
	// ControlRate and TreatmentRate are the observed rates.
	ControlRate, TreatmentRate float64
	// StdErr is the unpooled standard error of the difference, the one
	// the interval uses.
	StdErr float64
	// Lift is the relative difference treatment/control - 1 with its
	// delta-method interval; NaN when the control rate is zero.
	Lift Lift
}

// TwoProportionZTest compares two conversion rates, as GrowthBook and
// IMVU's dashboard did: the test uses the pooled standard error,
//
//	z = (p_t - p_c) / sqrt(p(1-p)(1/n_c + 1/n_t)),  p = (x_c+x_t)/(n_c+n_t),
//
// whose square is the statistic of R's prop.test(correct = FALSE); the
// interval for the difference uses the unpooled (Wald) standard error
// sqrt(p_c(1-p_c)/n_c + p_t(1-p_t)/n_t), as prop.test's does. The test
// is on per-user 0/1 data; for a metric with several events per user use
// [WelchTTest].
//
// When neither or both samples convert at all (pooled rate 0 or 1) there
// is no variance to test with and the error wraps [ErrNoData].
func TwoProportionZTest(control, treatment Proportion, opt Options) (TwoProportionResult, error) {
	opt, err := opt.resolve(0.95)
	if err != nil {
		return TwoProportionResult{}, fmt.Errorf("two-proportion z-test: %w", err)
	}
	if err := control.check("control"); err != nil {
		return TwoProportionResult{}, fmt.Errorf("two-proportion z-test: %w", err)
	}
	if err := treatment.check("treatment"); err != nil {
		return TwoProportionResult{}, fmt.Errorf("two-proportion z-test: %w", err)
	}
	nc, nt := float64(control.Trials), float64(treatment.Trials)
	pc, pt := control.Rate(), treatment.Rate()
	pool := float64(control.Successes+treatment.Successes) / (nc + nt)
	if pool == 0 || pool == 1 {
		return TwoProportionResult{}, fmt.Errorf("two-proportion z-test: pooled rate %v: %w", pool, ErrNoData)
	}
	z := (pt - pc) / math.Sqrt(pool*(1-pool)*(1/nc+1/nt))
	vc, vt := pc*(1-pc)/nc, pt*(1-pt)/nt
	se := math.Sqrt(vc + vt)
	q := criticalZ(opt.Confidence, opt.Alternative)
	return TwoProportionResult{
		Result: Result{
			Method:      "two-proportion z-test",
			Alternative: opt.Alternative,
			Statistic:   z,
			PValue:      normalPValue(z, opt.Alternative),
			Estimate:    pt - pc,
			CI:          symmetricInterval(pt-pc, q, se, opt.Alternative),
			Confidence:  opt.Confidence,
		},
		ControlRate:   pc,
		TreatmentRate: pt,
		StdErr:        se,
		Lift:          deltaLift(pc, vc, pt, vt, q, opt.Alternative),
	}, nil
}
