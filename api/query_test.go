package api

import (
	"context"
	"encoding/json"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/util/annotations"
)

func TestInstantQueryExactJSON(t *testing.T) {
	ts := startServer(t, Options{})
	for _, c := range []struct {
		name   string
		params url.Values
		want   string
	}{
		{
			name:   "vector",
			params: url.Values{"query": {`http_requests_total{job="api"}`}, "time": {"3600"}},
			want: `{"status":"success","data":{"resultType":"vector","result":[` +
				`{"metric":{"__name__":"http_requests_total","code":"200","instance":"a","job":"api"},"value":[3600,"600"]},` +
				`{"metric":{"__name__":"http_requests_total","code":"500","instance":"b","job":"api"},"value":[3600,"60"]}]}}`,
		},
		{
			name:   "scalar with fractional time",
			params: url.Values{"query": {"1+1"}, "time": {"3600.5"}},
			want:   `{"status":"success","data":{"resultType":"scalar","result":[3600.500,"2"]}}`,
		},
		{
			name:   "string",
			params: url.Values{"query": {`"a<b"`}, "time": {"1970-01-01T00:01:00.025Z"}},
			want:   `{"status":"success","data":{"resultType":"string","result":[60.025,"a\u003cb"]}}`,
		},
		{
			name:   "empty vector",
			params: url.Values{"query": {`nothing_here`}, "time": {"60"}},
			want:   `{"status":"success","data":{"resultType":"vector","result":[]}}`,
		},
		{
			name:   "native histogram",
			params: url.Values{"query": {`latency_seconds`}, "time": {"60"}},
			want: `{"status":"success","data":{"resultType":"vector","result":[{"metric":{"__name__":"latency_seconds","job":"api"},` +
				`"histogram":[60,{"count":"4","sum":"5","buckets":[[3,"-0.001","0.001","1"],[0,"0.5","1","1"],[0,"1","2","2"]]}]}]}}`,
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := ts.get(t, "/api/v1/query", c.params)
			r.wantSuccess(t, nil)
			if got := string(r.body); got != c.want {
				t.Errorf("got  %s\nwant %s", got, c.want)
			}
		})
	}
}

func TestRangeQueryExactJSON(t *testing.T) {
	ts := startServer(t, Options{})
	r := ts.get(t, "/api/v1/query_range", url.Values{
		"query": {`http_requests_total{instance="a"}`}, "start": {"0"}, "end": {"180"}, "step": {"1m"},
	})
	want := `{"status":"success","data":{"resultType":"matrix","result":[` +
		`{"metric":{"__name__":"http_requests_total","code":"200","instance":"a","job":"api"},"values":[[0,"0"],[60,"10"],[120,"20"],[180,"30"]]}]}}`
	r.wantSuccess(t, nil)
	if string(r.body) != want {
		t.Errorf("got  %s\nwant %s", r.body, want)
	}
}

func TestSpecialFloatValues(t *testing.T) {
	ts := startServer(t, Options{})
	r := ts.postForm(t, "/api/v1/query_range", url.Values{
		"query": {`temperature`}, "start": {"0"}, "end": {"420"}, "step": {"60"},
	})
	var data struct {
		ResultType string `json:"resultType"`
		Result     []struct {
			Values [][2]any `json:"values"`
		} `json:"result"`
	}
	r.wantSuccess(t, &data)
	if data.ResultType != "matrix" || len(data.Result) != 1 {
		t.Fatalf("got %s", r.body)
	}
	var got []string
	for _, v := range data.Result[0].Values {
		got = append(got, v[1].(string))
	}
	want := []string{"20", "21", "22", "NaN", "+Inf", "-Inf", "1e-07", "1e+22"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("got values %q, want %q", got, want)
	}
}

func TestQueryPromQLFunctions(t *testing.T) {
	ts := startServer(t, Options{})
	for _, c := range []struct {
		query string
		want  map[string]float64 // by the "job" label, or "" for no labels
	}{
		{`sum by (job) (rate(http_requests_total[5m]))`, map[string]float64{"api": 11.0 / 60, "web": 5.0 / 60}},
		{`sum(increase(http_requests_total{job="web"}[10m]))`, map[string]float64{"": 50}},
		{`sum by (job) (http_requests_total offset 30m)`, map[string]float64{"api": 330, "web": 150}},
		{`hour()`, map[string]float64{"": 1}},
		{`absent_over_time(nope[5m])`, map[string]float64{"": 1}},
		{`histogram_quantile(0.5, sum by (job) (latency_seconds))`, map[string]float64{"api": 1}},
	} {
		t.Run(c.query, func(t *testing.T) {
			r := ts.postForm(t, "/api/v1/query", url.Values{"query": {c.query}, "time": {"3600"}})
			var data struct {
				Result []struct {
					Metric map[string]string `json:"metric"`
					Value  [2]any            `json:"value"`
				} `json:"result"`
			}
			r.wantSuccess(t, &data)
			if len(data.Result) != len(c.want) {
				t.Fatalf("got %d series, want %d: %s", len(data.Result), len(c.want), r.body)
			}
			for _, s := range data.Result {
				want, ok := c.want[s.Metric["job"]]
				if !ok {
					t.Fatalf("unexpected series %v", s.Metric)
				}
				got, err := strconv.ParseFloat(s.Value[1].(string), 64)
				if err != nil || math.Abs(got-want) > 1e-9*math.Max(1, math.Abs(want)) {
					t.Errorf("%v: got %v, want %v", s.Metric, s.Value[1], want)
				}
			}
		})
	}
}

func TestQueryBadRequests(t *testing.T) {
	ts := startServer(t, Options{MaxPointsPerSeries: 100})
	for _, c := range []struct {
		path   string
		params url.Values
		msg    string
	}{
		{"/api/v1/query", url.Values{"query": {"sum(rate(x[5m])"}}, `invalid parameter "query": 1:`},
		{"/api/v1/query", url.Values{"query": {""}}, `invalid parameter "query"`},
		{"/api/v1/query", url.Values{"query": {"1"}, "time": {"yesterday"}}, `invalid parameter "time": invalid time value for 'time': cannot parse "yesterday" to a valid timestamp`},
		{"/api/v1/query", url.Values{"query": {"1"}, "limit": {"-1"}}, `invalid parameter "limit": limit must be non-negative`},
		{"/api/v1/query", url.Values{"query": {"1"}, "timeout": {"0s"}}, `invalid parameter "timeout": timeout must be positive`},
		{"/api/v1/query", url.Values{"query": {"1"}, "timeout": {"soon"}}, `invalid parameter "timeout": cannot parse "soon" to a valid duration`},
		{"/api/v1/query", url.Values{"query": {"1"}, "lookback_delta": {"x"}}, `error parsing lookback delta duration`},
		{"/api/v1/query_range", url.Values{"query": {"1"}, "end": {"10"}, "step": {"1"}}, `invalid parameter "start": cannot parse "" to a valid timestamp`},
		{"/api/v1/query_range", url.Values{"query": {"1"}, "start": {"10"}, "end": {"5"}, "step": {"1"}}, `end timestamp must not be before start time`},
		{"/api/v1/query_range", url.Values{"query": {"1"}, "start": {"0"}, "end": {"5"}, "step": {"0"}}, `zero or negative query resolution step widths are not accepted`},
		{"/api/v1/query_range", url.Values{"query": {"1"}, "start": {"0"}, "end": {"5"}, "step": {"1x"}}, `invalid parameter "step"`},
		{"/api/v1/query_range", url.Values{"query": {"1"}, "start": {"0"}, "end": {"101"}, "step": {"1"}}, `exceeded maximum resolution of 100 points per timeseries. Try decreasing the query resolution (?step=XX)`},
	} {
		t.Run(c.path+"?"+c.params.Encode(), func(t *testing.T) {
			ts.get(t, c.path, c.params).wantError(t, http.StatusBadRequest, ErrBadData, c.msg)
		})
	}
	// Exactly MaxPointsPerSeries steps is fine, as in Prometheus.
	ts.get(t, "/api/v1/query_range", url.Values{"query": {"1"}, "start": {"0"}, "end": {"100"}, "step": {"1"}}).wantSuccess(t, nil)
}

func TestQueryExecutionErrors(t *testing.T) {
	ts := startServer(t, Options{MaxSamples: 100})
	r := ts.get(t, "/api/v1/query_range", url.Values{
		"query": {`http_requests_total`}, "start": {"0"}, "end": {"3600"}, "step": {"60"},
	})
	r.wantError(t, http.StatusUnprocessableEntity, ErrExecution, "query processing would load too many samples into memory")

	// A query with fewer samples than the limit still runs.
	ts.get(t, "/api/v1/query", url.Values{"query": {`http_requests_total{instance="a"}`}}).wantSuccess(t, nil)

	// Runtime errors of PromQL are execution errors too.
	r = ts.get(t, "/api/v1/query", url.Values{"query": {`http_requests_total + on(job) http_requests_total`}, "time": {"60"}})
	r.wantError(t, http.StatusUnprocessableEntity, ErrExecution, "many-to-many matching not allowed")
}

// blockingQueryable holds every Select until release is closed or the
// query's context ends, so that timeouts and the concurrency gate can be
// tested without depending on how fast anything runs.
type blockingQueryable struct {
	storage.Queryable
	release chan struct{}
}

func (b blockingQueryable) Querier(mint, maxt int64) (storage.Querier, error) {
	q, err := b.Queryable.Querier(mint, maxt)
	return blockingQuerier{q, b.release}, err
}

type blockingQuerier struct {
	storage.Querier
	release chan struct{}
}

func (b blockingQuerier) Select(ctx context.Context, sorted bool, hints *storage.SelectHints, ms ...*labels.Matcher) storage.SeriesSet {
	select {
	case <-b.release:
		return b.Querier.Select(ctx, sorted, hints, ms...)
	case <-ctx.Done():
		return storage.ErrSeriesSet(ctx.Err())
	}
}

func (b blockingQuerier) LabelNames(ctx context.Context, hints *storage.LabelHints, ms ...*labels.Matcher) ([]string, annotations.Annotations, error) {
	select {
	case <-b.release:
		return b.Querier.LabelNames(ctx, hints, ms...)
	case <-ctx.Done():
		return nil, nil, ctx.Err()
	}
}

func TestQueryTimeout(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	ts := startServer(t, Options{Queryable: blockingQueryable{loadTestStorage(t), release}})
	r := ts.get(t, "/api/v1/query", url.Values{"query": {"http_requests_total"}, "timeout": {"20ms"}})
	r.wantError(t, http.StatusServiceUnavailable, ErrTimeout, "query timed out")

	// The server's own timeout applies without the parameter.
	ts2 := startServer(t, Options{Queryable: blockingQueryable{loadTestStorage(t), release}, Timeout: 20e6})
	r = ts2.postForm(t, "/api/v1/query_range", url.Values{"query": {"rate(http_requests_total[5m])"}, "start": {"0"}, "end": {"600"}, "step": {"60"}})
	r.wantError(t, http.StatusServiceUnavailable, ErrTimeout, "query timed out")
	if got := ts2.m.set.GetOrCreateCounter(`ward_api_query_errors_total{endpoint="query_range",type="timeout"}`).Get(); got != 1 {
		t.Errorf("timeout errors counted %d, want 1", got)
	}
}

func TestConcurrencyGateQueues(t *testing.T) {
	release := make(chan struct{})
	ts := startServer(t, Options{Queryable: blockingQueryable{loadTestStorage(t), release}, MaxConcurrent: 1})

	first := make(chan httpResult, 1)
	go func() {
		first <- ts.get(t, "/api/v1/query", url.Values{"query": {"http_requests_total"}, "time": {"60"}})
	}()
	waitFor(t, "the first query to hold the only slot", func() bool { return ts.m.running.Load() == 1 })

	// The second waits for the slot and gives up at its timeout.
	r := ts.get(t, "/api/v1/query", url.Values{"query": {"http_requests_total"}, "timeout": {"30ms"}})
	r.wantError(t, http.StatusServiceUnavailable, ErrTimeout, "query timed out in query queue")

	// A third waits, and runs once the first finishes.
	third := make(chan httpResult, 1)
	go func() {
		third <- ts.get(t, "/api/v1/query", url.Values{"query": {"1"}})
	}()
	waitFor(t, "the third query to queue", func() bool { return ts.m.waiting.Load() == 1 })
	close(release)
	(<-first).wantSuccess(t, nil)
	(<-third).wantSuccess(t, nil)
	if n := ts.m.running.Load(); n != 0 {
		t.Errorf("running = %d after all queries finished", n)
	}
}

func TestQueryLimitStatsAndParams(t *testing.T) {
	ts := startServer(t, Options{})
	r := ts.get(t, "/api/v1/query", url.Values{"query": {"http_requests_total"}, "time": {"60"}, "limit": {"2"}})
	var data struct {
		Result []json.RawMessage `json:"result"`
	}
	r.wantSuccess(t, &data)
	if len(data.Result) != 2 || len(r.resp.Warnings) != 1 || r.resp.Warnings[0] != "results truncated due to limit" {
		t.Errorf("limit 2: got %d series, warnings %q", len(data.Result), r.resp.Warnings)
	}

	r = ts.get(t, "/api/v1/query_range", url.Values{"query": {"http_requests_total"}, "start": {"0"}, "end": {"120"}, "step": {"60"}, "stats": {"all"}})
	var withStats struct {
		ResultType string `json:"resultType"`
		Stats      struct {
			Timings map[string]float64 `json:"timings"`
			Samples struct {
				TotalQueryableSamples int64   `json:"totalQueryableSamples"`
				PerStep               [][]any `json:"totalQueryableSamplesPerStep"`
			} `json:"samples"`
		} `json:"stats"`
	}
	r.wantSuccess(t, &withStats)
	if withStats.ResultType != "matrix" || withStats.Stats.Samples.TotalQueryableSamples != 9 || len(withStats.Stats.Samples.PerStep) != 3 {
		t.Errorf("stats=all: got %s", r.body)
	}
	if _, ok := withStats.Stats.Timings["evalTotalTime"]; !ok {
		t.Errorf("stats without timings: %s", r.resp.Data)
	}

	// A POST body wins over the URL query, as with net/http's FormValue.
	req, _ := http.NewRequest(http.MethodPost, ts.base+"/api/v1/query?query=2&time=60", strings.NewReader("query=3"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r = ts.do(t, req)
	r.wantSuccess(t, nil)
	if want := `{"status":"success","data":{"resultType":"scalar","result":[60,"3"]}}`; string(r.body) != want {
		t.Errorf("got %s, want %s", r.body, want)
	}

	// Without time, an instant query runs at Options.Now.
	r = ts.get(t, "/api/v1/query", url.Values{"query": {"time()"}})
	if want := `{"status":"success","data":{"resultType":"scalar","result":[3600,"3600"]}}`; string(r.body) != want {
		t.Errorf("got %s, want %s", r.body, want)
	}

	// lookback_delta shortens how far back the instant selector looks.
	r = ts.get(t, "/api/v1/query", url.Values{"query": {`http_requests_total{instance="a"}`}, "time": {"3700"}, "lookback_delta": {"30s"}})
	r.wantSuccess(t, &data)
	if len(data.Result) != 0 {
		t.Errorf("lookback_delta=30s 100s after the last sample: got %s", r.body)
	}
}

func TestInstantVectorOrder(t *testing.T) {
	ts := startServer(t, Options{})
	values := func(q string) string {
		var data struct {
			Result []struct {
				Value [2]any `json:"value"`
			} `json:"result"`
		}
		ts.get(t, "/api/v1/query", url.Values{"query": {q}, "time": {"3600"}}).wantSuccess(t, &data)
		var out []string
		for _, s := range data.Result {
			out = append(out, s.Value[1].(string))
		}
		return strings.Join(out, " ")
	}
	// Sorted by labels (code 200 instance a, code 200 instance c, code 500)
	// whatever order the storage returns, every time.
	for range 5 {
		if got := values(`http_requests_total`); got != "600 300 60" {
			t.Fatalf("plain selector: %s, want label order 600 300 60", got)
		}
	}
	// sort functions keep their order.
	if got := values(`sort_desc(-http_requests_total)`); got != "-60 -300 -600" {
		t.Errorf("sort_desc: %s", got)
	}
	if got := values(`(sort(http_requests_total))`); got != "60 300 600" {
		t.Errorf("sort: %s", got)
	}
}
