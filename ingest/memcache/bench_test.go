package memcache

import (
	"bufio"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// runInMemory parses and executes every command in in, as serveConn does.
func runInMemory(ss *session, in []byte) {
	for len(in) > 0 {
		cmd, n := parseCommand(in, ss.s.lim, false)
		if n == 0 {
			return
		}
		ss.exec(&cmd)
		in = in[n:]
	}
	ss.out = ss.out[:0]
}

// TestIncrDoesNotAllocate guards the hot path: once a key has been seen,
// parsing and executing incr, decr, set and get allocate nothing.
func TestIncrDoesNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector changes allocation counts")
	}
	ss := newSession(socketlessServer(newMemCounters()))
	for _, in := range []string{
		"incr shop.revenue 499\r\n",
		"decr stock.widgets 1 noreply\r\n",
		"incr latency.sum 12.75\r\n",
		"set queue.depth 0 0 2\r\n17\r\n",
		"get shop.revenue queue.depth\r\n",
	} {
		b := []byte(in)
		runInMemory(ss, b) // first sight of the key interns it
		if allocs := testing.AllocsPerRun(100, func() { runInMemory(ss, b) }); allocs != 0 {
			t.Errorf("%q: %v allocs per command, want 0", in, allocs)
		}
	}
}

// BenchmarkIncr measures parsing and executing one incr, in memory.
func BenchmarkIncr(b *testing.B) {
	ss := newSession(socketlessServer(newMemCounters()))
	in := []byte("incr shop.revenue 499\r\n")
	b.ReportAllocs()
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		runInMemory(ss, in)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "cmds/s")
}

// BenchmarkTCPIncrPipelined measures incr over a real TCP connection, 100
// pipelined per write (allocations include the client's).
func BenchmarkTCPIncrPipelined(b *testing.B) {
	ts := startServer(b, Options{})
	nc, err := net.Dial("tcp", ts.TCPAddr().String())
	if err != nil {
		b.Fatal(err)
	}
	defer nc.Close()
	const batch = 100
	req := []byte(strings.Repeat("incr bench 1\r\n", batch))
	r := bufio.NewReaderSize(nc, 64<<10)
	b.ReportAllocs()
	for b.Loop() {
		_ = nc.SetDeadline(time.Now().Add(testTimeout))
		if _, err := nc.Write(req); err != nil {
			b.Fatal(err)
		}
		for range batch {
			if _, err := r.ReadSlice('\n'); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "cmds/s")
}

// BenchmarkUDPIncr measures one incr per datagram, request and reply.
func BenchmarkUDPIncr(b *testing.B) {
	ts := startServer(b, Options{})
	pc, err := net.DialUDP("udp", nil, ts.UDPAddr())
	if err != nil {
		b.Fatal(err)
	}
	defer pc.Close()
	req := frame(1, 0, 1, "incr bench 1\r\n")
	buf := make([]byte, 2048)
	b.ReportAllocs()
	for b.Loop() {
		_ = pc.SetReadDeadline(time.Now().Add(testTimeout))
		if _, err := pc.Write(req); err != nil {
			b.Fatal(err)
		}
		if _, err := io.ReadAtLeast(pc, buf, udpHeaderLen+1); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "cmds/s")
}
