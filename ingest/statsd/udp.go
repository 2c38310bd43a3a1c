package statsd

import (
	"errors"
	"net"
	"syscall"

	"github.com/wardmetrics/ward/ingest"
)

// packetBatch is one read's worth of datagrams: a contiguous buffer cut into
// ReadBatch slots of slotSize bytes.
type packetBatch struct {
	proto string
	bufs  [][]byte
	lens  []int
	trunc []bool
	// seg is, for a message that the kernel coalesced from several
	// datagrams of one sender (UDP GRO), the size of each datagram but the
	// last; 0 for a single datagram.
	seg []int
	n   int
}

// groSlotSize is the read slot size when UDP GRO is on: a coalesced message
// holds up to 64 KiB, the largest UDP payload.
const groSlotSize = 1 << 16

// slotSize is the size of one read slot: MaxPacketSize, or room for a whole
// coalesced message when the UDP sockets have GRO on.
func (s *Server) slotSize() int {
	if s.gro {
		return max(s.opts.MaxPacketSize, groSlotSize)
	}
	return s.opts.MaxPacketSize
}

// batchPool is the bounded queue between readers and workers: free batches
// go from workers back to readers, full ones from readers to workers.
type batchPool struct {
	free chan *packetBatch
	work chan *packetBatch
}

func newBatchPool(o ServerOptions, slot int) *batchPool {
	p := &batchPool{
		free: make(chan *packetBatch, o.Batches),
		work: make(chan *packetBatch, o.Batches),
	}
	for range o.Batches {
		p.free <- newPacketBatch(o.ReadBatch, slot)
	}
	return p
}

// newPacketBatch allocates n read slots of size bytes.
func newPacketBatch(n, size int) *packetBatch {
	mem := make([]byte, n*size)
	b := &packetBatch{
		bufs:  make([][]byte, n),
		lens:  make([]int, n),
		trunc: make([]bool, n),
		seg:   make([]int, n),
	}
	for i := range b.bufs {
		b.bufs[i] = mem[i*size : (i+1)*size : (i+1)*size]
	}
	return b
}

// datagramConn is a UDP or unix datagram socket.
type datagramConn interface {
	syscall.Conn
	ReadFrom(p []byte) (int, net.Addr, error)
}

// readDatagrams reads batches of datagrams from c and queues them for the
// workers until c is closed. It never parses.
func (s *Server) readDatagrams(c datagramConn, proto string, pool *batchPool) {
	r, err := newBatchReader(c, s.opts.ReadBatch, s.gro)
	if err != nil {
		s.m.readErrors.Inc()
		return
	}
	for {
		var b *packetBatch
		select {
		case b = <-pool.free:
		default:
			// Every batch waits for a worker: wait too, and let the
			// kernel buffer take the burst.
			s.m.readerWaits.Inc()
			b = <-pool.free
		}
		n, err := r.read(b)
		if err != nil {
			pool.free <- b
			if errors.Is(err, net.ErrClosed) {
				return
			}
			s.m.readErrors.Inc()
			continue
		}
		b.n, b.proto = n, proto
		pool.work <- b
	}
}

// readAndParse reads batches of datagrams from c and applies them itself,
// until c is closed: no hand-over to another goroutine, so no wake-up per
// batch. Used when ServerOptions.Workers is 0.
func (s *Server) readAndParse(c datagramConn, proto string) {
	r, err := newBatchReader(c, s.opts.ReadBatch, s.gro)
	if err != nil {
		s.m.readErrors.Inc()
		return
	}
	b := newPacketBatch(s.opts.ReadBatch, s.slotSize())
	h := newHandler(s.agg, proto, s.opts.Parse)
	for {
		n, err := r.read(b)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			s.m.readErrors.Inc()
			continue
		}
		b.n = n
		h.batch(b, s.opts.MaxPacketSize)
		h.publish()
	}
}

// worker parses queued batches until the work queue is closed.
func (s *Server) worker(pool *batchPool) {
	hs := map[string]*handler{}
	for b := range pool.work {
		h := hs[b.proto]
		if h == nil {
			h = newHandler(s.agg, b.proto, s.opts.Parse)
			hs[b.proto] = h
		}
		h.batch(b, s.opts.MaxPacketSize)
		h.publish()
		pool.free <- b
	}
}

// batch applies the datagrams of a read, splitting the messages the kernel
// coalesced (UDP GRO) back into their datagrams. A datagram longer than
// maxPacket is cut there, as it would have been without GRO.
//
// The simple lines of successive datagrams are handed to the aggregator
// together (up to simpleBatch at once), not one datagram's at a time:
// with one line per datagram, the commonest shape of statsd traffic, the
// aggregator can then overlap the cache misses of many lookups, as it does
// for a packet of many lines. Lines still apply in order: any other line
// hands over the simple lines before it first.
func (h *handler) batch(b *packetBatch, maxPacket int) {
	h.holdSimple = true
	for i := range b.n {
		p, seg := b.bufs[i][:b.lens[i]], b.seg[i]
		if seg <= 0 || seg >= len(p) {
			h.packet(p, b.trunc[i], maxPacket)
			continue
		}
		for len(p) > 0 {
			d := p[:min(seg, len(p))]
			p = p[len(d):]
			h.packet(d, false, maxPacket)
		}
	}
	h.holdSimple = false
	h.flushSimple(nil)
}

// packet applies one datagram and counts it.
func (h *handler) packet(p []byte, truncated bool, maxPacket int) {
	if len(p) > maxPacket {
		p, truncated = p[:maxPacket], true
	}
	h.packets++
	h.datagram(p, truncated)
}

// datagram applies one datagram. A cut datagram's last line is unfinished:
// it is rejected as packet_too_large and the complete lines before it count.
func (h *handler) datagram(p []byte, truncated bool) {
	if truncated {
		cut := len(p)
		for cut > 0 && p[cut-1] != '\n' {
			cut--
		}
		h.received++
		h.agg.RecordReject(h.proto, p[cut:], ingest.ReasonPacketTooLarge.String())
		p = p[:cut]
	}
	h.lines(p, nil)
}
