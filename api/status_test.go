package api

import (
	"errors"
	"net/http"
	"net/url"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/valyala/fasthttp"
)

func TestMetadata(t *testing.T) {
	ts := startServer(t, Options{Metadata: func() []Metadata {
		return []Metadata{
			{MetricFamily: "b_total", Type: "counter"},
			{MetricFamily: "a", Type: "gauge", Unit: "seconds"},
			{MetricFamily: "a", Type: "gauge", Unit: "seconds"}, // duplicates collapse
			{MetricFamily: "a", Type: "gauge", Help: "other help"},
			{MetricFamily: "c", Type: "histogram"},
		}
	}})
	r := ts.get(t, "/api/v1/metadata", nil)
	want := `{"status":"success","data":{"a":[{"type":"gauge","help":"","unit":"seconds"},{"type":"gauge","help":"other help","unit":""}],` +
		`"b_total":[{"type":"counter","help":"","unit":""}],"c":[{"type":"histogram","help":"","unit":""}]}}`
	if string(r.body) != want {
		t.Errorf("got  %s\nwant %s", r.body, want)
	}
	for _, c := range []struct {
		params url.Values
		want   string
	}{
		{url.Values{"metric": {"c"}}, `{"c":[{"type":"histogram","help":"","unit":""}]}`},
		{url.Values{"metric": {"nope"}}, `{}`},
		{url.Values{"limit": {"1"}}, `{"a":[{"type":"gauge","help":"","unit":"seconds"},{"type":"gauge","help":"other help","unit":""}]}`},
		{url.Values{"limit": {"0"}}, `{}`},
		{url.Values{"limit_per_metric": {"1"}, "metric": {"a"}}, `{"a":[{"type":"gauge","help":"","unit":"seconds"}]}`},
	} {
		r := ts.get(t, "/api/v1/metadata", c.params)
		r.wantSuccess(t, nil)
		if string(r.resp.Data) != c.want {
			t.Errorf("%s: got %s, want %s", c.params.Encode(), r.resp.Data, c.want)
		}
	}
	ts.get(t, "/api/v1/metadata", url.Values{"limit": {"x"}}).wantError(t, http.StatusBadRequest, ErrBadData, "limit must be a number")

	// Without a Metadata function the answer is an empty object.
	empty := startServer(t, Options{})
	r = empty.get(t, "/api/v1/metadata", nil)
	if string(r.body) != `{"status":"success","data":{}}` {
		t.Errorf("no metadata: %s", r.body)
	}
}

func TestStatusEndpoints(t *testing.T) {
	ts := startServer(t, Options{
		Version: "1.2.3", Revision: "abc", Branch: "main", BuildUser: "ci", BuildDate: "20250101",
		StorageRetention: "30d",
		ConfigYAML:       func() string { return "http: 127.0.0.1:8080\n" },
	})
	var bi BuildInfo
	ts.get(t, "/api/v1/status/buildinfo", nil).wantSuccess(t, &bi)
	if want := (BuildInfo{"1.2.3", "abc", "main", "ci", "20250101", runtime.Version()}); bi != want {
		t.Errorf("buildinfo: got %+v, want %+v", bi, want)
	}
	var ri map[string]any
	ts.get(t, "/api/v1/status/runtimeinfo", nil).wantSuccess(t, &ri)
	if ri["storageRetention"] != "30d" || ri["GOMAXPROCS"].(float64) < 1 || ri["reloadConfigSuccess"] != true {
		t.Errorf("runtimeinfo: %v", ri)
	}
	var cfg map[string]string
	ts.get(t, "/api/v1/status/config", nil).wantSuccess(t, &cfg)
	if cfg["yaml"] != "http: 127.0.0.1:8080\n" {
		t.Errorf("config: %v", cfg)
	}
	var flags map[string]string
	ts.get(t, "/api/v1/status/flags", nil).wantSuccess(t, &flags)

	var pretty string
	ts.get(t, "/api/v1/format_query", url.Values{"query": {`sum(rate(foo{bar="baz"}[5m]))by(job)`}}).wantSuccess(t, &pretty)
	if want := `sum by (job) (rate(foo{bar="baz"}[5m]))`; pretty != want {
		t.Errorf("format_query: got %q, want %q", pretty, want)
	}
	ts.get(t, "/api/v1/format_query", url.Values{"query": {`sum(`}}).wantError(t, http.StatusBadRequest, ErrBadData, `invalid parameter "query"`)
	ts.get(t, "/api/v1/query_exemplars", url.Values{"query": {`sum(`}}).wantError(t, http.StatusBadRequest, ErrBadData, "parse error")
	ts.get(t, "/api/v1/query_exemplars", url.Values{"query": {`up`}, "start": {"10"}, "end": {"5"}}).wantError(t, http.StatusBadRequest, ErrBadData, "end timestamp must not be before start timestamp")
}

func TestHealthReadyAndRouting(t *testing.T) {
	var notReady atomic.Bool
	ts := startServer(t, Options{Ready: func() error {
		if notReady.Load() {
			return errors.New("replaying the log")
		}
		return nil
	}})
	if r := ts.get(t, "/-/healthy", nil); r.code != 200 || string(r.body) != "Ward is Healthy.\n" {
		t.Errorf("healthy: %d %q", r.code, r.body)
	}
	if r := ts.get(t, "/-/ready", nil); r.code != 200 || string(r.body) != "Ward is Ready.\n" {
		t.Errorf("ready: %d %q", r.code, r.body)
	}
	notReady.Store(true)
	if r := ts.get(t, "/-/ready", nil); r.code != http.StatusServiceUnavailable || !strings.Contains(string(r.body), "replaying the log") {
		t.Errorf("not ready: %d %q", r.code, r.body)
	}

	ts.get(t, "/api/v1/nope", nil).wantError(t, http.StatusNotFound, ErrNotFound, "unknown API endpoint /api/v1/nope")
	if r := ts.get(t, "/nope", nil); r.code != http.StatusNotFound {
		t.Errorf("unknown page: %d", r.code)
	}
	// Not mounted without their functions.
	if r := ts.postForm(t, "/api/v1/statsd", nil); r.code != http.StatusNotFound {
		t.Errorf("statsd without IngestStatsd: %d", r.code)
	}
	req, _ := http.NewRequest(http.MethodDelete, ts.base+"/api/v1/query", nil)
	if r := ts.do(t, req); r.code != http.StatusMethodNotAllowed || r.header.Get("Allow") != "GET, POST" {
		t.Errorf("DELETE query: %d Allow=%q", r.code, r.header.Get("Allow"))
	}
	// No CORS headers unless asked for.
	req, _ = http.NewRequest(http.MethodGet, ts.base+"/api/v1/query?query=1", nil)
	req.Header.Set("Origin", "http://evil.example")
	if r := ts.do(t, req); r.header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("CORS header sent: %q", r.header.Get("Access-Control-Allow-Origin"))
	}
}

func TestHandleMountsRoutes(t *testing.T) {
	ts := startServer(t, Options{AuthToken: "s3cret"})
	ts.Handle(http.MethodGet, "/api/v1/deploys/{id}/events/{rest...}", func(ctx *fasthttp.RequestCtx) {
		ctx.SetBodyString(PathParam(ctx, "id") + "|" + PathParam(ctx, "rest"))
	})
	ts.Handle(http.MethodPost, "/api/v1/deploys", func(ctx *fasthttp.RequestCtx) {
		ctx.SetBodyString("created")
	})
	ts.Handle(http.MethodGet, "/boom", func(ctx *fasthttp.RequestCtx) { panic("boom") })

	if r := ts.get(t, "/api/v1/deploys/42/events/a/b", nil); string(r.body) != "42|a/b" {
		t.Errorf("path params: %d %q", r.code, r.body)
	}
	ts.get(t, "/api/v1/deploys/42/events", nil).wantError(t, http.StatusNotFound, ErrNotFound, "unknown API endpoint")
	ts.get(t, "/api/v1/deploys//events/x", nil).wantError(t, http.StatusNotFound, ErrNotFound, "unknown API endpoint")
	// A POST route is a write: it needs the token.
	ts.postForm(t, "/api/v1/deploys", nil).wantError(t, http.StatusUnauthorized, ErrUnauthorized, "bearer token")

	ts.get(t, "/boom", nil).wantError(t, http.StatusInternalServerError, ErrInternal, "internal error handling GET /boom")
	if got := ts.m.panics.Get(); got != 1 {
		t.Errorf("panics counted: %d", got)
	}
	// The server still answers after a panic.
	ts.get(t, "/-/healthy", nil)

	mustPanic := func(name string, f func()) {
		defer func() {
			if recover() == nil {
				t.Errorf("%s: no panic", name)
			}
		}()
		f()
	}
	mustPanic("duplicate", func() { ts.Handle(http.MethodGet, "/api/v1/query", func(*fasthttp.RequestCtx) {}) })
	mustPanic("relative", func() { ts.Handle(http.MethodGet, "api", func(*fasthttp.RequestCtx) {}) })
	mustPanic("rest not last", func() { ts.Handle(http.MethodGet, "/a/{x...}/b", func(*fasthttp.RequestCtx) {}) })
}

func TestAuth(t *testing.T) {
	var got atomic.Value
	ingest := func(body []byte) any {
		got.Store(string(body))
		return map[string]any{"accepted": strings.Count(string(body), "\n")}
	}
	ts := startServer(t, Options{AuthToken: "s3cret", IngestStatsd: ingest})
	post := func(auth string) httpResult {
		req, _ := http.NewRequest(http.MethodPost, ts.base+"/api/v1/statsd", strings.NewReader("a:1|c\nb:2|g\n"))
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		return ts.do(t, req)
	}
	for _, auth := range []string{"", "Bearer wrong", "Bearer s3cre", "Bearer s3cret2", "Basic s3cret", "s3cret"} {
		r := post(auth)
		r.wantError(t, http.StatusUnauthorized, ErrUnauthorized, "missing or wrong bearer token")
		if r.header.Get("WWW-Authenticate") == "" {
			t.Errorf("%q: no WWW-Authenticate", auth)
		}
	}
	if got.Load() != nil {
		t.Fatalf("an unauthorised body reached ingest: %q", got.Load())
	}
	r := post("bearer s3cret")
	var res map[string]int
	r.wantSuccess(t, &res)
	if res["accepted"] != 2 || got.Load() != "a:1|c\nb:2|g\n" {
		t.Errorf("statsd: result %v, body %q", res, got.Load())
	}
	if n := ts.m.authFailures.Get(); n != 6 {
		t.Errorf("auth failures counted %d, want 6", n)
	}
	// Reads stay open without RequireAuthForReads, POSTed queries included.
	ts.postForm(t, "/api/v1/query", url.Values{"query": {"1"}}).wantSuccess(t, nil)

	closed := startServer(t, Options{AuthToken: "s3cret", RequireAuthForReads: true})
	closed.postForm(t, "/api/v1/query", url.Values{"query": {"1"}}).wantError(t, http.StatusUnauthorized, ErrUnauthorized, "bearer")
	closed.get(t, "/metrics", nil).wantError(t, http.StatusUnauthorized, ErrUnauthorized, "bearer")
	if r := closed.get(t, "/-/healthy", nil); r.code != 200 {
		t.Errorf("health checks need no token: %d", r.code)
	}
	req, _ := http.NewRequest(http.MethodGet, closed.base+"/api/v1/query?query=1", nil)
	req.Header.Set("Authorization", "Bearer s3cret")
	closed.do(t, req).wantSuccess(t, nil)
}

func TestIngestErrorsEndpoint(t *testing.T) {
	ts := startServer(t, Options{IngestErrors: func() any {
		return []map[string]any{{"line": "x|q", "reason": "unknown type"}}
	}})
	var got []map[string]any
	ts.get(t, "/api/v1/ingest/errors", nil).wantSuccess(t, &got)
	if len(got) != 1 || got[0]["reason"] != "unknown type" {
		t.Errorf("ingest errors: %v", got)
	}
}

func TestSizeLimits(t *testing.T) {
	ts := startServer(t, Options{MaxBodyBytes: 1024, MaxHeaderBytes: 4096, IngestStatsd: func(b []byte) any { return len(b) }})
	req, _ := http.NewRequest(http.MethodPost, ts.base+"/api/v1/statsd", strings.NewReader(strings.Repeat("a:1|c\n", 200)))
	if r := ts.do(t, req); r.code != http.StatusRequestEntityTooLarge {
		t.Errorf("1200-byte body over a 1024-byte limit: %d %s", r.code, r.body)
	}
	req, _ = http.NewRequest(http.MethodPost, ts.base+"/api/v1/statsd", strings.NewReader(strings.Repeat("a:1|c\n", 100)))
	var n int
	ts.do(t, req).wantSuccess(t, &n)
	if n != 600 {
		t.Errorf("body of 600 bytes arrived as %d", n)
	}
	long := `x{a="` + strings.Repeat("y", 8000) + `"}`
	if r := ts.get(t, "/api/v1/query", url.Values{"query": {long}}); r.code != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("8 KB request line over a 4 KB header limit: %d", r.code)
	}
	// The same query fits in a POST body.
	big := startServer(t, Options{MaxHeaderBytes: 4096})
	big.postForm(t, "/api/v1/query", url.Values{"query": {long}}).wantSuccess(t, nil)
}

func TestMetricsEndpoint(t *testing.T) {
	ts := startServer(t, Options{})
	for range 3 {
		ts.get(t, "/api/v1/query", url.Values{"query": {"http_requests_total"}, "time": {"60"}})
	}
	ts.get(t, "/api/v1/query_range", url.Values{"query": {"sum("}, "start": {"0"}, "end": {"60"}, "step": {"15"}})
	r := ts.get(t, "/metrics", nil)
	if !strings.HasPrefix(r.header.Get("Content-Type"), "text/plain") {
		t.Errorf("content type %q", r.header.Get("Content-Type"))
	}
	body := string(r.body)
	for _, want := range []string{
		`ward_api_queries_total{endpoint="query"} 3`,
		`ward_api_queries_total{endpoint="query_range"} 1`,
		`ward_api_query_errors_total{endpoint="query_range",type="bad_data"} 1`,
		`ward_api_query_duration_seconds_count{endpoint="query"} 3`,
		`ward_api_query_samples_total{endpoint="query"} 9`,
		`ward_http_requests_total{path="/api/v1/query",method="GET",code="200"} 3`,
		`ward_http_requests_total{path="/api/v1/query_range",method="GET",code="400"} 1`,
		`ward_http_request_duration_seconds_bucket{path="/api/v1/query",le="+Inf"} 3`,
		`ward_api_queries_concurrent_max 20`,
		`process_resident_memory_bytes `,
		`go_goroutines `,
	} {
		if !strings.Contains(body, want+"\n") && !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}

func TestOptionsValidation(t *testing.T) {
	for _, c := range []struct {
		opts Options
		msg  string
	}{
		{Options{}, "Queryable is nil"},
		{Options{Queryable: loadTestStorage(t), Timeout: -1}, "Options.Timeout is negative"},
		{Options{Queryable: loadTestStorage(t), RequireAuthForReads: true}, "without an AuthToken"},
	} {
		if _, err := New(c.opts); err == nil || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("New(%+v): got %v, want an error containing %q", c.opts, err, c.msg)
		}
	}
}
