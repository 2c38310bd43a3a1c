package statsd

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"runtime"
	"sync"

	"github.com/VictoriaMetrics/metrics"
	"github.com/wardmetrics/ward/ingest"
)

// ServerOptions configure the statsd listeners. The zero value listens on
// nothing; set Addr and/or the unix paths.
type ServerOptions struct {
	// Addr is the host:port of the UDP and TCP listeners (one port for both);
	// empty turns both off. Port 0 picks a free port (see UDPAddr).
	Addr string
	// UnixgramPath and UnixPath are optional unix datagram and stream socket
	// paths. A stale socket file at the path is removed first.
	UnixgramPath string
	UnixPath     string
	// UDPReaders is the number of UDP sockets bound to Addr with
	// SO_REUSEPORT, each with its own reader goroutine (default 2). The
	// kernel spreads senders over them by address.
	UDPReaders int
	// Workers is the number of goroutines parsing datagrams that the
	// readers hand their batches to; a negative value means GOMAXPROCS.
	// With 0 (the default) each reader parses what it reads itself: no
	// hand-over and no goroutine wake-up per batch, which costs less CPU
	// per datagram when the senders share the machine, at the price of
	// parsing one socket's traffic on one core.
	Workers int
	// ReadBatch is how many datagrams one recvmmsg call reads (default 32).
	ReadBatch int
	// MaxPacketSize is the largest datagram read whole (default 16384);
	// a longer one is cut and its unfinished last line rejected as
	// packet_too_large. With UDPGRO the read slots are 64 KiB, the largest
	// coalesced message, and datagrams are cut after reading.
	MaxPacketSize int
	// ReadBuffer is the SO_RCVBUF asked for each datagram socket (default
	// 16 MiB). As root SO_RCVBUFFORCE passes the system maximum; the size
	// granted is exported as ward_ingest_udp_receive_buffer_bytes.
	ReadBuffer int
	// Batches is how many read batches exist when Workers > 0 (default 4
	// per worker plus one per reader): the bounded queue between readers
	// and workers. When
	// every batch is waiting for a worker, readers wait and the kernel
	// buffer absorbs the burst; what overflows it is counted as kernel drops.
	Batches int
	// UDPGRO turns on UDP generic receive offload (Linux): datagrams of one
	// sender that arrive together (a client sending with UDP GSO, or a NIC
	// coalescing a flow) are read as one message of up to 64 KiB and split
	// again by the reader, so each still counts as its own datagram. One
	// copy and one message header then serve up to 64 datagrams. Off by
	// default: with it, a GSO sender's datagrams are no longer received
	// one by one, which is what a benchmark of per-datagram cost must see.
	UDPGRO bool
	// MaxConns bounds concurrent TCP and unix stream connections (default 1024).
	MaxConns int
	// Parse sets the gauge meaning of these listeners.
	Parse ParseOptions
}

func (o *ServerOptions) ensureDefaults() {
	if o.UDPReaders <= 0 {
		o.UDPReaders = 2
	}
	if o.Workers < 0 {
		o.Workers = runtime.GOMAXPROCS(0)
	}
	if o.ReadBatch <= 0 {
		o.ReadBatch = 32
	}
	if o.MaxPacketSize <= 0 {
		o.MaxPacketSize = 16384
	}
	if o.ReadBuffer <= 0 {
		o.ReadBuffer = 16 << 20
	}
	if o.Batches <= 0 {
		o.Batches = 4*o.Workers + o.UDPReaders + 1
	}
	if o.MaxConns <= 0 {
		o.MaxConns = 1024
	}
}

// Server owns the statsd listeners. NewServer binds the sockets; Run serves
// them until its context is cancelled.
type Server struct {
	opts ServerOptions
	agg  *ingest.Aggregator
	ms   *metrics.Set

	udp      []*net.UDPConn
	gro      bool // the UDP sockets have UDP GRO on
	unixgram *net.UnixConn
	tcp      net.Listener
	unix     net.Listener

	closeOnce sync.Once
	closeErr  error

	connMu sync.Mutex
	conns  map[net.Conn]struct{}

	m serverMetrics
}

type serverMetrics struct {
	readErrors   *metrics.Counter
	readerWaits  *metrics.Counter
	connsRefused *metrics.Counter
	gaugeNames   []string
}

// NewServer binds the configured sockets, so that bind errors surface here
// and Addr methods work before Run. Call Run to serve, or Close to release
// the sockets without serving.
func NewServer(opts ServerOptions, agg *ingest.Aggregator, ms *metrics.Set) (*Server, error) {
	if agg == nil {
		return nil, errors.New("statsd: new server: nil aggregator")
	}
	opts.ensureDefaults()
	if ms == nil {
		ms = agg.Metrics()
	}
	s := &Server{opts: opts, agg: agg, ms: ms, conns: make(map[net.Conn]struct{})}
	s.m = serverMetrics{
		readErrors:   ms.GetOrCreateCounter("ward_ingest_read_errors_total"),
		readerWaits:  ms.GetOrCreateCounter("ward_ingest_udp_reader_waits_total"),
		connsRefused: ms.GetOrCreateCounter("ward_ingest_connections_refused_total"),
	}
	if err := s.bind(); err != nil {
		s.Close()
		return nil, err
	}
	s.registerGauges()
	return s, nil
}

func (s *Server) bind() error {
	if s.opts.Addr != "" {
		if err := s.bindInet(); err != nil {
			return err
		}
	}
	if p := s.opts.UnixgramPath; p != "" {
		removeStaleSocket(p)
		c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: p, Net: "unixgram"})
		if err != nil {
			return fmt.Errorf("statsd: listen unixgram %s: %w", p, err)
		}
		setReadBuffer(c, s.opts.ReadBuffer)
		s.unixgram = c
	}
	if p := s.opts.UnixPath; p != "" {
		removeStaleSocket(p)
		l, err := net.Listen("unix", p)
		if err != nil {
			return fmt.Errorf("statsd: listen unix %s: %w", p, err)
		}
		s.unix = l
	}
	return nil
}

// bindInet binds the UDP sockets and the TCP listener on one port. With
// port 0 the UDP port is chosen first and TCP takes the same number; if
// that TCP port is taken, it tries again with another.
func (s *Server) bindInet() error {
	var lastErr error
	for range 20 {
		udp, err := listenUDPGroup(s.opts.Addr, s.opts.UDPReaders, s.opts.ReadBuffer)
		if err != nil {
			return fmt.Errorf("statsd: listen udp %s: %w", s.opts.Addr, err)
		}
		port := udp[0].LocalAddr().(*net.UDPAddr).Port
		host, _, err := net.SplitHostPort(s.opts.Addr)
		if err != nil {
			closeAll(udp)
			return fmt.Errorf("statsd: address %q: %w", s.opts.Addr, err)
		}
		tcpAddr := net.JoinHostPort(host, fmt.Sprint(port))
		tl, err := net.Listen("tcp", tcpAddr)
		if err != nil {
			closeAll(udp)
			lastErr = fmt.Errorf("statsd: listen tcp %s: %w", tcpAddr, err)
			if _, p, _ := net.SplitHostPort(s.opts.Addr); p == "0" {
				continue
			}
			return lastErr
		}
		s.udp, s.tcp = udp, tl
		if s.opts.UDPGRO {
			s.gro = enableGRO(udp)
		}
		return nil
	}
	return lastErr
}

func closeAll(cs []*net.UDPConn) {
	for _, c := range cs {
		c.Close()
	}
}

func removeStaleSocket(p string) {
	if fi, err := os.Lstat(p); err == nil && fi.Mode()&os.ModeSocket != 0 {
		os.Remove(p)
	}
}

// UDPAddr is the bound UDP address, or nil when Addr is empty.
func (s *Server) UDPAddr() net.Addr {
	if len(s.udp) == 0 {
		return nil
	}
	return s.udp[0].LocalAddr()
}

// TCPAddr is the bound TCP address, or nil when Addr is empty.
func (s *Server) TCPAddr() net.Addr {
	if s.tcp == nil {
		return nil
	}
	return s.tcp.Addr()
}

// UnixgramAddr is the bound unix datagram socket, or nil.
func (s *Server) UnixgramAddr() net.Addr {
	if s.unixgram == nil {
		return nil
	}
	return s.unixgram.LocalAddr()
}

// UnixAddr is the bound unix stream socket, or nil.
func (s *Server) UnixAddr() net.Addr {
	if s.unix == nil {
		return nil
	}
	return s.unix.Addr()
}

// Run serves every listener until ctx is cancelled, then closes them, waits
// for its goroutines and returns nil. Lines still queued when ctx ends are
// applied before Run returns.
func (s *Server) Run(ctx context.Context) error {
	defer s.unregisterGauges()
	var wg sync.WaitGroup
	var readers sync.WaitGroup
	read := func(c datagramConn, proto string) { s.readAndParse(c, proto) }
	var pool *batchPool
	if s.opts.Workers > 0 {
		pool = newBatchPool(s.opts, s.slotSize())
		for range s.opts.Workers {
			wg.Go(func() { s.worker(pool) })
		}
		read = func(c datagramConn, proto string) { s.readDatagrams(c, proto, pool) }
	}
	for _, c := range s.udp {
		readers.Go(func() { read(c, "udp") })
	}
	if s.unixgram != nil {
		readers.Go(func() { read(s.unixgram, "unixgram") })
	}
	var streams sync.WaitGroup
	if s.tcp != nil {
		streams.Go(func() { s.acceptLoop(s.tcp, "tcp", &streams) })
	}
	if s.unix != nil {
		streams.Go(func() { s.acceptLoop(s.unix, "unix", &streams) })
	}
	<-ctx.Done()
	s.Close()
	readers.Wait()
	if pool != nil {
		close(pool.work)
	}
	wg.Wait()
	streams.Wait()
	return nil
}

// Close closes every socket and connection; Run then returns once ctx is
// done. Safe to call more than once.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		var errs []error
		for _, c := range s.udp {
			errs = append(errs, c.Close())
		}
		if s.unixgram != nil {
			errs = append(errs, s.unixgram.Close())
			os.Remove(s.opts.UnixgramPath)
		}
		if s.tcp != nil {
			errs = append(errs, s.tcp.Close())
		}
		if s.unix != nil {
			errs = append(errs, s.unix.Close())
		}
		s.connMu.Lock()
		for c := range s.conns {
			c.Close()
		}
		s.conns = nil
		s.connMu.Unlock()
		s.closeErr = errors.Join(errs...)
	})
	return s.closeErr
}
