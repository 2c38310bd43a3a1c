package experiment

import (
	"github.com/VictoriaMetrics/metrics"
)

// selfMetrics are the Manager's own counters, on the caller's metrics.Set.
type selfMetrics struct {
	assignments             map[Reason]*metrics.Counter
	exposures               *metrics.Counter
	clientExposuresRejected *metrics.Counter
	eventsReceived          *metrics.Counter
	eventsCounted           *metrics.Counter
	eventsIgnored           *metrics.Counter
	storeErrors             *metrics.Counter
	seriesErrors            *metrics.Counter
}

func newSelfMetrics(set *metrics.Set) *selfMetrics {
	s := &selfMetrics{
		assignments:             map[Reason]*metrics.Counter{},
		exposures:               set.GetOrCreateCounter("ward_experiment_exposures_recorded_total"),
		clientExposuresRejected: set.GetOrCreateCounter("ward_experiment_client_exposures_rejected_total"),
		eventsReceived:          set.GetOrCreateCounter("ward_experiment_events_received_total"),
		eventsCounted:           set.GetOrCreateCounter("ward_experiment_events_counted_total"),
		eventsIgnored:           set.GetOrCreateCounter("ward_experiment_events_ignored_total"),
		storeErrors:             set.GetOrCreateCounter("ward_experiment_store_errors_total"),
		seriesErrors:            set.GetOrCreateCounter("ward_experiment_series_append_errors_total"),
	}
	// Created up front: the map is read without a lock on the assignment path.
	for _, r := range []Reason{ReasonAssigned, ReasonSticky, ReasonClosed, ReasonInactive, ReasonQAOnly, ReasonNotInRollout} {
		s.assignments[r] = set.GetOrCreateCounter(`ward_experiment_assignments_total{reason="` + string(r) + `"}`)
	}
	return s
}

func (s *selfMetrics) assigned(r Reason) {
	if c := s.assignments[r]; c != nil {
		c.Inc()
	}
}
