package memcache

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/VictoriaMetrics/metrics"
)

// Counters is what the memcache server needs from the aggregator. Its
// methods are called concurrently from every connection and UDP reader.
type Counters interface {
	// Incr adds delta to the counter name and returns its new cumulative
	// total. "incr k n" means exactly statsd "k:n|c"; "decr k n" means
	// "k:-n|c".
	Incr(name string, delta float64) float64
	// SetGauge stores v as the gauge name ("set", "add", "replace").
	SetGauge(name string, v float64)
	// Get returns the current value of name, including what is not
	// flushed yet, and whether name is known.
	Get(name string) (float64, bool)
}

// Server serves the memcached text protocol over TCP and UDP on one
// address, mapping it onto Counters.
type Server struct {
	opts     Options
	lim      limits
	counters Counters
	extra    func() map[string]string
	m        *serverMetrics
	start    time.Time

	ln      *net.TCPListener
	pc      *net.UDPConn
	tcpAddr *net.TCPAddr
	udpAddr *net.UDPAddr

	started  atomic.Bool
	stopOnce sync.Once
	wg       sync.WaitGroup // the accept loop, UDP readers and connections

	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	closed bool // set under mu when shutting down; no new conns tracked
}

// NewServer binds the TCP listener and the UDP socket on opts.Addr, so
// that TCPAddr and UDPAddr are known before Run; it starts no goroutines.
// stats, if not nil, supplies extra lines for the "stats" command (names
// without spaces; it is called concurrently from connections). ms
// receives the self-metrics; nil gives the server a private set.
// The sockets are released by Run when it returns, or by Close.
func NewServer(opts Options, c Counters, stats func() map[string]string, ms *metrics.Set) (*Server, error) {
	opts.EnsureDefaults()
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	if c == nil {
		return nil, errors.New("memcache: nil Counters")
	}
	if ms == nil {
		ms = metrics.NewSet()
	}
	ln, pc, err := listen(opts.Addr)
	if err != nil {
		return nil, err
	}
	return &Server{
		opts:     opts,
		lim:      limits{maxLine: opts.MaxLine, maxValue: opts.MaxValue},
		counters: c,
		extra:    stats,
		m:        newServerMetrics(ms),
		start:    time.Now(),
		ln:       ln,
		pc:       pc,
		tcpAddr:  ln.Addr().(*net.TCPAddr),
		udpAddr:  pc.LocalAddr().(*net.UDPAddr),
		conns:    make(map[net.Conn]struct{}),
	}, nil
}

// listen binds TCP then UDP on the same port. For port 0 the UDP port
// the kernel gave TCP may be taken; a few fresh TCP ports are tried.
func listen(addr string) (*net.TCPListener, *net.UDPConn, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, nil, fmt.Errorf("memcache: listen on %q: %w", addr, err)
	}
	attempts := 1
	if port == "0" {
		attempts = 10
	}
	for i := 0; ; i++ {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return nil, nil, fmt.Errorf("memcache: listen on tcp %q: %w", addr, err)
		}
		tcp := ln.(*net.TCPListener)
		uaddr := net.JoinHostPort(host, strconv.Itoa(tcp.Addr().(*net.TCPAddr).Port))
		pc, err := net.ListenPacket("udp", uaddr)
		if err == nil {
			return tcp, pc.(*net.UDPConn), nil
		}
		_ = tcp.Close()
		if i+1 >= attempts || !errors.Is(err, syscall.EADDRINUSE) {
			return nil, nil, fmt.Errorf("memcache: listen on udp %q: %w", uaddr, err)
		}
	}
}

// TCPAddr is the address the TCP listener is bound to.
func (s *Server) TCPAddr() *net.TCPAddr { return s.tcpAddr }

// UDPAddr is the address the UDP socket is bound to.
func (s *Server) UDPAddr() *net.UDPAddr { return s.udpAddr }

// Run serves until ctx is cancelled, Close is called or a socket fails.
// It returns after the listener, the UDP socket and every connection are
// closed and every goroutine it started has exited: nil when stopped by
// ctx or Close, the error otherwise. Run may be called once.
func (s *Server) Run(ctx context.Context) error {
	if !s.started.CompareAndSwap(false, true) {
		return ErrServerStarted
	}
	errc := make(chan error, 1+s.opts.UDPReaders)
	s.wg.Add(1 + s.opts.UDPReaders)
	go func() {
		defer s.wg.Done()
		errc <- s.acceptLoop(ctx)
	}()
	for range s.opts.UDPReaders {
		go func() {
			defer s.wg.Done()
			errc <- s.udpLoop()
		}()
	}
	var err error
	select {
	case <-ctx.Done():
	case err = <-errc:
	}
	s.shutdown()
	s.wg.Wait()
	return err
}

// Close releases the sockets and closes every connection. It stops a
// running Run, and is how a Server that never ran gives its sockets back.
// It is safe to call more than once.
func (s *Server) Close() error {
	s.shutdown()
	return nil
}

// shutdown closes the sockets and every tracked connection, once.
func (s *Server) shutdown() {
	s.stopOnce.Do(func() {
		_ = s.ln.Close()
		_ = s.pc.Close()
		s.mu.Lock()
		s.closed = true
		for c := range s.conns {
			_ = c.Close()
		}
		s.mu.Unlock()
	})
}

// acceptLoop accepts connections until the listener is closed.
func (s *Server) acceptLoop(ctx context.Context) error {
	var backoff time.Duration
	for {
		nc, err := s.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			// Running out of file descriptors and the like pass; back
			// off as net/http does instead of spinning.
			if isTemporaryAccept(err) {
				backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
				t := time.NewTimer(backoff)
				select {
				case <-ctx.Done():
					t.Stop()
					return nil
				case <-t.C:
				}
				continue
			}
			return fmt.Errorf("memcache: accept on %s: %w", s.tcpAddr, err)
		}
		backoff = 0
		s.m.connsTotal.Inc()
		if !s.track(nc) {
			continue
		}
		go func() {
			defer s.wg.Done()
			defer s.untrack(nc)
			s.serveConn(nc)
		}()
	}
}

// isTemporaryAccept reports accept errors worth retrying.
func isTemporaryAccept(err error) bool {
	return errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) ||
		errors.Is(err, syscall.ECONNABORTED) || errors.Is(err, syscall.ENOBUFS) ||
		errors.Is(err, syscall.ENOMEM)
}

// track registers nc and its goroutine in the wait group, or refuses it
// (too many connections, or shutting down) and closes it.
func (s *Server) track(nc net.Conn) bool {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		_ = nc.Close()
		return false
	}
	if len(s.conns) >= s.opts.MaxConns {
		s.mu.Unlock()
		s.m.connsRejected.Inc()
		s.m.errors[errTooManyConns.reason].Inc()
		// A fresh socket's send buffer is empty, so this write does not
		// block; the deadline guards against the unexpected.
		_ = nc.SetWriteDeadline(time.Now().Add(time.Second))
		_, _ = nc.Write([]byte(errTooManyConns.reply + "\r\n"))
		_ = nc.Close()
		return false
	}
	s.conns[nc] = struct{}{}
	s.wg.Add(1)
	s.mu.Unlock()
	s.m.connsOpen.Inc()
	return true
}

func (s *Server) untrack(nc net.Conn) {
	_ = nc.Close()
	s.mu.Lock()
	delete(s.conns, nc)
	s.mu.Unlock()
	s.m.connsOpen.Dec()
}
