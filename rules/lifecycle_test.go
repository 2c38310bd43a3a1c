package rules_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/promql"

	"github.com/wardmetrics/ward/rules"
)

func TestRestartKeepsStateWithoutSecondNotification(t *testing.T) {
	e := newEnv(t, ordersRules+`
  - name: sentinel
    rules:
      - alert: Sentinel
        expr: sentinel > 0
`)
	at := func(m int) time.Time { return base.Add(time.Duration(m) * time.Minute) }
	for m := 0; m <= 3; m++ {
		e.write(at(m), 0.5, `orders_rate{region="eu"}`)
		e.eval(at(m))
	}
	before := e.check(`OrdersRate{region="eu"}`)
	if before.Status != rules.StateCritical {
		t.Fatalf("before restart: %s; want CRITICAL", before.Status)
	}
	waitFor(t, "firing webhook", func() bool { return len(e.hook.about("OrdersRate")) == 1 })

	e.restart()
	after := e.check(`OrdersRate{region="eu"}`)
	if after.Status != rules.StateCritical || !after.Since.Equal(*before.Since) || after.Info != before.Info {
		t.Fatalf("after restart, before evaluating: %+v; want %+v", after, before)
	}
	if a := e.mgr.Alerts().Alerts; len(a) != 1 || !a[0].ActiveAt.Equal(at(0)) || a[0].Value != "5e-01" {
		t.Fatalf("Alerts() after restart = %+v; want one active since %v with value 5e-01", a, at(0))
	}
	e.write(at(4), 0.5, `orders_rate{region="eu"}`)
	e.write(at(4), 1, `sentinel`)
	e.eval(at(4))
	// Sentinel's group is evaluated after OrdersRate's, and the receiver's
	// queue is FIFO: once Sentinel arrives, a second OrdersRate would have.
	waitFor(t, "sentinel", func() bool { return len(e.hook.about("Sentinel")) == 1 })
	if n := len(e.hook.about("OrdersRate")); n != 1 {
		t.Fatalf("OrdersRate notifications = %d; want 1 (no second notification after restart)", n)
	}
	if c := e.check(`OrdersRate{region="eu"}`); c.Status != rules.StateCritical || !c.Since.Equal(*before.Since) {
		t.Errorf("after restart and evaluation: %s since %v; want CRITICAL since %v", c.Status, c.Since, before.Since)
	}
	// Recovery after the restart is still announced.
	e.write(at(5), 1, `orders_rate{region="eu"}`)
	e.eval(at(5))
	waitFor(t, "resolved", func() bool { return len(e.hook.about("OrdersRate")) == 2 })
	if m := e.hook.about("OrdersRate")[1]; m.Status != "resolved" {
		t.Errorf("second message status %q; want resolved", m.Status)
	}
}

func TestBadRuleFileOnReloadKeepsOldRules(t *testing.T) {
	e := newEnv(t, `
groups:
  - name: g
    rules:
      - alert: High
        expr: load > 10
`)
	bad := `groups:
  - name: g
    rules:
      - alert: High
        expr: load >>> 10
      - alert: Other
        expr: up == 0
        colour: red
      - alert: Thresh
        expr: x
        warn: "about 3"
`
	e.writeRules(bad)
	err := e.mgr.Reload()
	var le *rules.LoadError
	if !errors.As(err, &le) {
		t.Fatalf("Reload() = %v; want a *LoadError", err)
	}
	path := e.rulePath()
	for _, want := range []string{
		path + ":5:15: group \"g\", rule \"High\": could not parse expression",
		path + ":8:9: group \"g\", rule \"Other\": unknown field \"colour\"",
		path + ":11:15: group \"g\", rule \"Thresh\": warn: threshold \"about 3\"",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	if len(le.Errs) != 3 {
		t.Errorf("errors = %d; want 3:\n%v", len(le.Errs), err)
	}
	// The old rule still runs.
	rd := e.mgr.Rules()
	if len(rd.Groups) != 1 || len(rd.Groups[0].Rules) != 1 || rd.Groups[0].Rules[0].(rules.AlertingRule).Query != "load > 10" {
		t.Fatalf("rules after failed reload = %+v; want the old rule", rd)
	}
	e.write(base, 20, `load{host="a"}`)
	e.eval(base)
	if c := e.check(`High{host="a"}`); c.Status != rules.StateCritical {
		t.Errorf("old rule after failed reload: %s; want CRITICAL", c.Status)
	}
	if got := counter(e.set, "ward_rules_last_reload_successful"); got != 0 {
		t.Errorf("ward_rules_last_reload_successful = %v; want 0", got)
	}
	// CheckFiles reports the same errors, as `ward rules check` prints them.
	if errs := rules.CheckFiles(path); len(errs) != 3 {
		t.Errorf("CheckFiles = %v; want 3 errors", errs)
	}

	// A good reload replaces the rules and keeps the state of those kept.
	e.writeRules(`
groups:
  - name: g
    rules:
      - alert: High
        expr: load > 10
        annotations:
          summary: high load
      - alert: Low
        expr: load < 1
`)
	if err := e.mgr.Reload(); err != nil {
		t.Fatal(err)
	}
	if got := counter(e.set, "ward_rules_last_reload_successful"); got != 1 {
		t.Errorf("ward_rules_last_reload_successful = %v; want 1", got)
	}
	if c := e.check(`High{host="a"}`); c.Status != rules.StateCritical || !c.Since.Equal(base) {
		t.Errorf("state after good reload: %s since %v; want CRITICAL since %v", c.Status, c.Since, base)
	}
	if n := len(e.mgr.Rules().Groups[0].Rules); n != 2 {
		t.Errorf("rules after good reload = %d; want 2", n)
	}
}

func TestRunEvaluatesOnIntervalAndStops(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "r.yml")
	if err := os.WriteFile(path, []byte(`
groups:
  - name: fast
    interval: 20ms
    rules:
      - record: one
        expr: vector(1)
`), 0o644); err != nil {
		t.Fatal(err)
	}
	calls := make(chan time.Time, 100)
	m, err := rules.NewManager(rules.ManagerOptions{
		Query: func(_ context.Context, _ string, ts time.Time) (promql.Vector, error) {
			select {
			case calls <- ts:
			default:
			}
			return nil, nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Load(path); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	var seen []time.Time
	for len(seen) < 3 {
		select {
		case ts := <-calls:
			seen = append(seen, ts)
		case <-time.After(10 * time.Second):
			t.Fatal("no evaluations")
		}
	}
	for _, ts := range seen {
		if ts.UnixNano()%int64(20*time.Millisecond) != 0 {
			t.Errorf("evaluation at %v is not aligned to the 20ms interval", ts)
		}
	}
	// A reload while running restarts the groups with the new rules.
	if err := os.WriteFile(path, []byte(`
groups:
  - name: fast
    interval: 20ms
    rules:
      - record: two
        expr: vector(2)
`), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := m.Reload(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "rule two evaluated", func() bool {
		r := m.Rules().Groups[0].Rules[0].(rules.RecordingRule)
		return r.Name == "two" && r.Health == "ok"
	})
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
