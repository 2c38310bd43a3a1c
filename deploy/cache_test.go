package deploy

import (
	"context"
	"encoding/json"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/prometheus/prometheus/promql"
)

func TestEvalTimeOnTheIntervalGrid(t *testing.T) {
	d := Deploy{Start: simStart}
	for _, c := range []struct{ now, want time.Duration }{
		{-time.Minute, -time.Minute}, // not started: as asked
		{0, 0},
		{40 * time.Second, 40 * time.Second}, // first interval: as asked
		{time.Minute, time.Minute},
		{time.Minute + 59*time.Second, time.Minute},
		{10*time.Minute + time.Millisecond, 10 * time.Minute},
	} {
		if got := evalTime(d, simStart.Add(c.now), time.Minute); !got.Equal(simStart.Add(c.want)) {
			t.Errorf("evalTime(start%+v) = start%+v, want start%+v", c.now, got.Sub(simStart), c.want)
		}
	}
}

// guardOn builds a guard over the simulated cluster, ten minutes into a healthy canary.
func guardOn(t *testing.T) (*Guard, *env, *writer, *metrics.Set) {
	t.Helper()
	e := newEnv(t, simStart)
	w := &writer{db: e.db, c: newCluster(3, simStart), total: map[string]float64{}}
	w.run(t, simStart.Add(-time.Hour), simStart.Add(10*time.Minute))
	store := NewStore(e.db.KV("deploy"), func() time.Time { return e.now })
	if _, err := store.Register(simDeploy); err != nil {
		t.Fatal(err)
	}
	e.now = simStart.Add(10*time.Minute + 5*time.Second)
	set := metrics.NewSet()
	g, err := New(Options{Store: store, Query: e.query, RangeQuery: e.rangeQuery, Spec: mustSpec(t, testSpec), Metrics: set,
		Now: func() time.Time { return e.now }})
	if err != nil {
		t.Fatal(err)
	}
	return g, e, w, set
}

func counter(set *metrics.Set, name string) uint64 { return set.GetOrCreateCounter(name).Get() }

func verdictJSON(t *testing.T, v Verdict) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// Every /guard call within one interval gets the verdict at the interval's start,
// evaluated once and identical to judging that time directly; the next interval, a
// phase change and a reloaded spec each judge again.
func TestGuardVerdictOncePerInterval(t *testing.T) {
	g, e, w, set := guardOn(t)
	ctx := context.Background()
	at := simStart.Add(10 * time.Minute)
	v1, err := g.Verdict(ctx, "r2")
	if err != nil {
		t.Fatal(err)
	}
	d, err := g.Store().Get("r2")
	if err != nil {
		t.Fatal(err)
	}
	direct, err := g.cur.Load().Evaluate(ctx, d, at)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := verdictJSON(t, v1), verdictJSON(t, direct); got != want {
		t.Fatalf("guard verdict\n%s\nwant the verdict at the interval's start\n%s", got, want)
	}
	// Later in the interval, with more data written: the same verdict, not evaluated.
	w.run(t, at, at.Add(50*time.Second))
	e.now = at.Add(55 * time.Second)
	v1.Metrics[0].Verdict = "tampered" // a caller's copy, not the cache's
	v2, err := g.Verdict(ctx, "r2")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := verdictJSON(t, v2), verdictJSON(t, direct); got != want {
		t.Fatalf("second verdict in the interval\n%s\nwant\n%s", got, want)
	}
	if n, hits := counter(set, "ward_guard_evaluations_total"), counter(set, "ward_guard_verdict_cache_hits_total"); n != 1 || hits != 1 {
		t.Fatalf("%d evaluations and %d cache hits for two calls in one interval, want 1 and 1", n, hits)
	}
	// The next interval is judged again, on the new data.
	e.now = at.Add(time.Minute)
	v3, err := g.Verdict(ctx, "r2")
	if err != nil {
		t.Fatal(err)
	}
	if !v3.At.Equal(at.Add(time.Minute)) || counter(set, "ward_guard_evaluations_total") != 2 {
		t.Fatalf("next interval: verdict at %s after %d evaluations, want at %s after 2",
			v3.At, counter(set, "ward_guard_evaluations_total"), at.Add(time.Minute))
	}
	// A phase change is seen at once.
	if _, err := g.Store().SetPhase("r2", PhaseFull, "promoted"); err != nil {
		t.Fatal(err)
	}
	v4, err := g.Verdict(ctx, "r2")
	if err != nil {
		t.Fatal(err)
	}
	if v4.Phase != PhaseFull || counter(set, "ward_guard_evaluations_total") != 3 {
		t.Fatalf("after promotion: phase %s after %d evaluations, want full after 3", v4.Phase, counter(set, "ward_guard_evaluations_total"))
	}
	// So is a reloaded spec.
	if err := g.Reload(mustSpec(t, "guard:\n  interval: 1m\n  metrics:\n    - name: a\n      expr: vector(1)\n")); err != nil {
		t.Fatal(err)
	}
	v5, err := g.Verdict(ctx, "r2")
	if err != nil {
		t.Fatal(err)
	}
	if len(v5.Metrics) != 1 || v5.Metrics[0].Name != "a" {
		t.Fatalf("after reload the verdict judges %d metrics (%+v), want only a", len(v5.Metrics), v5.Metrics)
	}
}

// Callers asking at once share one evaluation; a failed evaluation is not kept.
func TestGuardVerdictSharedAndErrorsNotKept(t *testing.T) {
	g, _, _, set := guardOn(t)
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := g.Verdict(cancelled, "r2"); err == nil {
		t.Fatal("verdict with a cancelled context: no error")
	}
	var wg sync.WaitGroup
	out := make([]string, 8)
	for i := range out {
		wg.Add(1)
		go func() {
			defer wg.Done()
			v, err := g.Verdict(context.Background(), "r2")
			if err != nil {
				t.Error(err)
				return
			}
			out[i] = verdictJSON(t, v)
		}()
	}
	wg.Wait()
	for i := range out {
		if out[i] != out[0] {
			t.Fatalf("caller %d got\n%s\nwant\n%s", i, out[i], out[0])
		}
	}
	// One failed evaluation (cancelled) and one shared by all eight callers.
	if n := counter(set, "ward_guard_evaluations_total"); n != 2 {
		t.Fatalf("%d evaluations for a cancelled call and 8 concurrent ones, want 2", n)
	}
	if n := counter(set, "ward_guard_evaluation_errors_total"); n != 1 {
		t.Fatalf("%d evaluation errors, want 1", n)
	}
}

// Run wakes at the next boundary of a canary's grid, so that the new interval's verdict
// is ready before deployers ask.
func TestGuardCheckWaitsForNextBoundary(t *testing.T) {
	g, e, _, _ := guardOn(t)
	e.now = simStart.Add(10*time.Minute + 20*time.Second)
	next, err := g.check(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if want := 40*time.Second + time.Millisecond; next != want {
		t.Fatalf("next check in %s, want %s", next, want)
	}
}

func TestSortFloatsMatchesSort(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for _, n := range []int{0, 1, 5, radixMin - 1, radixMin, 5000} {
		xs := make([]float64, n)
		for i := range xs {
			switch i % 5 {
			case 0:
				xs[i] = rng.NormFloat64()
			case 1:
				xs[i] = -rng.ExpFloat64() * 1e300
			case 2:
				xs[i] = float64(rng.IntN(3)) // ties and zeros
			case 3:
				xs[i] = math.Copysign(0, -1)
			default:
				xs[i] = rng.Float64() * 1e-300
			}
		}
		want := slices.Clone(xs)
		slices.Sort(want)
		sortFloats(xs)
		for i := range xs {
			if xs[i] != want[i] {
				t.Fatalf("n=%d: sorted[%d] = %v, want %v", n, i, xs[i], want[i])
			}
		}
	}
}

// The evaluator hands the rank test sorted samples; its verdict must not depend on the
// order samples come in.
func TestJudgeSamplesIgnoresOrder(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	can, base := make([]float64, 600), make([]float64, 11400)
	for i := range can {
		can[i] = 101 + rng.NormFloat64()
	}
	for i := range base {
		base[i] = 100 + rng.NormFloat64()
	}
	m := Metric{Name: "g", Kind: KindSamples, Bad: BadUp, Tolerance: 0.001, MinData: 10}
	want := JudgeSamples(m, can, base, 0.95)
	sortFloats(can)
	sortFloats(base)
	got := JudgeSamples(m, can, base, 0.95)
	if got.Verdict != want.Verdict || got.material != want.material || got.Effect != want.Effect ||
		got.EffectLo != want.EffectLo || got.EffectHi != want.EffectHi || got.ExactPValue != want.ExactPValue ||
		math.Abs(float64(got.PValue-want.PValue)) > 1e-12 {
		t.Fatalf("sorted samples judged\n%+v\nunsorted\n%+v", got, want)
	}
	if !want.material {
		t.Fatalf("a shift of one standard deviation is not material: %+v", want)
	}
}

// Shared sub-expressions (the exposure of every per-request count, which the traffic
// check also reads, and the host counts) are queried once per verdict.
func TestEvaluateRunsEachQueryOnce(t *testing.T) {
	e := newEnv(t, simStart)
	w := &writer{db: e.db, c: newCluster(5, simStart), total: map[string]float64{}}
	w.run(t, simStart.Add(-time.Hour), simStart.Add(10*time.Minute))
	spec := mustSpec(t, testSpec+`    - name: errors2
      expr: sum(increase(errors_total{$selector}[$window]))
      normalize: request
      exposure: sum(increase(requests_total{$selector}[$window]))
    - name: requests
      expr: sum(increase(requests_total{$selector}[$window]))
`)
	var mu sync.Mutex
	seen := map[string]int{}
	query := func(ctx context.Context, q string, at time.Time) (promql.Vector, error) {
		mu.Lock()
		seen[q]++
		mu.Unlock()
		return e.query(ctx, q, at)
	}
	ev := &Evaluator{Query: query, RangeQuery: e.rangeQuery, Spec: spec}
	d := simDeploy
	d.Start = simStart
	v, err := ev.Evaluate(context.Background(), d, simStart.Add(10*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if len(v.Metrics) != 5 || v.SRM == nil {
		t.Fatalf("verdict with %d metrics and SRM %v, want 5 and a check", len(v.Metrics), v.SRM)
	}
	// errors, errors2 and requests per side, the requests exposure and traffic (one
	// query) per side, the host counts per side.
	if len(seen) != 8 {
		t.Errorf("%d distinct instant queries, want 8: %v", len(seen), seen)
	}
	for q, n := range seen {
		if n != 1 {
			t.Errorf("%q ran %d times in one verdict", q, n)
		}
	}
}
