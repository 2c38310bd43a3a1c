package ingest

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Run flushes every FlushInterval, at multiples of the interval since the
// Unix epoch, each batch timestamped at its boundary. A failed write is
// logged and counted and the loop goes on: counter totals and gauge values
// are kept, so the next flush carries them. When ctx is cancelled Run does
// one last flush (timestamped now, with a context that is not cancelled)
// and returns its error.
func (a *Aggregator) Run(ctx context.Context) error {
	iv := a.opts.FlushInterval.Milliseconds()
	if iv <= 0 {
		iv = 1
	}
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		now := a.opts.Now()
		ms := now.UnixMilli()
		next := ms - ms%iv + iv
		timer.Reset(time.Duration(next-ms) * time.Millisecond)
		select {
		case <-ctx.Done():
			return a.flushAt(context.WithoutCancel(ctx), a.opts.Now().UnixMilli())
		case <-timer.C:
			if err := a.flushAt(ctx, next); err != nil {
				a.opts.Logger.Error("flush failed", "err", err)
			}
		}
	}
}

// Flush flushes now, timestamping the batch with the current time.
func (a *Aggregator) Flush(ctx context.Context) error {
	return a.flushAt(ctx, a.opts.Now().UnixMilli())
}

// FlushAt flushes with the batch timestamped t (Unix milliseconds); tests
// and tools that replay time use it.
func (a *Aggregator) FlushAt(ctx context.Context, t int64) error {
	return a.flushAt(ctx, t)
}

func (a *Aggregator) flushAt(ctx context.Context, t int64) error {
	a.flushMu.Lock()
	defer a.flushMu.Unlock()
	start := time.Now()
	b := a.collect(t, !a.lastFlushFailed)
	err := a.sink.Write(ctx, b)
	a.lastFlushFailed = err != nil
	a.m.flushes.Inc()
	a.m.samplesFlushed.Add(len(b.Samples))
	a.m.flushDuration.UpdateDuration(start)
	if err != nil {
		a.m.flushErrors.Inc()
		return fmt.Errorf("ingest: write batch of %d samples at %d: %w", len(b.Samples), t, err)
	}
	return nil
}

// collect builds the batch at time t and, if expire, drops series idle for
// longer than IdleExpiry. Expiry waits while flushes fail: a series is only
// dropped once a batch holding its last value was stored, else an outage
// longer than IdleExpiry would lose the last increments of counters that
// went quiet during it. a.mu is held throughout so that marking a series dead and
// removing it are atomic for the slow path; the hot path only takes shard
// locks and sees the dead mark.
func (a *Aggregator) collect(t int64, expire bool) *Batch {
	a.mu.Lock()
	defer a.mu.Unlock()
	b := &Batch{Time: t, Samples: make([]Sample, 0, a.seriesCost)}
	idle := a.opts.IdleExpiry.Milliseconds()
	seen := make(map[*family]struct{})
	var expired []*series
	for i := range a.shards {
		sh := &a.shards[i]
		sh.mu.Lock()
		gen := sh.gen
		sh.gen++
		for _, s := range sh.series {
			if s.touched == uint32(gen) {
				s.lastActive = t
			} else if expire && t-s.lastActive > idle {
				s.dead = true
				expired = append(expired, s)
				continue
			}
			b.Samples = s.emit(b.Samples, t)
			seen[s.fam] = struct{}{}
		}
		sh.mu.Unlock()
	}
	for _, s := range expired {
		a.remove(s)
	}
	a.m.expired.Add(len(expired))
	for f := range seen {
		b.Metadata = append(b.Metadata, Metadata{Name: f.name, Type: f.kind.String(), Help: help(f.kind)})
	}
	slices.SortFunc(b.Metadata, func(x, y Metadata) int { return strings.Compare(x.Name, y.Name) })
	return b
}

// emit appends the series' samples at time t (and its |T points) and starts
// the next interval: sets forget their members, timestamped points are
// cleared.
func (s *series) emit(out []Sample, t int64) []Sample {
	switch s.primary.kind {
	case KindCounter, KindGauge:
		out = append(out, s.points...)
		clear(s.points)
		s.points = s.points[:0]
		out = append(out, Sample{Labels: s.lbls, T: t, V: s.value})
	case KindHistogram:
		h := s.hist
		cum := 0.0
		for i, l := range h.bucketLabels {
			cum += h.counts[i]
			out = append(out, Sample{Labels: l, T: t, V: cum})
		}
		out = append(out,
			Sample{Labels: h.countLabels, T: t, V: h.count},
			Sample{Labels: h.sumLabels, T: t, V: h.sum})
	case KindSet:
		out = append(out, Sample{Labels: s.lbls, T: t, V: float64(s.set.count())})
		s.set.reset()
	}
	return out
}

func help(k Kind) string {
	switch k {
	case KindCounter:
		return "statsd counter: cumulative total kept by Ward"
	case KindGauge:
		return "statsd gauge: last value"
	case KindHistogram:
		return "statsd timer, histogram or distribution: cumulative buckets"
	case KindSet:
		return "statsd set: distinct members in the flush interval"
	}
	return ""
}
