package ingest

import (
	"fmt"
	"sync"

	"github.com/VictoriaMetrics/metrics"
)

// selfMetrics are the aggregator's own metrics, registered in the caller's set.
type selfMetrics struct {
	set            *metrics.Set
	flushes        *metrics.Counter
	flushErrors    *metrics.Counter
	flushDuration  *metrics.PrometheusHistogram
	samplesFlushed *metrics.Counter
	expired        *metrics.Counter
	limitHits      *metrics.Counter
	pointsDropped  *metrics.Counter
	dormantDropped *metrics.Counter

	byReason  [numReasons]*metrics.Counter
	reasons   sync.Map // string -> *metrics.Counter, for reasons named by other protocols
	protocols sync.Map // string -> *ProtocolCounters
}

func newSelfMetrics(s *metrics.Set, a *Aggregator) *selfMetrics {
	m := &selfMetrics{
		set:            s,
		flushes:        s.GetOrCreateCounter("ward_ingest_flushes_total"),
		flushErrors:    s.GetOrCreateCounter("ward_ingest_flush_errors_total"),
		flushDuration:  s.GetOrCreatePrometheusHistogram("ward_ingest_flush_duration_seconds"),
		samplesFlushed: s.GetOrCreateCounter("ward_ingest_samples_flushed_total"),
		expired:        s.GetOrCreateCounter("ward_ingest_series_expired_total"),
		limitHits:      s.GetOrCreateCounter("ward_ingest_series_limit_hits_total"),
		pointsDropped:  s.GetOrCreateCounter("ward_ingest_timestamped_points_dropped_total"),
		dormantDropped: s.GetOrCreateCounter("ward_ingest_dormant_dropped_total"),
	}
	for r := Reason(1); r < numReasons; r++ {
		c := s.GetOrCreateCounter(fmt.Sprintf("ward_ingest_rejected_lines_total{reason=%q}", r.String()))
		m.byReason[r] = c
		m.reasons.Store(r.String(), c)
	}
	s.GetOrCreateGauge("ward_ingest_series", func() float64 {
		a.mu.Lock()
		defer a.mu.Unlock()
		return float64(a.seriesCost)
	})
	s.GetOrCreateGauge("ward_ingest_dormant_series", func() float64 {
		a.mu.Lock()
		defer a.mu.Unlock()
		return float64(a.nDormant)
	})
	return m
}

func (m *selfMetrics) rejected(reason string) *metrics.Counter {
	if c, ok := m.reasons.Load(reason); ok {
		return c.(*metrics.Counter)
	}
	c := m.set.GetOrCreateCounter(fmt.Sprintf("ward_ingest_rejected_lines_total{reason=%q}", reason))
	m.reasons.Store(reason, c)
	return c
}

// ProtocolCounters count the traffic of one ingest protocol. Listeners add
// per packet or per read, not per line, to keep atomics off the hot path.
type ProtocolCounters struct {
	// LinesReceived counts lines seen, accepted or not
	// (ward_ingest_lines_received_total{protocol=...}).
	LinesReceived *metrics.Counter
	// LinesAccepted counts lines applied
	// (ward_ingest_lines_accepted_total{protocol=...}).
	LinesAccepted *metrics.Counter
	// Packets counts datagrams, stream reads or request bodies
	// (ward_ingest_packets_received_total{protocol=...}).
	Packets *metrics.Counter
}

// Protocol returns the counters of one protocol ("udp", "tcp", "unixgram",
// "unix", "http", "memcache_tcp", ...), creating them on first use.
func (a *Aggregator) Protocol(name string) *ProtocolCounters {
	if p, ok := a.m.protocols.Load(name); ok {
		return p.(*ProtocolCounters)
	}
	s := a.m.set
	p := &ProtocolCounters{
		LinesReceived: s.GetOrCreateCounter(fmt.Sprintf("ward_ingest_lines_received_total{protocol=%q}", name)),
		LinesAccepted: s.GetOrCreateCounter(fmt.Sprintf("ward_ingest_lines_accepted_total{protocol=%q}", name)),
		Packets:       s.GetOrCreateCounter(fmt.Sprintf("ward_ingest_packets_received_total{protocol=%q}", name)),
	}
	actual, _ := a.m.protocols.LoadOrStore(name, p)
	return actual.(*ProtocolCounters)
}

// Metrics returns the set the aggregator registers its metrics in, so that
// listeners built on it can register theirs beside.
func (a *Aggregator) Metrics() *metrics.Set { return a.m.set }
