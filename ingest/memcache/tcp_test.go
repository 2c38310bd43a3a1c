package memcache

import (
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestTCPCommands runs every command and error path over one connection,
// in order: later steps see what earlier ones stored.
func TestTCPCommands(t *testing.T) {
	ts := startServer(t, Options{MaxValue: 64, Version: "1.2.3"})
	c := dialTCP(t, ts)
	long := strings.Repeat("k", 251)
	steps := []struct{ req, want string }{
		// incr creates missing keys (memcached would answer NOT_FOUND).
		{"incr shop.revenue 499\r\n", "499\r\n"},
		{"incr shop.revenue 1\r\n", "500\r\n"},
		{"incr shop.revenue 0.5\r\n", "500.5\r\n"},
		{"decr shop.revenue 0.5\r\n", "500\r\n"},
		{"decr stock 3\r\n", "-3\r\n"},
		{"incr bare 2\n", "2\r\n"},
		{"incr quiet 7 noreply\r\nget quiet\r\n", "VALUE quiet 0 1\r\n7\r\nEND\r\n"},
		{"decr quiet 2 noreply\r\nget quiet\r\n", "VALUE quiet 0 1\r\n5\r\nEND\r\n"},
		{"incr k -1\r\n", "CLIENT_ERROR invalid numeric delta argument\r\n"},
		{"incr k abc\r\n", "CLIENT_ERROR invalid numeric delta argument\r\n"},
		{"incr k\r\n", "CLIENT_ERROR bad command line format\r\n"},
		{"incr k 1 2\r\n", "CLIENT_ERROR bad command line format\r\n"},
		{"incr " + long + " 1\r\n", errBadKey.reply + "\r\n"},
		{"incr a\tb 1\r\n", errBadKey.reply + "\r\n"},
		// A refused command with noreply stays silent.
		{"incr k abc noreply\r\nversion\r\n", "VERSION ward-1.2.3\r\n"},

		{"set queue.depth 0 0 2\r\n17\r\n", "STORED\r\n"},
		{"get queue.depth\r\n", "VALUE queue.depth 0 2\r\n17\r\nEND\r\n"},
		{"set queue.depth 3 60 4\r\n-2.5\r\n", "STORED\r\n"},
		{"gets queue.depth\r\n", "VALUE queue.depth 0 4 0\r\n-2.5\r\nEND\r\n"},
		{"set quiet 0 0 2 noreply\r\n42\r\nget quiet\r\n", "VALUE quiet 0 2\r\n42\r\nEND\r\n"},
		{"add queue.depth 0 0 1\r\n1\r\n", "NOT_STORED\r\n"},
		{"add fresh 0 0 1\r\n1\r\n", "STORED\r\n"},
		{"replace missing 0 0 1\r\n1\r\n", "NOT_STORED\r\n"},
		{"replace fresh 0 0 1\r\n9\r\n", "STORED\r\n"},
		{"get fresh missing shop.revenue\r\n", "VALUE fresh 0 1\r\n9\r\nVALUE shop.revenue 0 3\r\n500\r\nEND\r\n"},
		{"get missing\r\n", "END\r\n"},
		{"get\r\n", "ERROR\r\n"},
		{"get a " + long + "\r\n", errBadKey.reply + "\r\n"},
		{"set g 0 0 3\r\nabc\r\n", errNotANumber.reply + "\r\n"},
		{"set g 0 0 2\r\n+3\r\n", errNotANumber.reply + "\r\n"},
		{"set g 0 0 2\r\n17xx\r\n", "CLIENT_ERROR bad data chunk\r\nERROR\r\n"},
		{"set g x 0 2\r\n17\r\n", "CLIENT_ERROR bad command line format\r\n"},
		{"set g 0 0\r\n", "CLIENT_ERROR bad command line format\r\n"},
		{"set g 0 0 abc\r\n", "CLIENT_ERROR bad command line format\r\n"},
		{"set g 0 0 65\r\n" + strings.Repeat("1", 65) + "\r\n", "SERVER_ERROR object too large for cache\r\n"},
		{"set g 0 0 3 noreply\r\nabc\r\nget g\r\n", "END\r\n"},

		{"delete queue.depth\r\n", errUnsupportedDelete.reply + "\r\n"},
		{"delete queue.depth noreply\r\nget queue.depth\r\n", "VALUE queue.depth 0 4\r\n-2.5\r\nEND\r\n"},
		{"flush_all\r\n", errUnsupportedDelete.reply + "\r\n"},
		{"flush_all 0\r\n", errUnsupportedDelete.reply + "\r\n"},
		{"touch queue.depth 10\r\n", errUnsupportedTouch.reply + "\r\n"},
		{"gat 10 queue.depth\r\n", errUnsupportedTouch.reply + "\r\n"},
		{"gats 10 queue.depth\r\n", errUnsupportedTouch.reply + "\r\n"},
		{"append queue.depth 0 0 1\r\n1\r\n", errUnsupportedAppend.reply + "\r\n"},
		{"prepend queue.depth 0 0 1\r\n1\r\n", errUnsupportedAppend.reply + "\r\n"},
		{"cas queue.depth 0 0 1 1\r\n1\r\n", errUnsupportedCas.reply + "\r\n"},
		{"get queue.depth\r\n", "VALUE queue.depth 0 4\r\n-2.5\r\nEND\r\n"},

		{"version\r\n", "VERSION ward-1.2.3\r\n"},
		{"verbosity 1\r\n", "OK\r\n"},
		{"verbosity 1 noreply\r\nversion\r\n", "VERSION ward-1.2.3\r\n"},
		{"stats items\r\n", "END\r\n"},
		{"stats slabs\r\n", "END\r\n"},
		{"stats reset\r\n", errUnsupportedReset.reply + "\r\n"},
		{"stats bogus\r\n", "ERROR\r\n"},
		{"bogus\r\n", "ERROR\r\n"},
		{"GET queue.depth\r\n", "ERROR\r\n"},
		{"\r\n", "ERROR\r\n"},
	}
	for _, s := range steps {
		c.roundTrip(s.req, s.want)
	}
	if v, _ := ts.c.Get("shop.revenue"); v != 500 {
		t.Errorf("counter shop.revenue = %v, want 500", v)
	}
	if v, _ := ts.c.Get("queue.depth"); v != -2.5 {
		t.Errorf("gauge queue.depth = %v, want -2.5 (delete must not delete)", v)
	}
	for _, m := range []struct {
		name string
		want float64
	}{
		{`ward_memcache_commands_total{cmd="incr"}`, 12},
		{`ward_memcache_commands_total{cmd="decr"}`, 3},
		{`ward_memcache_commands_total{cmd="delete"}`, 2},
		{`ward_memcache_errors_total{reason="bad_delta"}`, 3},
		{`ward_memcache_errors_total{reason="bad_key"}`, 3},
		{`ward_memcache_errors_total{reason="value_too_large"}`, 1},
		{`ward_memcache_errors_total{reason="not_a_number"}`, 3},
		{`ward_memcache_errors_total{reason="bad_data_chunk"}`, 1},
		{`ward_memcache_errors_total{reason="unsupported"}`, 11},
		{`ward_memcache_errors_total{reason="unknown_command"}`, 6},
		{`ward_memcache_not_stored_total`, 2},
		{`ward_memcache_connections`, 1},
	} {
		if got := ts.metric(m.name); got != m.want {
			t.Errorf("%s = %v, want %v", m.name, got, m.want)
		}
	}
}

func TestTCPStats(t *testing.T) {
	ts := startServer(t, Options{Version: "9"})
	c := dialTCP(t, ts)
	c.roundTrip("incr a 1\r\nincr a 1\r\ndecr a 1\r\nset g 0 0 1\r\n5\r\nget a g nope\r\n",
		"1\r\n2\r\n1\r\nSTORED\r\nVALUE a 0 1\r\n1\r\nVALUE g 0 1\r\n5\r\nEND\r\n")
	c.send("stats\r\n")
	stats := map[string]string{}
	for _, line := range c.readUntilEnd() {
		f := strings.Fields(line)
		if len(f) != 3 || f[0] != "STAT" {
			t.Fatalf("stats line %q, want STAT <name> <value>", line)
		}
		stats[f[1]] = f[2]
	}
	want := map[string]string{
		"version": "ward-9", "curr_connections": "1", "total_connections": "1",
		"cmd_get": "3", "get_hits": "2", "get_misses": "1", "cmd_set": "1",
		"incr_hits": "2", "decr_hits": "1", "ward_series": "3",
	}
	for k, v := range want {
		if stats[k] != v {
			t.Errorf("STAT %s = %q, want %q", k, stats[k], v)
		}
	}
	for _, k := range []string{"pid", "uptime", "time", "bytes_read", "bytes_written", "ward_errors_line_too_long"} {
		if _, err := strconv.ParseUint(stats[k], 10, 64); err != nil {
			t.Errorf("STAT %s = %q, want a number", k, stats[k])
		}
	}
	if _, ok := stats["bad"]; ok {
		t.Errorf("extra stat with a space in its name was sent: %v", stats)
	}
	if _, ok := stats["bad_value"]; ok {
		t.Errorf("extra stat with a newline in its value was sent: %v", stats)
	}
	c.send("stats settings\r\n")
	settings := strings.Join(c.readUntilEnd(), "\n")
	if !strings.Contains(settings, "STAT maxconns 1024") || !strings.Contains(settings, fmt.Sprintf("STAT tcpport %d", ts.TCPAddr().Port)) {
		t.Errorf("stats settings = %q, want maxconns and tcpport", settings)
	}
}

// TestTCPPipelining sends many commands in one write and gets every reply
// in order.
func TestTCPPipelining(t *testing.T) {
	ts := startServer(t, Options{})
	c := dialTCP(t, ts)
	var req, want strings.Builder
	for i := 1; i <= 200; i++ {
		fmt.Fprintf(&req, "incr p 1\r\nset g%d 0 0 %d\r\n%d\r\n", i, len(strconv.Itoa(i)), i)
		fmt.Fprintf(&want, "%d\r\nSTORED\r\n", i)
	}
	req.WriteString("get p g200\r\n")
	want.WriteString("VALUE p 0 3\r\n200\r\nVALUE g200 0 3\r\n200\r\nEND\r\n")
	c.roundTrip(req.String(), want.String())
}

// TestTCPPartialReads splits commands across writes. A reply to the
// commands before the split proves the server has read up to there, so it
// must hold the incomplete rest until the next write.
func TestTCPPartialReads(t *testing.T) {
	ts := startServer(t, Options{})
	c := dialTCP(t, ts)
	script := "set g 0 0 3\r\n123\r\nincr n 4\r\nget g n\r\nset n 0 0 1\r\n0\r\n"
	want := "STORED\r\n4\r\nVALUE g 0 3\r\n123\r\nVALUE n 0 1\r\n4\r\nEND\r\nSTORED\r\n"
	for split := 1; split < len(script); split++ {
		c.roundTrip("version\r\n"+script[:split], "VERSION ward-dev\r\n")
		c.roundTrip(script[split:], want)
	}
	// One byte per write: the kernel may merge some, but most reads see
	// a fragment.
	c2 := dialTCP(t, ts)
	for i := range len(script) {
		c2.send(script[i : i+1])
	}
	c2.expect(want)
}

// TestTCPLineTooLong refuses a line with no end in sight and closes the
// connection, as memcached does; the server keeps serving others.
func TestTCPLineTooLong(t *testing.T) {
	ts := startServer(t, Options{MaxLine: 600})
	c := dialTCP(t, ts)
	c.send("incr ok 1\r\n" + strings.Repeat("x", 700))
	c.expect("1\r\nCLIENT_ERROR line too long\r\n")
	c.expectEOF()
	if got := ts.metric(`ward_memcache_errors_total{reason="line_too_long"}`); got != 1 {
		t.Errorf("line_too_long errors = %v, want 1", got)
	}
	dialTCP(t, ts).roundTrip("incr ok 1\r\n", "2\r\n")
}

// TestTCPValueTooLarge discards an oversized data block arriving in pieces
// and carries on with the next command.
func TestTCPValueTooLarge(t *testing.T) {
	ts := startServer(t, Options{MaxValue: 16})
	c := dialTCP(t, ts)
	c.send("set big 0 0 100000\r\n")
	c.expect("SERVER_ERROR object too large for cache\r\n")
	chunk := strings.Repeat("9", 1000)
	for range 100 {
		c.send(chunk)
	}
	c.roundTrip("\r\nset big 0 0 2\r\n10\r\nget big\r\n", "STORED\r\nVALUE big 0 2\r\n10\r\nEND\r\n")
	if got := ts.metric(`ward_memcache_errors_total{reason="value_too_large"}`); got != 1 {
		t.Errorf("value_too_large errors = %v, want 1", got)
	}
}

func TestTCPQuit(t *testing.T) {
	ts := startServer(t, Options{})
	c := dialTCP(t, ts)
	c.send("incr q 1\r\nquit\r\nincr q 1\r\n")
	c.expect("1\r\n")
	c.expectEOF()
	_ = c.nc.Close()
	eventually(t, "the connection gauge to drop to 0", func() bool { return ts.metric("ward_memcache_connections") == 0 })
	if v, _ := ts.c.Get("q"); v != 1 {
		t.Errorf("q = %v, want 1: nothing after quit runs", v)
	}
}

func TestTCPMaxConns(t *testing.T) {
	ts := startServer(t, Options{MaxConns: 2})
	a, b := dialTCP(t, ts), dialTCP(t, ts)
	a.roundTrip("version\r\n", "VERSION ward-dev\r\n")
	b.roundTrip("version\r\n", "VERSION ward-dev\r\n")
	over := dialTCP(t, ts)
	over.expect("ERROR Too many open connections\r\n")
	over.expectEOF()
	if got := ts.metric("ward_memcache_connections_rejected_total"); got != 1 {
		t.Errorf("rejected connections = %v, want 1", got)
	}
	a.send("quit\r\n")
	a.expectEOF()
	_ = a.nc.Close()
	eventually(t, "a slot to free up", func() bool { return ts.metric("ward_memcache_connections") == 1 })
	dialTCP(t, ts).roundTrip("incr m 1\r\n", "1\r\n")
}

func TestTCPIdleTimeout(t *testing.T) {
	ts := startServer(t, Options{IdleTimeout: 50 * time.Millisecond})
	c := dialTCP(t, ts)
	c.roundTrip("incr i 1\r\n", "1\r\n")
	c.expectEOF() // within dialTCP's deadline
}

// TestTCPThousandIncr adds 1,000 incr from 4 connections at once; the
// total must be exact.
func TestTCPThousandIncr(t *testing.T) {
	ts := startServer(t, Options{})
	const conns, per = 4, 250
	var wg sync.WaitGroup
	clients := make([]*tcpClient, conns)
	for i := range clients {
		clients[i] = dialTCP(t, ts)
	}
	errs := make(chan error, conns)
	for _, c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			last := 0.0
			for range per {
				if _, err := io.WriteString(c.nc, "incr total 1\r\n"); err != nil {
					errs <- err
					return
				}
				line, err := c.r.ReadString('\n')
				if err != nil {
					errs <- err
					return
				}
				v, err := strconv.ParseFloat(strings.TrimSuffix(line, "\r\n"), 64)
				if err != nil || v <= last {
					errs <- fmt.Errorf("reply %q after %v: want a larger total", line, last)
					return
				}
				last = v
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	eventually(t, "total to reach 1000", func() bool { v, _ := ts.c.Get("total"); return v == conns*per })
	dialTCP(t, ts).roundTrip("get total\r\n", "VALUE total 0 4\r\n1000\r\nEND\r\n")
}

// TestShutdownWithOpenConnections stops the server while clients are
// connected, one of them mid-command; Run must return and close them all
// (goleak in TestMain checks that no goroutine survives).
func TestShutdownWithOpenConnections(t *testing.T) {
	ts := startServer(t, Options{})
	var clients []*tcpClient
	for i := range 5 {
		c := dialTCP(t, ts)
		c.roundTrip("incr s 1\r\n", strconv.Itoa(i+1)+"\r\n")
		clients = append(clients, c)
	}
	clients[0].send("set g 0 0 10\r\n12") // mid-data-block
	clients[1].send("incr s")             // mid-line
	ts.stop()
	for _, c := range clients {
		c.expectEOF()
	}
	if _, err := net.Dial("tcp", ts.TCPAddr().String()); err == nil {
		t.Errorf("dial after shutdown succeeded, want the listener closed")
	}
}
