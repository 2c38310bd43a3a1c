package daemon

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/VictoriaMetrics/metrics"

	"github.com/wardmetrics/ward/ingest"
)

// storageHealth tracks whether flushes reach storage. A failed flush (full disk,
// read-only file system, I/O error) does not lose data at once: the aggregator keeps
// counter totals and gauge values in memory and the next flush carries them. But the
// daemon is not healthy while it lasts, and an orchestrator must be told: /-/ready
// answers 503 with the reason until a flush succeeds again.
type storageHealth struct {
	log *slog.Logger
	// refused, when set, reports whether storage currently refuses writes (full disk,
	// read-only file system), which a flush with nothing to write does not find out.
	refused func() error

	mu    sync.Mutex
	err   error     // the last flush's error; nil when it succeeded
	since time.Time // when the current run of failures began
}

func newStorageHealth(log *slog.Logger, set *metrics.Set) *storageHealth {
	h := &storageHealth{log: log.With("component", "storage-health")}
	// 1 while flushes fail: an alert on it does not need to know the counter's rate.
	set.NewGauge(`ward_storage_write_failing`, func() float64 {
		if h.ready() != nil {
			return 1
		}
		return 0
	})
	return h
}

// observe records the outcome of one flush and logs transitions (not every failure:
// the aggregator already logs each failed flush).
func (h *storageHealth) observe(err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	switch {
	case err != nil && h.err == nil:
		h.since = time.Now()
		h.log.Error("storage writes failing: keeping totals in memory until a flush succeeds; /-/ready reports not ready", "err", err)
	case err == nil && h.err != nil:
		h.log.Info("storage writes recovered", "failing_for", time.Since(h.since).Round(time.Millisecond))
	}
	h.err = err
}

// ready is the API's readiness check.
func (h *storageHealth) ready() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.err == nil {
		if h.refused != nil {
			if err := h.refused(); err != nil {
				return fmt.Errorf("storage refusing writes (counters are kept in memory and written when storage recovers): %w", err)
			}
		}
		return nil
	}
	return fmt.Errorf("storage writes failing since %s (counters are kept in memory and written when storage recovers): %w",
		h.since.UTC().Format(time.RFC3339), h.err)
}

// healthSink reports every flush's outcome to a storageHealth.
type healthSink struct {
	next   ingest.Sink
	health *storageHealth
}

// Write passes the batch on and records whether it was stored.
func (s healthSink) Write(ctx context.Context, b *ingest.Batch) error {
	err := s.next.Write(ctx, b)
	s.health.observe(err)
	return err
}
