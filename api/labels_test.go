package api

import (
	"net/http"
	"net/url"
	"slices"
	"testing"
)

func TestLabelNames(t *testing.T) {
	ts := startServer(t, Options{})
	var names []string
	ts.get(t, "/api/v1/labels", nil).wantSuccess(t, &names)
	if want := []string{"__name__", "code", "instance", "job", "room"}; !slices.Equal(names, want) {
		t.Errorf("all label names: got %q, want %q", names, want)
	}

	ts.get(t, "/api/v1/labels", url.Values{"match[]": {`temperature`}}).wantSuccess(t, &names)
	if want := []string{"__name__", "room"}; !slices.Equal(names, want) {
		t.Errorf("label names of temperature: got %q, want %q", names, want)
	}

	// Several match[] are a union.
	ts.postForm(t, "/api/v1/labels", url.Values{"match[]": {`temperature`, `latency_seconds`}}).wantSuccess(t, &names)
	if want := []string{"__name__", "job", "room"}; !slices.Equal(names, want) {
		t.Errorf("union of two match[]: got %q, want %q", names, want)
	}

	r := ts.get(t, "/api/v1/labels", url.Values{"limit": {"2"}})
	r.wantSuccess(t, &names)
	if want := []string{"__name__", "code"}; !slices.Equal(names, want) || len(r.resp.Warnings) != 1 {
		t.Errorf("limit 2: got %q warnings %q", names, r.resp.Warnings)
	}

	// A time range before any data holds no label names.
	ts.get(t, "/api/v1/labels", url.Values{"start": {"-7200"}, "end": {"-3600"}}).wantSuccess(t, &names)
	if len(names) != 0 {
		t.Errorf("names before the data: %q", names)
	}
	ts.get(t, "/api/v1/labels", url.Values{"match[]": {`{job=~".*"}`}}).wantError(t, http.StatusBadRequest, ErrBadData, "match[] must contain at least one non-empty matcher")
	ts.get(t, "/api/v1/labels", url.Values{"match[]": {`up{`}}).wantError(t, http.StatusBadRequest, ErrBadData, "parse error")
	ts.get(t, "/api/v1/labels", url.Values{"start": {"x"}}).wantError(t, http.StatusBadRequest, ErrBadData, `invalid parameter "start"`)
}

func TestLabelValues(t *testing.T) {
	ts := startServer(t, Options{})
	for _, c := range []struct {
		name   string
		params url.Values
		want   []string
	}{
		{"__name__", nil, []string{"http_requests_total", "latency_seconds", "temperature"}},
		{"job", nil, []string{"api", "web"}},
		{"instance", url.Values{"match[]": {`http_requests_total{job="api"}`}}, []string{"a", "b"}},
		{"instance", url.Values{"match[]": {`{code="500"}`, `{job="web"}`}}, []string{"b", "c"}},
		{"job", url.Values{"limit": {"1"}}, []string{"api"}},
		{"nope", nil, []string{}},
		// Prometheus' escaping of UTF-8 label names in paths.
		{"U__job", nil, []string{"api", "web"}},
	} {
		t.Run(c.name+"?"+c.params.Encode(), func(t *testing.T) {
			var got []string
			ts.get(t, "/api/v1/label/"+c.name+"/values", c.params).wantSuccess(t, &got)
			if !slices.Equal(got, c.want) || got == nil {
				t.Errorf("got %q, want %q", got, c.want)
			}
		})
	}
	ts.get(t, "/api/v1/label/%FF/values", nil).wantError(t, http.StatusBadRequest, ErrBadData, `invalid label name: "\xff"`)
	ts.get(t, "/api/v1/label/job/values", url.Values{"end": {"never"}}).wantError(t, http.StatusBadRequest, ErrBadData, `invalid parameter "end"`)
}

func TestSeries(t *testing.T) {
	ts := startServer(t, Options{})
	r := ts.get(t, "/api/v1/series", url.Values{"match[]": {`http_requests_total{job="api"}`, `temperature`}, "start": {"0"}, "end": {"60"}})
	want := `{"status":"success","data":[` +
		`{"__name__":"http_requests_total","code":"200","instance":"a","job":"api"},` +
		`{"__name__":"http_requests_total","code":"500","instance":"b","job":"api"},` +
		`{"__name__":"temperature","room":"kitchen"}]}`
	r.wantSuccess(t, nil)
	if string(r.body) != want {
		t.Errorf("got  %s\nwant %s", r.body, want)
	}

	// Overlapping selectors are deduplicated.
	var series []map[string]string
	ts.postForm(t, "/api/v1/series", url.Values{"match[]": {`{job="web"}`, `{instance="c"}`}}).wantSuccess(t, &series)
	if len(series) != 1 || series[0]["instance"] != "c" {
		t.Errorf("deduplicated union: got %v", series)
	}

	r = ts.get(t, "/api/v1/series", url.Values{"match[]": {`http_requests_total`}, "limit": {"2"}})
	r.wantSuccess(t, &series)
	if len(series) != 2 || len(r.resp.Warnings) != 1 {
		t.Errorf("limit 2: got %d series, warnings %q", len(series), r.resp.Warnings)
	}

	ts.get(t, "/api/v1/series", nil).wantError(t, http.StatusBadRequest, ErrBadData, "no match[] parameter provided")
	ts.get(t, "/api/v1/series", url.Values{"match[]": {`{__name__=~".*"}`}}).wantError(t, http.StatusBadRequest, ErrBadData, `invalid parameter "match[]": match[] must contain at least one non-empty matcher`)
}
