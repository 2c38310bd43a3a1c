package tsdb

import (
	"context"
	"fmt"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/storage"
	"github.com/wardmetrics/ward/tsdb/internal/chunk"
	"github.com/wardmetrics/ward/tsdb/internal/keys"
)

// rawOnly hides hints from the DB so that every Select reads raw data: the
// reference the rollup path is compared with.
type rawOnly struct{ db *DB }

func (r rawOnly) Querier(mint, maxt int64) (storage.Querier, error) {
	q, err := r.db.Querier(mint, maxt)
	return rawQuerier{q}, err
}

type rawQuerier struct{ storage.Querier }

func (q rawQuerier) Select(ctx context.Context, sort bool, h *storage.SelectHints, ms ...*labels.Matcher) storage.SeriesSet {
	if h != nil {
		c := *h
		c.Step, c.Range, c.Func = 0, 0, ""
		h = &c
	}
	return q.Querier.Select(ctx, sort, h, ms...)
}

// fillDays appends days of data at step for a counter (+1 per step, so its
// rate is exact), a gauge following a sine (2 decimals) and a gauge that
// stops half-way.
func fillDays(t *testing.T, db *DB, days int, step int64) map[string][]sample {
	t.Helper()
	want := map[string][]sample{}
	series := []labels.Labels{lbls("__name__", "c_total"), lbls("__name__", "g"), lbls("__name__", "stops")}
	n := int64(days) * 86_400_000 / step
	var batch []Sample
	for i := int64(0); i < n; i++ {
		ts := t0 + i*step
		vals := []float64{float64(i), math.Round(100*(50+40*math.Sin(float64(i)/500))) / 100, float64(i % 7)}
		for j, ls := range series {
			if j == 2 && i > n/2 {
				continue
			}
			batch = append(batch, Sample{ls, ts, vals[j]})
			want[ls.String()] = append(want[ls.String()], sample{ts, vals[j]})
		}
		if len(batch) >= 3000 || i == n-1 {
			if err := db.Append(batch); err != nil {
				t.Fatal(err)
			}
			batch = batch[:0]
		}
	}
	return want
}

// aggregate computes rollup points from raw samples, the reference.
func aggregate(ss []sample, step int64) []chunk.Point {
	var out []chunk.Point
	var a chunk.Agg
	a.Reset(math.MinInt64)
	for _, s := range ss {
		start := floorTo(s.t, step)
		if start != a.P.Start {
			if p := a.Point(); p.Count > 0 {
				out = append(out, p)
			}
			a.Reset(start)
		}
		a.Add(s.t, s.v)
	}
	if p := a.Point(); p.Count > 0 {
		out = append(out, p)
	}
	return out
}

func storedRollups(t *testing.T, db *DB, r resolution, ref SeriesRef, upTo int64) []chunk.Point {
	t.Helper()
	var out []chunk.Point
	var dec chunk.Decoder
	err := db.joinRollups(context.Background(), r, []uint32{uint32(ref)}, math.MinInt64/2, upTo, func(_ int, p int64, v []byte) {
		var err error
		if out, err = dec.DecodeRollup(v, p, r.step, chunk.ColAll, out); err != nil {
			t.Fatal(err)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestRollupsMatchRaw(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 40 days of data")
	}
	db := openTest(t, t.TempDir(), testOptions())
	defer db.Close()
	const step = 60_000
	want := fillDays(t, db, 40, step)
	end := t0 + 40*86_400_000
	waitFor(t, func() bool { return db.Stats().Sealed >= end-4*3600_000 })
	if err := db.Maintain(context.Background()); err != nil {
		t.Fatal(err)
	}
	st := db.Stats()
	if st.Rollup5m < end-2*86_400_000 || st.Rollup1h == math.MinInt64 {
		t.Fatalf("watermarks 5m=%d 1h=%d, want 5m near %d and 1h set", st.Rollup5m, st.Rollup1h, end)
	}
	for name, ss := range want {
		ref := db.series.lookup(mustParse(t, name).Hash(), mustParse(t, name)).ref
		for _, r := range []resolution{res5m, res1h} {
			w := st.Rollup5m
			if r == res1h {
				w = st.Rollup1h
			}
			var in []sample
			for _, s := range ss {
				if s.t < w {
					in = append(in, s)
				}
			}
			exp := aggregate(in, r.step)
			got := storedRollups(t, db, r, ref, w-1)
			if len(got) != len(exp) {
				t.Fatalf("%s at %dms: %d points, want %d", name, r.step, len(got), len(exp))
			}
			for i := range exp {
				if got[i] != exp[i] {
					t.Fatalf("%s at %dms, point %d: got %+v, want %+v", name, r.step, i, got[i], exp[i])
				}
			}
		}
	}

	// The two-goroutine decoder of long reads returns, for every series,
	// exactly what a serial read of that series does.
	var refs []uint32
	for name := range want {
		refs = append(refs, uint32(db.series.lookup(mustParse(t, name).Hash(), mustParse(t, name)).ref))
	}
	slices.Sort(refs)
	par := make([][]chunk.Point, len(refs))
	err := db.decodeRollups(context.Background(), res5m, refs, math.MinInt64/2, st.Rollup5m-1, chunk.ColAll, func(i int, pts []chunk.Point) {
		par[i] = append(par[i], pts...)
	})
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range refs {
		if exp := storedRollups(t, db, res5m, SeriesRef(r), st.Rollup5m-1); len(exp) < parallelRollupMinChunks || !slices.Equal(par[i], exp) {
			t.Fatalf("series %d: parallel decode got %d points, serial %d", r, len(par[i]), len(exp))
		}
	}

	// PromQL over 40 days at a 1h step reads 1h rollups (plus 5m and raw
	// for the newest days) and agrees with raw data within one raw step.
	eng := newEngine()
	run := func(q storage.Queryable, expr string) promql.Matrix {
		t.Helper()
		return rangeMatrix(t, eng, q, expr, t0+3600_000, end, time.Hour)
	}
	hints := &storage.SelectHints{Start: t0, End: end, Step: 3600_000, Range: 2 * 3600_000, Func: "rate"}
	if p := db.planRollup(hints, hints.Start, hints.End); p == nil || p.res != res1h {
		t.Fatalf("plan for rate[2h] at 1h step = %+v, want 1h rollups", p)
	}
	for _, c := range []struct {
		expr string
		tol  float64
	}{
		{`rate(c_total[2h])`, 1e-9},                 // +1 per step: exact
		{`g`, 40 * float64(step) / 500 * 1.01},      // one step of the sine at most
		{`max_over_time(g[1h])`, 40 * 60_000 / 500}, // window edges differ by one sample
		{`stops`, 0},
	} {
		got, ref := run(db, c.expr), run(rawOnly{db}, c.expr)
		if len(got) != len(ref) {
			t.Fatalf("%s: %d series, raw has %d", c.expr, len(got), len(ref))
		}
		for i := range ref {
			g, r := got[i].Floats, ref[i].Floats
			// Edges may differ by a step or two: the first rollup bucket has
			// no predecessor for rate, and a series that stops ends on its
			// last bucket. Everything else must be at the same times.
			if len(g) < len(r)-2 || len(g) > len(r)+1 {
				t.Fatalf("%s: %d points, raw has %d", c.expr, len(g), len(r))
			}
			rawAt := map[int64]float64{}
			for _, p := range r {
				rawAt[p.T] = p.F
			}
			tol := c.tol
			if c.expr == "stops" {
				tol = 7 // values cycle 0..6
			}
			missing := 0
			for _, p := range g {
				rv, ok := rawAt[p.T]
				if !ok {
					missing++
					continue
				}
				if math.Abs(p.F-rv) > tol {
					t.Fatalf("%s at %d: %v, raw %v", c.expr, p.T-t0, p.F, rv)
				}
			}
			if missing > 1 {
				t.Fatalf("%s: %d points at times raw data has none", c.expr, missing)
			}
		}
	}
	_ = keys.KindRollup
}

func mustParse(t *testing.T, s string) labels.Labels {
	t.Helper()
	ls, err := parseMetric(s)
	if err != nil {
		t.Fatal(err)
	}
	return ls
}

func parseMetric(s string) (labels.Labels, error) {
	// Only the shape used by these tests: {__name__="x"}.
	var name string
	if _, err := fmt.Sscanf(s, "{__name__=%q}", &name); err != nil {
		return labels.EmptyLabels(), err
	}
	return labels.FromStrings("__name__", name), nil
}
