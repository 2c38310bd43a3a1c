package stream

import (
	"net"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// queued is one message waiting for a client's writer.
type queued struct {
	b  []byte
	at time.Time
}

// client is one websocket connection: its subscriptions, its bounded queue and
// the writer goroutine that drains it.
type client struct {
	ws     *websocket.Conn
	remote string
	queue  chan queued
	done   chan struct{}
	once   sync.Once

	dmu    sync.Mutex // orders deadline changes with close
	closed bool

	mu     sync.Mutex
	subs   map[string]struct{}
	checks bool
}

func newClient(ws *websocket.Conn, queueSize int) *client {
	return &client{
		ws:     ws,
		remote: ws.RemoteAddr().String(),
		queue:  make(chan queued, queueSize),
		done:   make(chan struct{}),
		subs:   map[string]struct{}{},
	}
}

// close ends the connection once; the reader and the writer then return.
// fasthttp's hijacked connection ignores Close until its hijack handler
// returns, so close also moves both deadlines into the past, which wakes a
// reader or writer blocked on the socket; fasthttp then closes the socket.
func (c *client) close() {
	c.once.Do(func() {
		c.dmu.Lock()
		c.closed = true
		close(c.done)
		_ = c.ws.NetConn().SetDeadline(time.Unix(1, 0))
		c.dmu.Unlock()
		_ = c.ws.NetConn().Close()
	})
}

// setDeadline moves the read or write deadline d ahead, unless the client is
// closed: a deadline set after close would undo its wake-up.
func (c *client) setDeadline(read bool, d time.Duration) error {
	c.dmu.Lock()
	defer c.dmu.Unlock()
	if c.closed {
		return net.ErrClosed
	}
	if read {
		return c.ws.SetReadDeadline(time.Now().Add(d))
	}
	return c.ws.SetWriteDeadline(time.Now().Add(d))
}

// enqueue queues b without blocking; it reports false when the queue is full.
// A closed client accepts and discards.
func (c *client) enqueue(b []byte) bool {
	select {
	case <-c.done:
		return true
	default:
	}
	select {
	case c.queue <- queued{b, time.Now()}:
		return true
	default:
		return false
	}
}

func (c *client) subscribe(expr string, max int) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.subs[expr]; !ok && len(c.subs) >= max {
		return false
	}
	c.subs[expr] = struct{}{}
	return true
}

func (c *client) unsubscribe(expr string) {
	c.mu.Lock()
	delete(c.subs, expr)
	c.mu.Unlock()
}

func (c *client) subscribed(expr string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, ok := c.subs[expr]
	return ok
}

func (c *client) subscriptions() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]string, 0, len(c.subs))
	for e := range c.subs {
		out = append(out, e)
	}
	return out
}

func (c *client) setChecks() {
	c.mu.Lock()
	c.checks = true
	c.mu.Unlock()
}

func (c *client) wantsChecks() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.checks
}
