package rules_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/wardmetrics/ward/rules"
)

func TestPeakHoursRuleSilentOutsideWindow(t *testing.T) {
	e := newEnv(t, `
groups:
  - name: orders
    rules:
      - alert: OrdersRatePeak
        expr: sum(rate_orders)
        crit: "< 100"
        active: Mon-Fri 09:00-21:00 America/Los_Angeles
      - alert: OrdersRateOffPeak
        expr: sum(rate_orders)
        crit: "< 10"
        active:
          - Mon-Fri 21:00-09:00 America/Los_Angeles
          - Sat-Sun America/Los_Angeles
`)
	la, err := time.LoadLocation("America/Los_Angeles")
	if err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		at            time.Time
		peak, offPeak rules.State
	}{
		{time.Date(2025, 6, 2, 12, 0, 0, 0, la), rules.StateCritical, rules.StateOK}, // Monday noon
		{time.Date(2025, 6, 2, 22, 0, 0, 0, la), rules.StateOK, rules.StateOK},       // Monday night
		{time.Date(2025, 6, 7, 12, 0, 0, 0, la), rules.StateOK, rules.StateOK},       // Saturday noon
		{time.Date(2025, 6, 9, 8, 59, 0, 0, la), rules.StateOK, rules.StateOK},       // Monday before opening
		{time.Date(2025, 6, 9, 9, 0, 0, 0, la), rules.StateCritical, rules.StateOK},  // Monday opening
	}
	for i, s := range steps {
		// 50 orders/s: too few at peak, plenty off-peak.
		e.clock.Set(s.at)
		e.write(s.at, 50, `rate_orders{shop="a"}`)
		e.eval(s.at)
		peak, off := e.check("OrdersRatePeak"), e.check("OrdersRateOffPeak")
		if peak.Status != s.peak || off.Status != s.offPeak {
			t.Fatalf("step %d (%v): peak %s (%s), off-peak %s (%s); want %s, %s", i, s.at, peak.Status, peak.Info, off.Status, off.Info, s.peak, s.offPeak)
		}
		if s.peak == rules.StateOK && (peak.Active || !strings.Contains(peak.Info, "outside active window")) {
			t.Errorf("step %d: peak row %+v; want inactive, outside its window", i, peak)
		}
		e.barrier()
	}
	// Monday noon fired, Monday night resolved (the window closed), and
	// the next Monday fired again; the off-peak rule never spoke.
	msgs := e.hook.about("OrdersRatePeak")
	var statuses []string
	for _, m := range msgs {
		statuses = append(statuses, m.Status)
	}
	if got := strings.Join(statuses, ","); got != "firing,resolved,firing" {
		t.Errorf("peak notifications = %s; want firing,resolved,firing", got)
	}
	if n := len(e.hook.about("OrdersRateOffPeak")); n != 0 {
		t.Errorf("off-peak notifications = %d; want 0", n)
	}
}

func TestNoDataStates(t *testing.T) {
	e := newEnv(t, `
groups:
  - name: nodata
    rules:
      - alert: SignupsCritical
        expr: signups_rate
        crit: "< 1"
        no_data: critical
      - alert: SignupsUnknown
        expr: signups_rate
        crit: "< 1"
        no_data: unknown
      - alert: SignupsOK
        expr: signups_rate
        crit: "< 1"
      - alert: DBConnections
        expr: db_connections > 100
        no_data: unknown
`)
	at := func(m int) time.Time { return base.Add(time.Duration(m) * time.Minute) }
	e.eval(at(0))
	if c := e.check("SignupsCritical"); c.Status != rules.StateCritical || !strings.Contains(c.Info, "no data") {
		t.Errorf("no_data critical: %+v; want CRITICAL, no data", c)
	}
	if c := e.check("SignupsUnknown"); c.Status != rules.StateUnknown {
		t.Errorf("no_data unknown: %+v; want UNKNOWN", c)
	}
	if c := e.check("SignupsOK"); c.Status != rules.StateOK || c.Info != "no alerts" {
		t.Errorf("no_data ok: %+v; want OK, no alerts", c)
	}
	if c := e.check("DBConnections"); c.Status != rules.StateUnknown {
		t.Errorf("plain rule, no_data unknown: %+v; want UNKNOWN", c)
	}
	var crit rules.Alert
	for _, a := range e.mgr.Alerts().Alerts {
		if a.Labels.Get("alertname") == "SignupsCritical" {
			crit = a
		}
	}
	if crit.Labels.Get("severity") != "critical" || crit.State != "firing" {
		t.Errorf("no-data alert = %+v; want firing with severity=critical", crit)
	}
	waitFor(t, "no-data notification", func() bool { return len(e.hook.about("SignupsCritical")) == 1 })
	// The board's JSON names states as Nagios does.
	b, err := json.Marshal(e.mgr.Checks())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"status":"CRITICAL","name":"SignupsCritical"`) || !strings.Contains(string(b), `"durationSeconds":0,"duration":"0d 0h 0m 0s"`) {
		t.Errorf("checks JSON = %s", b)
	}

	// Data arrives: the rule-level no-data instances resolve, per-series
	// instances appear.
	e.write(at(1), 5, `signups_rate{site="a"}`, `db_connections{db="main"}`)
	e.eval(at(1))
	for _, name := range []string{`SignupsCritical{site="a"}`, `SignupsUnknown{site="a"}`, `SignupsOK{site="a"}`, `DBConnections{db="main"}`} {
		if c := e.check(name); c.Status != rules.StateOK {
			t.Errorf("%s with data: %+v; want OK", name, c)
		}
	}
	waitFor(t, "no-data resolved", func() bool { return len(e.hook.about("SignupsCritical")) == 2 })

	// The series go stale (no sample for more than the 5m lookback): each
	// instance takes its rule's no-data state.
	e.eval(at(7))
	want := map[string]rules.State{
		`SignupsCritical{site="a"}`: rules.StateCritical,
		`SignupsUnknown{site="a"}`:  rules.StateUnknown,
		`DBConnections{db="main"}`:  rules.StateUnknown,
	}
	for name, st := range want {
		if c := e.check(name); c.Status != st || c.Info != "no data" {
			t.Errorf("%s stale: %+v; want %s, no data", name, c, st)
		}
	}
	if c := e.check("SignupsOK"); c.Status != rules.StateOK {
		t.Errorf("no_data ok, stale: %+v; want OK", c)
	}
}

func TestFlappingCheckHoldsNotifications(t *testing.T) {
	e := newEnv(t, `
groups:
  - name: flappy
    rules:
      - alert: Queue
        expr: queue_depth
        crit: "> 100"
        flap_detection: true
`)
	at := func(m int) time.Time { return base.Add(time.Duration(m) * time.Minute) }
	i := 0
	flapAt := -1
	for ; i < 30; i++ {
		v := 50.0
		if i%2 == 1 {
			v = 500
		}
		e.write(at(i), v, `queue_depth{q="jobs"}`)
		e.eval(at(i))
		e.barrier()
		if e.check(`Queue{q="jobs"}`).Flapping {
			flapAt = i
			break
		}
	}
	if flapAt < 0 {
		t.Fatal("alternating check never marked flapping")
	}
	c := e.check(`Queue{q="jobs"}`)
	if c.FlapPercent < 20 || !strings.Contains(c.Info, "FLAPPING") {
		t.Errorf("flapping row %+v; want >= 20%% and FLAPPING in info", c)
	}
	sent := len(e.hook.about("Queue"))
	t.Logf("flapping detected at evaluation %d (%.1f%%) after %d notifications", flapAt, c.FlapPercent, sent)
	if sent == 0 {
		t.Fatal("no notification before flapping was detected")
	}
	// Keep flapping: state changes go on, notifications are held.
	for j := 0; j < 10; j++ {
		i++
		v := 50.0
		if i%2 == 1 {
			v = 500
		}
		e.write(at(i), v, `queue_depth{q="jobs"}`)
		e.eval(at(i))
	}
	e.barrier()
	if got := len(e.hook.about("Queue")); got != sent {
		t.Fatalf("notifications while flapping: %d -> %d; want held", sent, got)
	}
	if a := e.mgr.Alerts().Alerts; len(a) > 0 && !a[0].Flapping {
		t.Errorf("alert while flapping = %+v; want flapping marked", a[0])
	}
	// Stable again: flapping stops once the weighted change drops below 5%,
	// and the receiver then learns the current state.
	stopped := false
	for j := 0; j < 25 && !stopped; j++ {
		i++
		e.write(at(i), 50, `queue_depth{q="jobs"}`)
		e.eval(at(i))
		stopped = !e.check(`Queue{q="jobs"}`).Flapping
	}
	if !stopped {
		t.Fatal("flapping did not stop on a stable check")
	}
	if c := e.check(`Queue{q="jobs"}`); c.Status != rules.StateOK {
		t.Errorf("after flapping: %s; want OK", c.Status)
	}
	e.barrier()
	msgs := e.hook.about("Queue")
	last := msgs[len(msgs)-1]
	if lastSent := e.hook.about("Queue")[sent-1]; lastSent.Status == "firing" {
		// The receiver was last told "firing": it must now hear "resolved".
		if len(msgs) != sent+1 || last.Status != "resolved" {
			t.Errorf("after flapping stopped: %d messages, last %q; want one more, resolved", len(msgs), last.Status)
		}
	} else if len(msgs) != sent {
		t.Errorf("after flapping stopped: %d messages; want %d (receiver already knew it was resolved)", len(msgs), sent)
	}
}
