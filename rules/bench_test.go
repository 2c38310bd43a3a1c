package rules_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"

	"github.com/wardmetrics/ward/rules"
	"github.com/wardmetrics/ward/rules/notify"
	"github.com/wardmetrics/ward/tsdb"
)

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// BenchmarkEvalRound measures one evaluation round of many rules: threshold
// rules (every series an instance), plain rules and recording rules over
// real storage and the real PromQL engine, with state persisted and
// alerts handed to a notifier. Small by default; the target is
// WARD_BENCH_RULES=10000 WARD_BENCH_SERIES=100000 (every 10s, under one
// core and well inside the interval).
func BenchmarkEvalRound(b *testing.B) {
	nRules := envInt("WARD_BENCH_RULES", 200)
	nSeries := envInt("WARD_BENCH_SERIES", 2000)
	perRule := max(nSeries/nRules, 1)
	clk := &clock{t: base}
	set := metrics.NewSet()
	db, err := tsdb.Open(b.TempDir(), tsdb.Options{Now: clk.Now, Sync: tsdb.SyncNone}, set)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	// Five minutes of 10s samples for every series; about 1% are in
	// trouble, so some instances fire.
	for step := 30; step >= 0; step-- {
		ts := base.Add(-time.Duration(step) * 10 * time.Second).UnixMilli()
		batch := make([]tsdb.Sample, 0, nSeries)
		for i := range nSeries {
			v := 0.5
			if i%100 == 0 {
				v = 5
			}
			batch = append(batch, tsdb.Sample{Labels: labels.FromStrings("__name__", "app_latency", "rule", strconv.Itoa(i/perRule), "instance", strconv.Itoa(i)), T: ts, V: v})
		}
		if err := db.Append(batch); err != nil {
			b.Fatal(err)
		}
	}
	var y strings.Builder
	y.WriteString("groups:\n")
	const perGroup = 100
	for r := range nRules {
		if r%perGroup == 0 {
			fmt.Fprintf(&y, "  - name: g%d\n    interval: 10s\n    rules:\n", r/perGroup)
		}
		switch r % 10 {
		case 0:
			fmt.Fprintf(&y, "      - record: rule:app_latency:max%d\n        expr: max(app_latency{rule=\"%d\"})\n", r, r)
		case 1, 2:
			fmt.Fprintf(&y, "      - alert: Plain%d\n        expr: app_latency{rule=\"%d\"} > 2\n        for: 1m\n        annotations:\n          summary: \"{{ $labels.instance }} at {{ $value }}\"\n", r, r)
		default:
			fmt.Fprintf(&y, "      - alert: Check%d\n        expr: app_latency{rule=\"%d\"}\n        warn: \"> 1\"\n        crit: \"> 2\"\n        no_data: unknown\n", r, r)
		}
	}
	dir := b.TempDir()
	path := filepath.Join(dir, "bench.yml")
	if err := os.WriteFile(path, []byte(y.String()), 0o644); err != nil {
		b.Fatal(err)
	}
	n, err := notify.New(notify.Config{}, notify.Options{Metrics: set})
	if err != nil {
		b.Fatal(err)
	}
	engine := promql.NewEngine(promql.EngineOpts{MaxSamples: 5e7, Timeout: time.Minute, LookbackDelta: 5 * time.Minute})
	m, err := rules.NewManager(rules.ManagerOptions{
		Query: engineQuery(engine, db), Appender: dbAppender{db}, Store: db.KV("rules"),
		Notifier: n, Metrics: set, Now: clk.Now,
	})
	if err != nil {
		b.Fatal(err)
	}
	if err := m.Load(path); err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	if err := m.EvalOnce(ctx, base); err != nil { // warm-up: instances created
		b.Fatal(err)
	}
	cpu0 := cpuTime()
	rounds := 0
	b.ResetTimer()
	for b.Loop() {
		if err := m.EvalOnce(ctx, base); err != nil {
			b.Fatal(err)
		}
		rounds++
	}
	b.StopTimer()
	cpu := cpuTime() - cpu0
	b.ReportMetric(float64(nRules*rounds)/b.Elapsed().Seconds(), "rules/s")
	b.ReportMetric(cpu.Seconds()*1000/float64(rounds), "cpu-ms/round")
	b.ReportMetric(cpu.Seconds()/b.Elapsed().Seconds(), "cores")
	b.ReportMetric(float64(len(m.Checks())), "checks")
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
