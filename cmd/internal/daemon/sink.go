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
	// Queued for the remotes first and whatever happens locally: the remote queue has
	// its own bound and counters, and a local failure must not create a remote gap.
	if err := s.remote.write(ctx, b); err != nil {
		s.log.Error("queue flush for remote write", "err", err)
	}
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
