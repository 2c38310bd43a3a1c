package experiment

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/VictoriaMetrics/metrics"

	"github.com/wardmetrics/ward/tsdb"
)

// *tsdb.KV is a Store as it is; the Batcher adapter only makes batches atomic.
var _ Store = (*tsdb.KV)(nil)

// The Manager works on the bare *tsdb.KV (key-by-key writes) and reads it back.
func TestBareKVStore(t *testing.T) {
	dir := t.TempDir()
	c := newClock()
	open := func() (*tsdb.DB, *Manager) {
		db := openDB(t, dir, c.Now)
		m, err := Open(db.KV("experiment"), nil, metrics.NewSet(), Options{Now: c.Now})
		if err != nil {
			t.Fatal(err)
		}
		return db, m
	}
	db, m := open()
	if _, err := m.Create(fiftyFifty("bare"), "t"); err != nil {
		t.Fatal(err)
	}
	for i := range 100 {
		if _, err := m.Assign("bare", fmt.Sprint("u", i), ""); err != nil {
			t.Fatal(err)
		}
	}
	if r, err := m.RecordEvents([]Event{{UID: "u1", Metric: "m", Value: 3}, {UID: "u2", Metric: "m", Value: 4}}); err != nil || r.Counted != 2 {
		t.Fatalf("events: %+v, %v", r, err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db, m = open()
	defer db.Close()
	r, err := m.Results("bare", ResultsOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if r.Users != 100 || len(r.Metrics) != 1 || r.Metrics[0].Branches[0].Sum+r.Metrics[0].Branches[1].Sum != 7 {
		t.Errorf("after reopen: %d users, metrics %+v", r.Users, r.Metrics)
	}
}

// A store written by a future format is refused rather than misread.
func TestFormatVersionChecked(t *testing.T) {
	dir := t.TempDir()
	db := openDB(t, dir, time.Now)
	defer db.Close()
	kv := db.KV("experiment")
	if err := kv.Put([]byte(pfxFormat), []byte("9")); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(kv, nil, metrics.NewSet(), Options{}); err == nil || !strings.Contains(err.Error(), "format version") {
		t.Errorf("open of format 9: %v", err)
	}
}

// Run appends the series on its interval and once more when cancelled, then returns.
func TestRunFlushesAndStops(t *testing.T) {
	e := newEnv(t)
	app := &countingAppender{next: dbAppender{e.db}}
	m, err := Open(batchKV{e.db.KV("run")}, app, metrics.NewSet(), Options{Now: e.clock.Now, SeriesInterval: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Create(fiftyFifty("run"), "t"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	deadline := time.Now().Add(10 * time.Second)
	for app.count() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no series appended within 10s")
		}
		time.Sleep(time.Millisecond)
	}
	if _, err := m.Assign("run", "late", ""); err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run returned %v", err)
	}
	if last := app.lastExposures(); last != 1 {
		t.Errorf("last exposure samples sum to %v, want the late user counted by the final flush", last)
	}
}

type countingAppender struct {
	next Appender
	mu   sync.Mutex
	n    int
	last float64
}

func (a *countingAppender) Append(s []Sample) error {
	a.mu.Lock()
	a.n++
	a.last = 0
	for _, x := range s {
		if x.Labels.Get("__name__") == SeriesExposures {
			a.last += x.V
		}
	}
	a.mu.Unlock()
	return a.next.Append(s)
}

func (a *countingAppender) count() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.n
}

func (a *countingAppender) lastExposures() float64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.last
}

// Assignments, events, results and changes at once, for the race detector; the counts
// must still add up.
func TestConcurrentUse(t *testing.T) {
	e := newEnv(t)
	d := fiftyFifty("conc")
	d.Metrics = []Metric{{Name: "order"}}
	e.create(d)
	const workers, per = 4, 500
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range per {
				uid := fmt.Sprintf("w%d-%d", w, i)
				if _, err := e.m.Assign("conc", uid, ""); err != nil {
					t.Error(err)
					return
				}
				if _, err := e.m.RecordEvents([]Event{{UID: uid, Metric: "order", Value: 1}}); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := range 20 {
			if _, err := e.m.Results("conc", ResultsOptions{}); err != nil {
				t.Error(err)
			}
			if _, err := e.m.Update("conc", Patch{Weights: map[string]float64{"treatment": float64(50 + i)}}, "t"); err != nil {
				t.Error(err)
			}
			_ = e.m.FlushSeries(e.clock.Now())
		}
	}()
	wg.Wait()
	r := e.results("conc", ResultsOptions{})
	var conv int64
	for _, b := range r.Metrics[0].Branches {
		conv += b.Converted
	}
	if r.Users != workers*per || conv != workers*per {
		t.Errorf("%d users, %d converted; want %d each", r.Users, conv, workers*per)
	}
}

func TestAssignBatchAndDecoders(t *testing.T) {
	e := newEnv(t)
	e.create(fiftyFifty("batch"))
	req, err := DecodeAssignBatch([]byte(`{"assignments":[{"experiment":"batch","uid":"u1"},{"experiment":"nope","uid":"u1"},{"experiment":"batch","uid":""}]}`))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := e.m.AssignBatch(req)
	if err != nil {
		t.Fatal(err)
	}
	a := resp.Assignments
	if len(a) != 3 || a[0].Error != "" || !a[0].Record || a[1].Error == "" || a[2].Error == "" {
		t.Errorf("batch answers %+v", a)
	}
	if _, err := DecodeAssignBatch([]byte(`{"assignments":[{"experiment":"batch","user":"u1"}]}`)); !errors.Is(err, ErrInvalid) {
		t.Errorf("unknown field: %v", err)
	}
	p, err := DecodePatch([]byte(`{"rollout":12.5,"status":"closed","winner":"treatment","weights":{"control":1}}`))
	if err != nil || *p.Rollout != 12.5 || *p.Status != StatusClosed || *p.Winner != "treatment" || p.Weights["control"] != 1 {
		t.Errorf("patch %+v, %v", p, err)
	}
	if _, err := DecodePatch([]byte(`{"salt":"x"}`)); !errors.Is(err, ErrInvalid) {
		t.Errorf("salt in a patch: %v", err)
	}
	if _, err := DecodeExposures([]byte(`{"exposures":[{"experiment":"batch","uid":"u","branch":"control","time":"2026-03-02T10:00:00Z"}]}`)); err != nil {
		t.Errorf("exposures: %v", err)
	}
	if _, err := e.m.Assign("batch", strings.Repeat("x", 300), ""); !errors.Is(err, ErrInvalid) {
		t.Errorf("a 300-byte uid: %v", err)
	}
	if _, err := e.m.Results("nope", ResultsOptions{}); !errors.Is(err, ErrNotFound) {
		t.Errorf("results of an unknown experiment: %v", err)
	}
}
