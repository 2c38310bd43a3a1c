package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"testing"
	"time"
)

// TestRulesFlappingEndToEnd: a check that keeps changing state is marked flapping on the
// board and its notifications are held while it flaps.
func TestRulesFlappingEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	hook := newWebhookReceiver(t)
	dir := t.TempDir()
	rulesFile := filepath.Join(dir, "rules.yml")
	writeFile(t, rulesFile, `groups:
  - name: flap
    interval: 1s
    rules:
      - alert: Flappy
        expr: e2e_flap
        crit: "> 10"
        flap_detection: true
`)
	cfg := filepath.Join(dir, "ward.yml")
	writeFile(t, cfg, fmt.Sprintf("notify:\n  receivers:\n    - name: hook\n      type: webhook\n      url: %s\n      min_backoff: 100ms\n", hook.srv.URL))
	w := startWard(t, filepath.Join(dir, "data"), "--config", cfg, "--rules", rulesFile)

	flapping := func() bool {
		resp, err := http.Get("http://" + w.http + "/api/v1/checks")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		var env struct {
			Data []struct {
				Rule     string `json:"rule"`
				Flapping bool   `json:"flapping"`
			} `json:"data"`
		}
		if json.NewDecoder(resp.Body).Decode(&env) != nil {
			return false
		}
		for _, c := range env.Data {
			if c.Rule == "Flappy" && c.Flapping {
				return true
			}
		}
		return false
	}
	// Toggle between CRITICAL and OK, waiting for each state, until the board says the
	// check flaps (Nagios' weighted 20% of the last 21 evaluations: about five changes).
	for i := 0; i < 12 && !flapping(); i++ {
		if i%2 == 0 {
			mustSend(t, w, "e2e.flap:50|g")
			w.waitCheck("Flappy", "CRITICAL")
		} else {
			mustSend(t, w, "e2e.flap:0|g")
			w.waitCheck("Flappy", "OK")
		}
	}
	waitFor(t, 10*time.Second, "Flappy marked flapping", func() (bool, string) { return flapping(), "" })

	// While it flaps, a further change is not notified.
	msgs := func() int { hook.mu.Lock(); defer hook.mu.Unlock(); return len(hook.msgs) }
	before := msgs()
	state := w.checkStatus("Flappy")
	next, val := "OK", "0"
	if state == "OK" {
		next, val = "CRITICAL", "50"
	}
	mustSend(t, w, "e2e.flap:"+val+"|g")
	w.waitCheck("Flappy", next)
	evals := w.selfMetric(`ward_rules_evaluations_total`)
	waitFor(t, 30*time.Second, "three more evaluations", func() (bool, string) {
		return w.selfMetric(`ward_rules_evaluations_total`) >= evals+3, ""
	})
	if !flapping() {
		t.Fatal("check stopped flapping too early for the test")
	}
	if after := msgs(); after != before {
		t.Errorf("a change while flapping was notified: %d payloads before, %d after", before, after)
	}
	w.stop()
}
