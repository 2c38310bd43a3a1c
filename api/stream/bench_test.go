package stream

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/gorilla/websocket"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"
	"github.com/valyala/fasthttp"

	"github.com/wardmetrics/ward/tsdb"
)

// The load: 500 browsers, 10 graphs each, pushed every second. The clients
// run in a child process (this test binary, re-executed) so that the CPU measured in
// this process is the hub's alone: PromQL over real storage, encoding and writes.
const (
	benchClients       = 500
	benchSubsPerClient = 10
	benchDistinctExprs = 50 // dashboards share graphs: 500 x 10 subscriptions over 50 expressions
	benchSeriesPerExpr = 10
)

func benchExpr(i int) string {
	return fmt.Sprintf(`sum by (host) (rate(bench_m%d[1m]))`, i%benchDistinctExprs)
}

// BenchmarkPush500Clients reports the hub's CPU (percent of one core) and the 99th
// percentile push latency (from the start of an evaluation round to the client's
// receipt) with 500 websocket clients subscribed to 10 expressions each.
func BenchmarkPush500Clients(b *testing.B) {
	seconds := 10
	if testing.Short() {
		seconds = 3
	}
	db, err := tsdb.Open(filepath.Join(b.TempDir(), "data"), tsdb.Options{}, metrics.NewSet())
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	// Ten minutes of data at 10s resolution for every series.
	now := time.Now()
	var batch []tsdb.Sample
	for m := 0; m < benchDistinctExprs; m++ {
		for h := 0; h < benchSeriesPerExpr; h++ {
			ls := labels.FromStrings("__name__", fmt.Sprintf("bench_m%d", m), "host", fmt.Sprintf("h%d", h))
			for k := 60; k >= 0; k-- {
				batch = append(batch, tsdb.Sample{Labels: ls, T: now.Add(-time.Duration(k) * 10 * time.Second).UnixMilli(), V: float64(1000 - k)})
			}
		}
	}
	if err := db.Append(batch); err != nil {
		b.Fatal(err)
	}
	engine := promql.NewEngine(promql.EngineOpts{MaxSamples: 1e7, Timeout: 10 * time.Second, LookbackDelta: 5 * time.Minute})
	query := func(ctx context.Context, expr string, t time.Time) ([]Sample, error) {
		q, err := engine.NewInstantQuery(ctx, db, nil, expr, t)
		if err != nil {
			return nil, err
		}
		defer q.Close()
		res := q.Exec(ctx)
		if res.Err != nil {
			return nil, res.Err
		}
		v, _ := res.Value.(promql.Vector)
		out := make([]Sample, len(v))
		for i, s := range v {
			out[i] = Sample{Labels: s.Metric, T: s.T, V: s.F}
		}
		return out, nil
	}
	set := metrics.NewSet()
	h, err := New(Options{Query: query, Interval: time.Second, Metrics: set, MaxClients: 2 * benchClients, QueueSize: 64})
	if err != nil {
		b.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv := &fasthttp.Server{Handler: h.ServeFastHTTP, Concurrency: 4 * benchClients, MaxIdleWorkerDuration: 50 * time.Millisecond}
	go func() { _ = srv.Serve(ln) }()
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- h.Run(ctx) }()
	defer func() {
		cancel()
		<-ran
		_ = srv.Shutdown()
	}()

	cmd := exec.Command(os.Args[0], "-test.run=^TestBenchClients$", "-test.v")
	cmd.Env = append(os.Environ(),
		"WARD_STREAM_BENCH_URL=ws://"+ln.Addr().String()+"/api/v1/stream",
		"WARD_STREAM_BENCH_SECONDS="+strconv.Itoa(seconds))
	out, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	// The child says "ready" when every client is subscribed, then measures.
	var cpu0 time.Duration
	var wall0 time.Time
	var res benchResult
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "ready":
			cpu0, wall0 = cpuTime(), time.Now()
			b.ResetTimer()
		case len(line) > 7 && line[:7] == "result ":
			if err := json.Unmarshal([]byte(line[7:]), &res); err != nil {
				b.Fatal(err)
			}
		}
	}
	cpu, wall := cpuTime()-cpu0, time.Since(wall0)
	if err := cmd.Wait(); err != nil {
		b.Fatalf("clients: %v", err)
	}
	if res.Messages == 0 {
		b.Fatal("the clients received nothing")
	}
	cpuPct := 100 * cpu.Seconds() / wall.Seconds()
	b.ReportMetric(cpuPct, "cpu%")
	b.ReportMetric(res.P99Ms, "p99-ms")
	b.ReportMetric(res.P50Ms, "p50-ms")
	b.ReportMetric(float64(res.Messages)/wall.Seconds(), "msgs/s")
	dropped := set.GetOrCreateCounter(`ward_stream_dropped_clients_total`).Get()
	b.ReportMetric(float64(dropped), "dropped")
	fmt.Printf("bench: stream_push clients=%d subscriptions=%d cpu_pct=%.1f p50_ms=%.1f p99_ms=%.1f msgs_per_sec=%.0f dropped=%d\n",
		benchClients, benchClients*benchSubsPerClient, cpuPct, res.P50Ms, res.P99Ms, float64(res.Messages)/wall.Seconds(), dropped)
}

type benchResult struct {
	Messages int
	P50Ms    float64
	P99Ms    float64
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// TestBenchClients is the client side of BenchmarkPush500Clients, run in a child
// process; it skips in a normal test run.
func TestBenchClients(t *testing.T) {
	url := os.Getenv("WARD_STREAM_BENCH_URL")
	if url == "" {
		t.Skip("the client process of BenchmarkPush500Clients")
	}
	seconds, _ := strconv.Atoi(os.Getenv("WARD_STREAM_BENCH_SECONDS"))
	conns := make([]*websocket.Conn, benchClients)
	for i := range conns {
		ws, _, err := websocket.DefaultDialer.Dial(url, nil)
		if err != nil {
			t.Fatalf("client %d: %v", i, err)
		}
		defer ws.Close()
		for k := 0; k < benchSubsPerClient; k++ {
			if err := ws.WriteJSON(map[string]string{"op": "subscribe", "expr": benchExpr(i + k)}); err != nil {
				t.Fatal(err)
			}
		}
		conns[i] = ws
	}
	// Measure after a warm-up: first points of new subscriptions are not pushes.
	start := time.Now().Add(1500 * time.Millisecond)
	var (
		mu   sync.Mutex
		lats []float64
		wg   sync.WaitGroup
	)
	end := start.Add(time.Duration(seconds) * time.Second)
	for _, ws := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []float64
			_ = ws.SetReadDeadline(end)
			for {
				_, b, err := ws.ReadMessage()
				if err != nil {
					break
				}
				var m struct {
					Type string `json:"type"`
					T    int64  `json:"t"`
				}
				if json.Unmarshal(b, &m) == nil && m.Type == "points" && time.Now().After(start) {
					mine = append(mine, float64(time.Now().UnixMilli()-m.T))
				}
			}
			mu.Lock()
			lats = append(lats, mine...)
			mu.Unlock()
		}()
	}
	time.Sleep(time.Until(start)) // the readers run meanwhile; this only paces the report
	fmt.Println("ready")
	wg.Wait()
	slices.Sort(lats)
	r := benchResult{Messages: len(lats)}
	if len(lats) > 0 {
		r.P50Ms = lats[len(lats)/2]
		r.P99Ms = lats[len(lats)*99/100]
	}
	out, _ := json.Marshal(r)
	fmt.Println("result " + string(out))
}
