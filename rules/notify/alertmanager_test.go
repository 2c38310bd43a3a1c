package notify_test

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/wardmetrics/ward/rules/notify"
)

// TestRealAlertmanager posts alerts to a real Alertmanager (Debian's
// prometheus-alertmanager package) and checks that it routes them to a
// webhook, firing then resolved, with the payload keys Ward's own webhook
// sends. It is skipped when the binary is not installed.
func TestRealAlertmanager(t *testing.T) {
	bin, err := exec.LookPath("prometheus-alertmanager")
	if err != nil {
		if bin, err = exec.LookPath("alertmanager"); err != nil {
			t.Skip("alertmanager not installed (apt-get install prometheus-alertmanager)")
		}
	}
	hook := newServer(t)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "am.yml")
	if err := os.WriteFile(cfg, fmt.Appendf(nil, `
route:
  receiver: hook
  group_by: [alertname]
  group_wait: 0s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: hook
    webhook_configs:
      - url: %s
        send_resolved: true
        http_config:
`, hook.srv.URL), 0o644); err != nil {
		t.Fatal(err)
	}
	// The recording server insists on Ward's test header, which
	// Alertmanager does not send.
	hook.mu.Lock()
	hook.anyHeaders = true
	hook.mu.Unlock()

	addr := freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, "--config.file="+cfg, "--storage.path="+dir,
		"--web.listen-address="+addr, "--cluster.listen-address=", "--log.level=warn")
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	defer func() {
		cancel()
		_ = cmd.Wait()
	}()
	waitFor(t, "alertmanager ready", func() bool {
		resp, err := http.Get("http://" + addr + "/-/ready")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})

	// A minute behind the wall clock, so that a resolution's endsAt is in
	// Alertmanager's past (a future endsAt would still be firing there).
	clk := &clock{t: time.Now().UTC().Add(-time.Minute).Truncate(time.Second)}
	h := start(t, fmt.Sprintf(`
receivers:
  - name: am
    type: alertmanager
    url: http://%s
`, addr), nil, clk)
	h.n.Notify(firing(clk, "FromWard", "severity", "critical"))
	waitFor(t, "firing via alertmanager", func() bool { return hook.count() >= 1 })
	clk.Add(time.Second)
	h.n.Notify(resolved(clk, "FromWard", "severity", "critical"))
	waitFor(t, "resolved via alertmanager", func() bool {
		ms := hook.webhooks(t)
		return len(ms) > 0 && ms[len(ms)-1].Status == "resolved"
	})
	ms := hook.webhooks(t)
	if ms[0].Status != "firing" || ms[0].Alerts[0].Labels["alertname"] != "FromWard" || ms[0].Version != "4" {
		t.Errorf("first payload from Alertmanager = %+v", ms[0])
	}
	// Alertmanager's payload has exactly the keys of Ward's WebhookMessage.
	hook.mu.Lock()
	raw := hook.bodies[0]
	hook.mu.Unlock()
	var theirs map[string]json.RawMessage
	if err := json.Unmarshal(raw, &theirs); err != nil {
		t.Fatal(err)
	}
	ours, _ := json.Marshal(notify.WebhookMessage{})
	var mine map[string]json.RawMessage
	_ = json.Unmarshal(ours, &mine)
	if a, b := slices.Sorted(maps.Keys(theirs)), slices.Sorted(maps.Keys(mine)); !slices.Equal(a, b) {
		t.Errorf("Alertmanager payload keys %v; Ward's %v", a, b)
	}
	var theirAlerts []map[string]json.RawMessage
	_ = json.Unmarshal(theirs["alerts"], &theirAlerts)
	ourAlert, _ := json.Marshal(notify.WebhookAlert{})
	var mineAlert map[string]json.RawMessage
	_ = json.Unmarshal(ourAlert, &mineAlert)
	if a, b := slices.Sorted(maps.Keys(theirAlerts[0])), slices.Sorted(maps.Keys(mineAlert)); !slices.Equal(a, b) {
		t.Errorf("Alertmanager alert keys %v; Ward's %v", a, b)
	}
}

func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}
