package stats

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/mathext"
)

// DefaultConcentration is the default κ of the Beta(κf, κ(1-f)) mixing
// prior of [SequentialCountShare]. Its spread, sd = sqrt(f(1-f)/(κ+1)), is
// about 0.3·sqrt(f(1-f)): wide enough that a gross excess is caught within
// a few dozen events, narrow enough that a modest one is still found. With
// κ = 10 and one-sided polling after every event (R computations while
// choosing it): a canary with 5x the rate is caught after about 20-30
// events, 2x after about 70-230, 1.5x after about 200-900, the more events
// the smaller the canary's share; 6 canary errors against none on a 5%
// share give p = 1.1e-4 (3.5e-4 two-sided). Smaller κ favours large
// effects, larger κ small ones; κ above 50 slows the detection of 5x
// canaries noticeably.
const DefaultConcentration = 10

// SequentialCountOptions configure [SequentialCountShare]. The zero value
// is a two-sided test at 95% with [DefaultConcentration].
type SequentialCountOptions struct {
	// Alternative [Greater] asks only whether the canary has more than its
	// share (more errors): the prior is truncated to (f, 1), which gains
	// power in that direction, and the confidence sequence for the rate
	// ratio is a lower bound. [Less] is the mirror.
	Alternative Alternative
	// Confidence is 1 - alpha; zero means 0.95.
	Confidence float64
	// Concentration is κ > 0 of the mixing prior; zero means
	// [DefaultConcentration]. Larger values look for smaller departures
	// from the share and need more events to see large ones.
	Concentration float64
}

// SequentialCountResult is the outcome of [SequentialCountShare].
type SequentialCountResult struct {
	// Result's Statistic is the mixture likelihood ratio (Bayes factor)
	// against share f, PValue is min(1, 1/Statistic), Estimate the rate
	// ratio as in [CountShareResult], and CI its confidence sequence at
	// this look.
	Result
	// ObservedShare is Canary / (Canary + Baseline).
	ObservedShare float64
	// ShareCI is the confidence sequence for the canary's share of events.
	ShareCI Interval
}

// SequentialCountShare is the always-valid version of [CountShareTest], for
// a guard that polls the same canary again and again.
//
// Events arrive one at a time and each lands on the canary with
// probability p; the null is p = f, the canary's share of exposure. Mixing
// the likelihood ratio of p against f over a prior p ~ Beta(a, b) with
// a = κf, b = κ(1-f) gives, after A canary and B baseline events,
//
//	Λ = B(a+A, b+B) / B(a, b) / (f^A (1-f)^B),
//
// a nonnegative martingale under p = f (Robbins 1970; the beta-binomial
// mixture of Howard et al. 2021). By Ville's inequality
// P(Λ ever reaches 1/α) <= α, so p = min(1, 1/Λ) can be read at every poll.
// For [Greater] the prior is truncated to (f, 1), multiplying Λ by
// I_{1-f}(b+B, a+A) / I_{1-f}(b, a) (regularized incomplete betas); then Λ
// is a supermartingale for every p <= f, so the test covers "canary no
// worse than its share". [Less] is the mirror.
//
// The confidence sequence is the set of shares p₀ that the same mixture
// does not reject, {p₀ : M(A, B) < p₀^A (1-p₀)^B / α}, an interval because
// the right side is log-concave in p₀; it is mapped to a rate ratio as in
// [CountShareTest]. The counts must be cumulative over the deploy and the
// share fixed, since the guarantee is over the one growing sequence of
// events.
func SequentialCountShare(c Counts, opt SequentialCountOptions) (SequentialCountResult, error) {
	if !opt.Alternative.valid() {
		return SequentialCountResult{}, fmt.Errorf("sequential count share: alternative %d: %w", int(opt.Alternative), ErrInvalid)
	}
	if opt.Confidence == 0 {
		opt.Confidence = 0.95
	}
	if !(opt.Confidence > 0 && opt.Confidence < 1) {
		return SequentialCountResult{}, fmt.Errorf("sequential count share: confidence %v outside (0, 1): %w", opt.Confidence, ErrInvalid)
	}
	if opt.Concentration == 0 {
		opt.Concentration = DefaultConcentration
	}
	if !(opt.Concentration > 0) || math.IsInf(opt.Concentration, 0) {
		return SequentialCountResult{}, fmt.Errorf("sequential count share: concentration %v: %w", opt.Concentration, ErrInvalid)
	}
	if err := c.check(); err != nil {
		return SequentialCountResult{}, fmt.Errorf("sequential count share: %w", err)
	}
	f := c.Share
	a, b := opt.Concentration*f, opt.Concentration*(1-f)
	A, B := float64(c.Canary), float64(c.Baseline)
	logM := mathext.Lbeta(a+A, b+B) - mathext.Lbeta(a, b)
	switch opt.Alternative {
	case Greater:
		logM += math.Log(mathext.RegIncBeta(b+B, a+A, 1-f)) - math.Log(mathext.RegIncBeta(b, a, 1-f))
	case Less:
		logM += math.Log(mathext.RegIncBeta(a+A, b+B, f)) - math.Log(mathext.RegIncBeta(a, b, f))
	}
	logLR := logM - binomLogLik(A, B, f)
	alpha := 1 - opt.Confidence
	share := A / (A + B)
	sci := mixtureShareCS(A, B, logM, alpha)
	switch opt.Alternative {
	case Greater:
		sci.Hi = 1
	case Less:
		sci.Lo = 0
	}
	method := "sequential beta-binomial mixture test of the canary's share of events"
	if opt.Alternative != TwoSided {
		method = "sequential one-sided (truncated) beta-binomial mixture test of the canary's share of events"
	}
	return SequentialCountResult{
		Result: Result{
			Method:      method,
			Alternative: opt.Alternative,
			Statistic:   math.Exp(logLR),
			PValue:      math.Min(1, math.Exp(-logLR)),
			Estimate:    rateRatio(share, f),
			CI:          Interval{Lo: rateRatio(sci.Lo, f), Hi: rateRatio(sci.Hi, f)},
			Confidence:  opt.Confidence,
		},
		ObservedShare: share,
		ShareCI:       sci,
	}, nil
}

// binomLogLik is A log p + B log(1-p), with 0·log 0 = 0.
func binomLogLik(A, B, p float64) float64 {
	var l float64
	if A > 0 {
		l += A * math.Log(p)
	}
	if B > 0 {
		l += B * math.Log1p(-p)
	}
	return l
}

// csTol is the relative precision to which the ends of the share's
// confidence sequence are found; the end reported is always inside.
const csTol = 1e-13

// mixtureShareCS finds {p : logM - binomLogLik(A, B, p) < log(1/α)} by
// bisection on each side of the maximum-likelihood share, where the
// log-likelihood is monotone.
func mixtureShareCS(A, B, logM, alpha float64) Interval {
	thr := logM + math.Log(alpha) // inside when binomLogLik > thr
	inside := func(p float64) bool { return binomLogLik(A, B, p) > thr }
	phat := A / (A + B)
	iv := Interval{Lo: 0, Hi: 1}
	if A > 0 && !inside(0) {
		lo, hi := 0.0, phat // lo outside, hi inside
		for hi-lo > csTol*hi {
			if mid := lo + (hi-lo)/2; inside(mid) {
				hi = mid
			} else {
				lo = mid
			}
		}
		iv.Lo = hi
	}
	if B > 0 && !inside(1) {
		lo, hi := phat, 1.0 // lo inside, hi outside
		for hi-lo > csTol*lo {
			if mid := lo + (hi-lo)/2; inside(mid) {
				lo = mid
			} else {
				hi = mid
			}
		}
		iv.Hi = lo
	}
	return iv
}
