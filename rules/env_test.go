package rules_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"

	"github.com/wardmetrics/ward/rules"
	"github.com/wardmetrics/ward/rules/notify"
	"github.com/wardmetrics/ward/tsdb"
)

// clock is the fake time shared by the manager, the notifier and the DB.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

// dbAppender adapts the rules' Appender to tsdb.DB.Append, as the daemon does.
type dbAppender struct{ db *tsdb.DB }

func (a dbAppender) Append(ss []rules.Sample) error {
	out := make([]tsdb.Sample, len(ss))
	for i, s := range ss {
		out[i] = tsdb.Sample{Labels: s.Labels, T: s.T, V: s.V}
	}
	return a.db.Append(out)
}

// engineQuery is the daemon's QueryFunc: a real PromQL engine over the DB.
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
		}
		return nil, fmt.Errorf("query %q: result is %s, not a vector", qs, res.Value.Type())
	}
}

// hook is a webhook receiver started in the test.
type hook struct {
	srv *httptest.Server
	mu  sync.Mutex
	got []notify.WebhookMessage
	raw [][]byte
}

func newHook(t *testing.T) *hook {
	h := &hook{}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var m notify.WebhookMessage
		if err := json.Unmarshal(body, &m); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		h.mu.Lock()
		h.got = append(h.got, m)
		h.raw = append(h.raw, body)
		h.mu.Unlock()
	}))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *hook) messages() []notify.WebhookMessage {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]notify.WebhookMessage(nil), h.got...)
}

// about returns the messages about alertname.
func (h *hook) about(alertname string) []notify.WebhookMessage {
	var out []notify.WebhookMessage
	for _, m := range h.messages() {
		if m.GroupLabels["alertname"] == alertname {
			out = append(out, m)
		}
	}
	return out
}

// waitFor polls until cond holds or the deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// env is a rule manager over a real DB and engine, with a notifier posting
// to a webhook started in the test.
type env struct {
	t        *testing.T
	dir      string
	ruleDir  string
	clock    *clock
	db       *tsdb.DB
	engine   *promql.Engine
	set      *metrics.Set
	mgr      *rules.Manager
	notifier *notify.Notifier
	hook     *hook
	stop     func()
}

// base is a Monday, 12:00 in Los Angeles.
var base = time.Date(2025, 6, 2, 19, 0, 0, 0, time.UTC)

func newEnv(t *testing.T, ruleYAML string) *env {
	t.Helper()
	e := &env{t: t, dir: t.TempDir(), ruleDir: t.TempDir(), clock: &clock{t: base}, hook: newHook(t)}
	e.writeRules(ruleYAML)
	e.open()
	return e
}

func (e *env) rulePath() string { return filepath.Join(e.ruleDir, "rules.yml") }

func (e *env) writeRules(y string) {
	e.t.Helper()
	if err := os.WriteFile(e.rulePath(), []byte(y), 0o644); err != nil {
		e.t.Fatal(err)
	}
}

// open starts DB, notifier and manager, as the daemon does on start-up.
func (e *env) open() {
	t := e.t
	t.Helper()
	e.set = metrics.NewSet()
	db, err := tsdb.Open(e.dir, tsdb.Options{Now: e.clock.Now, Sync: tsdb.SyncNone}, e.set)
	if err != nil {
		t.Fatal(err)
	}
	e.db = db
	e.engine = promql.NewEngine(promql.EngineOpts{MaxSamples: 1e7, Timeout: time.Minute, LookbackDelta: 5 * time.Minute, EnableAtModifier: true, EnableNegativeOffset: true})
	cfg, err := notify.ParseConfig([]byte(fmt.Sprintf(`
receivers:
  - name: hook
    type: webhook
    url: %s
    min_backoff: 10ms
    max_backoff: 50ms
    retry_for: 2s
`, e.hook.srv.URL)))
	if err != nil {
		t.Fatal(err)
	}
	e.notifier, err = notify.New(cfg, notify.Options{Store: db.KV("notify"), Metrics: e.set, Now: e.clock.Now, ExternalURL: "http://ward.test"})
	if err != nil {
		t.Fatal(err)
	}
	e.mgr, err = rules.NewManager(rules.ManagerOptions{
		Query:       engineQuery(e.engine, db),
		Appender:    dbAppender{db},
		Store:       db.KV("rules"),
		Notifier:    e.notifier,
		Metrics:     e.set,
		Now:         e.clock.Now,
		ExternalURL: "http://ward.test",
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.mgr.Load(filepath.Join(e.ruleDir, "*.yml")); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.notifier.Run(ctx) }()
	e.stop = func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
		if err := db.Close(); err != nil && !errors.Is(err, tsdb.ErrClosed) {
			t.Error(err)
		}
	}
	t.Cleanup(func() { e.close() })
}

func (e *env) close() {
	if e.stop != nil {
		e.stop()
		e.stop = nil
	}
}

// restart stops everything and starts it again over the same directory.
func (e *env) restart() {
	e.close()
	e.open()
}

// write appends samples of one metric at t.
func (e *env) write(t time.Time, v float64, series ...string) {
	e.t.Helper()
	var ss []tsdb.Sample
	for _, s := range series {
		ls, err := parseSeries(s)
		if err != nil {
			e.t.Fatal(err)
		}
		ss = append(ss, tsdb.Sample{Labels: ls, T: t.UnixMilli(), V: v})
	}
	if err := e.db.Append(ss); err != nil {
		e.t.Fatal(err)
	}
}

// eval sets the clock to t and evaluates every group.
func (e *env) eval(t time.Time) {
	e.t.Helper()
	e.clock.Set(t)
	if err := e.mgr.EvalOnce(context.Background(), t); err != nil {
		e.t.Fatal(err)
	}
}

// barrier sends a marker alert through the notifier and waits for it: the
// receiver's queue is FIFO, so everything queued before has been delivered.
func (e *env) barrier() {
	e.t.Helper()
	id := fmt.Sprint(time.Now().UnixNano())
	e.notifier.Notify(notify.Alert{
		Labels:   labels.FromStrings("alertname", "Barrier", "id", id),
		StartsAt: e.clock.Now(),
		EndsAt:   e.clock.Now().Add(time.Hour),
	})
	waitFor(e.t, "barrier "+id, func() bool {
		for _, m := range e.hook.about("Barrier") {
			for _, a := range m.Alerts {
				if a.Labels["id"] == id {
					return true
				}
			}
		}
		return false
	})
}

// check returns the board row whose name starts with name.
func (e *env) check(name string) rules.Check {
	e.t.Helper()
	for _, c := range e.mgr.Checks() {
		if c.Name == name {
			return c
		}
	}
	e.t.Fatalf("no check %q in %+v", name, e.mgr.Checks())
	return rules.Check{}
}

// query runs an instant query on the DB.
func (e *env) query(qs string, t time.Time) promql.Vector {
	e.t.Helper()
	v, err := engineQuery(e.engine, e.db)(context.Background(), qs, t)
	if err != nil {
		e.t.Fatal(err)
	}
	return v
}

func parseSeries(s string) (labels.Labels, error) {
	name, rest, _ := strings.Cut(s, "{")
	b := labels.NewScratchBuilder(4)
	b.Add(model.MetricNameLabel, name)
	rest = strings.TrimSuffix(rest, "}")
	for kv := range strings.SplitSeq(rest, ",") {
		if kv == "" {
			continue
		}
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return labels.EmptyLabels(), fmt.Errorf("bad series %q", s)
		}
		b.Add(strings.TrimSpace(k), strings.Trim(strings.TrimSpace(v), `"`))
	}
	b.Sort()
	return b.Labels(), nil
}

func counter(set *metrics.Set, name string) float64 {
	var sb strings.Builder
	set.WritePrometheus(&sb)
	for line := range strings.SplitSeq(sb.String(), "\n") {
		if rest, ok := strings.CutPrefix(line, name+" "); ok {
			var v float64
			fmt.Sscan(rest, &v)
			return v
		}
	}
	return 0
}
