package tsdb

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
)

// yearOfData returns a year at 5m of a bursty counter (mostly +0, reset
// once), a 2-decimal random-walk gauge and an integer gauge, and the same
// thinned to the last sample of each hour: what 1h rollups keep of a
// series' last values.
func yearOfData() (full, thin []Sample) {
	const step = 300_000
	r := rand.New(rand.NewPCG(1, 2))
	c, g, gi := 0.0, 50.0, 100.0
	names := []labels.Labels{lbls("__name__", "c_total"), lbls("__name__", "g"), lbls("__name__", "gi")}
	for ts := t0; ts < t0+365*86_400_000; ts += step {
		if r.IntN(3) == 0 {
			c += float64(r.IntN(5))
		}
		if ts == t0+180*86_400_000+7*step {
			c = 3 // a counter reset inside an hour
		}
		g = math.Round((g+r.Float64()-0.5)*100) / 100
		gi += float64(r.IntN(3) - 1)
		for i, v := range []float64{c, g, gi} {
			s := Sample{names[i], ts, v}
			full = append(full, s)
			if (ts+step)%3600_000 == 0 {
				thin = append(thin, s)
			}
		}
	}
	return full, thin
}

// countingQueryable counts the points its series hand to their consumer
// (distinct timestamps reached by Next or Seek).
type countingQueryable struct {
	db     *DB
	points *int
}

func (c countingQueryable) Querier(mint, maxt int64) (storage.Querier, error) {
	q, err := c.db.Querier(mint, maxt)
	return countingQuerier{q, c.points}, err
}

type countingQuerier struct {
	storage.Querier
	points *int
}

func (q countingQuerier) Select(ctx context.Context, sort bool, h *storage.SelectHints, ms ...*labels.Matcher) storage.SeriesSet {
	return countingSet{q.Querier.Select(ctx, sort, h, ms...), q.points}
}

type countingSet struct {
	storage.SeriesSet
	points *int
}

func (s countingSet) At() storage.Series { return countingSeries{s.SeriesSet.At(), s.points} }

type countingSeries struct {
	storage.Series
	points *int
}

func (s countingSeries) Iterator(chunkenc.Iterator) chunkenc.Iterator {
	return &countingIter{Iterator: s.Series.Iterator(nil), points: s.points, last: math.MinInt64}
}

type countingIter struct {
	chunkenc.Iterator
	points *int
	last   int64
}

func (it *countingIter) count(vt chunkenc.ValueType) chunkenc.ValueType {
	if vt != chunkenc.ValNone && it.AtT() > it.last {
		it.last = it.AtT()
		*it.points++
	}
	return vt
}

func (it *countingIter) Next() chunkenc.ValueType         { return it.count(it.Iterator.Next()) }
func (it *countingIter) Seek(t millis) chunkenc.ValueType { return it.count(it.Iterator.Seek(t)) }

// TestRollupYearMatchesRaw runs year-long queries at 1h and 6h steps over
// 1h rollups and checks them, value for value, against the same queries
// over raw data, shifted to what a rollup keeps: an instant selector at T
// shows the last sample of the hour before T (the raw value at T-5m);
// rate and increase see each hour's last sample (raw data thinned to
// those); *_over_time aggregate whole hours [T-range, T) (raw data at
// T-1ms). It also counts the points handed to PromQL: one per step, not
// one per lookback.
func TestRollupYearMatchesRaw(t *testing.T) {
	if testing.Short() {
		t.Skip("imports a year of data")
	}
	ctx := context.Background()
	full, thin := yearOfData()
	db := openTest(t, t.TempDir(), testOptions())
	defer db.Close()
	if _, err := db.Import(ctx, iterOf(full), ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := db.Maintain(ctx); err != nil {
		t.Fatal(err)
	}
	thinDB := openTest(t, t.TempDir(), testOptions())
	defer thinDB.Close()
	if _, err := thinDB.Import(ctx, iterOf(thin), ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	const day, hour = 86_400_000, 3600_000
	// The last step is before the data's end: at the end itself, the last
	// sample is exactly one lookback old, which raw data at that time does
	// not show either, but the shifted reference would.
	end := t0 + 365*day - hour/2
	start := t0 + day
	if w := db.Stats().Rollup1h; w < end-30*day {
		t.Fatalf("1h rollups complete to %d, want most of the year (end %d)", w, end)
	}
	eng := newEngine()
	run := func(q storage.Queryable, expr string, from, to int64, step time.Duration) promql.Matrix {
		t.Helper()
		return rangeMatrix(t, eng, q, expr, from, to, step)
	}
	// same checks that got (over rollups) equals want (the reference,
	// evaluated shift ms earlier) at every step.
	same := func(expr string, got, want promql.Matrix, shift int64) {
		t.Helper()
		if len(got) != len(want) || len(got) == 0 {
			t.Fatalf("%s: %d series, reference has %d", expr, len(got), len(want))
		}
		for i := range want {
			g, w := got[i].Floats, want[i].Floats
			if len(g) != len(w) {
				t.Fatalf("%s %s: %d points, reference has %d", expr, got[i].Metric, len(g), len(w))
			}
			for k := range w {
				if g[k].T-shift != w[k].T || math.Abs(g[k].F-w[k].F) > 1e-9*math.Max(1, math.Abs(w[k].F)) {
					t.Fatalf("%s %s point %d: got %v@%d, reference %v@%d (shifted by %d)", expr, got[i].Metric, k, g[k].F, g[k].T, w[k].F, w[k].T, shift)
				}
			}
		}
	}
	for _, step := range []time.Duration{time.Hour, 6 * time.Hour} {
		ms := step.Milliseconds()
		for _, expr := range []string{`c_total`, `g`, `gi`} {
			points := 0
			got := run(countingQueryable{db, &points}, expr, start, end, step)
			same(expr, got, run(rawOnly{db}, expr, start-300_000, end-300_000, step), 300_000)
			steps := int((end-start)/ms) + 1
			if points > steps || points < steps-1 {
				t.Errorf("%s at %v: %d points handed to PromQL for %d steps", expr, step, points, steps)
			}
		}
		for _, expr := range []string{`rate(c_total[2h])`, `increase(c_total[3h])`, `last_over_time(g[1h])`, `rate(gi[2h])`} {
			same(expr, run(db, expr, start, end, step), run(rawOnly{thinDB}, expr, start, end, step), 0)
		}
		for _, expr := range []string{`max_over_time(g[1h])`, `min_over_time(gi[2h])`, `sum_over_time(gi[1h])`, `avg_over_time(g[3h])`} {
			same(expr, run(db, expr, start, end, step), run(rawOnly{db}, expr, start-1, end-1, step), 1)
		}
	}
	// A subquery's steps are multiples of its own step, not the outer
	// query's (which here starts at half past): seeks off the grid still
	// find the value of their own evaluation time.
	off := start + hour/2
	same("subquery", run(db, `last_over_time(g[3h:1h])`, off, end, time.Hour),
		run(rawOnly{db}, `last_over_time((g offset 5m)[3h:1h])`, off, end, time.Hour), 0)
	if p := db.planRollup(&storage.SelectHints{Start: off - 3*hour, End: end, Step: hour, Func: "last_over_time"}, off-3*hour, end); p == nil || p.res != res1h {
		t.Fatalf("subquery plan = %+v, want 1h rollups", p)
	}
}
