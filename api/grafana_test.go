package api

import (
	"compress/gzip"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// The requests below replay what Grafana's Prometheus data source sends
// (grafana/pkg/promlib/client and healthcheck.go, and the label browser of
// its query editor): POST with a url-encoded form by default, times as
// Unix seconds with fractions, steps as float seconds, the data source's
// query timeout, resource calls POSTed with their parameters in the URL
// and an empty body, and label values always over GET.

func grafanaRequest(t *testing.T, method, u string, body string) *http.Request {
	t.Helper()
	var r io.Reader = http.NoBody
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, u, r)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("User-Agent", "Grafana/12.1.0")
	req.Header.Set("Accept-Encoding", "gzip")
	req.Header.Set("X-Grafana-Org-Id", "1")
	req.Header.Set("X-Datasource-Uid", "ward")
	if method == http.MethodPost {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	return req
}

// doGrafana sends req without Go's transparent gzip handling, as Grafana's
// own transport, and decodes the gzip body itself.
func (ts *testServer) doGrafana(t *testing.T, req *http.Request) httpResult {
	t.Helper()
	resp, err := ts.client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	var body io.Reader = resp.Body
	if resp.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(resp.Body)
		if err != nil {
			t.Fatalf("gzip: %v", err)
		}
		body = zr
	}
	b, err := io.ReadAll(body)
	if err != nil {
		t.Fatal(err)
	}
	r := httpResult{code: resp.StatusCode, header: resp.Header, body: b}
	if err := json.Unmarshal(b, &r.resp); err != nil {
		t.Fatalf("%s %s: not JSON: %v\n%s", req.Method, req.URL, err, b)
	}
	return r
}

func TestGrafanaSaveAndTest(t *testing.T) {
	ts := startServer(t, Options{})
	// Grafana's health check: the instant query 1+1 at the end of a
	// 1s..4s range, POSTed; then the build info for its heuristics.
	form := url.Values{"query": {"1+1"}, "time": {"4"}, "timeout": {"60s"}}
	r := ts.doGrafana(t, grafanaRequest(t, http.MethodPost, ts.base+"/api/v1/query", form.Encode()))
	r.wantSuccess(t, nil)
	if want := `{"status":"success","data":{"resultType":"scalar","result":[4,"2"]}}`; string(r.body) != want {
		t.Errorf("health check over POST: got %s, want %s", r.body, want)
	}
	// The same with the data source set to GET.
	r = ts.doGrafana(t, grafanaRequest(t, http.MethodGet, ts.base+"/api/v1/query?query=1%2B1&time=1700000000.123", ""))
	if want := `{"status":"success","data":{"resultType":"scalar","result":[1700000000.123,"2"]}}`; string(r.body) != want {
		t.Errorf("health check over GET: got %s, want %s", r.body, want)
	}

	var info map[string]any
	ts.doGrafana(t, grafanaRequest(t, http.MethodGet, ts.base+"/api/v1/status/buildinfo", "")).wantSuccess(t, &info)
	// Grafana takes a build info without "features" for Prometheus.
	if _, ok := info["features"]; ok || info["version"] == nil {
		t.Errorf("buildinfo: %v", info)
	}
}

func TestGrafanaPanelQueries(t *testing.T) {
	ts := startServer(t, Options{})
	form := url.Values{
		"query":   {`sum by (job) (rate(http_requests_total[$__rate_interval]))`},
		"start":   {"600"},
		"end":     {"1200"},
		"step":    {"30"},
		"timeout": {"60s"},
	}
	// Grafana interpolates its variables before sending.
	form.Set("query", strings.ReplaceAll(form.Get("query"), "$__rate_interval", "2m"))
	r := ts.doGrafana(t, grafanaRequest(t, http.MethodPost, ts.base+"/api/v1/query_range", form.Encode()))
	var data struct {
		ResultType string `json:"resultType"`
		Result     []struct {
			Metric map[string]string `json:"metric"`
			Values [][2]any          `json:"values"`
		} `json:"result"`
	}
	r.wantSuccess(t, &data)
	if data.ResultType != "matrix" || len(data.Result) != 2 {
		t.Fatalf("got %s", r.body)
	}
	for _, s := range data.Result {
		if len(s.Values) != 21 {
			t.Errorf("%v: %d points, want 21 (600..1200 every 30s)", s.Metric, len(s.Values))
		}
		if ts0, _ := s.Values[0][0].(float64); ts0 != 600 {
			t.Errorf("first timestamp %v, want 600", s.Values[0][0])
		}
	}
	if r.header.Get("Content-Encoding") != "gzip" {
		t.Errorf("a %d-byte range result went out uncompressed to a gzip-accepting client", len(r.body))
	}

	// Step as a float with a fraction, times with milliseconds.
	form = url.Values{"query": {"time()"}, "start": {"60.5"}, "end": {"61.5"}, "step": {"0.25"}}
	r = ts.doGrafana(t, grafanaRequest(t, http.MethodPost, ts.base+"/api/v1/query_range", form.Encode()))
	if want := `{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[60.500,"60.5"],[60.750,"60.75"],[61,"61"],[61.250,"61.25"],[61.500,"61.5"]]}]}}`; string(r.body) != want {
		t.Errorf("got  %s\nwant %s", r.body, want)
	}

	// Exemplars: Grafana asks alongside range queries; Ward has none.
	form = url.Values{"query": {`http_requests_total`}, "start": {"600"}, "end": {"1200"}}
	r = ts.doGrafana(t, grafanaRequest(t, http.MethodPost, ts.base+"/api/v1/query_exemplars", form.Encode()))
	if want := `{"status":"success","data":[]}`; string(r.body) != want {
		t.Errorf("exemplars: got %s, want %s", r.body, want)
	}
}

func TestGrafanaLabelBrowser(t *testing.T) {
	ts := startServer(t, Options{
		Metadata: func() []Metadata {
			return []Metadata{
				{MetricFamily: "http_requests_total", Type: "counter", Help: "Requests."},
				{MetricFamily: "temperature", Type: "gauge"},
				{MetricFamily: "latency_seconds", Type: "histogram"},
			}
		},
	})
	rng := "start=0&end=3600"

	// Resource calls are POSTed with the parameters in the URL.
	var names []string
	ts.doGrafana(t, grafanaRequest(t, http.MethodPost, ts.base+"/api/v1/labels?"+rng, "")).wantSuccess(t, &names)
	if !slices.Contains(names, "job") || !slices.Contains(names, "__name__") {
		t.Errorf("labels: %q", names)
	}

	var values []string
	ts.doGrafana(t, grafanaRequest(t, http.MethodGet, ts.base+"/api/v1/label/__name__/values?"+rng, "")).wantSuccess(t, &values)
	if want := []string{"http_requests_total", "latency_seconds", "temperature"}; !slices.Equal(values, want) {
		t.Errorf("metric names: got %q, want %q", values, want)
	}

	// The metric search of the query builder: a regexp on __name__, URL-encoded match[].
	u := ts.base + "/api/v1/label/__name__/values?" + rng + "&limit=40000&match%5B%5D=" + url.QueryEscape(`{__name__=~".*requests.*"}`)
	ts.doGrafana(t, grafanaRequest(t, http.MethodGet, u, "")).wantSuccess(t, &values)
	if want := []string{"http_requests_total"}; !slices.Equal(values, want) {
		t.Errorf("metric search: got %q, want %q", values, want)
	}

	// Values of one label for the selected metric.
	u = ts.base + "/api/v1/label/instance/values?match%5B%5D=" + url.QueryEscape(`http_requests_total{job="api"}`) + "&" + rng
	ts.doGrafana(t, grafanaRequest(t, http.MethodGet, u, "")).wantSuccess(t, &values)
	if want := []string{"a", "b"}; !slices.Equal(values, want) {
		t.Errorf("instance values: got %q, want %q", values, want)
	}

	// Series of the selected metric, POSTed with URL parameters, then with a form body.
	var series []map[string]string
	u = ts.base + "/api/v1/series?match%5B%5D=" + url.QueryEscape(`temperature`) + "&" + rng
	ts.doGrafana(t, grafanaRequest(t, http.MethodPost, u, "")).wantSuccess(t, &series)
	if len(series) != 1 || series[0]["room"] != "kitchen" {
		t.Errorf("series over POST with URL parameters: %v", series)
	}
	body := url.Values{"match[]": {`http_requests_total{job="web"}`}, "start": {"0"}, "end": {"3600"}}.Encode()
	ts.doGrafana(t, grafanaRequest(t, http.MethodPost, ts.base+"/api/v1/series", body)).wantSuccess(t, &series)
	if len(series) != 1 || series[0]["instance"] != "c" {
		t.Errorf("series over a POST form: %v", series)
	}

	// Metadata for the editor's type hints.
	var md map[string][]map[string]string
	ts.doGrafana(t, grafanaRequest(t, http.MethodGet, ts.base+"/api/v1/metadata", "")).wantSuccess(t, &md)
	if len(md) != 3 || md["http_requests_total"][0]["type"] != "counter" || md["http_requests_total"][0]["help"] != "Requests." ||
		md["latency_seconds"][0]["type"] != "histogram" || md["temperature"][0]["type"] != "gauge" {
		t.Errorf("metadata: %v", md)
	}

	// Label values over POST answer 405, which makes Grafana retry with GET.
	r := ts.do(t, grafanaRequest(t, http.MethodPost, ts.base+"/api/v1/label/job/values", ""))
	if r.code != http.StatusMethodNotAllowed || r.header.Get("Allow") != "GET" {
		t.Errorf("POST label values: %d Allow=%q", r.code, r.header.Get("Allow"))
	}
}

func TestGrafanaErrorsAreReadable(t *testing.T) {
	ts := startServer(t, Options{})
	form := url.Values{"query": {"rate(http_requests_total)"}, "start": {"0"}, "end": {"60"}, "step": {strconv.Itoa(15)}}
	r := ts.doGrafana(t, grafanaRequest(t, http.MethodPost, ts.base+"/api/v1/query_range", form.Encode()))
	r.wantError(t, http.StatusBadRequest, ErrBadData, "expected type range vector in call to function \"rate\", got instant vector")
	if r.header.Get("Content-Type") != "application/json" {
		t.Errorf("error content type %q", r.header.Get("Content-Type"))
	}
}
