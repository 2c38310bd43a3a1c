package api

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/promql/promqltest"
	"github.com/prometheus/prometheus/storage"
)

// testData is loaded into Prometheus' own TSDB (an outside reference) for
// the endpoint tests: series at 0s, 1m, 2m, ... from the Unix epoch.
const testData = `
load 1m
	http_requests_total{job="api",instance="a",code="200"} 0+10x60
	http_requests_total{job="api",instance="b",code="500"} 0+1x60
	http_requests_total{job="web",instance="c",code="200"} 0+5x60
	temperature{room="kitchen"} 20 21 22 NaN Inf -Inf 1e-7 1e22
	latency_seconds{job="api"} {{schema:0 sum:5 count:4 z_bucket_w:0.001 z_bucket:1 buckets:[1 2] n_buckets:[0 0]}}x60
`

func loadTestStorage(t testing.TB) storage.Queryable {
	return promqltest.LoadedStorage(t, testData)
}

// testServer is a Server on a real loopback socket.
type testServer struct {
	*Server
	base   string
	client *http.Client
}

// startServer serves opts on 127.0.0.1:0 until the test ends.
func startServer(t testing.TB, opts Options) *testServer {
	t.Helper()
	if opts.Queryable == nil {
		opts.Queryable = loadTestStorage(t)
	}
	if opts.Now == nil {
		opts.Now = func() time.Time { return time.Unix(3600, 0) }
	}
	s, err := New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return serveBuilt(t, s)
}

// serveBuilt serves s on 127.0.0.1:0 until the test ends.
func serveBuilt(t testing.TB, s *Server) *testServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln) }()
	transport := &http.Transport{}
	t.Cleanup(func() {
		transport.CloseIdleConnections()
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return &testServer{Server: s, base: "http://" + ln.Addr().String(), client: &http.Client{Transport: transport, Timeout: time.Minute}}
}

// apiResponse is Prometheus' envelope with the data left raw.
type apiResponse struct {
	Status    string          `json:"status"`
	Data      json.RawMessage `json:"data"`
	ErrorType string          `json:"errorType"`
	Error     string          `json:"error"`
	Warnings  []string        `json:"warnings"`
	Infos     []string        `json:"infos"`
}

type httpResult struct {
	code   int
	header http.Header
	body   []byte
	resp   apiResponse
}

func (ts *testServer) do(t testing.TB, req *http.Request) httpResult {
	t.Helper()
	resp, err := ts.client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read body: %v", err)
	}
	r := httpResult{code: resp.StatusCode, header: resp.Header, body: body}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(body, &r.resp); err != nil {
			t.Fatalf("%s %s: response is not JSON: %v\n%s", req.Method, req.URL, err, body)
		}
	}
	return r
}

func (ts *testServer) get(t testing.TB, path string, params url.Values) httpResult {
	t.Helper()
	u := ts.base + path
	if len(params) > 0 {
		u += "?" + params.Encode()
	}
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	return ts.do(t, req)
}

func (ts *testServer) postForm(t testing.TB, path string, params url.Values) httpResult {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, ts.base+path, strings.NewReader(params.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return ts.do(t, req)
}

// wantSuccess fails the test unless r is a 200 success envelope and decodes
// its data into v.
func (r httpResult) wantSuccess(t testing.TB, v any) {
	t.Helper()
	if r.code != http.StatusOK || r.resp.Status != "success" {
		t.Fatalf("got %d %s (%s: %s), want 200 success\n%s", r.code, r.resp.Status, r.resp.ErrorType, r.resp.Error, r.body)
	}
	if v != nil {
		if err := json.Unmarshal(r.resp.Data, v); err != nil {
			t.Fatalf("decode data: %v\n%s", err, r.resp.Data)
		}
	}
}

// wantError fails the test unless r is an error envelope with this code and
// type whose message contains msg.
func (r httpResult) wantError(t testing.TB, code int, typ ErrorType, msg string) {
	t.Helper()
	if r.code != code || r.resp.Status != "error" || r.resp.ErrorType != string(typ) || !strings.Contains(r.resp.Error, msg) {
		t.Fatalf("got %d %q %q %q, want %d error %q containing %q\n%s", r.code, r.resp.Status, r.resp.ErrorType, r.resp.Error, code, typ, msg, r.body)
	}
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}
