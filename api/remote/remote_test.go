package remote

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// fakeRemote is the outside world: a Prometheus-compatible API answering canned JSON
// by query text, recording the path and auth header it was called with.
func fakeRemote(t *testing.T, answers map[string]string) (*httptest.Server, *[]string) {
	var seen []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		seen = append(seen, r.URL.Path+" "+r.Header.Get("Authorization"))
		body, ok := answers[r.Form.Get("query")]
		if !ok {
			w.WriteHeader(http.StatusBadRequest)
			body = `{"status":"error","errorType":"bad_data","error":"unknown query"}`
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(body))
	}))
	t.Cleanup(srv.Close)
	return srv, &seen
}

func TestQuerier(t *testing.T) {
	srv, seen := fakeRemote(t, map[string]string{
		"up": `{"status":"success","data":{"resultType":"vector","result":[
			{"metric":{"__name__":"up","job":"a"},"value":[1700000000.5,"1"]},
			{"metric":{"__name__":"up","job":"b"},"value":[1700000000.5,"0"]}]}}`,
		"1+1": `{"status":"success","data":{"resultType":"scalar","result":[1700000000,"2"]}}`,
		`"s"`: `{"status":"success","data":{"resultType":"string","result":[1700000000,"s"]}}`,
		"rate(x[1m])": `{"status":"success","data":{"resultType":"matrix","result":[
			{"metric":{"job":"a"},"values":[[1700000000,"1.5"],[1700000060,"2.5"]]}]}}`,
	})
	set := metrics.NewSet()
	q, err := New(srv.URL+"/select/0/prometheus/", Options{Token: "tok"}, set)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	v, err := q.Query(ctx, "up", time.Unix(1700000000, 0))
	if err != nil {
		t.Fatal(err)
	}
	if len(v) != 2 || v[0].Metric.Get("job") != "a" || v[0].F != 1 || v[0].T != 1700000000500 || v[1].F != 0 {
		t.Errorf("vector: got %v", v)
	}
	v, err = q.Query(ctx, "1+1", time.Unix(1700000000, 0))
	if err != nil || len(v) != 1 || v[0].F != 2 || v[0].Metric.Len() != 0 {
		t.Errorf("scalar: got %v, %v; want one unlabelled sample of 2", v, err)
	}
	if _, err := q.Query(ctx, `"s"`, time.Time{}); err == nil || !strings.Contains(err.Error(), "string") {
		t.Errorf("string result: got %v, want an error naming the type", err)
	}
	if _, err := q.Query(ctx, "nope", time.Time{}); err == nil || !strings.Contains(err.Error(), "unknown query") {
		t.Errorf("remote error: got %v, want the remote's message", err)
	}
	m, err := q.QueryRange(ctx, "rate(x[1m])", time.Unix(1700000000, 0), time.Unix(1700000060, 0), time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if len(m) != 1 || len(m[0].Floats) != 2 || m[0].Floats[1].F != 2.5 || m[0].Floats[1].T != 1700000060000 {
		t.Errorf("matrix: got %v", m)
	}
	if _, err := q.QueryRange(ctx, "up", time.Unix(0, 0), time.Unix(60, 0), time.Minute); err == nil {
		t.Error("range query answered with a vector: want an error")
	}
	if (*seen)[0] != "/select/0/prometheus/api/v1/query Bearer tok" {
		t.Errorf("request: got %q", (*seen)[0])
	}
	if got := set.GetOrCreateCounter(`ward_remote_query_failures_total`).Get(); got != 1 {
		t.Errorf("failures: got %d, want 1", got)
	}
}

func TestQuerierTimeout(t *testing.T) {
	block := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-block:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(block)
	q, err := New(srv.URL, Options{Timeout: 50 * time.Millisecond}, metrics.NewSet())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := q.Query(context.Background(), "up", time.Time{}); err == nil {
		t.Error("hung remote: want a timeout error")
	}
}

func TestNewRejectsBadURL(t *testing.T) {
	if _, err := New("vm:8428", Options{}, metrics.NewSet()); err == nil {
		t.Error("URL without scheme: want an error")
	}
}
