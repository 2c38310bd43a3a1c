package statsd

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"
)

// listenUDPGroup binds n UDP sockets to addr with SO_REUSEPORT (the first
// picks the port when addr's port is 0), each with a receive buffer of
// rcvbuf bytes.
func listenUDPGroup(addr string, n, rcvbuf int) ([]*net.UDPConn, error) {
	lc := net.ListenConfig{Control: func(_, _ string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) {
			serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEPORT, 1)
		})
		if err != nil {
			return err
		}
		return serr
	}}
	var out []*net.UDPConn
	for i := range n {
		pc, err := lc.ListenPacket(context.Background(), "udp", addr)
		if err != nil {
			closeAll(out)
			return nil, err
		}
		c := pc.(*net.UDPConn)
		setReadBuffer(c, rcvbuf)
		out = append(out, c)
		if i == 0 {
			addr = c.LocalAddr().String()
		}
	}
	return out, nil
}

// enableGRO turns UDP generic receive offload on for every socket and
// reports whether all accepted it. With it, datagrams of one sender that
// arrive together (a sender using UDP GSO, or a NIC coalescing a flow) are
// read as one message with their size in a control message, and split
// again by the reader: one copy and one message header for up to 64
// datagrams instead of one each.
//
// When a socket refuses, GRO is turned off on all of them: the readers size
// their buffers for coalesced messages only when every socket may send
// them.
func enableGRO(cs []*net.UDPConn) bool {
	if len(cs) == 0 {
		return false
	}
	if setGRO(cs, 1) {
		return true
	}
	setGRO(cs, 0)
	return false
}

func setGRO(cs []*net.UDPConn, on int) bool {
	ok := true
	for _, c := range cs {
		rc, err := c.SyscallConn()
		if err != nil {
			ok = false
			continue
		}
		var serr error
		if err := rc.Control(func(fd uintptr) {
			serr = unix.SetsockoptInt(int(fd), unix.SOL_UDP, unix.UDP_GRO, on)
		}); err != nil || serr != nil {
			ok = false
		}
	}
	return ok
}

// setReadBuffer asks for SO_RCVBUFFORCE (allowed to root, above
// net.core.rmem_max) and falls back to SO_RCVBUF.
func setReadBuffer(c syscall.Conn, size int) {
	rc, err := c.SyscallConn()
	if err != nil {
		return
	}
	rc.Control(func(fd uintptr) {
		if unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, size) != nil {
			unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUF, size)
		}
	})
}

// readBuffer is the receive buffer the kernel granted.
func readBuffer(c syscall.Conn) int {
	rc, err := c.SyscallConn()
	if err != nil {
		return 0
	}
	v := 0
	rc.Control(func(fd uintptr) {
		v, _ = unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUF)
	})
	return v
}

// socketInode is the inode that /proc/net/udp lists for the socket.
func socketInode(c syscall.Conn) uint64 {
	rc, err := c.SyscallConn()
	if err != nil {
		return 0
	}
	var st unix.Stat_t
	var serr error
	rc.Control(func(fd uintptr) { serr = unix.Fstat(int(fd), &st) })
	if serr != nil {
		return 0
	}
	return st.Ino
}

// udpDrops sums the kernel's drop counters (the last column of
// /proc/net/udp and /proc/net/udp6) of the sockets with these inodes:
// datagrams lost because the receive buffer was full.
func udpDrops(inodes map[uint64]bool) float64 {
	var total uint64
	for _, p := range []string{"/proc/net/udp", "/proc/net/udp6"} {
		data, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		d, _ := parseProcNetUDP(data, inodes)
		total += d
	}
	return float64(total)
}

// parseProcNetUDP reads the drops of the listed inodes from a
// /proc/net/udp table.
func parseProcNetUDP(data []byte, inodes map[uint64]bool) (uint64, error) {
	var total uint64
	sc := bufio.NewScanner(bytes.NewReader(data))
	first := true
	for sc.Scan() {
		if first {
			first = false
			continue
		}
		f := bytes.Fields(sc.Bytes())
		if len(f) < 13 {
			continue
		}
		ino, err := strconv.ParseUint(string(f[9]), 10, 64)
		if err != nil || !inodes[ino] {
			continue
		}
		d, err := strconv.ParseUint(string(f[12]), 10, 64)
		if err != nil {
			return total, fmt.Errorf("statsd: drops column %q: %w", f[12], err)
		}
		total += d
	}
	return total, sc.Err()
}
