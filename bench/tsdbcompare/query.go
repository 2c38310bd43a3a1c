package main

import (
	"context"
	"fmt"
	"time"

	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/storage"
)

// Query figure names (keys of result.Queries).
const (
	qDayRange   = "query_range_day_1m"
	qDayInstant = "query_instant"
	qDayHTTP    = "query_range_day_1m_http"
	qYearRange  = "query_range_year_1h"
	qYearSelect = "select_year_1h"
	qRecent     = "query_range_30d_1h"
)

// defaultQuery is the sum by (host) (rate(http_requests_total[5m]))
// on the data set's request counter.
const defaultQuery = `sum by (host) (rate(app_requests_total[5m]))`

// newPromQL returns the engine both stores are queried with, set up as
// Ward's API sets up its own (and with Prometheus' default limits).
func newPromQL() *promql.Engine {
	return promql.NewEngine(promql.EngineOpts{
		MaxSamples:           50_000_000,
		Timeout:              2 * time.Minute,
		LookbackDelta:        5 * time.Minute,
		EnableAtModifier:     true,
		EnableNegativeOffset: true,
	})
}

// dayQueries times the range query (the whole day at a 1m step) and
// the instant query at the end of the day.
func dayQueries(ctx context.Context, sp spec, q storage.Queryable, r *result) error {
	ng := newPromQL()
	d := sp.Data
	start, end := time.UnixMilli(d.start()), time.UnixMilli(d.end())
	qr, err := timeRange(ctx, ng, q, sp.Query, start, end, time.Minute, sp.Reps)
	if err != nil {
		return err
	}
	r.Queries[qDayRange] = qr
	logf("%s: query_range %q over the day at 1m: %.1f ms (%d series, %d points)", sp.Engine, sp.Query, qr.Ms, qr.Series, qr.Points.Samples)
	qi, err := timeInstant(ctx, ng, q, sp.Query, end, 4*sp.Reps)
	if err != nil {
		return err
	}
	r.Queries[qDayInstant] = qi
	logf("%s: instant query: %.2f ms (%d series)", sp.Engine, qi.Ms, qi.Series)
	return nil
}

// timeRange returns the median time of a range query over reps runs after
// a warm-up, and a digest of its answer.
func timeRange(ctx context.Context, ng *promql.Engine, q storage.Queryable, qs string, start, end time.Time, step time.Duration, reps int) (queryResult, error) {
	var out queryResult
	ms, err := median(reps, func() error {
		qry, err := ng.NewRangeQuery(ctx, q, nil, qs, start, end, step)
		if err != nil {
			return fmt.Errorf("parse %q: %w", qs, err)
		}
		defer qry.Close()
		res := qry.Exec(ctx)
		if res.Err != nil {
			return fmt.Errorf("query_range %q: %w", qs, res.Err)
		}
		out = digest(res)
		return nil
	})
	out.Ms = ms
	return out, err
}

// timeInstant is timeRange for an instant query at ts.
func timeInstant(ctx context.Context, ng *promql.Engine, q storage.Queryable, qs string, ts time.Time, reps int) (queryResult, error) {
	var out queryResult
	ms, err := median(reps, func() error {
		qry, err := ng.NewInstantQuery(ctx, q, nil, qs, ts)
		if err != nil {
			return fmt.Errorf("parse %q: %w", qs, err)
		}
		defer qry.Close()
		res := qry.Exec(ctx)
		if res.Err != nil {
			return fmt.Errorf("query %q: %w", qs, res.Err)
		}
		out = digest(res)
		return nil
	})
	out.Ms = ms
	return out, err
}

func digest(res *promql.Result) queryResult {
	var out queryResult
	switch v := res.Value.(type) {
	case promql.Matrix:
		out.Series = len(v)
		for _, s := range v {
			for _, p := range s.Floats {
				out.Points.add(p.F)
			}
		}
	case promql.Vector:
		out.Series = len(v)
		for _, s := range v {
			out.Points.add(s.F)
		}
	case promql.Scalar:
		out.Series = 1
		out.Points.add(v.V)
	}
	return out
}
