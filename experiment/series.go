package experiment

import (
	"context"
	"fmt"
	"time"

	"github.com/prometheus/prometheus/model/labels"
)

// Names of the time series the Manager appends, so that conversion over time can be
// graphed: conversions_total / exposures_total per branch.
const (
	// SeriesExposures counts users exposed, per experiment and branch.
	SeriesExposures = "ward_experiment_exposures_total"
	// SeriesConversions counts exposed users with at least one counted event, per
	// experiment, branch and metric.
	SeriesConversions = "ward_experiment_conversions_total"
	// SeriesEvents counts counted events, per experiment, branch and metric.
	SeriesEvents = "ward_experiment_events_total"
	// SeriesValue sums counted event values, per experiment, branch and metric.
	SeriesValue = "ward_experiment_value_total"
)

// Sample is one point of a time series.
type Sample struct {
	Labels labels.Labels
	// T is the timestamp in Unix milliseconds.
	T int64
	V float64
}

// Appender receives the experiments' time series; the daemon adapts it to the storage
// engine's Append.
type Appender interface {
	Append(samples []Sample) error
}

// FlushSeries appends, at time now, the cumulative counts of every experiment changed
// since the last flush. The counters are cumulative so that a lost flush loses
// resolution, not counts.
func (m *Manager) FlushSeries(now time.Time) error {
	if m.app == nil {
		return nil
	}
	ts := now.UnixMilli()
	var samples []Sample
	var flushed []*experiment
	for _, e := range m.snapshot() {
		e.mu.Lock()
		if !e.dirty {
			e.mu.Unlock()
			continue
		}
		e.dirty = false
		flushed = append(flushed, e)
		for b, br := range e.def.Branches {
			samples = append(samples, Sample{
				Labels: labels.FromStrings("__name__", SeriesExposures, "branch", br.Name, "experiment", e.name),
				T:      ts, V: float64(e.branchUsers[b]),
			})
			for _, mt := range e.order {
				ls := func(name string) labels.Labels {
					return labels.FromStrings("__name__", name, "branch", br.Name, "experiment", e.name, "metric", mt.name)
				}
				samples = append(samples,
					Sample{Labels: ls(SeriesConversions), T: ts, V: float64(mt.converted[b])},
					Sample{Labels: ls(SeriesEvents), T: ts, V: float64(mt.events[b])},
					Sample{Labels: ls(SeriesValue), T: ts, V: mt.value[b]},
				)
			}
		}
		e.mu.Unlock()
	}
	if len(samples) == 0 {
		return nil
	}
	if err := m.app.Append(samples); err != nil {
		m.met.seriesErrors.Inc()
		// Mark them dirty again so that the next flush retries.
		for _, e := range flushed {
			e.mu.Lock()
			e.dirty = true
			e.mu.Unlock()
		}
		return fmt.Errorf("experiment: append %d series samples: %w", len(samples), err)
	}
	return nil
}

// Run appends the time series every Options.SeriesInterval until ctx is done, then
// flushes once more. It returns nil on cancellation; append failures are logged and
// retried at the next tick.
func (m *Manager) Run(ctx context.Context) error {
	t := time.NewTicker(m.opts.SeriesInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			if err := m.FlushSeries(m.opts.Now()); err != nil {
				m.opts.Logger.Warn("experiment series: final flush failed", "err", err)
			}
			return nil
		case <-t.C:
			if err := m.FlushSeries(m.opts.Now()); err != nil {
				m.opts.Logger.Warn("experiment series: flush failed", "err", err)
			}
		}
	}
}
