package statsd

import (
	"errors"
	"net"
	"syscall"

	"github.com/wardmetrics/ward/ingest"
)

// packetBatch is one read's worth of datagrams: a contiguous buffer cut into
// ReadBatch slots of MaxPacketSize bytes.
type packetBatch struct {
	proto string
	bufs  [][]byte
	lens  []int
	trunc []bool
	n     int
}

// batchPool is the bounded queue between readers and workers: free batches
// go from workers back to readers, full ones from readers to workers.
type batchPool struct {
	free chan *packetBatch
	work chan *packetBatch
}

func newBatchPool(o ServerOptions) *batchPool {
	p := &batchPool{
		free: make(chan *packetBatch, o.Batches),
		work: make(chan *packetBatch, o.Batches),
	}
	for range o.Batches {
		mem := make([]byte, o.ReadBatch*o.MaxPacketSize)
		b := &packetBatch{
			bufs:  make([][]byte, o.ReadBatch),
			lens:  make([]int, o.ReadBatch),
			trunc: make([]bool, o.ReadBatch),
		}
		for i := range b.bufs {
			b.bufs[i] = mem[i*o.MaxPacketSize : (i+1)*o.MaxPacketSize : (i+1)*o.MaxPacketSize]
		}
		p.free <- b
	}
	return p
}

// datagramConn is a UDP or unix datagram socket.
type datagramConn interface {
	syscall.Conn
	ReadFrom(p []byte) (int, net.Addr, error)
}

// readDatagrams reads batches of datagrams from c and queues them for the
// workers until c is closed. It never parses.
func (s *Server) readDatagrams(c datagramConn, proto string, pool *batchPool) {
	r, err := newBatchReader(c, s.opts.ReadBatch)
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

// worker parses queued batches until the work queue is closed.
func (s *Server) worker(pool *batchPool) {
	hs := map[string]*handler{}
	for b := range pool.work {
		h := hs[b.proto]
		if h == nil {
			h = newHandler(s.agg, b.proto, s.opts.Parse)
			hs[b.proto] = h
		}
		for i := range b.n {
			h.datagram(b.bufs[i][:b.lens[i]], b.trunc[i])
		}
		h.packets += b.n
		h.publish()
		pool.free <- b
	}
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
