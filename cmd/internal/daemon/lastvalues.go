package daemon

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/wardmetrics/ward/ingest"
	"github.com/wardmetrics/ward/tsdb"
)

// lastValues keeps the newest value of every flushed series in a KV namespace of the
// local DB, so that in --remote-write-only mode, where no samples are stored locally,
// counters still continue from their totals across restarts. It is local on purpose:
// the remote may lag by its queue or be unreachable when Ward starts, and a total
// read from it then would be older than what was sent, which a counter must never go
// back to.
//
// It is log-structured, because writing one key per series and flush costs Pebble a
// memtable insert each, several times what the flush's remote-write request costs:
// every flush appends one log record holding the series whose value changed (an idle
// counter the aggregator keeps emitting costs nothing), and once the log outgrows
// logToSnapshot times the last snapshot the whole state is written as a new snapshot
// in the same batch that deletes the old one and the log. Values older than the
// retention are left out of snapshots.
//
// Keys: 'l' + sequence number (8 bytes, big endian) for a log record; 's' + part
// number (4 bytes, big endian) for a part of the snapshot. Records and parts are
// entries of (uvarint key length, labels key, varint timestamp in ms, 8-byte float64
// bits); a labels key is (uvarint length, name, uvarint length, value) per label in
// label order.
type lastValues struct {
	kv   *tsdb.KV
	minT func() int64 // retention horizon of snapshots

	state map[string]*savedValue // by labels key

	seq       uint64   // of the last log record written
	logSeqs   []uint64 // log records since the snapshot
	logBytes  int
	snapParts int // parts of the snapshot on disk
	snapBytes int
	// dirty is set when a log record could not be written: the state holds values
	// the disk lacks, and only a snapshot puts them there.
	dirty bool

	// snapshotMin and partBytes are constants but for tests.
	snapshotMin int // the log may grow to max(logToSnapshot*snapBytes, snapshotMin) before a snapshot
	partBytes   int // size of a snapshot part

	rec []byte
	key []byte
}

type savedValue struct {
	t    int64
	bits uint64
}

// lastValuesNamespace is the KV namespace of lastValues.
const lastValuesNamespace = "last-values"

const (
	lvLogPrefix  = 'l'
	lvSnapPrefix = 's'
	// logToSnapshot trades the flushes' cost against the start's: with every value
	// changing at every flush, snapshots add a quarter to the log's writes, and a start
	// reads at most five times the state.
	logToSnapshot = 4
)

// newLastValues opens the store; retention (0: forever) bounds what snapshots keep.
// Call load before record.
func newLastValues(db *tsdb.DB, retention time.Duration) *lastValues {
	minT := func() int64 { return math.MinInt64 }
	if retention > 0 {
		minT = func() int64 { return time.Now().Add(-retention).UnixMilli() }
	}
	return &lastValues{
		kv:          db.KV(lastValuesNamespace),
		minT:        minT,
		state:       map[string]*savedValue{},
		snapshotMin: 1 << 20,
		partBytes:   1 << 20,
	}
}

// record saves the samples whose value changed since they were last saved, as one log
// record, and writes a snapshot when the log has grown past the last one.
func (l *lastValues) record(ss []ingest.Sample) error {
	rec := l.rec[:0]
	for _, smp := range ss {
		l.key = tsdb.EncodeLabels(l.key[:0], smp.Labels)
		bits := math.Float64bits(smp.V)
		if sv, ok := l.state[string(l.key)]; ok {
			if sv.bits == bits {
				continue
			}
			sv.t, sv.bits = smp.T, bits
		} else {
			l.state[string(l.key)] = &savedValue{t: smp.T, bits: bits}
		}
		rec = appendEntry(rec, l.key, smp.T, bits)
	}
	l.rec = rec
	if l.dirty {
		return l.snapshot()
	}
	if len(rec) == 0 {
		return nil
	}
	seq := l.seq + 1
	if err := l.kv.Put(lvKey(lvLogPrefix, seq), rec); err != nil {
		l.dirty = true
		return fmt.Errorf("log %d changed values: %w", len(ss), err)
	}
	l.seq = seq
	l.logSeqs = append(l.logSeqs, seq)
	l.logBytes += len(rec)
	if l.logBytes > max(logToSnapshot*l.snapBytes, l.snapshotMin) {
		return l.snapshot()
	}
	return nil
}

// snapshot writes the whole state, without values older than the retention, and
// deletes the previous snapshot and the log in the same batch.
func (l *lastValues) snapshot() error {
	minT := l.minT()
	var (
		pairs []tsdb.KVPair
		part  []byte
		total int
	)
	flush := func() {
		pairs = append(pairs, tsdb.KVPair{Key: lvKey(lvSnapPrefix, uint64(len(pairs))), Value: part})
		total += len(part)
		part = nil
	}
	for k, sv := range l.state {
		if sv.t < minT {
			delete(l.state, k)
			continue
		}
		part = appendEntry(part, k, sv.t, sv.bits)
		if len(part) >= l.partBytes {
			flush()
		}
	}
	if len(part) > 0 {
		flush()
	}
	parts := len(pairs)
	for i := parts; i < l.snapParts; i++ {
		pairs = append(pairs, tsdb.KVPair{Key: lvKey(lvSnapPrefix, uint64(i)), Delete: true})
	}
	for _, seq := range l.logSeqs {
		pairs = append(pairs, tsdb.KVPair{Key: lvKey(lvLogPrefix, seq), Delete: true})
	}
	if len(pairs) == 0 {
		l.dirty = false
		return nil
	}
	if err := l.kv.PutBatch(pairs); err != nil {
		l.dirty = true
		return fmt.Errorf("snapshot %d last values: %w", len(l.state), err)
	}
	l.snapParts, l.snapBytes = parts, total
	l.logSeqs, l.logBytes, l.dirty = l.logSeqs[:0], 0, false
	return nil
}

// load reads the snapshot and the log after it, forgets the values older than the
// retention, as the retention forgets their samples, and returns the rest.
func (l *lastValues) load() ([]tsdb.Sample, error) {
	var logs [][]byte // in sequence order: the scan is in key order
	err := l.kv.Scan(nil, func(k, v []byte) error {
		if len(k) < 1 {
			return fmt.Errorf("key %q: unknown", k)
		}
		switch k[0] {
		case lvLogPrefix:
			if len(k) != 9 {
				return fmt.Errorf("log key %q: malformed", k)
			}
			seq := binary.BigEndian.Uint64(k[1:])
			l.seq = max(l.seq, seq)
			l.logSeqs = append(l.logSeqs, seq)
			l.logBytes += len(v)
			logs = append(logs, append([]byte(nil), v...))
		case lvSnapPrefix:
			if len(k) != 5 {
				return fmt.Errorf("snapshot key %q: malformed", k)
			}
			l.snapParts = max(l.snapParts, int(binary.BigEndian.Uint32(k[1:]))+1)
			l.snapBytes += len(v)
			if err := l.apply(v); err != nil {
				return fmt.Errorf("snapshot part %x: %w", k[1:], err)
			}
		default:
			return fmt.Errorf("key %q: unknown", k)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", lastValuesNamespace, err)
	}
	for i, rec := range logs {
		if err := l.apply(rec); err != nil {
			return nil, fmt.Errorf("read %s: log record %d: %w", lastValuesNamespace, l.logSeqs[i], err)
		}
	}
	expired, minT := false, l.minT()
	for k, sv := range l.state {
		if sv.t < minT {
			delete(l.state, k)
			expired = true
		}
	}
	if expired || len(logs) > 0 {
		// Start from one compact snapshot.
		if err := l.snapshot(); err != nil {
			return nil, err
		}
	}
	out := make([]tsdb.Sample, 0, len(l.state))
	var sb labels.ScratchBuilder
	for k, sv := range l.state {
		ls, err := tsdb.DecodeLabels(&sb, []byte(k))
		if err != nil {
			return nil, fmt.Errorf("read %s: key %q: %w", lastValuesNamespace, k, err)
		}
		out = append(out, tsdb.Sample{Labels: ls, T: sv.t, V: math.Float64frombits(sv.bits)})
	}
	return out, nil
}

// apply sets the state from the entries of a log record or snapshot part.
func (l *lastValues) apply(b []byte) error {
	for len(b) > 0 {
		n, w := binary.Uvarint(b)
		if w <= 0 || uint64(len(b)-w) < n {
			return errors.New("truncated entry key")
		}
		key := string(b[w : w+int(n)])
		b = b[w+int(n):]
		t, w := binary.Varint(b)
		if w <= 0 || len(b)-w < 8 {
			return errors.New("truncated entry value")
		}
		bits := binary.BigEndian.Uint64(b[w:])
		b = b[w+8:]
		if sv, ok := l.state[key]; ok {
			sv.t, sv.bits = t, bits
		} else {
			l.state[key] = &savedValue{t: t, bits: bits}
		}
	}
	return nil
}

func appendEntry[K string | []byte](b []byte, key K, t int64, bits uint64) []byte {
	b = binary.AppendUvarint(b, uint64(len(key)))
	b = append(b, key...)
	b = binary.AppendVarint(b, t)
	return binary.BigEndian.AppendUint64(b, bits)
}

func lvKey(prefix byte, n uint64) []byte {
	if prefix == lvSnapPrefix {
		return binary.BigEndian.AppendUint32([]byte{prefix}, uint32(n))
	}
	return binary.BigEndian.AppendUint64([]byte{prefix}, n)
}
