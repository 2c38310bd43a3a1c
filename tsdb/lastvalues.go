package tsdb

import (
	"context"
	"errors"
	"fmt"
	"math"

	"github.com/cockroachdb/pebble/v2"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/wardmetrics/ward/tsdb/internal/chunk"
	"github.com/wardmetrics/ward/tsdb/internal/keys"
)

// LastValues returns the newest sample of every series matching ms, in
// label order. Series whose raw data has all expired are omitted. The head
// answers for active series; others are found by walking raw buckets
// backwards, one merge-join per bucket for all series still missing.
func (db *DB) LastValues(ms ...*labels.Matcher) ([]Sample, error) {
	if err := db.enter(); err != nil {
		return nil, err
	}
	defer db.leave()
	refs := db.index.Select(ms...)
	if len(refs) == 0 {
		return nil, nil
	}
	found := make([]bool, len(refs))
	ts := make([]int64, len(refs))
	vs := make([]float64, len(refs))
	h := db.head
	snap, err := db.snapshot(math.MinInt64, math.MaxInt64, false)
	if err != nil {
		return nil, err
	}
	missing := 0
	for i, r := range refs {
		h.mu.RLock()
		for j := len(snap.buckets) - 1; j >= 0; j-- {
			b := snap.buckets[j]
			if int(r) < len(b.series) && b.series[r] != nil {
				ts[i], vs[i] = b.series[r].lastSample()
				found[i] = true
				break
			}
		}
		h.mu.RUnlock()
		if !found[i] {
			missing++
		}
	}
	if missing > 0 && snap.sealed != math.MinInt64 {
		if err := db.lastFromDisk(refs, found, ts, vs, snap.sealed); err != nil {
			return nil, err
		}
	}
	out := make([]Sample, 0, len(refs))
	for i, r := range refs {
		if found[i] {
			out = append(out, Sample{Labels: db.series.get(SeriesRef(r)).lset, T: ts[i], V: vs[i]})
		}
	}
	sortSamples(out)
	return out, nil
}

func (db *DB) lastFromDisk(refs []uint32, found []bool, ts []int64, vs []float64, sealed int64) error {
	it, err := db.pdb.NewIter(&pebble.IterOptions{
		LowerBound: []byte{byte(keys.KindChunk)},
		UpperBound: keys.ChunkBucket(sealed),
	})
	if err != nil {
		return fmt.Errorf("tsdb: last values: %w", err)
	}
	defer it.Close()
	if !it.First() {
		return it.Error()
	}
	first, _, err := keys.ParseChunk(it.Key())
	if err != nil {
		return err
	}
	var want []uint32
	var idx []int
	var cts []int64
	var cvs []float64
	for b := sealed - db.bucket; b >= first; b -= db.bucket {
		want, idx = want[:0], idx[:0]
		for i, r := range refs {
			if !found[i] {
				want = append(want, r)
				idx = append(idx, i)
			}
		}
		if len(want) == 0 {
			return nil
		}
		var derr error
		err := db.collectChunks(context.Background(), it, want, b+db.bucket, b, b, func(j int, start int64, v []byte) {
			var err error
			cts, cvs, err = chunk.DecodeRaw(v, start, cts[:0], cvs[:0])
			if err != nil {
				derr = errors.Join(derr, fmt.Errorf("tsdb: last value of series %d: %w", want[j], err))
				return
			}
			i := idx[j]
			ts[i], vs[i], found[i] = cts[len(cts)-1], cvs[len(cvs)-1], true
		})
		if err = errors.Join(err, derr); err != nil {
			return err
		}
	}
	return nil
}
