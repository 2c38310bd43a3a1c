package main

import (
	"bytes"
	"fmt"
	"math"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestQueryEndToEnd is the query issue's acceptance test: counters, gauges and timers
// sent over UDP read back exactly through PromQL (totals, rates, quantiles), and
// `ward query` prints them.
func TestQueryEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	w := startWard(t, t.TempDir())

	// A counter in two steps, so that irate between two flushes is exactly known.
	lines := make([]string, 100)
	for i := range lines {
		lines[i] = "q.req:1|c|#host:web01"
	}
	mustSend(t, w, lines...)
	w.waitValue(`q_req`, 100)
	mustSend(t, w, "q.req:50|c|#host:web01")
	w.waitValue(`q_req`, 150)

	// Gauges with Etsy deltas.
	mustSend(t, w, "q.g:42|g")
	w.waitValue(`q_g`, 42)
	mustSend(t, w, "q.g:+3|g", "q.g:-1|g")
	w.waitValue(`q_g`, 44)

	// Timers 1..100 ms, plus one sampled at 10% that counts as 10.
	var tl []string
	for i := 1; i <= 100; i++ {
		tl = append(tl, fmt.Sprintf("q.lat:%d|ms", i))
	}
	mustSend(t, w, tl[:50]...)
	mustSend(t, w, tl[50:]...)
	mustSend(t, w, "q.lat:1000|ms|@0.1")
	w.waitValue(`q_lat_count`, 110)
	w.waitValue(`q_lat_sum`, 5050+10*1000)
	// Ten of the 110 observations are 1000 ms: the 0.95 quantile is in the bucket
	// holding 1000, the median in the one holding 55.
	p50, _, err := w.scalar(`histogram_quantile(0.5, sum by (le) (q_lat_bucket))`)
	if err != nil {
		t.Fatal(err)
	}
	if p50 < 50 || p50 > 100 {
		t.Errorf("median latency = %v, want within the bucket holding 55 ms", p50)
	}
	p95, _, err := w.scalar(`histogram_quantile(0.95, sum by (le) (q_lat_bucket))`)
	if err != nil {
		t.Fatal(err)
	}
	if p95 <= 500 || p95 > 1000 {
		t.Errorf("p95 latency = %v, want within (500, 1000]", p95)
	}

	// irate between the flush that held 100 and the one that held 150.
	r, err := w.queryRange(`q_req`, time.Now().Add(-2*time.Minute), time.Now(), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Result) != 1 {
		t.Fatalf("q_req range: %d series", len(r.Result))
	}
	var t150 float64
	for _, p := range r.Result[0].Values {
		if p[1] == "150" {
			t150 = p[0].(float64)
			break
		}
	}
	if t150 == 0 {
		t.Fatalf("no point with 150 in %v", r.Result[0].Values)
	}
	rate, err := w.queryAt(`irate(q_req[1m])`, t150)
	if err != nil {
		t.Fatal(err)
	}
	// The previous flush was one interval (1 s) earlier, or more if the two sends
	// straddled several flushes: irate is 50 per elapsed second.
	var tPrev float64
	for _, p := range r.Result[0].Values {
		if p[1] == "100" {
			tPrev = p[0].(float64)
		}
	}
	want := 50 / (t150 - tPrev)
	if math.Abs(rate-want) > 1e-9 {
		t.Errorf("irate at %v = %v, want %v", t150, rate, want)
	}

	// `ward query` prints the same values as a table, CSV and JSON.
	out := runWard(t, "query", "--url", "http://"+w.http, "q_g")
	if !strings.Contains(out, "44") {
		t.Errorf("ward query table:\n%s", out)
	}
	out = runWard(t, "query", "--url", "http://"+w.http, "--format", "csv", `sum(q_req)`)
	if !strings.Contains(out, "150") {
		t.Errorf("ward query csv:\n%s", out)
	}
	out = runWard(t, "query", "--url", "http://"+w.http, "--format", "json", "--range", "1m", "--step", "10s", `q_g`)
	if !strings.Contains(out, `"44"`) && !strings.Contains(out, "44") {
		t.Errorf("ward query range json:\n%s", out)
	}
	if _, err := exec.Command(wardBinary(t), "query", "--url", "http://"+w.http, "sum(").Output(); err == nil {
		t.Error("ward query with a bad expression exited 0")
	}
	w.stop()
}

func mustSend(t *testing.T, w *ward, lines ...string) {
	t.Helper()
	if _, err := w.statsdUDP(lines...); err != nil {
		t.Fatal(err)
	}
}

func runWard(t *testing.T, args ...string) string {
	t.Helper()
	var out, errb bytes.Buffer
	cmd := exec.Command(wardBinary(t), args...)
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("ward %v: %v\n%s", args, err, errb.String())
	}
	return out.String()
}

func (w *ward) queryAt(expr string, at float64) (float64, error) {
	r, err := w.get("/api/v1/query", "query", expr, "time", strconv.FormatFloat(at, 'f', 3, 64))
	if err != nil {
		return 0, err
	}
	if len(r.Result) != 1 {
		return 0, fmt.Errorf("%s at %v: %d results", expr, at, len(r.Result))
	}
	return strconv.ParseFloat(r.Result[0].Value[1].(string), 64)
}

func (w *ward) queryRange(expr string, start, end time.Time, step time.Duration) (promResult, error) {
	return w.get("/api/v1/query_range", "query", expr,
		"start", strconv.FormatInt(start.Unix(), 10), "end", strconv.FormatInt(end.Unix(), 10),
		"step", strconv.FormatFloat(step.Seconds(), 'f', -1, 64))
}
