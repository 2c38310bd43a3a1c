// Package remote evaluates PromQL against a Prometheus-compatible query endpoint (a
// VictoriaMetrics cluster's vmselect, Mimir, Thanos query, Prometheus) instead of Ward's
// own storage. Whole expressions go to the remote: with several Ward ingest nodes
// writing into one cluster, only the cluster sees every node's series, so only it can
// answer a sum across them.
//
// Querier's Query and QueryRange have the signatures of rules.QueryFunc,
// deploy.QueryFunc and deploy.RangeQueryFunc; the daemon passes them instead of the
// local engine when `ward serve --query-url` is set.
package remote

import (
	"context"
	"fmt"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"

	"github.com/wardmetrics/ward/api/client"
)

// Options configure a Querier. The zero value of each field means its default.
type Options struct {
	// Timeout bounds one query (default 2m); the caller's context may bound it further.
	Timeout time.Duration
	// Token, when set, is sent as "Authorization: Bearer <token>".
	Token string
}

// Querier evaluates queries on one remote endpoint. It is safe for concurrent use.
type Querier struct {
	c       *client.Client
	timeout time.Duration

	queries  *metrics.Counter
	failures *metrics.Counter
	duration *metrics.Histogram
}

// New returns a Querier of the endpoint at baseURL, the URL under which /api/v1/query
// answers: http://vm:8428 for VictoriaMetrics single-node,
// http://vmselect:8481/select/0/prometheus for its cluster, http://mimir/prometheus.
func New(baseURL string, o Options, set *metrics.Set) (*Querier, error) {
	if o.Timeout <= 0 {
		o.Timeout = 2 * time.Minute
	}
	c, err := client.New(baseURL, client.Options{Token: o.Token})
	if err != nil {
		return nil, fmt.Errorf("remote query endpoint: %w", err)
	}
	return &Querier{
		c:        c,
		timeout:  o.Timeout,
		queries:  set.NewCounter(`ward_remote_query_requests_total`),
		failures: set.NewCounter(`ward_remote_query_failures_total`),
		duration: set.NewHistogram(`ward_remote_query_duration_seconds`),
	}, nil
}

// Query evaluates expr at t on the remote. A scalar result becomes a one-sample vector
// without labels, as the local engine's adapters do.
func (q *Querier) Query(ctx context.Context, expr string, t time.Time) (promql.Vector, error) {
	res, err := q.do(ctx, func(ctx context.Context) (*client.Result, error) { return q.c.Query(ctx, expr, t) })
	if err != nil {
		return nil, err
	}
	switch res.Type {
	case "vector":
		out := make(promql.Vector, 0, len(res.Vector))
		for _, s := range res.Vector {
			if s.H != nil {
				return nil, fmt.Errorf("remote query %q: native histogram results are not supported", expr)
			}
			out = append(out, promql.Sample{Metric: s.Metric, T: s.T.UnixMilli(), F: s.V})
		}
		return out, nil
	case "scalar":
		return promql.Vector{{Metric: labels.EmptyLabels(), T: res.Scalar.T.UnixMilli(), F: res.Scalar.V}}, nil
	}
	return nil, fmt.Errorf("remote query %q returned %s, want a vector or scalar", expr, res.Type)
}

// QueryRange evaluates expr at every step from start to end on the remote.
func (q *Querier) QueryRange(ctx context.Context, expr string, start, end time.Time, step time.Duration) (promql.Matrix, error) {
	res, err := q.do(ctx, func(ctx context.Context) (*client.Result, error) {
		return q.c.QueryRange(ctx, expr, start, end, step)
	})
	if err != nil {
		return nil, err
	}
	if res.Type != "matrix" {
		return nil, fmt.Errorf("remote range query %q returned %s, want a matrix", expr, res.Type)
	}
	out := make(promql.Matrix, 0, len(res.Matrix))
	for _, s := range res.Matrix {
		if len(s.Histograms) > 0 {
			return nil, fmt.Errorf("remote range query %q: native histogram results are not supported", expr)
		}
		fs := make([]promql.FPoint, len(s.Points))
		for i, p := range s.Points {
			fs[i] = promql.FPoint{T: p.T.UnixMilli(), F: p.V}
		}
		out = append(out, promql.Series{Metric: s.Metric, Floats: fs})
	}
	return out, nil
}

func (q *Querier) do(ctx context.Context, call func(context.Context) (*client.Result, error)) (*client.Result, error) {
	ctx, cancel := context.WithTimeout(ctx, q.timeout)
	defer cancel()
	start := time.Now()
	q.queries.Inc()
	res, err := call(ctx)
	q.duration.UpdateDuration(start)
	if err != nil {
		q.failures.Inc()
		return nil, err
	}
	return res, nil
}
