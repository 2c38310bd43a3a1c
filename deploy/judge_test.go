package deploy

import (
	"math"
	"math/rand/v2"
	"testing"
)

func countMetric(critical bool) Metric {
	m := Metric{Name: "errors", Expr: "x", Kind: KindCount, Bad: BadUp, Tolerance: 0.2, MinData: 1, Critical: critical}
	s := Spec{Metrics: []Metric{m}}
	s.ensureDefaults()
	return s.Metrics[0]
}

// Kayenta passes a canary with errors where the baseline has none (kayenta#377): here
// 6 errors on a 5% canary and none on the baseline fail. The always-valid p-value is
// the one stats documents for this case (1.1e-4, one-sided, κ = 10); the exact binomial
// p-value is 0.05^6.
func TestCanaryErrorsWhereBaselineHasNoneFail(t *testing.T) {
	r := JudgeCounts(countMetric(true), 6, 0, 0.05, 0.95)
	if math.Abs(float64(r.ExactPValue)-math.Pow(0.05, 6)) > 1e-12 {
		t.Errorf("exact p = %v, want 0.05^6", float64(r.ExactPValue))
	}
	if p := float64(r.PValue); p > 2e-4 || p < 5e-5 {
		t.Errorf("sequential p = %v, want about 1.1e-4", p)
	}
	if !math.IsInf(float64(r.Effect), 1) {
		t.Errorf("rate ratio = %v, want +Inf", float64(r.Effect))
	}
	results := []MetricResult{r}
	d, _, _ := Decide(results, nil, 0.95, 95, 75)
	if d != Rollback || results[0].Verdict != Fail {
		t.Fatalf("decision %s, verdict %s; want rollback on a critical failure", d, results[0].Verdict)
	}
}

func TestMissingDataIsNeverAPass(t *testing.T) {
	nan := math.NaN()
	for _, c := range []struct{ a, b, f float64 }{{nan, 10, 0.1}, {10, nan, 0.1}, {nan, nan, 0.1}, {3, 30, nan}, {0, 0, 0.1}} {
		r := JudgeCounts(countMetric(true), c.a, c.b, c.f, 0.95)
		if r.Verdict != Inconclusive {
			t.Errorf("JudgeCounts(%v, %v, %v) = %s, want inconclusive", c.a, c.b, c.f, r.Verdict)
		}
		d, _, _ := Decide([]MetricResult{r}, nil, 0.95, 95, 75)
		if d != Wait {
			t.Errorf("critical metric without data: decision %s, want wait", d)
		}
	}
	sm := Metric{Name: "lat", Kind: KindSamples, Bad: BadUp, MinData: 5, Weight: 1, Group: "lat"}
	if r := JudgeSamples(sm, []float64{1, 2}, []float64{1, 2, 3, 4, 5, 6}, 0.95); r.Verdict != Inconclusive {
		t.Errorf("2 canary samples with min 5: %s, want inconclusive", r.Verdict)
	}
	if r := JudgeSamples(sm, nil, nil, 0.95); r.Verdict != Inconclusive || !math.IsNaN(float64(r.Canary)) {
		t.Errorf("no samples: %s canary=%v, want inconclusive and no value", r.Verdict, float64(r.Canary))
	}
}

// A 1% latency shift is significant over thousands of samples but within a 10%
// tolerance: the effect gate passes it. A 30% shift fails.
func TestEffectSizeGate(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	sample := func(n int, mean float64) []float64 {
		xs := make([]float64, n)
		for i := range xs {
			xs[i] = mean + rng.NormFloat64()
		}
		return xs
	}
	m := Metric{Name: "lat", Kind: KindSamples, Bad: BadUp, Tolerance: 0.1, MinData: 10, Weight: 1, Group: "lat"}
	small := JudgeSamples(m, sample(3000, 101), sample(3000, 100), 0.95)
	if float64(small.ExactPValue) > 1e-6 {
		t.Fatalf("1%% shift over 3000 samples: p = %v, want significant", float64(small.ExactPValue))
	}
	results := []MetricResult{small}
	if d, _, _ := Decide(results, nil, 0.95, 95, 75); d != Promote || results[0].Verdict != Pass {
		t.Fatalf("tiny significant shift: %s %s, want pass and promote", d, results[0].Verdict)
	}
	big := JudgeSamples(m, sample(50, 130), sample(50, 100), 0.95)
	results = []MetricResult{big}
	if d, _, _ := Decide(results, nil, 0.95, 95, 75); d != Rollback || results[0].Verdict != Fail {
		t.Fatalf("30%% shift: %s %s, want fail and rollback", d, results[0].Verdict)
	}
	if sh := float64(big.Effect); sh < 25 || sh > 35 {
		t.Errorf("Hodges-Lehmann shift = %v, want about 30", sh)
	}
	// The harmless direction never fails.
	down := JudgeSamples(m, sample(50, 70), sample(50, 100), 0.95)
	results = []MetricResult{down}
	if Decide(results, nil, 0.95, 95, 75); results[0].Verdict != Pass {
		t.Fatalf("latency down 30%%: %s, want pass", results[0].Verdict)
	}
}

// Holm: three non-critical metrics with p = 0.01, 0.02, 0.04 adjust to 0.03, 0.04, 0.04
// (R: p.adjust(c(0.01, 0.02, 0.04), "holm")), so all fail at 0.05; a critical metric
// is not adjusted.
func TestDecideHolmAndScore(t *testing.T) {
	mk := func(name string, p float64, critical bool) MetricResult {
		r := newResult(Metric{Name: name, Group: name, Weight: 1, Critical: critical, Bad: BadUp})
		r.PValue, r.Verdict, r.material = Num(p), Pass, true
		return r
	}
	rs := []MetricResult{mk("a", 0.01, false), mk("b", 0.02, false), mk("c", 0.04, false), mk("k", 0.04, true)}
	d, score, _ := Decide(rs, nil, 0.95, 95, 75)
	want := []float64{0.03, 0.04, 0.04, 0.04}
	for i, r := range rs {
		if math.Abs(float64(r.AdjustedPValue)-want[i]) > 1e-12 {
			t.Errorf("%s adjusted p = %v, want %v", r.Name, float64(r.AdjustedPValue), want[i])
		}
	}
	if d != Rollback || score != 0 {
		t.Fatalf("decision %s score %v, want rollback at 0", d, score)
	}
	// One failing metric of ten in separate groups: score 90, between marginal and pass.
	var ten []MetricResult
	for i := 0; i < 10; i++ {
		r := mk(string(rune('a'+i)), 0.5, false)
		ten = append(ten, r)
	}
	ten[0].PValue = 1e-9
	d, score, _ = Decide(ten, nil, 0.95, 95, 75)
	if d != Wait || score != 90 {
		t.Fatalf("one of ten failing: %s %v, want wait at 90", d, score)
	}
	// A sample-ratio mismatch forbids promotion.
	ok := []MetricResult{mk("a", 0.5, false)}
	if d, _, _ := Decide(ok, &SRMCheck{Mismatch: true}, 0.95, 95, 75); d != Wait {
		t.Fatalf("SRM mismatch: %s, want wait", d)
	}
}
