package memcache

import (
	"io"
	"net"
	"time"
)

const (
	// initialReadBuf is a connection's first read buffer; it grows up to
	// the largest command the limits allow.
	initialReadBuf = 4 << 10
	// maxRetainedOut is the largest reply buffer kept between reads; a
	// bigger one (a huge multi-get) is dropped for the collector.
	maxRetainedOut = 64 << 10
	// lingerTimeout and lingerBytes bound how long and how much a closing
	// connection keeps reading (see lingerClose).
	lingerTimeout = time.Second
	lingerBytes   = 256 << 10
)

// serveConn runs one TCP connection until the client quits, the
// connection fails or the server closes it. Replies to all the commands
// found in one read are written together, so pipelined requests cost one
// write.
func (s *Server) serveConn(nc net.Conn) {
	ss := newSession(s)
	// A full command is a line (with "\r\n") and a data block (with
	// "\r\n"); the buffer never needs to be larger.
	maxBuf := s.lim.maxLine + 2 + s.lim.maxValue + 2
	buf := make([]byte, min(initialReadBuf, maxBuf))
	start, end, swallow := 0, 0, 0
	for {
		stop := false
		for !stop {
			if swallow > 0 {
				d := min(swallow, end-start)
				start += d
				swallow -= d
				if swallow > 0 {
					break
				}
			}
			if start == end {
				break
			}
			cmd, n := parseCommand(buf[start:end], s.lim, false)
			if n == 0 && cmd.err == nil {
				if end-start == maxBuf {
					// Cannot happen with parseCommand's limits; refuse
					// rather than wait forever for a command that fits.
					cmd.err, cmd.fatal = errLineTooLong, true
				} else {
					break
				}
			}
			start += n
			swallow = cmd.swallow
			ss.exec(&cmd)
			stop = cmd.fatal || ss.quit
		}
		if len(ss.out) > 0 {
			w, err := nc.Write(ss.out)
			s.m.bytesWritten.Add(w)
			if err != nil {
				return
			}
			ss.out = ss.out[:0]
			if cap(ss.out) > maxRetainedOut {
				ss.out = nil
			}
		}
		if stop {
			lingerClose(nc)
			return
		}
		// Keep the unparsed tail at the front, and grow only when a
		// command does not fit.
		if start == end {
			start, end = 0, 0
		} else if start > 0 {
			end = copy(buf, buf[start:end])
			start = 0
		}
		if end == len(buf) {
			nb := make([]byte, min(2*len(buf), maxBuf))
			copy(nb, buf[:end])
			buf = nb
		}
		if s.opts.IdleTimeout > 0 {
			_ = nc.SetReadDeadline(time.Now().Add(s.opts.IdleTimeout))
		}
		r, err := nc.Read(buf[end:])
		s.m.bytesRead.Add(r)
		end += r
		if err != nil && r == 0 {
			// EOF, a reset, the idle deadline or the server closing the
			// connection: nothing more can be read.
			return
		}
	}
}

// lingerClose ends a connection the server chose to end (quit, or a line
// too long) so that the last replies arrive: closing a socket with unread
// input makes the kernel send a reset, which can destroy replies the
// client has not read yet. So: send FIN, then discard input for a bounded
// time and amount. The caller closes the connection afterwards, and
// shutdown closing it ends the wait early.
func lingerClose(nc net.Conn) {
	tc, ok := nc.(*net.TCPConn)
	if !ok {
		return
	}
	if err := tc.CloseWrite(); err != nil {
		return
	}
	_ = tc.SetReadDeadline(time.Now().Add(lingerTimeout))
	_, _ = io.CopyN(io.Discard, tc, lingerBytes)
}
