package statsd

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/wardmetrics/ward/ingest"
)

type fixture struct {
	agg *ingest.Aggregator
	srv *Server
	ms  *metrics.Set
}

// startServer runs a server on 127.0.0.1 port 0 (and unix sockets in a temp
// dir) until the test ends.
func startServer(t *testing.T, so ServerOptions) *fixture {
	t.Helper()
	ms := metrics.NewSet()
	agg, err := ingest.NewAggregator(ingest.Options{}, &collect{}, ms)
	if err != nil {
		t.Fatal(err)
	}
	if so.Addr == "" {
		so.Addr = "127.0.0.1:0"
	}
	srv, err := NewServer(so, agg, ms)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return &fixture{agg: agg, srv: srv, ms: ms}
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func waitValue(t *testing.T, a *ingest.Aggregator, name string, want float64) {
	t.Helper()
	var got float64
	waitFor(t, fmt.Sprintf("%s == %v", name, want), func() bool {
		got, _ = a.Get(name)
		return got == want
	})
}

func dial(t *testing.T, network string, addr net.Addr) net.Conn {
	t.Helper()
	c, err := net.Dial(network, addr.String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func metricsText(ms *metrics.Set) string {
	var b bytes.Buffer
	ms.WritePrometheus(&b)
	return b.String()
}

func TestUDPAndTCPShareAPort(t *testing.T) {
	f := startServer(t, ServerOptions{UDPReaders: 2})
	up := f.srv.UDPAddr().(*net.UDPAddr).Port
	tp := f.srv.TCPAddr().(*net.TCPAddr).Port
	if up != tp || up == 0 {
		t.Fatalf("udp port %d, tcp port %d: want one port", up, tp)
	}
	if len(f.srv.udp) != 2 {
		t.Fatalf("%d UDP sockets, want 2 (SO_REUSEPORT)", len(f.srv.udp))
	}
	u := dial(t, "udp", f.srv.UDPAddr())
	fmt.Fprint(u, "shop.revenue:499|c\nlogins:1|c|@0.1\ndb.connections:42|g\ndb.connections:+3|g\ndb.connections:-1|g")
	c := dial(t, "tcp", f.srv.TCPAddr())
	fmt.Fprint(c, "shop.revenue:1|c\r\napi.latency:320|ms|#host:web01\nusers.online:u123|s\nlast:7|c") // no final newline
	c.Close()
	waitValue(t, f.agg, "shop.revenue", 500)
	waitValue(t, f.agg, "logins", 10)
	waitValue(t, f.agg, "db.connections", 44)
	waitValue(t, f.agg, "last", 7)
	for _, want := range []string{
		`ward_ingest_lines_accepted_total{protocol="udp"} 5`,
		`ward_ingest_lines_accepted_total{protocol="tcp"} 4`,
		`ward_ingest_udp_kernel_drops 0`,
		`ward_ingest_udp_receive_buffer_bytes`,
	} {
		waitFor(t, want, func() bool { return strings.Contains(metricsText(f.ms), want) })
	}
}

// TestKernelDropsVisible overflows a tiny receive buffer of a server that
// does not read, and expects the kernel's drop count to show.
func TestKernelDropsVisible(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("drops are read from /proc/net/udp")
	}
	agg, err := ingest.NewAggregator(ingest.Options{}, &collect{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := NewServer(ServerOptions{Addr: "127.0.0.1:0", UDPReaders: 1, ReadBuffer: 4096}, agg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	u := dial(t, "udp", srv.UDPAddr())
	pkt := bytes.Repeat([]byte("drop:1|c\n"), 100)
	for range 200 {
		u.Write(pkt)
	}
	waitFor(t, "kernel drops", func() bool { return srv.KernelDrops() > 0 })
	if !strings.Contains(metricsText(agg.Metrics()), "ward_ingest_udp_kernel_drops ") {
		t.Error("kernel drops gauge not exported")
	}
}

func TestUnixSockets(t *testing.T) {
	dir := t.TempDir()
	f := startServer(t, ServerOptions{
		UnixgramPath: filepath.Join(dir, "dgram.sock"),
		UnixPath:     filepath.Join(dir, "stream.sock"),
	})
	g := dial(t, "unixgram", f.srv.UnixgramAddr())
	fmt.Fprint(g, "dg:2|c\ndg:3|c\n")
	s := dial(t, "unix", f.srv.UnixAddr())
	fmt.Fprint(s, "st:4|c\n")
	fmt.Fprint(s, "st:5|c\n")
	waitValue(t, f.agg, "dg", 5)
	waitValue(t, f.agg, "st", 9)
}

func TestDogStatsDGaugeOption(t *testing.T) {
	f := startServer(t, ServerOptions{Parse: ParseOptions{DogStatsDGauges: true}})
	u := dial(t, "udp", f.srv.UDPAddr())
	fmt.Fprint(u, "temp:10|g\ntemp:-5|g")
	waitValue(t, f.agg, "temp", -5)
}

// TestMalformedLinesCountedAndListed mixes bad lines into packets: each is
// counted by reason and listed, and the good lines beside them count.
func TestMalformedLinesCountedAndListed(t *testing.T) {
	f := startServer(t, ServerOptions{})
	u := dial(t, "udp", f.srv.UDPAddr())
	fmt.Fprint(u, "good:1|c\nbad:abc|c\ngood:1|c\nnovalue\ngood:1|c|zz:unknown\nbad:1|q\n_e{1,1}:a|b\n")
	c := dial(t, "tcp", f.srv.TCPAddr())
	fmt.Fprint(c, "good:1|c\nbad:1|c|@2\n")
	waitValue(t, f.agg, "good", 4)
	waitFor(t, "4 rejects", func() bool { return len(f.agg.Rejects()) == 4 })
	rj := f.agg.Rejects()
	got := map[string]string{}
	for _, r := range rj {
		got[r.Line] = r.Protocol + " " + r.Reason
	}
	want := map[string]string{
		"bad:abc|c":  "udp bad_value",
		"novalue":    "udp missing_value",
		"bad:1|q":    "udp bad_type",
		"bad:1|c|@2": "tcp bad_sample_rate",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("reject %q: %q, want %q (all: %v)", k, got[k], v, rj)
		}
	}
	text := metricsText(f.ms)
	for _, s := range []string{
		`ward_ingest_rejected_lines_total{reason="bad_value"} 1`,
		`ward_ingest_rejected_lines_total{reason="bad_sample_rate"} 1`,
		`ward_ingest_ignored_fields_total{field="unknown"} 1`,
		`ward_ingest_dogstatsd_events_total{type="event"} 1`,
		`ward_ingest_lines_received_total{protocol="udp"} 7`,
		`ward_ingest_lines_accepted_total{protocol="udp"} 4`,
	} {
		if !strings.Contains(text, s) {
			t.Errorf("metrics lack %q", s)
		}
	}
}

func TestOversizedInput(t *testing.T) {
	f := startServer(t, ServerOptions{MaxPacketSize: 64})
	u := dial(t, "udp", f.srv.UDPAddr())
	// 3 whole lines within the first 64 bytes, then a line cut by the limit.
	pkt := "cut:1|c\ncut:1|c\ncut:1|c\n" + strings.Repeat("x", 100) + ":1|c\n"
	fmt.Fprint(u, pkt)
	waitValue(t, f.agg, "cut", 3)
	waitFor(t, "packet_too_large reject", func() bool {
		return strings.Contains(metricsText(f.ms), `ward_ingest_rejected_lines_total{reason="packet_too_large"} 1`)
	})
	// A TCP line beyond MaxLineLen (8192) is rejected; the lines around it count.
	c := dial(t, "tcp", f.srv.TCPAddr())
	fmt.Fprintf(c, "long:1|c\nlong%s:1|c\nlong:1|c\n", strings.Repeat("y", 100_000))
	waitValue(t, f.agg, "long", 2)
	waitFor(t, "line_too_long reject", func() bool {
		return strings.Contains(metricsText(f.ms), `ward_ingest_rejected_lines_total{reason="line_too_long"} 1`)
	})
}

// TestUDPExactness sends 100,000 counter increments in packets of 20 lines
// and expects every one. The sender keeps at most 20,000 lines in flight
// (polling what arrived), so the kernel buffer never overflows whatever the
// machine's speed.
func TestUDPExactness(t *testing.T) {
	f := startServer(t, ServerOptions{})
	u := dial(t, "udp", f.srv.UDPAddr())
	pc := f.agg.Protocol("udp")
	const total, perPacket, names, window = 100_000, 20, 100, 20_000
	var pkt bytes.Buffer
	sent := 0
	for sent < total {
		pkt.Reset()
		for i := range perPacket {
			fmt.Fprintf(&pkt, "exact.%d:1|c\n", (sent+i)%names)
		}
		if _, err := u.Write(pkt.Bytes()); err != nil {
			t.Fatal(err)
		}
		sent += perPacket
		if sent%window == 0 {
			waitFor(t, fmt.Sprintf("%d lines received", sent-window), func() bool {
				return int(pc.LinesReceived.Get()) >= sent-window
			})
		}
	}
	waitFor(t, "all lines", func() bool { return int(pc.LinesAccepted.Get()) >= total })
	sum := 0.0
	for i := range names {
		v, _ := f.agg.Get(fmt.Sprintf("exact.%d", i))
		sum += v
	}
	if sum != total {
		t.Fatalf("counters sum to %v, want %d", sum, total)
	}
	if d := f.srv.KernelDrops(); d != 0 {
		t.Errorf("kernel dropped %d datagrams", d)
	}
}

func TestHandleBody(t *testing.T) {
	a, err := ingest.NewAggregator(ingest.Options{}, &collect{}, metrics.NewSet())
	if err != nil {
		t.Fatal(err)
	}
	var body strings.Builder
	for i := range 30 {
		fmt.Fprintf(&body, "http.hits:1|c\nbroken %d\n", i)
	}
	body.WriteString("\n\nhttp.gauge:-3|g\n")
	res := HandleBody(a, []byte(body.String()))
	if res.Accepted != 31 || res.Rejected != 30 {
		t.Fatalf("accepted %d rejected %d, want 31 and 30", res.Accepted, res.Rejected)
	}
	if len(res.Errors) != 10 || res.Errors[0] != (LineError{Line: 2, Reason: "missing_value", Text: "broken 0"}) || res.Errors[9].Line != 20 {
		t.Fatalf("errors %+v", res.Errors)
	}
	if v, _ := a.Get("http.hits"); v != 30 {
		t.Errorf("http.hits = %v, want 30", v)
	}
	if v, _ := a.Get("http.gauge"); v != -3 {
		t.Errorf("http.gauge = %v, want -3 (a delta from 0)", v)
	}
	if p := a.Protocol("http"); p.LinesAccepted.Get() != 31 || p.LinesReceived.Get() != 61 || p.Packets.Get() != 1 {
		t.Errorf("http counters %d/%d/%d", p.LinesAccepted.Get(), p.LinesReceived.Get(), p.Packets.Get())
	}
	if res := HandleBody(a, nil); res.Accepted != 0 || res.Errors == nil {
		t.Errorf("empty body: %+v (errors must be [] not null)", res)
	}
}

func TestParseProcNetUDP(t *testing.T) {
	data := []byte(`   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops
  123: 0100007F:1FBD 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 4242 2 0000000000000000 17
  124: 0100007F:1FBD 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 4243 2 0000000000000000 5
  125: 0100007F:2000 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 9999 2 0000000000000000 100
`)
	got, err := parseProcNetUDP(data, map[uint64]bool{4242: true, 4243: true})
	if err != nil || got != 22 {
		t.Fatalf("drops = %d, %v; want 22", got, err)
	}
}

func TestCloseWithoutRun(t *testing.T) {
	agg, err := ingest.NewAggregator(ingest.Options{}, &collect{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := NewServer(ServerOptions{Addr: "127.0.0.1:0"}, agg, nil)
	if err != nil {
		t.Fatal(err)
	}
	addr := srv.TCPAddr().String()
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	if c, err := net.Dial("tcp", addr); err == nil {
		c.Close()
		t.Fatal("listener still open after Close")
	}
	if _, err := NewServer(ServerOptions{Addr: "not an address"}, agg, nil); err == nil {
		t.Fatal("bad address accepted")
	}
}
