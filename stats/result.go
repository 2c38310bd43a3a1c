package stats

import (
	"errors"
	"fmt"
	"math"

	"gonum.org/v1/gonum/stat/distuv"
)

// ErrInvalid marks an argument outside the domain of a test: a share outside
// (0, 1), a negative count, a confidence outside (0, 1), a non-finite sample.
var ErrInvalid = errors.New("stats: invalid argument")

// ErrNoData marks inputs that carry too little information for the test: no
// events, too few observations, or no variance. A caller judging a metric
// must read it as "inconclusive", never as "pass".
var ErrNoData = errors.New("stats: not enough data")

// Alternative is the alternative hypothesis of a test.
type Alternative int

const (
	// TwoSided tests for a difference in either direction.
	TwoSided Alternative = iota
	// Greater tests whether the treatment (canary) is larger than the control
	// (baseline), or a proportion larger than its hypothesised value.
	Greater
	// Less tests whether the treatment (canary) is smaller.
	Less
)

// String returns the R spelling of the alternative ("two.sided", "greater",
// "less"), which is also how reference values in the tests were produced.
func (a Alternative) String() string {
	switch a {
	case TwoSided:
		return "two.sided"
	case Greater:
		return "greater"
	case Less:
		return "less"
	}
	return fmt.Sprintf("Alternative(%d)", int(a))
}

func (a Alternative) valid() bool { return a == TwoSided || a == Greater || a == Less }

// Interval is a closed confidence interval [Lo, Hi]. One-sided intervals
// have an infinite end.
type Interval struct {
	Lo, Hi float64
}

// Contains reports whether v lies in the interval.
func (iv Interval) Contains(v float64) bool { return iv.Lo <= v && v <= iv.Hi }

// Result is what every test reports.
type Result struct {
	// Method names the test as a person would ("Welch two-sample t-test").
	Method string
	// Alternative is the alternative hypothesis the p-value is for.
	Alternative Alternative
	// Statistic is the test statistic: z, t, chi-squared, U, a count or a
	// likelihood ratio, as Method says.
	Statistic float64
	// PValue is the p-value of the test against the alternative.
	PValue float64
	// Estimate is the effect size that CI brackets: a difference, shift,
	// ratio or proportion, as documented by each function.
	Estimate float64
	// CI is the confidence interval (or, for sequential methods, the
	// confidence sequence at this look) for Estimate's parameter.
	CI Interval
	// Confidence is the coverage of CI, e.g. 0.95.
	Confidence float64
}

// Options are the settings shared by most tests. The zero value is a
// two-sided test with 95% confidence intervals.
type Options struct {
	// Alternative selects the alternative hypothesis; it also makes the
	// confidence interval one-sided.
	Alternative Alternative
	// Confidence is the coverage of the confidence interval, in (0, 1).
	// Zero means 0.95.
	Confidence float64
}

// resolve validates o and fills its defaults.
func (o Options) resolve(def float64) (Options, error) {
	if !o.Alternative.valid() {
		return o, fmt.Errorf("alternative %d: %w", int(o.Alternative), ErrInvalid)
	}
	if o.Confidence == 0 {
		o.Confidence = def
	}
	if !(o.Confidence > 0 && o.Confidence < 1) {
		return o, fmt.Errorf("confidence %v outside (0, 1): %w", o.Confidence, ErrInvalid)
	}
	return o, nil
}

var stdNormal = distuv.Normal{Mu: 0, Sigma: 1}

// normalUpper is P(Z >= z) computed through erfc, so that it keeps its
// relative precision far in the tail (distuv.Normal.Survival computes
// 1 - erf and loses it).
func normalUpper(z float64) float64 { return stdNormal.CDF(-z) }

// normalPValue is the p-value of a statistic z that is standard normal
// under the null.
func normalPValue(z float64, alt Alternative) float64 {
	switch alt {
	case Greater:
		return normalUpper(z)
	case Less:
		return stdNormal.CDF(z)
	}
	return math.Min(1, 2*normalUpper(math.Abs(z)))
}

// criticalZ is the quantile of the standard normal that bounds a confidence
// interval with the given coverage: z_{1-(1-c)/2} for two-sided intervals,
// z_c for one-sided ones.
func criticalZ(conf float64, alt Alternative) float64 {
	if alt == TwoSided {
		return stdNormal.Quantile(1 - (1-conf)/2)
	}
	return stdNormal.Quantile(conf)
}

// symmetricInterval returns est ± q·se, opened to infinity on the side that
// a one-sided alternative does not bound.
func symmetricInterval(est, q, se float64, alt Alternative) Interval {
	iv := Interval{Lo: est - q*se, Hi: est + q*se}
	switch alt {
	case Greater:
		iv.Hi = math.Inf(1)
	case Less:
		iv.Lo = math.Inf(-1)
	}
	return iv
}
