package experiment

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"
	"time"

	"github.com/VictoriaMetrics/metrics"
)

func benchUIDs(n int) []string {
	uids := make([]string, n)
	for i := range uids {
		uids[i] = fmt.Sprintf("user-%08d", i)
	}
	return uids
}

// BenchmarkManagerAssign is the server's path for returning users (the common case):
// hash, then the sticky lookup under a read lock.
func BenchmarkManagerAssign(b *testing.B) {
	dir := b.TempDir()
	db := openDB(b, dir, time.Now)
	defer db.Close()
	m, err := Open(batchKV{db.KV("experiment")}, nil, metrics.NewSet(), Options{})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := m.Create(fiftyFifty("bench"), "b"); err != nil {
		b.Fatal(err)
	}
	uids := benchUIDs(1 << 14)
	for _, u := range uids {
		if _, err := m.Assign("bench", u, ""); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, err := m.Assign("bench", uids[i&(1<<14-1)], ""); err != nil {
			b.Fatal(err)
		}
		i++
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "assignments/s")
}

// BenchmarkResults computes results for 1,000,000 users and 5 metrics (two conversion,
// three value), about a third of users converting. Target: under a second. The state is
// filled in memory directly: the benchmark is of the scan and the statistics.
func BenchmarkResults(b *testing.B) {
	dir := b.TempDir()
	db := openDB(b, dir, time.Now)
	defer db.Close()
	m, err := Open(batchKV{db.KV("experiment")}, nil, metrics.NewSet(), Options{})
	if err != nil {
		b.Fatal(err)
	}
	d := fiftyFifty("big")
	d.Metrics = []Metric{{Name: "login"}, {Name: "order"}, {Name: "revenue", Kind: KindRevenue},
		{Name: "pageviews", Kind: KindValue}, {Name: "minutes", Kind: KindValue}}
	if _, err := m.Create(d, "b"); err != nil {
		b.Fatal(err)
	}
	e, _ := m.lookup("big")
	const users = 1_000_000
	rng := rand.New(rand.NewPCG(1, 2))
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	e.mu.Lock()
	for i := range users {
		idx := e.addUser(rng.Uint64(), int64(i), uint8(rng.IntN(2)))
		for _, mt := range d.Metrics {
			if rng.IntN(3) == 0 {
				e.metric(mt.Name).add(idx, e.branch[idx], float64(1+rng.IntN(5000)), uint32(1+rng.IntN(3)))
			}
		}
	}
	e.mu.Unlock()
	runtime.GC()
	runtime.ReadMemStats(&after)
	b.ReportAllocs()
	for b.Loop() {
		r, err := m.Results("big", ResultsOptions{Sequential: true})
		if err != nil || r.Users != users {
			b.Fatalf("results: %d users, %v", r.Users, err)
		}
	}
	b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/results")
	b.ReportMetric(float64(users)*float64(b.N)/b.Elapsed().Seconds(), "users/s")
	b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/users, "state-bytes/user")
}

// BenchmarkRecordEvents is event ingestion into the per-user totals, stored in tsdb's
// KV, in batches of 1000 across 100,000 exposed users.
func BenchmarkRecordEvents(b *testing.B) {
	dir := b.TempDir()
	db := openDB(b, dir, time.Now)
	defer db.Close()
	m, err := Open(batchKV{db.KV("experiment")}, nil, metrics.NewSet(), Options{})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := m.Create(fiftyFifty("ev"), "b"); err != nil {
		b.Fatal(err)
	}
	uids := benchUIDs(100_000)
	var xs []Exposure
	past := time.Now().Add(-time.Hour)
	for _, u := range uids {
		xs = append(xs, Exposure{Experiment: "ev", UID: u, Branch: "control", Time: past})
	}
	if _, err := m.RecordExposures(ExposuresRequest{Exposures: xs}); err != nil {
		b.Fatal(err)
	}
	batch := make([]Event, 1000)
	rng := rand.New(rand.NewPCG(3, 4))
	b.ReportAllocs()
	for b.Loop() {
		for i := range batch {
			batch[i] = Event{UID: uids[rng.IntN(len(uids))], Metric: "order", Value: 1}
		}
		if _, err := m.RecordEvents(batch); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*len(batch))/b.Elapsed().Seconds(), "events/s")
}
