// Package stream is Ward's websocket hub: browsers subscribe to PromQL
// expressions over /api/v1/stream and the hub pushes a new point for each
// after every storage flush, and the alert board whenever a check changes
// state. Each client has one bounded queue and one writer goroutine; a client
// whose queue is full is dropped, so a slow browser never slows the hub. The
// hub owns the hijacked connections and closes them on shutdown, because
// fasthttp does not.
package stream

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/prometheus/prometheus/model/labels"
)

// ErrClosed is returned when the hub has been closed.
var ErrClosed = errors.New("stream: hub closed")

// Sample is one series' value of an instant query.
type Sample struct {
	Labels labels.Labels
	T      int64 // milliseconds since the epoch
	V      float64
}

// QueryFunc evaluates expr as an instant query at t. The daemon gives the hub
// one over the PromQL engine and storage; the hub knows neither.
type QueryFunc func(ctx context.Context, expr string, t time.Time) ([]Sample, error)

// ChecksFunc returns the alert board rows (the data of /api/v1/checks). The hub
// pushes them to clients whenever their JSON changes.
type ChecksFunc func() any

// Options configure a Hub. The zero value of every field but Query works.
type Options struct {
	// Query evaluates subscribed expressions. Required.
	Query QueryFunc
	// Checks, when set, is polled every Interval for alert state changes.
	Checks ChecksFunc
	// Interval is how often checks are polled, and how often expressions are
	// evaluated when no Notify arrived in the meantime. Default 1s.
	Interval time.Duration
	// QueryTimeout bounds one evaluation of one expression. Default 10s.
	QueryTimeout time.Duration
	// QueueSize is the number of messages a client may have waiting; one more
	// drops the client. Default 64.
	QueueSize int
	// MaxSubscriptions per client. Default 32.
	MaxSubscriptions int
	// WriteTimeout bounds one websocket write. Default 10s.
	WriteTimeout time.Duration
	// PingInterval is how often idle clients are pinged; a client that does not
	// answer within two intervals is closed. Default 30s.
	PingInterval time.Duration
	// MaxClients caps concurrent connections. Default 4096.
	MaxClients int
	// AllowAnyOrigin accepts websocket upgrades from pages served by another
	// host (the default accepts only same-origin pages and non-browser clients).
	AllowAnyOrigin bool
	// Metrics receives the hub's ward_stream_* metrics; nil makes a private set.
	Metrics *metrics.Set
	// Logger; nil discards.
	Logger *slog.Logger
}

func (o *Options) ensureDefaults() {
	if o.Interval <= 0 {
		o.Interval = time.Second
	}
	if o.QueryTimeout <= 0 {
		o.QueryTimeout = 10 * time.Second
	}
	if o.QueueSize <= 0 {
		o.QueueSize = 64
	}
	if o.MaxSubscriptions <= 0 {
		o.MaxSubscriptions = 32
	}
	if o.WriteTimeout <= 0 {
		o.WriteTimeout = 10 * time.Second
	}
	if o.PingInterval <= 0 {
		o.PingInterval = 30 * time.Second
	}
	if o.MaxClients <= 0 {
		o.MaxClients = 4096
	}
	if o.Metrics == nil {
		o.Metrics = metrics.NewSet()
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
}

// Hub fans query results and check changes out to websocket clients. Build it
// with New, serve ServeFastHTTP on a route, run Run, stop with Close or by
// cancelling Run's context.
type Hub struct {
	o      Options
	notify chan struct{}
	// first carries new subscriptions to Run, which sends each its first point
	// without evaluating every other subscription again.
	first chan firstPoint
	m     hubMetrics
	// last holds each expression's latest message; only Run touches it.
	last map[string]lastMsg

	mu      sync.Mutex
	clients map[*client]struct{}
	closed  bool
	checks  []byte // the last checks message, sent to new check subscribers
	wg      sync.WaitGroup

	closeOnce sync.Once
}

type hubMetrics struct {
	clients   *metrics.Gauge
	dropped   *metrics.Counter
	sent      *metrics.Counter
	evals     *metrics.Counter
	evalFails *metrics.Counter
	rejected  *metrics.Counter
	push      *metrics.Histogram // from queueing to written, per client and message
}

// New builds a hub. It starts nothing.
func New(o Options) (*Hub, error) {
	if o.Query == nil {
		return nil, errors.New("stream: Options.Query is required")
	}
	o.ensureDefaults()
	h := &Hub{
		o:       o,
		notify:  make(chan struct{}, 1),
		first:   make(chan firstPoint, 1024),
		clients: map[*client]struct{}{},
		last:    map[string]lastMsg{},
	}
	set := o.Metrics
	h.m = hubMetrics{
		dropped:   set.NewCounter(`ward_stream_dropped_clients_total`),
		sent:      set.NewCounter(`ward_stream_messages_sent_total`),
		evals:     set.NewCounter(`ward_stream_evaluations_total`),
		evalFails: set.NewCounter(`ward_stream_evaluation_errors_total`),
		rejected:  set.NewCounter(`ward_stream_rejected_connections_total`),
		push:      set.NewHistogram(`ward_stream_push_seconds`),
	}
	h.m.clients = set.NewGauge(`ward_stream_clients`, func() float64 {
		h.mu.Lock()
		defer h.mu.Unlock()
		return float64(len(h.clients))
	})
	return h, nil
}

// Notify tells the hub that new data was stored: subscribed expressions are
// evaluated again soon. It never blocks; notifications arriving during an
// evaluation coalesce into one more.
func (h *Hub) Notify() {
	select {
	case h.notify <- struct{}{}:
	default:
	}
}

// Clients returns the number of connected clients.
func (h *Hub) Clients() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.clients)
}

// Run evaluates subscriptions after each Notify (or every Interval without
// one) and polls checks every Interval, until ctx is done; then it closes the
// hub and every connection and waits for their goroutines.
func (h *Hub) Run(ctx context.Context) error {
	defer h.Close()
	t := time.NewTicker(h.o.Interval)
	defer t.Stop()
	notified := false
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-h.notify:
			notified = true
			h.evaluate(ctx)
		case f := <-h.first:
			h.sendFirst(ctx, f)
		case <-t.C:
			if !notified {
				h.evaluate(ctx)
			}
			notified = false
			h.pollChecks()
		}
	}
}

// Close closes every connection, refuses new ones and waits for the
// goroutines of the connections to end. It is idempotent.
func (h *Hub) Close() error {
	h.closeOnce.Do(func() {
		h.mu.Lock()
		h.closed = true
		cs := make([]*client, 0, len(h.clients))
		for c := range h.clients {
			cs = append(cs, c)
		}
		h.mu.Unlock()
		for _, c := range cs {
			c.close()
		}
	})
	h.wg.Wait()
	return nil
}

// add registers c and counts it in wg, or refuses it when the hub is closed or full.
func (h *Hub) add(c *client) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return ErrClosed
	}
	if len(h.clients) >= h.o.MaxClients {
		return fmt.Errorf("stream: %d clients connected, the maximum", len(h.clients))
	}
	h.clients[c] = struct{}{}
	// Counted under the lock that Close takes to set closed, so that Close
	// waits for every connection it did not refuse.
	h.wg.Add(1)
	return nil
}

func (h *Hub) remove(c *client) {
	h.mu.Lock()
	delete(h.clients, c)
	h.mu.Unlock()
}

// snapshot returns the connected clients.
func (h *Hub) snapshot() []*client {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]*client, 0, len(h.clients))
	for c := range h.clients {
		out = append(out, c)
	}
	return out
}

// evaluate runs every distinct subscribed expression once and sends each
// result, encoded once, to the clients subscribed to it.
func (h *Hub) evaluate(ctx context.Context) {
	clients := h.snapshot()
	byExpr := map[string][]*client{}
	for _, c := range clients {
		for _, e := range c.subscriptions() {
			byExpr[e] = append(byExpr[e], c)
		}
	}
	if len(byExpr) == 0 {
		return
	}
	now := time.Now()
	clear(h.last) // forget expressions nobody subscribes to any more
	for expr, cs := range byExpr {
		if ctx.Err() != nil {
			return
		}
		msg := h.eval(ctx, expr, now)
		h.last[expr] = lastMsg{msg, now}
		for _, c := range cs {
			if c.subscribed(expr) {
				h.send(c, msg)
			}
		}
	}
}

// firstPoint asks Run for the current point of expr for a new subscriber.
type firstPoint struct {
	c    *client
	expr string
}

type lastMsg struct {
	b  []byte
	at time.Time
}

// sendFirst sends a new subscriber the latest point of its expression: the last
// round's when it is fresh (many browsers open the same dashboard), else a new
// evaluation.
func (h *Hub) sendFirst(ctx context.Context, f firstPoint) {
	if !f.c.subscribed(f.expr) {
		return
	}
	l, ok := h.last[f.expr]
	if !ok || time.Since(l.at) > h.o.Interval {
		now := time.Now()
		l = lastMsg{h.eval(ctx, f.expr, now), now}
		h.last[f.expr] = l
	}
	h.send(f.c, l.b)
}

// eval runs one expression and encodes the message clients receive.
func (h *Hub) eval(ctx context.Context, expr string, now time.Time) []byte {
	qctx, cancel := context.WithTimeout(ctx, h.o.QueryTimeout)
	defer cancel()
	h.m.evals.Inc()
	res, err := h.o.Query(qctx, expr, now)
	if err != nil {
		h.m.evalFails.Inc()
		b, _ := json.Marshal(errorMsg{Type: "error", Expr: expr, Error: err.Error()})
		return b
	}
	pm := pointsMsg{Type: "points", Expr: expr, T: now.UnixMilli(), Series: make([]seriesPoint, len(res))}
	for i, s := range res {
		pm.Series[i] = seriesPoint{Metric: s.Labels.Map(), T: s.T, V: jsonFloat(s.V)}
	}
	b, err := json.Marshal(pm)
	if err != nil {
		b, _ = json.Marshal(errorMsg{Type: "error", Expr: expr, Error: fmt.Sprintf("encode result: %v", err)})
	}
	return b
}

// pollChecks pushes the board to check subscribers when it changed.
func (h *Hub) pollChecks() {
	if h.o.Checks == nil {
		return
	}
	b, err := json.Marshal(checksMsg{Type: "checks", Checks: h.o.Checks()})
	if err != nil {
		h.o.Logger.Warn("stream: encode checks", "err", err)
		return
	}
	h.mu.Lock()
	changed := string(b) != string(h.checks)
	h.checks = b
	h.mu.Unlock()
	if !changed {
		return
	}
	for _, c := range h.snapshot() {
		if c.wantsChecks() {
			h.send(c, b)
		}
	}
}

// lastChecks returns the last checks message, or nil before the first poll.
func (h *Hub) lastChecks() []byte {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.checks
}

// send queues msg for c; a full queue drops c rather than waiting for it.
func (h *Hub) send(c *client, msg []byte) {
	if !c.enqueue(msg) {
		h.m.dropped.Inc()
		h.o.Logger.Info("stream: dropped slow client", "remote", c.remote)
		c.close()
	}
}
