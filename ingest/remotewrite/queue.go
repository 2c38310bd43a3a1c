package remotewrite

import (
	"encoding/binary"
	"fmt"
	"sync"
	"time"
)

// Store is the durable key-value store the queue lives in; the daemon passes one
// namespace of the storage engine's KV per remote URL. Writes must be durable when
// they return.
type Store interface {
	Get(key []byte) ([]byte, bool, error)
	Put(key, val []byte) error
	Delete(key []byte) error
	Scan(prefix []byte, fn func(k, v []byte) error) error
}

// Key layout of the queue inside its namespace (format version 1):
//
//	"q" + seq (8 bytes, big-endian) -> enqueue time (8 bytes, Unix ms, big-endian) + request body
//
// Sequence numbers grow by one per request, so key order is queue order and a restart
// finds the next number from the last key.
const (
	segPrefix = "q"
	headerLen = 8
)

func segKey(seq uint64) []byte {
	k := make([]byte, len(segPrefix)+8)
	copy(k, segPrefix)
	binary.BigEndian.PutUint64(k[len(segPrefix):], seq)
	return k
}

// segMeta is what the queue keeps in memory about each stored request.
type segMeta struct {
	seq      uint64
	size     int64 // stored bytes (header + body)
	enqueued int64 // Unix ms
}

// queue is a bounded FIFO of encoded requests over a Store. It is safe for concurrent
// use: pushes are serialised so that the index stays in sequence order.
type queue struct {
	store    Store
	maxBytes int64
	pushMu   sync.Mutex

	mu    sync.Mutex
	segs  []segMeta // oldest first
	bytes int64
	next  uint64
}

// openQueue reads the index of what a previous run left queued.
func openQueue(store Store, maxBytes int64) (*queue, error) {
	q := &queue{store: store, maxBytes: maxBytes, next: 1}
	err := store.Scan([]byte(segPrefix), func(k, v []byte) error {
		if len(k) != len(segPrefix)+8 || len(v) < headerLen {
			return fmt.Errorf("remotewrite: corrupt queue entry %x (%d bytes)", k, len(v))
		}
		seq := binary.BigEndian.Uint64(k[len(segPrefix):])
		m := segMeta{seq: seq, size: int64(len(v)), enqueued: int64(binary.BigEndian.Uint64(v))}
		q.segs = append(q.segs, m)
		q.bytes += m.size
		q.next = seq + 1
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("remotewrite: read queue: %w", err)
	}
	return q, nil
}

// push stores body durably and returns how many older requests it evicted to stay
// within the bound (with their byte count). A body larger than the whole bound is
// refused (evicted at once) rather than emptying the queue for nothing.
func (q *queue) push(body []byte, now time.Time) (dropped int, droppedBytes int64, err error) {
	size := int64(headerLen + len(body))
	if size > q.maxBytes {
		return 1, size, nil
	}
	q.pushMu.Lock()
	defer q.pushMu.Unlock()
	q.mu.Lock()
	seq := q.next
	q.next++
	q.mu.Unlock()

	v := make([]byte, size)
	binary.BigEndian.PutUint64(v, uint64(now.UnixMilli()))
	copy(v[headerLen:], body)
	if err := q.store.Put(segKey(seq), v); err != nil {
		return 0, 0, fmt.Errorf("remotewrite: queue request %d of %d bytes: %w", seq, len(body), err)
	}

	q.mu.Lock()
	q.segs = append(q.segs, segMeta{seq: seq, size: size, enqueued: now.UnixMilli()})
	q.bytes += size
	var evict []segMeta
	for q.bytes > q.maxBytes && len(q.segs) > 1 {
		evict = append(evict, q.segs[0])
		q.bytes -= q.segs[0].size
		q.segs = q.segs[1:]
	}
	q.mu.Unlock()
	for _, m := range evict {
		if err := q.store.Delete(segKey(m.seq)); err != nil {
			return dropped, droppedBytes, fmt.Errorf("remotewrite: evict request %d: %w", m.seq, err)
		}
		dropped++
		droppedBytes += m.size
	}
	return dropped, droppedBytes, nil
}

// oldest returns the oldest request's sequence number and body, or ok=false when the
// queue is empty. A request evicted between the index read and the Get is skipped.
func (q *queue) oldest() (seq uint64, body []byte, ok bool, err error) {
	for {
		q.mu.Lock()
		if len(q.segs) == 0 {
			q.mu.Unlock()
			return 0, nil, false, nil
		}
		seq = q.segs[0].seq
		q.mu.Unlock()
		v, found, err := q.store.Get(segKey(seq))
		if err != nil {
			return 0, nil, false, fmt.Errorf("remotewrite: read queued request %d: %w", seq, err)
		}
		if found {
			return seq, v[headerLen:], true, nil
		}
		q.mu.Lock()
		if len(q.segs) > 0 && q.segs[0].seq == seq {
			// Missing from the store but indexed: forget it rather than loop forever.
			q.bytes -= q.segs[0].size
			q.segs = q.segs[1:]
		}
		q.mu.Unlock()
	}
}

// ack deletes a request the remote has accepted (or refused for good).
func (q *queue) ack(seq uint64) error {
	q.mu.Lock()
	for i, m := range q.segs {
		if m.seq == seq {
			q.bytes -= m.size
			if i == 0 {
				q.segs = q.segs[1:]
			} else {
				q.segs = append(q.segs[:i:i], q.segs[i+1:]...)
			}
			break
		}
	}
	q.mu.Unlock()
	if err := q.store.Delete(segKey(seq)); err != nil {
		return fmt.Errorf("remotewrite: delete sent request %d: %w", seq, err)
	}
	return nil
}

// stats reports the queue's length, bytes and the enqueue time of its oldest request.
func (q *queue) stats() (n int, bytes int64, oldest int64) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.segs) > 0 {
		oldest = q.segs[0].enqueued
	}
	return len(q.segs), q.bytes, oldest
}
