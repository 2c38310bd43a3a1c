package main

import (
	"fmt"
	"net"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// batch and slot are Ward's defaults: datagrams per recvmmsg call and the
// largest datagram read whole.
const (
	batch = 32
	slot  = 16384
)

// readLoop reads datagrams in recvmmsg batches until c is closed and adds
// their lines to lines.
func readLoop(c *net.UDPConn, lines *atomic.Int64) error {
	rc, err := c.SyscallConn()
	if err != nil {
		return fmt.Errorf("raw conn: %w", err)
	}
	buf := make([]byte, batch*slot)
	hdrs := make([]unix.Mmsghdr, batch)
	iovs := make([]unix.Iovec, batch)
	var got int
	var rerr error
	recv := func(fd uintptr) bool {
		for i := range hdrs {
			iovs[i].Base = &buf[i*slot]
			iovs[i].SetLen(slot)
			hdrs[i] = unix.Mmsghdr{}
			hdrs[i].Hdr.Iov = &iovs[i]
			hdrs[i].Hdr.SetIovlen(1)
		}
		for {
			n, _, errno := unix.Syscall6(unix.SYS_RECVMMSG, fd, uintptr(unsafe.Pointer(&hdrs[0])), batch, unix.MSG_DONTWAIT, 0, 0)
			switch errno {
			case 0:
				got, rerr = int(n), nil
				return true
			case unix.EINTR:
				continue
			case unix.EAGAIN:
				return false
			default:
				got, rerr = 0, fmt.Errorf("recvmmsg: %w", errno)
				return true
			}
		}
	}
	for {
		if err := rc.Read(recv); err != nil {
			return nil // closed
		}
		if rerr != nil {
			return rerr
		}
		var n int64
		for i := range got {
			n += countLines(buf[i*slot : i*slot+int(hdrs[i].Len)])
		}
		lines.Add(n)
	}
}

// setReadBuffer forces the receive buffer as Ward does (SO_RCVBUFFORCE,
// allowed to root), falling back to SO_RCVBUF.
func setReadBuffer(c *net.UDPConn, size int) {
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
