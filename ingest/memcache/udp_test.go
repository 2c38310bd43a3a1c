package memcache

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestUDPCommands(t *testing.T) {
	ts := startServer(t, Options{})
	c := dialUDP(t, ts)
	steps := []struct{ req, want string }{
		{"incr shop.revenue 499\r\n", "499\r\n"},
		{"decr shop.revenue 9\r\n", "490\r\n"},
		{"set queue.depth 0 0 2\r\n17\r\n", "STORED\r\n"},
		{"get queue.depth shop.revenue nope\r\n", "VALUE queue.depth 0 2\r\n17\r\nVALUE shop.revenue 0 3\r\n490\r\nEND\r\n"},
		// Several commands in one datagram answer as one message.
		{"incr a 1\r\nincr a 1\r\nadd a 0 0 1\r\n1\r\nversion\r\n", "1\r\n2\r\nNOT_STORED\r\nVERSION ward-dev\r\n"},
		// noreply commands are silent, and the others still answer.
		{"incr a 5 noreply\r\nget a\r\n", "VALUE a 0 1\r\n7\r\nEND\r\n"},
		{"bogus\r\n", "ERROR\r\n"},
		{"delete a\r\n", errUnsupportedDelete.reply + "\r\n"},
		// A datagram is all the request there is.
		{"incr a 1", errUnterminated.reply + "\r\n"},
		{"set g 0 0 5\r\n12", "CLIENT_ERROR bad data chunk\r\n"},
		{"set g 0 0 5000\r\n12", "SERVER_ERROR object too large for cache\r\n"},
		// quit ends the request; it has no connection to close.
		{"incr a 1\r\nquit\r\nincr a 100\r\n", "8\r\n"},
		{"get a\r\n", "VALUE a 0 1\r\n8\r\nEND\r\n"},
	}
	for i, s := range steps {
		if got := c.roundTrip(uint16(1000+i), s.req); got != s.want {
			t.Errorf("request %q: got %q, want %q", s.req, got, s.want)
		}
	}
	// A request whose commands all say noreply gets no datagram at all:
	// the next reply to arrive is the next request's.
	c.sendRaw(frame(7, 0, 1, "incr silent 1 noreply\r\n"))
	if got := c.roundTrip(8, "get silent\r\n"); got != "VALUE silent 0 1\r\n1\r\nEND\r\n" {
		t.Errorf("get silent = %q", got)
	}
	if got := ts.metric(`ward_memcache_udp_datagrams_total{direction="in"}`); got != float64(len(steps)+2) {
		t.Errorf("datagrams in = %v, want %d", got, len(steps)+2)
	}
}

// TestUDPFraming refuses what memcached refuses: datagrams too short for
// a header are dropped, multi-datagram requests answered with an error.
func TestUDPFraming(t *testing.T) {
	ts := startServer(t, Options{})
	c := dialUDP(t, ts)
	c.sendRaw([]byte{0, 1, 0})
	c.sendRaw(frame(1, 0, 1, "")) // exactly a header, no command
	eventually(t, "short datagrams to be counted", func() bool {
		return ts.metric(`ward_memcache_errors_total{reason="udp_short_datagram"}`) == 2
	})
	for _, h := range []struct{ seq, total uint16 }{{0, 2}, {1, 2}, {1, 1}, {0, 0}} {
		c.sendRaw(frame(42, h.seq, h.total, "incr never 1\r\n"))
		r := c.readReply()
		if r.reqID != 42 || r.datagrams != 1 || r.body != "SERVER_ERROR multi-packet request not supported\r\n" {
			t.Errorf("seq %d total %d: reply %+v, want the multi-packet error", h.seq, h.total, r)
		}
	}
	if _, ok := ts.c.Get("never"); ok {
		t.Errorf("a refused multi-packet request ran its command")
	}
	if got := ts.metric(`ward_memcache_errors_total{reason="udp_multi_packet"}`); got != 4 {
		t.Errorf("multi-packet errors = %v, want 4", got)
	}
	if got := c.roundTrip(0xffff, "incr ok 1\r\n"); got != "1\r\n" {
		t.Errorf("after refusals: %q, want 1", got)
	}
}

// TestUDPMultiDatagramResponse gets a reply far larger than one datagram
// and checks the split: full datagrams, sequence numbers, total.
func TestUDPMultiDatagramResponse(t *testing.T) {
	ts := startServer(t, Options{})
	var keys []string
	var want strings.Builder
	for i := range 28 {
		k := fmt.Sprintf("%03d.%s", i, strings.Repeat("k", 246))
		keys = append(keys, k)
		ts.c.SetGauge(k, float64(i)+0.5)
		v := strconv.FormatFloat(float64(i)+0.5, 'f', -1, 64)
		fmt.Fprintf(&want, "VALUE %s 0 %d\r\n%s\r\n", k, len(v), v)
	}
	want.WriteString("END\r\n")
	c := dialUDP(t, ts)
	c.sendRaw(frame(77, 0, 1, "get "+strings.Join(keys, " ")+"\r\n"))
	r := c.readReply() // checks every header and that only the last datagram is short
	if r.body != want.String() {
		t.Fatalf("reassembled reply differs:\ngot  %q\nwant %q", r.body, want.String())
	}
	wantN := (want.Len() + udpMaxPayload - 1) / udpMaxPayload
	if r.reqID != 77 || r.datagrams != wantN || wantN < 5 {
		t.Errorf("reply id %d in %d datagrams, want id 77 in %d", r.reqID, r.datagrams, wantN)
	}
}

// TestUDPThousandIncr sends 1,000 incr datagrams from 4 sockets, a window
// of them in flight at a time, and the total must be exact.
func TestUDPThousandIncr(t *testing.T) {
	ts := startServer(t, Options{UDPReaders: 2})
	const clients, per, window = 4, 250, 25
	errs := make(chan error, clients)
	cs := make([]*udpClient, clients)
	for i := range cs {
		cs[i] = dialUDP(t, ts)
	}
	for _, c := range cs {
		go func() {
			errs <- func() error {
				buf := make([]byte, udpMaxDatagram)
				for sent := 0; sent < per; sent += window {
					for i := range window {
						if _, err := c.pc.Write(frame(uint16(sent+i), 0, 1, "incr udp.total 1\r\n")); err != nil {
							return err
						}
					}
					// Loopback does not drop this little; a lost reply
					// shows up as a deadline error.
					_ = c.pc.SetReadDeadline(time.Now().Add(testTimeout))
					for range window {
						n, err := c.pc.Read(buf)
						if err != nil {
							return fmt.Errorf("waiting for replies to %d..%d: %w", sent, sent+window, err)
						}
						if _, err := strconv.ParseFloat(strings.TrimSuffix(string(buf[udpHeaderLen:n]), "\r\n"), 64); err != nil {
							return fmt.Errorf("reply %q is not a total", buf[:n])
						}
					}
				}
				return nil
			}()
		}()
	}
	for range clients {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, "udp.total to reach 1000", func() bool { v, _ := ts.c.Get("udp.total"); return v == clients*per })
	if got := dialUDP(t, ts).roundTrip(1, "get udp.total\r\n"); got != "VALUE udp.total 0 4\r\n1000\r\nEND\r\n" {
		t.Errorf("get udp.total = %q", got)
	}
}
