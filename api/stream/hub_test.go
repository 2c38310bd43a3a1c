package stream

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/gorilla/websocket"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/valyala/fasthttp"
	"go.uber.org/goleak"
)

// TestMain checks for leaks, ignoring the date updater fasthttp starts once per
// process and giving a stopped server's worker-pool janitor time to wake up.
func TestMain(m *testing.M) {
	code := m.Run()
	if code == 0 {
		deadline := time.Now().Add(15 * time.Second)
		for {
			err := goleak.Find(goleak.IgnoreAnyFunction("github.com/valyala/fasthttp.updateServerDate.func1"))
			if err == nil {
				break
			}
			if time.Now().After(deadline) {
				fmt.Fprintf(os.Stderr, "goleak: %v\n", err)
				code = 1
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	os.Exit(code)
}

// source is the outside world for the hub: a query function whose value the
// test sets, and a checks board it changes.
type source struct {
	mu     sync.Mutex
	v      float64
	status string
	calls  atomic.Int64
}

func (s *source) query(_ context.Context, expr string, t time.Time) ([]Sample, error) {
	s.calls.Add(1)
	if strings.Contains(expr, "bad(") {
		return nil, errors.New("parse error: unknown function bad")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return []Sample{{Labels: labels.FromStrings("__name__", expr, "job", "t"), T: t.UnixMilli(), V: s.v}}, nil
}

func (s *source) checks() any {
	s.mu.Lock()
	defer s.mu.Unlock()
	return []map[string]string{{"name": "disk", "status": s.status}}
}

func (s *source) set(v float64, status string) {
	s.mu.Lock()
	s.v, s.status = v, status
	s.mu.Unlock()
}

type testHub struct {
	*Hub
	url string
	set *metrics.Set
	src *source
}

// startHub serves a hub over a real fasthttp server on loopback and runs it
// until the test ends.
func startHub(t *testing.T, mod func(*Options)) *testHub {
	t.Helper()
	src := &source{status: "OK"}
	set := metrics.NewSet()
	o := Options{Query: src.query, Checks: src.checks, Interval: 20 * time.Millisecond, Metrics: set}
	if mod != nil {
		mod(&o)
	}
	h, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &fasthttp.Server{Handler: h.ServeFastHTTP, MaxIdleWorkerDuration: 50 * time.Millisecond}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- h.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-ran; err != nil {
			t.Errorf("Run: %v", err)
		}
		if err := srv.Shutdown(); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		<-served
	})
	return &testHub{Hub: h, url: "ws://" + ln.Addr().String() + "/api/v1/stream", set: set, src: src}
}

func (th *testHub) dial(t *testing.T) *websocket.Conn {
	t.Helper()
	ws, resp, err := websocket.DefaultDialer.Dial(th.url, nil)
	if err != nil {
		t.Fatalf("dial %s: %v (%v)", th.url, err, resp)
	}
	t.Cleanup(func() { ws.Close() })
	var m map[string]any
	readJSON(t, ws, &m)
	if m["type"] != "hello" {
		t.Fatalf("first message %v, want hello", m)
	}
	return ws
}

func readJSON(t *testing.T, ws *websocket.Conn, v any) {
	t.Helper()
	_ = ws.SetReadDeadline(time.Now().Add(10 * time.Second))
	if err := ws.ReadJSON(v); err != nil {
		t.Fatalf("read: %v", err)
	}
}

type gotPoints struct {
	Type   string `json:"type"`
	Expr   string `json:"expr"`
	Error  string `json:"error"`
	T      int64  `json:"t"`
	Series []struct {
		Metric map[string]string `json:"metric"`
		V      string            `json:"v"`
	} `json:"series"`
	Checks []map[string]string `json:"checks"`
}

// readUntil reads messages until cond holds.
func readUntil(t *testing.T, ws *websocket.Conn, what string, cond func(gotPoints) bool) gotPoints {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		var m gotPoints
		readJSON(t, ws, &m)
		if cond(m) {
			return m
		}
	}
	t.Fatalf("no %s within 10s", what)
	return gotPoints{}
}

func subscribe(t *testing.T, ws *websocket.Conn, op, expr string) {
	t.Helper()
	if err := ws.WriteJSON(map[string]string{"op": op, "expr": expr}); err != nil {
		t.Fatal(err)
	}
}

func TestSubscribeReceivesNewPoints(t *testing.T) {
	th := startHub(t, nil)
	ws := th.dial(t)
	th.src.set(1.5, "OK")
	subscribe(t, ws, "subscribe", "up")
	m := readUntil(t, ws, "points of up", func(m gotPoints) bool { return m.Type == "points" && m.Expr == "up" })
	if len(m.Series) != 1 || m.Series[0].V != "1.5" || m.Series[0].Metric["job"] != "t" {
		t.Fatalf("got %+v, want one series job=t at 1.5", m)
	}
	th.src.set(42, "OK")
	th.Notify()
	readUntil(t, ws, "the new value 42", func(m gotPoints) bool {
		return m.Type == "points" && len(m.Series) == 1 && m.Series[0].V == "42"
	})

	// After unsubscribing, no more points for up arrive: a later subscription's
	// points come, and none of up's in between them and the unsubscribe.
	subscribe(t, ws, "unsubscribe", "up")
	subscribe(t, ws, "subscribe", "other")
	readUntil(t, ws, "points of other", func(m gotPoints) bool { return m.Expr == "other" })
	for i := 0; i < 5; i++ {
		var m gotPoints
		readJSON(t, ws, &m)
		if m.Expr == "up" {
			t.Fatalf("points of up after unsubscribing and later points: %+v", m)
		}
	}
}

func TestSharedExpressionEvaluatedOnce(t *testing.T) {
	var mu sync.Mutex
	rounds := map[int64]int{} // evaluation time -> evaluations of "shared" at it
	th := startHub(t, func(o *Options) {
		o.Interval = time.Hour
		o.Query = func(_ context.Context, expr string, at time.Time) ([]Sample, error) {
			mu.Lock()
			rounds[at.UnixNano()]++
			mu.Unlock()
			return []Sample{{Labels: labels.FromStrings("e", expr), T: at.UnixMilli(), V: 1}}, nil
		}
	})
	a, b := th.dial(t), th.dial(t)
	subscribe(t, a, "subscribe", "shared")
	subscribe(t, b, "subscribe", "shared")
	for i := 0; i < 3; i++ {
		th.Notify()
		readUntil(t, a, "points", func(m gotPoints) bool { return m.Expr == "shared" })
		readUntil(t, b, "points", func(m gotPoints) bool { return m.Expr == "shared" })
	}
	mu.Lock()
	defer mu.Unlock()
	if len(rounds) == 0 {
		t.Fatal("no evaluation")
	}
	for at, n := range rounds {
		if n != 1 {
			t.Fatalf("round at %d evaluated the shared expression %d times, want once for both clients", at, n)
		}
	}
}

func TestQueryErrorAndBadRequest(t *testing.T) {
	th := startHub(t, nil)
	ws := th.dial(t)
	subscribe(t, ws, "subscribe", "bad(x)")
	m := readUntil(t, ws, "an error", func(m gotPoints) bool { return m.Type == "error" })
	if m.Expr != "bad(x)" || !strings.Contains(m.Error, "unknown function") {
		t.Fatalf("got %+v", m)
	}
	if err := ws.WriteMessage(websocket.TextMessage, []byte(`{"op":"explode"}`)); err != nil {
		t.Fatal(err)
	}
	m = readUntil(t, ws, "an error", func(m gotPoints) bool { return m.Type == "error" && m.Expr == "" })
	if !strings.Contains(m.Error, "unknown op") {
		t.Fatalf("got %+v", m)
	}

	// A plain GET is refused with 400, not hijacked.
	resp, err := http.Get(strings.Replace(th.url, "ws://", "http://", 1))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("plain GET: %d, want 400", resp.StatusCode)
	}
}

func TestSubscriptionLimit(t *testing.T) {
	th := startHub(t, func(o *Options) { o.MaxSubscriptions = 2 })
	ws := th.dial(t)
	for i := 0; i < 3; i++ {
		subscribe(t, ws, "subscribe", fmt.Sprintf("e%d", i))
	}
	m := readUntil(t, ws, "the limit error", func(m gotPoints) bool { return m.Type == "error" })
	if m.Expr != "e2" || !strings.Contains(m.Error, "maximum") {
		t.Fatalf("got %+v", m)
	}
}

func TestChecksPushedOnChange(t *testing.T) {
	th := startHub(t, nil)
	ws := th.dial(t)
	if err := ws.WriteJSON(map[string]string{"op": "checks"}); err != nil {
		t.Fatal(err)
	}
	th.src.set(0, "OK")
	readUntil(t, ws, "checks OK", func(m gotPoints) bool { return m.Type == "checks" && m.Checks[0]["status"] == "OK" })
	th.src.set(0, "CRITICAL")
	readUntil(t, ws, "checks CRITICAL", func(m gotPoints) bool {
		return m.Type == "checks" && m.Checks[0]["status"] == "CRITICAL"
	})
}

func TestSlowClientDroppedOthersServed(t *testing.T) {
	// Big results fill the slow client's socket buffers, then its queue.
	big := strings.Repeat("x", 64<<10)
	th := startHub(t, func(o *Options) {
		o.QueueSize = 2
		o.Interval = time.Hour
		o.Query = func(_ context.Context, expr string, t time.Time) ([]Sample, error) {
			return []Sample{{Labels: labels.FromStrings("pad", big), T: t.UnixMilli(), V: 1}}, nil
		}
	})
	slow := th.dial(t)
	subscribe(t, slow, "subscribe", "up") // and never read again
	fast := th.dial(t)
	subscribe(t, fast, "subscribe", "up")
	dropped := th.set.GetOrCreateCounter(`ward_stream_dropped_clients_total`)
	deadline := time.Now().Add(20 * time.Second)
	for dropped.Get() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the slow client was never dropped")
		}
		th.Notify()
		readUntil(t, fast, "points", func(m gotPoints) bool { return m.Type == "points" })
	}
	if dropped.Get() != 1 {
		t.Fatalf("dropped %d clients, want only the slow one", dropped.Get())
	}
	// The fast client keeps being served.
	th.Notify()
	readUntil(t, fast, "points after the drop", func(m gotPoints) bool { return m.Type == "points" })
	waitClients(t, th.Hub, 1)
}

func TestCloseClosesConnections(t *testing.T) {
	th := startHub(t, nil)
	ws := th.dial(t)
	waitClients(t, th.Hub, 1)
	if err := th.Close(); err != nil {
		t.Fatal(err)
	}
	_ = ws.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		if _, _, err := ws.ReadMessage(); err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				t.Fatal("connection still open 10s after Close")
			}
			break
		}
	}
	if n := th.Clients(); n != 0 {
		t.Fatalf("%d clients after Close", n)
	}
	// New connections are refused once closed.
	if _, resp, err := websocket.DefaultDialer.Dial(th.url, nil); err == nil {
		t.Fatal("dial after Close succeeded")
	} else if resp != nil && resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("dial after Close: %d, want 503", resp.StatusCode)
	}
}

func waitClients(t *testing.T, h *Hub, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for h.Clients() != n {
		if time.Now().After(deadline) {
			t.Fatalf("%d clients, want %d", h.Clients(), n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestNewNeedsQuery(t *testing.T) {
	if _, err := New(Options{}); err == nil {
		t.Fatal("New without Query succeeded")
	}
}

func TestJSONFloat(t *testing.T) {
	for _, c := range []struct {
		in   float64
		want string
	}{{1.5, `"1.5"`}, {1e21, `"1000000000000000000000"`}, {-0.25, `"-0.25"`}} {
		b, _ := json.Marshal(jsonFloat(c.in))
		if string(b) != c.want {
			t.Errorf("%v: got %s, want %s", c.in, b, c.want)
		}
	}
}
