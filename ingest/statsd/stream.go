package statsd

import (
	"bytes"
	"errors"
	"io"
	"net"
	"sync"
	"time"

	"github.com/wardmetrics/ward/ingest"
)

// acceptLoop accepts stream connections until l is closed; each connection
// gets a goroutine tracked by wg and closed by Server.Close.
func (s *Server) acceptLoop(l net.Listener, proto string, wg *sync.WaitGroup) {
	for {
		c, err := l.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			s.m.readErrors.Inc()
			// Out of file descriptors and the like: do not spin.
			time.Sleep(10 * time.Millisecond)
			continue
		}
		if !s.track(c) {
			c.Close()
			continue
		}
		wg.Go(func() {
			defer s.untrack(c)
			s.serveStream(c, proto)
		})
	}
}

func (s *Server) track(c net.Conn) bool {
	s.connMu.Lock()
	defer s.connMu.Unlock()
	if s.conns == nil {
		return false
	}
	if len(s.conns) >= s.opts.MaxConns {
		s.m.connsRefused.Inc()
		return false
	}
	s.conns[c] = struct{}{}
	return true
}

func (s *Server) untrack(c net.Conn) {
	c.Close()
	s.connMu.Lock()
	if s.conns != nil {
		delete(s.conns, c)
	}
	s.connMu.Unlock()
}

// streamBufSize is the read buffer of one stream connection; a line longer
// than the buffer is necessarily longer than MaxLineLen (see serveStream).
const streamBufSize = 64 << 10

// serveStream reads newline-delimited lines until the peer closes. A last
// line without a newline is applied at EOF. A line longer than MaxLineLen is
// rejected as soon as that is known and skipped up to its newline.
func (s *Server) serveStream(c net.Conn, proto string) {
	h := newHandler(s.agg, proto, s.opts.Parse)
	buf := make([]byte, max(streamBufSize, 2*h.maxLine+2))
	start, end := 0, 0
	skipping := false
	for {
		n, err := c.Read(buf[end:])
		end += n
		if n > 0 {
			h.packets++
		}
		for start < end {
			if skipping {
				i := bytes.IndexByte(buf[start:end], '\n')
				if i < 0 {
					break
				}
				skipping = false
				start += i + 1
				continue
			}
			// All the complete lines at once: lines applies them in
			// batches.
			i := bytes.LastIndexByte(buf[start:end], '\n')
			if i < 0 {
				break
			}
			h.lines(buf[start:start+i], nil)
			start += i + 1
		}
		if err != nil {
			if !skipping && start < end {
				h.lines(buf[start:end], nil)
			}
			h.publish()
			if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
				s.m.readErrors.Inc()
			}
			return
		}
		if start == end {
			start, end = 0, 0
		}
		if pending := end - start; pending > h.maxLine && !skipping {
			h.received++
			h.reject(buf[start:end], ingest.ReasonLineTooLong)
			skipping = true
		}
		if skipping {
			start, end = 0, 0
		} else if end == len(buf) {
			end = copy(buf, buf[start:end])
			start = 0
		}
		h.publish()
	}
}
