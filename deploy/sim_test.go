package deploy

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"

	"github.com/wardmetrics/ward/tsdb"
)

// cluster simulates 20 web hosts every 10 seconds: Poisson requests, binomial errors,
// revenue in cents per request, and a latency gauge. The first canaryHosts hosts run
// the new release from deploy time on. Counters are cumulative per series, as statsd
// counters are stored.
type cluster struct {
	hosts, canaryHosts int
	step               time.Duration
	t0                 time.Time // deploy start
	reqRate            float64   // requests per host per step
	errRate            float64   // baseline error probability per request
	canaryErrFactor    float64   // canary error probability multiplier
	latency            float64   // mean latency, ms
	canaryLatency      float64   // canary mean latency, ms
	revenuePerReq      float64   // cents per request
	revenueDrop        float64   // fraction of revenue lost after t0 (cluster-wide)
	rng                *rand.Rand
}

func newCluster(seed uint64, t0 time.Time) *cluster {
	return &cluster{
		hosts: 20, canaryHosts: 2, step: 10 * time.Second, t0: t0,
		reqRate: 100, errRate: 0.01, canaryErrFactor: 1,
		latency: 100, canaryLatency: 100, revenuePerReq: 50,
		rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
	}
}

// point is one host's increments over one step.
type point struct {
	host                    int
	canary                  bool
	requests, errors, cents float64
	latency                 float64
}

func (c *cluster) poisson(lambda float64) float64 {
	// Normal approximation is fine at the rates simulated; Knuth's method for small.
	if lambda < 30 {
		l, k, p := math.Exp(-lambda), 0.0, 1.0
		for {
			p *= c.rng.Float64()
			if p <= l {
				return k
			}
			k++
		}
	}
	return math.Max(0, math.Round(lambda+math.Sqrt(lambda)*c.rng.NormFloat64()))
}

func (c *cluster) binomial(n, p float64) float64 {
	return math.Min(n, c.poisson(n*p))
}

// tick returns every host's increments for the step ending at t.
func (c *cluster) tick(t time.Time) []point {
	out := make([]point, c.hosts)
	after := !t.Before(c.t0)
	for h := range out {
		canary := after && h < c.canaryHosts
		req := c.poisson(c.reqRate)
		pe, lat := c.errRate, c.latency
		if canary {
			pe *= c.canaryErrFactor
			lat = c.canaryLatency
		}
		cents := req * c.revenuePerReq
		if after {
			cents *= 1 - c.revenueDrop
		}
		cents *= 1 + 0.05*c.rng.NormFloat64()
		out[h] = point{host: h, canary: canary, requests: req, errors: c.binomial(req, pe), cents: math.Max(0, cents),
			latency: lat * math.Exp(0.1*c.rng.NormFloat64())}
	}
	return out
}

func hostName(h int) string { return fmt.Sprintf("web-%02d", h) }

// writer appends the cluster's series into a real tsdb, keeping cumulative counters.
type writer struct {
	db    *tsdb.DB
	c     *cluster
	total map[string]float64
}

func (w *writer) series(name string, p point) labels.Labels {
	rel := "r1"
	if p.canary {
		rel = "r2"
	}
	return labels.FromStrings("__name__", name, "host", hostName(p.host), "release", rel)
}

// run writes every step in (from, to].
func (w *writer) run(t *testing.T, from, to time.Time) {
	t.Helper()
	for ts := from.Add(w.c.step); !ts.After(to); ts = ts.Add(w.c.step) {
		var batch []tsdb.Sample
		for _, p := range w.c.tick(ts) {
			for _, m := range []struct {
				name string
				v    float64
			}{{"requests_total", p.requests}, {"errors_total", p.errors}, {"revenue_cents_total", p.cents}} {
				ls := w.series(m.name, p)
				w.total[ls.String()] += m.v
				batch = append(batch, tsdb.Sample{Labels: ls, T: ts.UnixMilli(), V: w.total[ls.String()]})
			}
			batch = append(batch, tsdb.Sample{Labels: w.series("latency_ms", p), T: ts.UnixMilli(), V: p.latency})
		}
		if err := w.db.Append(batch); err != nil {
			t.Fatalf("append at %s: %v", ts, err)
		}
	}
}

// env is a real tsdb on disk with a real PromQL engine, on a simulated clock.
type env struct {
	db     *tsdb.DB
	engine *promql.Engine
	now    time.Time
}

func newEnv(t *testing.T, now time.Time) *env {
	t.Helper()
	e := &env{now: now}
	db, err := tsdb.Open(t.TempDir(), tsdb.Options{Now: func() time.Time { return e.now }, Sync: tsdb.SyncNone, MaxFuture: -1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Error(err)
		}
	})
	e.db = db
	e.engine = promql.NewEngine(promql.EngineOpts{MaxSamples: 5e7, Timeout: time.Minute, LookbackDelta: 5 * time.Minute})
	return e
}

func (e *env) query(ctx context.Context, qs string, t time.Time) (promql.Vector, error) {
	q, err := e.engine.NewInstantQuery(ctx, e.db, nil, qs, t)
	if err != nil {
		return nil, err
	}
	defer q.Close()
	res := q.Exec(ctx)
	if res.Err != nil {
		return nil, res.Err
	}
	switch v := res.Value.(type) {
	case promql.Vector:
		return v, nil
	case promql.Scalar:
		return promql.Vector{{T: v.T, F: v.V}}, nil
	}
	return nil, fmt.Errorf("%q returned %s", qs, res.Value.Type())
}

func (e *env) rangeQuery(ctx context.Context, qs string, start, end time.Time, step time.Duration) (promql.Matrix, error) {
	q, err := e.engine.NewRangeQuery(ctx, e.db, nil, qs, start, end, step)
	if err != nil {
		return nil, err
	}
	defer q.Close()
	res := q.Exec(ctx)
	if res.Err != nil {
		return nil, res.Err
	}
	m, ok := res.Value.(promql.Matrix)
	if !ok {
		return nil, fmt.Errorf("%q returned %s", qs, res.Value.Type())
	}
	out := make(promql.Matrix, len(m))
	for i, s := range m {
		out[i] = promql.Series{Metric: s.Metric, Floats: slices.Clone(s.Floats)}
	}
	return out, nil
}

// testSpec is the guard section the simulations are judged with.
const testSpec = `
guard:
  interval: 1m
  step: 10s
  hosts: count(count by (host) (requests_total{$selector}))
  traffic: sum(increase(requests_total{$selector}[$window]))
  rollback:
    command: echo rolled back $WARD_RELEASE
  metrics:
    - name: errors
      expr: sum(increase(errors_total{$selector}[$window])) or vector(0)
      normalize: request
      exposure: sum(increase(requests_total{$selector}[$window]))
      bad: up
      tolerance: 0.2
      min_data: 20
      critical: true
    - name: latency
      kind: samples
      expr: latency_ms{$selector}
      bad: up
      tolerance: 0.1
      min_data: 10
      group: system
    - name: revenue
      kind: samples
      compare: before_after
      expr: sum(rate(revenue_cents_total[$step]))
      step: 1m
      bad: down
      tolerance: 0.1
      min_data: 5
      group: business
      weight: 2
`

func mustSpec(t testing.TB, y string) *Spec {
	t.Helper()
	s, err := ParseSpec("test.yml", []byte(y))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

var simDeploy = Deploy{Release: "r2", Canary: `release="r2"`, Baseline: `release="r1"`}
