package rules

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"

	"github.com/wardmetrics/ward/rules/notify"
)

// QueryFunc evaluates an instant PromQL query at t.
type QueryFunc func(ctx context.Context, expr string, t time.Time) (promql.Vector, error)

// Sample is one point written by the rules: recording-rule results, ALERTS
// and ALERTS_FOR_STATE.
type Sample struct {
	Labels labels.Labels
	T      int64 // milliseconds since the Unix epoch
	V      float64
}

// Appender receives the samples the rules produce.
type Appender interface {
	Append(samples []Sample) error
}

// StateStore persists alert states; tsdb's *KV satisfies it.
type StateStore interface {
	Get(key []byte) ([]byte, bool, error)
	Put(key, val []byte) error
	Delete(key []byte) error
	Scan(prefix []byte, fn func(k, v []byte) error) error
}

// Notifier receives the alerts to send; it must not block. *notify.Notifier
// satisfies it.
type Notifier interface {
	Notify(alerts ...notify.Alert)
}

// Defaults of ManagerOptions.
const (
	DefaultInterval    = time.Minute
	DefaultResendDelay = time.Minute
)

// ManagerOptions are the manager's dependencies. Query is required.
type ManagerOptions struct {
	Query    QueryFunc
	Appender Appender   // nil: rule output is not written
	Store    StateStore // nil: alert states live in memory only
	Notifier Notifier   // nil: alerts are not sent
	Metrics  *metrics.Set
	// Now is the clock; tests pass a fixed one. Default time.Now.
	Now    func() time.Time
	Logger *slog.Logger
	// ExternalURL is Ward's URL as users reach it (generator URLs, templates).
	ExternalURL string
	// DefaultInterval applies to groups without an interval (default 1m).
	DefaultInterval time.Duration
	// ResendDelay is how often still-firing alerts are handed to the
	// notifier again (default 1m, as Prometheus' --rules.alert.resend-delay).
	ResendDelay time.Duration
}

// LoadError lists every error of a rejected load.
type LoadError struct {
	Errs []error
}

// Error lists the errors, one per line.
func (e *LoadError) Error() string {
	msgs := make([]string, len(e.Errs))
	for i, err := range e.Errs {
		msgs[i] = err.Error()
	}
	return "rules: load rejected, previous rules kept:\n" + strings.Join(msgs, "\n")
}

// Unwrap returns the individual errors.
func (e *LoadError) Unwrap() []error { return e.Errs }

// Manager loads rule files and evaluates their groups.
type Manager struct {
	opts        ManagerOptions
	externalURL *url.URL
	metrics     *managerMetrics

	loadMu sync.Mutex // serialises Load

	mu     sync.RWMutex
	groups []*group
	globs  []string

	reloaded chan struct{}
	running  atomic.Bool
}

// NewManager checks the options; it loads nothing and starts nothing.
func NewManager(opts ManagerOptions) (*Manager, error) {
	if opts.Query == nil {
		return nil, errors.New("rules: ManagerOptions.Query is required")
	}
	if opts.Metrics == nil {
		opts.Metrics = metrics.NewSet()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.DefaultInterval <= 0 {
		opts.DefaultInterval = DefaultInterval
	}
	if opts.ResendDelay <= 0 {
		opts.ResendDelay = DefaultResendDelay
	}
	opts.ExternalURL = strings.TrimRight(opts.ExternalURL, "/")
	u, err := url.Parse(opts.ExternalURL)
	if err != nil {
		return nil, fmt.Errorf("rules: external URL %q: %w", opts.ExternalURL, err)
	}
	return &Manager{
		opts:        opts,
		externalURL: u,
		metrics:     newManagerMetrics(opts.Metrics),
		reloaded:    make(chan struct{}, 1),
	}, nil
}

func (m *Manager) now() time.Time { return m.opts.Now() }

// Load replaces the loaded rules with those of the files matching globs.
// It is atomic: if any file has an error, a *LoadError lists them all with
// file:line and the previous rules keep running. Alert states carry over to
// rules of the same file, group and name, and are restored from the
// StateStore for rules seen for the first time since start-up.
func (m *Manager) Load(globs ...string) error {
	m.loadMu.Lock()
	defer m.loadMu.Unlock()
	files, err := expandGlobs(globs)
	if err != nil {
		m.metrics.reloadOK.Set(0)
		return &LoadError{Errs: []error{err}}
	}
	var parsed []*File
	var errs []error
	for _, f := range files {
		pf, fe := ParseFile(f)
		errs = append(errs, fe...)
		if pf != nil {
			parsed = append(parsed, pf)
		}
	}
	if len(errs) > 0 {
		m.metrics.reloadOK.Set(0)
		return &LoadError{Errs: errs}
	}
	var groups []*group
	nRules := 0
	for _, f := range parsed {
		for _, gs := range f.Groups {
			groups = append(groups, newGroup(f.Path, gs, m.opts.DefaultInterval))
			nRules += len(gs.Rules)
		}
	}
	if err := m.adopt(groups); err != nil {
		m.metrics.reloadOK.Set(0)
		return err
	}
	m.mu.Lock()
	m.groups, m.globs = groups, slices.Clone(globs)
	m.mu.Unlock()
	m.metrics.reloadOK.Set(1)
	m.metrics.reloadTime.Set(float64(m.now().Unix()))
	m.metrics.rules.Set(float64(nRules))
	m.metrics.groups.Set(float64(len(groups)))
	m.updateCounts()
	select {
	case m.reloaded <- struct{}{}:
	default:
	}
	return nil
}

// Reload loads the globs of the last successful Load again (SIGHUP,
// POST /-/reload).
func (m *Manager) Reload() error {
	m.mu.RLock()
	globs := m.globs
	m.mu.RUnlock()
	return m.Load(globs...)
}

// adopt moves state from the running groups to their replacements, restores
// the state of new rules from the store and forgets the state of rules that
// are gone. The old groups are retired: they never evaluate again.
func (m *Manager) adopt(groups []*group) error {
	stored, err := m.scanStates()
	if err != nil {
		return fmt.Errorf("rules: restore alert states: %w", err)
	}
	m.mu.RLock()
	old := make(map[string]*group, len(m.groups))
	for _, g := range m.groups {
		old[g.id()] = g
	}
	m.mu.RUnlock()
	for _, ng := range groups {
		og := old[ng.id()]
		delete(old, ng.id())
		var carried map[*alertingRule]bool
		if og != nil {
			og.evalMu.Lock()
			og.retired = true
			carried = carryOver(og, ng)
			og.evalMu.Unlock()
		}
		for _, r := range ng.rules {
			ar, ok := r.(*alertingRule)
			if !ok {
				continue
			}
			prefix := string(statePrefix(ng, ar))
			if !carried[ar] {
				restore(ar, stored[prefix])
			}
			delete(stored, prefix)
		}
	}
	for _, og := range old {
		og.evalMu.Lock()
		og.retired = true
		og.evalMu.Unlock()
	}
	// What remains belongs to rules that no longer exist.
	for _, entries := range stored {
		for _, e := range entries {
			if err := m.opts.Store.Delete(e.key); err != nil {
				m.metrics.storeErrors.Inc()
			}
		}
	}
	return nil
}

// carryOver gives the rules of ng the state of the same rules in og and
// returns the alerting rules that received state.
func carryOver(og, ng *group) map[*alertingRule]bool {
	carried := map[*alertingRule]bool{}
	oldAlerting := map[string]*alertingRule{}
	oldRecording := map[string]*recordingRule{}
	for _, r := range og.rules {
		switch r := r.(type) {
		case *alertingRule:
			oldAlerting[r.key] = r
		case *recordingRule:
			oldRecording[r.spec.Record] = r
		}
	}
	for _, r := range ng.rules {
		switch r := r.(type) {
		case *alertingRule:
			if o := oldAlerting[r.key]; o != nil {
				o.mu.Lock()
				r.instances, r.prevSeries = o.instances, o.prevSeries
				r.health, r.lastError, r.lastEval, r.evalDuration = o.health, o.lastError, o.lastEval, o.evalDuration
				o.instances = map[uint64]*instance{}
				o.mu.Unlock()
				carried[r] = true
			}
		case *recordingRule:
			if o := oldRecording[r.spec.Record]; o != nil {
				o.mu.Lock()
				r.prevSeries = o.prevSeries
				r.health, r.lastError, r.lastEval, r.evalDuration = o.health, o.lastError, o.lastEval, o.evalDuration
				o.mu.Unlock()
			}
		}
	}
	og.statMu.Lock()
	ng.lastEval, ng.evalDuration = og.lastEval, og.evalDuration
	og.statMu.Unlock()
	return carried
}

func expandGlobs(globs []string) ([]string, error) {
	var files []string
	seen := map[string]bool{}
	for _, g := range globs {
		matches, err := filepath.Glob(g)
		if err != nil {
			return nil, fmt.Errorf("rules: glob %q: %w", g, err)
		}
		if len(matches) == 0 && !strings.ContainsAny(g, `*?[\`) {
			// A plain path that does not exist is an error worth reporting.
			matches = []string{g}
		}
		slices.Sort(matches)
		for _, f := range matches {
			if !seen[f] {
				seen[f] = true
				files = append(files, f)
			}
		}
	}
	return files, nil
}

// Run evaluates every group on its interval, each in its own goroutine,
// until ctx is cancelled. A successful Load while running restarts the
// groups with the new rules.
func (m *Manager) Run(ctx context.Context) error {
	if !m.running.CompareAndSwap(false, true) {
		return errors.New("rules: Run called twice")
	}
	defer m.running.Store(false)
	// The Load that preceded Run left a signal; the groups start below anyway.
	select {
	case <-m.reloaded:
	default:
	}
	for {
		m.mu.RLock()
		groups := m.groups
		m.mu.RUnlock()
		gctx, cancel := context.WithCancel(ctx)
		var wg sync.WaitGroup
		for _, g := range groups {
			wg.Go(func() { m.runGroup(gctx, g) })
		}
		select {
		case <-ctx.Done():
			cancel()
			wg.Wait()
			return nil
		case <-m.reloaded:
			cancel()
			wg.Wait()
		}
	}
}

// EvalOnce evaluates every group once at t, in load order. Tests use it for
// deterministic time; the API can use it for an immediate evaluation.
func (m *Manager) EvalOnce(ctx context.Context, t time.Time) error {
	m.mu.RLock()
	groups := m.groups
	m.mu.RUnlock()
	var errs []error
	for _, g := range groups {
		if err := m.evalGroup(ctx, g, t); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// snapshot returns the loaded groups.
func (m *Manager) snapshot() []*group {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.groups
}
