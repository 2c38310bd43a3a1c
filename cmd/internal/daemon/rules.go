package daemon

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"
	"go.yaml.in/yaml/v3"

	"github.com/VictoriaMetrics/metrics"

	"github.com/wardmetrics/ward/rules"
	"github.com/wardmetrics/ward/rules/notify"
	"github.com/wardmetrics/ward/tsdb"
)

// alerting is the rules manager, its notifier and the SIGHUP watcher, built together.
type alerting struct {
	manager  *rules.Manager
	notifier *notify.Notifier
}

// newAlerting builds rule evaluation over storage. It always exists (with no rule files
// it evaluates nothing) so that /api/v1/rules answers and a reload can add rules later.
func newAlerting(o Options, db *tsdb.DB, rp *remoteParts, set *metrics.Set) (*alerting, error) {
	ncfg, err := notifyConfig(o.ConfigFile)
	if err != nil {
		return nil, err
	}
	n, err := notify.New(ncfg, notify.Options{
		Store:       db.KV("notify"),
		Metrics:     set,
		ExternalURL: o.ExternalURL,
		Logger:      o.Logger.With("component", "notify"),
	})
	if err != nil {
		return nil, fmt.Errorf("build notifier: %w", err)
	}
	engine := promql.NewEngine(promql.EngineOpts{
		MaxSamples:               o.QueryMaxSamples,
		Timeout:                  o.QueryTimeout,
		LookbackDelta:            5 * time.Minute,
		EnableAtModifier:         true,
		EnableNegativeOffset:     true,
		NoStepSubqueryIntervalFn: func(int64) int64 { return time.Minute.Milliseconds() },
	})
	m, err := rules.NewManager(rules.ManagerOptions{
		Query:       rp.query(engineQuery(engine, db)),
		Appender:    rulesAppender{db, rp},
		Store:       db.KV("rules"),
		Notifier:    n,
		Metrics:     set,
		Logger:      o.Logger.With("component", "rules"),
		ExternalURL: o.ExternalURL,
	})
	if err != nil {
		return nil, fmt.Errorf("build rules manager: %w", err)
	}
	if len(o.RuleGlobs) > 0 {
		if err := m.Load(o.RuleGlobs...); err != nil {
			return nil, fmt.Errorf("load rules %v: %w", o.RuleGlobs, err)
		}
	}
	return &alerting{manager: m, notifier: n}, nil
}

// runners evaluate the rules, deliver notifications and reload on SIGHUP.
func (a *alerting) runners(o Options) []runner {
	return []runner{
		{"rules", a.manager.Run},
		{"notify", a.notifier.Run},
		sighupRunner("sighup", func() {
			if err := a.manager.Reload(); err != nil {
				o.Logger.Error("reload on SIGHUP rejected; previous rules keep running", "err", err)
			} else {
				o.Logger.Info("rules reloaded on SIGHUP")
			}
		}),
	}
}

// sighupRunner calls reload on every SIGHUP until its context ends; rules and the guard
// each have one, so a SIGHUP reloads both.
func sighupRunner(name string, reload func()) runner {
	return runner{name, func(ctx context.Context) error {
		hup := make(chan os.Signal, 1)
		signal.Notify(hup, syscall.SIGHUP)
		defer signal.Stop(hup)
		for {
			select {
			case <-ctx.Done():
				return nil
			case <-hup:
				reload()
			}
		}
	}}
}

// notifyConfig reads the `notify:` section of the config file (receivers).
func notifyConfig(path string) (notify.Config, error) {
	if path == "" {
		return notify.ParseConfig(nil)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		return notify.Config{}, fmt.Errorf("read config %s: %w", path, err)
	}
	var doc struct {
		Notify yaml.Node `yaml:"notify"`
	}
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		return notify.Config{}, fmt.Errorf("parse config %s: %w", path, err)
	}
	if doc.Notify.Kind == 0 {
		return notify.ParseConfig(nil)
	}
	section, err := yaml.Marshal(&doc.Notify)
	if err != nil {
		return notify.Config{}, fmt.Errorf("config %s: notify section: %w", path, err)
	}
	cfg, err := notify.ParseConfig(section)
	if err != nil {
		return notify.Config{}, fmt.Errorf("config %s: %w", path, err)
	}
	return cfg, nil
}

// rulesAppender writes recording-rule results and ALERTS series into storage, and
// queues them for the remote-write URLs.
type rulesAppender struct {
	db *tsdb.DB
	rp *remoteParts
}

func (a rulesAppender) Append(ss []rules.Sample) error {
	out := make([]tsdb.Sample, len(ss))
	for i, s := range ss {
		out[i] = tsdb.Sample{Labels: s.Labels, T: s.T, V: s.V}
	}
	return a.rp.storeSamples(a.db, out)
}

// engineQuery evaluates instant queries for the rules on the PromQL engine over storage.
func engineQuery(engine *promql.Engine, db *tsdb.DB) rules.QueryFunc {
	return func(ctx context.Context, qs string, t time.Time) (promql.Vector, error) {
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
			return v, nil
		case promql.Scalar:
			return promql.Vector{{T: v.T, F: v.V, Metric: labels.EmptyLabels()}}, nil
		default:
			return nil, fmt.Errorf("rule expression %q returned %s, want a vector or scalar", qs, res.Value.Type())
		}
	}
}

// rulesAPI adapts the manager to the API's RulesSource.
type rulesAPI struct{ m *rules.Manager }

func (r rulesAPI) Rules() any    { return r.m.Rules() }
func (r rulesAPI) Alerts() any   { return r.m.Alerts() }
func (r rulesAPI) Checks() any   { return r.m.Checks() }
func (r rulesAPI) Reload() error { return r.m.Reload() }
