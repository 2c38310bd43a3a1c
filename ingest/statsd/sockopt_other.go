//go:build !linux

package statsd

import (
	"net"
	"syscall"
)

// listenUDPGroup binds one UDP socket where SO_REUSEPORT is not available
// in the same form.
func listenUDPGroup(addr string, _, rcvbuf int) ([]*net.UDPConn, error) {
	ua, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		return nil, err
	}
	c, err := net.ListenUDP("udp", ua)
	if err != nil {
		return nil, err
	}
	c.SetReadBuffer(rcvbuf)
	return []*net.UDPConn{c}, nil
}

func setReadBuffer(c syscall.Conn, size int) {
	if b, ok := c.(interface{ SetReadBuffer(int) error }); ok {
		b.SetReadBuffer(size)
	}
}

// enableGRO: UDP GRO is Linux-only.
func enableGRO([]*net.UDPConn) bool { return false }

func readBuffer(syscall.Conn) int      { return 0 }
func socketInode(syscall.Conn) uint64  { return 0 }
func udpDrops(map[uint64]bool) float64 { return 0 }
