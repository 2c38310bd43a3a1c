package rules_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/wardmetrics/ward/rules"
)

// A Prometheus rule file loads unchanged and behaves as in Prometheus.
func TestPrometheusSemantics(t *testing.T) {
	e := newEnv(t, `
groups:
  - name: node
    interval: 30s
    rules:
      - record: instance:load:max
        expr: max by (instance) (node_load1)
      - alert: HighLoad
        expr: instance:load:max > 4
        for: 1m
        keep_firing_for: 2m
        labels:
          severity: page
        annotations:
          description: "load on {{ $labels.instance }} is {{ printf \"%.1f\" $value }}"
`)
	at := func(s int) time.Time { return base.Add(time.Duration(s) * time.Second) }
	load := func(s int, v float64) {
		e.write(at(s), v, `node_load1{instance="db1",cpu="0"}`, `node_load1{instance="db1",cpu="1"}`)
		e.eval(at(s))
	}
	state := func() (string, string) {
		a := e.mgr.Alerts().Alerts
		if len(a) == 0 {
			return "inactive", ""
		}
		return a[0].State, a[0].Annotations.Get("description")
	}
	load(0, 5)
	if s, d := state(); s != "pending" || d != "load on db1 is 5.0" {
		t.Fatalf("first true evaluation: %s %q; want pending with description", s, d)
	}
	// A pending alert is dropped at the first false evaluation.
	load(30, 1)
	if s, _ := state(); s != "inactive" {
		t.Fatalf("false while pending: %s; want inactive", s)
	}
	load(60, 5)
	load(90, 5)
	if s, _ := state(); s != "pending" {
		t.Fatalf("30s into for: %s; want pending", s)
	}
	load(120, 6)
	if s, d := state(); s != "firing" || d != "load on db1 is 6.0" {
		t.Fatalf("after for: %s %q; want firing", s, d)
	}
	if c := e.check(`HighLoad{instance="db1"}`); c.Status != rules.StateCritical {
		t.Errorf("plain firing rule on the board: %s; want CRITICAL", c.Status)
	}
	// keep_firing_for holds it for 2m after the condition clears.
	load(150, 1)
	load(240, 1)
	if s, _ := state(); s != "firing" {
		t.Fatalf("within keep_firing_for: %s; want firing", s)
	}
	if a := e.mgr.Alerts().Alerts[0]; a.KeepFiringSince == nil || !a.KeepFiringSince.Equal(at(150)) {
		t.Errorf("keepFiringSince = %v; want %v", a.KeepFiringSince, at(150))
	}
	load(270, 1)
	if s, _ := state(); s != "inactive" {
		t.Fatalf("after keep_firing_for: %s; want inactive", s)
	}
	waitFor(t, "firing and resolved", func() bool { return len(e.hook.about("HighLoad")) == 2 })
	msgs := e.hook.about("HighLoad")
	if msgs[0].Status != "firing" || msgs[1].Status != "resolved" || msgs[0].Alerts[0].Labels["severity"] != "page" {
		t.Errorf("notifications = %+v; want firing (severity=page kept) then resolved", msgs)
	}
	// The recording rule's series exists, and ALERTS went stale.
	if v := e.query(`instance:load:max`, at(270)); len(v) != 1 || v[0].F != 1 || v[0].Metric.Get("instance") != "db1" {
		t.Errorf("recorded series = %v; want instance:load:max{instance=db1} 1", v)
	}
	if v := e.query(`ALERTS{alertname="HighLoad"}`, at(271)); len(v) != 0 {
		t.Errorf("ALERTS after resolution = %v; want none (stale marker)", v)
	}
	if v := e.query(`ALERTS{alertname="HighLoad",alertstate="firing"}`, at(240)); len(v) != 1 {
		t.Errorf("ALERTS while kept firing = %v; want one", v)
	}

	// /api/v1/rules shape.
	b, err := json.Marshal(e.mgr.Rules())
	if err != nil {
		t.Fatal(err)
	}
	var rd struct {
		Groups []struct {
			Name     string           `json:"name"`
			File     string           `json:"file"`
			Interval float64          `json:"interval"`
			Rules    []map[string]any `json:"rules"`
		} `json:"groups"`
	}
	if err := json.Unmarshal(b, &rd); err != nil {
		t.Fatal(err)
	}
	g := rd.Groups[0]
	if g.Name != "node" || g.File != e.rulePath() || g.Interval != 30 || len(g.Rules) != 2 {
		t.Fatalf("group = %+v", g)
	}
	rec, alert := g.Rules[0], g.Rules[1]
	if rec["type"] != "recording" || rec["name"] != "instance:load:max" || rec["health"] != "ok" {
		t.Errorf("recording rule = %v", rec)
	}
	if alert["type"] != "alerting" || alert["name"] != "HighLoad" || alert["duration"] != 60.0 || alert["keepFiringFor"] != 120.0 || alert["state"] != "inactive" {
		t.Errorf("alerting rule = %v", alert)
	}
	if _, ok := alert["alerts"].([]any); !ok {
		t.Errorf("alerting rule alerts = %v; want a list", alert["alerts"])
	}
	if lbl, _ := alert["labels"].(map[string]any); lbl["severity"] != "page" {
		t.Errorf("alerting rule labels = %v", alert["labels"])
	}
}
