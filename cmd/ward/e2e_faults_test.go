package main

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestFaultsWebhooks: a dead receiver (closed port) and a slow one (never answers) do not
// block rule evaluation; failed attempts are retried and counted.
func TestFaultsWebhooks(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	// The dead receiver: a port that was free a moment ago, with nothing listening.
	dead := fmt.Sprintf("http://127.0.0.1:%d/hook", freePort(t))
	// The slow receiver hangs until the test ends (or Ward gives up on the request).
	release := make(chan struct{})
	var slowHits atomic.Int64
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		slowHits.Add(1)
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(slow.Close)
	t.Cleanup(func() { close(release) }) // runs before slow.Close

	dir := t.TempDir()
	rulesFile := filepath.Join(dir, "rules.yml")
	writeFile(t, rulesFile, `groups:
  - name: faults
    interval: 1s
    rules:
      - alert: FaultHigh
        expr: fault_gauge
        crit: "> 10"
`)
	cfg := filepath.Join(dir, "ward.yml")
	writeFile(t, cfg, fmt.Sprintf(`notify:
  receivers:
    - name: dead
      type: webhook
      url: %s
      min_backoff: 100ms
      max_backoff: 200ms
      timeout: 1s
    - name: slow
      type: webhook
      url: %s
      min_backoff: 100ms
      max_backoff: 200ms
      timeout: 1s
`, dead, slow.URL))
	w := startWard(t, filepath.Join(dir, "data"), "--config", cfg, "--rules", rulesFile)
	mustSend(t, w, "fault.gauge:50|g")
	w.waitCheck("FaultHigh", "CRITICAL")

	waitFor(t, 60*time.Second, "retries to both receivers", func() (bool, string) {
		d := w.selfMetric(`ward_notify_retries_total{receiver="dead"}`)
		s := w.selfMetric(`ward_notify_retries_total{receiver="slow"}`)
		return d >= 1 && s >= 1, fmt.Sprintf("dead %v slow %v (slow hits %d)", d, s, slowHits.Load())
	})
	// Evaluation goes on meanwhile.
	before := w.selfMetric("ward_rules_evaluations_total")
	waitFor(t, 30*time.Second, "evaluations go on", func() (bool, string) {
		now := w.selfMetric("ward_rules_evaluations_total")
		return now >= before+3, fmt.Sprint(now)
	})
	// And the state still follows the data.
	mustSend(t, w, "fault.gauge:0|g")
	w.waitCheck("FaultHigh", "OK")
	w.stop()
}

// TestFaultsQueryOfDeath: a huge range at a tiny step and a query loading more samples
// than --query-max-samples get clear errors, and the daemon stays healthy.
func TestFaultsQueryOfDeath(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	w := startWard(t, t.TempDir(), "--query-max-samples", "1000")
	// 2,000 series, flushed once: more than the query may load at once.
	var b strings.Builder
	for i := 0; i < 2000; i++ {
		fmt.Fprintf(&b, "qod.series:1|g|#i:%d\n", i)
		if i%100 == 99 {
			mustSend(t, w, strings.TrimSuffix(b.String(), "\n"))
			b.Reset()
		}
	}
	now := time.Now().Unix()
	st, body, _ := w.do(t, "GET", "/api/v1/query_range?query=1&start=0&end="+strconv.FormatInt(now, 10)+"&step=0.001", "", "")
	if st != 400 || !strings.Contains(body, "exceeded maximum resolution") {
		t.Errorf("huge range at a tiny step: %d %s", st, body)
	}
	// Once the 2,000 series are flushed, loading them all is refused.
	waitFor(t, 30*time.Second, "422 for a query beyond --query-max-samples", func() (bool, string) {
		st, body, _ = w.do(t, "GET", "/api/v1/query?query=qod_series", "", "")
		return st == 422 && strings.Contains(body, "sample"), fmt.Sprintf("%d %.200s", st, body)
	})
	t.Logf("query of death answered: %s", body)
	if st, _, _ := w.do(t, "GET", "/-/healthy", "", ""); st != 200 {
		t.Errorf("/-/healthy after the queries: %d", st)
	}
	if st, body, _ := w.do(t, "GET", "/api/v1/query?query=1%2B1", "", ""); st != 200 {
		t.Errorf("a small query after the queries of death: %d %s", st, body)
	}
	w.stop()
}

// TestFaultsUDPFlood floods the statsd port beyond what Ward takes for a bounded few
// seconds: drops are counted (by the kernel counter Ward exposes, or as lines received
// short of lines sent) and /-/healthy answers within a second throughout.
func TestFaultsUDPFlood(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	w := startWard(t, t.TempDir())
	packet := []byte(strings.TrimSuffix(strings.Repeat("flood.count:1|c|#k:v\n", 60), "\n"))
	stop := make(chan struct{})
	done := make(chan int64)
	const senders = 2
	for i := 0; i < senders; i++ {
		go func() {
			var sent int64
			defer func() { done <- sent }()
			c, err := net.Dial("udp", w.statsd)
			if err != nil {
				return
			}
			defer c.Close()
			for {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := c.Write(packet); err == nil {
					sent += 60
				}
			}
		}()
	}
	client := http.Client{Timeout: time.Second}
	var slowest time.Duration
	deadline := time.Now().Add(4 * time.Second)
	for time.Now().Before(deadline) {
		start := time.Now()
		resp, err := client.Get("http://" + w.http + "/-/healthy")
		if err != nil {
			t.Errorf("/-/healthy during the flood: %v", err)
			break
		}
		resp.Body.Close()
		if d := time.Since(start); d > slowest {
			slowest = d
		}
		time.Sleep(50 * time.Millisecond) // pacing of the probe, not synchronisation
	}
	close(stop)
	var sent int64
	for i := 0; i < senders; i++ {
		sent += <-done
	}
	// Let Ward drain its queues, then compare.
	var received float64
	waitFor(t, 30*time.Second, "received lines settle", func() (bool, string) {
		r1 := w.selfMetric(`ward_ingest_lines_received_total{protocol="udp"}`)
		time.Sleep(200 * time.Millisecond)
		received = w.selfMetric(`ward_ingest_lines_received_total{protocol="udp"}`)
		return r1 == received, fmt.Sprint(received)
	})
	drops := w.selfMetric("ward_ingest_udp_kernel_drops")
	t.Logf("flood: %d lines sent, %v received, kernel drops %v, slowest /-/healthy %v", sent, received, drops, slowest)
	if float64(sent) > received && drops == 0 {
		t.Errorf("%v lines lost and ward_ingest_udp_kernel_drops is 0", float64(sent)-received)
	}
	// What was received is counted exactly.
	w.waitValue(`flood_count{k="v"}`, received)
	w.stop()
}
