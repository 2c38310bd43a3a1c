package experiment

import (
	"sync"
	"testing"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"go.uber.org/goleak"

	"github.com/wardmetrics/ward/tsdb"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// batchKV is the adapter the daemon uses: *tsdb.KV's PutBatch as the Batcher the
// Manager looks for.
type batchKV struct{ *tsdb.KV }

func (b batchKV) PutMany(keys, vals [][]byte) error {
	pairs := make([]tsdb.KVPair, len(keys))
	for i := range keys {
		pairs[i] = tsdb.KVPair{Key: keys[i], Value: vals[i]}
	}
	return b.PutBatch(pairs)
}

// dbAppender adapts tsdb.DB.Append to Appender; the two Sample types share a layout.
type dbAppender struct{ db *tsdb.DB }

func (a dbAppender) Append(samples []Sample) error {
	out := make([]tsdb.Sample, len(samples))
	for i, s := range samples {
		out[i] = tsdb.Sample(s)
	}
	return a.db.Append(out)
}

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// env is a Manager on a real tsdb in a temporary directory.
type env struct {
	t     *testing.T
	dir   string
	db    *tsdb.DB
	m     *Manager
	clock *clock
	set   *metrics.Set
}

func openDB(t testing.TB, dir string, now func() time.Time) *tsdb.DB {
	t.Helper()
	db, err := tsdb.Open(dir, tsdb.Options{Sync: tsdb.SyncNone, Now: now}, metrics.NewSet())
	if err != nil {
		t.Fatalf("open tsdb: %v", err)
	}
	return db
}

func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{t: t, dir: t.TempDir(), clock: newClock()}
	e.open()
	t.Cleanup(e.close)
	return e
}

func (e *env) open() {
	e.t.Helper()
	e.db = openDB(e.t, e.dir, e.clock.Now)
	e.set = metrics.NewSet()
	m, err := Open(batchKV{e.db.KV("experiment")}, dbAppender{e.db}, e.set, Options{Now: e.clock.Now})
	if err != nil {
		e.t.Fatalf("open manager: %v", err)
	}
	e.m = m
}

func (e *env) close() {
	if e.db != nil {
		if err := e.db.Close(); err != nil {
			e.t.Errorf("close tsdb: %v", err)
		}
		e.db, e.m = nil, nil
	}
}

func (e *env) reopen() {
	e.t.Helper()
	e.close()
	e.open()
}

func (e *env) create(d Definition) Definition {
	e.t.Helper()
	got, err := e.m.Create(d, "tester")
	if err != nil {
		e.t.Fatalf("create %s: %v", d.Name, err)
	}
	return got
}

func (e *env) assign(name, uid, role string) Assignment {
	e.t.Helper()
	r, err := e.m.Assign(name, uid, role)
	if err != nil {
		e.t.Fatalf("assign %s %s: %v", name, uid, err)
	}
	return r.Assignment
}

func (e *env) events(evs ...Event) EventsResponse {
	e.t.Helper()
	r, err := e.m.RecordEvents(evs)
	if err != nil {
		e.t.Fatalf("record events: %v", err)
	}
	return r
}

func (e *env) results(name string, o ResultsOptions) Results {
	e.t.Helper()
	r, err := e.m.Results(name, o)
	if err != nil {
		e.t.Fatalf("results %s: %v", name, err)
	}
	return r
}

func fiftyFifty(name string) Definition {
	return Definition{
		Name:     name,
		Branches: []Branch{{Name: "control", Weight: 50}, {Name: "treatment", Weight: 50}},
		Rollout:  100,
	}
}

func ptr[T any](v T) *T { return &v }
