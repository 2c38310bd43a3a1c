package deploy

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"
)

// Workers reuse their sample buffers from metric to metric. A verdict over many
// sample metrics of different sizes (per host, per interval, before/after, larger and
// smaller than the previous metric's) must judge each exactly as a verdict over that
// metric alone, whose worker starts with empty buffers.
func TestSampleBuffersReusedAcrossMetrics(t *testing.T) {
	e := newEnv(t, simStart)
	w := &writer{db: e.db, c: newCluster(11, simStart), total: map[string]float64{}}
	w.run(t, simStart.Add(-time.Hour), simStart.Add(10*time.Minute))
	head := "guard:\n  interval: 1m\n  step: 10s\n  hosts: count(count by (host) (requests_total{$selector}))\n  metrics:\n"
	exprs := []string{
		"latency_ms{$selector}",
		"avg(latency_ms{$selector})",
		"latency_ms{$selector} * 2",
		"max(latency_ms{$selector})",
		"latency_ms{$selector} + 1",
	}
	var all strings.Builder
	all.WriteString(head)
	metric := func(i int, expr string) string {
		return fmt.Sprintf("    - name: m%d\n      kind: samples\n      expr: %s\n      bad: up\n      tolerance: 0.1\n      min_data: 5\n", i, expr)
	}
	// Twenty metrics cycling through the shapes, so that every worker judges several.
	for i := range 20 {
		all.WriteString(metric(i, exprs[i%len(exprs)]))
	}
	all.WriteString("    - name: revenue\n      kind: samples\n      compare: before_after\n      expr: sum(rate(revenue_cents_total[$step]))\n      step: 1m\n      bad: down\n      min_data: 3\n")
	d := simDeploy
	d.Start = simStart
	now := simStart.Add(10 * time.Minute)
	ctx := context.Background()
	ev := &Evaluator{Query: e.query, RangeQuery: e.rangeQuery, Spec: mustSpec(t, all.String())}
	v, err := ev.Evaluate(ctx, d, now)
	if err != nil {
		t.Fatal(err)
	}
	if len(v.Metrics) != 21 {
		t.Fatalf("%d metrics judged, want 21", len(v.Metrics))
	}
	for i, got := range v.Metrics {
		var one string
		if i < 20 {
			one = head + metric(i, exprs[i%len(exprs)])
		} else {
			one = all.String()[strings.Index(all.String(), "    - name: revenue"):]
			one = head + one
		}
		alone := &Evaluator{Query: e.query, RangeQuery: e.rangeQuery, Spec: mustSpec(t, one)}
		w, err := alone.Evaluate(ctx, d, now)
		if err != nil {
			t.Fatal(err)
		}
		if got.CanaryN == 0 || got.BaselineN == 0 {
			t.Fatalf("metric %s read no samples: %+v", got.Name, got)
		}
		// Holm's correction depends on how many metrics are judged together: compare
		// everything measured, not the adjusted verdict.
		want := w.Metrics[0]
		for _, r := range []*MetricResult{&got, &want} {
			r.AdjustedPValue, r.Verdict, r.Reason = 0, "", ""
		}
		// Printed rather than DeepEqual: missing values are NaN, which equals nothing.
		if g, w := fmt.Sprintf("%+v", got), fmt.Sprintf("%+v", want); g != w {
			t.Errorf("metric %s among others:\n%s\nalone:\n%s", got.Name, g, w)
		}
	}
}
