package tsdb

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"github.com/cockroachdb/pebble/v2"
	"github.com/wardmetrics/ward/tsdb/internal/chunk"
	"github.com/wardmetrics/ward/tsdb/internal/keys"
)

// maxBatchBytes splits the writes of one seal so that a head of a million
// series does not become one enormous batch. A seal interrupted between its
// batches is harmless: the watermark and the WAL truncation are in the last
// one, so the bucket is simply sealed again after the WAL replay.
const maxBatchBytes = 32 << 20

var metaCheckpoint = []byte{byte(keys.KindMeta), 'c'}
var metaWALNext = []byte{byte(keys.KindMeta), 'n'}

func (db *DB) sealLoop(ctx context.Context) {
	defer db.bgWG.Done()
	for {
		select {
		case <-ctx.Done():
			return
		case <-db.sealCh:
		}
		if err := db.sealReady(); err != nil {
			db.logErr("seal", err)
		}
	}
}

// sealReady seals every bucket the out-of-order window has closed, oldest
// first.
func (db *DB) sealReady() error {
	db.sealMu.Lock()
	defer db.sealMu.Unlock()
	for {
		h := db.head
		h.mu.Lock()
		if len(h.buckets) == 0 || h.maxT == math.MinInt64 {
			h.mu.Unlock()
			return nil
		}
		b := h.buckets[0]
		if b.start+h.bucket > h.maxT-db.opts.OutOfOrderWindow.Milliseconds() {
			h.mu.Unlock()
			return nil
		}
		b.sealing = true
		bound := h.appliedSeq
		for _, o := range h.buckets[1:] {
			if o.firstSeq != 0 && o.firstSeq-1 < bound {
				bound = o.firstSeq - 1
			}
		}
		maxT := h.maxT
		h.mu.Unlock()
		if err := db.sealBucket(b, bound, maxT); err != nil {
			h.mu.Lock()
			b.sealing = false
			h.mu.Unlock()
			return err
		}
		db.kickMaintenance()
	}
}

// sealBucket writes b's chunks, then in one final batch advances the sealed
// watermark past b and truncates the WAL below bound; then drops b from
// the head.
func (db *DB) sealBucket(b *headBucket, walBound uint64, maxT int64) error {
	end := b.start + db.bucket
	batch, err := db.writeBucketChunks(b)
	if err != nil {
		return err
	}
	defer batch.Close()
	_ = batch.Set(keys.MetaSealed, binary.AppendVarint(nil, end), nil)
	_ = batch.Set(keys.MetaMaxT, binary.AppendVarint(nil, maxT), nil)
	_ = batch.Set(metaWALNext, binary.AppendUvarint(nil, walBound), nil)
	_ = batch.DeleteRange(keys.WAL(0), keys.WAL(walBound), nil)
	if err := db.commit(batch, db.wo); err != nil {
		return fmt.Errorf("tsdb: seal bucket %d: %w", b.start, err)
	}
	db.walDropped.Store(walBound)
	h := db.head
	h.mu.Lock()
	for i, o := range h.buckets {
		if o == b {
			h.buckets = append(h.buckets[:i], h.buckets[i+1:]...)
			break
		}
	}
	if end > h.sealed {
		h.sealed = end
	}
	h.samples -= b.samples
	h.mu.Unlock()
	db.m.sealedBuckets.Inc()
	return nil
}

// writeBucketChunks encodes every series of b and commits all but the last
// batch, which it returns for the caller to complete. b must not change
// meanwhile (it is sealing, or the caller holds the head lock).
func (db *DB) writeBucketChunks(b *headBucket) (*pebble.Batch, error) {
	batch := db.pdb.NewBatch()
	var ts []int64
	var vs []float64
	var key, val, scratch []byte
	var enc chunk.Encoder // its scratch buffers serve every series
	for ref, c := range b.series {
		if c == nil {
			continue
		}
		ts, vs, scratch = c.samplesIn(ts[:0], vs[:0], math.MinInt64, math.MaxInt64, scratch)
		if len(ts) == 0 {
			continue
		}
		key = keys.AppendChunk(key[:0], b.start, keys.SeriesID(ref))
		val = enc.EncodeRaw(val[:0], b.start, ts, vs)
		_ = batch.Set(key, val, nil)
		if batch.Len() >= maxBatchBytes {
			if err := db.commit(batch, pebble.NoSync); err != nil {
				batch.Close()
				return nil, fmt.Errorf("tsdb: write chunks of bucket %d: %w", b.start, err)
			}
			batch.Close()
			batch = db.pdb.NewBatch()
		}
	}
	return batch, nil
}

// checkpoint writes every open bucket as chunks and truncates the whole WAL,
// so that the next Open loads the head from chunks instead of replaying.
// Called by Close after every writer has left.
func (db *DB) checkpoint() error {
	db.sealMu.Lock()
	defer db.sealMu.Unlock()
	h := db.head
	h.mu.Lock()
	defer h.mu.Unlock()
	var starts []byte
	starts = binary.AppendUvarint(starts, uint64(len(h.buckets)))
	var errs []error
	batch := db.pdb.NewBatch()
	for _, b := range h.buckets {
		starts = binary.AppendVarint(starts, b.start)
		if b.firstSeq == 0 {
			// Loaded from the last checkpoint and untouched since (every
			// later change comes with a WAL sequence): its chunks are
			// already stored, and writing them again would only leave a
			// second copy for compaction to drop.
			continue
		}
		if batch.Len() > 0 {
			if err := db.commit(batch, pebble.NoSync); err != nil {
				errs = append(errs, err)
			}
		}
		batch.Close()
		var err error
		if batch, err = db.writeBucketChunks(b); err != nil {
			return err
		}
	}
	defer batch.Close()
	_ = batch.Set(metaCheckpoint, starts, nil)
	_ = batch.Set(keys.MetaMaxT, binary.AppendVarint(nil, h.maxT), nil)
	_ = batch.Set(metaWALNext, binary.AppendUvarint(nil, db.walSeq), nil)
	_ = batch.DeleteRange(keys.WAL(0), keys.WAL(db.walSeq), nil)
	if err := db.commit(batch, pebble.Sync); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("tsdb: checkpoint head: %w", err)
	}
	db.walDropped.Store(db.walSeq)
	return nil
}

// loadHead rebuilds the head: the sealed watermark, the checkpointed
// buckets, then every WAL record in order.
func (db *DB) loadHead() error {
	h := db.head
	var err error
	if h.sealed, err = db.getMetaInt(keys.MetaSealed, math.MinInt64); err != nil {
		return err
	}
	if h.maxT, err = db.getMetaInt(keys.MetaMaxT, math.MinInt64); err != nil {
		return err
	}
	cp, _, err := db.getMeta(metaCheckpoint)
	if err != nil {
		return err
	}
	if len(cp) > 0 {
		n, w := binary.Uvarint(cp)
		if w <= 0 || n > 1<<20 {
			return fmt.Errorf("%w: checkpoint list", keys.ErrCorrupt)
		}
		cp = cp[w:]
		for i := uint64(0); i < n; i++ {
			start, w := binary.Varint(cp)
			if w <= 0 {
				return fmt.Errorf("%w: checkpoint list", keys.ErrCorrupt)
			}
			cp = cp[w:]
			if start < h.sealed {
				continue
			}
			if err := db.loadCheckpointBucket(start); err != nil {
				return err
			}
		}
	}
	next, _, err := db.getMeta(metaWALNext)
	if err != nil {
		return err
	}
	if len(next) > 0 {
		v, w := binary.Uvarint(next)
		if w <= 0 {
			return fmt.Errorf("%w: wal next %x", keys.ErrCorrupt, next)
		}
		db.walSeq = v
		db.walDropped.Store(v)
	}
	it, err := db.pdb.NewIter(&pebble.IterOptions{
		LowerBound: []byte{byte(keys.KindWAL)},
		UpperBound: []byte{byte(keys.KindWAL) + 1},
	})
	if err != nil {
		return fmt.Errorf("tsdb: replay wal: %w", err)
	}
	nseries := SeriesRef(db.series.len())
	var rec []refSample
	for it.First(); it.Valid(); it.Next() {
		seq, err := keys.ParseWAL(it.Key())
		if err != nil {
			return errors.Join(err, it.Close())
		}
		if rec, err = decodeWAL(it.Value(), rec[:0]); err != nil {
			return errors.Join(fmt.Errorf("tsdb: wal record %d: %w", seq, err), it.Close())
		}
		for _, s := range rec {
			if s.ref >= nseries {
				return errors.Join(fmt.Errorf("%w: wal record %d names unknown series %d", keys.ErrCorrupt, seq, s.ref), it.Close())
			}
			if h.bucketStart(s.t) < h.sealed {
				continue
			}
			h.add(s.ref, s.t, s.v, seq+1)
		}
		if seq+1 > db.walSeq {
			db.walSeq = seq + 1
		}
	}
	if err := errors.Join(it.Error(), it.Close()); err != nil {
		return fmt.Errorf("tsdb: replay wal: %w", err)
	}
	// WAL sequence numbers in the head are shifted by one so that zero
	// means "none"; appliedSeq is the first sequence not in the head.
	h.appliedSeq = db.walSeq
	return nil
}

func (db *DB) loadCheckpointBucket(start int64) error {
	it, err := db.pdb.NewIter(&pebble.IterOptions{
		LowerBound: keys.ChunkBucket(start),
		UpperBound: keys.ChunkBucket(start + db.bucket),
	})
	if err != nil {
		return fmt.Errorf("tsdb: load checkpoint bucket %d: %w", start, err)
	}
	nseries := SeriesRef(db.series.len())
	var ts []int64
	var vs []float64
	for it.First(); it.Valid(); it.Next() {
		_, id, err := keys.ParseChunk(it.Key())
		if err != nil {
			return errors.Join(err, it.Close())
		}
		if SeriesRef(id) >= nseries {
			return errors.Join(fmt.Errorf("%w: chunk of unknown series %d", keys.ErrCorrupt, id), it.Close())
		}
		ts, vs, err = chunk.DecodeRaw(it.Value(), start, ts[:0], vs[:0])
		if err != nil {
			return errors.Join(fmt.Errorf("tsdb: checkpoint chunk %d/%d: %w", start, id, err), it.Close())
		}
		for i := range ts {
			db.head.add(SeriesRef(id), ts[i], vs[i], 0)
		}
	}
	if err := errors.Join(it.Error(), it.Close()); err != nil {
		return fmt.Errorf("tsdb: load checkpoint bucket %d: %w", start, err)
	}
	return nil
}
