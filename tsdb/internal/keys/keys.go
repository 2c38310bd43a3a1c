// Package keys defines the Pebble key layout of Ward's time-series store.
//
// Every key starts with a one-byte kind so that each kind of data occupies a
// contiguous key range: retention and WAL truncation become single range
// deletions, and a scan of one kind never touches another. Integers are
// big-endian so that byte order equals numeric order; signed times are
// stored with their sign bit flipped for the same reason. The layout is
// documented in tsdb/README.md and versioned by the format-version key.
package keys

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Kind is the first byte of every key.
type Kind byte

// Key kinds. The values are part of the on-disk format.
const (
	KindMeta     Kind = 0x00 // engine metadata: format version, watermarks
	KindSeries   Kind = 0x01 // series dictionary: id -> labels
	KindPostings Kind = 0x02 // inverted index: (name, value, id) -> empty
	KindChunk    Kind = 0x03 // raw chunks: (bucket start, id) -> chunk
	KindWAL      Kind = 0x04 // head write-ahead records: seq -> record
	KindRollup   Kind = 0x05 // rollup chunks: (resolution, period start, id) -> chunk
	KindMetadata Kind = 0x06 // metric metadata: name -> type, help
	KindKV       Kind = 0x07 // other components' state: (namespace, key) -> value
)

// ErrCorrupt marks a key that does not decode.
var ErrCorrupt = errors.New("keys: corrupt key")

// SeriesID identifies a series inside one database. IDs are dense and
// assigned in creation order, which keeps postings lists sorted for free.
type SeriesID uint32

// Meta keys (all under KindMeta).
var (
	MetaFormatVersion = []byte{byte(KindMeta), 'v'}
	MetaBucketMillis  = []byte{byte(KindMeta), 'b'}
	MetaSealed        = []byte{byte(KindMeta), 's'}
	MetaMaxT          = []byte{byte(KindMeta), 't'}
)

// MetaRollupWatermark is the key of the watermark of rollup resolution res.
func MetaRollupWatermark(res uint8) []byte { return []byte{byte(KindMeta), 'r', res} }

// MetaRollupDirty marks the rollup period starting at start of resolution res
// as needing recomputation (after a backfill into already rolled-up time).
func MetaRollupDirty(res uint8, start int64) []byte {
	k := make([]byte, 0, 11)
	k = append(k, byte(KindMeta), 'd', res)
	return AppendTime(k, start)
}

// MetaRollupDirtyPrefix is the prefix of all dirty markers.
var MetaRollupDirtyPrefix = []byte{byte(KindMeta), 'd'}

// ParseRollupDirty decodes a key made by MetaRollupDirty.
func ParseRollupDirty(k []byte) (res uint8, start int64, err error) {
	if len(k) != 11 || k[0] != byte(KindMeta) || k[1] != 'd' {
		return 0, 0, fmt.Errorf("%w: rollup dirty key %x", ErrCorrupt, k)
	}
	return k[2], ParseTime(k[3:]), nil
}

// AppendTime appends an order-preserving encoding of a signed millisecond time.
func AppendTime(b []byte, t int64) []byte {
	return binary.BigEndian.AppendUint64(b, uint64(t)^(1<<63))
}

// ParseTime decodes 8 bytes written by AppendTime.
func ParseTime(b []byte) int64 { return int64(binary.BigEndian.Uint64(b) ^ (1 << 63)) }

// Series returns the series-dictionary key of id.
func Series(id SeriesID) []byte {
	return binary.BigEndian.AppendUint32([]byte{byte(KindSeries)}, uint32(id))
}

// ParseSeries decodes a series-dictionary key.
func ParseSeries(k []byte) (SeriesID, error) {
	if len(k) != 5 || k[0] != byte(KindSeries) {
		return 0, fmt.Errorf("%w: series key %x", ErrCorrupt, k)
	}
	return SeriesID(binary.BigEndian.Uint32(k[1:])), nil
}

// Postings returns the postings key of (name, value, id). Name and value are
// length-prefixed so that any bytes, including 0x00, are allowed.
func Postings(name, value string, id SeriesID) []byte {
	k := make([]byte, 0, 1+2*binary.MaxVarintLen32+len(name)+len(value)+4)
	k = append(k, byte(KindPostings))
	k = binary.AppendUvarint(k, uint64(len(name)))
	k = append(k, name...)
	k = binary.AppendUvarint(k, uint64(len(value)))
	k = append(k, value...)
	return binary.BigEndian.AppendUint32(k, uint32(id))
}

// ParsePostings decodes a postings key. The returned strings alias k.
func ParsePostings(k []byte) (name, value []byte, id SeriesID, err error) {
	if len(k) < 1+1+1+4 || k[0] != byte(KindPostings) {
		return nil, nil, 0, fmt.Errorf("%w: postings key %x", ErrCorrupt, k)
	}
	rest := k[1:]
	name, rest, ok := lenPrefixed(rest)
	if !ok {
		return nil, nil, 0, fmt.Errorf("%w: postings key %x: name", ErrCorrupt, k)
	}
	value, rest, ok = lenPrefixed(rest)
	if !ok || len(rest) != 4 {
		return nil, nil, 0, fmt.Errorf("%w: postings key %x: value", ErrCorrupt, k)
	}
	return name, value, SeriesID(binary.BigEndian.Uint32(rest)), nil
}

func lenPrefixed(b []byte) (field, rest []byte, ok bool) {
	n, w := binary.Uvarint(b)
	if w <= 0 || n > uint64(len(b)-w) {
		return nil, nil, false
	}
	return b[w : w+int(n)], b[w+int(n):], true
}

// Chunk returns the key of the raw chunk of series id in the bucket starting at start.
func Chunk(start int64, id SeriesID) []byte {
	return AppendChunk(make([]byte, 0, 13), start, id)
}

// AppendChunk appends the key of Chunk(start, id) to b.
func AppendChunk(b []byte, start int64, id SeriesID) []byte {
	b = append(b, byte(KindChunk))
	b = AppendTime(b, start)
	return binary.BigEndian.AppendUint32(b, uint32(id))
}

// ChunkBucket returns the first key of the raw bucket starting at start;
// ChunkBucket(end) is therefore an exclusive upper bound for buckets before end.
func ChunkBucket(start int64) []byte { return AppendTime([]byte{byte(KindChunk)}, start) }

// ParseChunk decodes a raw-chunk key.
func ParseChunk(k []byte) (start int64, id SeriesID, err error) {
	if len(k) != 13 || k[0] != byte(KindChunk) {
		return 0, 0, fmt.Errorf("%w: chunk key %x", ErrCorrupt, k)
	}
	return ParseTime(k[1:9]), SeriesID(binary.BigEndian.Uint32(k[9:])), nil
}

// WAL returns the key of write-ahead record seq.
func WAL(seq uint64) []byte {
	return binary.BigEndian.AppendUint64([]byte{byte(KindWAL)}, seq)
}

// ParseWAL decodes a write-ahead record key.
func ParseWAL(k []byte) (uint64, error) {
	if len(k) != 9 || k[0] != byte(KindWAL) {
		return 0, fmt.Errorf("%w: wal key %x", ErrCorrupt, k)
	}
	return binary.BigEndian.Uint64(k[1:]), nil
}

// Rollup returns the key of the rollup chunk of series id at resolution res
// for the period starting at start.
func Rollup(res uint8, start int64, id SeriesID) []byte {
	return AppendRollup(make([]byte, 0, 14), res, start, id)
}

// AppendRollup appends the key of Rollup(res, start, id) to b.
func AppendRollup(b []byte, res uint8, start int64, id SeriesID) []byte {
	b = append(b, byte(KindRollup), res)
	b = AppendTime(b, start)
	return binary.BigEndian.AppendUint32(b, uint32(id))
}

// RollupPeriod returns the first key of the rollup period starting at start.
func RollupPeriod(res uint8, start int64) []byte {
	return AppendTime([]byte{byte(KindRollup), res}, start)
}

// ParseRollup decodes a rollup-chunk key.
func ParseRollup(k []byte) (res uint8, start int64, id SeriesID, err error) {
	if len(k) != 14 || k[0] != byte(KindRollup) {
		return 0, 0, 0, fmt.Errorf("%w: rollup key %x", ErrCorrupt, k)
	}
	return k[1], ParseTime(k[2:10]), SeriesID(binary.BigEndian.Uint32(k[10:])), nil
}

// Metadata returns the key of the metadata of metric name.
func Metadata(name string) []byte { return append([]byte{byte(KindMetadata)}, name...) }

// KVPrefix returns the prefix of every key of namespace ns. The namespace is
// length-prefixed so that no namespace is a prefix of another.
func KVPrefix(ns string) []byte {
	k := make([]byte, 0, 1+binary.MaxVarintLen32+len(ns))
	k = append(k, byte(KindKV))
	k = binary.AppendUvarint(k, uint64(len(ns)))
	return append(k, ns...)
}

// PrefixEnd returns the smallest key greater than every key with prefix p,
// or nil if there is none (p is all 0xff).
func PrefixEnd(p []byte) []byte {
	end := append([]byte(nil), p...)
	for i := len(end) - 1; i >= 0; i-- {
		end[i]++
		if end[i] != 0 {
			return end[:i+1]
		}
	}
	return nil
}
