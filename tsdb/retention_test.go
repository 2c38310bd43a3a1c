package tsdb

import (
	"context"
	"math"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/wardmetrics/ward/tsdb/internal/keys"
)

func countKeys(t *testing.T, db *DB, lo, hi []byte) int {
	t.Helper()
	it, err := db.pdb.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: hi})
	if err != nil {
		t.Fatal(err)
	}
	defer it.Close()
	n := 0
	for it.First(); it.Valid(); it.Next() {
		n++
	}
	return n
}

func TestRetention(t *testing.T) {
	const day = 86_400_000
	var now atomic.Int64
	now.Store(t0) // nothing expires while writing
	opts := testOptions()
	opts.Now = func() time.Time { return time.UnixMilli(now.Load()) }
	opts.RetentionRaw, opts.Retention5m, opts.Retention1h = 5*24*time.Hour, 50*24*time.Hour, 400*24*time.Hour
	db := openTest(t, t.TempDir(), opts)
	defer db.Close()
	ls := lbls("__name__", "r")
	var batch []Sample
	for ts := t0; ts < t0+20*day; ts += 30_000 {
		batch = append(batch, Sample{ls, ts, float64(ts % 1009)})
		for i := 0; i < 19; i++ { // more series, so that sizes are not all block overhead
			batch = append(batch, Sample{lbls("__name__", "r", "i", string(rune('a'+i))), ts, float64((ts*int64(i+3)/7)%1013) / 10})
		}
		if len(batch) >= 5000 {
			if err := db.Append(batch); err != nil {
				t.Fatal(err)
			}
			batch = batch[:0]
		}
	}
	if err := db.Append(batch); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return db.Stats().Sealed >= t0+20*day-4*3600_000 })
	rawCut := floorTo(t0+15*day, db.bucket)
	if err := db.pdb.Flush(); err != nil {
		t.Fatal(err)
	}
	before, err := db.pdb.EstimateDiskUsage(keys.ChunkBucket(math.MinInt64), keys.ChunkBucket(rawCut))
	if err != nil {
		t.Fatal(err)
	}
	now.Store(t0 + 20*day)
	if err := db.Maintain(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := countKeys(t, db, keys.ChunkBucket(math.MinInt64), keys.ChunkBucket(rawCut)); n != 0 {
		t.Fatalf("%d raw chunks older than the raw retention remain", n)
	}
	if n := countKeys(t, db, keys.ChunkBucket(rawCut), keys.ChunkBucket(math.MaxInt64)); n < 4*12 {
		t.Fatalf("only %d raw chunks within the retention", n)
	}
	// The space comes back (up to sstable block granularity at the edge).
	if du, err := db.pdb.EstimateDiskUsage(keys.ChunkBucket(math.MinInt64), keys.ChunkBucket(rawCut)); err != nil || du > before/10 {
		t.Fatalf("deleted raw range uses %d bytes on disk, %d before retention (%v)", du, before, err)
	}
	// Raw reads of expired days find nothing; rollups still answer.
	got := readAll(t, db, t0, t0+10*day, nil)
	if len(got) != 0 {
		t.Fatalf("raw read of expired days returned %d series", len(got))
	}
	if pts := storedRollups(t, db, res5m, 0, t0+day-1); len(pts) != 288 {
		t.Fatalf("day 0 has %d 5m points after raw retention, want 288", len(pts))
	}
	// Advance the clock: 5m rollups of the first 10 days expire once they
	// are in 1h rollups (8-day periods), and not before.
	now.Store(t0 + 60*day)
	if err := db.Maintain(context.Background()); err != nil {
		t.Fatal(err)
	}
	w1 := db.Stats().Rollup1h
	cut5 := min(floorTo(t0+10*day, res5m.period), w1)
	if w1 > t0 {
		if n := countKeys(t, db, keys.RollupPeriod(res5m.id, math.MinInt64), keys.RollupPeriod(res5m.id, cut5)); n != 0 {
			t.Fatalf("%d 5m chunks older than their retention remain", n)
		}
	}
	if n := countKeys(t, db, keys.RollupPeriod(res5m.id, cut5), keys.RollupPeriod(res5m.id+1, math.MinInt64)); n == 0 {
		t.Fatal("5m chunks not yet in 1h rollups were deleted")
	}
}
