package daemon

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/wardmetrics/ward/api"
	"github.com/wardmetrics/ward/api/stream"
	"github.com/wardmetrics/ward/tsdb"
	"github.com/wardmetrics/ward/ui"
)

// mountUI serves the web app at /, the dashboards API over storage and the websocket
// hub at /api/v1/stream. It returns the hub (whose Notify the sink calls after each
// flush) and the runners to start: the hub's evaluation loop, and the recorder that
// copies Ward's own ingest and storage counters into storage for the System dashboard.
func mountUI(o Options, srv *api.Server, db *tsdb.DB, rp *remoteParts, alerts *alerting, set *metrics.Set) (*stream.Hub, []runner, error) {
	app, err := ui.New()
	if err != nil {
		return nil, nil, err
	}
	app.Mount(srv)
	ui.NewDashboards(db.KV("dashboards")).Mount(srv)

	hub, err := stream.New(stream.Options{
		Query:   rp.streamQuery(streamQuery(srv.Engine(), db)),
		Checks:  func() any { return alerts.manager.Checks() },
		Metrics: set,
		Logger:  o.Logger.With("component", "stream"),
	})
	if err != nil {
		return nil, nil, fmt.Errorf("build stream hub: %w", err)
	}
	srv.HandleAccess("GET", "/api/v1/stream", api.AccessRead, hub.ServeFastHTTP)
	rec := &selfRecorder{db: db, set: set, every: o.FlushInterval, parser: parser.NewParser(parser.Options{})}
	return hub, []runner{{"stream", hub.Run}, {"self-metrics", rec.run}}, nil
}

// streamQuery evaluates the hub's subscriptions as instant queries over storage.
func streamQuery(engine *promql.Engine, db *tsdb.DB) stream.QueryFunc {
	return func(ctx context.Context, qs string, t time.Time) ([]stream.Sample, error) {
		q, err := engine.NewInstantQuery(ctx, db, nil, qs, t)
		if err != nil {
			return nil, err
		}
		defer q.Close()
		res := q.Exec(ctx)
		if res.Err != nil {
			return nil, res.Err
		}
		switch v := res.Value.(type) {
		case promql.Vector:
			out := make([]stream.Sample, len(v))
			for i, s := range v {
				out[i] = stream.Sample{Labels: s.Metric, T: s.T, V: s.F}
			}
			return out, nil
		case promql.Scalar:
			return []stream.Sample{{Labels: labels.EmptyLabels(), T: v.T, V: v.V}}, nil
		default:
			return nil, fmt.Errorf("stream expression %q returned %s, want a vector or scalar", qs, res.Value.Type())
		}
	}
}

// selfRecordedPrefixes are the self-metrics copied into storage: few enough to cost
// nothing, and what the System dashboard graphs.
var selfRecordedPrefixes = []string{"ward_ingest_", "ward_storage_", "ward_stream_clients", "ward_stream_dropped_clients_total"}

// selfRecorder appends Ward's own counters and gauges from its metrics set into
// storage at every flush interval, so that they can be graphed and alerted on like
// any other series. Histograms and summaries are left to /metrics.
type selfRecorder struct {
	db     *tsdb.DB
	set    *metrics.Set
	every  time.Duration
	parser parser.Parser
	buf    bytes.Buffer
}

func (r *selfRecorder) run(ctx context.Context) error {
	t := time.NewTicker(r.every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case now := <-t.C:
			// A failed append (storage closing) loses one point of self-metrics;
			// the next tick records the totals again.
			_ = r.db.Append(r.samples(now))
		}
	}
}

// samples reads the set's exposition and keeps the recorded names.
func (r *selfRecorder) samples(now time.Time) []tsdb.Sample {
	r.buf.Reset()
	r.set.WritePrometheus(&r.buf)
	ts := now.UnixMilli()
	var out []tsdb.Sample
	for _, line := range strings.Split(r.buf.String(), "\n") {
		if line == "" || line[0] == '#' || !recorded(line) {
			continue
		}
		sp := strings.LastIndexByte(line, ' ')
		if sp < 0 {
			continue
		}
		name := line[:sp]
		if strings.Contains(name, "_bucket{") || strings.Contains(name, "vmrange=") || strings.Contains(name, "quantile=") {
			continue
		}
		v, err := strconv.ParseFloat(line[sp+1:], 64)
		if err != nil {
			continue
		}
		ls, err := r.parser.ParseMetric(name)
		if err != nil {
			continue
		}
		out = append(out, tsdb.Sample{Labels: ls, T: ts, V: v})
	}
	return out
}

func recorded(line string) bool {
	for _, p := range selfRecordedPrefixes {
		if strings.HasPrefix(line, p) {
			return true
		}
	}
	return false
}
