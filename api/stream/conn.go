package stream

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/gorilla/websocket"
	"github.com/valyala/fasthttp"
)

// ServeFastHTTP upgrades the request to a websocket and serves the client
// until it leaves, is dropped or the hub closes. Mount it on a GET route.
func (h *Hub) ServeFastHTTP(ctx *fasthttp.RequestCtx) {
	req, err := toHTTPRequest(ctx)
	if err != nil || !websocket.IsWebSocketUpgrade(req) {
		ctx.Error("stream: expected a websocket upgrade\n", fasthttp.StatusBadRequest)
		return
	}
	h.mu.Lock()
	closed := h.closed
	h.mu.Unlock()
	if closed {
		ctx.Error("stream: shutting down\n", fasthttp.StatusServiceUnavailable)
		return
	}
	up := websocket.Upgrader{
		ReadBufferSize:  1024,
		WriteBufferSize: 4096,
	}
	if h.o.AllowAnyOrigin {
		up.CheckOrigin = func(*http.Request) bool { return true }
	}
	// From here the RequestCtx is fasthttp's again: the hijack handler runs
	// after this handler returns and touches only the connection.
	ctx.HijackSetNoResponse(true)
	ctx.Hijack(func(conn net.Conn) {
		ws, err := up.Upgrade(&hijackWriter{conn: conn, header: http.Header{}}, req, nil)
		if err != nil {
			h.m.rejected.Inc()
			return // Upgrade answered the client with the error
		}
		h.serve(ws)
	})
}

// serve runs one client: the reader here, the writer in its own goroutine.
func (h *Hub) serve(ws *websocket.Conn) {
	c := newClient(ws, h.o.QueueSize)
	if err := h.add(c); err != nil {
		h.m.rejected.Inc()
		_ = ws.WriteControl(websocket.CloseMessage,
			websocket.FormatCloseMessage(websocket.CloseTryAgainLater, err.Error()), time.Now().Add(time.Second))
		_ = ws.NetConn().Close()
		return
	}
	defer h.wg.Done() // add counted this connection
	defer h.remove(c)

	writerDone := make(chan struct{})
	go func() {
		defer close(writerDone)
		h.write(c)
	}()
	defer func() {
		c.close()
		<-writerDone
	}()

	h.send(c, []byte(`{"type":"hello"}`))
	ws.SetReadLimit(2 * maxExprLen)
	_ = c.setDeadline(true, 2*h.o.PingInterval)
	ws.SetPongHandler(func(string) error { return c.setDeadline(true, 2*h.o.PingInterval) })
	for {
		_, b, err := ws.ReadMessage()
		if err != nil {
			return
		}
		if err := c.setDeadline(true, 2*h.o.PingInterval); err != nil {
			return
		}
		if !h.handleRequest(c, b) {
			return
		}
	}
}

// handleRequest applies one client message; false ends the connection.
func (h *Hub) handleRequest(c *client, b []byte) bool {
	r, err := parseRequest(b)
	if err != nil {
		h.sendError(c, "", err)
		return true
	}
	switch r.Op {
	case "subscribe":
		if !c.subscribe(r.Expr, h.o.MaxSubscriptions) {
			h.sendError(c, r.Expr, fmt.Errorf("subscribe: already %d subscriptions, the maximum", h.o.MaxSubscriptions))
			return true
		}
		// Its first point now rather than at the next flush; when Run is
		// busy, the next round brings it.
		select {
		case h.first <- firstPoint{c, r.Expr}:
		default:
		}
	case "unsubscribe":
		c.unsubscribe(r.Expr)
	case "checks":
		c.setChecks()
		if last := h.lastChecks(); last != nil {
			h.send(c, last)
		}
	}
	return true
}

func (h *Hub) sendError(c *client, expr string, err error) {
	b, _ := json.Marshal(errorMsg{Type: "error", Expr: expr, Error: err.Error()})
	h.send(c, b)
}

// write drains c's queue onto the connection and pings it when idle.
func (h *Hub) write(c *client) {
	defer c.close()
	ping := time.NewTicker(h.o.PingInterval)
	defer ping.Stop()
	for {
		select {
		case <-c.done:
			return
		case q := <-c.queue:
			if err := c.setDeadline(false, h.o.WriteTimeout); err != nil {
				return
			}
			if err := c.ws.WriteMessage(websocket.TextMessage, q.b); err != nil {
				return
			}
			h.m.sent.Inc()
			h.m.push.UpdateDuration(q.at)
		case <-ping.C:
			if err := c.ws.WriteControl(websocket.PingMessage, nil, time.Now().Add(h.o.WriteTimeout)); err != nil {
				return
			}
		}
	}
}

// toHTTPRequest copies what the upgrade needs from a fasthttp request.
func toHTTPRequest(ctx *fasthttp.RequestCtx) (*http.Request, error) {
	r, err := http.NewRequest(string(ctx.Method()), string(ctx.RequestURI()), nil)
	if err != nil {
		return nil, fmt.Errorf("stream: request %q: %w", ctx.RequestURI(), err)
	}
	r.Host = string(ctx.Host())
	r.RemoteAddr = ctx.RemoteAddr().String()
	for k, v := range ctx.Request.Header.All() {
		r.Header.Add(string(k), string(v))
	}
	return r, nil
}

// hijackWriter is the http.ResponseWriter gorilla's Upgrade needs: Hijack
// hands over the connection fasthttp hijacked, and the rest writes a plain
// HTTP error response when the upgrade is refused.
type hijackWriter struct {
	conn     net.Conn
	header   http.Header
	status   int
	hijacked bool
}

func (w *hijackWriter) Header() http.Header { return w.header }

func (w *hijackWriter) WriteHeader(status int) {
	if w.status != 0 || w.hijacked {
		return
	}
	w.status = status
	_, _ = fmt.Fprintf(w.conn, "HTTP/1.1 %d %s\r\nConnection: close\r\n", status, http.StatusText(status))
	_ = w.header.Write(w.conn)
	_, _ = w.conn.Write([]byte("\r\n"))
}

func (w *hijackWriter) Write(b []byte) (int, error) {
	if w.hijacked {
		return 0, errors.New("stream: write after hijack")
	}
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	return w.conn.Write(b)
}

func (w *hijackWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	w.hijacked = true
	return w.conn, bufio.NewReadWriter(bufio.NewReader(w.conn), bufio.NewWriter(w.conn)), nil
}
