package stats

import (
	"fmt"
	"math"
)

// SequentialResult is an always-valid answer at one look.
type SequentialResult struct {
	// Result's Statistic is the mixture likelihood ratio Λ against the
	// null (possibly +Inf), PValue is min(1, 1/Λ), Estimate the difference
	// (treatment - control) and CI the confidence sequence at this look.
	// PValue and CI hold simultaneously over all looks; a caller that wants
	// them monotone may keep the running minimum of PValue and the running
	// intersection of CI, which stay valid.
	Result
	// StdErr is the standard error of Estimate at this look.
	StdErr float64
	// MixingVariance is the τ² that was used.
	MixingVariance float64
	// Lift is the relative difference treatment/control - 1 with its
	// confidence sequence from the delta-method variance (tuned the same
	// way); NaN when the control mean is zero or when the result comes
	// from [NormalMixture].
	Lift Lift
}

// NormalMixture is the always-valid (sequential) test of θ = null for an
// estimate with the given variance, mixing over θ ~ N(null, mixingVariance),
// with its confidence sequence. It is the core of [SequentialWelch] and
// [SequentialTwoProportion], for callers that have their own estimate and
// variance. The result is two-sided.
//
// An estimate θ̂ with variance V is, approximately, N(θ, V). Mixing the
// likelihood ratio of N(θ, V) against N(θ₀, V) over θ ~ N(θ₀, τ²) gives
//
//	Λ = sqrt(V/(V+τ²)) · exp(τ²(θ̂-θ₀)² / (2V(V+τ²))),
//
// the mixture sequential probability ratio test (mSPRT) statistic of
// Johari, Koomen, Pekelis and Walsh, "Peeking at A/B tests" (KDD 2017),
// with V = 2σ²/n for equal groups. Under θ = θ₀ it is a nonnegative
// martingale in the data (asymptotically, when V is estimated), so by
// Ville's inequality
// P(Λ ever reaches 1/α) <= α: p = min(1, 1/Λ) is an always-valid p-value.
// The θ₀ that it does not reject form a confidence sequence,
//
//	θ̂ ± sqrt( 2V(V+τ²)/τ² · log( sqrt((V+τ²)/V) / α ) ),
//
// the normal-mixture boundary of Howard, Ramdas, McAuliffe and Sekhon,
// "Time-uniform, nonparametric, nonasymptotic confidence sequences" (Ann.
// Statist. 2021), and, with V = σ²/n and τ² = σ²ρ², exactly the asymptotic
// confidence sequence of Waudby-Smith et al., "Time-uniform central limit
// theory and asymptotic confidence sequences" (2021), that
// GrowthBook and Eppo use:
//
//	θ̂ ± σ sqrt( 2(nρ²+1)/(n²ρ²) · log( sqrt(nρ²+1)/α ) ).
//
// The mixing variance τ² tunes where the sequence is tightest; see
// [OptimalMixingVariance].
func NormalMixture(estimate, variance, null, mixingVariance, confidence float64) (SequentialResult, error) {
	if confidence == 0 {
		confidence = 0.95
	}
	if !(confidence > 0 && confidence < 1) {
		return SequentialResult{}, fmt.Errorf("normal mixture: confidence %v outside (0, 1): %w", confidence, ErrInvalid)
	}
	if !(mixingVariance > 0) || math.IsInf(mixingVariance, 0) {
		return SequentialResult{}, fmt.Errorf("normal mixture: mixing variance %v: %w", mixingVariance, ErrInvalid)
	}
	if math.IsNaN(estimate) || math.IsNaN(variance) || math.IsInf(variance, 0) || variance < 0 {
		return SequentialResult{}, fmt.Errorf("normal mixture: estimate %v variance %v: %w", estimate, variance, ErrInvalid)
	}
	if variance == 0 {
		return SequentialResult{}, fmt.Errorf("normal mixture: zero variance: %w", ErrNoData)
	}
	alpha := 1 - confidence
	logLR := mixtureLogLR(estimate-null, variance, mixingVariance)
	half := mixtureHalfWidth(variance, mixingVariance, alpha)
	nan := math.NaN()
	return SequentialResult{
		Result: Result{
			Method:      "normal-mixture sequential test (mSPRT)",
			Alternative: TwoSided,
			Statistic:   math.Exp(logLR),
			PValue:      math.Min(1, math.Exp(-logLR)),
			Estimate:    estimate,
			CI:          Interval{Lo: estimate - half, Hi: estimate + half},
			Confidence:  confidence,
		},
		StdErr:         math.Sqrt(variance),
		MixingVariance: mixingVariance,
		Lift:           Lift{Estimate: nan, StdErr: nan, CI: Interval{Lo: nan, Hi: nan}},
	}, nil
}

// mixtureLogLR is log Λ for a deviation d = θ̂ - θ₀.
func mixtureLogLR(d, v, tau2 float64) float64 {
	return 0.5*math.Log(v/(v+tau2)) + tau2*d*d/(2*v*(v+tau2))
}

// mixtureHalfWidth is the radius of the confidence sequence.
func mixtureHalfWidth(v, tau2, alpha float64) float64 {
	return math.Sqrt(2 * v * (v + tau2) / tau2 * (0.5*math.Log((v+tau2)/v) - math.Log(alpha)))
}

// OptimalMixingVariance returns the τ² for which the confidence sequence is
// (approximately) narrowest at the look where the estimate's variance is
// varianceAtTarget: τ² = V*·(−2 log α + log(1 − 2 log α)), from
// Waudby-Smith et al. (2021). The exact minimiser solves
// r = −2 log α + log(1 + r) for r = τ²/V*; the closed form substitutes the
// first term into the logarithm, as GrowthBook does.
func OptimalMixingVariance(varianceAtTarget, alpha float64) float64 {
	l := -2 * math.Log(alpha)
	return varianceAtTarget * (l + math.Log(1+l))
}

// DefaultTuningSampleSize is the total sample size (both groups) at which
// the sequential tests are tuned to be tightest when no other is given;
// it is GrowthBook's default.
const DefaultTuningSampleSize = 5000

// SequentialOptions configure [SequentialWelch] and
// [SequentialTwoProportion].
type SequentialOptions struct {
	// Confidence is the coverage of the confidence sequence; zero means
	// 0.95. The p-value is two-sided at alpha = 1 - Confidence.
	Confidence float64
	// TuningSampleSize is the total number of observations in both groups
	// at which the confidence sequence should be narrowest, typically the
	// planned size. Zero means [DefaultTuningSampleSize]. The sequence is
	// valid whatever the value; a poor choice only widens it.
	TuningSampleSize float64
}

func (o SequentialOptions) resolve() (SequentialOptions, error) {
	if o.Confidence == 0 {
		o.Confidence = 0.95
	}
	if !(o.Confidence > 0 && o.Confidence < 1) {
		return o, fmt.Errorf("confidence %v outside (0, 1): %w", o.Confidence, ErrInvalid)
	}
	if o.TuningSampleSize == 0 {
		o.TuningSampleSize = DefaultTuningSampleSize
	}
	if !(o.TuningSampleSize > 0) || math.IsInf(o.TuningSampleSize, 0) {
		return o, fmt.Errorf("tuning sample size %v: %w", o.TuningSampleSize, ErrInvalid)
	}
	return o, nil
}

// sequentialDiff runs the normal mixture on a difference of two means
// whose variances (of the means) are vc and vt after n observations in all.
// τ² scales the current variance to the tuning size, V·n/N*, which holds
// the per-observation variance fixed as Waudby-Smith's ρ does.
func sequentialDiff(method string, mc, vc, mt, vt, n float64, opt SequentialOptions) (SequentialResult, error) {
	alpha := 1 - opt.Confidence
	v := vc + vt
	if !(v > 0) {
		return SequentialResult{}, fmt.Errorf("variance of the difference %v: %w", v, ErrNoData)
	}
	tau2 := OptimalMixingVariance(v*n/opt.TuningSampleSize, alpha)
	r, err := NormalMixture(mt-mc, v, 0, tau2, opt.Confidence)
	if err != nil {
		return SequentialResult{}, err
	}
	r.Method = method
	if mc != 0 {
		l := deltaLift(mc, vc, mt, vt, 0, TwoSided)
		lt := OptimalMixingVariance(l.StdErr*l.StdErr*n/opt.TuningSampleSize, alpha)
		half := mixtureHalfWidth(l.StdErr*l.StdErr, lt, alpha)
		l.CI = Interval{Lo: l.Estimate - half, Hi: l.Estimate + half}
		if l.StdErr == 0 {
			l.CI = Interval{Lo: l.Estimate, Hi: l.Estimate}
		}
		r.Lift = l
	}
	return r, nil
}

// SequentialWelch is the always-valid counterpart of [WelchTTest]: the
// normal mixture on the difference of means with the unpooled variance
// s_c²/n_c + s_t²/n_t, tuned by [SequentialOptions.TuningSampleSize]. It
// is asymptotic (the variance is estimated), so it wants tens of
// observations per group before its guarantee is close.
func SequentialWelch(control, treatment Summary, opt SequentialOptions) (SequentialResult, error) {
	opt, err := opt.resolve()
	if err != nil {
		return SequentialResult{}, fmt.Errorf("sequential welch: %w", err)
	}
	if control.N < 2 || treatment.N < 2 {
		return SequentialResult{}, fmt.Errorf("sequential welch: %d control and %d treatment observations, need 2 each: %w",
			control.N, treatment.N, ErrNoData)
	}
	nc, nt := float64(control.N), float64(treatment.N)
	r, err := sequentialDiff("sequential normal-mixture test of means (asymptotic confidence sequence)",
		control.Mean(), control.Variance()/nc, treatment.Mean(), treatment.Variance()/nt, nc+nt, opt)
	if err != nil {
		return SequentialResult{}, fmt.Errorf("sequential welch: %w", err)
	}
	return r, nil
}

// SequentialTwoProportion is the always-valid counterpart of
// [TwoProportionZTest]: the normal mixture on the difference of rates with
// the unpooled variance p_c(1-p_c)/n_c + p_t(1-p_t)/n_t.
func SequentialTwoProportion(control, treatment Proportion, opt SequentialOptions) (SequentialResult, error) {
	opt, err := opt.resolve()
	if err != nil {
		return SequentialResult{}, fmt.Errorf("sequential two-proportion: %w", err)
	}
	if err := control.check("control"); err != nil {
		return SequentialResult{}, fmt.Errorf("sequential two-proportion: %w", err)
	}
	if err := treatment.check("treatment"); err != nil {
		return SequentialResult{}, fmt.Errorf("sequential two-proportion: %w", err)
	}
	nc, nt := float64(control.Trials), float64(treatment.Trials)
	pc, pt := control.Rate(), treatment.Rate()
	r, err := sequentialDiff("sequential normal-mixture test of proportions (asymptotic confidence sequence)",
		pc, pc*(1-pc)/nc, pt, pt*(1-pt)/nt, nc+nt, opt)
	if err != nil {
		return SequentialResult{}, fmt.Errorf("sequential two-proportion: %w", err)
	}
	return r, nil
}
