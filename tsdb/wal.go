package tsdb

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/bits"

	"github.com/wardmetrics/ward/tsdb/internal/chunk"
	"github.com/wardmetrics/ward/tsdb/internal/keys"
)

// A WAL record holds the accepted samples of one Append, written in the same
// Pebble batch as any new series, so a batch is durable exactly when its
// record is. Records are replayed into the head on open and deleted (one
// range deletion) once every bucket they touch is sealed.
//
//	version   byte (2)
//	baseT     varint
//	count     uvarint
//	count x { ref delta: varint from the previous ref
//	          t:        varint minus baseT
//	          value:    short decimal m*10^-d (d <= 14): uvarint(zigzag(m)<<4 | d);
//	                    anything else: uvarint(15) then 8 bytes of float bits }
//
// Decimal values take 2-4 bytes instead of 8; the records are deleted soon,
// but until then they cross Pebble's memtable, and smaller ones are more
// often deleted before a flush writes them out.
const walVersion = 2

const walRawValue = 15 // decimal-exponent nibble that escapes raw bits

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
		dst = appendWALValue(dst, s.v)
	}
	return dst
}

func appendWALValue(dst []byte, v float64) []byte {
	if m, e, ok := chunk.ToDecimal(v); ok && e > -walRawValue && m > -1<<57 && m < 1<<57 {
		return binary.AppendUvarint(dst, zigzag(m)<<4|uint64(-e))
	}
	dst = binary.AppendUvarint(dst, walRawValue)
	return binary.LittleEndian.AppendUint64(dst, math.Float64bits(v))
}

func readWALValue(src []byte) (float64, int) {
	u, w := binary.Uvarint(src)
	if w <= 0 {
		return 0, w
	}
	d := u & 15
	if d != walRawValue {
		return chunk.FromDecimal(int64(u>>5)^-int64(u>>4&1), -int(d)), w
	}
	if len(src) < w+8 {
		return 0, 0
	}
	return math.Float64frombits(binary.LittleEndian.Uint64(src[w:])), w + 8
}

func zigzag(x int64) uint64 { return uint64(x<<1) ^ uint64(x>>63) }

func decodeWAL(src []byte, dst []refSample) ([]refSample, error) {
	if len(src) < 3 || (src[0] != walVersion && src[0] != 1) {
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
		var v float64
		var w3 int
		if src[0] == 1 { // byte-reversed float bits
			var vb uint64
			vb, w3 = binary.Uvarint(src[p:])
			v = math.Float64frombits(bits.ReverseBytes64(vb))
		} else {
			v, w3 = readWALValue(src[p:])
		}
		if w3 <= 0 {
			return dst, fmt.Errorf("%w: wal record sample %d", keys.ErrCorrupt, i)
		}
		p += w3
		ref := prev + d
		if ref < 0 || ref > math.MaxUint32 {
			return dst, fmt.Errorf("%w: wal record ref %d", keys.ErrCorrupt, ref)
		}
		prev = ref
		dst = append(dst, refSample{SeriesRef(ref), base + dt, v})
	}
	if p != len(src) {
		return dst, fmt.Errorf("%w: wal record has %d trailing bytes", keys.ErrCorrupt, len(src)-p)
	}
	return dst, nil
}
