package daemon

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/prometheus/prometheus/promql"

	"github.com/wardmetrics/ward/tsdb"
)

func TestNewRemoteValidates(t *testing.T) {
	db, err := tsdb.Open(t.TempDir(), tsdb.Options{}, metrics.NewSet())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	base := Options{Logger: slog.New(slog.DiscardHandler)}
	for name, c := range map[string]struct {
		mod  func(*Options)
		want string
	}{
		"duplicate url": {func(o *Options) {
			o.RemoteWriteURLs = []string{"http://127.0.0.1:1/api/v1/write", "http://127.0.0.1:1/api/v1/write"}
		}, "twice"},
		"bad url":       {func(o *Options) { o.RemoteWriteURLs = []string{"127.0.0.1:1"} }, "127.0.0.1:1"},
		"bad label":     {func(o *Options) { o.RemoteWriteLabels = map[string]string{"in-stance": "a"} }, "in-stance"},
		"metric name":   {func(o *Options) { o.RemoteWriteLabels = map[string]string{"__name__": "a"} }, "__name__"},
		"bad query url": {func(o *Options) { o.QueryURL = "vm:8428" }, "--query-url"},
	} {
		o := base
		c.mod(&o)
		if _, err := newRemote(o, db, metrics.NewSet()); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want an error mentioning %q", name, err, c.want)
		}
	}

	// Without remote flags the local query functions are used and writes go nowhere.
	rp, err := newRemote(base, db, metrics.NewSet())
	if err != nil {
		t.Fatal(err)
	}
	local := func(context.Context, string, time.Time) (promql.Vector, error) { return promql.Vector{{F: 7}}, nil }
	v, _ := rp.query(local)(context.Background(), "x", time.Now())
	if len(v) != 1 || v[0].F != 7 {
		t.Errorf("query without --query-url: got %v, want the local answer", v)
	}
	if len(rp.runners()) != 0 {
		t.Error("runners without --remote-write-url: want none")
	}
	rp.writeSamples([]tsdb.Sample{{T: 1, V: 1}})
}

func TestQueueNamespaceHidesURL(t *testing.T) {
	ns := queueNamespace("https://user:secret@vm/api/v1/write")
	if strings.Contains(ns, "secret") || !strings.HasPrefix(ns, "remote-write/") || ns == queueNamespace("https://vm/api/v1/write") {
		t.Errorf("namespace %q: want a per-URL hash without credentials", ns)
	}
}
