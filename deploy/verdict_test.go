package deploy

import (
	"context"
	"strings"
	"testing"
	"time"
)

var simStart = time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)

// simulate writes an hour of history before the deploy and `after` of canary time,
// then judges the canary at the end.
func simulate(t *testing.T, c *cluster, after time.Duration) Verdict {
	t.Helper()
	return simulateSpec(t, c, after, testSpec, false)
}

// simulateSpec is simulate with another guard section, and optionally the same span of
// time a week earlier written first (the storage takes samples in time order).
func simulateSpec(t *testing.T, c *cluster, after time.Duration, spec string, lastWeek bool) Verdict {
	t.Helper()
	e := newEnv(t, c.t0.Add(after))
	w := &writer{db: e.db, c: c, total: map[string]float64{}}
	if lastWeek {
		w.run(t, c.t0.Add(-week-time.Hour), c.t0.Add(-week+after))
	}
	w.run(t, c.t0.Add(-time.Hour), c.t0.Add(after))
	ev := &Evaluator{Query: e.query, RangeQuery: e.rangeQuery, Spec: mustSpec(t, spec)}
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

func TestVerdictRevenueDropFailsWeekOverWeek(t *testing.T) {
	spec := strings.Replace(testSpec, "compare: before_after", "compare: week_over_week", 1)
	c := newCluster(6, simStart)
	c.revenueDrop = 0.3
	v := simulateSpec(t, c, 15*time.Minute, spec, true)
	logVerdict(t, v)
	if rev := metricOf(t, v, "revenue"); rev.Verdict != Fail || rev.Compare != WeekOverWeek || rev.BaselineN != 15 {
		t.Fatalf("revenue %s (%s) compare %s with %d samples last week; want fail over 15", rev.Verdict, rev.Reason, rev.Compare, rev.BaselineN)
	}
	c = newCluster(7, simStart)
	v = simulateSpec(t, c, 15*time.Minute, spec, true)
	if rev := metricOf(t, v, "revenue"); rev.Verdict != Pass {
		t.Fatalf("steady revenue week over week: %s (%s), want pass", rev.Verdict, rev.Reason)
	}
}

// A metric whose query fails at evaluation is inconclusive with the error as its reason;
// the other metrics are still judged.
func TestVerdictFailingQueryIsInconclusive(t *testing.T) {
	spec := testSpec + `    - name: broken
      kind: samples
      expr: label_replace(latency_ms{$selector}, "host", "same", "", "")
`
	c := newCluster(8, simStart)
	v := simulateSpec(t, c, 10*time.Minute, spec, false)
	logVerdict(t, v)
	b := metricOf(t, v, "broken")
	if b.Verdict != Inconclusive || !strings.Contains(b.Reason, "query failed") {
		t.Fatalf("broken metric: %s (%s), want inconclusive with the query error", b.Verdict, b.Reason)
	}
	if e := metricOf(t, v, "errors"); e.Verdict != Pass {
		t.Fatalf("errors metric beside a broken one: %s, want pass", e.Verdict)
	}
	if v.Decision != Wait {
		t.Fatalf("decision %s, want wait while a metric cannot be read", v.Decision)
	}
}
