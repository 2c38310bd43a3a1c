package deploy

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"sync/atomic"
	"time"

	"github.com/VictoriaMetrics/metrics"
)

// Options configure a Guard.
type Options struct {
	// Store keeps the deploys; required.
	Store *Store
	// Query and RangeQuery read metrics; required.
	Query      QueryFunc
	RangeQuery RangeQueryFunc
	// Spec holds the watched metrics and the rollback action; nil judges nothing.
	Spec *Spec
	// Metrics receives the guard's own metrics; nil creates a private set.
	Metrics *metrics.Set
	// Logger receives rollbacks and errors; nil discards them.
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Client sends rollback webhooks; nil means a plain client (the action's timeout
	// bounds each call).
	Client *http.Client
}

// Guard is the immune system: it answers verdicts on demand and, in Run, judges every
// deploy in its canary phase each interval and rolls back those that fail.
type Guard struct {
	store  *Store
	query  QueryFunc
	rangeQ RangeQueryFunc
	cur    atomic.Pointer[Evaluator] // swapped whole by Reload
	log    *slog.Logger
	now    func() time.Time
	client *http.Client
	cache  verdictCache

	evaluations  *metrics.Counter
	evalErrors   *metrics.Counter
	rollbacks    *metrics.Counter
	actionErrors *metrics.Counter
	verdictTime  *metrics.Histogram
	cacheHits    *metrics.Counter
}

// New builds a guard; it starts nothing until Run.
func New(o Options) (*Guard, error) {
	if o.Store == nil || o.Query == nil || o.RangeQuery == nil {
		return nil, errors.New("deploy: guard needs a store, a query and a range query function")
	}
	if o.Metrics == nil {
		o.Metrics = metrics.NewSet()
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Client == nil {
		// Each request is bounded by the action's timeout through its context.
		o.Client = &http.Client{}
	}
	g := &Guard{
		store:        o.Store,
		query:        o.Query,
		rangeQ:       o.RangeQuery,
		log:          o.Logger,
		now:          o.Now,
		client:       o.Client,
		evaluations:  o.Metrics.GetOrCreateCounter("ward_guard_evaluations_total"),
		evalErrors:   o.Metrics.GetOrCreateCounter("ward_guard_evaluation_errors_total"),
		rollbacks:    o.Metrics.GetOrCreateCounter("ward_guard_rollbacks_total"),
		actionErrors: o.Metrics.GetOrCreateCounter("ward_guard_rollback_action_errors_total"),
		verdictTime:  o.Metrics.GetOrCreateHistogram("ward_guard_verdict_duration_seconds"),
		cacheHits:    o.Metrics.GetOrCreateCounter("ward_guard_verdict_cache_hits_total"),
	}
	if err := g.Reload(o.Spec); err != nil {
		return nil, err
	}
	return g, nil
}

// Reload replaces the watched metrics and settings (after a SIGHUP); a spec that does
// not validate is refused and the old one keeps running. Verdicts in progress finish
// with the spec they started with.
func (g *Guard) Reload(spec *Spec) error {
	if spec == nil {
		spec = &Spec{}
	}
	spec.ensureDefaults()
	if err := spec.validate(); err != nil {
		return fmt.Errorf("guard spec: %w", err)
	}
	g.cur.Store(&Evaluator{Query: g.query, RangeQuery: g.rangeQ, Spec: spec})
	return nil
}

// Store returns the deploy store the guard watches.
func (g *Guard) Store() *Store { return g.store }

// Spec returns the guard's settings and metrics.
func (g *Guard) Spec() *Spec { return g.cur.Load().Spec }

// Verdict judges a release now: at the start of the current guard interval counted
// from the deploy's start (see evalTime), so that every caller within one interval,
// and the continuous check, gets the same verdict from one evaluation.
func (g *Guard) Verdict(ctx context.Context, release string) (Verdict, error) {
	d, err := g.store.Get(release)
	if err != nil {
		return Verdict{}, err
	}
	start := time.Now()
	ev := g.cur.Load()
	at := evalTime(d, g.now(), ev.Spec.Interval)
	v, hit, err := g.cache.get(ctx, release, keyOf(ev, d, at), func() (Verdict, error) {
		g.evaluations.Inc()
		v, err := ev.Evaluate(ctx, d, at)
		if err != nil {
			g.evalErrors.Inc()
		}
		return v, err
	})
	g.verdictTime.UpdateDuration(start)
	if hit {
		g.cacheHits.Inc()
	}
	return v, err
}

// Run judges the canaries until ctx is cancelled: at each boundary of every canary's
// interval grid (see evalTime), so that the verdict /guard serves for the new interval
// is being computed before the deployers ask, and at least every interval, to see new
// deploys and a reloaded spec.
func (g *Guard) Run(ctx context.Context) error {
	t := time.NewTimer(g.Spec().Interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			next, err := g.check(ctx)
			if err != nil && ctx.Err() == nil {
				g.log.Error("guard round failed", "err", err)
			}
			t.Reset(next)
		}
	}
}

// minRunWait keeps Run from spinning when a boundary is due at once (a clock that
// does not move, a grid of a few milliseconds).
const minRunWait = 10 * time.Millisecond

// Check judges every deploy in its canary phase once, rolling back those whose verdict
// is rollback: the deploy is marked rolled_back first (so that no later round or
// operator promotes it) and the rollback action runs at once.
func (g *Guard) Check(ctx context.Context) error {
	_, err := g.check(ctx)
	return err
}

// check is Check; it also returns how long to wait until the next boundary of a
// canary's interval grid, at most one interval.
func (g *Guard) check(ctx context.Context) (time.Duration, error) {
	iv := g.Spec().Interval
	if len(g.Spec().Metrics) == 0 {
		return iv, nil
	}
	ds, err := g.store.List()
	if err != nil {
		return iv, err
	}
	var starts []time.Time
	var errs []error
	for _, d := range ds {
		if d.Phase != PhaseCanary {
			continue
		}
		starts = append(starts, d.Start)
		v, err := g.Verdict(ctx, d.Release)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if v.Decision != Rollback {
			continue
		}
		if _, err := g.store.SetPhaseFrom(d.Release, PhaseCanary, PhaseRolledBack, "guard: "+v.Reason); err != nil {
			if !errors.Is(err, ErrConflict) {
				errs = append(errs, err)
			}
			// Moved on meanwhile (promoted or rolled back by someone else): not ours.
			continue
		}
		g.rollbacks.Inc()
		g.log.Warn("release rolled back by the guard", "release", d.Release, "reason", v.Reason, "score", v.Score)
		if err := g.runAction(ctx, v); err != nil {
			g.actionErrors.Inc()
			errs = append(errs, err)
		}
	}
	next, now := iv, g.now()
	for _, start := range starts {
		if now.After(start) {
			// The next boundary, a millisecond late so that the grid has moved on.
			next = min(next, iv-now.Sub(start)%iv+time.Millisecond)
		}
	}
	return max(next, minRunWait), errors.Join(errs...)
}

// runAction calls the rollback webhook and runs the rollback command.
func (g *Guard) runAction(ctx context.Context, v Verdict) error {
	a := g.Spec().Rollback
	ctx, cancel := context.WithTimeout(ctx, a.Timeout)
	defer cancel()
	var errs []error
	if a.Webhook != "" {
		if err := g.webhook(ctx, a.Webhook, v); err != nil {
			errs = append(errs, err)
		}
	}
	if a.Command != "" {
		cmd := exec.CommandContext(ctx, "/bin/sh", "-c", a.Command)
		cmd.Env = append(os.Environ(), "WARD_RELEASE="+v.Release, "WARD_REASON="+v.Reason, "WARD_DECISION="+string(v.Decision))
		out, err := cmd.CombinedOutput()
		if err != nil {
			errs = append(errs, fmt.Errorf("rollback command %q for release %q: %w: %s", a.Command, v.Release, err, bytes.TrimSpace(out)))
		} else {
			g.log.Info("rollback command ran", "release", v.Release, "output", string(bytes.TrimSpace(out)))
		}
	}
	return errors.Join(errs...)
}

func (g *Guard) webhook(ctx context.Context, url string, v Verdict) error {
	body, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode verdict of %q: %w", v.Release, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("rollback webhook %q: %w", url, err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := g.client.Do(req)
	if err != nil {
		return fmt.Errorf("rollback webhook %q for release %q: %w", url, v.Release, err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("rollback webhook %q for release %q: status %s", url, v.Release, resp.Status)
	}
	return nil
}
