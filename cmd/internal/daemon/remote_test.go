package daemon

import (
	"context"
	"errors"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"

	"github.com/wardmetrics/ward/ingest"
	"github.com/wardmetrics/ward/ingest/remotewrite"
	"github.com/wardmetrics/ward/rules"
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

func TestRemoteWriteOnlyNeedsBothURLs(t *testing.T) {
	const (
		writeURL = "http://127.0.0.1:1/api/v1/write"
		queryURL = "http://127.0.0.1:1"
	)
	for name, c := range map[string]struct {
		write []string
		query string
		want  []string
	}{
		"neither":    {nil, "", []string{"--remote-write-only", "--remote-write-url", "--query-url"}},
		"no write":   {nil, queryURL, []string{"--remote-write-only", "--remote-write-url"}},
		"no query":   {[]string{writeURL}, "", []string{"--remote-write-only", "--query-url"}},
		"both given": {[]string{writeURL}, queryURL, nil},
	} {
		dir := filepath.Join(t.TempDir(), "data")
		o := Options{DataDir: dir, RemoteWriteOnly: true, RemoteWriteURLs: c.write, QueryURL: c.query,
			Logger: slog.New(slog.DiscardHandler)}
		err := validateRemoteWriteOnly(o)
		if c.want == nil {
			if err != nil {
				t.Errorf("%s: %v, want no error", name, err)
			}
			continue
		}
		// Through Run, as `ward serve` calls it: the start fails before storage opens.
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		err = Run(ctx, o)
		cancel()
		for _, w := range c.want {
			if err == nil || !strings.Contains(err.Error(), w) {
				t.Errorf("%s: Run = %v, want an error naming %s", name, err, w)
			}
		}
		if _, serr := os.Stat(dir); !errors.Is(serr, os.ErrNotExist) {
			t.Errorf("%s: data dir exists after the failed start (%v), want the check before storage opens", name, serr)
		}
		// The flag's absence mentioned in the right place: without --remote-write-only
		// the same settings are valid.
		o.RemoteWriteOnly = false
		if err := validateRemoteWriteOnly(o); err != nil {
			t.Errorf("%s without --remote-write-only: %v", name, err)
		}
	}
}

// TestRemoteWriteOnlyStoresNoSamplesAndKeepsTotals runs the "only" mode's sink and rule
// appender over real Pebble: flushes are queued for the remote and not stored, and the
// totals come back after reopening.
func TestRemoteWriteOnlyStoresNoSamplesAndKeepsTotals(t *testing.T) {
	dir := t.TempDir()
	log := slog.New(slog.DiscardHandler)
	o := Options{
		RemoteWriteOnly: true,
		RemoteWriteURLs: []string{"http://127.0.0.1:1/api/v1/write"},
		QueryURL:        "http://127.0.0.1:1",
		Logger:          log,
	}
	now := time.Now().UnixMilli()
	counter := labels.FromStrings("__name__", "orders_total")
	gauge := labels.FromStrings("__name__", "queue_depth")

	db, err := tsdb.Open(dir, tsdb.Options{}, metrics.NewSet())
	if err != nil {
		t.Fatal(err)
	}
	rp, err := newRemote(o, db, metrics.NewSet())
	if err != nil {
		t.Fatal(err)
	}
	sink := newStorageSink(db, log, metrics.NewSet())
	sink.remote, sink.last = rp, newLastValues(db, 24*time.Hour)
	for i, v := range []float64{5, 12, 12} {
		b := &ingest.Batch{Time: now + int64(i), Samples: []ingest.Sample{
			{Labels: counter, T: now + int64(i), V: v},
			{Labels: gauge, T: now + int64(i), V: -v},
		}}
		if err := sink.Write(context.Background(), b); err != nil {
			t.Fatal(err)
		}
	}
	if err := (rulesAppender{db, rp}).Append([]rules.Sample{{Labels: labels.FromStrings("__name__", "rec"), T: now, V: 1}}); err != nil {
		t.Fatal(err)
	}
	if n, _ := rp.writers[0].Queued(); n != 4 {
		t.Errorf("queued requests: %d, want 4 (three flushes and one rule evaluation)", n)
	}
	if last, err := db.LastValues(); err != nil || len(last) != 0 {
		t.Errorf("local samples: %v %v, want none in remote-write-only mode", last, err)
	}
	// A series whose samples are in storage from the default mode, older than the
	// saved value of the same series and newer for another.
	if err := db.Append([]tsdb.Sample{
		{Labels: counter, T: now - 1000, V: 3},
		{Labels: labels.FromStrings("__name__", "old_mode_total"), T: now - 1000, V: 9},
	}); err != nil {
		t.Fatal(err)
	}
	// A saved value past the retention is forgotten on restore.
	expired := &ingest.Batch{Samples: []ingest.Sample{{Labels: labels.FromStrings("__name__", "gone_total"), T: now - int64(48*time.Hour/time.Millisecond), V: 4}}}
	if err := sink.last.record(expired.Samples); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	db, err = tsdb.Open(dir, tsdb.Options{}, metrics.NewSet())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	agg, err := ingest.NewAggregator(ingest.Options{FlushInterval: time.Second}, sink, metrics.NewSet())
	if err != nil {
		t.Fatal(err)
	}
	if err := restore(db, newLastValues(db, 24*time.Hour), agg); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]float64{"orders_total": 12, "queue_depth": -12, "old_mode_total": 9} {
		if got, ok := agg.Get(name); !ok || got != want {
			t.Errorf("restored %s = %v (present %v), want %v", name, got, ok, want)
		}
	}
	if v, ok := agg.Get("gone_total"); ok {
		t.Errorf("gone_total restored as %v, want it forgotten past the retention", v)
	}
	saved, err := newLastValues(db, 0).load()
	if err != nil {
		t.Fatal(err)
	}
	if len(saved) != 2 {
		t.Errorf("saved last values after restore: %v, want the two live series", saved)
	}
	for _, s := range saved {
		// The repeated 12 was not written again: the first flush's time stays.
		if labels.Equal(s.Labels, counter) && s.T != now+1 {
			t.Errorf("orders_total saved at %d, want %d (unchanged values are not rewritten)", s.T, now+1)
		}
	}
}

// TestLastValuesSnapshots drives the log and snapshots with tiny sizes: the state
// survives reopening whatever mix of snapshot and log is on disk, the log is deleted
// by each snapshot, and a smaller snapshot leaves no parts of a larger one behind.
func TestLastValuesSnapshots(t *testing.T) {
	db, err := tsdb.Open(t.TempDir(), tsdb.Options{}, metrics.NewSet())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	keys := func() (logs, parts int) {
		err := db.KV(lastValuesNamespace).Scan(nil, func(k, _ []byte) error {
			switch k[0] {
			case lvLogPrefix:
				logs++
			case lvSnapPrefix:
				parts++
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return logs, parts
	}
	small := func(lv *lastValues) *lastValues { lv.snapshotMin, lv.partBytes = 64, 100; return lv }

	lv := small(newLastValues(db, 0))
	series := make([]labels.Labels, 20)
	for i := range series {
		series[i] = labels.FromStrings("__name__", "c_total", "i", strconv.Itoa(i))
	}
	for f := range 50 {
		ss := make([]ingest.Sample, 0, len(series))
		for i, ls := range series {
			if i%(f%5+1) == 0 { // a varying subset changes each flush
				ss = append(ss, ingest.Sample{Labels: ls, T: int64(1000 + f), V: float64(f*100 + i)})
			}
		}
		if err := lv.record(ss); err != nil {
			t.Fatal(err)
		}
		logs, parts := keys()
		if logs != len(lv.logSeqs) || parts != lv.snapParts {
			t.Fatalf("flush %d: %d log records and %d snapshot parts on disk, want %d and %d", f, logs, parts, len(lv.logSeqs), lv.snapParts)
		}
	}
	if lv.snapParts < 2 {
		t.Errorf("snapshot in %d parts, want several with 100-byte parts", lv.snapParts)
	}
	want := map[string]float64{}
	for k, sv := range lv.state {
		want[k] = math.Float64frombits(sv.bits)
	}

	lv2 := small(newLastValues(db, 0))
	saved, err := lv2.load()
	if err != nil {
		t.Fatal(err)
	}
	if len(saved) != len(series) {
		t.Fatalf("loaded %d values, want %d", len(saved), len(series))
	}
	for _, s := range saved {
		if k := string(tsdb.EncodeLabels(nil, s.Labels)); want[k] != s.V {
			t.Errorf("%v = %v after reopening, want %v", s.Labels, s.V, want[k])
		}
	}
	if logs, _ := keys(); logs != 0 {
		t.Errorf("%d log records after load, want them folded into a snapshot", logs)
	}

	// Retention: values older than the horizon leave the next snapshot, and so do the
	// parts they took.
	before := lv2.snapParts
	lv2.minT = func() int64 { return 1049 }
	if err := lv2.snapshot(); err != nil {
		t.Fatal(err)
	}
	logs, parts := keys()
	if len(lv2.state) == 0 || len(lv2.state) >= len(series) || parts != lv2.snapParts || parts >= before || logs != 0 {
		t.Errorf("after the horizon: %d values, %d parts on disk (%d before, %d in memory), %d logs; want fewer values and parts",
			len(lv2.state), parts, before, lv2.snapParts, logs)
	}
}

// BenchmarkFlushLocalCost compares what one flush of 10,000 series costs Ward's local
// disk: the default mode's storage append against --remote-write-only's last-values
// save (with every value changed, its worst case), beside the remote-write queue's
// cost, which both modes pay.
func BenchmarkFlushLocalCost(b *testing.B) {
	const n = 10_000
	ss := make([]ingest.Sample, n)
	for i := range ss {
		ss[i] = ingest.Sample{Labels: labels.FromStrings("__name__", "bench_total", "i", strconv.Itoa(i))}
	}
	// Each mode on a DB of its own, so that none pays for another's compactions.
	open := func(b *testing.B) *tsdb.DB {
		db, err := tsdb.Open(b.TempDir(), tsdb.Options{Sync: tsdb.SyncNone}, metrics.NewSet())
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { db.Close() })
		return db
	}
	t0 := time.Now().UnixMilli()
	b.Run("append", func(b *testing.B) {
		db := open(b)
		buf := make([]tsdb.Sample, n)
		var k int64
		for b.Loop() {
			k++
			for i, s := range ss {
				buf[i] = tsdb.Sample{Labels: s.Labels, T: t0 + k*10, V: float64(k)}
			}
			if err := db.Append(buf); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/n, "ns/sample")
	})
	b.Run("remote-write-queue", func(b *testing.B) {
		db := open(b)
		w, err := remotewrite.New(remotewrite.Options{URL: "http://127.0.0.1:1/api/v1/write", MaxQueueBytes: 1 << 40}, db.KV("bench-queue"), metrics.NewSet())
		if err != nil {
			b.Fatal(err)
		}
		var k int64
		for b.Loop() {
			k++
			for i := range ss {
				ss[i].T, ss[i].V = t0+k*10, float64(k)
			}
			if err := w.Write(context.Background(), &ingest.Batch{Time: t0 + k*10, Samples: ss}); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/n, "ns/sample")
	})
	b.Run("last-values", func(b *testing.B) {
		db := open(b)
		lv := newLastValues(db, 0)
		var k int64
		for b.Loop() {
			k++
			for i := range ss {
				ss[i].T, ss[i].V = t0+k*10, float64(k)
			}
			if err := lv.record(ss); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/n, "ns/sample")
	})
}
