package deploy

import (
	"context"
	"slices"
	"sync"
	"time"
)

// maxCachedVerdicts bounds the verdict cache: one entry per release asked about, the
// oldest evaluation dropped first once more releases than this are polled.
const maxCachedVerdicts = 1024

// evalTime puts now on the guard's interval grid counted from the deploy's start: a
// verdict covers whole intervals, so every /guard call and the continuous check within
// one interval judge the same data and can share one evaluation. Within the first
// interval (and for a deploy that has not started) the time is now itself: that
// verdict is almost always a wait, and rounding it down would judge nothing at all.
func evalTime(d Deploy, now time.Time, interval time.Duration) time.Time {
	if interval <= 0 || !now.After(d.Start) {
		return now
	}
	k := now.Sub(d.Start) / interval
	if k == 0 {
		return now
	}
	return d.Start.Add(k * interval)
}

// verdictKey is everything a verdict depends on besides the metrics themselves: the
// spec (by its evaluator, replaced whole on reload), the evaluation time and the
// parts of the deploy the evaluator reads.
type verdictKey struct {
	ev               *Evaluator
	at               int64 // unix nanoseconds
	start            int64
	phase            Phase
	history          int
	canary, baseline string
}

func keyOf(ev *Evaluator, d Deploy, at time.Time) verdictKey {
	return verdictKey{ev: ev, at: at.UnixNano(), start: d.Start.UnixNano(), phase: d.Phase, history: len(d.History),
		canary: d.Canary, baseline: d.Baseline}
}

// verdictCache keeps each release's latest verdict and lets concurrent askers of the
// same one share its evaluation: deployers poll /guard far more often than the
// interval, and the continuous check asks too.
type verdictCache struct {
	mu sync.Mutex
	m  map[string]*cachedVerdict // by release
}

// cachedVerdict is one evaluation: done closes when v and err are set.
type cachedVerdict struct {
	key  verdictKey
	done chan struct{}
	v    Verdict
	err  error
}

// get returns the verdict for key, evaluating it with eval unless it is cached or
// being evaluated by another caller, whom it then waits for. hit reports that no
// evaluation ran for this call. Errors are not kept: the next caller tries again.
func (c *verdictCache) get(ctx context.Context, release string, key verdictKey, eval func() (Verdict, error)) (v Verdict, hit bool, err error) {
	c.mu.Lock()
	if c.m == nil {
		c.m = map[string]*cachedVerdict{}
	}
	if e := c.m[release]; e != nil && e.key == key {
		c.mu.Unlock()
		select {
		case <-e.done:
		case <-ctx.Done():
			return Verdict{}, false, ctx.Err()
		}
		if e.err == nil {
			return e.v.clone(), true, nil
		}
		// The evaluation we waited for failed (its asker may have gone away):
		// judge on our own account.
		v, err := eval()
		return v, false, err
	}
	e := &cachedVerdict{key: key, done: make(chan struct{})}
	if _, ok := c.m[release]; !ok && len(c.m) >= maxCachedVerdicts {
		c.evictOldest()
	}
	c.m[release] = e
	c.mu.Unlock()

	e.v, e.err = eval()
	close(e.done)
	if e.err != nil {
		c.mu.Lock()
		if c.m[release] == e {
			delete(c.m, release)
		}
		c.mu.Unlock()
		return Verdict{}, false, e.err
	}
	return e.v.clone(), false, nil
}

// evictOldest drops the entry evaluated at the earliest time; c.mu is held.
func (c *verdictCache) evictOldest() {
	var oldest string
	var at int64
	for r, e := range c.m {
		if oldest == "" || e.key.at < at {
			oldest, at = r, e.key.at
		}
	}
	delete(c.m, oldest)
}

// clone copies the parts of a verdict a caller could change, so that a cached verdict
// handed out twice stays as it was computed.
func (v Verdict) clone() Verdict {
	v.Metrics = slices.Clone(v.Metrics)
	if v.SRM != nil {
		srm := *v.SRM
		v.SRM = &srm
	}
	return v
}
