package rules

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/prometheus/prometheus/promql"

	"github.com/wardmetrics/ward/rules/notify"
)

// evaluator is what a group runs: an alerting or a recording rule.
type evaluator interface {
	eval(ctx context.Context, env *evalEnv) ([]Sample, []notify.Alert, error)
}

// evalEnv carries one group evaluation's context to its rules.
type evalEnv struct {
	m       *Manager
	group   *group
	ts      time.Time // evaluation time
	queryTS time.Time // ts minus the group's query_offset
}

func (e *evalEnv) query(ctx context.Context, expr string, t time.Time) (promql.Vector, error) {
	return e.m.opts.Query(ctx, expr, t)
}

// group is a loaded rule group. Its rules run in order, so a recording
// rule's output is visible to the rules after it.
type group struct {
	file     string
	spec     GroupSpec
	interval time.Duration
	rules    []evaluator

	// evalMu serialises evaluations; retired (guarded by evalMu) marks a
	// group replaced by a reload, whose state has moved to its successor.
	evalMu  sync.Mutex
	retired bool

	statMu       sync.Mutex
	lastEval     time.Time
	evalDuration time.Duration
	counts       [len(stateNames)]int
	flapping     int
}

func newGroup(file string, spec GroupSpec, defaultInterval time.Duration) *group {
	g := &group{file: file, spec: spec, interval: spec.Interval}
	if g.interval <= 0 {
		g.interval = defaultInterval
	}
	seen := map[string]int{}
	for _, rs := range spec.Rules {
		if rs.Record != "" {
			g.rules = append(g.rules, newRecordingRule(rs))
			continue
		}
		// Rules of the same name are told apart by their position among
		// rules of that name, so that state follows them across reloads.
		key := fmt.Sprintf("%s#%d", rs.Alert, seen[rs.Alert])
		seen[rs.Alert]++
		g.rules = append(g.rules, newAlertingRule(rs, key))
	}
	return g
}

// id identifies a group across reloads.
func (g *group) id() string { return g.file + "\x00" + g.spec.Name }

// eval evaluates every rule at ts, writes their series and hands their
// alerts to the notifier. Errors of single rules are joined; the other rules
// still run.
func (m *Manager) evalGroup(ctx context.Context, g *group, ts time.Time) error {
	g.evalMu.Lock()
	defer g.evalMu.Unlock()
	if g.retired {
		return nil
	}
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, g.interval)
	defer cancel()
	env := &evalEnv{m: m, group: g, ts: ts, queryTS: ts.Add(-g.spec.QueryOffset)}
	var errs []error
	for _, r := range g.rules {
		samples, alerts, err := r.eval(ctx, env)
		m.metrics.evals.Inc()
		if err != nil {
			m.metrics.evalFailures.Inc()
			errs = append(errs, fmt.Errorf("group %q: %w", g.spec.Name, err))
		}
		if len(samples) > 0 && m.opts.Appender != nil {
			if err := m.opts.Appender.Append(samples); err != nil {
				m.metrics.appendErrors.Inc()
				errs = append(errs, fmt.Errorf("group %q: append %d samples: %w", g.spec.Name, len(samples), err))
			}
		}
		if len(alerts) > 0 && m.opts.Notifier != nil {
			m.opts.Notifier.Notify(alerts...)
		}
	}
	d := time.Since(start)
	m.metrics.groupDuration.Update(d.Seconds())
	m.metrics.groupEvals.Inc()
	g.updateStats(ts, d)
	m.updateCounts()
	err := errors.Join(errs...)
	if err != nil {
		m.opts.Logger.Warn("rules: evaluation failed", "file", g.file, "group", g.spec.Name, "err", err)
	}
	return err
}

func (g *group) updateStats(ts time.Time, d time.Duration) {
	var counts [len(stateNames)]int
	flapping := 0
	for _, r := range g.rules {
		ar, ok := r.(*alertingRule)
		if !ok {
			continue
		}
		ar.mu.Lock()
		for _, in := range ar.instances {
			counts[in.State]++
			if in.Flapping {
				flapping++
			}
		}
		ar.mu.Unlock()
	}
	g.statMu.Lock()
	g.lastEval, g.evalDuration, g.counts, g.flapping = ts, d, counts, flapping
	g.statMu.Unlock()
}

// run evaluates g at every multiple of its interval until ctx ends.
func (m *Manager) runGroup(ctx context.Context, g *group) {
	var last time.Time
	for {
		now := m.now()
		next := alignUp(now, g.interval)
		if !next.After(last) {
			// Never evaluate one timestamp twice (a clock that stands still,
			// an evaluation that ended on the boundary).
			next = last.Add(g.interval)
		}
		last = next
		t := time.NewTimer(next.Sub(now))
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		// Errors are logged and counted in evalGroup; the loop goes on.
		_ = m.evalGroup(ctx, g, next)
		if behind := m.now().Sub(next); behind > g.interval {
			m.metrics.missed.Add(int(behind / g.interval))
		}
	}
}

// alignUp returns the first multiple of d (counted from the Unix epoch) at or
// after t, so that evaluation timestamps are the same on every restart.
func alignUp(t time.Time, d time.Duration) time.Time {
	ns := t.UnixNano()
	r := ns % int64(d)
	if r == 0 {
		return t
	}
	return time.Unix(0, ns-r+int64(d)).In(t.Location())
}
