package deploy

import (
	"context"
	"testing"
	"time"
)

var simStart = time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)

// simulate writes an hour of history before the deploy and `after` of canary time,
// then judges the canary at the end.
func simulate(t *testing.T, c *cluster, after time.Duration) Verdict {
	t.Helper()
	e := newEnv(t, c.t0.Add(after))
	w := &writer{db: e.db, c: c, total: map[string]float64{}}
	w.run(t, c.t0.Add(-time.Hour), c.t0.Add(after))
	ev := &Evaluator{Query: e.query, RangeQuery: e.rangeQuery, Spec: mustSpec(t, testSpec)}
	d := simDeploy
	d.Start, d.Phase = c.t0, PhaseCanary
	v, err := ev.Evaluate(context.Background(), d, c.t0.Add(after))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func metricOf(t *testing.T, v Verdict, name string) MetricResult {
	t.Helper()
	for _, m := range v.Metrics {
		if m.Name == name {
			return m
		}
	}
	t.Fatalf("verdict has no metric %q", name)
	return MetricResult{}
}

func logVerdict(t *testing.T, v Verdict) {
	t.Helper()
	t.Logf("decision %s score %.0f: %s", v.Decision, v.Score, v.Reason)
	for _, m := range v.Metrics {
		t.Logf("  %-8s %-12s canary=%v baseline=%v p=%v adj=%v effect=%v [%v, %v] %s", m.Name, m.Verdict, float64(m.Canary), float64(m.Baseline), float64(m.PValue), float64(m.AdjustedPValue), float64(m.Effect), float64(m.EffectLo), float64(m.EffectHi), m.Reason)
	}
}

func TestVerdictFiveTimesErrorsRollsBack(t *testing.T) {
	c := newCluster(1, simStart)
	c.canaryErrFactor = 5
	v := simulate(t, c, 10*time.Minute)
	logVerdict(t, v)
	if v.Decision != Rollback {
		t.Fatalf("decision = %s, want rollback", v.Decision)
	}
	errs := metricOf(t, v, "errors")
	if errs.Verdict != Fail {
		t.Fatalf("errors verdict = %s, want fail", errs.Verdict)
	}
	if rr := float64(errs.Effect); rr < 3 || rr > 7 {
		t.Errorf("rate ratio = %v, want about 5", rr)
	}
	if float64(errs.PValue) > 1e-6 {
		t.Errorf("p = %v, want tiny", float64(errs.PValue))
	}
}

func TestVerdictHealthyCanaryPromotes(t *testing.T) {
	c := newCluster(2, simStart)
	v := simulate(t, c, 10*time.Minute)
	logVerdict(t, v)
	if v.Decision != Promote {
		t.Fatalf("decision = %s (%s), want promote", v.Decision, v.Reason)
	}
	if v.SRM == nil || v.SRM.Mismatch || float64(v.SRM.ExpectedShare) != 0.1 {
		t.Fatalf("srm = %+v, want a checked share of 0.1 without mismatch", v.SRM)
	}
	for _, m := range v.Metrics {
		if m.Verdict != Pass {
			t.Errorf("metric %s: %s (%s), want pass", m.Name, m.Verdict, m.Reason)
		}
	}
}

func TestVerdictTooLittleTrafficWaits(t *testing.T) {
	c := newCluster(3, simStart)
	c.reqRate = 1
	v := simulate(t, c, 2*time.Minute)
	logVerdict(t, v)
	if v.Decision != Wait || v.RetryAfter != 60 {
		t.Fatalf("decision = %s retry %d, want wait with Retry-After 60", v.Decision, v.RetryAfter)
	}
	if m := metricOf(t, v, "errors"); m.Verdict != Inconclusive {
		t.Fatalf("errors verdict = %s, want inconclusive with so few events", m.Verdict)
	}
}

func TestVerdictRevenueDropFailsBeforeAfter(t *testing.T) {
	c := newCluster(4, simStart)
	c.revenueDrop = 0.3
	v := simulate(t, c, 15*time.Minute)
	logVerdict(t, v)
	rev := metricOf(t, v, "revenue")
	if rev.Verdict != Fail {
		t.Fatalf("revenue verdict = %s (%s), want fail", rev.Verdict, rev.Reason)
	}
	if rel := float64(rev.Effect) / float64(rev.Baseline); rel > -0.2 || rel < -0.4 {
		t.Errorf("revenue shift = %.2f of before, want about -0.3", rel)
	}
	if v.Decision == Promote {
		t.Fatalf("decision = promote with revenue down 30%%")
	}
}
