package client

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/promqltest"
	"go.uber.org/goleak"

	"github.com/wardmetrics/ward/api"
)

func TestMain(m *testing.M) {
	code := m.Run()
	if code == 0 {
		// fasthttp's process-wide goroutines stay; a stopped server's
		// worker-pool janitor leaves within a second.
		deadline := time.Now().Add(10 * time.Second)
		for {
			err := goleak.Find(
				goleak.IgnoreAnyFunction("github.com/valyala/fasthttp.updateServerDate.func1"),
				goleak.IgnoreAnyFunction("github.com/valyala/fasthttp/stackless.funcWorker"),
			)
			if err == nil {
				break
			}
			if time.Now().After(deadline) {
				fmt.Fprintf(os.Stderr, "goleak: %v\n", err)
				code = 1
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	os.Exit(code)
}

const testData = `
load 1m
	requests_total{job="api",host="a"} 0+10x10
	requests_total{job="api",host="b"} 0+1x10
	temp{room="kitchen"} 20 NaN Inf 1e-7 1e22
	latency_seconds{job="api"} {{schema:0 sum:5 count:4 buckets:[1 2 1]}}x10
`

// startWard serves Ward's API over Prometheus' own TSDB on a loopback port.
func startWard(t *testing.T, opts api.Options) string {
	t.Helper()
	opts.Queryable = promqltest.LoadedStorage(t, testData)
	s, err := api.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return "http://" + ln.Addr().String()
}

func newClient(t *testing.T, base string, opts Options) *Client {
	t.Helper()
	c, err := New(base, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.hc.CloseIdleConnections)
	return c
}

func TestQueryResults(t *testing.T) {
	c := newClient(t, startWard(t, api.Options{}), Options{})
	ctx := context.Background()

	r, err := c.Query(ctx, `requests_total`, time.Unix(120, 0))
	if err != nil {
		t.Fatal(err)
	}
	want := []Sample{
		{Metric: labels.FromStrings("__name__", "requests_total", "host", "a", "job", "api"), Point: Point{time.Unix(120, 0).UTC(), 20}},
		{Metric: labels.FromStrings("__name__", "requests_total", "host", "b", "job", "api"), Point: Point{time.Unix(120, 0).UTC(), 2}},
	}
	if r.Type != TypeVector || len(r.Vector) != 2 {
		t.Fatalf("got %+v", r)
	}
	for i := range want {
		if !labels.Equal(r.Vector[i].Metric, want[i].Metric) || !r.Vector[i].T.Equal(want[i].T) || r.Vector[i].V != want[i].V {
			t.Errorf("sample %d: got %+v, want %+v", i, r.Vector[i], want[i])
		}
	}

	r, err = c.Query(ctx, `latency_seconds`, time.Unix(60, 0))
	if err != nil {
		t.Fatal(err)
	}
	if h := r.Vector[0].H; h == nil || h.Count != 4 || h.Sum != 5 || len(h.Buckets) != 3 || h.Buckets[2] != (Bucket{0, 2, 4, 1}) {
		t.Errorf("histogram: %+v", r.Vector[0].H)
	}

	r, err = c.Query(ctx, `1/3`, time.UnixMilli(1500))
	if err != nil {
		t.Fatal(err)
	}
	if r.Type != TypeScalar || r.Scalar.V != 1.0/3 || !r.Scalar.T.Equal(time.UnixMilli(1500)) {
		t.Errorf("scalar: %+v", r.Scalar)
	}
	r, err = c.Query(ctx, `"hi"`, time.Time{})
	if err != nil || r.Type != TypeString || r.String.V != "hi" {
		t.Errorf("string: %+v %v", r, err)
	}

	r, err = c.QueryRange(ctx, `temp`, time.Unix(0, 0), time.Unix(240, 0), time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if r.Type != TypeMatrix || len(r.Matrix) != 1 || len(r.Matrix[0].Points) != 5 {
		t.Fatalf("matrix: %+v", r)
	}
	ps := r.Matrix[0].Points
	if ps[0].V != 20 || !math.IsNaN(ps[1].V) || !math.IsInf(ps[2].V, 1) || ps[3].V != 1e-7 || ps[4].V != 1e22 || !ps[4].T.Equal(time.Unix(240, 0)) {
		t.Errorf("points: %+v", ps)
	}
}

func TestErrors(t *testing.T) {
	base := startWard(t, api.Options{})
	c := newClient(t, base, Options{})
	ctx := context.Background()
	_, err := c.Query(ctx, `sum(`, time.Time{})
	var apiErr *Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 400 || apiErr.Type != "bad_data" || !strings.Contains(apiErr.Msg, "parse error") {
		t.Errorf("bad query: %v", err)
	}
	if !IsErrorType(err, "bad_data") || !strings.Contains(err.Error(), `query "sum("`) {
		t.Errorf("error text: %v", err)
	}
	_, err = c.QueryRange(ctx, `1`, time.Unix(0, 0), time.Unix(100000, 0), time.Second)
	if !IsErrorType(err, "bad_data") || !strings.Contains(err.Error(), "11,000 points") {
		t.Errorf("too many points: %v", err)
	}

	// A path that is not the API answers plain text.
	other := newClient(t, base+"/not-api", Options{})
	_, err = other.Query(ctx, "1", time.Time{})
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 404 || apiErr.Type != "" {
		t.Errorf("non-API answer: %v", err)
	}

	for _, bad := range []string{"ftp://x", "http://", "::"} {
		if _, err := New(bad, Options{}); err == nil {
			t.Errorf("New(%q) accepted", bad)
		}
	}
}

func TestLabelsAndAuth(t *testing.T) {
	base := startWard(t, api.Options{AuthToken: "tok", RequireAuthForReads: true})
	ctx := context.Background()
	if _, err := newClient(t, base, Options{}).LabelNames(ctx); !IsErrorType(err, "unauthorized") {
		t.Errorf("without token: %v", err)
	}
	c := newClient(t, base, Options{Token: "tok"})
	names, err := c.LabelNames(ctx, `temp`)
	if err != nil || strings.Join(names, ",") != "__name__,room" {
		t.Errorf("label names: %q %v", names, err)
	}
	values, err := c.LabelValues(ctx, "__name__")
	if err != nil || strings.Join(values, ",") != "latency_seconds,requests_total,temp" {
		t.Errorf("metric names: %q %v", values, err)
	}
	values, err = c.LabelValues(ctx, "host", `requests_total{job="api"}`)
	if err != nil || strings.Join(values, ",") != "a,b" {
		t.Errorf("host values: %q %v", values, err)
	}
}

func TestFormats(t *testing.T) {
	c := newClient(t, startWard(t, api.Options{}), Options{})
	ctx := context.Background()
	query := func(expr string, t0 int64) *Result {
		r, err := c.Query(ctx, expr, time.Unix(t0, 0))
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	rangeQuery := func(expr string) *Result {
		r, err := c.QueryRange(ctx, expr, time.Unix(0, 0), time.Unix(120, 0), time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	for _, tc := range []struct {
		name       string
		r          *Result
		table, csv string
	}{
		{
			name: "vector",
			r:    query(`requests_total or temp`, 240),
			table: "" +
				"__name__        host  job  room     time                      value\n" +
				"requests_total  a     api           1970-01-01T00:04:00.000Z  40\n" +
				"requests_total  b     api           1970-01-01T00:04:00.000Z  4\n" +
				"temp                       kitchen  1970-01-01T00:04:00.000Z  1e+22\n",
			csv: "__name__,host,job,room,time,value\n" +
				"requests_total,a,api,,1970-01-01T00:04:00.000Z,40\n" +
				"requests_total,b,api,,1970-01-01T00:04:00.000Z,4\n" +
				"temp,,,kitchen,1970-01-01T00:04:00.000Z,1e+22\n",
		},
		{
			name: "matrix",
			r:    rangeQuery(`sum by (host) (requests_total)`),
			table: "" +
				"host  time                      value\n" +
				"a     1970-01-01T00:00:00.000Z  0\n" +
				"a     1970-01-01T00:01:00.000Z  10\n" +
				"a     1970-01-01T00:02:00.000Z  20\n" +
				"b     1970-01-01T00:00:00.000Z  0\n" +
				"b     1970-01-01T00:01:00.000Z  1\n" +
				"b     1970-01-01T00:02:00.000Z  2\n",
			csv: "host,time,value\n" +
				"a,1970-01-01T00:00:00.000Z,0\na,1970-01-01T00:01:00.000Z,10\na,1970-01-01T00:02:00.000Z,20\n" +
				"b,1970-01-01T00:00:00.000Z,0\nb,1970-01-01T00:01:00.000Z,1\nb,1970-01-01T00:02:00.000Z,2\n",
		},
		{
			name:  "histogram",
			r:     query(`latency_seconds`, 60),
			table: "__name__         job  time                      value\nlatency_seconds  api  1970-01-01T00:01:00.000Z  count=4 sum=5\n",
			csv:   "__name__,job,time,value\nlatency_seconds,api,1970-01-01T00:01:00.000Z,count=4 sum=5\n",
		},
		{
			name:  "scalar",
			r:     query(`-1/0`, 60),
			table: "time                      value\n1970-01-01T00:01:00.000Z  -Inf\n",
			csv:   "time,value\n1970-01-01T00:01:00.000Z,-Inf\n",
		},
		{
			name:  "string",
			r:     query(`"a, b"`, 60),
			table: "time                      value\n1970-01-01T00:01:00.000Z  a, b\n",
			csv:   "time,value\n1970-01-01T00:01:00.000Z,\"a, b\"\n",
		},
		{
			name:  "empty",
			r:     query(`nothing`, 60),
			table: "time  value\n",
			csv:   "time,value\n",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := FormatTable(&b, tc.r); err != nil || b.String() != tc.table {
				t.Errorf("table (%v):\n%s\nwant:\n%s", err, b.String(), tc.table)
			}
			b.Reset()
			if err := FormatCSV(&b, tc.r); err != nil || b.String() != tc.csv {
				t.Errorf("csv (%v):\n%s\nwant:\n%s", err, b.String(), tc.csv)
			}
			b.Reset()
			if err := FormatJSON(&b, tc.r); err != nil {
				t.Fatal(err)
			}
			again, err := ParseData(b.Bytes())
			if err != nil || again.Type != tc.r.Type || !strings.HasSuffix(b.String(), "}\n") || !strings.Contains(b.String(), "\n  \"result\"") {
				t.Errorf("json does not read back (%v):\n%s", err, b.String())
			}
		})
	}
}

func FuzzParseData(f *testing.F) {
	for _, s := range []string{
		`{"resultType":"vector","result":[{"metric":{"a":"b"},"value":[1.5,"2"]}]}`,
		`{"resultType":"vector","result":[{"metric":{},"histogram":[1,{"count":"1","sum":"2","buckets":[[0,"1","2","1"]]}]}]}`,
		`{"resultType":"matrix","result":[{"metric":{},"values":[[1,"NaN"],[2,"+Inf"]],"histograms":[[3,{"count":"1","sum":"1"}]]}]}`,
		`{"resultType":"scalar","result":[1,"1e-7"]}`,
		`{"resultType":"string","result":[1,"x"]}`,
		`{"resultType":"matrix","result":[{"values":[[1]]}]}`,
		`{}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := ParseData(data)
		if err != nil {
			return
		}
		var b bytes.Buffer
		if err := FormatTable(&b, r); err != nil {
			t.Fatalf("FormatTable of a parsed result: %v", err)
		}
		if err := FormatCSV(&b, r); err != nil {
			t.Fatalf("FormatCSV of a parsed result: %v", err)
		}
	})
}
