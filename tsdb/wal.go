package tsdb

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/bits"

	"github.com/wardmetrics/ward/tsdb/internal/keys"
)

// A WAL record holds the accepted samples of one Append, written in the same
// Pebble batch as any new series, so a batch is durable exactly when its
// record is. Records are replayed into the head on open and deleted (one
// range deletion) once every bucket they touch is sealed.
//
//	version   byte (1)
//	baseT     varint
//	count     uvarint
//	count x { ref delta: varint from the previous ref
//	          t:        varint minus baseT
//	          value:    uvarint of the byte-reversed float bits (integers
//	                    and short binary fractions have zero low bytes) }
const walVersion = 1

type refSample struct {
	ref SeriesRef
	t   int64
	v   float64
}

func encodeWAL(dst []byte, ss []refSample) []byte {
	dst = append(dst, walVersion)
	var base int64
	if len(ss) > 0 {
		base = ss[0].t
	}
	dst = binary.AppendVarint(dst, base)
	dst = binary.AppendUvarint(dst, uint64(len(ss)))
	prev := int64(0)
	for _, s := range ss {
		dst = binary.AppendVarint(dst, int64(s.ref)-prev)
		prev = int64(s.ref)
		dst = binary.AppendVarint(dst, s.t-base)
		dst = binary.AppendUvarint(dst, bits.ReverseBytes64(math.Float64bits(s.v)))
	}
	return dst
}

func decodeWAL(src []byte, dst []refSample) ([]refSample, error) {
	if len(src) < 3 || src[0] != walVersion {
		return dst, fmt.Errorf("%w: wal record header", keys.ErrCorrupt)
	}
	p := 1
	base, w := binary.Varint(src[p:])
	if w <= 0 {
		return dst, fmt.Errorf("%w: wal record base time", keys.ErrCorrupt)
	}
	p += w
	n, w := binary.Uvarint(src[p:])
	if w <= 0 || n > uint64(len(src)) {
		return dst, fmt.Errorf("%w: wal record count", keys.ErrCorrupt)
	}
	p += w
	prev := int64(0)
	for i := uint64(0); i < n; i++ {
		d, w1 := binary.Varint(src[p:])
		if w1 <= 0 {
			return dst, fmt.Errorf("%w: wal record sample %d", keys.ErrCorrupt, i)
		}
		p += w1
		dt, w2 := binary.Varint(src[p:])
		if w2 <= 0 {
			return dst, fmt.Errorf("%w: wal record sample %d", keys.ErrCorrupt, i)
		}
		p += w2
		vb, w3 := binary.Uvarint(src[p:])
		if w3 <= 0 {
			return dst, fmt.Errorf("%w: wal record sample %d", keys.ErrCorrupt, i)
		}
		p += w3
		ref := prev + d
		if ref < 0 || ref > math.MaxUint32 {
			return dst, fmt.Errorf("%w: wal record ref %d", keys.ErrCorrupt, ref)
		}
		prev = ref
		dst = append(dst, refSample{SeriesRef(ref), base + dt, math.Float64frombits(bits.ReverseBytes64(vb))})
	}
	if p != len(src) {
		return dst, fmt.Errorf("%w: wal record has %d trailing bytes", keys.ErrCorrupt, len(src)-p)
	}
	return dst, nil
}
