package memcache

import (
	"bytes"
	"net"
	"testing"

	"github.com/VictoriaMetrics/metrics"
)

// socketlessServer is a Server with everything exec needs and no sockets,
// for fuzzing and benchmarking the protocol in memory.
func socketlessServer(c Counters) *Server {
	opts := Options{MaxLine: 512, MaxValue: 64}
	opts.EnsureDefaults()
	return &Server{
		opts:     opts,
		lim:      limits{maxLine: opts.MaxLine, maxValue: opts.MaxValue},
		counters: c,
		m:        newServerMetrics(metrics.NewSet()),
		tcpAddr:  &net.TCPAddr{},
		udpAddr:  &net.UDPAddr{},
	}
}

var fuzzSeeds = []string{
	"incr a 1\r\n",
	"decr a 1 noreply\r\n",
	"incr a 1.5e3\r\nget a b\r\n",
	"set g 0 0 2\r\n17\r\n",
	"set g 0 0 2 noreply\r\n-1\r\n",
	"add g 0 0 1\r\n1\r\nreplace g 0 0 1\r\n2\r\n",
	"cas g 0 0 1 5\r\n1\r\n",
	"append g 0 0 1\r\n1\r\n",
	"set g 0 0 100000\r\n12",
	"set g 0 0 -1\r\n",
	"set g 4294967296 0 1\r\n1\r\n",
	"gets a b c\r\n",
	"get\r\n",
	"delete a 0 noreply\r\n",
	"flush_all\r\ntouch a 1\r\ngat 1 a\r\n",
	"stats\r\nstats settings\r\nstats reset\r\n",
	"version\r\nverbosity 1\r\nquit\r\n",
	"incr a\x00 1\r\n",
	"\r\n\n\r",
	"incr a 1",
	"get a                                                                           b\r\n",
}

// FuzzParseCommand feeds arbitrary bytes to the parser, streamed (TCP)
// and final (UDP), and runs what it parses.
func FuzzParseCommand(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s), false)
		f.Add([]byte(s), true)
	}
	srv := socketlessServer(newMemCounters())
	f.Fuzz(func(t *testing.T, in []byte, final bool) {
		ss := newSession(srv)
		lim := ss.s.lim
		b := in
		for len(b) > 0 {
			cmd, n := parseCommand(b, lim, final)
			if n < 0 || n > len(b) {
				t.Fatalf("parseCommand(%q) consumed %d of %d bytes", b, n, len(b))
			}
			if n == 0 {
				if cmd.err != nil || final {
					t.Fatalf("parseCommand(%q, final=%v) consumed nothing with err %v", b, final, cmd.err)
				}
				if len(b) > lim.maxLine+2+lim.maxValue+2 {
					t.Fatalf("parseCommand wants more input after %d bytes, beyond any command", len(b))
				}
				break
			}
			if cmd.swallow < 0 || (final && cmd.swallow != 0) {
				t.Fatalf("swallow %d (final=%v)", cmd.swallow, final)
			}
			ss.out = ss.out[:0]
			ss.exec(&cmd)
			if len(ss.out) > 0 && !bytes.HasSuffix(ss.out, []byte("\r\n")) {
				t.Fatalf("reply %q to %q does not end in \\r\\n", ss.out, b[:n])
			}
			if cmd.noreply && cmd.op != opGet && cmd.op != opGets && cmd.op != opStats && len(ss.out) > 0 {
				t.Fatalf("noreply command %q replied %q", b[:n], ss.out)
			}
			if cmd.fatal {
				break
			}
			b = b[n:]
		}
	})
}

// FuzzHandleDatagram feeds arbitrary datagrams to the UDP request path.
func FuzzHandleDatagram(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(frame(1, 0, 1, s))
	}
	f.Add(frame(1, 1, 2, "incr a 1\r\n"))
	f.Add([]byte{1, 2, 3})
	srv := socketlessServer(newMemCounters())
	f.Fuzz(func(t *testing.T, d []byte) {
		ss := newSession(srv)
		ss.s.handleDatagram(ss, d)
		if len(ss.out) == 0 {
			return
		}
		if len(d) <= udpHeaderLen || !bytes.Equal(ss.out[:2], d[:2]) {
			t.Fatalf("reply %q to datagram %q: want the request id echoed", ss.out, d)
		}
		if len(ss.out) > udpHeaderLen && !bytes.HasSuffix(ss.out, []byte("\r\n")) {
			t.Fatalf("reply %q does not end in \\r\\n", ss.out)
		}
	})
}
