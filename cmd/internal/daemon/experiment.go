package daemon

import (
	"fmt"

	"github.com/VictoriaMetrics/metrics"

	"github.com/wardmetrics/ward/experiment"
	"github.com/wardmetrics/ward/tsdb"
)

// newExperiments opens the experiment system over its own KV namespace and loads the
// definition files given with --experiments.
func newExperiments(o Options, db *tsdb.DB, rp *remoteParts, set *metrics.Set) (*experiment.Manager, error) {
	m, err := experiment.Open(kvBatcher{db.KV("experiment")}, experimentAppender{db, rp}, set, experiment.Options{
		Logger: o.Logger.With("component", "experiment"),
	})
	if err != nil {
		return nil, fmt.Errorf("open experiments: %w", err)
	}
	if len(o.ExperimentGlobs) > 0 {
		defs, err := experiment.LoadFiles(o.ExperimentGlobs...)
		if err != nil {
			return nil, fmt.Errorf("load experiment files %v: %w", o.ExperimentGlobs, err)
		}
		if _, err := m.Apply(defs, "file"); err != nil {
			return nil, fmt.Errorf("apply experiment files %v: %w", o.ExperimentGlobs, err)
		}
	}
	return m, nil
}

// kvBatcher gives the experiment store atomic multi-key writes (a definition with its
// history entry, a batch of events) in one Pebble batch.
type kvBatcher struct{ *tsdb.KV }

func (b kvBatcher) PutMany(keys, vals [][]byte) error {
	pairs := make([]tsdb.KVPair, len(keys))
	for i := range keys {
		pairs[i] = tsdb.KVPair{Key: keys[i], Value: vals[i]}
	}
	return b.PutBatch(pairs)
}

// experimentAppender writes exposure and conversion series into storage, and queues
// them for the remote-write URLs.
type experimentAppender struct {
	db *tsdb.DB
	rp *remoteParts
}

func (a experimentAppender) Append(ss []experiment.Sample) error {
	out := make([]tsdb.Sample, len(ss))
	for i, s := range ss {
		out[i] = tsdb.Sample(s)
	}
	return a.rp.storeSamples(a.db, out)
}
