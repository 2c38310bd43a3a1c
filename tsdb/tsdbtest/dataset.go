// Package tsdbtest generates Ward's benchmark data set: statsd-shaped
// flushes of many series on a fixed grid, deterministic for a seed, so that
// Ward's engine and its peers (Prometheus TSDB, VictoriaMetrics) store
// exactly the same samples.
//
// The default shape is 10,000 series (200 hosts x 50 metric names) for 24
// hours at a 10 s step, 86.4 million samples:
//   - 40% cumulative counters with bursty integer increments: each series
//     alternates between idle spells (increment 0) and busy spells
//     (Poisson increments around a per-series rate);
//   - 40% gauges doing slow random walks, half rounded to 2 decimals and
//     half integers;
//   - 20% latency quantiles (p50 and p99 of timers, in milliseconds) with 3
//     significant digits, log-normally spread around a per-series level;
//   - timestamps exactly on the grid.
package tsdbtest

import (
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/prometheus/prometheus/model/labels"
)

// Kind is the shape of one series.
type Kind int

// Series kinds.
const (
	Counter Kind = iota
	Gauge2Dec
	GaugeInt
	Quantile
)

func (k Kind) String() string {
	return [...]string{"counter", "gauge-2dec", "gauge-int", "quantile"}[k]
}

// Config sizes the data set. The zero value is not useful; start from Default.
type Config struct {
	Hosts    int
	Step     time.Duration
	Duration time.Duration
	Start    time.Time
	Seed     uint64
}

// Default is the benchmark shape: 200 hosts x 50 metrics, 24h at 10s from
// 2025-01-01T00:00:00Z.
func Default() Config {
	return Config{
		Hosts:    200,
		Step:     10 * time.Second,
		Duration: 24 * time.Hour,
		Start:    time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC),
		Seed:     1,
	}
}

// MetricsPerHost is the number of series per host: 20 counters, 10 gauges
// with 2 decimals, 10 integer gauges, 5 timers x 2 quantiles.
const MetricsPerHost = 50

// Series describes one generated series.
type Series struct {
	Labels labels.Labels
	Kind   Kind
}

// Generator produces the data set one step (one flush of every series) at a
// time. It is not safe for concurrent use.
type Generator struct {
	cfg    Config
	series []Series
	state  []seriesState
	step   int
	steps  int
}

type seriesState struct {
	rng   *rand.Rand
	v     float64 // current value (counters: total)
	rate  float64 // counters: mean increment while busy; quantiles: level
	sigma float64 // walk or noise scale
	busy  bool
}

var counterNames = []string{
	"requests", "responses_2xx", "responses_4xx", "responses_5xx", "bytes_in", "bytes_out",
	"cache_hits", "cache_misses", "db_queries", "db_errors", "logins", "logouts",
	"jobs_started", "jobs_done", "jobs_failed", "emails_sent", "retries", "timeouts",
	"gc_runs", "panics",
}

var gaugeNames = []string{
	"cpu_percent", "load1", "mem_used_gb", "disk_used_percent", "temperature_c",
	"net_mbps", "queue_seconds", "pool_utilization", "heap_gb", "swap_percent",
}

var intGaugeNames = []string{
	"connections", "goroutines", "queue_length", "threads", "open_files",
	"sessions", "inflight", "workers_busy", "pending_jobs", "cache_items",
}

var timerNames = []string{"http_request", "db_query", "cache_get", "render", "auth"}

// New returns a generator positioned before the first step.
func New(cfg Config) *Generator {
	g := &Generator{cfg: cfg, steps: int(cfg.Duration / cfg.Step)}
	for h := 0; h < cfg.Hosts; h++ {
		host := fmt.Sprintf("host-%03d", h)
		dc := fmt.Sprintf("dc-%d", h%4)
		add := func(name string, kind Kind, extra ...string) {
			kv := append([]string{"__name__", name, "dc", dc, "host", host}, extra...)
			g.series = append(g.series, Series{Labels: labels.FromStrings(kv...), Kind: kind})
		}
		for _, n := range counterNames {
			add("app_"+n+"_total", Counter)
		}
		for _, n := range gaugeNames {
			add("sys_"+n, Gauge2Dec)
		}
		for _, n := range intGaugeNames {
			add("app_"+n, GaugeInt)
		}
		for _, n := range timerNames {
			add(n+"_duration_ms", Quantile, "quantile", "0.5")
			add(n+"_duration_ms", Quantile, "quantile", "0.99")
		}
	}
	g.state = make([]seriesState, len(g.series))
	for i, s := range g.series {
		r := rand.New(rand.NewPCG(cfg.Seed, uint64(i)))
		st := seriesState{rng: r}
		switch s.Kind {
		case Counter:
			st.rate = logUniform(r, 0.2, 200)
			st.v = math.Floor(logUniform(r, 1, 1e7))
		case Gauge2Dec:
			st.sigma = logUniform(r, 0.01, 0.5)
			st.v = round(logUniform(r, 1, 1000), 2)
		case GaugeInt:
			st.sigma = logUniform(r, 0.2, 3)
			st.v = math.Round(logUniform(r, 5, 5000))
		case Quantile:
			st.rate = logUniform(r, 0.5, 500) // median level in ms
			st.sigma = 0.1
			if s.Labels.Get("quantile") == "0.99" {
				st.rate *= 4
				st.sigma = 0.25
			}
		}
		g.state[i] = st
	}
	return g
}

// Series returns the series in generation order; Next fills values in the
// same order.
func (g *Generator) Series() []Series { return g.series }

// Steps returns the number of steps (flushes) in the data set.
func (g *Generator) Steps() int { return g.steps }

// Samples returns the number of samples in the data set.
func (g *Generator) Samples() int { return g.steps * len(g.series) }

// Next computes the next step's value of every series into vals (which must
// have len(Series()) elements) and returns its timestamp in unix
// milliseconds; ok is false after the last step.
func (g *Generator) Next(vals []float64) (t int64, ok bool) {
	if g.step >= g.steps {
		return 0, false
	}
	t = g.cfg.Start.Add(time.Duration(g.step) * g.cfg.Step).UnixMilli()
	g.step++
	for i := range g.state {
		vals[i] = g.state[i].next(g.series[i].Kind)
	}
	return t, true
}

func (st *seriesState) next(k Kind) float64 {
	r := st.rng
	switch k {
	case Counter:
		// Two-state bursts: idle spells add nothing, busy spells add Poisson
		// increments. Long idle spells make many intervals +0.
		if st.busy {
			st.busy = r.Float64() < 0.8
		} else {
			st.busy = r.Float64() < 0.15
		}
		if st.busy {
			st.v += poisson(r, st.rate)
		}
		return st.v
	case Gauge2Dec:
		st.v = round(math.Abs(st.v+r.NormFloat64()*st.sigma), 2)
		return st.v
	case GaugeInt:
		st.v = math.Abs(math.Round(st.v + r.NormFloat64()*st.sigma))
		return st.v
	default: // Quantile
		return sigDigits(st.rate*math.Exp(r.NormFloat64()*st.sigma), 3)
	}
}

func logUniform(r *rand.Rand, lo, hi float64) float64 {
	return math.Exp(math.Log(lo) + r.Float64()*(math.Log(hi)-math.Log(lo)))
}

// poisson draws from Poisson(lambda): Knuth's method for small lambda, a
// rounded normal approximation above 30.
func poisson(r *rand.Rand, lambda float64) float64 {
	if lambda > 30 {
		return math.Max(0, math.Round(lambda+math.Sqrt(lambda)*r.NormFloat64()))
	}
	l, k, p := math.Exp(-lambda), 0.0, 1.0
	for {
		p *= r.Float64()
		if p <= l {
			return k
		}
		k++
	}
}

// round rounds to d decimals, giving the double nearest to the decimal (as
// strconv.ParseFloat would).
func round(v float64, d int) float64 {
	p := math.Pow10(d)
	return math.Round(v*p) / p
}

// sigDigits rounds v > 0 to n significant digits, as the nearest double.
func sigDigits(v float64, n int) float64 {
	if v == 0 || math.IsNaN(v) || math.IsInf(v, 0) {
		return v
	}
	e := int(math.Floor(math.Log10(math.Abs(v)))) - n + 1
	if e >= 0 {
		return math.Round(v/math.Pow10(e)) * math.Pow10(e)
	}
	return math.Round(v*math.Pow10(-e)) / math.Pow10(-e)
}
