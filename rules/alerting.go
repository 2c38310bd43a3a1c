package rules

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/timestamp"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/template"

	"github.com/wardmetrics/ward/rules/notify"
)

// errDuplicateAlert is Prometheus' "vector contains metrics with the same
// labelset after applying alert labels".
var errDuplicateAlert = errors.New("vector contains metrics with the same labelset after applying alert labels")

// Rule health values, as in Prometheus' API.
const (
	healthUnknown = "unknown"
	healthOK      = "ok"
	healthErr     = "err"
)

// alertingRule is an alerting rule and the state of its instances.
type alertingRule struct {
	spec        RuleSpec
	key         string // identifies the rule within its group across reloads
	plainLevel  State  // the level a plain (threshold-less) rule fires at
	ruleLabels  labels.Labels
	annotations labels.Labels
	tmplLabels  bool // some rule label holds a template

	mu           sync.Mutex
	instances    map[uint64]*instance
	health       string
	lastError    string
	lastEval     time.Time
	evalDuration time.Duration
	inWindow     bool
	prevSeries   map[uint64]labels.Labels
}

func newAlertingRule(spec RuleSpec, key string) *alertingRule {
	r := &alertingRule{
		spec:        spec,
		key:         key,
		plainLevel:  StateCritical,
		ruleLabels:  labelsOf(spec.Labels),
		annotations: labelsOf(spec.Annotations),
		instances:   map[uint64]*instance{},
		health:      healthUnknown,
		inWindow:    true,
	}
	switch strings.ToLower(spec.Labels[severityLabel]) {
	case "warning", "warn":
		r.plainLevel = StateWarning
	}
	r.ruleLabels.Range(func(l labels.Label) {
		if strings.Contains(l.Value, "{{") {
			r.tmplLabels = true
		}
	})
	return r
}

// activeAt reports whether t is inside one of the rule's active windows.
func (r *alertingRule) activeAt(t time.Time) bool {
	if len(r.spec.Active) == 0 {
		return true
	}
	for _, w := range r.spec.Active {
		if w.Contains(t) {
			return true
		}
	}
	return false
}

// eval evaluates the rule at env.ts and returns the ALERTS series to write
// and the alerts to hand to the notifier.
func (r *alertingRule) eval(ctx context.Context, env *evalEnv) ([]Sample, []notify.Alert, error) {
	start := time.Now()
	active := r.activeAt(env.ts)
	var res, data promql.Vector
	var err error
	if active {
		res, err = env.query(ctx, r.spec.Expr, env.queryTS)
		if err == nil && r.spec.dataExpr != "" && r.spec.dataExpr != r.spec.Expr {
			data, err = env.query(ctx, r.spec.dataExpr, env.queryTS)
		}
	}

	r.mu.Lock()
	defer r.mu.Unlock()
	defer func() { r.evalDuration = time.Since(start) }()
	r.lastEval = env.ts
	if err != nil {
		r.health, r.lastError = healthErr, err.Error()
		return nil, nil, fmt.Errorf("alerting rule %q: %w", r.spec.Alert, err)
	}
	r.inWindow = active
	if active {
		err = r.apply(ctx, env, res, data)
	} else {
		r.silence(env)
	}
	if err != nil {
		r.health, r.lastError = healthErr, err.Error()
		err = fmt.Errorf("alerting rule %q: %w", r.spec.Alert, err)
	} else {
		r.health, r.lastError = healthOK, ""
	}
	r.forget(env)
	samples := r.series(env)
	alerts := r.collect(env)
	r.persist(env)
	return samples, alerts, err
}

// apply runs the state machine of every instance on one evaluation's data.
func (r *alertingRule) apply(ctx context.Context, env *evalEnv, res, data promql.Vector) error {
	for _, in := range r.instances {
		in.present = false
	}
	seen := make(map[uint64]struct{}, len(res))
	for i := range res {
		s := &res[i]
		ls := r.identity(ctx, env, s)
		h := ls.Hash()
		if _, dup := seen[h]; dup {
			return errDuplicateAlert
		}
		seen[h] = struct{}{}
		in := r.instance(ls, h)
		in.present = true
		lvl, msg := r.level(in, s.F)
		in.NoData = math.IsNaN(s.F) && lvl != StateOK
		r.advance(ctx, env, in, lvl, msg, s)
	}
	for i := range data {
		s := &data[i]
		ls := r.identity(ctx, env, s)
		h := ls.Hash()
		if _, dup := seen[h]; dup {
			continue
		}
		seen[h] = struct{}{}
		in := r.instance(ls, h)
		in.present = true
		in.NoData = false
		r.advance(ctx, env, in, StateOK, "condition false, value "+formatValue(s.F), s)
	}
	missing := 0
	var ruleLevel *instance
	noData := r.noDataLevel()
	for _, in := range r.instances {
		switch {
		case in.RuleLevel:
			ruleLevel = in
		case !in.present:
			missing++
			in.NoData = noData != StateOK
			r.advance(ctx, env, in, noData, "no data", &promql.Sample{Metric: in.Labels, F: math.NaN()})
		}
	}
	switch {
	case noData != StateOK && len(seen) == 0 && missing == 0:
		// Nothing was ever seen: the rule itself stands for the missing data.
		if ruleLevel == nil {
			ls := r.identity(ctx, env, &promql.Sample{F: math.NaN()})
			ruleLevel = r.instance(ls, ls.Hash())
			ruleLevel.RuleLevel = true
		}
		ruleLevel.NoData = true
		r.advance(ctx, env, ruleLevel, noData, "no data: the expression returned nothing", &promql.Sample{F: math.NaN()})
	case ruleLevel != nil:
		ruleLevel.NoData = false
		r.advance(ctx, env, ruleLevel, StateOK, "data returned", &promql.Sample{F: math.NaN()})
	}
	if limit := env.group.spec.Limit; limit > 0 {
		n := 0
		for _, in := range r.instances {
			if in.State != StateOK {
				n++
			}
		}
		if n > limit {
			// As Prometheus: an over-limit rule drops all its alerts.
			for h, in := range r.instances {
				r.drop(env, h, in)
			}
			return fmt.Errorf("exceeded limit of %d with %d alerts", limit, n)
		}
	}
	return nil
}

// silence resolves everything while the rule is outside its active windows.
func (r *alertingRule) silence(env *evalEnv) {
	for _, in := range r.instances {
		in.present, in.NoData = false, false
		in.step(env.ts, StateOK, r.spec.For, 0)
		in.LastEval, in.HasValue = env.ts, false
		in.Message = "outside active window"
		in.setView(labels.EmptyLabels(), env.ts)
	}
}

func (r *alertingRule) noDataLevel() State {
	switch r.spec.NoData {
	case NoDataUnknown:
		return StateUnknown
	case NoDataCritical:
		return StateCritical
	}
	return StateOK
}

// level maps a value to the raw level of the condition.
func (r *alertingRule) level(in *instance, v float64) (State, string) {
	fv := formatValue(v)
	if !r.spec.HasThresholds() {
		return r.plainLevel, "condition true, value " + fv
	}
	if math.IsNaN(v) {
		return r.noDataLevel(), "value is NaN"
	}
	s := r.spec
	switch {
	case s.Crit != nil && s.Crit.Match(v):
		return StateCritical, fmt.Sprintf("value %s %s (crit)", fv, s.Crit)
	case s.Warn != nil && s.Warn.Match(v):
		return StateWarning, fmt.Sprintf("value %s %s (warn)", fv, s.Warn)
	case s.Clear != nil && in.State != StateOK && !s.Clear.Match(v):
		held := in.State
		if held == StatePending {
			held = in.Target
		}
		return held, fmt.Sprintf("value %s, held until %s (clear)", fv, s.Clear)
	}
	return StateOK, "value " + fv
}

// advance feeds one raw level into instance in.
func (r *alertingRule) advance(ctx context.Context, env *evalEnv, in *instance, lvl State, msg string, s *promql.Sample) {
	in.LastEval = env.ts
	if in.Since.IsZero() {
		in.Since = env.ts
	}
	in.Value, in.HasValue = s.F, !math.IsNaN(s.F)
	stopped := false
	if r.spec.FlapDetection {
		stopped = in.updateFlap(lvl, r.spec.FlapStart, r.spec.FlapStop)
	}
	if in.step(env.ts, lvl, r.spec.For, r.spec.KeepFiringFor) {
		msg += fmt.Sprintf(" (kept firing for up to %s by keep_firing_for)", model.Duration(r.spec.KeepFiringFor))
	}
	in.Message = msg
	if in.State != StateOK && !r.annotations.IsEmpty() {
		in.Annotations = r.expandAll(ctx, env, r.annotations, s)
	}
	want := labels.EmptyLabels()
	if in.State.Firing() {
		want = r.notifyLabels(in, in.State)
	}
	in.setView(want, env.ts)
	if stopped {
		in.endFlap(env.ts)
	}
}

// instance returns the instance for ls, creating it in state OK.
func (r *alertingRule) instance(ls labels.Labels, h uint64) *instance {
	in, ok := r.instances[h]
	if !ok {
		in = &instance{Labels: ls, State: StateOK, dirty: true}
		r.instances[h] = in
	}
	return in
}

// identity is Prometheus' alert identity: the result's labels without
// __name__, plus the rule's (templated) labels, plus alertname.
func (r *alertingRule) identity(ctx context.Context, env *evalEnv, s *promql.Sample) labels.Labels {
	b := labels.NewBuilder(s.Metric)
	b.Del(model.MetricNameLabel)
	r.ruleLabels.Range(func(l labels.Label) {
		v := l.Value
		if r.tmplLabels && strings.Contains(v, "{{") {
			v = r.expand(ctx, env, v, s)
		}
		b.Set(l.Name, v)
	})
	b.Set(labels.AlertName, r.spec.Alert)
	return b.Labels()
}

// notifyLabels are the labels receivers see at level lvl: Ward sets
// severity on levels it decides (thresholds, missing data).
func (r *alertingRule) notifyLabels(in *instance, lvl State) labels.Labels {
	if !r.spec.HasThresholds() && !in.NoData {
		return in.Labels
	}
	return labels.NewBuilder(in.Labels).Set(severityLabel, strings.ToLower(lvl.String())).Labels()
}

func (r *alertingRule) expandAll(ctx context.Context, env *evalEnv, ls labels.Labels, s *promql.Sample) labels.Labels {
	b := labels.NewScratchBuilder(ls.Len())
	ls.Range(func(l labels.Label) {
		b.Add(l.Name, r.expand(ctx, env, l.Value, s))
	})
	return b.Labels()
}

const templateDefs = "{{$labels := .Labels}}{{$externalLabels := .ExternalLabels}}{{$externalURL := .ExternalURL}}{{$value := .Value}}"

// expand renders one label or annotation template with Prometheus'
// template engine and data ($labels, $value, $externalURL, query ...).
func (r *alertingRule) expand(ctx context.Context, env *evalEnv, text string, s *promql.Sample) string {
	if !strings.Contains(text, "{{") {
		return text
	}
	data := template.AlertTemplateData(s.Metric.Map(), nil, env.m.opts.ExternalURL, *s)
	tmpl := template.NewTemplateExpander(ctx, templateDefs+text, "__alert_"+r.spec.Alert, data,
		model.Time(timestamp.FromTime(env.ts)), template.QueryFunc(env.m.opts.Query), env.m.externalURL, nil)
	out, err := tmpl.Expand()
	if err != nil {
		return fmt.Sprintf("<error expanding template: %s>", err)
	}
	return out
}

// drop forgets an instance, in memory and in the store.
func (r *alertingRule) drop(env *evalEnv, h uint64, in *instance) {
	delete(r.instances, h)
	if in.stored {
		env.m.deleteState(env.group, r, h)
	}
}

// forget drops instances that carry nothing: Prometheus drops inactive
// alerts; threshold and no-data rules keep instances whose series exist.
func (r *alertingRule) forget(env *evalEnv) {
	tracksOK := r.spec.HasThresholds() || r.spec.NoData != NoDataOK
	for h, in := range r.instances {
		if in.quiet() && (!in.present || !tracksOK) {
			r.drop(env, h, in)
		}
	}
}

// collect returns the alerts due to be sent: new or changed ones at once,
// the rest every resend delay, resolved ones for resolvedRetention.
func (r *alertingRule) collect(env *evalEnv) []notify.Alert {
	var out []notify.Alert
	validUntil := env.ts.Add(4 * max(env.group.interval, env.m.opts.ResendDelay))
	gen := r.generatorURL(env)
	for _, in := range r.instances {
		due := in.lastSentAt.IsZero() || env.ts.Sub(in.lastSentAt) >= env.m.opts.ResendDelay
		for _, rv := range in.Retired {
			due = due || rv.EndsAt.After(in.lastSentAt)
		}
		if !due {
			continue
		}
		in.lastSentAt = env.ts
		firing := func(v *view) {
			out = append(out, notify.Alert{Labels: v.Labels, Annotations: v.Annotations, StartsAt: v.StartsAt, EndsAt: validUntil, GeneratorURL: gen})
		}
		if in.Flapping {
			// Notifications are held: receivers keep seeing what they saw.
			if in.Held != nil {
				firing(in.Held)
			}
			continue
		}
		if in.Cur != nil {
			firing(in.Cur)
		}
		for _, rv := range in.Retired {
			out = append(out, notify.Alert{Labels: rv.Labels, Annotations: rv.Annotations, StartsAt: rv.StartsAt, EndsAt: rv.EndsAt, GeneratorURL: gen})
		}
		if !sameView(in.SentCur, in.Cur) {
			in.SentCur, in.dirty = in.Cur.clone(), true
		}
	}
	return out
}

func (r *alertingRule) generatorURL(env *evalEnv) string {
	return env.m.opts.ExternalURL + "/graph?g0.expr=" + url.QueryEscape(r.spec.Expr) + "&g0.tab=1"
}

// series returns ALERTS and ALERTS_FOR_STATE samples for pending and firing
// instances, and stale markers for the series that ended.
func (r *alertingRule) series(env *evalEnv) []Sample {
	ts := timestamp.FromTime(env.queryTS)
	var out []Sample
	cur := make(map[uint64]labels.Labels, len(r.prevSeries))
	for _, in := range r.instances {
		if in.State == StateOK {
			continue
		}
		lvl, state := in.State, "firing"
		if lvl == StatePending {
			lvl, state = in.Target, "pending"
		}
		b := labels.NewBuilder(r.notifyLabels(in, lvl))
		b.Set(model.MetricNameLabel, alertMetricName).Set(alertStateLabel, state)
		a := b.Labels()
		b.Del(alertStateLabel).Set(model.MetricNameLabel, alertForStateMetricName)
		f := b.Labels()
		out = append(out, Sample{Labels: a, T: ts, V: 1}, Sample{Labels: f, T: ts, V: float64(in.ActiveAt.Unix())})
		cur[a.Hash()], cur[f.Hash()] = a, f
	}
	for h, ls := range r.prevSeries {
		if _, ok := cur[h]; !ok {
			out = append(out, Sample{Labels: ls, T: ts, V: staleNaN})
		}
	}
	r.prevSeries = cur
	return out
}

// Names of Prometheus' alert series.
const (
	alertMetricName         = "ALERTS"
	alertForStateMetricName = "ALERTS_FOR_STATE"
	alertStateLabel         = "alertstate"
)

// persist writes instances whose persisted fields changed; quiet instances
// are not kept in the store.
func (r *alertingRule) persist(env *evalEnv) {
	for h, in := range r.instances {
		switch {
		case in.quiet():
			if in.stored {
				env.m.deleteState(env.group, r, h)
				in.stored = false
			}
		case in.dirty || !in.stored:
			if env.m.putState(env.group, r, h, in) {
				in.stored, in.dirty = true, false
			}
		}
	}
}

// valueString formats a value the way Prometheus' API does.
func valueString(v float64) string {
	return strconv.FormatFloat(v, 'e', -1, 64)
}
