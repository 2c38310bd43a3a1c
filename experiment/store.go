package experiment

import (
	"encoding/binary"
	"fmt"
	"math"
)

// Store is the key-value storage the Manager keeps its state in. Ward's *tsdb.KV
// satisfies it; keys and values are copied by the store, and Scan visits keys in
// ascending order.
type Store interface {
	Get(key []byte) ([]byte, bool, error)
	Put(key, val []byte) error
	Delete(key []byte) error
	Scan(prefix []byte, fn func(k, v []byte) error) error
}

// Key layout (documented in README.md, "Storage"). Parts are separated by NUL, which
// names, metric names and user ids may not contain.
const (
	formatVersion = "1"

	pfxFormat     = "f"
	pfxDefinition = "d\x00"
	pfxHistory    = "h\x00"
	pfxExposure   = "x\x00"
	pfxTotals     = "t\x00"

	exposureValueLen = 9  // unix ms (8, big-endian) + branch index (1)
	totalsValueLen   = 16 // float64 bits of the sum (8) + event count (8), big-endian
)

func definitionKey(name string) []byte { return append([]byte(pfxDefinition), name...) }

func historyPrefix(name string) []byte {
	return append(append([]byte(pfxHistory), name...), 0)
}

func historyKey(name string, seq uint64) []byte {
	return binary.BigEndian.AppendUint64(historyPrefix(name), seq)
}

func exposurePrefix(name string) []byte {
	return append(append([]byte(pfxExposure), name...), 0)
}

func exposureKey(name, uid string) []byte { return append(exposurePrefix(name), uid...) }

func encodeExposure(ms int64, branch uint8) []byte {
	b := binary.BigEndian.AppendUint64(make([]byte, 0, exposureValueLen), uint64(ms))
	return append(b, branch)
}

func decodeExposure(v []byte) (ms int64, branch uint8, err error) {
	if len(v) != exposureValueLen {
		return 0, 0, fmt.Errorf("exposure value of %d bytes, want %d", len(v), exposureValueLen)
	}
	return int64(binary.BigEndian.Uint64(v)), v[8], nil
}

func totalsPrefix(name string) []byte {
	return append(append([]byte(pfxTotals), name...), 0)
}

func totalsKey(name, metric, uid string) []byte {
	k := append(totalsPrefix(name), metric...)
	k = append(k, 0)
	return append(k, uid...)
}

func encodeTotals(sum float64, count uint64) []byte {
	b := binary.BigEndian.AppendUint64(make([]byte, 0, totalsValueLen), math.Float64bits(sum))
	return binary.BigEndian.AppendUint64(b, count)
}

func decodeTotals(v []byte) (sum float64, count uint64, err error) {
	if len(v) != totalsValueLen {
		return 0, 0, fmt.Errorf("totals value of %d bytes, want %d", len(v), totalsValueLen)
	}
	return math.Float64frombits(binary.BigEndian.Uint64(v)), binary.BigEndian.Uint64(v[8:]), nil
}

// splitTotalsKey returns the metric and uid of a key under totalsPrefix(name).
func splitTotalsKey(rest []byte) (metric, uid string, ok bool) {
	for i, c := range rest {
		if c == 0 {
			return string(rest[:i]), string(rest[i+1:]), i > 0 && i+1 < len(rest)
		}
	}
	return "", "", false
}

// kv is one pending write; del marks a deletion.
type kv struct {
	key, val []byte
}

// Batcher is implemented by stores that write many keys in one atomic commit. The
// Manager uses it when the Store has it, so that a definition and its history entry, or
// a batch of event totals, land together and with one sync rather than one per key.
// *tsdb.KV offers the same as PutBatch([]tsdb.KVPair); the daemon adapts it in a few
// lines (README.md, "Storage"). Without it the Manager writes key by key, the history
// entry before the definition, so that no change is ever stored without its record.
type Batcher interface {
	PutMany(keys, vals [][]byte) error
}
