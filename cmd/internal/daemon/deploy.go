package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"slices"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/prometheus/prometheus/promql"

	"github.com/wardmetrics/ward/deploy"
	"github.com/wardmetrics/ward/tsdb"
)

// newGuard builds the deploy guard over storage: deploys in the "deploy" KV namespace,
// rollback rules from the `guard:` sections of the rule files, metrics through PromQL.
func newGuard(o Options, db *tsdb.DB, rp *remoteParts, set *metrics.Set) (*deploy.Guard, error) {
	spec, err := guardSpec(o.RuleGlobs)
	if err != nil {
		return nil, err
	}
	engine := promql.NewEngine(promql.EngineOpts{
		MaxSamples:           o.QueryMaxSamples,
		Timeout:              o.QueryTimeout,
		LookbackDelta:        5 * time.Minute,
		EnableAtModifier:     true,
		EnableNegativeOffset: true,
	})
	g, err := deploy.New(deploy.Options{
		Store:      deploy.NewStore(db.KV("deploy"), nil),
		Query:      deploy.QueryFunc(rp.query(engineQuery(engine, db))),
		RangeQuery: rp.rangeQuery(engineRangeQuery(engine, db)),
		Spec:       spec,
		Metrics:    set,
		Logger:     o.Logger.With("component", "guard"),
	})
	if err != nil {
		return nil, fmt.Errorf("build deploy guard: %w", err)
	}
	return g, nil
}

// guardSpec reads the guard sections of the rule files the globs match.
func guardSpec(globs []string) (*deploy.Spec, error) {
	var files []string
	for _, g := range globs {
		m, err := filepath.Glob(g)
		if err != nil {
			return nil, fmt.Errorf("rule file pattern %q: %w", g, err)
		}
		files = append(files, m...)
	}
	spec, err := deploy.LoadSpec(files...)
	if err != nil {
		return nil, fmt.Errorf("load guard rules: %w", err)
	}
	return spec, nil
}

// guardRunners judge canaries every interval and re-read the guard sections on SIGHUP
// (as the alerting rules are); a bad section is refused and the old one keeps running.
func guardRunners(o Options, g *deploy.Guard) []runner {
	return []runner{
		{"guard", g.Run},
		sighupRunner("guard-sighup", func() {
			spec, err := guardSpec(o.RuleGlobs)
			if err == nil {
				err = g.Reload(spec)
			}
			if err != nil {
				o.Logger.Error("guard reload on SIGHUP rejected; previous guard rules keep running", "err", err)
			} else {
				o.Logger.Info("guard rules reloaded on SIGHUP", "metrics", len(spec.Metrics))
			}
		}),
	}
}

// engineRangeQuery evaluates range queries for the guard's per-interval samples.
func engineRangeQuery(engine *promql.Engine, db *tsdb.DB) deploy.RangeQueryFunc {
	return func(ctx context.Context, qs string, start, end time.Time, step time.Duration) (promql.Matrix, error) {
		q, err := engine.NewRangeQuery(ctx, db, nil, qs, start, end, step)
		if err != nil {
			return nil, err
		}
		defer q.Close()
		res := q.Exec(ctx)
		if res.Err != nil {
			return nil, res.Err
		}
		m, ok := res.Value.(promql.Matrix)
		if !ok {
			return nil, fmt.Errorf("guard expression %q returned %s, want a range vector", qs, res.Value.Type())
		}
		// Close hands the point slices back to the engine's pool: copy them out.
		out := make(promql.Matrix, len(m))
		for i, s := range m {
			out[i] = promql.Series{Metric: s.Metric, Floats: slices.Clone(s.Floats)}
		}
		return out, nil
	}
}

// deployAPI adapts the guard to the API's DeploySource.
type deployAPI struct{ g *deploy.Guard }

// httpError gives deploy's errors their HTTP status.
type httpError struct{ err error }

func (e httpError) Error() string { return e.err.Error() }
func (e httpError) Unwrap() error { return e.err }
func (e httpError) HTTPStatus() int {
	switch {
	case errors.Is(e.err, deploy.ErrNotFound):
		return http.StatusNotFound
	case errors.Is(e.err, deploy.ErrConflict):
		return http.StatusConflict
	case errors.Is(e.err, deploy.ErrInvalid):
		return http.StatusBadRequest
	}
	return http.StatusInternalServerError
}

func wrapErr(err error) error {
	if err == nil {
		return nil
	}
	return httpError{err}
}

func (a deployAPI) Register(body []byte) (any, error) {
	var d deploy.Deploy
	if err := json.Unmarshal(body, &d); err != nil {
		return nil, httpError{fmt.Errorf("%w: decode deploy: %v", deploy.ErrInvalid, err)}
	}
	out, err := a.g.Store().Register(d)
	return out, wrapErr(err)
}

func (a deployAPI) Deploys() (any, error) {
	ds, err := a.g.Store().List()
	if ds == nil {
		ds = []deploy.Deploy{}
	}
	return ds, wrapErr(err)
}

func (a deployAPI) SetPhase(release string, body []byte) (any, error) {
	var req struct {
		Phase  deploy.Phase `json:"phase"`
		Reason string       `json:"reason"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		return nil, httpError{fmt.Errorf("%w: decode phase change: %v", deploy.ErrInvalid, err)}
	}
	d, err := a.g.Store().SetPhase(release, req.Phase, req.Reason)
	return d, wrapErr(err)
}

func (a deployAPI) Annotations(start, end time.Time) (any, error) {
	as, err := a.g.Store().Annotations(start, end)
	return as, wrapErr(err)
}

func (a deployAPI) Guard(ctx context.Context, release string) (int, int, any, error) {
	v, err := a.g.Verdict(ctx, release)
	if err != nil {
		return 0, 0, nil, wrapErr(err)
	}
	switch v.Decision {
	case deploy.Promote:
		return http.StatusOK, 0, v, nil
	case deploy.Rollback:
		return http.StatusConflict, 0, v, nil
	}
	return http.StatusServiceUnavailable, v.RetryAfter, v, nil
}
