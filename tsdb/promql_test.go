package tsdb

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/storage"
)

func newEngine() *promql.Engine {
	return promql.NewEngine(promql.EngineOpts{
		MaxSamples:    50_000_000,
		Timeout:       time.Minute,
		LookbackDelta: 5 * time.Minute,
	})
}

// rangeMatrix evaluates expr over q from from to to at step with eng, and
// copies the result: Close returns the points to the engine's pool.
func rangeMatrix(t testing.TB, eng *promql.Engine, q storage.Queryable, expr string, from, to int64, step time.Duration) promql.Matrix {
	t.Helper()
	qry, err := eng.NewRangeQuery(context.Background(), q, nil, expr, time.UnixMilli(from), time.UnixMilli(to), step)
	if err != nil {
		t.Fatal(err)
	}
	defer qry.Close()
	m, err := qry.Exec(context.Background()).Matrix()
	if err != nil {
		t.Fatalf("%s: %v", expr, err)
	}
	out := make(promql.Matrix, len(m))
	for i, s := range m {
		out[i] = promql.Series{Metric: s.Metric, Floats: append([]promql.FPoint(nil), s.Floats...)}
	}
	return out
}

// TestPromQL runs the upstream PromQL engine over the DB: rate, sum by,
// histogram_quantile and offset must give the values computed by hand.
func TestPromQL(t *testing.T) {
	db := openTest(t, t.TempDir(), testOptions())
	defer db.Close()
	const step = 10_000
	// requests_total{host}: host hN grows by N+1 per 10s; le buckets of a
	// classic histogram grow at fixed shares.
	les := []string{"0.1", "0.5", "1", "+Inf"}
	shares := []float64{0.5, 0.9, 0.99, 1}
	for i := 0; i <= 3*360; i++ { // 3 hours
		ts := t0 + int64(i)*step
		var batch []Sample
		for h := 0; h < 2; h++ {
			batch = append(batch, Sample{lbls("__name__", "requests_total", "host", fmt.Sprintf("h%d", h), "job", "api"), ts, float64(i * (h + 1))})
		}
		for j, le := range les {
			batch = append(batch, Sample{lbls("__name__", "latency_bucket", "le", le), ts, float64(i) * 100 * shares[j]})
		}
		if err := db.Append(batch); err != nil {
			t.Fatal(err)
		}
	}
	eng := newEngine()
	at := time.UnixMilli(t0 + 2*3600_000)
	instant := func(q string) promql.Vector {
		t.Helper()
		qry, err := eng.NewInstantQuery(context.Background(), db, nil, q, at)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		defer qry.Close()
		res := qry.Exec(context.Background())
		if res.Err != nil {
			t.Fatalf("%s: %v", q, res.Err)
		}
		v, err := res.Vector()
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		return append(promql.Vector(nil), v...) // Close recycles the original
	}
	near := func(q string, got, want float64) {
		t.Helper()
		if math.Abs(got-want) > 1e-9*math.Max(1, math.Abs(want)) {
			t.Errorf("%s = %v, want %v", q, got, want)
		}
	}
	v := instant(`rate(requests_total{host="h1"}[5m])`)
	if len(v) != 1 {
		t.Fatalf("rate: %d series", len(v))
	}
	near("rate h1", v[0].F, 2.0/10)
	v = instant(`sum by (job) (rate(requests_total[5m]))`)
	if len(v) != 1 || v[0].Metric.Get("job") != "api" {
		t.Fatalf("sum by: %v", v)
	}
	near("sum by job", v[0].F, 3.0/10)
	v = instant(`requests_total{host="h0"} offset 1h`)
	near("offset 1h", v[0].F, float64(360))
	v = instant(`requests_total{host="h0"} - requests_total{host="h0"} offset 1h`)
	if len(v) != 1 {
		t.Fatalf("difference with offset: %v", v)
	}
	near("delta over offset", v[0].F, 360)
	v = instant(`histogram_quantile(0.5, sum by (le) (rate(latency_bucket[5m])))`)
	// Half the observations are below 0.1: the median is the top of the
	// first bucket.
	near("histogram_quantile 0.5", v[0].F, 0.1)
	v = instant(`histogram_quantile(0.95, sum by (le) (rate(latency_bucket[5m])))`)
	// 95% lies in (0.5, 1], 5/9 of the way through that bucket's share.
	near("histogram_quantile 0.95", v[0].F, 0.5+0.5*(0.05/0.09))

	// A range query across the sealed and the open bucket.
	qry, err := eng.NewRangeQuery(context.Background(), db, nil, `sum(requests_total)`, time.UnixMilli(t0), time.UnixMilli(t0+3*3600_000), time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	defer qry.Close()
	res := qry.Exec(context.Background())
	m, err := res.Matrix()
	if err != nil {
		t.Fatal(err)
	}
	if len(m) != 1 || len(m[0].Floats) != 181 {
		t.Fatalf("range query: %d series, %d points", len(m), len(m[0].Floats))
	}
	for _, p := range m[0].Floats {
		i := float64(p.T-t0) / step
		near("sum at "+strconv.FormatInt(p.T, 10), p.F, 3*i)
	}

	// Label APIs.
	q, err := db.Querier(math.MinInt64, math.MaxInt64)
	if err != nil {
		t.Fatal(err)
	}
	vals, _, err := q.LabelValues(context.Background(), "host", nil)
	if err != nil || fmt.Sprint(vals) != "[h0 h1]" {
		t.Fatalf("LabelValues(host) = %v, %v", vals, err)
	}
	vals, _, err = q.LabelValues(context.Background(), "__name__", nil, labels.MustNewMatcher(labels.MatchRegexp, "le", ".+"))
	if err != nil || fmt.Sprint(vals) != "[latency_bucket]" {
		t.Fatalf("LabelValues(__name__, le=~.+) = %v, %v", vals, err)
	}
	names, _, err := q.LabelNames(context.Background(), nil, eqMatcher("__name__", "requests_total"))
	if err != nil || fmt.Sprint(names) != "[__name__ host job]" {
		t.Fatalf("LabelNames = %v, %v", names, err)
	}
}
