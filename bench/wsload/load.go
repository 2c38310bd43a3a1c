package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
	"github.com/wardmetrics/ward/bench/internal/wardproc"
)

// result is one measured run.
type result struct {
	Wall    time.Duration // measured wall time
	CPU     time.Duration // ward's user+system CPU time over Wall
	Pushes  int           // points messages received in the window
	Dropped int           // clients whose connection ended before the window did
	P50Ms   float64
	P99Ms   float64
	MaxMs   float64
}

// cpuPercent is ward's CPU as percent of one core.
func (r result) cpuPercent() float64 { return 100 * r.CPU.Seconds() / r.Wall.Seconds() }

// expr is the i-th distinct expression: a per-host rate, as a dashboard graph has.
func expr(i int) string { return fmt.Sprintf(`sum by (host) (rate(wsload_m%d[1m]))`, i) }

func run(ctx context.Context, c config) (res result, err error) {
	dir, err := os.MkdirTemp("", "wsload-")
	if err != nil {
		return res, fmt.Errorf("temp data dir: %w", err)
	}
	defer os.RemoveAll(dir)
	d, err := wardproc.Start(c.ward, dir, time.Second, os.Stderr)
	if err != nil {
		return res, err
	}
	defer func() {
		if serr := d.Stop(); serr != nil && err == nil {
			err = serr
		}
	}()

	fctx, stopFeed := context.WithCancel(ctx)
	feedDone := make(chan error, 1)
	go func() { feedDone <- feed(fctx, d.Statsd, c.exprs, c.hosts) }()
	defer func() {
		stopFeed()
		if ferr := <-feedDone; ferr != nil && err == nil {
			err = ferr
		}
	}()
	if err := waitData(ctx, d.HTTP, c.exprs, c.hosts); err != nil {
		return res, err
	}

	cl, err := connect(ctx, d.HTTP, c)
	if err != nil {
		return res, err
	}
	// Pushes are counted from the end of the warm-up: the first point of a new
	// subscription is the hub's last round replayed, not a push.
	if err := pause(ctx, c.warmup); err != nil {
		cl.close()
		return res, err
	}
	cpu0, err := procCPU(d.PID())
	if err != nil {
		cl.close()
		return res, err
	}
	start := time.Now()
	cl.window(start, start.Add(c.duration))
	werr := pause(ctx, c.duration)
	cpu1, cerr := procCPU(d.PID())
	wall := time.Since(start)
	lats, dropped := cl.close()
	if werr != nil {
		return res, werr
	}
	if cerr != nil {
		return res, cerr
	}
	if len(lats) == 0 {
		return res, fmt.Errorf("no push received in %v", c.duration)
	}
	res = result{Wall: wall, CPU: cpu1 - cpu0, Pushes: len(lats), Dropped: dropped,
		P50Ms: percentile(lats, 50), P99Ms: percentile(lats, 99), MaxMs: percentile(lats, 100)}
	return res, nil
}

// pause waits d or until ctx ends. It paces the benchmark; nothing synchronises on it.
func pause(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// feed sends one increment per series every 250 ms until ctx ends, so that every
// expression has hosts series with a rate. It is a light load (exprs x hosts x 4
// lines a second): the benchmark is about pushing, not ingest.
func feed(ctx context.Context, addr string, exprs, hosts int) error {
	conn, err := net.Dial("udp", addr)
	if err != nil {
		return fmt.Errorf("statsd %s: %w", addr, err)
	}
	defer conn.Close()
	var dgrams [][]byte
	var b bytes.Buffer
	for m := 0; m < exprs; m++ {
		for h := 0; h < hosts; h++ {
			line := fmt.Sprintf("wsload.m%d:%d|c|#host:h%d\n", m, 1+h, h)
			if b.Len()+len(line) > 1400 {
				dgrams = append(dgrams, bytes.Clone(b.Bytes()))
				b.Reset()
			}
			b.WriteString(line)
		}
	}
	dgrams = append(dgrams, bytes.Clone(b.Bytes()))
	t := time.NewTicker(250 * time.Millisecond)
	defer t.Stop()
	for {
		for _, p := range dgrams {
			if _, err := conn.Write(p); err != nil {
				return fmt.Errorf("send statsd to %s: %w", addr, err)
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// waitData polls until every series is stored and the expressions have a rate (the
// feeder sends every series in each round, so the last expression's rate stands for all).
func waitData(ctx context.Context, addr string, exprs, hosts int) error {
	client := &http.Client{Timeout: 5 * time.Second}
	for _, w := range []struct {
		q    string
		want int
	}{
		{`count({__name__=~"wsload_m.+"})`, exprs * hosts},
		{fmt.Sprintf("count(%s)", expr(exprs-1)), hosts},
	} {
		u := "http://" + addr + "/api/v1/query?" + url.Values{"query": {w.q}}.Encode()
		deadline := time.Now().Add(60 * time.Second)
		last := ""
		for {
			v, err := scalar(client, u)
			if err == nil && v == float64(w.want) {
				break
			}
			last = fmt.Sprintf("%v (%v)", v, err)
			if time.Now().After(deadline) {
				return fmt.Errorf("%s: want %d within 60s, last %s", w.q, w.want, last)
			}
			if err := pause(ctx, 200*time.Millisecond); err != nil {
				return err
			}
		}
	}
	return nil
}

// scalar returns the value of a one-element instant query answer.
func scalar(client *http.Client, u string) (float64, error) {
	resp, err := client.Get(u)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var env struct {
		Data struct {
			Result []struct {
				Value [2]any `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&env); err != nil {
		return 0, fmt.Errorf("decode %s: %w", u, err)
	}
	if len(env.Data.Result) != 1 {
		return 0, fmt.Errorf("%d results", len(env.Data.Result))
	}
	s, _ := env.Data.Result[0].Value[1].(string)
	return strconv.ParseFloat(s, 64)
}

// clients are the websocket clients and what their readers measured.
type clients struct {
	conns   []*websocket.Conn
	wg      sync.WaitGroup
	startNs atomic.Int64 // the measured window, in Unix ns; zero until set
	endNs   atomic.Int64
	closing atomic.Bool
	dropped atomic.Int64
	mu      sync.Mutex
	lats    []float64
}

// connect opens c.clients connections, each subscribed to c.subs distinct expressions
// (client i to expressions i, i+1, ... modulo c.exprs, so every expression has as many
// subscribers), each with a reader goroutine that the clients own until close.
func connect(ctx context.Context, addr string, c config) (*clients, error) {
	cl := &clients{}
	d := websocket.Dialer{HandshakeTimeout: 10 * time.Second}
	for i := 0; i < c.clients; i++ {
		ws, _, err := d.DialContext(ctx, "ws://"+addr+"/api/v1/stream", nil)
		if err != nil {
			cl.close()
			return nil, fmt.Errorf("websocket client %d of %d: %w", i, c.clients, err)
		}
		cl.conns = append(cl.conns, ws)
		for k := 0; k < c.subs; k++ {
			if err := ws.WriteJSON(map[string]string{"op": "subscribe", "expr": expr((i + k) % c.exprs)}); err != nil {
				cl.close()
				return nil, fmt.Errorf("subscribe client %d: %w", i, err)
			}
		}
		cl.wg.Add(1)
		go cl.read(ws)
	}
	return cl, nil
}

// window sets the time span whose pushes are measured.
func (cl *clients) window(start, end time.Time) {
	cl.endNs.Store(end.UnixNano())
	cl.startNs.Store(start.UnixNano())
}

// read records the latency of every push received in the window.
//
// The latency is the receipt time minus the message's "t": the instant the hub began
// the evaluation round that produced the point, which the flush starts (the daemon
// notifies the hub once a flush has stored its points). So it covers evaluating every
// subscribed expression of the round, encoding, queueing behind other clients' writes,
// the websocket write and this reader being scheduled; it excludes the flush itself.
// Both clocks are this machine's.
func (cl *clients) read(ws *websocket.Conn) {
	defer cl.wg.Done()
	var mine []float64
	for {
		_, b, err := ws.ReadMessage()
		now := time.Now()
		if err != nil {
			if !cl.closing.Load() {
				cl.dropped.Add(1)
			}
			break
		}
		start := cl.startNs.Load()
		if start == 0 || now.UnixNano() < start || now.UnixNano() >= cl.endNs.Load() {
			continue
		}
		if t, ok := pushTime(b); ok {
			mine = append(mine, float64(now.UnixMicro()-t*1000)/1000)
		}
	}
	cl.mu.Lock()
	cl.lats = append(cl.lats, mine...)
	cl.mu.Unlock()
}

// close disconnects every client, waits for the readers and returns the latencies
// in milliseconds and the number of clients dropped before close.
func (cl *clients) close() ([]float64, int) {
	cl.closing.Store(true)
	for _, ws := range cl.conns {
		_ = ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
		_ = ws.Close()
	}
	cl.wg.Wait()
	return cl.lats, int(cl.dropped.Load())
}

// pushTime returns the "t" (Unix ms) of a points message, without decoding the
// series: 500 clients decoding 5,000 messages a second on the machine under test
// would take CPU from ward. The hub writes {"type":"points","expr":"...","t":N,...};
// an expression is a JSON string, in which `,"t":` cannot appear unescaped.
func pushTime(msg []byte) (int64, bool) {
	const prefix = `{"type":"points","expr":"`
	if !bytes.HasPrefix(msg, []byte(prefix)) {
		return 0, false
	}
	i := bytes.Index(msg[len(prefix):], []byte(`","t":`))
	if i < 0 {
		return 0, false
	}
	rest := msg[len(prefix)+i+len(`","t":`):]
	n := 0
	for n < len(rest) && rest[n] >= '0' && rest[n] <= '9' {
		n++
	}
	if n == 0 || n > 18 {
		return 0, false
	}
	t, err := strconv.ParseInt(string(rest[:n]), 10, 64)
	return t, err == nil
}
