package main

import (
	"encoding/json"
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
)

// webhookReceiver is the outside world: an HTTP server that records the Alertmanager
// webhook payloads Ward sends.
type webhookReceiver struct {
	srv  *httptest.Server
	mu   sync.Mutex
	msgs []map[string]any
}

func newWebhookReceiver(t *testing.T) *webhookReceiver {
	r := &webhookReceiver{}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		var m map[string]any
		if err := json.Unmarshal(body, &m); err == nil {
			r.mu.Lock()
			r.msgs = append(r.msgs, m)
			r.mu.Unlock()
		}
		w.WriteHeader(200)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

// find returns the payloads whose status is status and that hold an alert named name.
func (r *webhookReceiver) find(name, status string) []map[string]any {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []map[string]any
	for _, m := range r.msgs {
		if m["status"] != status {
			continue
		}
		for _, a := range m["alerts"].([]any) {
			if a.(map[string]any)["labels"].(map[string]any)["alertname"] == name {
				out = append(out, m)
				break
			}
		}
	}
	return out
}

// TestRulesEndToEnd is the rules issue's acceptance test on a real `ward serve`.
func TestRulesEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	hook := newWebhookReceiver(t)
	dir := t.TempDir()
	// A window on another weekday, so the peak-hours rule is outside it now.
	other := time.Now().UTC().Add(72 * time.Hour).Weekday().String()[:3]
	rulesFile := filepath.Join(dir, "rules.yml")
	writeFile(t, rulesFile, fmt.Sprintf(`groups:
  - name: e2e
    interval: 1s
    rules:
      - alert: ErrorsHigh
        expr: e2e_errors
        for: 2s
        crit: "> 10"
        annotations:
          summary: "errors at {{ $value }}"
      - alert: ErrorsHighPeak
        expr: e2e_errors
        crit: "> 10"
        active: %s 00:00-24:00 UTC
      - alert: Missing
        expr: e2e_never_sent > 1
        no_data: critical
`, other))
	cfg := filepath.Join(dir, "ward.yml")
	writeFile(t, cfg, fmt.Sprintf(`notify:
  receivers:
    - name: hook
      type: webhook
      url: %s
      min_backoff: 100ms
`, hook.srv.URL))

	w := startWard(t, filepath.Join(dir, "data"), "--config", cfg, "--rules", rulesFile)
	// Global flags come before the subcommand for kong; startWard appends, which kong
	// also accepts for flags of the root.

	mustSend(t, w, "e2e.errors:50|g")
	w.waitCheck("ErrorsHigh", "CRITICAL")
	waitFor(t, 30*time.Second, "webhook firing", func() (bool, string) {
		return len(hook.find("ErrorsHigh", "firing")) > 0, "no firing payload yet"
	})
	m := hook.find("ErrorsHigh", "firing")[0]
	if m["version"] != "4" || m["receiver"] != "hook" {
		t.Errorf("payload: version %v receiver %v", m["version"], m["receiver"])
	}
	a := m["alerts"].([]any)[0].(map[string]any)
	for _, k := range []string{"status", "labels", "annotations", "startsAt", "endsAt", "generatorURL", "fingerprint"} {
		if _, ok := a[k]; !ok {
			t.Errorf("alert lacks %q: %v", k, a)
		}
	}
	if !strings.Contains(fmt.Sprint(a["annotations"]), "errors at 50") {
		t.Errorf("annotations not templated: %v", a["annotations"])
	}
	// The peak-hours rule is outside its window; the no-data rule is CRITICAL.
	if st := w.checkStatus("ErrorsHighPeak"); st == "CRITICAL" {
		t.Errorf("peak-hours rule outside its window is %s", st)
	}
	w.waitCheck("Missing", "CRITICAL")

	// A bad rule file on reload is rejected with file:line and the old rules keep running.
	good, _ := os.ReadFile(rulesFile)
	writeFile(t, rulesFile, "groups:\n  - name: e2e\n    rules:\n      - alert: X\n        expr: sum(\n")
	resp, err := http.Post("http://"+w.http+"/-/reload", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode == 200 || !strings.Contains(string(body), "rules.yml:5") {
		t.Errorf("bad reload: %d %s", resp.StatusCode, body)
	}
	if st := w.checkStatus("ErrorsHigh"); st != "CRITICAL" {
		t.Errorf("after a rejected reload ErrorsHigh is %q", st)
	}
	writeFile(t, rulesFile, string(good))

	// A restart keeps the state and does not notify again.
	firing := len(hook.find("ErrorsHigh", "firing"))
	w.stop()
	w.start()
	w.waitCheck("ErrorsHigh", "CRITICAL")
	// Evaluate a few more rounds after the restart before counting notifications.
	before := w.selfMetric(`ward_rules_evaluations_total`)
	waitFor(t, 30*time.Second, "three more evaluations", func() (bool, string) {
		now := w.selfMetric(`ward_rules_evaluations_total`)
		return now >= before+3, fmt.Sprint(now)
	})
	if got := len(hook.find("ErrorsHigh", "firing")); got != firing {
		t.Errorf("restart notified again: %d firing payloads, want %d", got, firing)
	}

	// Recovery sends a resolved notification.
	mustSend(t, w, "e2e.errors:0|g")
	w.waitCheck("ErrorsHigh", "OK")
	waitFor(t, 30*time.Second, "webhook resolved", func() (bool, string) {
		return len(hook.find("ErrorsHigh", "resolved")) > 0, ""
	})
	w.stop()
}

func writeFile(t *testing.T, path, s string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

// checkStatus returns the status of the first /api/v1/checks row of the named rule.
func (w *ward) checkStatus(rule string) string {
	w.t.Helper()
	resp, err := http.Get("http://" + w.http + "/api/v1/checks")
	if err != nil {
		return err.Error()
	}
	defer resp.Body.Close()
	var env struct {
		Data []struct {
			Status string `json:"status"`
			Rule   string `json:"rule"`
			Name   string `json:"name"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&env); err != nil {
		return err.Error()
	}
	for _, c := range env.Data {
		if c.Rule == rule || c.Name == rule {
			return c.Status
		}
	}
	return "absent"
}

func (w *ward) waitCheck(rule, status string) {
	w.t.Helper()
	waitFor(w.t, 30*time.Second, rule+" "+status, func() (bool, string) {
		st := w.checkStatus(rule)
		return st == status, st
	})
}
