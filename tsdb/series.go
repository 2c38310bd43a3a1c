package tsdb

import (
	"encoding/binary"
	"fmt"
	"sync"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/wardmetrics/ward/tsdb/internal/keys"
)

// SeriesRef is a series' stable identity inside one DB, for callers that
// append the same series over and over (see DB.Ref and DB.AppendRefs).
type SeriesRef uint32

// memSeries is the in-memory entry of the series dictionary.
type memSeries struct {
	ref  SeriesRef
	lset labels.Labels
}

// seriesTable maps label sets to refs and back. IDs are dense, so the
// reverse map is a slice.
type seriesTable struct {
	mu     sync.RWMutex
	byRef  []*memSeries
	byHash map[uint64][]*memSeries
}

func newSeriesTable() *seriesTable {
	return &seriesTable{byHash: map[uint64][]*memSeries{}}
}

func (st *seriesTable) len() int {
	st.mu.RLock()
	defer st.mu.RUnlock()
	return len(st.byRef)
}

func (st *seriesTable) get(ref SeriesRef) *memSeries {
	st.mu.RLock()
	defer st.mu.RUnlock()
	if int(ref) < len(st.byRef) {
		return st.byRef[ref]
	}
	return nil
}

// lookup returns the series with labels ls, or nil.
func (st *seriesTable) lookup(hash uint64, ls labels.Labels) *memSeries {
	st.mu.RLock()
	defer st.mu.RUnlock()
	for _, s := range st.byHash[hash] {
		if labels.Equal(s.lset, ls) {
			return s
		}
	}
	return nil
}

// add registers a series whose ref must be len(byRef).
func (st *seriesTable) add(s *memSeries) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if int(s.ref) != len(st.byRef) {
		panic(fmt.Sprintf("tsdb: series ref %d added out of order (have %d)", s.ref, len(st.byRef)))
	}
	st.byRef = append(st.byRef, s)
	h := s.lset.Hash()
	st.byHash[h] = append(st.byHash[h], s)
}

// EncodeLabels appends a label set as uvarint-length-prefixed name/value
// pairs: the encoding of the series dictionary, also used by callers that
// keep label sets in a KV namespace.
func EncodeLabels(dst []byte, ls labels.Labels) []byte {
	ls.Range(func(l labels.Label) {
		dst = binary.AppendUvarint(dst, uint64(len(l.Name)))
		dst = append(dst, l.Name...)
		dst = binary.AppendUvarint(dst, uint64(len(l.Value)))
		dst = append(dst, l.Value...)
	})
	return dst
}

// DecodeLabels is the inverse of EncodeLabels; b is reused across calls.
func DecodeLabels(b *labels.ScratchBuilder, src []byte) (labels.Labels, error) {
	b.Reset()
	for len(src) > 0 {
		var name, value []byte
		var ok bool
		if name, src, ok = lenPrefixed(src); !ok {
			return labels.EmptyLabels(), fmt.Errorf("%w: series labels", keys.ErrCorrupt)
		}
		if value, src, ok = lenPrefixed(src); !ok {
			return labels.EmptyLabels(), fmt.Errorf("%w: series labels", keys.ErrCorrupt)
		}
		b.Add(string(name), string(value))
	}
	b.Sort()
	return b.Labels(), nil
}

func lenPrefixed(b []byte) (field, rest []byte, ok bool) {
	n, w := binary.Uvarint(b)
	if w <= 0 || n > uint64(len(b)-w) {
		return nil, nil, false
	}
	return b[w : w+int(n)], b[w+int(n):], true
}
