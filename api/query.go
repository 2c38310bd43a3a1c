package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/util/annotations"
	"github.com/prometheus/prometheus/util/stats"
	"github.com/valyala/fasthttp"
)

// newEngine builds the PromQL engine with Prometheus' defaults for the
// features Prometheus turns on (@ modifier, negative offsets). The engine's
// own concurrency tracker is off: the server's gate queues queries instead,
// without a file-backed query log.
func newEngine(o Options) *promql.Engine {
	step := o.SubqueryStep.Milliseconds()
	return promql.NewEngine(promql.EngineOpts{
		MaxSamples:               o.MaxSamples,
		Timeout:                  o.Timeout,
		LookbackDelta:            o.LookbackDelta,
		NoStepSubqueryIntervalFn: func(int64) int64 { return step },
		EnableAtModifier:         true,
		EnableNegativeOffset:     true,
		EnablePerStepStats:       true,
	})
}

// Engine returns the server's PromQL engine, so that rule evaluation can
// share its limits.
func (s *Server) Engine() *promql.Engine { return s.engine }

// acquire takes one of MaxConcurrent query slots, waiting until ctx is done.
func (s *Server) acquire(ctx context.Context) (release func(), err error) {
	release = func() { <-s.slots }
	select {
	case s.slots <- struct{}{}:
		return release, nil
	default:
	}
	s.m.waiting.Add(1)
	defer s.m.waiting.Add(-1)
	select {
	case s.slots <- struct{}{}:
		return release, nil
	case <-ctx.Done():
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return nil, promql.ErrQueryTimeout("query queue")
		}
		return nil, promql.ErrQueryCanceled("query queue")
	}
}

// queryContext applies the server's timeout, shortened by the request's
// "timeout" parameter.
func (s *Server) queryContext(f form) (context.Context, context.CancelFunc, *apiError) {
	timeout := s.opts.Timeout
	if v := f.value("timeout"); v != "" {
		d, err := ParseDuration(v)
		if err != nil {
			return nil, nil, invalidParam("timeout", err)
		}
		if d <= 0 {
			return nil, nil, invalidParam("timeout", fmt.Errorf("timeout must be positive, got %s", d))
		}
		timeout = min(timeout, d)
	}
	ctx, cancel := context.WithTimeout(s.baseCtx, timeout)
	return ctx, cancel, nil
}

func (s *Server) queryOpts(f form) (promql.QueryOpts, *apiError) {
	var lookback time.Duration
	if v := f.value("lookback_delta"); v != "" {
		d, err := ParseDuration(v)
		if err != nil {
			return nil, badData("error parsing lookback delta duration: %w", err)
		}
		lookback = d
	}
	return promql.NewPrometheusQueryOpts(f.value("stats") == "all", lookback, nil), nil
}

func (s *Server) handleQuery(ctx *fasthttp.RequestCtx) {
	if err := s.runQuery(ctx, false); err != nil {
		s.m.queryErrors(epQuery, err.typ).Inc()
		respondError(ctx, err)
	}
}

func (s *Server) handleQueryRange(ctx *fasthttp.RequestCtx) {
	if err := s.runQuery(ctx, true); err != nil {
		s.m.queryErrors(epQueryRange, err.typ).Inc()
		respondError(ctx, err)
	}
}

// runQuery answers /api/v1/query and /api/v1/query_range, which differ only
// in their time parameters.
func (s *Server) runQuery(rc *fasthttp.RequestCtx, isRange bool) *apiError {
	ep := epQuery
	if isRange {
		ep = epQueryRange
	}
	s.m.queries[ep].Inc()
	f := formOf(rc)
	limit, apiErr := f.limit()
	if apiErr != nil {
		return apiErr
	}
	var (
		start, end time.Time
		step       time.Duration
	)
	if isRange {
		if start, end, step, apiErr = s.rangeParams(f); apiErr != nil {
			return apiErr
		}
	} else if start, apiErr = f.time("time", s.opts.Now()); apiErr != nil {
		return apiErr
	}
	qctx, cancel, apiErr := s.queryContext(f)
	if apiErr != nil {
		return apiErr
	}
	defer cancel()
	opts, apiErr := s.queryOpts(f)
	if apiErr != nil {
		return apiErr
	}

	expr := f.value("query")
	var (
		qry promql.Query
		err error
	)
	if isRange {
		qry, err = s.engine.NewRangeQuery(qctx, s.opts.Queryable, opts, expr, start, end, step)
	} else {
		qry, err = s.engine.NewInstantQuery(qctx, s.opts.Queryable, opts, expr, start)
	}
	if err != nil {
		return constructionError(err)
	}
	// Close hands the result's slices back to the engine's pools: encode first.
	defer qry.Close()

	began := time.Now()
	release, err := s.acquire(qctx)
	if err != nil {
		return queryError(err)
	}
	s.m.running.Add(1)
	res := qry.Exec(qctx)
	s.m.running.Add(-1)
	release()
	s.m.duration[ep].UpdateDuration(began)
	if st := qry.Stats(); st != nil && st.Samples != nil {
		s.m.samples[ep].Add(int(st.Samples.TotalSamples))
	}
	if res.Err != nil {
		return queryError(res.Err)
	}

	if v, ok := res.Value.(promql.Vector); ok && !ordersResult(qry.Statement()) {
		// The engine returns instant vectors in storage order, which varies
		// between runs; sorted output makes answers (and `ward query`
		// tables) reproducible. Queries that order their result keep it.
		slices.SortFunc(v, func(a, b promql.Sample) int { return labels.Compare(a.Metric, b.Metric) })
	}
	warnings := res.Warnings
	if limit > 0 && truncate(res, limit) {
		warnings = warnings.Add(errors.New("results truncated due to limit"))
	}
	var statsJSON []byte
	if p := f.value("stats"); p != "" {
		if statsJSON, err = json.Marshal(stats.NewQueryStats(qry.Stats())); err != nil {
			return &apiError{ErrInternal, fmt.Errorf("encode query stats: %w", err)}
		}
	}
	s.writeValue(rc, res, statsJSON, warnings, expr)
	return nil
}

func (s *Server) writeValue(rc *fasthttp.RequestCtx, res *promql.Result, statsJSON []byte, warnings annotations.Annotations, expr string) {
	bp := s.getBuf()
	defer s.putBuf(bp)
	b := beginSuccess((*bp)[:0])
	b = appendValue(b, res.Value)
	if statsJSON != nil {
		b = append(b[:len(b)-1], `,"stats":`...)
		b = append(b, statsJSON...)
		b = append(b, '}')
	}
	b = finishSuccess(b, warnings, expr)
	writeJSON(rc, b)
	*bp = b
}

func (s *Server) rangeParams(f form) (start, end time.Time, step time.Duration, e *apiError) {
	var err error
	if start, err = ParseTime(f.value("start")); err != nil {
		return start, end, step, invalidParam("start", err)
	}
	if end, err = ParseTime(f.value("end")); err != nil {
		return start, end, step, invalidParam("end", err)
	}
	if end.Before(start) {
		return start, end, step, invalidParam("end", errors.New("end timestamp must not be before start time"))
	}
	if step, err = ParseDuration(f.value("step")); err != nil {
		return start, end, step, invalidParam("step", err)
	}
	if step <= 0 {
		return start, end, step, invalidParam("step", errors.New("zero or negative query resolution step widths are not accepted. Try a positive integer"))
	}
	if max := s.opts.MaxPointsPerSeries; end.Sub(start)/step > time.Duration(max) {
		return start, end, step, badData("exceeded maximum resolution of %s points per timeseries. Try decreasing the query resolution (?step=XX)", thousands(max))
	}
	return start, end, step, nil
}

// constructionError maps an error from building a query (parsing, mostly)
// as Prometheus does.
func constructionError(err error) *apiError {
	var (
		eqt promql.ErrQueryTimeout
		eqc promql.ErrQueryCanceled
	)
	if errors.As(err, &eqt) || errors.As(err, &eqc) {
		return queryError(err)
	}
	return invalidParam("query", err)
}

// ordersResult reports whether the query's outermost expression is one of
// the sort functions, whose order the API must keep.
func ordersResult(stmt parser.Statement) bool {
	es, ok := stmt.(*parser.EvalStmt)
	if !ok {
		return false
	}
	e := es.Expr
	for {
		switch x := e.(type) {
		case *parser.ParenExpr:
			e = x.Expr
			continue
		case *parser.StepInvariantExpr:
			e = x.Expr
			continue
		case *parser.Call:
			return strings.HasPrefix(x.Func.Name, "sort")
		}
		return false
	}
}

// truncate keeps the first limit series of a vector or matrix result.
func truncate(res *promql.Result, limit int) bool {
	switch v := res.Value.(type) {
	case promql.Matrix:
		if len(v) > limit {
			res.Value = v[:limit]
			return true
		}
	case promql.Vector:
		if len(v) > limit {
			res.Value = v[:limit]
			return true
		}
	}
	return false
}

// thousands formats n as Prometheus' error messages do: 11,000.
func thousands(n int) string {
	s := fmt.Sprint(n)
	if n < 0 {
		return s
	}
	var out []byte
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	return string(out)
}
