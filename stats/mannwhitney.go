package stats

import (
	"fmt"
	"math"
	"slices"
)

// MannWhitneyMethod selects how the Mann-Whitney p-value is computed.
type MannWhitneyMethod int

const (
	// MethodAuto uses the exact distribution when both samples have fewer
	// than 50 observations and there are no ties, and the normal
	// approximation otherwise (R's rule).
	MethodAuto MannWhitneyMethod = iota
	// MethodExact uses the exact null distribution of U. It requires
	// samples without ties and m·n <= [MaxExactPairs].
	MethodExact
	// MethodNormal uses the normal approximation with tie correction (and
	// continuity correction unless disabled).
	MethodNormal
)

// exactLimit is R's bound below which wilcox.test computes exactly.
const exactLimit = 50

// MaxExactPairs bounds m·n for [MethodExact]: building the distribution
// costs about (m·n)²/4 additions, 25 million at this bound.
const MaxExactPairs = 10000

// MannWhitneyOptions configure [MannWhitney]. The zero value is Kayenta's
// judge: two-sided, 98% confidence interval, automatic method, continuity
// correction on.
type MannWhitneyOptions struct {
	// Options hold the alternative and the confidence; a zero Confidence
	// means 0.98 here.
	Options
	// Method selects exact or normal computation.
	Method MannWhitneyMethod
	// NoContinuityCorrection turns off the ±0.5 continuity correction of
	// the normal approximation (R's correct = FALSE).
	NoContinuityCorrection bool
}

// MannWhitneyResult is the outcome of [MannWhitney].
type MannWhitneyResult struct {
	// Result's Statistic is U for the treatment, the number of pairs in
	// which the treatment observation is larger (ties count one half),
	// which is R's W for wilcox.test(treatment, control). Estimate is the
	// Hodges-Lehmann shift, the median of all treatment-control
	// differences, and CI its distribution-free interval.
	Result
	// Z is the (corrected) normal statistic; NaN when computed exactly.
	Z float64
	// Exact reports whether the exact distribution was used.
	Exact bool
	// ControlN and TreatmentN are the sample sizes.
	ControlN, TreatmentN int
	// ControlMedian and TreatmentMedian locate the samples, so that a shift
	// can be judged relative to the baseline (see [MannWhitneyResult.Gate]).
	ControlMedian, TreatmentMedian float64
}

// MannWhitney is the Mann-Whitney U test (Wilcoxon rank-sum test) of
// treatment against control, with the Hodges-Lehmann estimate of the shift
// and its confidence interval, as R's wilcox.test(treatment, control,
// conf.int = TRUE) and Kayenta's judge compute them.
//
// The normal approximation is z = (U - mn/2 - c) / σ with
// σ² = mn/12 · ((m+n+1) - Σ(t³-t)/((m+n)(m+n-1))), t running over tie
// groups, and c the continuity correction (±0.5 towards zero). The exact
// method sums the null distribution of U, built by the recurrence
// N(u; i, j) = N(u-j; i-1, j) + N(u; i, j-1).
//
// The interval is the set of shifts δ that the test would not reject for
// treatment-δ against control. U(δ) is a step function that jumps at the
// m·n pairwise differences, so the ends are order statistics of those
// differences: exactly R's exact interval, and the exact root that R's
// asymptotic interval (and Kayenta's) approximates with uniroot to 1e-4.
// The order statistics are selected without listing the differences: a
// handful of counts, each O(m+n) or less, narrow per-observation windows of
// candidates (see pairDiffs), so 600×11,400 samples need no 6.8-million-
// element sort and about a dozen passes over the data in all.
func MannWhitney(control, treatment []float64, opt MannWhitneyOptions) (MannWhitneyResult, error) {
	o, err := opt.Options.resolve(0.98)
	if err != nil {
		return MannWhitneyResult{}, fmt.Errorf("mann-whitney: %w", err)
	}
	if len(control) == 0 || len(treatment) == 0 {
		return MannWhitneyResult{}, fmt.Errorf("mann-whitney: %d control and %d treatment observations: %w",
			len(control), len(treatment), ErrNoData)
	}
	for _, s := range [][]float64{control, treatment} {
		for _, v := range s {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return MannWhitneyResult{}, fmt.Errorf("mann-whitney: sample value %v: %w", v, ErrInvalid)
			}
		}
	}
	// Callers that hand over sorted samples (the deploy guard does) save a
	// copy and a sort of each; the samples are only read.
	x, y := sortedView(treatment), sortedView(control)
	rk := rankSum(x, y)
	m, n := float64(len(x)), float64(len(y))
	mn := m * n
	u := rk.sumX - m*(m+1)/2

	exact := false
	switch opt.Method {
	case MethodAuto:
		exact = len(x) < exactLimit && len(y) < exactLimit && rk.ties == 0
	case MethodExact:
		if rk.ties != 0 {
			return MannWhitneyResult{}, fmt.Errorf("mann-whitney: exact method with tied observations: %w", ErrInvalid)
		}
		if len(x)*len(y) > MaxExactPairs {
			return MannWhitneyResult{}, fmt.Errorf("mann-whitney: exact method for %d×%d samples, at most %d pairs: %w",
				len(x), len(y), MaxExactPairs, ErrInvalid)
		}
		exact = true
	case MethodNormal:
	default:
		return MannWhitneyResult{}, fmt.Errorf("mann-whitney: method %d: %w", int(opt.Method), ErrInvalid)
	}

	res := MannWhitneyResult{
		Result: Result{
			Alternative: o.Alternative,
			Statistic:   u,
			Confidence:  o.Confidence,
		},
		Z:               math.NaN(),
		Exact:           exact,
		ControlN:        len(y),
		TreatmentN:      len(x),
		ControlMedian:   sortedMedian(y),
		TreatmentMedian: sortedMedian(x),
	}
	d := &pairDiffs{t: x, c: y}
	res.Estimate = d.median()
	alpha := 1 - o.Confidence
	if exact {
		res.Method = "Wilcoxon rank sum exact test"
		dist := newUDist(len(x), len(y))
		res.PValue = dist.pValue(int64(u), o.Alternative)
		res.CI = exactShiftCI(d, dist, alpha, o.Alternative)
		return res, nil
	}

	res.Method = "Wilcoxon rank sum test with continuity correction"
	corr := 0.5
	if opt.NoContinuityCorrection {
		res.Method = "Wilcoxon rank sum test"
		corr = 0
	}
	sigma := math.Sqrt(mn / 12 * ((m + n + 1) - rk.ties/((m+n)*(m+n-1))))
	dz := u - mn/2
	var c float64
	switch o.Alternative {
	case TwoSided:
		c = corr * sign(dz)
	case Greater:
		c = corr
	case Less:
		c = -corr
	}
	if sigma == 0 {
		// Every observation is the same value: no evidence either way.
		res.Z, res.PValue = 0, 1
	} else {
		res.Z = (dz - c) / sigma
		res.PValue = normalPValue(res.Z, o.Alternative)
	}
	sigmaCI := math.Sqrt(mn / 12 * ((m + n + 1) - (tieTerm(x)+tieTerm(y))/((m+n)*(m+n-1))))
	res.CI = normalShiftCI(d, sigmaCI, corr, alpha, o.Alternative)
	return res, nil
}

func sign(v float64) float64 {
	switch {
	case v > 0:
		return 1
	case v < 0:
		return -1
	}
	return 0
}

type ranks struct {
	sumX float64 // sum of the ranks of x in the combined sample
	ties float64 // Σ (t³ - t) over tie groups of the combined sample
}

// rankSum merges two sorted samples, giving tied values their average rank.
func rankSum(x, y []float64) ranks {
	var r ranks
	i, j, pos := 0, 0, 0
	for i < len(x) || j < len(y) {
		var v float64
		switch {
		case j == len(y) || (i < len(x) && x[i] <= y[j]):
			v = x[i]
		default:
			v = y[j]
		}
		cx, cy := 0, 0
		for i < len(x) && x[i] == v {
			i++
			cx++
		}
		for j < len(y) && y[j] == v {
			j++
			cy++
		}
		t := float64(cx + cy)
		r.sumX += float64(cx) * (float64(pos) + (t+1)/2)
		r.ties += t*t*t - t
		pos += cx + cy
	}
	return r
}

// tieTerm is Σ (t³ - t) over the tie groups of one sorted sample.
func tieTerm(s []float64) float64 {
	var sum float64
	for i := 0; i < len(s); {
		j := i + 1
		for j < len(s) && s[j] == s[i] {
			j++
		}
		t := float64(j - i)
		sum += t*t*t - t
		i = j
	}
	return sum
}

func sortedMedian(s []float64) float64 {
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// sortedView returns s if it is sorted, else a sorted copy.
func sortedView(s []float64) []float64 {
	if slices.IsSorted(s) {
		return s
	}
	c := slices.Clone(s)
	slices.Sort(c)
	return c
}
