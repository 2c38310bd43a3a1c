package statsd

import "syscall"

// registerGauges exports what the kernel knows about the datagram sockets:
// drops (datagrams lost because the receive buffer was full) and the buffer
// size granted, plus the open stream connections. They are read at scrape
// time and unregistered when Run returns.
func (s *Server) registerGauges() {
	var socks []syscall.Conn
	for _, c := range s.udp {
		socks = append(socks, c)
	}
	inodes := map[uint64]bool{}
	for _, c := range socks {
		if ino := socketInode(c); ino != 0 {
			inodes[ino] = true
		}
	}
	add := func(name string, f func() float64) {
		s.ms.GetOrCreateGauge(name, f)
		s.m.gaugeNames = append(s.m.gaugeNames, name)
	}
	if len(socks) > 0 {
		add("ward_ingest_udp_kernel_drops", func() float64 { return udpDrops(inodes) })
		add("ward_ingest_udp_receive_buffer_bytes", func() float64 { return float64(readBuffer(socks[0])) })
	}
	add("ward_ingest_stream_connections", func() float64 {
		s.connMu.Lock()
		defer s.connMu.Unlock()
		return float64(len(s.conns))
	})
}

func (s *Server) unregisterGauges() {
	for _, n := range s.m.gaugeNames {
		s.ms.UnregisterMetric(n)
	}
}

// KernelDrops returns the datagrams the kernel dropped on the UDP sockets
// because their receive buffers were full (Linux; 0 elsewhere).
func (s *Server) KernelDrops() uint64 {
	inodes := map[uint64]bool{}
	for _, c := range s.udp {
		if ino := socketInode(c); ino != 0 {
			inodes[ino] = true
		}
	}
	return uint64(udpDrops(inodes))
}
