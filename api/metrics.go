package api

import (
	"fmt"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/valyala/fasthttp"
)

// Query endpoints, as the "endpoint" label of the query metrics.
const (
	epQuery = iota
	epQueryRange
	numEndpoints
)

var endpointNames = [numEndpoints]string{"query", "query_range"}

// durationBuckets spans a cached instant query to a query at the timeout.
var durationBuckets = []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120}

// serverMetrics are the server's self-observations in Options.Metrics.
type serverMetrics struct {
	set *metrics.Set

	queries  [numEndpoints]*metrics.Counter
	duration [numEndpoints]*metrics.PrometheusHistogram
	samples  [numEndpoints]*metrics.Counter
	running  atomic.Int64
	waiting  atomic.Int64

	authFailures *metrics.Counter
	panics       *metrics.Counter
}

func newServerMetrics(set *metrics.Set, maxConcurrent int) *serverMetrics {
	m := &serverMetrics{set: set}
	for ep, name := range endpointNames {
		m.queries[ep] = set.NewCounter(fmt.Sprintf(`ward_api_queries_total{endpoint=%q}`, name))
		m.duration[ep] = set.NewPrometheusHistogramExt(fmt.Sprintf(`ward_api_query_duration_seconds{endpoint=%q}`, name), durationBuckets)
		m.samples[ep] = set.NewCounter(fmt.Sprintf(`ward_api_query_samples_total{endpoint=%q}`, name))
	}
	set.NewGauge(`ward_api_queries_running`, func() float64 { return float64(m.running.Load()) })
	set.NewGauge(`ward_api_queries_waiting`, func() float64 { return float64(m.waiting.Load()) })
	set.NewGauge(`ward_api_queries_concurrent_max`, func() float64 { return float64(maxConcurrent) })
	m.authFailures = set.NewCounter(`ward_http_auth_failures_total`)
	m.panics = set.NewCounter(`ward_http_panics_total`)
	return m
}

// queryErrors counts failed queries by endpoint and Prometheus error type.
func (m *serverMetrics) queryErrors(ep int, typ ErrorType) *metrics.Counter {
	return m.set.GetOrCreateCounter(fmt.Sprintf(`ward_api_query_errors_total{endpoint=%q,type=%q}`, endpointNames[ep], typ))
}

// instrumentRoute creates the per-route request metrics.
func (m *serverMetrics) instrumentRoute(r *route) {
	r.duration = m.set.GetOrCreatePrometheusHistogramExt(
		fmt.Sprintf(`ward_http_request_duration_seconds{path=%q}`, r.pattern), durationBuckets)
}

// observe counts a finished request of r by status code.
func (m *serverMetrics) observe(r *route, code int, began time.Time) {
	r.duration.UpdateDuration(began)
	c, ok := r.requests.Load(code)
	if !ok {
		c, _ = r.requests.LoadOrStore(code, m.set.GetOrCreateCounter(
			fmt.Sprintf(`ward_http_requests_total{path=%q,method=%q,code="%s"}`, r.pattern, r.method, strconv.Itoa(code))))
	}
	c.(*metrics.Counter).Inc()
}

// observeUnrouted counts requests no route took (404 and 405).
func (m *serverMetrics) observeUnrouted(ctx *fasthttp.RequestCtx) {
	m.set.GetOrCreateCounter(fmt.Sprintf(`ward_http_requests_total{path="unmatched",method="",code="%d"}`, ctx.Response.StatusCode())).Inc()
}
