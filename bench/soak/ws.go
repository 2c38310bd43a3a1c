package main

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

// wsClients are websocket clients of /api/v1/stream, each subscribed to one expression
// and reading until closed.
type wsClients struct {
	conns []*websocket.Conn
	msgs  atomic.Int64
	wg    sync.WaitGroup
}

func connectClients(ctx context.Context, addr string, n int) (*wsClients, error) {
	c := &wsClients{}
	exprs := []string{"sum(soak_c1)", `sum(rate(soak_c2[1m]))`, "count(soak_c3)"}
	for i := 0; i < n; i++ {
		d := websocket.Dialer{HandshakeTimeout: 10 * time.Second}
		ws, _, err := d.DialContext(ctx, "ws://"+addr+"/api/v1/stream", nil)
		if err != nil {
			c.close()
			return nil, fmt.Errorf("websocket client %d: %w", i, err)
		}
		if err := ws.WriteJSON(map[string]string{"op": "subscribe", "expr": exprs[i%len(exprs)]}); err != nil {
			ws.Close()
			c.close()
			return nil, fmt.Errorf("subscribe client %d: %w", i, err)
		}
		c.conns = append(c.conns, ws)
		c.wg.Add(1)
		go func() {
			defer c.wg.Done()
			for {
				if _, _, err := ws.ReadMessage(); err != nil {
					return
				}
				c.msgs.Add(1)
			}
		}()
	}
	return c, nil
}

// close disconnects every client, waits for their readers and returns the messages read.
func (c *wsClients) close() int64 {
	for _, ws := range c.conns {
		_ = ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
		_ = ws.Close()
	}
	c.wg.Wait()
	return c.msgs.Load()
}
