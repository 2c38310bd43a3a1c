package tsdb

import (
	"errors"
	"fmt"
	"math"

	"github.com/cockroachdb/pebble/v2"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/wardmetrics/ward/tsdb/internal/keys"
)

// Sample is one value of one series at one time.
type Sample struct {
	Labels labels.Labels
	T      int64 // unix milliseconds
	V      float64
}

// RefSample is a Sample whose series is named by a SeriesRef from DB.Ref.
type RefSample struct {
	Ref SeriesRef
	T   int64 // unix milliseconds
	V   float64
}

// ErrRejected is matched (errors.Is) by a *RejectedError.
var ErrRejected = errors.New("tsdb: samples rejected")

// RejectedError reports samples of a batch that were not stored. The rest
// of the batch was stored and is durable; callers should count, not retry.
type RejectedError struct {
	TooOld     int // older than the out-of-order window allows
	TooNew     int // further ahead of the clock than MaxFuture
	UnknownRef int // refs that DB.Ref never returned
	NoLabels   int // samples with an empty label set
}

// Total returns the number of rejected samples.
func (e *RejectedError) Total() int { return e.TooOld + e.TooNew + e.UnknownRef + e.NoLabels }

func (e *RejectedError) Error() string {
	return fmt.Sprintf("tsdb: %d samples rejected (%d too old, %d too far ahead, %d unknown refs, %d without labels)",
		e.Total(), e.TooOld, e.TooNew, e.UnknownRef, e.NoLabels)
}

// Is makes errors.Is(err, ErrRejected) true.
func (e *RejectedError) Is(target error) bool { return target == ErrRejected }

// Append stores a batch of samples: one Pebble batch holding any new series
// and a WAL record, durable on return per Options.Sync, then applied to the
// head. Samples older than the out-of-order window (or too far ahead of the
// clock) are rejected and counted; the error is then a *RejectedError and
// the rest of the batch is stored. A sample with the timestamp of a stored
// one replaces it (last write wins), so replaying a batch is harmless.
func (db *DB) Append(samples []Sample) error {
	if err := db.enter(); err != nil {
		return err
	}
	defer db.leave()
	db.appendMu.Lock()
	defer db.appendMu.Unlock()

	batch := db.pdb.NewBatch()
	defer batch.Close()
	var rej RejectedError
	var created []*memSeries
	acc := db.scratch[:0]
	nextRef := SeriesRef(db.series.len())
	pending := map[uint64][]*memSeries{}
	for i := range samples {
		s := &samples[i]
		if s.Labels.IsEmpty() {
			rej.NoLabels++
			continue
		}
		h := s.Labels.Hash()
		ms := db.series.lookup(h, s.Labels)
		if ms == nil {
			for _, p := range pending[h] {
				if labels.Equal(p.lset, s.Labels) {
					ms = p
					break
				}
			}
		}
		if ms == nil {
			if nextRef == math.MaxUint32 {
				return fmt.Errorf("tsdb: append: series limit of %d reached", uint32(math.MaxUint32))
			}
			ms = &memSeries{ref: nextRef, lset: s.Labels.Copy()}
			nextRef++
			pending[h] = append(pending[h], ms)
			created = append(created, ms)
			db.writeSeries(batch, ms)
		}
		acc = append(acc, refSample{ms.ref, s.T, s.V})
	}
	err := db.commitSamples(batch, acc, created, &rej)
	db.scratch = acc[:0]
	return err
}

// Ref returns the ref of the series with labels ls, creating the series
// (durably) if it does not exist. Refs are stable for the life of the
// database directory.
func (db *DB) Ref(ls labels.Labels) (SeriesRef, error) {
	if ls.IsEmpty() {
		return 0, fmt.Errorf("tsdb: ref of a series without labels")
	}
	if err := db.enter(); err != nil {
		return 0, err
	}
	defer db.leave()
	h := ls.Hash()
	if ms := db.series.lookup(h, ls); ms != nil {
		return ms.ref, nil
	}
	db.appendMu.Lock()
	defer db.appendMu.Unlock()
	if ms := db.series.lookup(h, ls); ms != nil {
		return ms.ref, nil
	}
	ms := &memSeries{ref: SeriesRef(db.series.len()), lset: ls.Copy()}
	batch := db.pdb.NewBatch()
	defer batch.Close()
	db.writeSeries(batch, ms)
	if err := db.commit(batch, db.wo); err != nil {
		return 0, fmt.Errorf("tsdb: create series %s: %w", ls, err)
	}
	db.registerSeries(ms)
	return ms.ref, nil
}

// Labels returns the labels of ref.
func (db *DB) Labels(ref SeriesRef) (labels.Labels, bool) {
	ms := db.series.get(ref)
	if ms == nil {
		return labels.EmptyLabels(), false
	}
	return ms.lset, true
}

// AppendRefs is Append for series named by refs: the fast path for callers
// that keep refs of stable series, skipping label hashing and lookups.
func (db *DB) AppendRefs(samples []RefSample) error {
	if err := db.enter(); err != nil {
		return err
	}
	defer db.leave()
	db.appendMu.Lock()
	defer db.appendMu.Unlock()
	var rej RejectedError
	n := SeriesRef(db.series.len())
	acc := db.scratch[:0]
	for _, s := range samples {
		if s.Ref >= n {
			rej.UnknownRef++
			continue
		}
		acc = append(acc, refSample{s.Ref, s.T, s.V})
	}
	batch := db.pdb.NewBatch()
	defer batch.Close()
	err := db.commitSamples(batch, acc, nil, &rej)
	db.scratch = acc[:0]
	return err
}

func (db *DB) writeSeries(batch *pebble.Batch, ms *memSeries) {
	_ = batch.Set(keys.Series(uint32ID(ms.ref)), EncodeLabels(nil, ms.lset), nil)
	ms.lset.Range(func(l labels.Label) {
		_ = batch.Set(keys.Postings(l.Name, l.Value, uint32ID(ms.ref)), nil, nil)
	})
}

func (db *DB) registerSeries(ms *memSeries) {
	db.series.add(ms)
	db.index.Add(uint32(ms.ref), ms.lset)
	db.index.SetLen(uint32(ms.ref) + 1)
}

func uint32ID(r SeriesRef) keys.SeriesID { return keys.SeriesID(r) }

// commitSamples filters acc by the head's bounds, writes the WAL record
// into batch, commits it and applies the samples to the head. Caller holds
// appendMu.
func (db *DB) commitSamples(batch *pebble.Batch, acc []refSample, created []*memSeries, rej *RejectedError) error {
	h := db.head
	h.mu.RLock()
	maxT, sealed := h.maxT, h.sealed
	h.mu.RUnlock()
	minT := int64(math.MinInt64)
	if maxT != math.MinInt64 {
		minT = maxT - db.opts.OutOfOrderWindow.Milliseconds()
	}
	if sealed > minT {
		minT = sealed
	}
	maxFuture := int64(math.MaxInt64)
	if db.opts.MaxFuture > 0 {
		maxFuture = db.now() + db.opts.MaxFuture.Milliseconds()
	}
	k := 0
	for _, s := range acc {
		switch {
		case s.t < minT:
			rej.TooOld++
		case s.t > maxFuture:
			rej.TooNew++
		default:
			// The window moves with the batch, as it would sample by sample.
			if s.t > maxT {
				maxT = s.t
				if w := maxT - db.opts.OutOfOrderWindow.Milliseconds(); w > minT {
					minT = w
				}
			}
			acc[k] = s
			k++
		}
	}
	acc = acc[:k]
	if len(acc) > 0 {
		seq := db.walSeq
		db.walBuf = encodeWAL(db.walBuf[:0], acc)
		_ = batch.Set(keys.WAL(seq), db.walBuf, nil)
	}
	if !batch.Empty() {
		// A refused batch changes nothing: no WAL sequence, series or head
		// sample, so reads never show what was not stored.
		if err := db.disk.check(uint64(batch.Len())); err != nil {
			return fmt.Errorf("tsdb: append batch of %d samples: %w", len(acc), err)
		}
		sync := db.wo.Sync
		var err error
		if sync {
			err = db.pdb.ApplyNoSyncWait(batch, db.wo)
		} else {
			err = db.pdb.Apply(batch, db.wo)
		}
		if err != nil {
			return fmt.Errorf("tsdb: append batch of %d samples: %w", len(acc), err)
		}
		for _, ms := range created {
			db.registerSeries(ms)
		}
		if len(acc) > 0 {
			db.walSeq++
			db.applyHead(acc, db.walSeq) // head sequences are shifted by one
		}
		// The head is updated while the fsync is in flight.
		if sync {
			if err := batch.SyncWait(); err != nil {
				// Pebble's log is now broken: its next commit would stop
				// the process. Refuse every later write instead.
				db.disk.fail(err)
				return fmt.Errorf("tsdb: sync batch of %d samples: %w", len(acc), err)
			}
		}
	}
	db.m.appended.Add(len(acc))
	if n := rej.Total(); n > 0 {
		db.m.rejected.Add(n)
		return rej
	}
	return nil
}

// applyHead adds accepted samples to the head and wakes the sealer when a
// bucket may have closed.
func (db *DB) applyHead(acc []refSample, seq uint64) {
	h := db.head
	h.mu.Lock()
	oldMax := h.maxT
	h.addBatch(acc, seq)
	h.appliedSeq = seq
	newMax := h.maxT
	h.mu.Unlock()
	w := db.opts.OutOfOrderWindow.Milliseconds()
	if oldMax == math.MinInt64 || h.bucketStart(newMax-w) != h.bucketStart(oldMax-w) {
		db.kickSeal()
	}
}

func (db *DB) kickSeal() {
	select {
	case db.sealCh <- struct{}{}:
	default:
	}
}
