package notify_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/wardmetrics/ward/rules/notify"
	"github.com/wardmetrics/ward/tsdb"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

var t0 = time.Date(2025, 6, 2, 12, 0, 0, 0, time.UTC)

// server records what it receives and answers with the statuses queued in
// fail (then 200).
type server struct {
	srv    *httptest.Server
	mu     sync.Mutex
	bodies [][]byte
	paths  []string
	fail   []int
	// anyHeaders accepts requests without Ward's test header.
	anyHeaders bool
}

func newServer(t *testing.T) *server {
	s := &server{}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		defer s.mu.Unlock()
		if len(s.fail) > 0 {
			code := s.fail[0]
			s.fail = s.fail[1:]
			w.WriteHeader(code)
			return
		}
		if !s.anyHeaders && (r.Header.Get("Content-Type") != "application/json" || r.Header.Get("X-Test") != "yes") {
			w.WriteHeader(http.StatusUnsupportedMediaType)
			return
		}
		s.bodies = append(s.bodies, b)
		s.paths = append(s.paths, r.URL.Path)
	}))
	t.Cleanup(s.srv.Close)
	return s
}

func (s *server) webhooks(t *testing.T) []notify.WebhookMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []notify.WebhookMessage
	for _, b := range s.bodies {
		var m notify.WebhookMessage
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("payload %s: %v", b, err)
		}
		out = append(out, m)
	}
	return out
}

func (s *server) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.bodies)
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

type harness struct {
	t     *testing.T
	clk   *clock
	set   *metrics.Set
	n     *notify.Notifier
	stop  func()
	store notify.Store
}

// start runs a notifier with cfg (a YAML receivers list).
func start(t *testing.T, cfg string, store notify.Store, clk *clock) *harness {
	t.Helper()
	c, err := notify.ParseConfig([]byte(cfg))
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, clk: clk, set: metrics.NewSet(), store: store}
	h.n, err = notify.New(c, notify.Options{Store: store, Metrics: h.set, Now: clk.Now, ExternalURL: "http://ward", TickInterval: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- h.n.Run(ctx) }()
	h.stop = func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
	t.Cleanup(func() { h.close() })
	return h
}

func (h *harness) close() {
	if h.stop != nil {
		h.stop()
		h.stop = nil
	}
}

func firing(clk *clock, name string, kv ...string) notify.Alert {
	return notify.Alert{
		Labels:      labels.FromStrings(append([]string{"alertname", name}, kv...)...),
		Annotations: labels.FromStrings("summary", name+" fires"),
		StartsAt:    t0,
		EndsAt:      clk.Now().Add(4 * time.Minute),
	}
}

func resolved(clk *clock, name string, kv ...string) notify.Alert {
	a := firing(clk, name, kv...)
	a.EndsAt = clk.Now()
	return a
}

func openKV(t *testing.T, dir string) (*tsdb.DB, notify.Store) {
	t.Helper()
	db, err := tsdb.Open(dir, tsdb.Options{Sync: tsdb.SyncNone}, metrics.NewSet())
	if err != nil {
		t.Fatal(err)
	}
	return db, db.KV("notify")
}

func webhookCfg(url string, extra string) string {
	return fmt.Sprintf(`
receivers:
  - name: web
    type: webhook
    url: %s
    headers: {X-Test: "yes"}
    min_backoff: 1ms
    max_backoff: 5ms
    retry_for: 5s
%s`, url, extra)
}

// barrier sends a marker in its own group and waits for it: the queue is
// FIFO, so everything queued before was delivered.
func barrier(t *testing.T, h *harness, s *server) {
	t.Helper()
	id := fmt.Sprint(time.Now().UnixNano())
	h.n.Notify(firing(h.clk, "Barrier", "id", id))
	waitFor(t, "barrier", func() bool {
		for _, m := range s.webhooks(t) {
			if m.GroupLabels["alertname"] == "Barrier" && m.Alerts[0].Labels["id"] == id {
				return true
			}
		}
		return false
	})
}

func about(t *testing.T, s *server, name string) []notify.WebhookMessage {
	var out []notify.WebhookMessage
	for _, m := range s.webhooks(t) {
		if m.GroupLabels["alertname"] == name {
			out = append(out, m)
		}
	}
	return out
}

func TestWebhookDedupRepeatAndResolve(t *testing.T) {
	clk := &clock{t: t0}
	s := newServer(t)
	db, store := openKV(t, t.TempDir())
	defer db.Close()
	h := start(t, webhookCfg(s.srv.URL, "    repeat_interval: 1h"), store, clk)

	h.n.Notify(firing(clk, "Disk", "host", "a"), firing(clk, "Disk", "host", "b"))
	waitFor(t, "first", func() bool { return len(about(t, s, "Disk")) == 1 })
	m := about(t, s, "Disk")[0]
	if m.Status != "firing" || len(m.Alerts) != 2 || m.CommonLabels["alertname"] != "Disk" || m.CommonLabels["host"] != "" ||
		m.CommonAnnotations["summary"] != "Disk fires" || m.ExternalURL != "http://ward" || m.TruncatedAlerts != 0 {
		t.Errorf("first message = %+v", m)
	}
	if m.Alerts[0].Labels["host"] != "a" || m.Alerts[1].Labels["host"] != "b" || !m.Alerts[0].EndsAt.IsZero() {
		t.Errorf("alerts = %+v; want a then b, zero endsAt while firing", m.Alerts)
	}

	// The same alerts again (a resend): nothing new to say.
	clk.Add(time.Minute)
	h.n.Notify(firing(clk, "Disk", "host", "a"), firing(clk, "Disk", "host", "b"))
	barrier(t, h, s)
	if n := len(about(t, s, "Disk")); n != 1 {
		t.Fatalf("after resend: %d messages; want 1", n)
	}
	// One resolves: the group is notified with it resolved.
	clk.Add(time.Minute)
	h.n.Notify(firing(clk, "Disk", "host", "a"), resolved(clk, "Disk", "host", "b"))
	waitFor(t, "partial resolution", func() bool { return len(about(t, s, "Disk")) == 2 })
	m = about(t, s, "Disk")[1]
	if m.Status != "firing" || len(m.Alerts) != 2 || m.Alerts[0].Status != "firing" || m.Alerts[1].Status != "resolved" || !m.Alerts[1].EndsAt.Equal(clk.Now()) {
		t.Errorf("partial resolution = %+v", m)
	}
	// Past the repeat interval, a still-firing group is notified again.
	clk.Add(61 * time.Minute)
	h.n.Notify(firing(clk, "Disk", "host", "a"))
	waitFor(t, "repeat", func() bool { return len(about(t, s, "Disk")) == 3 })
	if m := about(t, s, "Disk")[2]; len(m.Alerts) != 1 || m.Alerts[0].Status != "firing" {
		t.Errorf("repeat = %+v; want only the firing alert", m)
	}
	// An alert that is not sent again before its endsAt expires and resolves
	// (the tick notices it).
	clk.Add(5 * time.Minute)
	waitFor(t, "expiry", func() bool { return len(about(t, s, "Disk")) == 4 })
	if m := about(t, s, "Disk")[3]; m.Status != "resolved" {
		t.Errorf("after expiry = %+v; want resolved", m)
	}
	if got := metricValue(h.set, `ward_notify_notifications_total{receiver="web"}`); got < 4 {
		t.Errorf("notifications_total = %v; want >= 4", got)
	}
}

func TestNotificationLogSurvivesRestart(t *testing.T) {
	clk := &clock{t: t0}
	s := newServer(t)
	dir := t.TempDir()
	db, store := openKV(t, dir)
	h := start(t, webhookCfg(s.srv.URL, ""), store, clk)
	h.n.Notify(firing(clk, "Down", "svc", "api"))
	waitFor(t, "first", func() bool { return len(about(t, s, "Down")) == 1 })
	h.close()
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	db, store = openKV(t, dir)
	defer db.Close()
	clk.Add(time.Minute)
	h = start(t, webhookCfg(s.srv.URL, ""), store, clk)
	h.n.Notify(firing(clk, "Down", "svc", "api"))
	barrier(t, h, s)
	if n := len(about(t, s, "Down")); n != 1 {
		t.Fatalf("after restart: %d messages; want 1", n)
	}
	clk.Add(time.Minute)
	h.n.Notify(resolved(clk, "Down", "svc", "api"))
	waitFor(t, "resolved after restart", func() bool { return len(about(t, s, "Down")) == 2 })
}

func TestSendResolvedFalseMatchersGroupByAndTruncation(t *testing.T) {
	clk := &clock{t: t0}
	s := newServer(t)
	h := start(t, fmt.Sprintf(`
receivers:
  - name: crit
    type: webhook
    url: %s
    headers: {X-Test: "yes"}
    matchers: ['severity="critical"']
    group_by: [team]
    send_resolved: false
    max_alerts: 2
`, s.srv.URL), nil, clk)
	h.n.Notify(
		firing(clk, "A", "severity", "critical", "team", "pay", "n", "1"),
		firing(clk, "B", "severity", "critical", "team", "pay", "n", "2"),
		firing(clk, "C", "severity", "critical", "team", "pay", "n", "3"),
		firing(clk, "D", "severity", "warning", "team", "pay"),
	)
	waitFor(t, "group", func() bool { return s.count() == 1 })
	m := s.webhooks(t)[0]
	if m.GroupKey != `{}:{team="pay"}` || m.GroupLabels["team"] != "pay" || len(m.Alerts) != 2 || m.TruncatedAlerts != 1 || m.Receiver != "crit" {
		t.Errorf("message = %+v; want team group, 2 alerts, 1 truncated", m)
	}
	for _, a := range m.Alerts {
		if a.Labels["severity"] != "critical" {
			t.Errorf("warning alert passed the matcher: %v", a.Labels)
		}
	}
	// All resolve: with send_resolved false Alertmanager still notifies (to
	// clear its log) but leaves the resolved alerts out; Ward sends nothing.
	clk.Add(time.Minute)
	h.n.Notify(
		resolved(clk, "A", "severity", "critical", "team", "pay", "n", "1"),
		resolved(clk, "B", "severity", "critical", "team", "pay", "n", "2"),
		resolved(clk, "C", "severity", "critical", "team", "pay", "n", "3"),
	)
	h.n.Notify(firing(clk, "E", "severity", "critical", "team", "ops"))
	waitFor(t, "ops group", func() bool { return s.count() == 2 })
	if m := s.webhooks(t)[1]; m.GroupLabels["team"] != "ops" {
		t.Errorf("second message = %+v; want the ops group, no resolved message", m)
	}
}

func TestRetriesWithBackoffAndPermanentFailures(t *testing.T) {
	clk := &clock{t: t0}
	s := newServer(t)
	s.fail = []int{503, 429}
	h := start(t, webhookCfg(s.srv.URL, ""), nil, clk)
	h.n.Notify(firing(clk, "Flaky"))
	waitFor(t, "delivery after retries", func() bool { return s.count() == 1 })
	if got := metricValue(h.set, `ward_notify_retries_total{receiver="web"}`); got != 2 {
		t.Errorf("retries = %v; want 2", got)
	}
	s.mu.Lock()
	s.fail = []int{400}
	s.mu.Unlock()
	h.n.Notify(firing(clk, "Rejected"))
	waitFor(t, "permanent failure", func() bool {
		return metricValue(h.set, `ward_notify_notifications_failed_total{receiver="web"}`) == 1
	})
	if got := metricValue(h.set, `ward_notify_retries_total{receiver="web"}`); got != 2 {
		t.Errorf("retries after a 400 = %v; want still 2 (no retry)", got)
	}
	// The failed group is tried again at the next notification or tick.
	waitFor(t, "redelivery", func() bool { return len(about(t, s, "Rejected")) == 1 })
}

func TestAlertmanagerReceiverPostsV2Alerts(t *testing.T) {
	clk := &clock{t: t0}
	s := newServer(t)
	h := start(t, fmt.Sprintf(`
receivers:
  - name: am
    type: alertmanager
    url: %s/
    headers: {X-Test: "yes"}
`, s.srv.URL), nil, clk)
	h.n.Notify(firing(clk, "A", "x", "1"), resolved(clk, "B"))
	waitFor(t, "post", func() bool { return s.count() >= 1 })
	s.mu.Lock()
	body, path := s.bodies[0], s.paths[0]
	s.mu.Unlock()
	if path != "/api/v2/alerts" {
		t.Errorf("path = %q; want /api/v2/alerts", path)
	}
	var got []map[string]any
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("posted %s; want 2 alerts", body)
	}
	for _, a := range got {
		for k := range a {
			if !strings.Contains("labels annotations startsAt endsAt generatorURL", k) {
				t.Errorf("unexpected field %q in %v", k, a)
			}
		}
	}
	a := got[0]["labels"].(map[string]any)
	if a["alertname"] != "A" || got[0]["endsAt"] != t0.Add(4*time.Minute).Format(time.RFC3339) || got[1]["endsAt"] != t0.Format(time.RFC3339) {
		t.Errorf("posted %s; want firing A valid 4m, B ended now", body)
	}
}

func TestConfig(t *testing.T) {
	c, err := notify.ParseConfig([]byte("receivers:\n  - name: w\n    type: webhook\n    url: http://127.0.0.1:1/x\n"))
	if err != nil {
		t.Fatal(err)
	}
	r := c.Receivers[0]
	if r.GroupBy[0] != "alertname" || !*r.SendResolved || time.Duration(r.RepeatInterval) != notify.DefaultRepeatInterval || r.QueueSize != notify.DefaultQueueSize {
		t.Errorf("defaults not applied: %+v", r)
	}
	if c, err := notify.ParseConfig(nil); err != nil || len(c.Receivers) != 0 {
		t.Errorf("empty config = %+v, %v", c, err)
	}
	for in, want := range map[string]string{
		"receivers:\n  - name: w\n    type: email\n    url: http://x/\n":                                                       `type "email"`,
		"receivers:\n  - name: w\n    type: webhook\n    url: ftp://x/\n":                                                      `not an http(s) URL`,
		"receivers:\n  - type: webhook\n    url: http://x/\n":                                                                  `name is required`,
		"receivers:\n  - name: w\n    type: webhook\n    url: http://x/\n    matchers: ['a=~\"(']\n":                           `parse matcher`,
		"receivers:\n  - name: w\n    type: webhook\n    url: http://x/\n  - name: w\n    type: webhook\n    url: http://x/\n": `duplicate name`,
		"receivers:\n  - name: w\n    type: webhook\n    url: http://x/\n    retries: 3\n":                                     `field retries not found`,
	} {
		if _, err := notify.ParseConfig([]byte(in)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseConfig(%q) = %v; want an error containing %q", in, err, want)
		}
	}
}

func metricValue(set *metrics.Set, name string) float64 {
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
