package daemon

import (
	"fmt"

	"github.com/VictoriaMetrics/metrics"

	"github.com/wardmetrics/ward/api"
	"github.com/wardmetrics/ward/ingest"
	"github.com/wardmetrics/ward/ingest/statsd"
	"github.com/wardmetrics/ward/tsdb"
)

// newAPI builds the HTTP server over storage and the aggregator; ready backs /-/ready.
func newAPI(o Options, token string, db *tsdb.DB, agg *ingest.Aggregator, set *metrics.Set, ready func() error) (*api.Server, error) {
	srv, err := api.New(api.Options{
		Queryable: db,
		Metadata: func() []api.Metadata {
			md := db.Metadata()
			out := make([]api.Metadata, len(md))
			for i, m := range md {
				out[i] = api.Metadata{MetricFamily: m.Name, Type: m.Type, Help: m.Help, Unit: m.Unit}
			}
			return out
		},
		IngestStatsd:        func(body []byte) any { return statsd.HandleBody(agg, body) },
		IngestErrors:        func() any { return agg.Rejects() },
		Metrics:             set,
		Logger:              o.Logger.With("component", "api"),
		AuthToken:           token,
		RequireAuthForReads: o.AuthReads,
		Timeout:             o.QueryTimeout,
		MaxSamples:          o.QueryMaxSamples,
		Version:             o.Version,
		Ready:               ready,
		StorageRetention:    o.RetentionRaw.String(),
	})
	if err != nil {
		return nil, fmt.Errorf("build HTTP API: %w", err)
	}
	return srv, nil
}
