package deploy

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/prometheus/promql"

	"github.com/wardmetrics/ward/stats"
)

// QueryFunc evaluates an instant PromQL query at t.
type QueryFunc func(ctx context.Context, expr string, t time.Time) (promql.Vector, error)

// RangeQueryFunc evaluates a range PromQL query over [start, end] at step. The matrix
// must stay valid after the call: promql returns its point slices to a pool when the
// query is closed, so an adapter over promql.Engine copies them out first.
type RangeQueryFunc func(ctx context.Context, expr string, start, end time.Time, step time.Duration) (promql.Matrix, error)

// week is the offset of week-over-week comparisons.
const week = 7 * 24 * time.Hour

// Evaluator computes verdicts from metrics read through PromQL.
type Evaluator struct {
	Query      QueryFunc
	RangeQuery RangeQueryFunc
	Spec       *Spec
}

// memo runs each distinct instant query of one verdict once: metrics normalised per
// request share their exposure query, and every per-host share the hosts query.
type memo struct {
	mu   sync.Mutex
	sums map[string]*memoEntry
}

type memoEntry struct {
	once sync.Once
	v    float64
	err  error
}

func (m *memo) entry(key string) *memoEntry {
	m.mu.Lock()
	defer m.mu.Unlock()
	e := m.sums[key]
	if e == nil {
		e = &memoEntry{}
		m.sums[key] = e
	}
	return e
}

// Evaluate judges deploy d at time now with every metric of the spec.
func (e *Evaluator) Evaluate(ctx context.Context, d Deploy, now time.Time) (Verdict, error) {
	s := e.Spec
	v := Verdict{
		Release: d.Release, Phase: d.Phase, At: now.UTC(), Start: d.Start,
		PassScore: s.PassScore, MarginalScore: s.MarginalScore, Metrics: []MetricResult{},
	}
	window := now.Sub(d.Start)
	v.Window = promDuration(window)
	if window < time.Second {
		v.Decision, v.Reason, v.RetryAfter = Wait, "the deploy started less than a second ago", retrySeconds(s.Interval)
		return v, nil
	}
	mm := &memo{sums: map[string]*memoEntry{}}
	hostShare := func() (float64, error) { return e.hostShare(ctx, mm, d, now, window) }
	results := make([]MetricResult, len(s.Metrics))
	errs := make([]error, len(s.Metrics))
	// A fixed pool of workers takes the metrics costliest first, so that no long metric
	// starts last. The work is CPU (decoding samples, PromQL, rank tests): two workers
	// per processor keep every processor busy while one waits for a shared query of
	// the memo; more would only keep more transient memory alive.
	order := costliestFirst(s.Metrics)
	var next atomic.Int64
	var wg sync.WaitGroup
	var srm *SRMCheck
	var srmErr error
	if s.Traffic != "" {
		// The traffic check shares its queries with the metrics through the memo;
		// run alongside them rather than after.
		wg.Add(1)
		go func() {
			defer wg.Done()
			srm, srmErr = e.srm(ctx, mm, d, now, window, hostShare)
		}()
	}
	for range min(2*runtime.GOMAXPROCS(0), len(s.Metrics)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// The worker's sample buffers serve metric after metric: a per-host
			// gauge reads ~10,000 samples a side, and allocating them afresh for
			// each of dozens of metrics made the garbage collector a cost of its own.
			var bufs sampleBufs
			for {
				j := int(next.Add(1)) - 1
				if j >= len(order) {
					return
				}
				i := order[j]
				results[i], errs[i] = e.metric(ctx, mm, &bufs, s.Metrics[i], d, now, window, hostShare)
			}
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err == nil {
			continue
		}
		if ctx.Err() != nil {
			return Verdict{}, fmt.Errorf("judge metric %q of release %q: %w", s.Metrics[i].Name, d.Release, err)
		}
		// One expression failing (a label collision, a bad query for this release's
		// labels) makes its metric inconclusive, visibly, instead of hiding every
		// other metric behind an error.
		results[i] = inconclusive(newResult(s.Metrics[i]), "query failed: "+err.Error())
	}
	if s.Traffic != "" {
		switch err := srmErr; {
		case err != nil && ctx.Err() != nil:
			return Verdict{}, err
		case err != nil:
			// A share that cannot be checked cannot be trusted: no promotion.
			srm = &SRMCheck{CanaryTraffic: nan, BaselineTraffic: nan, ExpectedShare: nan, ObservedShare: nan, PValue: nan,
				Mismatch: true, Reason: "traffic query failed: " + err.Error()}
		}
		v.SRM = srm
	}
	for i := range results {
		results[i].CanaryQuery, results[i].BaselineQuery = graphQueries(s.Metrics[i], d, window, s.Interval)
	}
	v.Metrics = results
	v.Decision, v.Score, v.Reason = Decide(v.Metrics, v.SRM, s.Confidence, s.PassScore, s.MarginalScore)
	if d.Phase == PhaseRolledBack {
		v.Decision, v.Reason = Rollback, "release was rolled back: "+lastReason(d)
	}
	if v.Decision == Wait {
		v.RetryAfter = retrySeconds(s.Interval)
	}
	return v, nil
}

// costliestFirst orders metric indexes by their expected cost, highest first: samples
// read a range per side and rank every pair of samples; counts read one value per side.
func costliestFirst(ms []Metric) []int {
	order := make([]int, len(ms))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		return cmp.Compare(costRank(ms[b]), costRank(ms[a]))
	})
	return order
}

func costRank(m Metric) int {
	if m.Kind == KindSamples {
		return 1
	}
	return 0
}

func lastReason(d Deploy) string {
	if len(d.History) == 0 {
		return ""
	}
	return d.History[len(d.History)-1].Reason
}

func retrySeconds(d time.Duration) int {
	return max(1, int(math.Ceil(d.Seconds())))
}

// sampleBufs are one worker's reusable buffers for reading samples: one per side of a
// comparison, and the sort's keys. The samples are only needed until the metric is
// judged (results keep medians and shifts, not samples).
type sampleBufs struct {
	a, b  []float64
	radix radixScratch
}

// metric reads and judges one metric.
func (e *Evaluator) metric(ctx context.Context, mm *memo, bufs *sampleBufs, m Metric, d Deploy, now time.Time, window time.Duration, hostShare func() (float64, error)) (MetricResult, error) {
	s := e.Spec
	if m.Compare == CanaryVsBaseline {
		if m.Kind == KindSamples {
			can, err := e.samples(ctx, bufs, &bufs.a, m.Step, m.Expr, d.Canary, d.Start, now)
			if err != nil {
				return MetricResult{}, err
			}
			base, err := e.samples(ctx, bufs, &bufs.b, m.Step, m.Expr, d.Baseline, d.Start, now)
			if err != nil {
				return MetricResult{}, err
			}
			return JudgeSamples(m, can, base, s.Confidence), nil
		}
		a, err := e.sum(ctx, mm, m.Expr, d.Canary, now, window)
		if err != nil {
			return MetricResult{}, err
		}
		b, err := e.sum(ctx, mm, m.Expr, d.Baseline, now, window)
		if err != nil {
			return MetricResult{}, err
		}
		var f float64
		if m.Normalize == PerRequest {
			ea, err := e.sum(ctx, mm, m.Exposure, d.Canary, now, window)
			if err != nil {
				return MetricResult{}, err
			}
			eb, err := e.sum(ctx, mm, m.Exposure, d.Baseline, now, window)
			if err != nil {
				return MetricResult{}, err
			}
			f = ea / (ea + eb)
		} else if f, err = hostShare(); err != nil {
			return MetricResult{}, err
		}
		return JudgeCounts(m, a, b, f, s.Confidence), nil
	}
	// Before/after: the same length of time just before the deploy, or a week earlier.
	beforeEnd := d.Start
	if m.Compare == WeekOverWeek {
		beforeEnd = now.Add(-week)
	}
	if m.Kind == KindSamples {
		after, err := e.samples(ctx, bufs, &bufs.a, m.Step, m.Expr, m.Selector, d.Start, now)
		if err != nil {
			return MetricResult{}, err
		}
		before, err := e.samples(ctx, bufs, &bufs.b, m.Step, m.Expr, m.Selector, beforeEnd.Add(-window), beforeEnd)
		if err != nil {
			return MetricResult{}, err
		}
		return JudgeSamples(m, after, before, s.Confidence), nil
	}
	a, err := e.sum(ctx, mm, m.Expr, m.Selector, now, window)
	if err != nil {
		return MetricResult{}, err
	}
	b, err := e.sum(ctx, mm, m.Expr, m.Selector, beforeEnd, window)
	if err != nil {
		return MetricResult{}, err
	}
	return JudgeCounts(m, a, b, 0.5, s.Confidence), nil
}

// sum evaluates expr for one side at t and adds up the result; an empty result is NaN
// (missing), never zero.
func (e *Evaluator) sum(ctx context.Context, mm *memo, expr, selector string, t time.Time, window time.Duration) (float64, error) {
	q := expand(expr, selector, window, e.Spec.Step)
	ent := mm.entry(fmt.Sprintf("%d\x00%s", t.UnixMilli(), q))
	ent.once.Do(func() { ent.v, ent.err = e.query(ctx, q, t) })
	return ent.v, ent.err
}

func (e *Evaluator) query(ctx context.Context, q string, t time.Time) (float64, error) {
	vec, err := e.Query(ctx, q, t)
	if err != nil {
		return 0, fmt.Errorf("query %q at %s: %w", q, t.UTC().Format(time.RFC3339), err)
	}
	if len(vec) == 0 {
		return math.NaN(), nil
	}
	var s float64
	for _, smp := range vec {
		s += smp.F
	}
	return s, nil
}

// samples evaluates expr for one side over [start, end] at step and returns
// every point of every series, sorted ascending (see sortFloats), in *buf's storage
// (grown as needed), so the result is valid until *buf is used again.
func (e *Evaluator) samples(ctx context.Context, bufs *sampleBufs, buf *[]float64, step time.Duration, expr, selector string, start, end time.Time) ([]float64, error) {
	q := expand(expr, selector, end.Sub(start), step)
	// The first point would look back before start; begin one step in.
	from := start.Add(step)
	if from.After(end) {
		return nil, nil
	}
	m, err := e.RangeQuery(ctx, q, from, end, step)
	if err != nil {
		return nil, fmt.Errorf("range query %q over [%s, %s]: %w", q, from.UTC().Format(time.RFC3339), end.UTC().Format(time.RFC3339), err)
	}
	n := 0
	for _, s := range m {
		n += len(s.Floats)
	}
	if cap(*buf) < n {
		*buf = make([]float64, 0, n)
	}
	out := (*buf)[:0]
	for _, s := range m {
		for _, p := range s.Floats {
			if !math.IsNaN(p.F) && !math.IsInf(p.F, 0) {
				out = append(out, p.F)
			}
		}
	}
	bufs.radix.sort(out)
	*buf = out
	return out, nil
}

// hostShare is the canary's share of hosts.
func (e *Evaluator) hostShare(ctx context.Context, mm *memo, d Deploy, now time.Time, window time.Duration) (float64, error) {
	c, err := e.sum(ctx, mm, e.Spec.Hosts, d.Canary, now, window)
	if err != nil {
		return 0, err
	}
	b, err := e.sum(ctx, mm, e.Spec.Hosts, d.Baseline, now, window)
	if err != nil {
		return 0, err
	}
	return c / (c + b), nil
}

// srm checks the canary's share of traffic against its share of hosts.
func (e *Evaluator) srm(ctx context.Context, mm *memo, d Deploy, now time.Time, window time.Duration, hostShare func() (float64, error)) (*SRMCheck, error) {
	a, err := e.sum(ctx, mm, e.Spec.Traffic, d.Canary, now, window)
	if err != nil {
		return nil, err
	}
	b, err := e.sum(ctx, mm, e.Spec.Traffic, d.Baseline, now, window)
	if err != nil {
		return nil, err
	}
	f, err := hostShare()
	if err != nil {
		return nil, err
	}
	c := &SRMCheck{CanaryTraffic: Num(a), BaselineTraffic: Num(b), ExpectedShare: Num(f), ObservedShare: Num(a / (a + b)), PValue: nan}
	if math.IsNaN(a) || math.IsNaN(b) || math.IsNaN(f) || f <= 0 || f >= 1 {
		c.Reason = "no traffic or host counts yet"
		return c, nil
	}
	r, err := stats.SampleRatioMismatch([]int64{int64(math.Round(a)), int64(math.Round(b))}, []float64{f, 1 - f})
	if err != nil {
		c.Reason = err.Error()
		return c, nil
	}
	c.PValue = Num(r.PValue)
	c.Mismatch = r.PValue < stats.SRMThreshold
	return c, nil
}
