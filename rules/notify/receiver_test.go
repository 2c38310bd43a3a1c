package notify

import (
	"testing"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/wardmetrics/ward/tsdb"
)

// A notification log restored at start-up must survive ticks that come
// before the rules hand over their alerts; otherwise the first evaluation
// after a restart would notify again.
func TestRestoredLogSurvivesTicksBeforeAlerts(t *testing.T) {
	db, err := tsdb.Open(t.TempDir(), tsdb.Options{Sync: tsdb.SyncNone}, metrics.NewSet())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	now := time.Date(2025, 6, 2, 12, 0, 0, 0, time.UTC)
	cfg := Config{Receivers: []ReceiverConfig{{Name: "w", Type: TypeWebhook, URL: "http://127.0.0.1:1/"}}}
	a := Alert{Labels: labels.FromStrings("alertname", "X"), StartsAt: now, EndsAt: now.Add(time.Hour)}
	e := &logEntry{Firing: []model.Fingerprint{a.Fingerprint()}, At: now}
	val, _ := encodeEntry(e)
	kv := db.KV("notify")
	if err := kv.Put(logKey("w", `{}:{alertname="X"}`), val); err != nil {
		t.Fatal(err)
	}
	n, err := New(cfg, Options{Store: kv, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	r := n.receivers[0]
	for range 3 {
		n.tick()
	}
	if _, ok, _ := kv.Get(logKey("w", `{}:{alertname="X"}`)); !ok {
		t.Fatal("restored log entry was dropped by a tick")
	}
	n.Notify(a)
	if len(r.queue) != 0 {
		t.Errorf("alert already notified before the restart was queued again")
	}
	// A new alert in the group is news.
	b := Alert{Labels: labels.FromStrings("alertname", "X", "n", "2"), StartsAt: now, EndsAt: now.Add(time.Hour)}
	n.Notify(a, b)
	if len(r.queue) != 1 {
		t.Errorf("queue = %d; want the group with a new alert queued", len(r.queue))
	}
}

func TestNeedsUpdate(t *testing.T) {
	now := time.Date(2025, 6, 2, 12, 0, 0, 0, time.UTC)
	e := &logEntry{Firing: []model.Fingerprint{1, 2}, Resolved: []model.Fingerprint{3}, At: now.Add(-time.Hour)}
	for _, tc := range []struct {
		name             string
		e                *logEntry
		firing, resolved []model.Fingerprint
		sendResolved     bool
		repeat           time.Duration
		want             bool
	}{
		{"nothing logged, something fires", nil, []model.Fingerprint{1}, nil, true, time.Hour * 4, true},
		{"nothing logged, only resolved", nil, nil, []model.Fingerprint{1}, true, time.Hour * 4, false},
		{"same firing", e, []model.Fingerprint{1, 2}, nil, true, time.Hour * 4, false},
		{"subset firing", e, []model.Fingerprint{1}, nil, true, time.Hour * 4, false},
		{"new firing", e, []model.Fingerprint{1, 4}, nil, true, time.Hour * 4, true},
		{"all resolved", e, nil, []model.Fingerprint{1, 2}, false, time.Hour * 4, true},
		{"new resolved", e, []model.Fingerprint{1}, []model.Fingerprint{2}, true, time.Hour * 4, true},
		{"new resolved, not wanted", e, []model.Fingerprint{1}, []model.Fingerprint{2}, false, time.Hour * 4, false},
		{"old resolved", e, []model.Fingerprint{1}, []model.Fingerprint{3}, true, time.Hour * 4, false},
		{"repeat due", e, []model.Fingerprint{1}, nil, true, time.Minute * 30, true},
	} {
		if got := needsUpdate(tc.e, tc.firing, tc.resolved, tc.sendResolved, tc.repeat, now); got != tc.want {
			t.Errorf("%s: needsUpdate = %v; want %v", tc.name, got, tc.want)
		}
	}
}
