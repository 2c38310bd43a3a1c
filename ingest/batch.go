package ingest

import (
	"context"

	"github.com/prometheus/prometheus/model/labels"
)

// Kind is the statsd type of a measurement, after the aliases are folded:
// timers (ms), histograms (h) and distributions (d) are all KindHistogram.
type Kind uint8

// The kinds of measurement the aggregator keeps.
const (
	KindUnknown Kind = iota
	KindCounter
	KindGauge
	KindHistogram
	KindSet
	// KindEvent and KindServiceCheck are DogStatsD events (_e{) and service
	// checks (_sc|). They are accepted and counted, never stored.
	KindEvent
	KindServiceCheck
)

// String returns the Prometheus metric type the kind is stored as, or the
// DogStatsD name for events and service checks.
func (k Kind) String() string {
	switch k {
	case KindCounter:
		return "counter"
	case KindGauge, KindSet:
		return "gauge"
	case KindHistogram:
		return "histogram"
	case KindEvent:
		return "event"
	case KindServiceCheck:
		return "service_check"
	}
	return "unknown"
}

// Sample is one value of one series. T is in Unix milliseconds.
type Sample struct {
	Labels labels.Labels
	T      int64
	V      float64
}

// Metadata is the Prometheus type of a metric family ("counter", "gauge",
// "histogram") so that /api/v1/metadata can serve it.
type Metadata struct {
	Name string
	Type string
	Help string
}

// Batch is everything one flush produced. Time is the interval boundary in
// Unix milliseconds; every sample carries T == Time except samples of lines
// sent with a DogStatsD |T timestamp, which carry that time.
//
// The aggregator never touches a Batch again after handing it to Sink.Write,
// so the sink may keep it. Labels are shared between flushes and must not be
// modified.
type Batch struct {
	Time     int64
	Samples  []Sample
	Metadata []Metadata
}

// Sink receives every flush. The daemon adapts it to the storage engine.
// Write is called from one goroutine at a time.
type Sink interface {
	Write(ctx context.Context, b *Batch) error
}

// Metric is one parsed statsd measurement, as the statsd parser hands it to
// Aggregator.Add. Its byte slices alias the parser's input: they are only
// read during Add and never retained (the aggregator copies what it keeps
// when it creates a series), which is what keeps the hot path free of
// allocations.
type Metric struct {
	// Name is the raw statsd name; the aggregator sanitises it.
	Name []byte
	// Tags is the raw DogStatsD tag list without the leading '#':
	// "k:v,k2:v2,flag". Empty when the line had no tags.
	Tags []byte
	Kind Kind
	// Values holds the line's values (several with DogStatsD 1.1 packing).
	// For gauges the parser folds them into exactly one value.
	Values []float64
	// Member is the member of a set (KindSet); Values is empty then.
	Member []byte
	// Rate is the sample rate in (0, 1]; 1 when the line had none.
	Rate float64
	// T is the |T timestamp in Unix milliseconds, or 0 when absent.
	T int64
	// Delta makes a gauge value an increment of the current value (Etsy's
	// meaning of a signed gauge) instead of the new value.
	Delta bool
	// NameHash is Name hashed with the aggregator's NameHasher, when the
	// parser computed it in its own pass over the name, or 0: the
	// aggregator then hashes Name itself. A parser reusing a Metric must
	// reset it with Name.
	NameHash uint64
}
