package rules_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"

	"github.com/wardmetrics/ward/rules"
)

const ordersRules = `
groups:
  - name: business
    interval: 1m
    rules:
      - alert: OrdersRate
        expr: orders_rate
        for: 2m
        warn: "< 0.95"
        crit: "< 0.9"
        labels:
          team: shop
        annotations:
          summary: "orders rate {{ $labels.region }} is {{ $value }}"
`

func TestCritThresholdFiresAfterForThenResolves(t *testing.T) {
	e := newEnv(t, ordersRules)
	at := func(m int) time.Time { return base.Add(time.Duration(m) * time.Minute) }
	series := `orders_rate{region="eu"}`

	e.write(at(0), 1.0, series)
	e.eval(at(0))
	if c := e.check(`OrdersRate{region="eu"}`); c.Status != rules.StateOK || c.Value != "1" {
		t.Fatalf("healthy value: got %s value %s; want OK 1", c.Status, c.Value)
	}

	e.write(at(1), 0.8, series)
	e.eval(at(1))
	if c := e.check(`OrdersRate{region="eu"}`); c.Status != rules.StatePending {
		t.Fatalf("after crossing crit: got %s (%s); want PENDING", c.Status, c.Info)
	}
	e.write(at(2), 0.8, series)
	e.eval(at(2))
	if c := e.check(`OrdersRate{region="eu"}`); c.Status != rules.StatePending {
		t.Fatalf("1m into for: got %s; want PENDING", c.Status)
	}
	e.write(at(3), 0.8, series)
	e.eval(at(3))
	c := e.check(`OrdersRate{region="eu"}`)
	if c.Status != rules.StateCritical || !c.Since.Equal(at(3)) {
		t.Fatalf("after for: got %s since %v; want CRITICAL since %v", c.Status, c.Since, at(3))
	}
	if !strings.Contains(c.Info, "orders rate eu is 0.8") || !strings.Contains(c.Info, "< 0.9 (crit)") {
		t.Errorf("info = %q; want the summary and the crossed threshold", c.Info)
	}

	waitFor(t, "firing webhook", func() bool { return len(e.hook.about("OrdersRate")) == 1 })
	m := e.hook.about("OrdersRate")[0]
	if m.Version != "4" || m.Status != "firing" || m.Receiver != "hook" || m.ExternalURL != "http://ward.test" {
		t.Errorf("envelope = %+v; want version 4, firing, receiver hook", m)
	}
	if m.GroupKey != `{}:{alertname="OrdersRate"}` || m.GroupLabels["alertname"] != "OrdersRate" {
		t.Errorf("groupKey %q groupLabels %v", m.GroupKey, m.GroupLabels)
	}
	if len(m.Alerts) != 1 {
		t.Fatalf("alerts = %+v; want 1", m.Alerts)
	}
	a := m.Alerts[0]
	wantLabels := map[string]string{"alertname": "OrdersRate", "region": "eu", "team": "shop", "severity": "critical"}
	for k, v := range wantLabels {
		if a.Labels[k] != v {
			t.Errorf("label %s = %q; want %q (labels %v)", k, a.Labels[k], v, a.Labels)
		}
	}
	if len(a.Labels) != len(wantLabels) {
		t.Errorf("labels = %v; want exactly %v", a.Labels, wantLabels)
	}
	fp := model.LabelSet{}
	for k, v := range a.Labels {
		fp[model.LabelName(k)] = model.LabelValue(v)
	}
	if a.Status != "firing" || !a.StartsAt.Equal(at(3)) || !a.EndsAt.IsZero() || a.Fingerprint != fp.Fingerprint().String() {
		t.Errorf("alert = %+v; want firing from %v, zero endsAt, fingerprint %s", a, at(3), fp.Fingerprint())
	}
	if a.Annotations["summary"] != "orders rate eu is 0.8" || !strings.HasPrefix(a.GeneratorURL, "http://ward.test/graph?g0.expr=orders_rate") {
		t.Errorf("annotations %v generatorURL %q", a.Annotations, a.GeneratorURL)
	}
	if m.CommonLabels["severity"] != "critical" || m.CommonAnnotations["summary"] == "" {
		t.Errorf("common labels %v annotations %v", m.CommonLabels, m.CommonAnnotations)
	}
	// The payload's JSON has exactly Alertmanager's keys.
	var raw map[string]json.RawMessage
	e.hook.mu.Lock()
	_ = json.Unmarshal(e.hook.raw[len(e.hook.raw)-1], &raw)
	e.hook.mu.Unlock()
	for _, k := range []string{"receiver", "status", "alerts", "groupLabels", "commonLabels", "commonAnnotations", "externalURL", "version", "groupKey", "truncatedAlerts"} {
		if _, ok := raw[k]; !ok {
			t.Errorf("payload lacks %q", k)
		}
	}

	// ALERTS series are written for graphs.
	v := e.query(`ALERTS{alertname="OrdersRate",alertstate="firing",severity="critical"}`, at(3))
	if len(v) != 1 || v[0].F != 1 {
		t.Errorf("ALERTS = %v; want one firing series", v)
	}
	v = e.query(`ALERTS_FOR_STATE{alertname="OrdersRate"}`, at(3))
	if len(v) != 1 || v[0].F != float64(at(1).Unix()) {
		t.Errorf("ALERTS_FOR_STATE = %v; want active since %d", v, at(1).Unix())
	}
	alerts := e.mgr.Alerts().Alerts
	if len(alerts) != 1 || alerts[0].State != "firing" || alerts[0].WardState != rules.StateCritical || alerts[0].Value != "8e-01" {
		t.Errorf("Alerts() = %+v; want one firing CRITICAL with value 8e-01", alerts)
	}

	// Still firing a minute later: no new notification (nothing changed).
	e.write(at(4), 0.85, series)
	e.eval(at(4))
	// Recovery.
	e.write(at(5), 0.99, series)
	e.eval(at(5))
	if c := e.check(`OrdersRate{region="eu"}`); c.Status != rules.StateOK {
		t.Fatalf("after recovery: got %s; want OK", c.Status)
	}
	waitFor(t, "resolved webhook", func() bool { return len(e.hook.about("OrdersRate")) == 2 })
	m = e.hook.about("OrdersRate")[1]
	if m.Status != "resolved" || len(m.Alerts) != 1 || m.Alerts[0].Status != "resolved" || !m.Alerts[0].EndsAt.Equal(at(5)) {
		t.Errorf("resolved message = %+v; want one alert resolved at %v", m, at(5))
	}
	if len(e.mgr.Alerts().Alerts) != 0 {
		t.Errorf("Alerts() after recovery = %+v; want none", e.mgr.Alerts().Alerts)
	}
	// The resolved alert is re-sent to the notifier for a while, but the
	// receiver is told only once.
	e.write(at(6), 0.99, series)
	e.eval(at(6))
	e.barrier()
	if n := len(e.hook.about("OrdersRate")); n != 2 {
		t.Errorf("messages = %d; want 2", n)
	}
}

func TestWarnThenCritWithHysteresis(t *testing.T) {
	e := newEnv(t, `
groups:
  - name: g
    rules:
      - alert: Latency
        expr: latency_seconds
        warn: "> 1"
        crit: "> 2"
        clear: "< 0.5"
`)
	at := func(m int) time.Time { return base.Add(time.Duration(m) * time.Minute) }
	steps := []struct {
		v    float64
		want rules.State
	}{
		{0.2, rules.StateOK},
		{1.5, rules.StateWarning},
		{2.5, rules.StateCritical},
		{1.5, rules.StateWarning},
		{0.8, rules.StateWarning}, // below warn but not below clear: held
		{0.4, rules.StateOK},
		{0.8, rules.StateOK},
	}
	for i, s := range steps {
		e.write(at(i), s.v, `latency_seconds{host="a"}`)
		e.eval(at(i))
		e.barrier()
		if c := e.check(`Latency{host="a"}`); c.Status != s.want {
			t.Fatalf("step %d value %v: got %s (%s); want %s", i, s.v, c.Status, c.Info, s.want)
		}
	}
	// Warning, then critical (the warning alert resolves), then warning again
	// (critical resolves), then resolved: receivers see each level change,
	// and a resolution already announced is not repeated.
	waitFor(t, "4 messages", func() bool { return len(e.hook.about("Latency")) == 4 })
	msgs := e.hook.about("Latency")
	sev := func(i int) string {
		var parts []string
		for _, a := range msgs[i].Alerts {
			parts = append(parts, a.Labels["severity"]+":"+a.Status)
		}
		return strings.Join(parts, ",")
	}
	want := []string{"warning:firing", "critical:firing,warning:resolved", "warning:firing,critical:resolved", "warning:resolved"}
	for i := range want {
		if got := sev(i); got != want[i] {
			t.Errorf("message %d = %s; want %s", i, got, want[i])
		}
	}
}
