package api

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// upstream is a Prometheus-compatible endpoint on loopback that records what it is
// asked and answers what the test sets.
type upstream struct {
	*httptest.Server
	mu   sync.Mutex
	reqs []recorded
	code int
	ct   string
	body string
}

type recorded struct {
	method, path, rawQuery, body, contentType, auth string
}

func startUpstream(t *testing.T) *upstream {
	t.Helper()
	u := &upstream{code: 200, ct: "application/json", body: `{"status":"success","data":{"resultType":"vector","result":[]}}`}
	u.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		u.mu.Lock()
		u.reqs = append(u.reqs, recorded{r.Method, r.URL.EscapedPath(), r.URL.RawQuery, string(b), r.Header.Get("Content-Type"), r.Header.Get("Authorization")})
		code, ct, body := u.code, u.ct, u.body
		u.mu.Unlock()
		w.Header().Set("Content-Type", ct)
		w.WriteHeader(code)
		_, _ = io.WriteString(w, body)
	}))
	t.Cleanup(u.Close)
	return u
}

func (u *upstream) last(t *testing.T) recorded {
	t.Helper()
	u.mu.Lock()
	defer u.mu.Unlock()
	if len(u.reqs) == 0 {
		t.Fatal("upstream got no request")
	}
	return u.reqs[len(u.reqs)-1]
}

func (u *upstream) count() int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return len(u.reqs)
}

func (u *upstream) answer(code int, ct, body string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.code, u.ct, u.body = code, ct, body
}

// startProxy serves a Server whose reads are proxied to base.
func startProxy(t *testing.T, base string, o ProxyOptions) *testServer {
	t.Helper()
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{Transport: tr}
	}
	s, err := New(Options{Queryable: loadTestStorage(t)})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.ProxyQueries(base, o); err != nil {
		t.Fatalf("ProxyQueries(%s): %v", base, err)
	}
	return serveBuilt(t, s)
}

func TestProxyQueriesForwardsExactly(t *testing.T) {
	up := startUpstream(t)
	base, _ := url.Parse(up.URL)
	base.User = url.UserPassword("ward", "s3cret")
	base.Path = "/select/0/prometheus/"
	ts := startProxy(t, base.String(), ProxyOptions{})

	// GET: path under the base path, query string unchanged, answer unchanged.
	up.answer(200, "application/json", `{"status":"success","data":{"resultType":"scalar","result":[1,"7"]}}`)
	r := ts.get(t, "/api/v1/query", url.Values{"query": {`sum(rate(x{a="b"}[5m]))`}, "time": {"12.5"}})
	var data struct {
		ResultType string `json:"resultType"`
	}
	r.wantSuccess(t, &data)
	if data.ResultType != "scalar" {
		t.Errorf("result type %q, want the upstream's scalar", data.ResultType)
	}
	got := up.last(t)
	want := url.Values{"query": {`sum(rate(x{a="b"}[5m]))`}, "time": {"12.5"}}.Encode()
	if got.method != "GET" || got.path != "/select/0/prometheus/api/v1/query" || got.rawQuery != want {
		t.Errorf("upstream got %s %s?%s, want GET /select/0/prometheus/api/v1/query?%s", got.method, got.path, got.rawQuery, want)
	}
	if !strings.HasPrefix(got.auth, "Basic ") {
		t.Errorf("upstream Authorization %q: want basic auth from the URL's user info", got.auth)
	}

	// POST form: the body and its content type go through.
	form := url.Values{"query": {"up"}, "start": {"0"}, "end": {"60"}, "step": {"15"}}
	ts.postForm(t, "/api/v1/query_range", form).wantSuccess(t, nil)
	got = up.last(t)
	if got.method != "POST" || got.path != "/select/0/prometheus/api/v1/query_range" || got.body != form.Encode() ||
		got.contentType != "application/x-www-form-urlencoded" {
		t.Errorf("upstream got %+v, want the form POSTed to query_range", got)
	}

	// Label values: the name is part of the path.
	ts.get(t, "/api/v1/label/__name__/values", url.Values{"match[]": {"up"}}).wantSuccess(t, nil)
	if got = up.last(t); got.path != "/select/0/prometheus/api/v1/label/__name__/values" || got.rawQuery != "match%5B%5D=up" {
		t.Errorf("upstream got %s?%s, want label/__name__/values?match[]=up", got.path, got.rawQuery)
	}
	ts.get(t, "/api/v1/series", url.Values{"match[]": {"up"}}).wantSuccess(t, nil)
	ts.get(t, "/api/v1/labels", nil).wantSuccess(t, nil)
	if n := up.count(); n != 5 {
		t.Errorf("upstream got %d requests, want 5", n)
	}

	// The remote's errors come back with their status and body.
	up.answer(400, "application/json", `{"status":"error","errorType":"bad_data","error":"parse error at char 3"}`)
	ts.get(t, "/api/v1/query", url.Values{"query": {"1 +"}}).wantError(t, 400, ErrBadData, "parse error at char 3")
	up.answer(502, "text/plain", "bad gateway\n")
	if r := ts.get(t, "/api/v1/query", url.Values{"query": {"up"}}); r.code != 502 || string(r.body) != "bad gateway\n" {
		t.Errorf("got %d %q, want the upstream's 502 and body", r.code, r.body)
	}

	// Endpoints that do not read samples stay local.
	before := up.count()
	ts.get(t, "/api/v1/status/buildinfo", nil).wantSuccess(t, nil)
	ts.get(t, "/api/v1/format_query", url.Values{"query": {"up+1"}}).wantSuccess(t, nil)
	if up.count() != before {
		t.Error("buildinfo and format_query reached the upstream, want them answered locally")
	}
}

func TestProxyQueriesLimits(t *testing.T) {
	up := startUpstream(t)
	ts := startProxy(t, up.URL, ProxyOptions{MaxResponseBytes: 100})
	up.answer(200, "application/json", `{"status":"success","data":["`+strings.Repeat("a", 200)+`"]}`)
	ts.get(t, "/api/v1/labels", nil).wantError(t, 422, ErrExecution, "larger than 100 bytes")

	// A remote that does not answer in time: 503 timeout, and the URL's path is not
	// in the message (only the host).
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
	}))
	defer slow.Close()
	ts2 := startProxy(t, slow.URL+"/secret-path", ProxyOptions{Timeout: 50 * time.Millisecond})
	r := ts2.get(t, "/api/v1/query", url.Values{"query": {"up"}})
	r.wantError(t, 503, ErrTimeout, "remote 127.0.0.1")
	if strings.Contains(r.resp.Error, "secret-path") {
		t.Errorf("error %q names the remote's URL, want only its host", r.resp.Error)
	}

	// A remote that is down: 503 unavailable.
	down := httptest.NewServer(http.NotFoundHandler())
	downURL := down.URL
	down.Close()
	startProxy(t, downURL, ProxyOptions{}).get(t, "/api/v1/series", url.Values{"match[]": {"up"}}).
		wantError(t, 503, ErrUnavailable, "remote 127.0.0.1")
}

func TestProxyQueriesRejectsBadURL(t *testing.T) {
	s, err := New(Options{Queryable: loadTestStorage(t)})
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{"vm:8428", "ftp://vm", "http://", "://x"} {
		if err := s.ProxyQueries(u, ProxyOptions{}); err == nil {
			t.Errorf("ProxyQueries(%q): want an error", u)
		}
	}
}
