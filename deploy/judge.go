package deploy

import (
	"errors"
	"fmt"
	"math"

	"github.com/wardmetrics/ward/stats"
)

// Outcome is the verdict on one metric.
type Outcome string

// The outcomes of one metric.
const (
	Pass         Outcome = "pass"
	Fail         Outcome = "fail"
	Inconclusive Outcome = "inconclusive"
)

// MetricResult is the judgement of one watched metric, with the numbers behind it.
type MetricResult struct {
	Name     string     `json:"name"`
	Group    string     `json:"group"`
	Critical bool       `json:"critical"`
	Weight   float64    `json:"weight"`
	Kind     Kind       `json:"kind"`
	Compare  Comparison `json:"compare"`
	Bad      Direction  `json:"bad"`
	// Canary and Baseline are the values compared: event counts for counts, medians
	// for samples. For before/after comparisons Canary is after and Baseline before.
	Canary   Num `json:"canary"`
	Baseline Num `json:"baseline"`
	// CanaryN and BaselineN are the amount of data: events, or samples.
	CanaryN   int64 `json:"canary_n"`
	BaselineN int64 `json:"baseline_n"`
	// Share is the canary's exposure share for counts.
	Share Num `json:"share,omitempty"`
	// Test names the test; PValue is the always-valid p-value the verdict uses
	// and AdjustedPValue the same after Holm (critical metrics are not adjusted).
	// ExactPValue is the fixed-horizon p-value, shown for reference.
	Test           string `json:"test"`
	PValue         Num    `json:"p_value"`
	AdjustedPValue Num    `json:"adjusted_p_value"`
	ExactPValue    Num    `json:"exact_p_value"`
	// Effect is the rate ratio (counts) or Hodges-Lehmann shift (samples), with
	// its interval [EffectLo, EffectHi].
	EffectName string  `json:"effect_name"`
	Effect     Num     `json:"effect"`
	EffectLo   Num     `json:"effect_lo"`
	EffectHi   Num     `json:"effect_hi"`
	Verdict    Outcome `json:"verdict"`
	Reason     string  `json:"reason"`
	// CanaryQuery and BaselineQuery are PromQL for graphing the two sides over time
	// (query_range-ready: $window is the guard interval); for before/after comparisons
	// the baseline is the same expression shifted back with offset. Additive: clients
	// that only read the verdict ignore them.
	CanaryQuery   string `json:"canary_query,omitempty"`
	BaselineQuery string `json:"baseline_query,omitempty"`

	// material reports an effect beyond the tolerance in the bad direction: with a
	// significant p-value (after correction) it fails the metric.
	material bool
}

func newResult(m Metric) MetricResult {
	return MetricResult{
		Name: m.Name, Group: m.Group, Critical: m.Critical, Weight: m.Weight,
		Kind: m.Kind, Compare: m.Compare, Bad: m.Bad,
		Canary: nan, Baseline: nan, Share: nan, PValue: nan, AdjustedPValue: nan, ExactPValue: nan,
		Effect: nan, EffectLo: nan, EffectHi: nan,
	}
}

func alternative(bad Direction) stats.Alternative {
	switch bad {
	case BadUp:
		return stats.Greater
	case BadDown:
		return stats.Less
	}
	return stats.TwoSided
}

// JudgeCounts judges event counts: canary (or after) count a, baseline (or before)
// count b, and the canary's share of exposure. The verdict's p-value is the always-valid
// one of stats.SequentialCountShare, so the guard may poll as often as it likes; the
// exact binomial p-value is shown beside it. The result's Verdict is provisional
// (pass when nothing is significant) until Decide applies Holm's correction.
func JudgeCounts(m Metric, a, b, share, confidence float64) MetricResult {
	r := newResult(m)
	r.Canary, r.Baseline, r.Share = Num(a), Num(b), Num(share)
	r.Test = "sequential binomial count share (exact binomial shown)"
	r.EffectName = "rate ratio"
	switch {
	case math.IsNaN(a) && math.IsNaN(b):
		return inconclusive(r, "no data on either side")
	case math.IsNaN(a):
		return inconclusive(r, "no canary data (absent series are not read as zero; add `or vector(0)` if absence means none)")
	case math.IsNaN(b):
		return inconclusive(r, "no baseline data")
	case math.IsNaN(share) || share <= 0 || share >= 1:
		return inconclusive(r, fmt.Sprintf("canary exposure share %v unknown or outside (0, 1)", share))
	}
	ca, cb := int64(math.Round(math.Max(a, 0))), int64(math.Round(math.Max(b, 0)))
	r.CanaryN, r.BaselineN = ca, cb
	if float64(ca+cb) < m.MinData {
		return inconclusive(r, fmt.Sprintf("%d events, need %v", ca+cb, m.MinData))
	}
	c := stats.Counts{Canary: ca, Baseline: cb, Share: share}
	alt := alternative(m.Bad)
	seq, err := stats.SequentialCountShare(c, stats.SequentialCountOptions{Alternative: alt, Confidence: confidence})
	if err != nil {
		return inconclusive(r, "sequential test: "+err.Error())
	}
	r.PValue = Num(seq.PValue)
	r.Effect, r.EffectLo, r.EffectHi = Num(seq.Estimate), Num(seq.CI.Lo), Num(seq.CI.Hi)
	if exact, err := stats.CountShareTest(c, stats.Options{Alternative: alt, Confidence: confidence}); err == nil {
		r.ExactPValue = Num(exact.PValue)
	}
	rr := seq.Estimate
	switch m.Bad {
	case BadUp:
		r.material = rr > 1+m.Tolerance
	case BadDown:
		r.material = rr < 1-m.Tolerance
	default:
		r.material = rr > 1+m.Tolerance || rr < 1-m.Tolerance
	}
	r.Verdict = Pass
	return r
}

// JudgeSamples judges per-interval samples of a gauge or latency: Mann-Whitney U with
// the Hodges-Lehmann shift and Kayenta's effect-size gate. Because a rank test read
// at every poll would inflate false rollbacks, a failure also needs the always-valid
// sequential Welch test to reject; the p-value the verdict uses is the larger of the
// two (both must reject, so the chance of a false failure is at most the sequential
// test's, at any number of looks).
func JudgeSamples(m Metric, canary, baseline []float64, confidence float64) MetricResult {
	r := newResult(m)
	r.CanaryN, r.BaselineN = int64(len(canary)), int64(len(baseline))
	r.Test = "Mann-Whitney U + Hodges-Lehmann, gated by sequential Welch"
	r.EffectName = "shift"
	switch {
	case len(canary) == 0 && len(baseline) == 0:
		return inconclusive(r, "no data on either side")
	case len(canary) == 0:
		return inconclusive(r, "no canary data")
	case len(baseline) == 0:
		return inconclusive(r, "no baseline data")
	case float64(len(canary)) < m.MinData || float64(len(baseline)) < m.MinData:
		return inconclusive(r, fmt.Sprintf("%d canary and %d baseline samples, need %v each", len(canary), len(baseline), m.MinData))
	}
	if constant(canary) && constant(baseline) && canary[0] == baseline[0] {
		r.Canary, r.Baseline = Num(canary[0]), Num(baseline[0])
		r.PValue, r.ExactPValue, r.Effect, r.EffectLo, r.EffectHi = 1, 1, 0, 0, 0
		r.Verdict, r.Reason = Pass, "identical constant samples"
		return r
	}
	alt := alternative(m.Bad)
	mw, err := stats.MannWhitney(baseline, canary, stats.MannWhitneyOptions{Options: stats.Options{Alternative: alt, Confidence: confidence}})
	if err != nil {
		return inconclusive(r, "Mann-Whitney: "+err.Error())
	}
	r.ExactPValue = Num(mw.PValue)
	r.Canary, r.Baseline = Num(mw.TreatmentMedian), Num(mw.ControlMedian)
	r.Effect, r.EffectLo, r.EffectHi = Num(mw.Estimate), Num(mw.CI.Lo), Num(mw.CI.Hi)
	p := mw.PValue
	seq, err := stats.SequentialWelch(stats.SummaryOf(baseline), stats.SummaryOf(canary), stats.SequentialOptions{Confidence: confidence})
	switch {
	case errors.Is(err, stats.ErrNoData):
		// One side constant: the Welch variance may vanish; the rank test stands alone.
	case err != nil:
		return inconclusive(r, "sequential Welch: "+err.Error())
	default:
		p = math.Max(p, seq.PValue)
	}
	r.PValue = Num(p)
	shift := mw.Gate(m.Tolerance)
	switch m.Bad {
	case BadUp:
		r.material = shift == stats.ShiftIncrease
	case BadDown:
		r.material = shift == stats.ShiftDecrease
	default:
		r.material = shift != stats.ShiftNegligible
	}
	r.Verdict = Pass
	return r
}

// inconclusive marks a result without a verdict. Values stay missing: a median of too
// few samples is not shown as if it were evidence.
func inconclusive(r MetricResult, reason string) MetricResult {
	r.Verdict, r.Reason = Inconclusive, reason
	return r
}

func constant(xs []float64) bool {
	for _, x := range xs[1:] {
		if x != xs[0] {
			return false
		}
	}
	return true
}
