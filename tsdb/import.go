package tsdb

import (
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/objstorage/objstorageprovider"
	"github.com/cockroachdb/pebble/v2/sstable"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/wardmetrics/ward/tsdb/internal/chunk"
	"github.com/wardmetrics/ward/tsdb/internal/keys"
)

// SampleIterator yields samples to import, in any order.
type SampleIterator interface {
	Next() bool
	At() Sample
	Err() error
}

// ImportOptions tune Import. The zero value is usable.
type ImportOptions struct {
	// BufferSamples bounds the samples held in memory before they are
	// written (about 24 bytes each). Zero means 16 million.
	BufferSamples int
	// Progress, if set, is called after every flush and at the end with the
	// samples read so far and those stored.
	Progress func(read, stored int64)
}

// ImportStats reports what Import did. Skipped counts samples per reason.
type ImportStats struct {
	Read, Stored int64
	Series       int // series created
	Skipped      map[string]int64
}

// Skip reasons reported by Import.
const (
	SkipNoLabels     = "no labels"
	SkipTooNew       = "further ahead of the clock than MaxFuture"
	SkipBeyondRetain = "older than every retention"
)

type importKey struct {
	bucket int64
	ref    SeriesRef
}

// Import stores samples in bulk, for backfill. Samples older than the
// head are written as whole chunks into sstables that Pebble ingests
// (merged with chunks already stored, imported samples winning at equal
// timestamps), bypassing the memtable and WAL; samples in the head's range
// go through the normal append path. Periods already rolled up are marked
// and recomputed by the background job. Import may run while the DB is
// being appended to; it blocks sealing while it writes.
func (db *DB) Import(ctx context.Context, it SampleIterator, opts ImportOptions) (ImportStats, error) {
	st := ImportStats{Skipped: map[string]int64{}}
	if err := db.enter(); err != nil {
		return st, err
	}
	defer db.leave()
	if opts.BufferSamples <= 0 {
		opts.BufferSamples = 16 << 20
	}
	now := db.now()
	oldest := int64(math.MinInt64)
	if r := max(db.opts.RetentionRaw, db.opts.Retention5m, db.opts.Retention1h); db.opts.RetentionRaw > 0 && db.opts.Retention5m > 0 && db.opts.Retention1h > 0 {
		oldest = now - r.Milliseconds()
	}
	future := int64(math.MaxInt64)
	if db.opts.MaxFuture > 0 {
		future = now + db.opts.MaxFuture.Milliseconds()
	}
	buf := map[importKey][]sample{}
	buffered := 0
	newSeries := map[uint64][]*memSeries{}
	var pending []*memSeries
	nextRef := SeriesRef(db.series.len())
	flush := func() error {
		if err := db.importFlush(ctx, buf, pending, &st); err != nil {
			return err
		}
		clear(buf)
		clear(newSeries)
		pending, buffered = pending[:0], 0
		nextRef = SeriesRef(db.series.len())
		if opts.Progress != nil {
			opts.Progress(st.Read, st.Stored)
		}
		return nil
	}
	for it.Next() {
		if err := ctx.Err(); err != nil {
			return st, err
		}
		s := it.At()
		st.Read++
		switch {
		case s.Labels.IsEmpty():
			st.Skipped[SkipNoLabels]++
			continue
		case s.T > future:
			st.Skipped[SkipTooNew]++
			continue
		case s.T < oldest:
			st.Skipped[SkipBeyondRetain]++
			continue
		}
		h := s.Labels.Hash()
		ms := db.series.lookup(h, s.Labels)
		if ms == nil {
			for _, p := range newSeries[h] {
				if labels.Equal(p.lset, s.Labels) {
					ms = p
				}
			}
		}
		if ms == nil {
			ms = &memSeries{ref: nextRef, lset: s.Labels.Copy()}
			nextRef++
			newSeries[h] = append(newSeries[h], ms)
			pending = append(pending, ms)
		}
		k := importKey{floorTo(s.T, db.bucket), ms.ref}
		buf[k] = append(buf[k], sample{s.T, s.V})
		buffered++
		if buffered >= opts.BufferSamples {
			if err := flush(); err != nil {
				return st, err
			}
		}
	}
	if err := it.Err(); err != nil {
		return st, fmt.Errorf("tsdb: import: read samples: %w", err)
	}
	return st, flush()
}

// importFlush writes one buffer of imported samples.
func (db *DB) importFlush(ctx context.Context, buf map[importKey][]sample, pending []*memSeries, st *ImportStats) error {
	// New series first, durably, so that every chunk names a known series.
	// New series are created under appendMu, which also keeps refs dense.
	db.appendMu.Lock()
	if len(pending) > 0 {
		if int(pending[0].ref) != db.series.len() {
			db.appendMu.Unlock()
			return fmt.Errorf("tsdb: import: series created concurrently; retry")
		}
		b := db.pdb.NewBatch()
		for _, ms := range pending {
			db.writeSeries(b, ms)
		}
		err := db.commit(b, pebble.Sync)
		b.Close()
		if err != nil {
			db.appendMu.Unlock()
			return fmt.Errorf("tsdb: import: create %d series: %w", len(pending), err)
		}
		for _, ms := range pending {
			db.registerSeries(ms)
		}
		st.Series += len(pending)
	}
	db.appendMu.Unlock()

	db.sealMu.Lock() // no bucket changes hands while we decide and write
	defer db.sealMu.Unlock()
	h := db.head
	h.mu.RLock()
	boundary := int64(math.MaxInt64)
	if len(h.buckets) > 0 {
		boundary = h.buckets[0].start
	} else if h.maxT != math.MinInt64 {
		boundary = h.bucketStart(h.maxT - db.opts.OutOfOrderWindow.Milliseconds())
	}
	boundary = max(boundary, h.sealed)
	h.mu.RUnlock()

	var toHead []refSample
	var disk []importKey
	for k, ss := range buf {
		if k.bucket >= boundary {
			for _, s := range ss {
				toHead = append(toHead, refSample{k.ref, s.t, s.v})
			}
			continue
		}
		disk = append(disk, k)
	}
	if len(disk) > 0 {
		// Rollup recomputation must not overlap the ingest: it would clear
		// the dirty marks this ingest sets.
		db.maintMu.Lock()
		n, err := db.importChunks(ctx, buf, disk)
		db.maintMu.Unlock()
		if err != nil {
			return err
		}
		st.Stored += n
	}
	if len(toHead) > 0 {
		// Head samples go through the WAL like appends, with the window
		// check relaxed to "the bucket is open".
		slices.SortStableFunc(toHead, func(a, b refSample) int { return cmp.Compare(a.t, b.t) })
		db.appendMu.Lock()
		batch := db.pdb.NewBatch()
		db.walBuf = encodeWAL(db.walBuf[:0], toHead)
		_ = batch.Set(keys.WAL(db.walSeq), db.walBuf, nil)
		err := db.commit(batch, db.wo)
		batch.Close()
		if err == nil {
			db.walSeq++
			db.applyHead(toHead, db.walSeq)
		}
		db.appendMu.Unlock()
		if err != nil {
			return fmt.Errorf("tsdb: import %d samples into the head: %w", len(toHead), err)
		}
		st.Stored += int64(len(toHead))
	}
	db.m.imported.Add(int(st.Stored))
	db.kickMaintenance()
	return nil
}

// importChunks merges the buffered samples of keys (all below the head)
// with stored chunks, writes them as one sstable, ingests it, advances the
// sealed watermark past them and marks rolled-up periods dirty.
func (db *DB) importChunks(ctx context.Context, buf map[importKey][]sample, ks []importKey) (int64, error) {
	slices.SortFunc(ks, func(a, b importKey) int {
		if c := cmp.Compare(a.bucket, b.bucket); c != 0 {
			return c
		}
		return cmp.Compare(a.ref, b.ref)
	})
	dir, err := os.MkdirTemp(db.dir, "import-")
	if err != nil {
		return 0, fmt.Errorf("tsdb: import: %w", err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "chunks.sst")
	f, err := vfs.Default.Create(path, vfs.WriteCategoryUnspecified)
	if err != nil {
		return 0, fmt.Errorf("tsdb: import: create %s: %w", path, err)
	}
	w := sstable.NewWriter(objstorageprovider.NewFileWritable(f), db.popts.MakeWriterOptions(6, db.pdb.TableFormat()))
	it, err := db.pdb.NewIter(&pebble.IterOptions{
		LowerBound: keys.ChunkBucket(ks[0].bucket),
		UpperBound: keys.ChunkBucket(ks[len(ks)-1].bucket + db.bucket),
	})
	if err != nil {
		_ = w.Close()
		return 0, fmt.Errorf("tsdb: import: %w", err)
	}
	var enc chunk.Encoder
	var dec chunk.Decoder
	var key, val []byte
	var ts []int64
	var vs []float64
	var stored int64
	touched := map[int64]bool{}
	err = func() error {
		for _, k := range ks {
			if err := ctx.Err(); err != nil {
				return err
			}
			ss := buf[k]
			// Sort by time; at equal times the sample read last wins.
			slices.SortStableFunc(ss, func(a, b sample) int { return cmp.Compare(a.t, b.t) })
			j := 0
			for i := range ss {
				if j > 0 && ss[j-1].t == ss[i].t {
					ss[j-1] = ss[i]
					continue
				}
				ss[j] = ss[i]
				j++
			}
			ss = ss[:j]
			stored += int64(len(ss))
			key = keys.AppendChunk(key[:0], k.bucket, keys.SeriesID(k.ref))
			ts, vs = ts[:0], vs[:0]
			if it.SeekGE(key) && string(it.Key()) == string(key) {
				if ts, vs, err = dec.DecodeRaw(it.Value(), k.bucket, ts, vs); err != nil {
					return fmt.Errorf("tsdb: import: stored chunk %d/%d: %w", k.bucket, k.ref, err)
				}
			}
			ts, vs = mergeSamples(ts, vs, ss)
			val = enc.EncodeRaw(val[:0], k.bucket, ts, vs)
			if err := w.Set(key, val); err != nil {
				return fmt.Errorf("tsdb: import: write sstable: %w", err)
			}
			touched[k.bucket] = true
		}
		return it.Error()
	}()
	err = errors.Join(err, it.Close(), w.Close())
	if err != nil {
		return 0, err
	}
	// Ingesting links the file in and writes a manifest entry: it must not
	// meet a full disk either.
	if err := db.disk.check(0); err != nil {
		return 0, fmt.Errorf("tsdb: import: ingest %s: %w", path, err)
	}
	if err := db.pdb.Ingest(ctx, []string{path}); err != nil {
		return 0, fmt.Errorf("tsdb: import: ingest: %w", err)
	}
	// Advance the sealed watermark over the imported buckets, and mark
	// periods the rollup job has already passed.
	maxBucket := ks[len(ks)-1].bucket
	w5, w1 := db.rollupWatermarks()
	b := db.pdb.NewBatch()
	defer b.Close()
	marked := map[[2]int64]bool{}
	for bucket := range touched {
		for _, r := range []struct {
			res resolution
			w   int64
		}{{res5m, w5}, {res1h, w1}} {
			p := floorTo(bucket, r.res.period)
			if p < r.w && !marked[[2]int64{int64(r.res.id), p}] {
				marked[[2]int64{int64(r.res.id), p}] = true
				_ = b.Set(keys.MetaRollupDirty(r.res.id, p), nil, nil)
			}
		}
	}
	h := db.head
	h.mu.Lock()
	if end := maxBucket + db.bucket; end > h.sealed {
		h.sealed = end
		_ = b.Set(keys.MetaSealed, binary.AppendVarint(nil, end), nil)
	}
	h.mu.Unlock()
	if err := db.commit(b, pebble.Sync); err != nil {
		return 0, fmt.Errorf("tsdb: import: mark rollups: %w", err)
	}
	return stored, nil
}

// mergeSamples merges sorted, unique ss into sorted (ts, vs); ss wins at
// equal timestamps.
func mergeSamples(ts []int64, vs []float64, ss []sample) ([]int64, []float64) {
	if len(ts) == 0 {
		for _, s := range ss {
			ts = append(ts, s.t)
			vs = append(vs, s.v)
		}
		return ts, vs
	}
	ots, ovs := slices.Clone(ts), slices.Clone(vs)
	ts, vs = ts[:0], vs[:0]
	i, j := 0, 0
	for i < len(ots) || j < len(ss) {
		switch {
		case j == len(ss) || (i < len(ots) && ots[i] < ss[j].t):
			ts, vs = append(ts, ots[i]), append(vs, ovs[i])
			i++
		case i == len(ots) || ss[j].t < ots[i]:
			ts, vs = append(ts, ss[j].t), append(vs, ss[j].v)
			j++
		default:
			ts, vs = append(ts, ss[j].t), append(vs, ss[j].v)
			i++
			j++
		}
	}
	return ts, vs
}
