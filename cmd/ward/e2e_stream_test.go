package main

import (
	"errors"
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// TestStreamEndToEnd subscribes over the websocket of a real `ward serve`: a counter
// sent over UDP arrives as a pushed point after its flush, and SIGTERM closes the
// connection and lets Ward exit cleanly (the hub owns hijacked connections).
func TestStreamEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	w := startWard(t, filepath.Join(t.TempDir(), "data"))
	ws, _, err := websocket.DefaultDialer.Dial("ws://"+w.http+"/api/v1/stream", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	if err := ws.WriteJSON(map[string]string{"op": "subscribe", "expr": "st_hits"}); err != nil {
		t.Fatal(err)
	}
	mustSend(t, w, "st.hits:7|c")
	deadline := time.Now().Add(30 * time.Second)
	_ = ws.SetReadDeadline(deadline)
	for {
		var m struct {
			Type   string `json:"type"`
			Expr   string `json:"expr"`
			Series []struct {
				V string `json:"v"`
			} `json:"series"`
		}
		if err := ws.ReadJSON(&m); err != nil {
			t.Fatalf("no point with 7 before %v: %v", deadline, err)
		}
		if m.Type == "points" && m.Expr == "st_hits" && len(m.Series) == 1 && m.Series[0].V == "7" {
			break
		}
	}
	if n := w.selfMetric("ward_stream_clients"); n != 1 {
		t.Errorf("ward_stream_clients %v, want 1", n)
	}

	// Shut down with the client connected: Ward closes it and exits 0.
	w.stop()
	_ = ws.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		_, _, err := ws.ReadMessage()
		if err == nil {
			continue
		}
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			t.Fatal("websocket still open after Ward stopped")
		}
		break
	}
}
