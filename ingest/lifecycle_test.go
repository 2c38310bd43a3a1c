package ingest

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
)

func TestIdleExpiryAndContinuation(t *testing.T) {
	a, sink, clk, _ := newTestAgg(t, Options{IdleExpiry: time.Minute})
	mustAdd(t, a, metric(KindCounter, "jobs", "", 7))
	mustAdd(t, a, metric(KindHistogram, "job.time", "", 12))
	// The interval of the update, then idle for the expiry: still
	// emitted, unchanged.
	for range 7 {
		clk.Add(10 * time.Second)
		got := flush(t, a, sink, clk)
		if got[`{__name__="jobs"}`] != 7 || got[`{__name__="job_time_count"}`] != 1 {
			t.Fatalf("idle series not emitted unchanged: %v", got)
		}
	}
	clk.Add(10 * time.Second)
	if got := flush(t, a, sink, clk); len(got) != 0 {
		t.Fatalf("series idle beyond expiry still emitted: %v", got)
	}
	// It comes back and continues from its total.
	mustAdd(t, a, metric(KindCounter, "jobs", "", 1))
	mustAdd(t, a, metric(KindHistogram, "job.time", "", 12))
	clk.Add(10 * time.Second)
	got := flush(t, a, sink, clk)
	if got[`{__name__="jobs"}`] != 8 {
		t.Errorf("jobs after expiry = %v, want 8 (continued)", got[`{__name__="jobs"}`])
	}
	if got[`{__name__="job_time_count"}`] != 2 {
		t.Errorf("job_time_count after expiry = %v, want 2 (continued)", got[`{__name__="job_time_count"}`])
	}
}

func TestActiveSeriesAreNotExpired(t *testing.T) {
	a, sink, clk, _ := newTestAgg(t, Options{IdleExpiry: 15 * time.Second})
	for range 10 {
		mustAdd(t, a, metric(KindCounter, "busy", "", 1))
		clk.Add(10 * time.Second)
		flush(t, a, sink, clk)
	}
	if got := samples(sink.last(t)); got[`{__name__="busy"}`] != 10 {
		t.Errorf("busy = %v, want 10", got)
	}
}

func TestRestoreContinuesCounters(t *testing.T) {
	a, sink, clk, _ := newTestAgg(t, Options{Buckets: []float64{10}})
	a.Restore([]Sample{
		{Labels: labels.FromStrings("__name__", "shop_revenue"), V: 1000},
		{Labels: labels.FromStrings("__name__", "req", "host", "a"), V: 50},
		{Labels: labels.FromStrings("__name__", "queue_depth"), V: 9},
		{Labels: labels.FromStrings("__name__", "lat_bucket", "le", "10"), V: 3},
		{Labels: labels.FromStrings("__name__", "lat_bucket", "le", "+Inf"), V: 4},
		{Labels: labels.FromStrings("__name__", "lat_count"), V: 4},
		{Labels: labels.FromStrings("__name__", "lat_sum"), V: 60},
	})
	// Get sees a restored value before any line arrives.
	if v, ok := a.Get("shop.revenue"); !ok || v != 1000 {
		t.Errorf("Get restored = %v, %v; want 1000, true", v, ok)
	}
	if v := a.Incr("shop.revenue", 499); v != 1499 {
		t.Errorf("Incr after restore = %v, want 1499", v)
	}
	mustAdd(t, a, metric(KindCounter, "req", "host:a", 1))
	d := metric(KindGauge, "queue.depth", "", -2)
	d.Delta = true
	mustAdd(t, a, d)
	mustAdd(t, a, metric(KindHistogram, "lat", "", 5))
	got := flush(t, a, sink, clk)
	for k, v := range map[string]float64{
		`{__name__="shop_revenue"}`:          1499,
		`{__name__="req", host="a"}`:         51,
		`{__name__="queue_depth"}`:           7,
		`{__name__="lat_bucket", le="10"}`:   4,
		`{__name__="lat_bucket", le="+Inf"}`: 5,
		`{__name__="lat_count"}`:             5,
		`{__name__="lat_sum"}`:               65,
	} {
		if got[k] != v {
			t.Errorf("%s = %v, want %v", k, got[k], v)
		}
	}
}

func TestRunFlushesOnBoundariesAndAtExit(t *testing.T) {
	sink := &collectSink{}
	a, err := NewAggregator(Options{FlushInterval: 20 * time.Millisecond}, sink, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	mustAdd(t, a, metric(KindCounter, "ticks", "", 1))
	deadline := time.Now().Add(10 * time.Second)
	for sink.count() < 3 {
		if time.Now().After(deadline) {
			t.Fatal("no 3 flushes within 10s")
		}
		time.Sleep(5 * time.Millisecond)
	}
	sink.mu.Lock()
	for _, b := range sink.batches[:3] {
		if b.Time%20 != 0 {
			t.Errorf("batch time %d not on a 20ms boundary", b.Time)
		}
	}
	sink.mu.Unlock()
	mustAdd(t, a, metric(KindCounter, "ticks", "", 1))
	n := sink.count()
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if sink.count() <= n {
		t.Fatal("no final flush on cancel")
	}
	if v := samples(sink.last(t))[`{__name__="ticks"}`]; v != 2 {
		t.Errorf("final flush ticks = %v, want 2", v)
	}
}

func TestFlushErrorKeepsState(t *testing.T) {
	a, sink, clk, ms := newTestAgg(t, Options{})
	mustAdd(t, a, metric(KindCounter, "c", "", 1))
	sink.fail = errSink
	if err := a.Flush(context.Background()); err == nil || !strings.Contains(err.Error(), "sink down") {
		t.Fatalf("flush error = %v, want the sink's", err)
	}
	sink.fail = nil
	mustAdd(t, a, metric(KindCounter, "c", "", 1))
	if got := flush(t, a, sink, clk); got[`{__name__="c"}`] != 2 {
		t.Errorf("total after failed flush = %v, want 2", got)
	}
	var buf bytes.Buffer
	ms.WritePrometheus(&buf)
	if !strings.Contains(buf.String(), "ward_ingest_flush_errors_total 1") {
		t.Error("flush error not counted")
	}
}

func TestConcurrentAddsAreExact(t *testing.T) {
	a, sink, clk, _ := newTestAgg(t, Options{IdleExpiry: time.Millisecond, Shards: 4})
	const writers, perWriter, names = 4, 2000, 50
	var wg sync.WaitGroup
	stop := make(chan struct{})
	var flushes sync.WaitGroup
	flushes.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			clk.Add(time.Second) // everything idle is expired: exercises removal and continuation
			if err := a.Flush(context.Background()); err != nil {
				t.Error(err)
				return
			}
		}
	})
	for w := range writers {
		wg.Go(func() {
			for i := range perWriter {
				name := fmt.Sprintf("n.%d", (i+w)%names)
				tags := ""
				if i%3 == 0 {
					tags = "b:2,a:1"
				} else if i%3 == 1 {
					tags = "a:1,b:2"
				}
				if r := a.Add(metric(KindCounter, name, tags, 1)); r != OK {
					t.Error(r)
					return
				}
			}
		})
	}
	wg.Wait()
	close(stop)
	flushes.Wait()
	// Untagged totals are read live or dormant with Get; tagged ones are
	// revived with one more increment each and read from a flush.
	var total float64
	for i := range names {
		v, _ := a.Get(fmt.Sprintf("n.%d", i))
		total += v
		mustAdd(t, a, metric(KindCounter, fmt.Sprintf("n.%d", i), "a:1,b:2", 1))
	}
	got := flush(t, a, sink, clk)
	tagged := -float64(names)
	for k, v := range got {
		if strings.Contains(k, `a="1"`) {
			tagged += v
		}
	}
	if total+tagged != writers*perWriter {
		t.Errorf("untagged %v + tagged %v = %v, want %d", total, tagged, total+tagged, writers*perWriter)
	}
}

// TestNoExpiryWhileFlushesFail: during a storage outage longer than IdleExpiry a
// counter that went quiet must stay in the batches until one is stored, or its last
// increments would never reach storage.
func TestNoExpiryWhileFlushesFail(t *testing.T) {
	a, sink, clk, _ := newTestAgg(t, Options{IdleExpiry: 30 * time.Second})
	mustAdd(t, a, metric(KindCounter, "orders", "", 5))
	sink.fail = errSink
	for range 10 { // 100 s of failed flushes, beyond the 30 s expiry
		clk.Add(10 * time.Second)
		if err := a.FlushAt(context.Background(), clk.Now().UnixMilli()); err == nil {
			t.Fatal("flush into a failing sink succeeded")
		}
	}
	sink.fail = nil
	clk.Add(10 * time.Second)
	if got := flush(t, a, sink, clk); got[`{__name__="orders"}`] != 5 {
		t.Fatalf("first stored batch after the outage = %v, want orders 5", got)
	}
	// Once stored, the idle series expires as usual.
	clk.Add(10 * time.Second)
	if got := flush(t, a, sink, clk); len(got) != 0 {
		t.Fatalf("idle series still emitted after a stored batch: %v", got)
	}
}
