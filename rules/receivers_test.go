package rules_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"

	"github.com/wardmetrics/ward/rules"
	"github.com/wardmetrics/ward/rules/notify"
	"github.com/wardmetrics/ward/tsdb"
)

// A receiver that hangs and one that refuses connections must not hold up
// evaluation: Notify only enqueues; a full queue drops and counts.
func TestSlowAndDeadReceiversDoNotBlockEvaluation(t *testing.T) {
	release := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer slow.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadURL := "http://" + ln.Addr().String()
	ln.Close()

	clk := &clock{t: base}
	set := metrics.NewSet()
	db, err := tsdb.Open(t.TempDir(), tsdb.Options{Now: clk.Now, Sync: tsdb.SyncNone}, set)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	cfg, err := notify.ParseConfig(fmt.Appendf(nil, `
receivers:
  - name: slow
    type: webhook
    url: %s
    queue_size: 2
    group_by: ["..."]
  - name: dead
    type: alertmanager
    url: %s
    queue_size: 2
    min_backoff: 5ms
    max_backoff: 10ms
    retry_for: 50ms
`, slow.URL, deadURL))
	if err != nil {
		t.Fatal(err)
	}
	n, err := notify.New(cfg, notify.Options{Store: db.KV("notify"), Metrics: set, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	engine := promql.NewEngine(promql.EngineOpts{MaxSamples: 1e6, Timeout: time.Minute, LookbackDelta: 5 * time.Minute})
	m, err := rules.NewManager(rules.ManagerOptions{Query: engineQuery(engine, db), Store: db.KV("rules"), Notifier: n, Metrics: set, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	e := &env{t: t, ruleDir: dir}
	e.writeRules(`
groups:
  - name: g
    rules:
      - alert: Errors
        expr: errors > 0
`)
	if err := m.Load(filepath.Join(dir, "*.yml")); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- n.Run(ctx) }()
	defer func() {
		// Release the hung request first: a delivery in flight is given a
		// grace period at shutdown.
		close(release)
		cancel()
		<-done
	}()

	// Every evaluation fires a new alert (a new series), so every round
	// queues a notification for both receivers.
	for i := range 20 {
		ts := base.Add(time.Duration(i) * time.Minute)
		clk.Set(ts)
		var batch []tsdb.Sample
		for j := 0; j <= i; j++ {
			batch = append(batch, tsdb.Sample{Labels: mustSeries(t, fmt.Sprintf(`errors{n="%d"}`, j)), T: ts.UnixMilli(), V: 1})
		}
		if err := db.Append(batch); err != nil {
			t.Fatal(err)
		}
		if err := m.EvalOnce(context.Background(), ts); err != nil {
			t.Fatal(err)
		}
	}
	// All 20 evaluations returned while the slow receiver still holds its
	// first request: evaluation did not wait for it.
	if got := counter(set, `ward_notify_dropped_total{receiver="slow"}`); got == 0 {
		t.Errorf("slow receiver dropped = %v; want > 0 with a queue of 2", got)
	}
	if got := counter(set, `ward_notify_notifications_total{receiver="slow"}`); got != 0 {
		t.Errorf("slow receiver delivered %v; want 0 while it hangs", got)
	}
	waitFor(t, "dead receiver to give up with retries", func() bool {
		return counter(set, `ward_notify_notifications_failed_total{receiver="dead"}`) > 0 &&
			counter(set, `ward_notify_retries_total{receiver="dead"}`) > 0
	})
	if got := len(m.Alerts().Alerts); got != 20 {
		t.Errorf("alerts = %d; want 20", got)
	}
}

func mustSeries(t *testing.T, s string) labels.Labels {
	t.Helper()
	ls, err := parseSeries(s)
	if err != nil {
		t.Fatal(err)
	}
	return ls
}
