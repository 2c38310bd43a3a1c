package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/VictoriaMetrics/metrics"

	"github.com/wardmetrics/ward/tsdb"
)

// vmVersion is the VictoriaMetrics single-node release the remote-write test runs
// against; .ci/run builds it into vmBinaryPath before `make test`.
const vmVersion = "v1.151.0"

// vmBinaryPath is where the built VictoriaMetrics is cached: $WARD_VM_BIN, else
// ${XDG_CACHE_HOME:-$HOME/.cache}/ward-test/victoria-metrics-<version>.
func vmBinaryPath() string {
	if p := os.Getenv("WARD_VM_BIN"); p != "" {
		return p
	}
	dir, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	return filepath.Join(dir, "ward-test", "victoria-metrics-"+vmVersion)
}

// victoriaMetrics is one running VictoriaMetrics single-node on loopback, the cluster
// TSDB stand-in of the remote-write test.
type victoriaMetrics struct {
	t       *testing.T
	bin     string
	addr    string
	dataDir string
	cmd     *exec.Cmd
	done    chan error
	log     *syncBuffer
}

func startVM(t *testing.T) *victoriaMetrics {
	t.Helper()
	bin := vmBinaryPath()
	if _, err := os.Stat(bin); err != nil {
		msg := fmt.Sprintf("VictoriaMetrics %s is not built at %s: build it with\n"+
			"  GOBIN=$(mktemp -d) go install github.com/VictoriaMetrics/VictoriaMetrics/app/victoria-metrics@%s\n"+
			"and move the binary there (.ci/run does this)", vmVersion, bin, vmVersion)
		if os.Getenv("CI") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	v := &victoriaMetrics{
		t:       t,
		bin:     bin,
		addr:    fmt.Sprintf("127.0.0.1:%d", freePort(t)),
		dataDir: t.TempDir(),
	}
	v.start()
	t.Cleanup(func() {
		if v.cmd != nil && v.cmd.ProcessState == nil {
			_ = v.cmd.Process.Kill()
			<-v.done
		}
		if t.Failed() {
			t.Logf("victoria-metrics log:\n%s", v.log.String())
		}
	})
	return v
}

func (v *victoriaMetrics) start() {
	t := v.t
	t.Helper()
	v.cmd = exec.Command(v.bin,
		"-httpListenAddr="+v.addr,
		"-storageDataPath="+v.dataDir,
		"-retentionPeriod=100y",
		// Answer with what was just written: no 30s latency offset, no result cache.
		"-search.latencyOffset=0s",
		"-search.disableCache",
		"-loggerLevel=WARN",
		// Remote write is at-least-once: a request cut by the outage may have been
		// stored before it is retried. Keep one sample per series and millisecond,
		// so the count below checks that nothing is lost, not how often it arrived.
		"-dedup.minScrapeInterval=1ms",
	)
	v.log, v.done = startAndWait(t, v.cmd, "victoria-metrics", "http://"+v.addr+"/health")
}

// stop ends VictoriaMetrics by its PID with SIGTERM (it flushes its buffers on the
// way out) and waits for it.
func (v *victoriaMetrics) stop() {
	v.t.Helper()
	if err := syscall.Kill(v.cmd.Process.Pid, syscall.SIGTERM); err != nil {
		v.t.Fatal(err)
	}
	select {
	case <-v.done:
	case <-time.After(60 * time.Second):
		v.t.Fatalf("victoria-metrics did not exit within 60s of SIGTERM\n%s", v.log.String())
	}
}

// scalar evaluates expr on VictoriaMetrics at t (now when zero).
func (v *victoriaMetrics) scalar(expr string, at time.Time) (float64, bool, error) {
	q := url.Values{"query": {expr}}
	if !at.IsZero() {
		q.Set("time", strconv.FormatFloat(float64(at.UnixMilli())/1000, 'f', 3, 64))
	}
	return promScalar("http://" + v.addr + "/api/v1/query?" + q.Encode())
}

// promScalar reads the single value of an instant query's answer.
func promScalar(u string) (float64, bool, error) {
	resp, err := http.Get(u)
	if err != nil {
		return 0, false, err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var env struct {
		Status string     `json:"status"`
		Data   promResult `json:"data"`
		Error  string     `json:"error"`
	}
	if err := json.Unmarshal(body, &env); err != nil {
		return 0, false, fmt.Errorf("decode %s: %w", body, err)
	}
	if env.Status != "success" {
		return 0, false, fmt.Errorf("%s: %s", u, env.Error)
	}
	if len(env.Data.Result) != 1 {
		return 0, false, nil
	}
	s, _ := env.Data.Result[0].Value[1].(string)
	f, err := strconv.ParseFloat(s, 64)
	return f, true, err
}

// postStatsd sends n increments of counter over Ward's HTTP statsd endpoint (no UDP
// loss to account for).
func (w *ward) postStatsd(counter string, n int) {
	w.t.Helper()
	resp, err := http.Post("http://"+w.http+"/api/v1/statsd", "text/plain",
		strings.NewReader(strings.Repeat(counter+":1|c\n", n)))
	if err != nil {
		w.t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		w.t.Fatalf("POST /api/v1/statsd: %s", resp.Status)
	}
}

// TestRemoteWriteVictoriaMetrics is the scale-out issue's acceptance test: Ward writes
// to a real VictoriaMetrics through an outage of it and loses nothing; its rules query
// VictoriaMetrics through --query-url.
func TestRemoteWriteVictoriaMetrics(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	vm := startVM(t)

	// A series only VictoriaMetrics has: a rule that reads it proves rules query the
	// remote, not local storage.
	resp, err := http.Post("http://"+vm.addr+"/api/v1/import/prometheus", "text/plain",
		strings.NewReader("vm_only_metric{src=\"vm\"} 21\n"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	dir := t.TempDir()
	rulesFile := filepath.Join(dir, "rules.yml")
	writeFile(t, rulesFile, `groups:
  - name: remote
    interval: 1s
    rules:
      - record: from_vm
        expr: sum(vm_only_metric) * 2
`)
	writeURL := "http://" + vm.addr + "/api/v1/write"
	w := startWard(t, filepath.Join(dir, "data"),
		"--remote-write-url", writeURL, "--remote-write-label", "instance=ward-e2e", "--query-url", "http://"+vm.addr, "--rules", rulesFile)
	lbl := `{url="` + writeURL + `"}`

	// Before the outage: written through, and the rule sees the remote's series.
	w.postStatsd("e2e_rw", 100)
	waitFor(t, 60*time.Second, "e2e_rw = 100 in victoria-metrics", func() (bool, string) {
		v, ok, err := vm.scalar(`max_over_time(e2e_rw{instance="ward-e2e"}[1h])`, time.Time{})
		return err == nil && ok && v == 100, fmt.Sprint(v, ok, err)
	})
	w.waitValue("from_vm", 42)
	// The rule's output is written through too.
	waitFor(t, 60*time.Second, "from_vm in victoria-metrics", func() (bool, string) {
		v, ok, err := vm.scalar(`from_vm{instance="ward-e2e"}`, time.Time{})
		return err == nil && ok && v == 42, fmt.Sprint(v, ok, err)
	})

	// Outage: Ward keeps flushing; the queue grows on disk.
	vm.stop()
	for range 4 {
		w.postStatsd("e2e_rw", 50)
	}
	w.waitValue("e2e_rw", 300)
	waitFor(t, 60*time.Second, "remote-write queue to grow", func() (bool, string) {
		q := w.selfMetric("ward_remote_write_queue_requests" + lbl)
		r := w.selfMetric("ward_remote_write_retries_total" + lbl)
		lag := w.selfMetric("ward_remote_write_lag_seconds" + lbl)
		if q >= 3 && r >= 1 && lag > 0 {
			t.Logf("during the outage: %v requests queued, %v retries, lag %vs", q, r, lag)
			return true, ""
		}
		return false, fmt.Sprintf("queued %v retries %v lag %v", q, r, lag)
	})

	// Back: the queue drains and the remote holds every sample Ward stored up to a
	// moment after the restart.
	vm.start()
	at := time.Now()
	waitFor(t, 30*time.Second, "ward to flush past the check time", func() (bool, string) {
		v, ok, err := w.scalar("timestamp(e2e_rw)")
		return err == nil && ok && v > float64(at.Unix()+1), fmt.Sprint(v, ok, err)
	})
	wantCount, ok, err := w.scalarAt("count_over_time(e2e_rw[1h])", at)
	if err != nil || !ok {
		t.Fatalf("local count: %v %v", ok, err)
	}
	waitFor(t, 90*time.Second, "victoria-metrics to hold every sample", func() (bool, string) {
		n, ok, err := vm.scalar(`count_over_time(e2e_rw{instance="ward-e2e"}[1h])`, at)
		total, _, terr := vm.scalar(`max_over_time(e2e_rw{instance="ward-e2e"}[1h])`, at)
		return err == nil && terr == nil && ok && n == wantCount && total == 300,
			fmt.Sprintf("count %v (want %v) total %v (want 300) %v %v", n, wantCount, total, err, terr)
	})
	t.Logf("samples up to the check time: %v locally and in victoria-metrics", wantCount)
	if wantCount < 4 {
		t.Errorf("local samples up to the check: %v, want at least 4 (one per flush)", wantCount)
	}
	if d := w.selfMetric("ward_remote_write_dropped_requests_total" + lbl); d != 0 {
		t.Errorf("dropped requests: %v, want 0 within the queue bound", d)
	}
	w.stop()
	vm.stop()
}

// scalarAt evaluates expr on Ward's own API at t.
func (w *ward) scalarAt(expr string, at time.Time) (float64, bool, error) {
	q := url.Values{"query": {expr}, "time": {strconv.FormatFloat(float64(at.UnixMilli())/1000, 'f', 3, 64)}}
	return promScalar("http://" + w.http + "/api/v1/query?" + q.Encode())
}

// sendUDP sends one packet of lines to Ward's statsd port and waits until Ward has
// read them, so that the totals below are exact (loopback UDP does not drop at this
// pace, and a drop would fail here, not as a wrong total later).
func (w *ward) sendUDP(lines ...string) {
	w.t.Helper()
	const received = `ward_ingest_lines_received_total{protocol="udp"}`
	before := w.selfMetric(received)
	if _, err := w.statsdUDP(lines...); err != nil {
		w.t.Fatal(err)
	}
	waitFor(w.t, 10*time.Second, "ward to read the UDP packet", func() (bool, string) {
		got := w.selfMetric(received)
		return got >= before+float64(len(lines)), fmt.Sprintf("%v lines received, want %v", got, before+float64(len(lines)))
	})
}

// localSeries opens Ward's stopped data directory and returns the names of the series
// that hold samples there.
func localSeries(t *testing.T, dir string) map[string]bool {
	t.Helper()
	db, err := tsdb.Open(dir, tsdb.Options{}, metrics.NewSet())
	if err != nil {
		t.Fatalf("open Ward's data dir %s: %v", dir, err)
	}
	defer db.Close()
	last, err := db.LastValues()
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, s := range last {
		names[s.Labels.Get("__name__")] = true
	}
	return names
}

// TestRemoteWriteOnlyVictoriaMetrics runs `ward serve --remote-write-only`: flushes go
// only to VictoriaMetrics, Ward's own query API answers from it, the local data
// directory holds no ingested samples, and a counter continues from its total across
// a restart.
func TestRemoteWriteOnlyVictoriaMetrics(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	vm := startVM(t)
	dataDir := filepath.Join(t.TempDir(), "data")
	args := []string{"--remote-write-only", "--remote-write-url", "http://" + vm.addr + "/api/v1/write",
		"--query-url", "http://" + vm.addr, "--remote-write-label", "instance=ward-only"}
	w := startWard(t, dataDir, args...)

	for range 3 {
		w.sendUDP(strings.Split(strings.Repeat("e2e_only:1|c\n", 10), "\n")[:10]...)
	}
	// Ward's own /api/v1/query, served by VictoriaMetrics...
	w.waitValue(`e2e_only{instance="ward-only"}`, 30)
	// ...which holds it too.
	v, ok, err := vm.scalar(`e2e_only{instance="ward-only"}`, time.Time{})
	if err != nil || !ok || v != 30 {
		t.Fatalf("victoria-metrics e2e_only = %v (present %v, %v), want 30", v, ok, err)
	}
	// The label and series endpoints answer from the remote too: the instance label is
	// added on the way out and exists nowhere in Ward.
	if vals := w.labelValues(t, "instance"); !slices.Contains(vals, "ward-only") {
		t.Errorf("/api/v1/label/instance/values = %v, want ward-only from victoria-metrics", vals)
	}
	if vals := w.labelValues(t, "__name__"); !slices.Contains(vals, "e2e_only") {
		t.Errorf("/api/v1/label/__name__/values = %v, want e2e_only", vals)
	}
	r, err := w.get("/api/v1/query_range", "query", "e2e_only", "start", strconv.FormatInt(time.Now().Add(-time.Minute).Unix(), 10),
		"end", strconv.FormatInt(time.Now().Unix(), 10), "step", "1")
	if err != nil || len(r.Result) != 1 || r.Result[0].Metric["instance"] != "ward-only" {
		t.Errorf("query_range e2e_only: %+v %v, want one series with instance=ward-only", r, err)
	}
	// A query the remote refuses comes back with its status and error type.
	resp, err := http.Get("http://" + w.http + "/api/v1/query?query=" + url.QueryEscape("sum(("))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest && resp.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("bad query through the proxy: %s, want victoria-metrics' 400 or 422", resp.Status)
	}
	w.stop()

	// Nothing ingested is stored locally: the only series with samples are Ward's own
	// recorded self-metrics.
	names := localSeries(t, dataDir)
	for name := range names {
		if !strings.HasPrefix(name, "ward_") {
			t.Errorf("local storage holds samples of %s, want none but Ward's self-metrics with --remote-write-only", name)
		}
	}

	// Restarted, the counter goes on from 30, not from 0.
	w = startWard(t, dataDir, args...)
	w.sendUDP(strings.Split(strings.Repeat("e2e_only:1|c\n", 5), "\n")[:5]...)
	w.waitValue(`e2e_only{instance="ward-only"}`, 35)
	waitFor(t, 30*time.Second, "victoria-metrics to hold 35 with no counter reset", func() (bool, string) {
		v, ok, err := vm.scalar(`e2e_only{instance="ward-only"}`, time.Time{})
		resets, _, rerr := vm.scalar(`resets(e2e_only{instance="ward-only"}[1h])`, time.Time{})
		return err == nil && rerr == nil && ok && v == 35 && resets == 0, fmt.Sprint(v, ok, err, " resets ", resets, rerr)
	})
	w.stop()
	vm.stop()
}

// labelValues calls Ward's /api/v1/label/<name>/values.
func (w *ward) labelValues(t *testing.T, name string) []string {
	t.Helper()
	resp, err := http.Get("http://" + w.http + "/api/v1/label/" + name + "/values")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var env struct {
		Status string   `json:"status"`
		Data   []string `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&env); err != nil || env.Status != "success" {
		t.Fatalf("label %s values: %v %+v", name, err, env)
	}
	return env.Data
}

// TestRemoteWriteOnlyNeedsURLs checks that `ward serve --remote-write-only` refuses to
// start without the URLs it needs, saying which.
func TestRemoteWriteOnlyNeedsURLs(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--query-url", "http://127.0.0.1:1"}, "--remote-write-url"},
		{[]string{"--remote-write-url", "http://127.0.0.1:1/api/v1/write"}, "--query-url"},
	} {
		dir := t.TempDir()
		args := append([]string{"serve", "--data", filepath.Join(dir, "data"), "--http", "", "--statsd", "", "--memcache", "", "--remote-write-only"}, c.args...)
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute) // a start that wrongly succeeds
		out, err := exec.CommandContext(ctx, wardBinary(t), args...).CombinedOutput()
		cancel()
		if err == nil || !strings.Contains(string(out), "--remote-write-only") || !strings.Contains(string(out), c.want) {
			t.Errorf("ward %v: %v\n%s\nwant a failed start naming %s", args, err, out, c.want)
		}
	}
	// The same from the YAML config, whose keys are the flag names.
	dir := t.TempDir()
	cfg := filepath.Join(dir, "ward.yml")
	writeFile(t, cfg, "remote-write-only: true\nquery-url: http://127.0.0.1:1\nhttp: \"\"\nstatsd: \"\"\nmemcache: \"\"\n")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, wardBinary(t), "--config", cfg, "serve", "--data", filepath.Join(dir, "data")).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "--remote-write-url") {
		t.Errorf("ward with remote-write-only in its config: %v\n%s\nwant a failed start naming --remote-write-url", err, out)
	}
}
