package deploy

import (
	"context"
	"encoding/json"
	"errors"
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
)

// The continuous guard rolls a 5x-error canary back within two evaluation intervals,
// marks it rolled_back, calls the webhook with the verdict and runs the command.
func TestGuardRollsBackBadCanaryAutomatically(t *testing.T) {
	c := newCluster(11, simStart)
	c.canaryErrFactor = 5
	e := newEnv(t, simStart)
	w := &writer{db: e.db, c: c, total: map[string]float64{}}
	w.run(t, simStart.Add(-time.Hour), simStart)

	var (
		mu    sync.Mutex
		hooks []Verdict
	)
	hook := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var v Verdict
		if err := json.Unmarshal(b, &v); err != nil {
			t.Errorf("webhook body %s: %v", b, err)
		}
		mu.Lock()
		hooks = append(hooks, v)
		mu.Unlock()
	}))
	defer hook.Close()
	record := filepath.Join(t.TempDir(), "rollback.log")
	spec := mustSpec(t, strings.Replace(testSpec, "    command: echo rolled back $WARD_RELEASE\n",
		"    command: echo \"rollback $WARD_RELEASE\" >> "+record+"\n    webhook: "+hook.URL+"\n", 1))

	set := metrics.NewSet()
	store := NewStore(e.db.KV("deploy"), func() time.Time { return e.now })
	if _, err := store.Register(Deploy{Release: "r2", Canary: `release="r2"`, Baseline: `release="r1"`}); err != nil {
		t.Fatal(err)
	}
	g, err := New(Options{Store: store, Query: e.query, RangeQuery: e.rangeQuery, Spec: spec, Metrics: set, Now: func() time.Time { return e.now }})
	if err != nil {
		t.Fatal(err)
	}
	rounds := 0
	for ; rounds < 2; rounds++ {
		next := e.now.Add(spec.Interval)
		w.run(t, e.now, next)
		e.now = next
		if err := g.Check(context.Background()); err != nil {
			t.Fatal(err)
		}
		if d, _ := store.Get("r2"); d.Phase == PhaseRolledBack {
			break
		}
	}
	d, err := store.Get("r2")
	if err != nil {
		t.Fatal(err)
	}
	if d.Phase != PhaseRolledBack {
		t.Fatalf("after %d intervals phase = %s, want rolled_back", rounds+1, d.Phase)
	}
	if !strings.Contains(d.History[len(d.History)-1].Reason, "errors") {
		t.Errorf("rollback reason %q does not name the failing metric", d.History[len(d.History)-1].Reason)
	}
	b, err := os.ReadFile(record)
	if err != nil || strings.TrimSpace(string(b)) != "rollback r2" {
		t.Fatalf("rollback command output %q, %v; want one 'rollback r2'", b, err)
	}
	mu.Lock()
	if len(hooks) != 1 || hooks[0].Decision != Rollback || hooks[0].Release != "r2" {
		t.Errorf("webhook calls %+v, want one rollback verdict for r2", hooks)
	}
	mu.Unlock()
	// A rolled-back release is not judged or rolled back again.
	e.now = e.now.Add(spec.Interval)
	if err := g.Check(context.Background()); err != nil {
		t.Fatal(err)
	}
	if b2, _ := os.ReadFile(record); string(b2) != string(b) {
		t.Fatalf("rollback ran again: %q", b2)
	}
	v, err := g.Verdict(context.Background(), "r2")
	if err != nil || v.Decision != Rollback {
		t.Fatalf("verdict after rollback: %s, %v; want rollback", v.Decision, err)
	}
	if got := set.GetOrCreateCounter("ward_guard_rollbacks_total").Get(); got != 1 {
		t.Errorf("ward_guard_rollbacks_total = %d, want 1", got)
	}
}

func TestGuardRunStopsOnCancel(t *testing.T) {
	e := newEnv(t, simStart)
	store := NewStore(e.db.KV("deploy"), nil)
	spec := mustSpec(t, "guard:\n  interval: 10ms\n  metrics:\n    - name: a\n      expr: vector(1)\n")
	g, err := New(Options{Store: store, Query: e.query, RangeQuery: e.rangeQuery, Spec: spec})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- g.Run(ctx) }()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
	if _, err := g.Verdict(context.Background(), "nope"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("verdict of unknown release: %v, want ErrNotFound", err)
	}
}

func TestGuardReloadKeepsOldSpecOnError(t *testing.T) {
	e := newEnv(t, simStart)
	g, err := New(Options{Store: NewStore(e.db.KV("deploy"), nil), Query: e.query, RangeQuery: e.rangeQuery, Spec: mustSpec(t, testSpec)})
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Reload(&Spec{Confidence: 3}); err == nil {
		t.Fatal("Reload accepted confidence 3")
	}
	if n := len(g.Spec().Metrics); n != 3 {
		t.Fatalf("after a refused reload %d metrics, want the old 3", n)
	}
	if err := g.Reload(mustSpec(t, "guard:\n  interval: 5s\n  metrics:\n    - name: a\n      expr: vector(1)\n")); err != nil {
		t.Fatal(err)
	}
	if s := g.Spec(); len(s.Metrics) != 1 || s.Interval != 5*time.Second {
		t.Fatalf("after reload %+v", s)
	}
}
