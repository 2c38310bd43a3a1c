package tsdb

import (
	"context"
	"fmt"
	"math"

	"github.com/wardmetrics/ward/tsdb/internal/keys"
)

// retentionState remembers the cutoffs already applied, so that each
// range deletion is issued once per advance.
type retentionState struct {
	raw, r5, r1 int64
}

// enforceRetention deletes, per resolution, every chunk entirely older than
// now minus its retention: one DeleteRange per resolution, since keys start
// with the time bucket. Raw data is kept until rolled up, 5m until rolled
// up to 1h. The deleted span is then compacted so the space comes back
// (Pebble drops whole sstables under a range tombstone without rewriting
// them).
func (db *DB) enforceRetention(ctx context.Context) error {
	now := db.now()
	w5, w1 := db.rollupWatermarks()
	db.head.mu.RLock()
	sealed := db.head.sealed
	db.head.mu.RUnlock()
	type job struct {
		ret     int64
		step    int64
		limit   int64
		applied *int64
		key     func(int64) []byte
		name    string
	}
	jobs := []job{
		{db.opts.RetentionRaw.Milliseconds(), db.bucket, min(w5, sealed), &db.retained.raw, keys.ChunkBucket, "raw"},
		{db.opts.Retention5m.Milliseconds(), res5m.period, w1, &db.retained.r5, func(t int64) []byte { return keys.RollupPeriod(res5m.id, t) }, "5m"},
		{db.opts.Retention1h.Milliseconds(), res1h.period, math.MaxInt64, &db.retained.r1, func(t int64) []byte { return keys.RollupPeriod(res1h.id, t) }, "1h"},
	}
	for _, j := range jobs {
		if j.ret <= 0 {
			continue // keep forever
		}
		cut := min(floorTo(now-j.ret, j.step), j.limit)
		if cut == math.MinInt64 || cut <= *j.applied {
			continue
		}
		lo, hi := j.key(math.MinInt64), j.key(cut)
		// The range deletion needs a few bytes, the compaction after it
		// room for its output: neither may meet a full disk.
		if err := db.disk.check(0); err != nil {
			return fmt.Errorf("tsdb: retention of %s data before %d: %w", j.name, cut, err)
		}
		if err := db.pdb.DeleteRange(lo, hi, db.wo); err != nil {
			return fmt.Errorf("tsdb: retention of %s data before %d: %w", j.name, cut, err)
		}
		if err := db.pdb.Compact(ctx, lo, hi, false); err != nil && ctx.Err() == nil {
			return fmt.Errorf("tsdb: compact %s data before %d: %w", j.name, cut, err)
		}
		*j.applied = cut
		db.m.retentionRuns.Inc()
	}
	return nil
}
