package keys

import (
	"bytes"
	"math"
	"testing"
)

func TestOrderPreservingTime(t *testing.T) {
	ts := []int64{math.MinInt64, -1 << 40, -1, 0, 1, 1 << 40, math.MaxInt64}
	for i := 1; i < len(ts); i++ {
		a, b := Chunk(ts[i-1], 7), Chunk(ts[i], 0)
		if bytes.Compare(a, b) >= 0 {
			t.Errorf("Chunk(%d) >= Chunk(%d)", ts[i-1], ts[i])
		}
	}
	if bytes.Compare(Chunk(5, 1), Chunk(5, 2)) >= 0 || bytes.Compare(Chunk(5, math.MaxUint32), ChunkBucket(6)) >= 0 {
		t.Error("series order within a bucket is not numeric")
	}
}

func TestPrefixEnd(t *testing.T) {
	for _, c := range []struct{ in, want []byte }{
		{[]byte{1, 2}, []byte{1, 3}}, {[]byte{1, 0xff}, []byte{2}}, {[]byte{0xff}, nil},
	} {
		if got := PrefixEnd(c.in); !bytes.Equal(got, c.want) {
			t.Errorf("PrefixEnd(%x) = %x, want %x", c.in, got, c.want)
		}
	}
	// No namespace's keys fall inside another's range.
	a, b := KVPrefix("ab"), KVPrefix("a")
	if bytes.HasPrefix(a, b) {
		t.Error("namespace a is a prefix of namespace ab")
	}
}

// FuzzKeys parses arbitrary bytes as every kind of key; whatever parses
// must re-encode to the same bytes.
func FuzzKeys(f *testing.F) {
	f.Add(Chunk(1735689600000, 42))
	f.Add(Rollup(1, -5, 7))
	f.Add(Postings("__name__", "up", 3))
	f.Add(Series(9))
	f.Add(WAL(12))
	f.Add(MetaRollupDirty(2, 100))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, k []byte) {
		if s, id, err := ParseChunk(k); err == nil && !bytes.Equal(Chunk(s, id), k) {
			t.Fatalf("chunk key %x re-encodes to %x", k, Chunk(s, id))
		}
		if r, s, id, err := ParseRollup(k); err == nil && !bytes.Equal(Rollup(r, s, id), k) {
			t.Fatalf("rollup key %x re-encodes to %x", k, Rollup(r, s, id))
		}
		if n, v, id, err := ParsePostings(k); err == nil && !bytes.Equal(Postings(string(n), string(v), id), k) {
			// Non-minimal varints parse but re-encode shorter: allowed only then.
			if len(Postings(string(n), string(v), id)) >= len(k) {
				t.Fatalf("postings key %x re-encodes to %x", k, Postings(string(n), string(v), id))
			}
		}
		if id, err := ParseSeries(k); err == nil && !bytes.Equal(Series(id), k) {
			t.Fatalf("series key %x re-encodes to %x", k, Series(id))
		}
		if seq, err := ParseWAL(k); err == nil && !bytes.Equal(WAL(seq), k) {
			t.Fatalf("wal key %x re-encodes to %x", k, WAL(seq))
		}
		if r, s, err := ParseRollupDirty(k); err == nil && !bytes.Equal(MetaRollupDirty(r, s), k) {
			t.Fatalf("dirty key %x re-encodes to %x", k, MetaRollupDirty(r, s))
		}
	})
}
