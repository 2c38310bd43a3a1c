package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"syscall"
	"time"

	"golang.org/x/net/ipv4"
)

// gsoMaxSegments is the most datagrams the kernel splits one message into
// (UDP_MAX_SEGMENTS in older kernels; newer ones allow more).
const gsoMaxSegments = 64

// sendGSO is send with UDP generic segmentation offload: each message of a
// sendmmsg batch holds up to gsoMaxSegments consecutive packets back to
// back, and the kernel splits it into one datagram per packet. Every packet
// must have the same length (the segment size).
func sendGSO(ctx context.Context, conn *net.UDPConn, pkts [][]byte, id int, c config) (result, error) {
	size := len(pkts[0])
	for i, p := range pkts {
		if len(p) != size {
			return result{}, fmt.Errorf("gso: packet %d has %d bytes, packet 0 %d: GSO needs one length", i, len(p), size)
		}
	}
	segs := min(gsoMaxSegments, 65507/size)
	if segs < 1 {
		return result{}, fmt.Errorf("gso: packets of %d bytes are too large", size)
	}
	if err := setGSO(conn, size); err != nil {
		return result{}, fmt.Errorf("enable UDP GSO with segments of %d bytes: %w", size, err)
	}
	// Every packet back to back, then the first segs again: a run of up to
	// segs packets from any index is one contiguous slice.
	all := make([]byte, 0, (len(pkts)+segs)*size)
	for _, p := range pkts {
		all = append(all, p...)
	}
	for i := range segs {
		all = append(all, pkts[i%len(pkts)]...)
	}
	pc := ipv4.NewPacketConn(conn)
	msgs := make([]ipv4.Message, c.batch)
	counts := make([]int, c.batch) // packets in each message
	rate := c.rate / float64(c.senders)
	var r result
	var attempted int64
	next := id * len(pkts) / c.senders
	start := time.Now()
	for ctx.Err() == nil {
		due := int64(rate*time.Since(start).Seconds()) - attempted
		if due < int64(c.lines) {
			time.Sleep(100 * time.Microsecond)
			continue
		}
		left := min(int(due)/c.lines, c.batch*segs)
		m := 0
		for left > 0 {
			k := min(left, segs)
			msgs[m].Buffers = [][]byte{all[next*size : (next+k)*size]}
			counts[m] = k
			next = (next + k) % len(pkts)
			left -= k
			m++
		}
		sent, err := pc.WriteBatch(msgs[:m], 0)
		if err != nil {
			if unsupported(err) {
				return r, fmt.Errorf("gso send: %w", err)
			}
			r.Errors++ // the server is not there (yet): keep the pace
			attempted += int64(sum(counts[:m]) * c.lines)
			continue
		}
		n := int64(sum(counts[:sent]))
		attempted += n * int64(c.lines)
		r.SentPackets += n
		r.SentLines += n * int64(c.lines)
	}
	return r, nil
}

// unsupported reports the errors with which a kernel refuses GSO sends, as
// opposed to a server not listening.
func unsupported(err error) bool {
	return errors.Is(err, syscall.EINVAL) || errors.Is(err, syscall.EIO) ||
		errors.Is(err, syscall.EOPNOTSUPP) || errors.Is(err, syscall.EMSGSIZE)
}

func sum(xs []int) int {
	t := 0
	for _, x := range xs {
		t += x
	}
	return t
}
