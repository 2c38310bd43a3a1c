package daemon

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/wardmetrics/ward/api/remote"
	"github.com/wardmetrics/ward/api/stream"
	"github.com/wardmetrics/ward/deploy"
	"github.com/wardmetrics/ward/ingest"
	"github.com/wardmetrics/ward/ingest/remotewrite"
	"github.com/wardmetrics/ward/rules"
	"github.com/wardmetrics/ward/tsdb"
)

// remoteParts are the ways out to a cluster TSDB: one remote writer per
// --remote-write-url, each with its own durable queue, and the --query-url querier.
//
// By default remote write runs in "also" mode: every flush is stored locally as before
// and queued for each remote. Local storage stays the source of Ward's own API and UI,
// of counter continuity across restarts (restore reads the last values) and of
// recording rules' output; its retention can be short on a node whose history lives
// in the cluster.
//
// With --remote-write-only ("only" mode) flushes, rule and experiment samples go to
// the queues alone; Ward's query API, live panels, rules and guard read the cluster
// through --query-url; and counter continuity comes from the last values the sink
// keeps in the local KV (see lastValues), not from the remote, which may lag behind
// by its queue or be down when Ward starts.
type remoteParts struct {
	log     *slog.Logger
	writers []*remotewrite.Writer
	querier *remote.Querier
	only    bool
}

// validateRemoteWriteOnly fails the start when --remote-write-only lacks what it
// needs: a place to send the samples and a place to read them back. It runs before
// storage opens, so the error is the first and only thing the user sees.
func validateRemoteWriteOnly(o Options) error {
	if !o.RemoteWriteOnly {
		return nil
	}
	var missing []string
	if len(o.RemoteWriteURLs) == 0 {
		missing = append(missing, "--remote-write-url (where flushes go)")
	}
	if o.QueryURL == "" {
		missing = append(missing, "--query-url (where Ward's query API, rules and guard read them back)")
	}
	if len(missing) > 0 {
		return fmt.Errorf("--remote-write-only stores no samples locally and needs %s", strings.Join(missing, " and "))
	}
	return nil
}

// newRemote opens the remote writers' queues (a KV namespace per URL, so that changing
// the list of URLs never sends one remote's backlog to another) and the querier.
func newRemote(o Options, db *tsdb.DB, set *metrics.Set) (*remoteParts, error) {
	if err := validateRemoteWriteOnly(o); err != nil {
		return nil, err
	}
	rp := &remoteParts{log: o.Logger.With("component", "remote-write"), only: o.RemoteWriteOnly}
	ext := labels.FromMap(o.RemoteWriteLabels)
	if err := ext.Validate(func(l labels.Label) error {
		if !model.LegacyValidation.IsValidLabelName(l.Name) || l.Name == model.MetricNameLabel {
			return fmt.Errorf("--remote-write-label: %q is not a valid label name", l.Name)
		}
		return nil
	}); err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	for _, u := range o.RemoteWriteURLs {
		if seen[u] {
			return nil, fmt.Errorf("--remote-write-url %s given twice", u)
		}
		seen[u] = true
		w, err := remotewrite.New(remotewrite.Options{
			URL:            u,
			MaxQueueBytes:  o.RemoteQueueMaxBytes,
			ExternalLabels: ext,
			UserAgent:      "ward/" + o.Version,
			Logger:         o.Logger.With("component", "remote-write"),
		}, db.KV(queueNamespace(u)), set)
		if err != nil {
			return nil, fmt.Errorf("start remote write to %s: %w", u, err)
		}
		n, b := w.Queued()
		o.Logger.Info("remote write", "url", u, "queued_requests", n, "queued_bytes", b)
		rp.writers = append(rp.writers, w)
	}
	if o.QueryURL != "" {
		q, err := remote.New(o.QueryURL, remote.Options{Timeout: o.QueryTimeout}, set)
		if err != nil {
			return nil, fmt.Errorf("--query-url %s: %w", o.QueryURL, err)
		}
		rp.querier = q
		if o.RemoteWriteOnly {
			o.Logger.Info("remote-write-only: flushes go to the remote-write queues alone; the query API, rules and guard read the remote", "url", o.QueryURL)
		} else {
			o.Logger.Info("rules and guard query the remote", "url", o.QueryURL)
		}
	}
	return rp, nil
}

// queueNamespace names a remote's queue by a hash of its URL: URLs may be long and
// carry credentials, which do not belong in key names.
func queueNamespace(u string) string {
	h := sha256.Sum256([]byte(u))
	return "remote-write/" + hex.EncodeToString(h[:8])
}

// runners send each queue until shutdown; what is left stays queued on disk.
func (rp *remoteParts) runners() []runner {
	var rs []runner
	for _, w := range rp.writers {
		rs = append(rs, runner{"remote-write", w.Run})
	}
	return rs
}

// write queues a flush for every remote. A failure of one queue does not keep the
// flush from the others.
func (rp *remoteParts) write(ctx context.Context, b *ingest.Batch) error {
	if rp == nil {
		return nil
	}
	var errs []error
	for _, w := range rp.writers {
		if err := w.Write(ctx, b); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// writeSamples queues samples Ward produces itself (recording rules, ALERTS,
// experiment series) for the remotes. Failures are counted and logged by the writers.
func (rp *remoteParts) writeSamples(ss []tsdb.Sample) {
	if rp == nil || len(rp.writers) == 0 || len(ss) == 0 {
		return
	}
	b := &ingest.Batch{Time: ss[0].T, Samples: make([]ingest.Sample, len(ss))}
	for i, s := range ss {
		b.Samples[i] = ingest.Sample{Labels: s.Labels, T: s.T, V: s.V}
	}
	if err := rp.write(context.Background(), b); err != nil {
		rp.log.Error("queue rule or experiment samples for remote write", "err", err)
	}
}

// storeSamples writes samples Ward produces itself (recording rules, ALERTS,
// experiment series): into local storage and the queues, or in "only" mode into the
// queues alone, where a failure is the caller's to see.
func (rp *remoteParts) storeSamples(db *tsdb.DB, ss []tsdb.Sample) error {
	if rp != nil && rp.only {
		if len(ss) == 0 {
			return nil
		}
		b := &ingest.Batch{Time: ss[0].T, Samples: make([]ingest.Sample, len(ss))}
		for i, s := range ss {
			b.Samples[i] = ingest.Sample{Labels: s.Labels, T: s.T, V: s.V}
		}
		return rp.write(context.Background(), b)
	}
	rp.writeSamples(ss)
	return db.Append(ss)
}

// streamQuery is the live panels' query: the remote's in "only" mode, where local
// storage holds no samples, otherwise local (fresher than the remote by its queue).
func (rp *remoteParts) streamQuery(local stream.QueryFunc) stream.QueryFunc {
	if rp == nil || !rp.only || rp.querier == nil {
		return local
	}
	q := rp.querier
	return func(ctx context.Context, expr string, t time.Time) ([]stream.Sample, error) {
		v, err := q.Query(ctx, expr, t)
		if err != nil {
			return nil, err
		}
		out := make([]stream.Sample, len(v))
		for i, s := range v {
			out[i] = stream.Sample{Labels: s.Metric, T: s.T, V: s.F}
		}
		return out, nil
	}
}

// query is the rules' and guard's instant query: the remote's when --query-url is set,
// otherwise local.
func (rp *remoteParts) query(local rules.QueryFunc) rules.QueryFunc {
	if rp == nil || rp.querier == nil {
		return local
	}
	return rp.querier.Query
}

// rangeQuery is the guard's range query, remote or local as query is.
func (rp *remoteParts) rangeQuery(local deploy.RangeQueryFunc) deploy.RangeQueryFunc {
	if rp == nil || rp.querier == nil {
		return local
	}
	return rp.querier.QueryRange
}

// Ensure the ingest side sees the writers as sinks.
var _ ingest.Sink = (*remotewrite.Writer)(nil)
