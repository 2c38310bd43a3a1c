package tsdb

import (
	"context"
	"math"
	"testing"
)

type sliceIter struct {
	ss []Sample
	i  int
}

func (s *sliceIter) Next() bool     { s.i++; return s.i <= len(s.ss) }
func (s *sliceIter) At() Sample     { return s.ss[s.i-1] }
func (s *sliceIter) Err() error     { return nil }
func iterOf(ss []Sample) *sliceIter { return &sliceIter{ss: ss} }

func TestImportBackfill(t *testing.T) {
	dir := t.TempDir()
	db := openTest(t, dir, testOptions())
	ls := lbls("__name__", "m")
	other := lbls("__name__", "other")
	// Live data: 3 days from day 10, so rollups of days 10-11 exist.
	live := t0 + 10*86_400_000
	var batch []Sample
	for ts := live; ts < live+3*86_400_000; ts += 60_000 {
		batch = append(batch, Sample{ls, ts, 1}, Sample{other, ts, 2})
		if len(batch) > 2000 {
			if err := db.Append(batch); err != nil {
				t.Fatal(err)
			}
			batch = batch[:0]
		}
	}
	if err := db.Append(batch); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return db.Stats().Sealed >= live+2*86_400_000 })
	if err := db.Maintain(context.Background()); err != nil {
		t.Fatal(err)
	}
	w5 := db.Stats().Rollup5m
	if w5 < live+2*86_400_000 {
		t.Fatalf("5m watermark %d before the import", w5-t0)
	}
	// Backfill: days 0-2 for a new series and for ls, out of order and
	// with duplicates (the later one wins), plus an overwrite of day 10
	// (already rolled up) and a sample in the head's range.
	var imp []Sample
	newSeries := lbls("__name__", "backfilled")
	for ts := t0 + 3*86_400_000 - 60_000; ts >= t0; ts -= 60_000 {
		imp = append(imp, Sample{newSeries, ts, 5}, Sample{ls, ts, 3})
	}
	imp = append(imp, Sample{newSeries, t0, 6})     // duplicate: wins
	imp = append(imp, Sample{ls, live + 30_000, 7}) // between stored samples of a rolled-up day
	imp = append(imp, Sample{ls, live, 8})          // overwrites a stored sample
	imp = append(imp, Sample{ls, live + 3*86_400_000 - 30_000, 9})
	imp = append(imp, Sample{Labels: lbls(), T: t0, V: 1})
	var progress int
	st, err := db.Import(context.Background(), iterOf(imp), ImportOptions{BufferSamples: 1000, Progress: func(read, stored int64) { progress++ }})
	if err != nil {
		t.Fatal(err)
	}
	if st.Read != int64(len(imp)) || st.Skipped[SkipNoLabels] != 1 || st.Series != 1 || progress < 2 {
		t.Fatalf("import stats %+v, %d progress calls", st, progress)
	}
	check := func(db *DB) {
		t.Helper()
		got := readAll(t, db, math.MinInt64, math.MaxInt64, nil)
		b := got[newSeries.String()]
		if len(b) != 3*1440 || b[0] != (sample{t0, 6}) || b[1].v != 5 {
			t.Fatalf("backfilled series: %d samples, first %v", len(b), b[:2])
		}
		m := got[ls.String()]
		if len(m) != 3*1440+3*1440+2 {
			t.Fatalf("m: %d samples, want %d", len(m), 6*1440+2)
		}
		at := map[int64]float64{}
		for _, s := range m {
			at[s.t] = s.v
		}
		if at[live] != 8 || at[live+30_000] != 7 || at[t0] != 3 || at[live+60_000] != 1 || at[live+3*86_400_000-30_000] != 9 {
			t.Fatalf("m values: live %v, live+30s %v, t0 %v, live+60s %v, newest %v", at[live], at[live+30_000], at[t0], at[live+60_000], at[live+3*86_400_000-30_000])
		}
	}
	check(db)
	// Recomputed rollups of day 10 include the imported samples.
	if err := db.Maintain(context.Background()); err != nil {
		t.Fatal(err)
	}
	ref := db.series.lookup(ls.Hash(), ls).ref
	pts := storedRollups(t, db, res5m, ref, live+86_400_000-1)
	var first *struct {
		c   int64
		max float64
	}
	for _, p := range pts {
		if p.Start == live {
			first = &struct {
				c   int64
				max float64
			}{p.Count, p.Max}
		}
	}
	if first == nil || first.c != 6 || first.max != 8 {
		t.Fatalf("5m rollup at the start of day 10 = %+v, want 6 samples, max 8", first)
	}
	// Days 0-2 were rolled up too (they were below the watermark's start,
	// so the normal pass or the dirty pass must cover them).
	if pts := storedRollups(t, db, res5m, db.series.lookup(newSeries.Hash(), newSeries).ref, t0+3*86_400_000-1); len(pts) != 3*288 {
		days := map[int64]int{}
		for _, p := range pts {
			days[(p.Start-t0)/86_400_000]++
		}
		t.Fatalf("backfilled days 0-2 have %d 5m points, want %d: %v; stats %+v", len(pts), 3*288, days, db.Stats())
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = openTest(t, dir, testOptions())
	defer db.Close()
	check(db)
}
