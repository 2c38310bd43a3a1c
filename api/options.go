package api

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/prometheus/prometheus/storage"
)

// Defaults applied by Options.EnsureDefaults. The query limits are
// Prometheus' own defaults, so a query that runs on Prometheus runs on Ward.
const (
	DefaultMaxSamples          = 50_000_000
	DefaultTimeout             = 2 * time.Minute
	DefaultMaxConcurrent       = 20
	DefaultMaxPointsPerSeries  = 11_000
	DefaultLookbackDelta       = 5 * time.Minute
	DefaultSubqueryStep        = time.Minute
	DefaultMaxBodyBytes        = 8 << 20
	DefaultMaxHeaderBytes      = 64 << 10
	DefaultReadTimeout         = 30 * time.Second
	DefaultIdleTimeout         = 2 * time.Minute
	DefaultShutdownTimeout     = 10 * time.Second
	defaultWriteTimeoutPadding = 30 * time.Second
)

// Metadata describes one metric family for /api/v1/metadata. Ward knows the
// type of every family from the statsd line that created it.
type Metadata struct {
	// MetricFamily is the metric name without the _bucket/_sum/_count suffixes.
	MetricFamily string
	// Type is a Prometheus metric type: "counter", "gauge", "histogram",
	// "summary" or "unknown".
	Type string
	Help string
	Unit string
}

// Options configures a Server. The zero value of every field but Queryable
// works; call EnsureDefaults to fill in the limits.
type Options struct {
	// Queryable is what the PromQL engine and the label and series APIs read.
	Queryable storage.Queryable
	// Metadata lists metric families and their types. Nil answers an empty set.
	Metadata func() []Metadata
	// IngestStatsd handles the body of POST /api/v1/statsd (newline-separated
	// statsd lines) and returns a JSON-marshalable summary served as the
	// response's data. The body is valid only during the call: it belongs to
	// the HTTP server's request buffer. Nil leaves the endpoint unmounted (404).
	IngestStatsd func(body []byte) any
	// IngestErrors returns the recently rejected lines for
	// GET /api/v1/ingest/errors. Nil leaves the endpoint unmounted.
	IngestErrors func() any
	// Ready reports whether the daemon can answer queries; a non-nil error
	// makes /-/ready answer 503 with the error's text. Nil means always ready.
	Ready func() error
	// ConfigYAML returns the running configuration for /api/v1/status/config.
	ConfigYAML func() string

	// Metrics is where the server registers its own metrics and what /metrics
	// serves (together with process metrics). Nil makes a private set.
	Metrics *metrics.Set
	// Logger receives errors the client never sees (panics, write failures).
	// Nil discards them.
	Logger *slog.Logger

	// AuthToken, when set, is required as "Authorization: Bearer <token>" on
	// every endpoint that changes state (everything but GET and HEAD, and but
	// the query endpoints, which read with POST too).
	AuthToken string
	// RequireAuthForReads extends AuthToken to every endpoint except the
	// health checks.
	RequireAuthForReads bool

	// MaxSamples bounds the samples one query may hold in memory at once.
	MaxSamples int
	// Timeout bounds each query's run time, including waiting for a slot.
	// A request's "timeout" parameter can only shorten it.
	Timeout time.Duration
	// MaxConcurrent queries run at once; more wait for a slot until their
	// timeout.
	MaxConcurrent int
	// MaxPointsPerSeries bounds (end-start)/step of a range query.
	MaxPointsPerSeries int
	// LookbackDelta is how far back an instant selector looks for a sample.
	LookbackDelta time.Duration
	// SubqueryStep is the step of a subquery written without one ([1h:]).
	SubqueryStep time.Duration

	// MaxBodyBytes bounds a request body (form posts and statsd batches).
	MaxBodyBytes int
	// MaxHeaderBytes bounds the request line plus headers, hence the length
	// of a GET query.
	MaxHeaderBytes int
	// ReadTimeout bounds reading one request; IdleTimeout keep-alive idleness.
	ReadTimeout time.Duration
	IdleTimeout time.Duration
	// ShutdownTimeout is how long Serve lets in-flight requests finish after
	// its context is cancelled before it cancels the queries still running.
	ShutdownTimeout time.Duration
	// DisableCompression turns off gzip/deflate/zstd of responses.
	DisableCompression bool

	// Version, Revision, Branch, BuildUser and BuildDate feed
	// /api/v1/status/buildinfo.
	Version, Revision, Branch, BuildUser, BuildDate string
	// StorageRetention is shown in /api/v1/status/runtimeinfo ("30d").
	StorageRetention string

	// Now is the clock for the default "time" of instant queries. Nil means
	// time.Now.
	Now func() time.Time
}

// EnsureDefaults returns a copy of o with every unset limit at its default.
func (o Options) EnsureDefaults() Options {
	setDefault(&o.MaxSamples, DefaultMaxSamples)
	setDefault(&o.Timeout, DefaultTimeout)
	setDefault(&o.MaxConcurrent, DefaultMaxConcurrent)
	setDefault(&o.MaxPointsPerSeries, DefaultMaxPointsPerSeries)
	setDefault(&o.LookbackDelta, DefaultLookbackDelta)
	setDefault(&o.SubqueryStep, DefaultSubqueryStep)
	setDefault(&o.MaxBodyBytes, DefaultMaxBodyBytes)
	setDefault(&o.MaxHeaderBytes, DefaultMaxHeaderBytes)
	setDefault(&o.ReadTimeout, DefaultReadTimeout)
	setDefault(&o.IdleTimeout, DefaultIdleTimeout)
	setDefault(&o.ShutdownTimeout, DefaultShutdownTimeout)
	if o.Metrics == nil {
		o.Metrics = metrics.NewSet()
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Version == "" {
		o.Version = "unknown"
	}
	return o
}

func setDefault[T int | time.Duration](v *T, def T) {
	if *v == 0 {
		*v = def
	}
}

// Validate reports the first option that cannot work.
func (o Options) Validate() error {
	if o.Queryable == nil {
		return errors.New("api: Options.Queryable is nil")
	}
	for _, c := range []struct {
		name string
		v    int64
	}{
		{"MaxSamples", int64(o.MaxSamples)},
		{"Timeout", int64(o.Timeout)},
		{"MaxConcurrent", int64(o.MaxConcurrent)},
		{"MaxPointsPerSeries", int64(o.MaxPointsPerSeries)},
		{"LookbackDelta", int64(o.LookbackDelta)},
		{"SubqueryStep", int64(o.SubqueryStep)},
		{"MaxBodyBytes", int64(o.MaxBodyBytes)},
		{"MaxHeaderBytes", int64(o.MaxHeaderBytes)},
		{"ReadTimeout", int64(o.ReadTimeout)},
		{"IdleTimeout", int64(o.IdleTimeout)},
		{"ShutdownTimeout", int64(o.ShutdownTimeout)},
	} {
		if c.v < 0 {
			return fmt.Errorf("api: Options.%s is negative (%d)", c.name, c.v)
		}
	}
	if o.RequireAuthForReads && o.AuthToken == "" {
		return errors.New("api: Options.RequireAuthForReads is set without an AuthToken")
	}
	return nil
}
