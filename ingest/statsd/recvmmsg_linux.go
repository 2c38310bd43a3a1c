package statsd

import (
	"errors"
	"fmt"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// batchReader reads up to len(hdrs) datagrams per recvmmsg(2) call, straight
// into a packetBatch's slots, with no allocation per datagram (x/net's
// ReadBatch allocates a source address for each one; statsd has no use for
// the source).
type batchReader struct {
	rc   syscall.RawConn
	hdrs []unix.Mmsghdr
	iovs []unix.Iovec
	n    int
	err  error
	fn   func(fd uintptr) bool // r.recv, bound once so Read does not allocate a closure
}

func newBatchReader(c syscall.Conn, size int) (*batchReader, error) {
	rc, err := c.SyscallConn()
	if err != nil {
		return nil, fmt.Errorf("statsd: raw conn: %w", err)
	}
	r := &batchReader{rc: rc, hdrs: make([]unix.Mmsghdr, size), iovs: make([]unix.Iovec, size)}
	r.fn = r.recv
	return r, nil
}

func (r *batchReader) read(b *packetBatch) (int, error) {
	k := min(len(b.bufs), len(r.hdrs))
	for i := range k {
		r.iovs[i].Base = &b.bufs[i][0]
		r.iovs[i].SetLen(len(b.bufs[i]))
		r.hdrs[i] = unix.Mmsghdr{}
		r.hdrs[i].Hdr.Iov = &r.iovs[i]
		r.hdrs[i].Hdr.SetIovlen(1)
	}
	r.n, r.err = 0, nil
	hdrs := r.hdrs
	r.hdrs = hdrs[:k]
	err := r.rc.Read(r.fn)
	r.hdrs = hdrs
	if err != nil {
		return 0, err
	}
	if r.err != nil {
		return 0, r.err
	}
	for i := range r.n {
		b.lens[i] = int(r.hdrs[i].Len)
		b.trunc[i] = r.hdrs[i].Hdr.Flags&unix.MSG_TRUNC != 0
	}
	return r.n, nil
}

// recv is the RawConn.Read callback: false asks the poller to wait for the
// socket to become readable.
func (r *batchReader) recv(fd uintptr) bool {
	for {
		n, _, errno := unix.Syscall6(unix.SYS_RECVMMSG, fd,
			uintptr(unsafe.Pointer(&r.hdrs[0])), uintptr(len(r.hdrs)),
			unix.MSG_DONTWAIT, 0, 0)
		switch {
		case errno == 0:
			r.n = int(n)
			return true
		case errno == unix.EINTR:
			continue
		case errno == unix.EAGAIN:
			return false
		case errors.Is(errno, unix.EBADF):
			r.err = errno
			return true
		default:
			r.err = fmt.Errorf("statsd: recvmmsg: %w", errno)
			return true
		}
	}
}
