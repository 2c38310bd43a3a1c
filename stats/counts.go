package stats

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/stat/distuv"
)

// Counts are events (errors, registrations, logins) counted on the canary
// and on the baseline over the same window, with the canary's share of the
// exposure that produced them: its fraction of hosts, or of requests.
//
// If the canary behaves like the baseline, each event lands on the canary
// with probability Share, so Canary given Canary+Baseline is
// Binomial(Canary+Baseline, Share). That one fact turns every count
// comparison of the guard into a binomial test, whatever the unknown rate.
type Counts struct {
	// Canary is the number of events on the canary.
	Canary int64
	// Baseline is the number of events on the baseline.
	Baseline int64
	// Share is the canary's share of the exposure, in (0, 1).
	Share float64
}

// Total is Canary + Baseline, the N of the binomial.
func (c Counts) Total() int64 { return c.Canary + c.Baseline }

func (c Counts) check() error {
	if c.Canary < 0 || c.Baseline < 0 {
		return fmt.Errorf("counts canary=%d baseline=%d: %w", c.Canary, c.Baseline, ErrInvalid)
	}
	if !(c.Share > 0 && c.Share < 1) {
		return fmt.Errorf("canary share %v outside (0, 1): %w", c.Share, ErrInvalid)
	}
	if c.Total() == 0 {
		return fmt.Errorf("no events on canary or baseline: %w", ErrNoData)
	}
	return nil
}

// CountShareResult is the outcome of a count-share test.
type CountShareResult struct {
	// Result's Estimate is the rate ratio: the canary's events per unit of
	// exposure over the baseline's, Canary·(1-Share) / (Baseline·Share).
	// It is +Inf when the baseline has no events, and CI is its interval.
	// Statistic is Canary for the exact test and the chi-squared statistic
	// for the score test.
	Result
	// ObservedShare is Canary / (Canary + Baseline).
	ObservedShare float64
	// ShareCI is the confidence interval for the canary's share of events;
	// CI is this interval mapped through the rate ratio.
	ShareCI Interval
	// Z is the signed score statistic (Canary - N·Share) / sqrt(N·Share·(1-Share)).
	Z float64
}

// CountShareTest is the exact binomial test of Canary given N = Canary +
// Baseline at probability Share (see [BinomialTest]). With
// Alternative [Greater] it asks whether the canary has more events than its
// share, which is what a guard watching errors wants.
//
// A canary with events where the baseline has none gets a small p-value
// once the events are unlikely under its share: 6 errors on a 5% canary and
// none on the baseline has p = 0.05^6 ≈ 1.6e-8. (Kayenta's rank test passes
// that case, because both samples of per-interval rates are mostly zeros.)
//
// The rate-ratio interval is the Clopper-Pearson interval for the share
// mapped through π ↦ π(1-f)/((1-π)f), which is how R's poisson.test builds
// its two-sample interval.
func CountShareTest(c Counts, opt Options) (CountShareResult, error) {
	if err := c.check(); err != nil {
		return CountShareResult{}, fmt.Errorf("count share test: %w", err)
	}
	r, err := BinomialTest(c.Canary, c.Total(), c.Share, opt)
	if err != nil {
		return CountShareResult{}, fmt.Errorf("count share test: %w", err)
	}
	res := CountShareResult{
		Result:        r,
		ObservedShare: r.Estimate,
		ShareCI:       r.CI,
		Z:             scoreZ(c),
	}
	res.Method = "exact binomial test of the canary's share of events"
	res.Estimate = rateRatio(r.Estimate, c.Share)
	res.CI = Interval{Lo: rateRatio(r.CI.Lo, c.Share), Hi: rateRatio(r.CI.Hi, c.Share)}
	return res, nil
}

// CountShareChiSquared is the large-count approximation of
// [CountShareTest]: Pearson's chi-squared goodness-of-fit test of (Canary,
// Baseline) against expected shares (Share, 1-Share), which for two cells is
// the score test X² = (A - N·f)² / (N·f·(1-f)) on one degree of freedom. It
// matches R's prop.test(A, N, p = f, correct = FALSE) and chisq.test(c(A, B),
// p = c(f, 1-f)).
//
// The two-sided p-value is P(χ²₁ > X²); the one-sided ones use the signed
// root Z. The share interval is Wilson's score interval (the one prop.test
// reports), mapped to a rate ratio as in [CountShareTest].
func CountShareChiSquared(c Counts, opt Options) (CountShareResult, error) {
	opt, err := opt.resolve(0.95)
	if err != nil {
		return CountShareResult{}, fmt.Errorf("count share chi-squared test: %w", err)
	}
	if err := c.check(); err != nil {
		return CountShareResult{}, fmt.Errorf("count share chi-squared test: %w", err)
	}
	z := scoreZ(c)
	x2 := z * z
	pv := normalPValue(z, opt.Alternative)
	if opt.Alternative == TwoSided {
		pv = distuv.ChiSquared{K: 1}.Survival(x2)
	}
	share := float64(c.Canary) / float64(c.Total())
	sci := wilson(c.Canary, c.Total(), opt.Confidence, opt.Alternative)
	return CountShareResult{
		Result: Result{
			Method:      "chi-squared test of the canary's share of events",
			Alternative: opt.Alternative,
			Statistic:   x2,
			PValue:      pv,
			Estimate:    rateRatio(share, c.Share),
			CI:          Interval{Lo: rateRatio(sci.Lo, c.Share), Hi: rateRatio(sci.Hi, c.Share)},
			Confidence:  opt.Confidence,
		},
		ObservedShare: share,
		ShareCI:       sci,
		Z:             z,
	}, nil
}

func scoreZ(c Counts) float64 {
	n := float64(c.Total())
	return (float64(c.Canary) - n*c.Share) / math.Sqrt(n*c.Share*(1-c.Share))
}

// rateRatio maps a share of events π to the ratio of per-exposure rates,
// (π/f) / ((1-π)/(1-f)).
func rateRatio(pi, f float64) float64 {
	if pi >= 1 {
		return math.Inf(1)
	}
	return pi * (1 - f) / ((1 - pi) * f)
}

// wilson is the Wilson score interval for k of n, without continuity
// correction, exactly as R's prop.test computes it for one sample.
func wilson(k, n int64, conf float64, alt Alternative) Interval {
	z := criticalZ(conf, alt)
	nf := float64(n)
	p := float64(k) / nf
	z22n := z * z / (2 * nf)
	half := z * math.Sqrt(p*(1-p)/nf+z22n/(2*nf))
	lo, hi := 0.0, 1.0
	if p > 0 {
		lo = math.Max(0, (p+z22n-half)/(1+2*z22n))
	}
	if p < 1 {
		hi = math.Min(1, (p+z22n+half)/(1+2*z22n))
	}
	switch alt {
	case Greater:
		hi = 1
	case Less:
		lo = 0
	}
	return Interval{Lo: lo, Hi: hi}
}

// DSquaredRuleConfidence is the confidence level of the slide's rule of
// thumb "significant when D² > N": the rule is the chi-squared test of a
// 50/50 split at X² > 4, so its level is P(χ²₁ <= 4) = erf(√2) ≈ 95.45%.
const DSquaredRuleConfidence = 0.9544997361036416

// RuleOfThumb is the slide's quick check for a 50/50 split: with counts A
// and B, N = A+B and D = (A-B)/2, the difference is significant when
// D² > N. Since the chi-squared statistic of a 50/50 split is
// (A - N/2)² / (N/4) = 4D²/N, the rule is that test at X² > 4, i.e. at
// [DSquaredRuleConfidence].
type RuleOfThumb struct {
	// N is A + B.
	N float64
	// D is half the difference, (A - B) / 2.
	D float64
	// ChiSquared is 4D²/N, the statistic that [CountShareChiSquared]
	// computes for Share = 1/2.
	ChiSquared float64
	// Significant reports D² > N.
	Significant bool
}

// DSquaredRule applies the rule of thumb to counts a and b (a 50/50 split).
// With no events nothing is significant and ChiSquared is NaN.
func DSquaredRule(a, b int64) RuleOfThumb {
	n := float64(a) + float64(b)
	d := (float64(a) - float64(b)) / 2
	return RuleOfThumb{N: n, D: d, ChiSquared: 4 * d * d / n, Significant: d*d > n}
}
