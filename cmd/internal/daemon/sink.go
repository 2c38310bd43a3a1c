package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"github.com/VictoriaMetrics/metrics"

	"github.com/wardmetrics/ward/ingest"
	"github.com/wardmetrics/ward/tsdb"
)

// storageSink adapts the aggregator's flushes to the storage engine: ingest does not
// know tsdb and tsdb does not know ingest; this is the only place they meet.
type storageSink struct {
	db       *tsdb.DB
	log      *slog.Logger
	rejected *metrics.Counter
	failed   *metrics.Counter
	// onFlush, when set, is called after each stored flush (the stream hub's Notify).
	onFlush func()
	// remote, when set, queues each flush for the remote-write URLs as well.
	remote *remoteParts
	// last, when set ("only" mode), replaces local sample storage: flushes go to the
	// remote queues alone, and last keeps each series' newest value for restore.
	last *lastValues

	mu      sync.Mutex
	buf     []tsdb.Sample
	metaSet map[ingest.Metadata]bool // metadata already stored, so it is written once
}

func newStorageSink(db *tsdb.DB, log *slog.Logger, set *metrics.Set) *storageSink {
	return &storageSink{
		db:       db,
		log:      log.With("component", "sink"),
		rejected: set.NewCounter(`ward_storage_rejected_samples_total`),
		failed:   set.NewCounter(`ward_storage_failed_flushes_total`),
		metaSet:  map[ingest.Metadata]bool{},
	}
}

// Write stores one flush. Rejected samples (too old, too far ahead) are counted, not
// retried: the rest of the batch is stored and durable.
func (s *storageSink) Write(ctx context.Context, b *ingest.Batch) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.last != nil {
		return s.writeRemoteOnly(ctx, b)
	}
	// Queued for the remotes first and whatever happens locally: the remote queue has
	// its own bound and counters, and a local failure must not create a remote gap.
	if err := s.remote.write(ctx, b); err != nil {
		s.log.Error("queue flush for remote write", "err", err)
	}
	if err := s.storeMetadata(b); err != nil {
		return err
	}
	if cap(s.buf) < len(b.Samples) {
		s.buf = make([]tsdb.Sample, len(b.Samples))
	}
	buf := s.buf[:len(b.Samples)]
	for i, smp := range b.Samples {
		buf[i] = tsdb.Sample{Labels: smp.Labels, T: smp.T, V: smp.V}
	}
	err := s.db.Append(buf)
	clear(buf)
	var rej *tsdb.RejectedError
	switch {
	case err == nil:
		s.flushed()
		return nil
	case errors.As(err, &rej):
		s.rejected.Add(rej.Total())
		s.log.Warn("samples rejected by storage", "err", err)
		s.flushed()
		return nil
	default:
		s.failed.Inc()
		return fmt.Errorf("store flush of %d samples at %d: %w", len(b.Samples), b.Time, err)
	}
}

func (s *storageSink) flushed() {
	if s.onFlush != nil {
		s.onFlush()
	}
}

// storeMetadata keeps the metric families' types and help for /api/v1/metadata, which
// is served locally in both modes.
func (s *storageSink) storeMetadata(b *ingest.Batch) error {
	for _, m := range b.Metadata {
		if s.metaSet[m] {
			continue
		}
		if err := s.db.SetMetadata(tsdb.Metadata{Name: m.Name, Type: m.Type, Help: m.Help}); err != nil {
			s.failed.Inc()
			return fmt.Errorf("store metadata of %s: %w", m.Name, err)
		}
		s.metaSet[m] = true
	}
	return nil
}

// writeRemoteOnly is Write in "only" mode. The last values are saved before the flush
// is queued: should Ward die between the two, the remote misses one point, which a
// counter's next point covers, whereas the other order could restore an older total
// than the remote holds and make the counter go back (a reset to rate()).
func (s *storageSink) writeRemoteOnly(ctx context.Context, b *ingest.Batch) error {
	if err := s.storeMetadata(b); err != nil {
		return err
	}
	lerr := s.last.record(b.Samples)
	if lerr != nil {
		s.failed.Inc()
		lerr = fmt.Errorf("save last values of flush at %d: %w", b.Time, lerr)
	}
	// Queued even when the last values could not be saved: the remote has its own
	// bound and counters, and the aggregator still holds the totals.
	qerr := s.remote.write(ctx, b)
	if qerr != nil {
		s.failed.Inc()
		qerr = fmt.Errorf("queue flush of %d samples at %d for remote write: %w", len(b.Samples), b.Time, qerr)
	}
	if err := errors.Join(lerr, qerr); err != nil {
		return err
	}
	s.flushed()
	return nil
}
