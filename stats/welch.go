package stats

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/stat/distuv"
)

// Summary holds the sufficient statistics of a sample for tests on its
// mean: the count, the sum and the sum of squares. Per-user totals of an
// experiment metric reduce to one Summary per branch, so results never need
// the raw values.
//
// The variance is computed as (SumSquares - Sum²/N)/(N-1), which loses
// precision when the mean is large against the spread (beyond about 1e7
// times); integer metrics such as cents or counts stay exact in float64 up
// to 2^53.
type Summary struct {
	N          int64
	Sum        float64
	SumSquares float64
}

// SummaryOf summarises a sample.
func SummaryOf(xs []float64) Summary {
	var s Summary
	for _, x := range xs {
		s.Add(x)
	}
	return s
}

// Add records one observation.
func (s *Summary) Add(x float64) {
	s.N++
	s.Sum += x
	s.SumSquares += x * x
}

// Mean is Sum / N.
func (s Summary) Mean() float64 { return s.Sum / float64(s.N) }

// Variance is the unbiased sample variance; NaN for fewer than two
// observations. Rounding below zero is clamped to zero.
func (s Summary) Variance() float64 {
	if s.N < 2 {
		return math.NaN()
	}
	n := float64(s.N)
	return max(0, (s.SumSquares-s.Sum*s.Sum/n)/(n-1))
}

// WelchResult is the outcome of [WelchTTest].
type WelchResult struct {
	// Result's Statistic is t, Estimate the difference of means
	// (treatment - control) and CI its interval from Student's t with DF
	// degrees of freedom.
	Result
	// DF is the Welch-Satterthwaite degrees of freedom.
	DF float64
	// StdErr is the standard error of the difference.
	StdErr float64
	// ControlMean and TreatmentMean are the sample means.
	ControlMean, TreatmentMean float64
	// Lift is the relative difference treatment/control - 1 with its
	// delta-method interval (t quantile on DF degrees of freedom); NaN when
	// the control mean is zero.
	Lift Lift
}

// WelchTTest is Welch's unequal-variances t-test on the means of two
// samples given by their sufficient statistics, as R's t.test(treatment,
// control) computes it with var.equal = FALSE:
//
//	t  = (m_t - m_c) / se,  se² = s_c²/n_c + s_t²/n_t,
//	df = se⁴ / ((s_c²/n_c)²/(n_c-1) + (s_t²/n_t)²/(n_t-1))   (Satterthwaite).
//
// Each sample needs two observations, and the two together some variance;
// otherwise the error wraps [ErrNoData].
func WelchTTest(control, treatment Summary, opt Options) (WelchResult, error) {
	opt, err := opt.resolve(0.95)
	if err != nil {
		return WelchResult{}, fmt.Errorf("welch t-test: %w", err)
	}
	if control.N < 2 || treatment.N < 2 {
		return WelchResult{}, fmt.Errorf("welch t-test: %d control and %d treatment observations, need 2 each: %w",
			control.N, treatment.N, ErrNoData)
	}
	nc, nt := float64(control.N), float64(treatment.N)
	mc, mt := control.Mean(), treatment.Mean()
	vc, vt := control.Variance()/nc, treatment.Variance()/nt
	se2 := vc + vt
	if se2 == 0 || math.IsNaN(se2) || math.IsInf(se2, 0) {
		return WelchResult{}, fmt.Errorf("welch t-test: standard error %v: %w", math.Sqrt(se2), ErrNoData)
	}
	se := math.Sqrt(se2)
	df := se2 * se2 / (vc*vc/(nc-1) + vt*vt/(nt-1))
	t := (mt - mc) / se
	dist := distuv.StudentsT{Mu: 0, Sigma: 1, Nu: df}
	var p float64
	switch opt.Alternative {
	case Greater:
		p = dist.Survival(t)
	case Less:
		p = dist.CDF(t)
	default:
		p = math.Min(1, 2*dist.Survival(math.Abs(t)))
	}
	var q float64
	if opt.Alternative == TwoSided {
		q = dist.Quantile(1 - (1-opt.Confidence)/2)
	} else {
		q = dist.Quantile(opt.Confidence)
	}
	return WelchResult{
		Result: Result{
			Method:      "Welch two-sample t-test",
			Alternative: opt.Alternative,
			Statistic:   t,
			PValue:      p,
			Estimate:    mt - mc,
			CI:          symmetricInterval(mt-mc, q, se, opt.Alternative),
			Confidence:  opt.Confidence,
		},
		DF:            df,
		StdErr:        se,
		ControlMean:   mc,
		TreatmentMean: mt,
		Lift:          deltaLift(mc, vc, mt, vt, q, opt.Alternative),
	}, nil
}
