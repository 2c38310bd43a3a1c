package api

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/wardmetrics/ward/tsdb"
)

// benchDB holds 100 counters (20 hosts x 5 codes) for 6 hours at 10s in
// Ward's storage engine.
func benchDB(b *testing.B) (*tsdb.DB, time.Time) {
	b.Helper()
	start := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	end := start.Add(6 * time.Hour)
	db, err := tsdb.Open(b.TempDir(), tsdb.Options{Sync: tsdb.SyncNone, Now: func() time.Time { return end }}, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	var ls []labels.Labels
	for h := range 20 {
		for _, code := range []string{"200", "201", "404", "500", "503"} {
			ls = append(ls, labels.FromStrings("__name__", "http_requests_total", "code", code, "host", fmt.Sprintf("web%02d", h)))
		}
	}
	batch := make([]tsdb.Sample, len(ls))
	for i := 0; start.Add(time.Duration(i)*10*time.Second).Compare(end) <= 0; i++ {
		ts := start.Add(time.Duration(i) * 10 * time.Second).UnixMilli()
		for j, l := range ls {
			batch[j] = tsdb.Sample{Labels: l, T: ts, V: float64(i * (j%7 + 1))}
		}
		if err := db.Append(batch); err != nil {
			b.Fatal(err)
		}
	}
	return db, end
}

// BenchmarkQueryRangeOverhead measures what the HTTP API adds to a range
// query: the same query through the engine directly and through
// /api/v1/query_range on a loopback socket (parsing, the concurrency gate,
// JSON encoding, compression off, the HTTP round trip), interleaved so that
// both see the same machine.
func BenchmarkQueryRangeOverhead(b *testing.B) {
	db, end := benchDB(b)
	ts := startServer(b, Options{Queryable: db, DisableCompression: true})
	start := end.Add(-6 * time.Hour)
	for _, c := range []struct {
		name, query string
		step        time.Duration
	}{
		{"sum_rate_step1m", `sum by (host) (rate(http_requests_total[5m]))`, time.Minute},
		{"raw_step10s", `http_requests_total`, 10 * time.Second},
	} {
		b.Run(c.name, func(b *testing.B) {
			form := url.Values{
				"query": {c.query},
				"start": {strconv.FormatInt(start.Unix(), 10)},
				"end":   {strconv.FormatInt(end.Unix(), 10)},
				"step":  {strconv.FormatFloat(c.step.Seconds(), 'f', -1, 64)},
			}.Encode()
			var engineTime, httpTime time.Duration
			var respBytes int64
			for b.Loop() {
				t0 := time.Now()
				qry, err := ts.engine.NewRangeQuery(context.Background(), db, nil, c.query, start, end, c.step)
				if err != nil {
					b.Fatal(err)
				}
				if res := qry.Exec(context.Background()); res.Err != nil {
					b.Fatal(res.Err)
				}
				qry.Close()
				t1 := time.Now()
				resp, err := ts.client.Post(ts.base+"/api/v1/query_range", "application/x-www-form-urlencoded", strings.NewReader(form))
				if err != nil {
					b.Fatal(err)
				}
				n, err := io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if err != nil || resp.StatusCode != http.StatusOK {
					b.Fatalf("query_range: %d %v", resp.StatusCode, err)
				}
				httpTime += time.Since(t1)
				engineTime += t1.Sub(t0)
				respBytes = n
			}
			n := float64(b.N)
			b.ReportMetric(float64(engineTime.Microseconds())/1000/n, "engine-ms/query")
			b.ReportMetric(float64(httpTime.Microseconds())/1000/n, "http-ms/query")
			b.ReportMetric(100*(float64(httpTime)/float64(engineTime)-1), "overhead-%")
			b.ReportMetric(float64(respBytes), "bytes/response")
		})
	}
}

// BenchmarkEncodeMatrix measures the JSON encoder alone on a range result
// of 100 series x 2160 points.
func BenchmarkEncodeMatrix(b *testing.B) {
	db, end := benchDB(b)
	s, err := New(Options{Queryable: db})
	if err != nil {
		b.Fatal(err)
	}
	qry, err := s.engine.NewRangeQuery(context.Background(), db, nil, `http_requests_total`, end.Add(-6*time.Hour), end, 10*time.Second)
	if err != nil {
		b.Fatal(err)
	}
	defer qry.Close()
	res := qry.Exec(context.Background())
	if res.Err != nil {
		b.Fatal(res.Err)
	}
	var buf []byte
	points := 0
	for b.Loop() {
		buf = appendValue(buf[:0], res.Value)
	}
	m, _ := res.Matrix()
	for _, s := range m {
		points += len(s.Floats)
	}
	b.ReportMetric(float64(len(buf))/float64(points), "bytes/point")
	b.ReportMetric(float64(points)*float64(b.N)/b.Elapsed().Seconds(), "points/s")
}
