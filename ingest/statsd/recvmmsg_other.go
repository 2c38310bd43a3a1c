//go:build !linux

package statsd

// batchReader reads one datagram per call where recvmmsg(2) is missing.
type batchReader struct {
	c datagramConn
}

func newBatchReader(c datagramConn, _ int, _ bool) (*batchReader, error) {
	return &batchReader{c: c}, nil
}

func (r *batchReader) read(b *packetBatch) (int, error) {
	n, _, err := r.c.ReadFrom(b.bufs[0])
	if err != nil {
		return 0, err
	}
	b.lens[0] = n
	// Without MSG_TRUNC a full buffer is taken as cut.
	b.trunc[0] = n == len(b.bufs[0])
	return 1, nil
}
