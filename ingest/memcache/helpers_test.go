package memcache

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// memCounters stands in for the aggregator at this boundary: a map under
// a mutex. It does not allocate when updating a key it already holds.
type memCounters struct {
	mu   sync.Mutex
	vals map[string]float64
}

func newMemCounters() *memCounters { return &memCounters{vals: make(map[string]float64)} }

func (m *memCounters) Incr(name string, delta float64) float64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.vals[name] += delta
	return m.vals[name]
}

func (m *memCounters) SetGauge(name string, v float64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.vals[name] = v
}

func (m *memCounters) Get(name string) (float64, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	v, ok := m.vals[name]
	return v, ok
}

// testTimeout bounds every wait in these tests; reaching it is a failure,
// never a synchronisation.
const testTimeout = 10 * time.Second

type testServer struct {
	*Server
	c  *memCounters
	ms *metrics.Set
	// stop cancels Run and waits for it; it fails the test if Run
	// returns an error or does not return in time.
	stop func()
}

// startServer runs a server on 127.0.0.1 port 0 until the test ends.
func startServer(t testing.TB, opts Options) *testServer {
	t.Helper()
	if opts.Addr == "" {
		opts.Addr = "127.0.0.1:0"
	}
	c := newMemCounters()
	ms := metrics.NewSet()
	extra := func() map[string]string {
		return map[string]string{"ward_series": "3", "bad key": "x", "bad_value": "a\r\nb"}
	}
	s, err := NewServer(opts, c, extra, ms)
	if err != nil {
		t.Fatalf("NewServer(%+v): %v", opts, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Run: %v", err)
				}
			case <-time.After(testTimeout):
				t.Errorf("Run did not return %v after cancel", testTimeout)
			}
		})
	}
	t.Cleanup(stop)
	return &testServer{Server: s, c: c, ms: ms, stop: stop}
}

// metric returns the value of the self-metric with the exact name (labels
// included), or -1 if it is not exposed.
func (ts *testServer) metric(name string) float64 {
	var buf bytes.Buffer
	ts.ms.WritePrometheus(&buf)
	for line := range strings.SplitSeq(buf.String(), "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				return -1
			}
			return f
		}
	}
	return -1
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(testTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", testTimeout, what)
		}
		time.Sleep(time.Millisecond) // poll interval, not synchronisation
	}
}

// tcpClient is a raw memcache client over a real TCP connection.
type tcpClient struct {
	t  testing.TB
	nc net.Conn
	r  *bufio.Reader
}

func dialTCP(t testing.TB, ts *testServer) *tcpClient {
	t.Helper()
	nc, err := net.DialTimeout("tcp", ts.TCPAddr().String(), testTimeout)
	if err != nil {
		t.Fatalf("dial %s: %v", ts.TCPAddr(), err)
	}
	t.Cleanup(func() { _ = nc.Close() })
	_ = nc.SetDeadline(time.Now().Add(testTimeout))
	return &tcpClient{t: t, nc: nc, r: bufio.NewReader(nc)}
}

func (c *tcpClient) send(s string) {
	c.t.Helper()
	if _, err := io.WriteString(c.nc, s); err != nil {
		c.t.Fatalf("write %q: %v", s, err)
	}
}

// expect reads exactly len(want) bytes and compares them with want.
func (c *tcpClient) expect(want string) {
	c.t.Helper()
	got := make([]byte, len(want))
	n, err := io.ReadFull(c.r, got)
	if err != nil || string(got) != want {
		c.t.Fatalf("read: got %q (err %v), want %q", got[:n], err, want)
	}
}

// roundTrip sends req and expects want.
func (c *tcpClient) roundTrip(req, want string) {
	c.t.Helper()
	c.send(req)
	c.expect(want)
}

// readUntilEnd reads lines up to and including "END\r\n".
func (c *tcpClient) readUntilEnd() []string {
	c.t.Helper()
	var lines []string
	for {
		line, err := c.r.ReadString('\n')
		if err != nil {
			c.t.Fatalf("read after %q: %v", lines, err)
		}
		if !strings.HasSuffix(line, "\r\n") {
			c.t.Fatalf("line %q does not end in \\r\\n", line)
		}
		line = strings.TrimSuffix(line, "\r\n")
		if line == "END" {
			return lines
		}
		lines = append(lines, line)
	}
}

// expectEOF checks that the server closed the connection.
func (c *tcpClient) expectEOF() {
	c.t.Helper()
	b, err := c.r.ReadByte()
	if err == nil {
		c.t.Fatalf("read %q, want the connection closed", b)
	}
	if !errors.Is(err, io.EOF) && !errors.Is(err, syscall.ECONNRESET) {
		c.t.Fatalf("read: %v, want EOF", err)
	}
}

// udpClient speaks memcached's framed UDP to a server.
type udpClient struct {
	t  testing.TB
	pc *net.UDPConn
}

func dialUDP(t testing.TB, ts *testServer) *udpClient {
	t.Helper()
	pc, err := net.DialUDP("udp", nil, ts.UDPAddr())
	if err != nil {
		t.Fatalf("dial udp %s: %v", ts.UDPAddr(), err)
	}
	t.Cleanup(func() { _ = pc.Close() })
	return &udpClient{t: t, pc: pc}
}

// frame builds a datagram with the given header fields.
func frame(reqID, seq, total uint16, payload string) []byte {
	b := binary.BigEndian.AppendUint16(nil, reqID)
	b = binary.BigEndian.AppendUint16(b, seq)
	b = binary.BigEndian.AppendUint16(b, total)
	b = append(b, 0, 0)
	return append(b, payload...)
}

func (c *udpClient) sendRaw(d []byte) {
	c.t.Helper()
	if _, err := c.pc.Write(d); err != nil {
		c.t.Fatalf("write udp: %v", err)
	}
}

// udpReply is a reassembled response message.
type udpReply struct {
	reqID     uint16
	datagrams int
	body      string
}

// readReply reads datagrams until one complete message has arrived and
// checks every frame header on the way.
func (c *udpClient) readReply() udpReply {
	c.t.Helper()
	_ = c.pc.SetReadDeadline(time.Now().Add(testTimeout))
	buf := make([]byte, udpMaxDatagram)
	var parts [][]byte
	var r udpReply
	got := 0
	for {
		n, err := c.pc.Read(buf)
		if err != nil {
			c.t.Fatalf("read udp after %d datagrams: %v", got, err)
		}
		if n < udpHeaderLen {
			c.t.Fatalf("datagram of %d bytes, shorter than the header", n)
		}
		h, _, _ := parseUDPHeader(buf[:n])
		if n-udpHeaderLen > udpMaxPayload {
			c.t.Fatalf("datagram payload %d bytes, want at most %d", n-udpHeaderLen, udpMaxPayload)
		}
		if h.reserved != 0 || h.total == 0 || h.seq >= h.total {
			c.t.Fatalf("bad response header %+v", h)
		}
		if parts == nil {
			parts = make([][]byte, h.total)
			r.reqID = h.requestID
			r.datagrams = int(h.total)
		} else if h.requestID != r.reqID || int(h.total) != r.datagrams {
			c.t.Fatalf("header %+v interleaved with message %d of %d datagrams", h, r.reqID, r.datagrams)
		}
		if parts[h.seq] != nil {
			c.t.Fatalf("duplicate sequence number %d", h.seq)
		}
		parts[h.seq] = bytes.Clone(buf[udpHeaderLen:n])
		if h.seq+1 < h.total && n-udpHeaderLen != udpMaxPayload {
			c.t.Fatalf("datagram %d of %d carries %d bytes, want a full %d", h.seq, h.total, n-udpHeaderLen, udpMaxPayload)
		}
		got++
		if got == r.datagrams {
			r.body = string(bytes.Join(parts, nil))
			return r
		}
	}
}

// roundTrip sends payload as request reqID and returns the reply body.
func (c *udpClient) roundTrip(reqID uint16, payload string) string {
	c.t.Helper()
	c.sendRaw(frame(reqID, 0, 1, payload))
	r := c.readReply()
	if r.reqID != reqID {
		c.t.Fatalf("reply to request %d, want %d", r.reqID, reqID)
	}
	return r.body
}
