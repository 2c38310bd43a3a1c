package memcache

import (
	"encoding/binary"
	"errors"
	"net"
	"net/netip"
)

const (
	// udpHeaderLen is memcached's UDP frame header: request id, sequence
	// number, total datagrams in the message, reserved; 16 bits each,
	// big-endian.
	udpHeaderLen = 8
	// udpMaxPayload is the most response bytes one datagram carries after
	// its header, which keeps datagrams under a 1500-byte MTU.
	udpMaxPayload = 1400
	// udpMaxDatagram is the largest UDP payload the socket can receive.
	udpMaxDatagram = 64 << 10
)

// udpHeader is the frame header of a memcached UDP datagram.
type udpHeader struct {
	requestID uint16
	seq       uint16
	total     uint16
	reserved  uint16
}

// parseUDPHeader splits a datagram into its header and payload. ok is
// false for a datagram too short to carry a command.
func parseUDPHeader(d []byte) (h udpHeader, payload []byte, ok bool) {
	if len(d) <= udpHeaderLen {
		return h, nil, false
	}
	h = udpHeader{
		requestID: binary.BigEndian.Uint16(d[0:2]),
		seq:       binary.BigEndian.Uint16(d[2:4]),
		total:     binary.BigEndian.Uint16(d[4:6]),
		reserved:  binary.BigEndian.Uint16(d[6:8]),
	}
	return h, d[udpHeaderLen:], true
}

// udpLoop reads datagrams until the socket is closed. Each datagram is a
// complete request: its commands run in order and their replies go back
// as one message, split into as many datagrams as it needs.
func (s *Server) udpLoop() error {
	buf := make([]byte, udpMaxDatagram)
	frame := make([]byte, udpHeaderLen+udpMaxPayload)
	ss := newSession(s)
	for {
		n, from, err := s.pc.ReadFromUDPAddrPort(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			// Errors such as ICMP-reported refusals for an earlier
			// reply concern one peer, not the socket.
			continue
		}
		s.m.udpIn.Inc()
		s.m.bytesRead.Add(n)
		s.handleDatagram(ss, buf[:n])
		if len(ss.out) > udpHeaderLen {
			s.sendUDP(ss.out, frame, from)
		}
		ss.out = ss.out[:0]
		if cap(ss.out) > maxRetainedOut {
			ss.out = nil
		}
		ss.quit = false
	}
}

// handleDatagram runs the commands of datagram d and leaves the reply in
// ss.out: the request's header (to be completed by sendUDP) followed by
// the replies, or nothing when no reply is due.
func (s *Server) handleDatagram(ss *session, d []byte) {
	ss.out = ss.out[:0]
	h, payload, ok := parseUDPHeader(d)
	if !ok {
		// Without a header there is no request id to answer to, and
		// memcached drops these too.
		s.m.errors[reasonUDPShort].Inc()
		return
	}
	ss.out = binary.BigEndian.AppendUint16(ss.out, h.requestID)
	ss.out = append(ss.out, 0, 0, 0, 0, 0, 0)
	if h.total != 1 || h.seq != 0 {
		ss.out = s.appendError(ss.out, errMultiPacket)
		return
	}
	for len(payload) > 0 {
		cmd, n := parseCommand(payload, s.lim, true)
		payload = payload[n:]
		ss.exec(&cmd)
		if cmd.fatal || ss.quit {
			// quit over UDP closes nothing; it just ends the request.
			return
		}
	}
}

// sendUDP sends msg (an 8-byte header with the request id, then the
// reply) in datagrams of at most udpMaxPayload reply bytes, each with its
// sequence number and the total count.
func (s *Server) sendUDP(msg, frame []byte, to netip.AddrPort) {
	reqID := msg[:2]
	body := msg[udpHeaderLen:]
	total := (len(body) + udpMaxPayload - 1) / udpMaxPayload
	if total > 0xffff {
		s.m.errors[errUDPResponseSize.reason].Inc()
		body = []byte(errUDPResponseSize.reply + "\r\n")
		total = 1
	}
	for seq := range total {
		chunk := body[seq*udpMaxPayload : min((seq+1)*udpMaxPayload, len(body))]
		f := append(frame[:0], reqID...)
		f = binary.BigEndian.AppendUint16(f, uint16(seq))
		f = binary.BigEndian.AppendUint16(f, uint16(total))
		f = append(f, 0, 0)
		f = append(f, chunk...)
		w, err := s.pc.WriteToUDPAddrPort(f, to)
		if err != nil {
			// The peer is gone or the socket closed; the rest of the
			// message would fail the same way.
			return
		}
		s.m.udpOut.Inc()
		s.m.bytesWritten.Add(w)
	}
}
