package statsd

import (
	"fmt"
	"net"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// TestGROSplitsDatagrams sends with UDP GSO, so that the kernel hands the
// server's GRO socket one message holding many datagrams, and checks that
// each datagram counts as its own packet: the lines carry no newline, so
// they only parse when split at the datagram boundaries, and a datagram
// longer than MaxPacketSize is cut there as without GRO.
func TestGROSplitsDatagrams(t *testing.T) {
	f := startServer(t, ServerOptions{MaxPacketSize: 64, UDPGRO: true})
	if !f.srv.gro {
		t.Skip("the kernel refused UDP_GRO")
	}
	send := func(seg int, dgrams []string) {
		t.Helper()
		c, err := net.DialUDP("udp", nil, f.srv.UDPAddr().(*net.UDPAddr))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		rc, err := c.SyscallConn()
		if err != nil {
			t.Fatal(err)
		}
		var serr error
		if err := rc.Control(func(fd uintptr) {
			serr = unix.SetsockoptInt(int(fd), unix.IPPROTO_UDP, unix.UDP_SEGMENT, seg)
		}); err != nil || serr != nil {
			t.Skipf("UDP_SEGMENT: %v %v", err, serr)
		}
		for _, d := range dgrams {
			if len(d) != seg {
				t.Fatalf("datagram %q is not %d bytes", d, seg)
			}
		}
		if _, err := c.Write([]byte(strings.Join(dgrams, ""))); err != nil {
			t.Fatal(err)
		}
	}
	const n = 40
	var short []string
	for i := range n {
		short = append(short, fmt.Sprintf("gro.%02d:1|c", i))
	}
	send(10, short)
	// Three datagrams of 80 bytes: each cut at 64, its line unfinished.
	long := fmt.Sprintf("long.%s:1|c", strings.Repeat("x", 80-len("long.:1|c")))
	send(80, []string{long, long, long})

	pc := f.agg.Protocol("udp")
	waitFor(t, "all datagrams", func() bool { return pc.Packets.Get() >= n+3 })
	if got := pc.Packets.Get(); got != n+3 {
		t.Errorf("%d packets counted, want %d", got, n+3)
	}
	for i := range n {
		if v, ok := f.agg.Get(fmt.Sprintf("gro.%02d", i)); v != 1 || !ok {
			t.Errorf("gro.%02d = %v (%v), want 1", i, v, ok)
		}
	}
	if got := pc.LinesAccepted.Get(); got != n {
		t.Errorf("%d lines accepted, want %d", got, n)
	}
	rejected := 0
	for _, r := range f.agg.Rejects() {
		if r.Reason == "packet_too_large" {
			rejected++
		}
	}
	if rejected != 3 {
		t.Errorf("%d cut datagrams rejected, want 3: %+v", rejected, f.agg.Rejects())
	}
}
