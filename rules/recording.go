package rules

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/timestamp"
	"github.com/prometheus/prometheus/model/value"
	"github.com/prometheus/prometheus/promql"

	"github.com/wardmetrics/ward/rules/notify"
)

// staleNaN marks the end of a series, as Prometheus writes when a rule's
// output disappears.
var staleNaN = math.Float64frombits(value.StaleNaN)

var errDuplicateSeries = errors.New("vector contains metrics with the same labelset after applying rule labels")

// recordingRule writes the result of its expression as a new series.
type recordingRule struct {
	spec   RuleSpec
	labels labels.Labels

	mu           sync.Mutex
	health       string
	lastError    string
	lastEval     time.Time
	evalDuration time.Duration
	prevSeries   map[uint64]labels.Labels
}

func newRecordingRule(spec RuleSpec) *recordingRule {
	return &recordingRule{spec: spec, labels: labelsOf(spec.Labels), health: healthUnknown}
}

func (r *recordingRule) eval(ctx context.Context, env *evalEnv) ([]Sample, []notify.Alert, error) {
	start := time.Now()
	vec, err := env.query(ctx, r.spec.Expr, env.queryTS)
	r.mu.Lock()
	defer r.mu.Unlock()
	defer func() { r.evalDuration = time.Since(start) }()
	r.lastEval = env.ts
	if err == nil {
		var samples []Sample
		samples, err = r.samples(vec, timestamp.FromTime(env.queryTS), env.group.spec.Limit)
		if err == nil {
			r.health, r.lastError = healthOK, ""
			return samples, nil, nil
		}
	}
	r.health, r.lastError = healthErr, err.Error()
	return nil, nil, fmt.Errorf("recording rule %q: %w", r.spec.Record, err)
}

func (r *recordingRule) samples(vec promql.Vector, ts int64, limit int) ([]Sample, error) {
	if limit > 0 && len(vec) > limit {
		return nil, fmt.Errorf("exceeded limit of %d with %d series", limit, len(vec))
	}
	out := make([]Sample, 0, len(vec))
	cur := make(map[uint64]labels.Labels, len(vec))
	b := labels.NewBuilder(labels.EmptyLabels())
	for _, s := range vec {
		if s.H != nil {
			// The Appender takes floats; native histograms are not recorded.
			continue
		}
		b.Reset(s.Metric)
		b.Set(model.MetricNameLabel, r.spec.Record)
		r.labels.Range(func(l labels.Label) { b.Set(l.Name, l.Value) })
		ls := b.Labels()
		h := ls.Hash()
		if _, dup := cur[h]; dup {
			return nil, errDuplicateSeries
		}
		cur[h] = ls
		out = append(out, Sample{Labels: ls, T: ts, V: s.F})
	}
	for h, ls := range r.prevSeries {
		if _, ok := cur[h]; !ok {
			out = append(out, Sample{Labels: ls, T: ts, V: staleNaN})
		}
	}
	r.prevSeries = cur
	return out, nil
}
