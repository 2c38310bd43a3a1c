package main

import (
	"fmt"
	"net"

	"golang.org/x/sys/unix"
)

// setGSO makes every send on conn split into datagrams of size bytes
// (UDP_SEGMENT).
func setGSO(conn *net.UDPConn, size int) error {
	rc, err := conn.SyscallConn()
	if err != nil {
		return fmt.Errorf("raw socket: %w", err)
	}
	var serr error
	if err := rc.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.IPPROTO_UDP, unix.UDP_SEGMENT, size)
	}); err != nil {
		return fmt.Errorf("raw socket control: %w", err)
	}
	if serr != nil {
		return fmt.Errorf("setsockopt UDP_SEGMENT %d: %w", size, serr)
	}
	return nil
}
