package ingest

import (
	"fmt"
	"log/slog"
	"slices"
	"time"
)

// DefaultBuckets are the upper bounds of the histogram buckets used for
// timers, histograms and distributions when Options.Buckets is empty. They
// suit latencies sent in milliseconds (statsd's unit for timers), from half a
// millisecond to a minute in 1-2.5-5 steps; values are stored in the unit
// they were sent in, so a histogram sent in seconds needs its own layout
// (Options.HistogramBuckets).
var DefaultBuckets = []float64{
	0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 500,
	1000, 2500, 5000, 10000, 30000, 60000,
}

// Options configure an Aggregator. The zero value is usable: EnsureDefaults
// fills every unset field.
type Options struct {
	// FlushInterval is how often a Batch is handed to the Sink (default 10s).
	// Flushes are aligned to multiples of it since the Unix epoch.
	FlushInterval time.Duration
	// IdleExpiry is how long a series that receives nothing keeps being
	// emitted before it is dropped (default 5m).
	IdleExpiry time.Duration
	// Buckets are the histogram upper bounds (default DefaultBuckets); +Inf
	// is always added.
	Buckets []float64
	// HistogramBuckets overrides Buckets for single metric names, keyed by
	// the sanitised name (e.g. "checkout_time").
	HistogramBuckets map[string][]float64
	// MaxSeries bounds the series kept in memory, counted as stored series
	// (a histogram counts its buckets plus _count and _sum). Default 1,000,000.
	MaxSeries int
	// MaxSeriesPerName bounds the series of one metric name. Default 100,000.
	MaxSeriesPerName int
	// MaxLineLen is the longest accepted line in bytes (default 8192).
	MaxLineLen int
	// MaxNameLen is the longest accepted metric name in bytes (default 256).
	MaxNameLen int
	// MaxTagLen is the longest accepted tag ("key:value") in bytes (default 256).
	MaxTagLen int
	// MaxTags is the most tags accepted on one line (default 32).
	MaxTags int
	// MaxDormant bounds how many totals of dropped or restored series are
	// remembered so that counters continue from them (default MaxSeries).
	MaxDormant int
	// Shards is the number of independently locked shards (default 64,
	// rounded up to a power of two).
	Shards int
	// Now is the clock (default time.Now); tests replace it.
	Now func() time.Time
	// Logger receives flush errors (default slog.Default() with a
	// component attribute).
	Logger *slog.Logger
}

// EnsureDefaults fills unset fields with their defaults and returns o.
func (o *Options) EnsureDefaults() *Options {
	if o.FlushInterval <= 0 {
		o.FlushInterval = 10 * time.Second
	}
	if o.IdleExpiry <= 0 {
		o.IdleExpiry = 5 * time.Minute
	}
	if len(o.Buckets) == 0 {
		o.Buckets = DefaultBuckets
	}
	if o.MaxSeries <= 0 {
		o.MaxSeries = 1_000_000
	}
	if o.MaxSeriesPerName <= 0 {
		o.MaxSeriesPerName = 100_000
	}
	if o.MaxLineLen <= 0 {
		o.MaxLineLen = 8192
	}
	if o.MaxNameLen <= 0 {
		o.MaxNameLen = 256
	}
	if o.MaxTagLen <= 0 {
		o.MaxTagLen = 256
	}
	if o.MaxTags <= 0 {
		o.MaxTags = 32
	}
	if o.MaxDormant <= 0 {
		o.MaxDormant = o.MaxSeries
	}
	if o.Shards <= 0 {
		o.Shards = 64
	}
	n := 1
	for n < o.Shards {
		n <<= 1
	}
	o.Shards = n
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.Default().With("component", "ingest")
	}
	return o
}

// Validate reports options that cannot work, such as unsorted buckets.
func (o *Options) Validate() error {
	if err := validateBuckets(o.Buckets); err != nil {
		return fmt.Errorf("ingest: buckets: %w", err)
	}
	for name, b := range o.HistogramBuckets {
		if err := validateBuckets(b); err != nil {
			return fmt.Errorf("ingest: buckets of %q: %w", name, err)
		}
	}
	return nil
}

func validateBuckets(b []float64) error {
	if len(b) == 0 {
		return fmt.Errorf("no buckets")
	}
	for i, v := range b {
		if v != v {
			return fmt.Errorf("bucket %d is NaN", i)
		}
		if i > 0 && v <= b[i-1] {
			return fmt.Errorf("bucket %d (%g) not above bucket %d (%g)", i, v, i-1, b[i-1])
		}
	}
	if !slices.IsSorted(b) {
		return fmt.Errorf("buckets %v are not sorted", b)
	}
	return nil
}
