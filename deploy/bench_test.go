package deploy

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"

	"github.com/wardmetrics/ward/tsdb"
)

// BenchmarkGuardVerdict is /guard's work over 50 watched metrics (25 counts normalised
// per request, 25 gauges) and 200 hosts with 10 minutes of canary data at a 10 s step,
// on a real tsdb and PromQL engine. It reports the 99th percentile in ms. The gauges are
// judged either per host and interval (every host's point is a sample: 600 canary
// against 11400 baseline samples per metric) or per interval across each side's hosts
// (avg by side: 60 against 60), which is Kayenta's way.
func BenchmarkGuardVerdict(b *testing.B) {
	for _, c := range []struct{ name, gauge string }{
		{"per-host", "g%d{$selector}"},
		{"per-interval", "avg(g%d{$selector})"},
	} {
		b.Run(c.name, func(b *testing.B) { benchGuardVerdict(b, c.gauge) })
	}
}

func benchGuardVerdict(b *testing.B, gaugeExpr string) {
	e, spec, d := guardBenchData(b, gaugeExpr)
	ev := &Evaluator{Query: e.query, RangeQuery: e.rangeQuery, Spec: spec}
	ctx := context.Background()
	var lat []time.Duration
	b.ReportAllocs()
	cpu0 := cpuTime(b)
	for b.Loop() {
		start := time.Now()
		v, err := ev.Evaluate(ctx, d, e.now)
		lat = append(lat, time.Since(start))
		if err != nil || len(v.Metrics) != len(spec.Metrics) {
			b.Fatalf("verdict %v, %d metrics, err %v", v.Decision, len(v.Metrics), err)
		}
	}
	b.ReportMetric(p99ms(lat), "p99-ms")
	// CPU per verdict (the process's user and system time, garbage collection and
	// storage background work included) varies less than wall time on a shared
	// machine: other processes slow a verdict down but do not add to its CPU time.
	b.ReportMetric(float64((cpuTime(b)-cpu0).Microseconds())/1000/float64(len(lat)), "cpu-ms/op")
}

// cpuTime is the process's user plus system CPU time so far.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// p99ms is the 99th percentile of lat in milliseconds.
func p99ms(lat []time.Duration) float64 {
	slices.Sort(lat)
	return float64(lat[(len(lat)*99)/100].Microseconds()) / 1000
}

// guardBenchData writes 200 hosts' counters and gauges, 10 minutes since the deploy,
// into a real tsdb and returns it (its clock at the end), the spec and the deploy.
func guardBenchData(b *testing.B, gaugeExpr string) (*env, *Spec, Deploy) {
	const hosts, counts, gauges = 200, 25, 25
	dir, err := os.MkdirTemp("", "ward-guard-bench")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { os.RemoveAll(dir) })
	e := &env{now: simStart.Add(10 * time.Minute)}
	e.db, err = tsdb.Open(dir, tsdb.Options{Now: func() time.Time { return e.now }, Sync: tsdb.SyncNone, MaxFuture: -1}, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = e.db.Close() })
	e.engine = promql.NewEngine(promql.EngineOpts{MaxSamples: 5e7, Timeout: time.Minute, LookbackDelta: 5 * time.Minute})
	rng := rand.New(rand.NewPCG(1, 2))
	totals := map[string]float64{}
	var spec strings.Builder
	spec.WriteString("guard:\n  interval: 1m\n  step: 10s\n  hosts: count(count by (host) (requests_total{$selector}))\n  metrics:\n")
	for i := 0; i < counts; i++ {
		fmt.Fprintf(&spec, "    - name: c%d\n      expr: sum(increase(c%d_total{$selector}[$window])) or vector(0)\n      normalize: request\n      exposure: sum(increase(requests_total{$selector}[$window]))\n      min_data: 20\n", i, i)
	}
	for i := 0; i < gauges; i++ {
		fmt.Fprintf(&spec, "    - name: g%d\n      kind: samples\n      expr: "+gaugeExpr+"\n      tolerance: 0.1\n", i, i)
	}
	for ts := simStart.Add(-time.Minute); !ts.After(simStart.Add(10 * time.Minute)); ts = ts.Add(10 * time.Second) {
		var batch []tsdb.Sample
		for h := 0; h < hosts; h++ {
			rel := "r1"
			if h < hosts/20 {
				rel = "r2"
			}
			add := func(name string, v float64, counter bool) {
				ls := labels.FromStrings("__name__", name, "host", hostName(h), "release", rel)
				if counter {
					totals[ls.String()] += v
					v = totals[ls.String()]
				}
				batch = append(batch, tsdb.Sample{Labels: ls, T: ts.UnixMilli(), V: v})
			}
			add("requests_total", float64(90+rng.IntN(20)), true)
			for i := 0; i < counts; i++ {
				add(fmt.Sprintf("c%d_total", i), float64(rng.IntN(3)), true)
			}
			for i := 0; i < gauges; i++ {
				add(fmt.Sprintf("g%d", i), 100+rng.NormFloat64(), false)
			}
		}
		if err := e.db.Append(batch); err != nil {
			b.Fatal(err)
		}
	}
	d := Deploy{Release: "r2", Canary: `release="r2"`, Baseline: `release="r1"`, Start: simStart, Phase: PhaseCanary}
	return e, mustSpec(b, spec.String()), d
}

// BenchmarkGuardPolled is /guard as deployers use it: polled every 5 s while the guard
// judges the canary at each interval's boundary (Run). Every poll within an interval
// is served from that one evaluation; the cold evaluation itself is BenchmarkGuardVerdict.
func BenchmarkGuardPolled(b *testing.B) {
	e, spec, d := guardBenchData(b, "avg(g%d{$selector})")
	store := NewStore(e.db.KV("deploy"), func() time.Time { return d.Start })
	if _, err := store.Register(d); err != nil {
		b.Fatal(err)
	}
	g, err := New(Options{Store: store, Query: e.query, RangeQuery: e.rangeQuery, Spec: spec, Now: func() time.Time { return e.now }})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	end := e.now
	var lat []time.Duration
	polls := 0
	for b.Loop() {
		// Each interval starts with the guard's own check, as Run does at the boundary.
		boundary := end.Add(time.Duration(polls/12) * spec.Interval)
		if polls%12 == 0 {
			e.now = boundary
			if err := g.Check(ctx); err != nil {
				b.Fatal(err)
			}
		}
		e.now = boundary.Add(time.Duration(polls%12)*5*time.Second + 2500*time.Millisecond)
		polls++
		start := time.Now()
		v, err := g.Verdict(ctx, d.Release)
		lat = append(lat, time.Since(start))
		if err != nil || len(v.Metrics) != len(spec.Metrics) {
			b.Fatalf("verdict %v, %d metrics, err %v", v.Decision, len(v.Metrics), err)
		}
	}
	b.ReportMetric(p99ms(lat), "p99-ms")
}
