package deploy

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// The verdict carries, per metric, the PromQL of its canary and baseline for graphs, and
// those queries evaluate over the deploy's window: counts per interval for each side,
// and for before/after the same expression shifted back by the deploy's age.
func TestVerdictCarriesGraphQueries(t *testing.T) {
	c := newCluster(11, simStart)
	c.canaryErrFactor = 5
	c.revenueDrop = 0.3
	after := 10 * time.Minute
	e := newEnv(t, c.t0.Add(after))
	w := &writer{db: e.db, c: c, total: map[string]float64{}}
	w.run(t, c.t0.Add(-time.Hour), c.t0.Add(after))
	ev := &Evaluator{Query: e.query, RangeQuery: e.rangeQuery, Spec: mustSpec(t, testSpec)}
	d := simDeploy
	d.Start, d.Phase = c.t0, PhaseCanary
	now := c.t0.Add(after)
	v, err := ev.Evaluate(context.Background(), d, now)
	if err != nil {
		t.Fatal(err)
	}

	errs := metricOf(t, v, "errors")
	if want := `sum(sum(increase(errors_total{release="r2"}[1m])) or vector(0))`; errs.CanaryQuery != want {
		t.Errorf("errors canary_query %q, want %q", errs.CanaryQuery, want)
	}
	if want := `sum(sum(increase(errors_total{release="r1"}[1m])) or vector(0))`; errs.BaselineQuery != want {
		t.Errorf("errors baseline_query %q, want %q", errs.BaselineQuery, want)
	}
	if lat := metricOf(t, v, "latency"); lat.CanaryQuery != `latency_ms{release="r2"}` || lat.BaselineQuery != `latency_ms{release="r1"}` {
		t.Errorf("latency queries %q / %q", lat.CanaryQuery, lat.BaselineQuery)
	}
	rev := metricOf(t, v, "revenue")
	if rev.CanaryQuery != `sum(rate(revenue_cents_total[1m]))` || !strings.Contains(rev.BaselineQuery, "offset 10m") {
		t.Errorf("revenue queries %q / %q, want the baseline offset by the deploy's 10m", rev.CanaryQuery, rev.BaselineQuery)
	}

	// Every query evaluates over the graph's window, from before the deploy to now.
	from := c.t0.Add(-5 * time.Minute)
	last := func(q string) float64 {
		t.Helper()
		m, err := e.rangeQuery(context.Background(), q, from, now, 10*time.Second)
		if err != nil {
			t.Fatalf("range query %q: %v", q, err)
		}
		if len(m) == 0 || len(m[0].Floats) == 0 {
			t.Fatalf("range query %q is empty", q)
		}
		f := m[0].Floats
		return f[len(f)-1].F
	}
	for _, m := range v.Metrics {
		for _, q := range []string{m.CanaryQuery, m.BaselineQuery} {
			if strings.Contains(q, "$") {
				t.Errorf("metric %s: placeholder left in %q", m.Name, q)
			}
			last(q)
		}
	}

	// The canary's two hosts at 5x errors against 18 healthy hosts: per interval the
	// canary has 2*600*0.05 = 60 errors and the baseline 18*600*0.01 = 108.
	if ca, ba := last(errs.CanaryQuery), last(errs.BaselineQuery); ca < 30 || ca > 100 || ba < 70 || ba > 150 {
		t.Errorf("errors per interval: canary %v, baseline %v; want about 60 and 108", ca, ba)
	}
	// The before/after baseline now is the expression at the deploy's start.
	at := func(q string, ts time.Time) float64 {
		t.Helper()
		vec, err := e.query(context.Background(), q, ts)
		if err != nil || len(vec) != 1 {
			t.Fatalf("query %q at %s: %v (%d results)", q, ts, err, len(vec))
		}
		return vec[0].F
	}
	if b, a := at(rev.BaselineQuery, now), at(rev.CanaryQuery, c.t0); b != a {
		t.Errorf("revenue baseline at now %v, want the expression at the deploy's start %v", b, a)
	}
	if ca, ba := at(rev.CanaryQuery, now), at(rev.BaselineQuery, now); ca > 0.85*ba {
		t.Errorf("revenue after %v against before %v, want the 30%% drop visible", ca, ba)
	}

	// The fields are in the verdict's JSON.
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"canary_query":"sum(sum(increase(errors_total{release=\"r2\"}[1m])) or vector(0))"`) ||
		!strings.Contains(string(b), `"baseline_query":`) {
		t.Errorf("verdict JSON lacks the graph queries: %s", b)
	}
}

func TestWithOffset(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`sum(rate(x[1m]))`, `sum(rate(x[1m] offset 10m))`},
		{`a / b offset 1m`, `a offset 10m / b offset 11m`},
		{`max_over_time(rate(x[1m])[5m:1m])`, `max_over_time(rate(x[1m])[5m:1m] offset 10m)`},
		{`sum(`, ``},
	} {
		if got := withOffset(tc.in, 10*time.Minute); got != tc.want {
			t.Errorf("withOffset(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
