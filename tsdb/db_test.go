package tsdb

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(cleanupRun{m})
}

// cleanupRun removes the shared benchmark directory after the run.
type cleanupRun struct{ m *testing.M }

func (c cleanupRun) Run() int {
	code := c.m.Run()
	if readDir != "" {
		_ = os.RemoveAll(readDir)
	}
	return code
}

// t0 is a fixed, bucket-aligned test epoch (2025-01-01T00:00:00Z).
const t0 = int64(1735689600000)

func testOptions() Options {
	return Options{
		Sync:      SyncNone,
		Now:       func() time.Time { return time.UnixMilli(t0 + 400*24*3600*1000) },
		MaxFuture: -1,
		// Retention far beyond the test epoch unless a test says otherwise.
		RetentionRaw: -1, Retention5m: -1, Retention1h: -1,
	}
}

func openTest(t testing.TB, dir string, opts Options) *DB {
	t.Helper()
	db, err := Open(dir, opts, nil)
	if err != nil {
		t.Fatalf("Open(%s): %v", dir, err)
	}
	return db
}

func lbls(kv ...string) labels.Labels { return labels.FromStrings(kv...) }

// readAll returns every sample of every series selected by ms in [mint, maxt].
func readAll(t testing.TB, q storage.Queryable, mint, maxt int64, hints *storage.SelectHints, ms ...*labels.Matcher) map[string][]sample {
	t.Helper()
	qr, err := q.Querier(mint, maxt)
	if err != nil {
		t.Fatal(err)
	}
	defer qr.Close()
	set := qr.Select(context.Background(), true, hints, ms...)
	out := map[string][]sample{}
	var it chunkenc.Iterator
	var prev labels.Labels
	for set.Next() {
		s := set.At()
		if !prev.IsEmpty() && labels.Compare(prev, s.Labels()) >= 0 {
			t.Fatalf("series not sorted: %s before %s", prev, s.Labels())
		}
		prev = s.Labels()
		it = s.Iterator(it)
		var ss []sample
		for it.Next() == chunkenc.ValFloat {
			ts, v := it.At()
			if n := len(ss); n > 0 && ss[n-1].t >= ts {
				t.Fatalf("%s: timestamps not increasing: %d then %d", s.Labels(), ss[n-1].t, ts)
			}
			ss = append(ss, sample{ts, v})
		}
		if err := it.Err(); err != nil {
			t.Fatal(err)
		}
		out[s.Labels().String()] = ss
	}
	if err := set.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// selectSeries selects ms from q and checks that want series came back.
func selectSeries(t testing.TB, q storage.Querier, want int, ms ...*labels.Matcher) []storage.Series {
	t.Helper()
	set := q.Select(context.Background(), true, nil, ms...)
	var list []storage.Series
	for set.Next() {
		list = append(list, set.At())
	}
	if err := set.Err(); err != nil {
		t.Fatal(err)
	}
	if len(list) != want {
		t.Fatalf("selected %d series, want %d", len(list), want)
	}
	return list
}

func eqMatcher(name, value string) *labels.Matcher {
	return labels.MustNewMatcher(labels.MatchEqual, name, value)
}

func TestAppendQueryReopen(t *testing.T) {
	dir := t.TempDir()
	db := openTest(t, dir, testOptions())
	const step = 10_000
	n := 3 * 3600 * 1000 / step // 3h: crosses a bucket boundary and seals one
	want := map[string][]sample{}
	for i := 0; i < n; i++ {
		ts := t0 + int64(i)*step
		var batch []Sample
		for h := 0; h < 3; h++ {
			ls := lbls("__name__", "cpu", "host", fmt.Sprintf("h%d", h))
			v := float64(i*h) + 0.25
			batch = append(batch, Sample{ls, ts, v})
			want[ls.String()] = append(want[ls.String()], sample{ts, v})
		}
		if err := db.Append(batch); err != nil {
			t.Fatalf("Append step %d: %v", i, err)
		}
	}
	waitFor(t, func() bool { return db.Stats().Sealed >= t0+2*3600*1000 })
	check := func(db *DB) {
		got := readAll(t, db, math.MinInt64, math.MaxInt64, nil, eqMatcher("__name__", "cpu"))
		if len(got) != 3 {
			t.Fatalf("got %d series, want 3", len(got))
		}
		for k, w := range want {
			g := got[k]
			if len(g) != len(w) {
				t.Fatalf("%s: got %d samples, want %d", k, len(g), len(w))
			}
			for i := range w {
				if g[i] != w[i] {
					t.Fatalf("%s[%d]: got %v, want %v", k, i, g[i], w[i])
				}
			}
		}
	}
	check(db)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = openTest(t, dir, testOptions())
	defer db.Close()
	check(db)
	if st := db.Stats(); st.Series != 3 || st.HeadSamples == 0 {
		t.Fatalf("stats after reopen: %+v", st)
	}
}

func TestOutOfOrderWindow(t *testing.T) {
	db := openTest(t, t.TempDir(), testOptions())
	defer db.Close()
	ls := lbls("__name__", "x")
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(db.Append([]Sample{{ls, t0 + 3600_000, 1}}))
	must(db.Append([]Sample{{ls, t0 + 3600_000 - 60_000, 2}})) // 1 min late: accepted
	must(db.Append([]Sample{{ls, t0 + 3600_000, 3}}))          // rewrite: last wins
	err := db.Append([]Sample{{ls, t0, 4}, {ls, t0 + 3600_000 + 10_000, 5}})
	var rej *RejectedError
	if !errors.As(err, &rej) || rej.TooOld != 1 || !errors.Is(err, ErrRejected) {
		t.Fatalf("Append of a sample 1h late: got %v, want one rejected as too old", err)
	}
	got := readAll(t, db, math.MinInt64, math.MaxInt64, nil)
	want := []sample{{t0 + 3600_000 - 60_000, 2}, {t0 + 3600_000, 3}, {t0 + 3600_000 + 10_000, 5}}
	if fmt.Sprint(got[ls.String()]) != fmt.Sprint(want) {
		t.Fatalf("got %v, want %v", got[ls.String()], want)
	}
	if st := db.Stats(); st.SamplesRejected != 1 {
		t.Fatalf("rejected = %d, want 1", st.SamplesRejected)
	}
}

func waitFor(t testing.TB, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached before deadline")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
