package tsdb

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/wardmetrics/ward/tsdb/internal/chunk"
	"github.com/wardmetrics/ward/tsdb/internal/keys"
)

// Rollup resolutions. Each is stored in chunks of one period per series:
// 5m points are computed from raw chunks one day at a time once the day is
// sealed; 1h points from 5m points 8 days at a time. Watermarks say up to
// where each is complete; newer ranges are aggregated from finer data at
// read time, so reads never depend on the background job being current.
type resolution struct {
	id     uint8
	step   int64 // ms
	period int64 // ms covered by one chunk
}

var (
	res5m = resolution{id: 1, step: 5 * 60_000, period: 24 * 3_600_000}
	res1h = resolution{id: 2, step: 3_600_000, period: 8 * 24 * 3_600_000}
)

// refBlock bounds the series aggregated at once, bounding the job's memory.
const refBlock = 16384

type rollupState struct {
	mu sync.Mutex
	w5 int64 // 5m rollups complete for periods starting before w5
	w1 int64 // 1h rollups complete for periods starting before w1
}

func (db *DB) loadRollupState() (*rollupState, error) {
	rs := &rollupState{}
	var err error
	if rs.w5, err = db.getMetaInt(keys.MetaRollupWatermark(res5m.id), math.MinInt64); err != nil {
		return nil, err
	}
	if rs.w1, err = db.getMetaInt(keys.MetaRollupWatermark(res1h.id), math.MinInt64); err != nil {
		return nil, err
	}
	return rs, nil
}

func (db *DB) rollupWatermarks() (int64, int64) {
	db.rollup.mu.Lock()
	defer db.rollup.mu.Unlock()
	return db.rollup.w5, db.rollup.w1
}

func floorTo(t, d int64) int64 {
	t = max(t, math.MinInt64/2)
	s := t - t%d
	if t%d < 0 {
		s -= d
	}
	return s
}

func (db *DB) kickMaintenance() {
	select {
	case db.maintCh <- struct{}{}:
	default:
	}
}

// maintenanceLoop computes rollups and enforces retention after every seal
// and every MaintenanceEvery.
func (db *DB) maintenanceLoop(ctx context.Context) {
	defer db.bgWG.Done()
	t := time.NewTicker(db.opts.MaintenanceEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-db.maintCh:
		}
		if err := db.maintain(ctx); err != nil && ctx.Err() == nil {
			db.logErr("maintenance", err)
		}
		db.m.maintenanceRounds.Inc()
		// A seal refused while the disk was full is retried here, not only
		// when the next bucket closes.
		db.kickSeal()
	}
}

// Maintain runs one round of the background job now: rollups of every
// sealed period, recomputation of periods changed by imports, retention.
// It is safe to call concurrently with the background job.
func (db *DB) Maintain(ctx context.Context) error {
	if err := db.enter(); err != nil {
		return err
	}
	defer db.leave()
	return db.maintain(ctx)
}

// maintain is Maintain for the background loop, which Close waits for.
func (db *DB) maintain(ctx context.Context) error {
	db.maintMu.Lock()
	defer db.maintMu.Unlock()
	// Nothing to do while writes are refused: every step writes.
	if err := db.disk.check(0); err != nil {
		return err
	}
	if err := db.rollupDirty(ctx); err != nil {
		return err
	}
	if err := db.rollupPending(ctx); err != nil {
		return err
	}
	if err := db.enforceRetention(ctx); err != nil {
		return err
	}
	return db.compactDeletedWAL(ctx)
}

// rollupPending advances both watermarks as far as sealed data allows.
func (db *DB) rollupPending(ctx context.Context) error {
	db.head.mu.RLock()
	sealed := db.head.sealed
	db.head.mu.RUnlock()
	rs := db.rollup
	for _, r := range []resolution{res5m, res1h} {
		for {
			if err := ctx.Err(); err != nil {
				return err
			}
			rs.mu.Lock()
			w, w5 := rs.w5, rs.w5
			if r == res1h {
				w = rs.w1
			}
			rs.mu.Unlock()
			limit := sealed
			if r == res1h {
				limit = w5
			}
			if limit == math.MinInt64 {
				break
			}
			// Skip stretches without source data.
			next, ok, err := db.firstSourceAt(r, max(w, math.MinInt64/2))
			if err != nil {
				return err
			}
			if !ok {
				break
			}
			p := floorTo(next, r.period)
			if p+r.period > limit {
				break
			}
			if err := db.computePeriod(ctx, r, p, false); err != nil {
				return err
			}
		}
	}
	return nil
}

// firstSourceAt returns the time of the first source key (raw chunk for
// 5m, 5m rollup for 1h) at or after t.
func (db *DB) firstSourceAt(r resolution, t int64) (int64, bool, error) {
	var lo, hi []byte
	if r == res5m {
		lo, hi = keys.ChunkBucket(t), []byte{byte(keys.KindChunk) + 1}
	} else {
		lo, hi = keys.RollupPeriod(res5m.id, t), keys.RollupPeriod(res5m.id+1, math.MinInt64)
	}
	it, err := db.pdb.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: hi})
	if err != nil {
		return 0, false, fmt.Errorf("tsdb: find rollup source: %w", err)
	}
	defer it.Close()
	if !it.First() {
		return 0, false, it.Error()
	}
	k := it.Key()
	if r == res5m {
		s, _, err := keys.ParseChunk(k)
		return s, err == nil, err
	}
	_, s, _, err := keys.ParseRollup(k)
	return s, err == nil, err
}

// computePeriod computes and writes the rollup chunks of period p of
// resolution r for every series; unless dirty, it then advances r's
// watermark past p. In dirty mode (after an import), existing points of
// buckets without source data are kept.
func (db *DB) computePeriod(ctx context.Context, r resolution, p int64, dirty bool) error {
	it, err := db.sourceIter(r, p)
	if err != nil {
		return err
	}
	defer it.Close()
	batch := db.pdb.NewBatch()
	defer func() { batch.Close() }()
	nseries := uint32(db.series.len())
	var enc chunk.Encoder
	var dec chunk.Decoder
	var val []byte
	aggs := make([]chunk.Agg, 0, refBlock)
	pts := make([][]chunk.Point, 0, refBlock)
	for r0 := uint32(0); r0 < nseries; r0 += refBlock {
		if err := ctx.Err(); err != nil {
			return err
		}
		n := min(refBlock, nseries-r0)
		aggs, pts = aggs[:n], pts[:n]
		for i := range aggs {
			aggs[i].Reset(math.MinInt64)
			pts[i] = pts[i][:0]
		}
		flush := func(i int) {
			if pt := aggs[i].Point(); pt.Count > 0 {
				pts[i] = append(pts[i], pt)
			}
		}
		err := db.scanSource(it, r, p, r0, r0+n, &dec, func(i int, t int64, v float64, pt *chunk.Point) {
			start := floorTo(t, r.step)
			if aggs[i].P.Start != start {
				flush(i)
				aggs[i].Reset(start)
			}
			if pt != nil {
				aggs[i].AddPoint(*pt)
			} else {
				aggs[i].Add(t, v)
			}
		})
		if err != nil {
			return err
		}
		for i := range aggs {
			flush(i)
			if len(pts[i]) == 0 {
				continue
			}
			key := keys.Rollup(r.id, p, keys.SeriesID(r0+uint32(i)))
			if dirty {
				if pts[i], err = db.mergeExisting(key, r, p, pts[i], &dec); err != nil {
					return err
				}
			}
			val = enc.EncodeRollup(val[:0], p, r.step, pts[i])
			_ = batch.Set(key, val, nil)
			db.m.rollupChunks.Inc()
			if batch.Len() >= maxBatchBytes {
				if err := db.commit(batch, pebble.NoSync); err != nil {
					return fmt.Errorf("tsdb: write rollups of %d: %w", p, err)
				}
				batch.Close()
				batch = db.pdb.NewBatch()
			}
		}
	}
	rs := db.rollup
	if dirty {
		_ = batch.Delete(keys.MetaRollupDirty(r.id, p), nil)
	} else {
		_ = batch.Set(keys.MetaRollupWatermark(r.id), binary.AppendVarint(nil, p+r.period), nil)
	}
	if err := db.commit(batch, db.wo); err != nil {
		return fmt.Errorf("tsdb: write rollups of %d: %w", p, err)
	}
	if !dirty {
		rs.mu.Lock()
		if r == res5m {
			rs.w5 = p + r.period
		} else {
			rs.w1 = p + r.period
		}
		rs.mu.Unlock()
	}
	return nil
}

func (db *DB) sourceIter(r resolution, p int64) (*pebble.Iterator, error) {
	var lo, hi []byte
	if r == res5m {
		lo, hi = keys.ChunkBucket(p), keys.ChunkBucket(p+r.period)
	} else {
		lo, hi = keys.RollupPeriod(res5m.id, p), keys.RollupPeriod(res5m.id, p+r.period)
	}
	it, err := db.pdb.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: hi})
	if err != nil {
		return nil, fmt.Errorf("tsdb: rollup source of %d: %w", p, err)
	}
	return it, nil
}

// scanSource feeds fn every source sample (raw, pt == nil) or point (5m)
// of series [r0, r1) in period p, in time order per series.
func (db *DB) scanSource(it *pebble.Iterator, r resolution, p int64, r0, r1 uint32, dec *chunk.Decoder, fn func(i int, t int64, v float64, pt *chunk.Point)) error {
	var ts []int64
	var vs []float64
	var ps []chunk.Point
	srcStep := db.bucket
	if r == res1h {
		srcStep = res5m.period
	}
	for s := p; s < p+r.period; s += srcStep {
		var key []byte
		if r == res5m {
			key = keys.Chunk(s, keys.SeriesID(r0))
		} else {
			key = keys.Rollup(res5m.id, s, keys.SeriesID(r0))
		}
		prefix := key[:len(key)-4]
		for valid := it.SeekGE(key); valid; valid = it.Next() {
			k := it.Key()
			if !bytes.HasPrefix(k, prefix) {
				break
			}
			id := binary.BigEndian.Uint32(k[len(k)-4:])
			if id >= r1 {
				break
			}
			i := int(id - r0)
			var err error
			if r == res5m {
				ts, vs, err = dec.DecodeRaw(it.Value(), s, ts[:0], vs[:0])
				if err != nil {
					return fmt.Errorf("tsdb: rollup source chunk %d/%d: %w", s, id, err)
				}
				for j, t := range ts {
					fn(i, t, vs[j], nil)
				}
				continue
			}
			ps, err = dec.DecodeRollup(it.Value(), s, res5m.step, chunk.ColAll, ps[:0])
			if err != nil {
				return fmt.Errorf("tsdb: rollup source %d/%d: %w", s, id, err)
			}
			for j := range ps {
				fn(i, ps[j].Start, 0, &ps[j])
			}
		}
		if err := it.Error(); err != nil {
			return err
		}
	}
	return nil
}

// mergeExisting keeps the stored points of buckets that pts lacks.
func (db *DB) mergeExisting(key []byte, r resolution, p int64, pts []chunk.Point, dec *chunk.Decoder) ([]chunk.Point, error) {
	v, ok, err := db.getMeta(key)
	if err != nil || !ok {
		return pts, err
	}
	old, err := dec.DecodeRollup(v, p, r.step, chunk.ColAll, nil)
	if err != nil {
		return nil, fmt.Errorf("tsdb: merge rollup %x: %w", key, err)
	}
	out := make([]chunk.Point, 0, len(old)+len(pts))
	i, j := 0, 0
	for i < len(old) || j < len(pts) {
		switch {
		case j == len(pts) || (i < len(old) && old[i].Start < pts[j].Start):
			out = append(out, old[i])
			i++
		case i == len(old) || pts[j].Start < old[i].Start:
			out = append(out, pts[j])
			j++
		default: // same bucket: recomputed wins
			out = append(out, pts[j])
			i++
			j++
		}
	}
	return out, nil
}

// rollupDirty recomputes periods marked by imports, 5m before 1h.
func (db *DB) rollupDirty(ctx context.Context) error {
	it, err := db.pdb.NewIter(&pebble.IterOptions{
		LowerBound: keys.MetaRollupDirtyPrefix,
		UpperBound: keys.PrefixEnd(keys.MetaRollupDirtyPrefix),
	})
	if err != nil {
		return fmt.Errorf("tsdb: list dirty rollups: %w", err)
	}
	type job struct {
		res uint8
		p   int64
	}
	var jobs []job
	for it.First(); it.Valid(); it.Next() {
		res, p, err := keys.ParseRollupDirty(it.Key())
		if err != nil {
			return errors.Join(err, it.Close())
		}
		jobs = append(jobs, job{res, p})
	}
	if err := errors.Join(it.Error(), it.Close()); err != nil {
		return fmt.Errorf("tsdb: list dirty rollups: %w", err)
	}
	// Keys sort by resolution id, so 5m jobs come first.
	for _, j := range jobs {
		r := res5m
		if j.res == res1h.id {
			r = res1h
		}
		if err := db.computePeriod(ctx, r, j.p, true); err != nil {
			return err
		}
	}
	return nil
}
