package tsdb

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
)

// TestReadAheadAccessPatterns reads long series (enough chunks to be
// decoded ahead) in every way a caller may: in order with one iterator
// reused, with a new iterator each time, backwards, each series twice at
// once, seeking, and stopping early; every read must give the model's
// samples, and every read-ahead goroutine must end.
func TestReadAheadAccessPatterns(t *testing.T) {
	opts := testOptions()
	opts.BucketDuration = 10 * time.Minute
	db := openTest(t, t.TempDir(), opts)
	defer db.Close()
	r := rand.New(rand.NewPCG(11, 12))
	const nSeries = 40
	const end = t0 + 3*3600_000
	name := func(s int) string { return lbls("__name__", "ra", "s", fmt.Sprintf("%02d", s)).String() }
	model := map[string][]sample{}
	for ts := int64(t0); ts < end; ts += 30_000 {
		var batch []Sample
		for s := range nSeries {
			if s%7 == 3 && ts > t0+3600_000 {
				continue // some series end early: fewer chunks
			}
			v := float64(r.IntN(100000)) / 100
			batch = append(batch, Sample{lbls("__name__", "ra", "s", fmt.Sprintf("%02d", s)), ts, v})
			model[name(s)] = append(model[name(s)], sample{ts, v})
		}
		if err := db.Append(batch); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, func() bool { return db.Stats().Sealed >= end-30*60_000 })
	var sets []*readAhead // every set read, to check their goroutines end

	selectAll := func(t *testing.T, mint, maxt int64) []storage.Series {
		t.Helper()
		q, err := db.Querier(mint, maxt)
		if err != nil {
			t.Fatal(err)
		}
		out := selectSeries(t, q, nSeries, eqMatcher("__name__", "ra"))
		if ds := out[0].(*series); len(ds.chunks) < parallelDecodeMinChunks {
			t.Fatalf("series has %d chunks: too few to be read ahead", len(ds.chunks))
		}
		sets = append(sets, out[0].(*series).ra)
		return out
	}
	want := func(s storage.Series, mint, maxt int64) []sample {
		var w []sample
		for _, x := range model[s.Labels().String()] {
			if x.t >= mint && x.t <= maxt {
				w = append(w, x)
			}
		}
		return w
	}
	drain := func(t *testing.T, it chunkenc.Iterator, s storage.Series) []sample {
		t.Helper()
		var got []sample
		for it.Next() == chunkenc.ValFloat {
			ts, v := it.At()
			got = append(got, sample{ts, v})
		}
		if err := it.Err(); err != nil {
			t.Fatalf("%s: %v", s.Labels(), err)
		}
		return got
	}
	check := func(t *testing.T, s storage.Series, got []sample, mint, maxt int64) {
		t.Helper()
		if w := want(s, mint, maxt); !slices.Equal(got, w) {
			t.Fatalf("%s: got %d samples, want %d", s.Labels(), len(got), len(w))
		}
	}
	mid := int64(t0 + 50*60_000)

	t.Run("reused iterator", func(t *testing.T) {
		for _, w := range [][2]int64{{math.MinInt64, math.MaxInt64}, {mid, end - 25*60_000}} {
			before := db.m.readAhead.Get()
			var it chunkenc.Iterator
			list := selectAll(t, w[0], w[1])
			var ahead uint64
			for i, s := range list {
				it = s.Iterator(it)
				// Let the next series be taken on before reading this
				// one, so that the reader cannot overtake the decoding
				// goroutine and every long series after the first is
				// read ahead.
				if i+1 < len(list) && len(list[i+1].(*series).chunks) >= parallelDecodeMinChunks {
					ahead++
					waitFor(t, func() bool { return list[i+1].(*series).pre.Load() != nil })
				}
				check(t, s, drain(t, it, s), w[0], w[1])
			}
			if n := db.m.readAhead.Get() - before; n != ahead || n == 0 {
				t.Fatalf("%d series read ahead, want %d", n, ahead)
			}
		}
	})
	t.Run("new iterator each series", func(t *testing.T) {
		for _, s := range selectAll(t, math.MinInt64, math.MaxInt64) {
			check(t, s, drain(t, s.Iterator(nil), s), math.MinInt64, math.MaxInt64)
		}
	})
	t.Run("backwards", func(t *testing.T) {
		list := selectAll(t, math.MinInt64, math.MaxInt64)
		var it chunkenc.Iterator
		for i := len(list) - 1; i >= 0; i-- {
			it = list[i].Iterator(it)
			check(t, list[i], drain(t, it, list[i]), math.MinInt64, math.MaxInt64)
		}
	})
	t.Run("two iterators of each series at once", func(t *testing.T) {
		var a, b chunkenc.Iterator
		for _, s := range selectAll(t, math.MinInt64, math.MaxInt64) {
			a = s.Iterator(a)
			b = s.Iterator(b)
			var ga, gb []sample
			for {
				na, nb := a.Next(), b.Next()
				if na != nb {
					t.Fatalf("%s: iterators disagree: %v and %v", s.Labels(), na, nb)
				}
				if na != chunkenc.ValFloat {
					break
				}
				ta, va := a.At()
				tb, vb := b.At()
				ga, gb = append(ga, sample{ta, va}), append(gb, sample{tb, vb})
			}
			check(t, s, ga, math.MinInt64, math.MaxInt64)
			check(t, s, gb, math.MinInt64, math.MaxInt64)
		}
	})
	t.Run("seek", func(t *testing.T) {
		var it chunkenc.Iterator
		for _, s := range selectAll(t, math.MinInt64, math.MaxInt64) {
			it = s.Iterator(it)
			var got []sample
			if it.Seek(mid) == chunkenc.ValFloat {
				ts, v := it.At()
				got = append(got, sample{ts, v})
				got = append(got, drain(t, it, s)...)
			}
			check(t, s, got, mid, math.MaxInt64)
		}
	})
	t.Run("stop early", func(t *testing.T) {
		list := selectAll(t, math.MinInt64, math.MaxInt64)
		var it chunkenc.Iterator
		for _, s := range list[:3] {
			it = s.Iterator(it)
			it.Next()
		}
	})
	// Read-ahead goroutines decode a few series and exit, also after a
	// reader stopped early.
	for _, ra := range sets {
		waitFor(t, func() bool { return ra.running.Load() == 0 })
	}
}
