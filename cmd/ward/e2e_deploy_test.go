package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// TestDeployGuardEndToEnd is the deploy issue's acceptance test on a real `ward serve`:
// 20 hosts send per-host counters over statsd, tagged with host and release. A canary
// with 5x the error rate is rolled back by the continuous guard on its own (running the
// configured command); `ward guard` reports it with exit 1 and a release without data
// with exit 3; `ward deploy` promotes a healthy canary and rolls back a bad one, with
// shell commands that record what they were asked to do.
func TestDeployGuardEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	dir := t.TempDir()
	guardLog := filepath.Join(dir, "guard-rollback.log")
	deployLog := filepath.Join(dir, "deploy.log")
	rulesFile := filepath.Join(dir, "rules.yml")
	writeFile(t, rulesFile, fmt.Sprintf(`groups: []
guard:
  interval: 1s
  step: 1s
  confidence: 0.99
  rollback:
    command: echo "$WARD_RELEASE" >> %s
  metrics:
    - name: errors
      expr: sum(increase(errors_total{$selector}[$window])) or vector(0)
      normalize: request
      exposure: sum(increase(requests_total{$selector}[$window]))
      bad: up
      tolerance: 0.2
      min_data: 20
      critical: true
`, guardLog))
	w := startWard(t, filepath.Join(dir, "data"), "--rules", rulesFile)
	base := "http://" + w.http
	waitFor(t, 30*time.Second, "http up", func() (bool, string) {
		resp, err := http.Get(base + "/api/v1/deploys")
		if err != nil {
			return false, err.Error()
		}
		resp.Body.Close()
		return resp.StatusCode == 200, resp.Status
	})

	register := func(release, canary, baseline string) {
		t.Helper()
		body, _ := json.Marshal(map[string]any{"release": release, "canary": canary, "baseline": baseline, "author": "e2e", "commits": []string{"abc123"}})
		resp, err := http.Post(base+"/api/v1/deploys", "application/json", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("register %s: %s %s", release, resp.Status, b)
		}
	}
	register("r2", `release="r2"`, `release="r1"`)
	register("r5", `release="r5"`, `release="r1"`)

	// web-00, web-01 run r2 with 5x the errors; web-02, web-03 run a healthy r3; the
	// other 16 hosts run r1. Each host reports every 200 ms (the daemon flushes every 1 s).
	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	t.Cleanup(func() { stop(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		rng := rand.New(rand.NewPCG(42, 42))
		tick := time.NewTicker(200 * time.Millisecond)
		defer tick.Stop()
		for {
			var lines []string
			for h := 0; h < 20; h++ {
				rel, p := "r1", 0.01
				switch {
				case h < 2:
					rel, p = "r2", 0.05
				case h < 4:
					rel = "r3"
				}
				errs := 0
				for i := 0; i < 50; i++ {
					if rng.Float64() < p {
						errs++
					}
				}
				tags := fmt.Sprintf("|#host:web-%02d,release:%s", h, rel)
				lines = append(lines, "requests_total:50|c"+tags)
				if errs > 0 {
					lines = append(lines, fmt.Sprintf("errors_total:%d|c%s", errs, tags))
				}
			}
			if _, err := w.statsdUDP(lines...); err != nil {
				t.Errorf("send statsd: %v", err)
				return
			}
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
	}()

	// The continuous guard rolls r2 back without being asked.
	waitFor(t, 60*time.Second, "r2 rolled back by the guard", func() (bool, string) {
		ph := deployPhase(t, base, "r2")
		b, _ := os.ReadFile(guardLog)
		return ph == "rolled_back" && strings.Contains(string(b), "r2"), ph + " / " + string(b)
	})

	out, code := wardExit(t, "guard", "--release", "r2", "--url", base)
	if code != exitCodeRollback || !strings.Contains(out, "ROLLBACK") || !strings.Contains(out, "errors (critical)") {
		t.Fatalf("ward guard r2: exit %d\n%s", code, out)
	}
	out, code = wardExit(t, "guard", "--release", "r5", "--url", base)
	if code != exitCodeWait || !strings.Contains(out, "WAIT") {
		t.Fatalf("ward guard r5 (no traffic): exit %d\n%s", code, out)
	}
	if _, code = wardExit(t, "guard", "--release", "nope", "--url", base); code != exitCodeError {
		t.Fatalf("ward guard of an unknown release: exit %d, want %d", code, exitCodeError)
	}

	cmds := func(release string) []string {
		return []string{"deploy", "--release", release, "--url", base, "--poll", "1s",
			"--canary", "echo canary $WARD_RELEASE >> " + deployLog,
			"--promote", "echo promote $WARD_RELEASE >> " + deployLog,
			"--rollback", "echo rollback $WARD_RELEASE >> " + deployLog}
	}
	// A bad canary (the r2 hosts, under a new release name) is rolled back: exit 1.
	out, code = wardExit(t, append(cmds("r2b"), "--canary-selector", `release="r2"`, "--baseline-selector", `release="r1"`, "--watch", "60s")...)
	if code != exitCodeRollback {
		t.Fatalf("ward deploy r2b: exit %d, want 1\n%s", code, out)
	}
	// A healthy canary is promoted after the watch: exit 0.
	out, code = wardExit(t, append(cmds("r3"), "--canary-selector", `release="r3"`, "--baseline-selector", `release="r1"`, "--watch", "6s")...)
	if code != exitCodePromote {
		t.Fatalf("ward deploy r3: exit %d, want 0\n%s", code, out)
	}
	t.Logf("ward deploy r3:\n%s", out)
	b, err := os.ReadFile(deployLog)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := strings.TrimSpace(string(b)), "canary r2b\nrollback r2b\ncanary r3\npromote r3"; got != want {
		t.Fatalf("deploy commands ran:\n%s\nwant:\n%s", got, want)
	}
	if ph := deployPhase(t, base, "r3"); ph != "done" {
		t.Fatalf("r3 phase %s, want done", ph)
	}
	if ph := deployPhase(t, base, "r2b"); ph != "rolled_back" {
		t.Fatalf("r2b phase %s, want rolled_back", ph)
	}

	// Every deploy is an annotation for graphs.
	resp, err := http.Get(fmt.Sprintf("%s/api/v1/annotations?start=%d&end=%d", base, time.Now().Add(-time.Hour).Unix(), time.Now().Unix()+60))
	if err != nil {
		t.Fatal(err)
	}
	ab, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, r := range []string{`"release":"r2"`, `"release":"r2b"`, `"release":"r3"`, `"release":"r5"`} {
		if !strings.Contains(string(ab), r) {
			t.Errorf("annotations lack %s: %s", r, ab)
		}
	}
	if got := w.selfMetric("ward_guard_rollbacks_total"); got < 1 {
		t.Errorf("ward_guard_rollbacks_total = %v, want >= 1", got)
	}

	// SIGHUP re-reads the guard section: a second metric appears in the verdict.
	rules, _ := os.ReadFile(rulesFile)
	writeFile(t, rulesFile, string(rules)+`    - name: requests
      expr: sum(increase(requests_total{$selector}[$window]))
      bad: down
`)
	if err := w.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "guard reloaded with two metrics", func() (bool, string) {
		out, _ := wardExit(t, "guard", "--release", "r5", "--url", base, "--json")
		return strings.Contains(out, `"name": "requests"`), out
	})
}

// deployPhase reads a release's phase from GET /api/v1/deploys.
func deployPhase(t *testing.T, base, release string) string {
	t.Helper()
	resp, err := http.Get(base + "/api/v1/deploys")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var env struct {
		Data []struct {
			Release string `json:"release"`
			Phase   string `json:"phase"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&env); err != nil {
		t.Fatal(err)
	}
	for _, d := range env.Data {
		if d.Release == release {
			return d.Phase
		}
	}
	return "missing"
}

// wardExit runs a ward command and returns its combined output and exit status.
func wardExit(t *testing.T, args ...string) (string, int) {
	t.Helper()
	var out bytes.Buffer
	cmd := exec.Command(wardBinary(t), args...)
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return out.String(), 0
	case errors.As(err, &ee):
		return out.String(), ee.ExitCode()
	}
	t.Fatalf("ward %v: %v", args, err)
	return "", -1
}
