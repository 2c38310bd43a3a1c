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
	// ctrl holds each message's control data: the UDP_GRO segment size
	// when the kernel coalesced datagrams.
	ctrl []byte
	n    int
	err  error
	fn   func(fd uintptr) bool // r.recv, bound once so Read does not allocate a closure
}

// newBatchReader reads up to size datagrams per call; with gro it also
// reads the UDP_GRO segment size of each message.
func newBatchReader(c syscall.Conn, size int, gro bool) (*batchReader, error) {
	rc, err := c.SyscallConn()
	if err != nil {
		return nil, fmt.Errorf("statsd: raw conn: %w", err)
	}
	r := &batchReader{rc: rc, hdrs: make([]unix.Mmsghdr, size), iovs: make([]unix.Iovec, size)}
	if gro {
		r.ctrl = make([]byte, size*ctrlSize)
	}
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
		if r.ctrl != nil {
			r.hdrs[i].Hdr.Control = &r.ctrl[i*ctrlSize]
			r.hdrs[i].Hdr.SetControllen(ctrlSize)
		}
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
		if r.ctrl != nil {
			b.seg[i] = groSegment(r.ctrl[i*ctrlSize : i*ctrlSize+int(r.hdrs[i].Hdr.Controllen)])
		}
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

// ctrlSize is the control buffer of one message: room for the UDP_GRO
// message (an int) and one more of any kind.
var ctrlSize = 2 * unix.CmsgSpace(8)

// groSegment returns the segment size of a UDP_GRO control message in
// ctrl, or 0. It walks the messages by hand: unix.ParseSocketControlMessage
// allocates.
func groSegment(ctrl []byte) int {
	for len(ctrl) >= unix.SizeofCmsghdr {
		h := (*unix.Cmsghdr)(unsafe.Pointer(&ctrl[0]))
		n := int(h.Len)
		if n < unix.SizeofCmsghdr || n > len(ctrl) {
			return 0
		}
		if h.Level == unix.SOL_UDP && h.Type == unix.UDP_GRO && n >= unix.CmsgLen(4) {
			return int(*(*int32)(unsafe.Pointer(&ctrl[unix.CmsgLen(0)])))
		}
		ctrl = ctrl[min(unix.CmsgSpace(n-unix.CmsgLen(0)), len(ctrl)):]
	}
	return 0
}
