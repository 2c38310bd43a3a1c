package tsdb

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/prometheus/prometheus/storage"
)

// TestSeriesHintRange checks that a labels-only Select (what /api/v1/series
// sends) lists only the series with data in the range, whether that data
// is in sealed chunks or in the head, with Limit applied afterwards.
// openOldNewBoth opens a DB of one-hour buckets holding m{label="old", oldExtra...}
// in the first hour only (sealed), m{label="new"} from the third hour on (head) and
// m{label="both"} throughout four hours from t0, a sample a minute, and waits until
// the first two hours are sealed.
func openOldNewBoth(t *testing.T, label string, oldExtra ...string) *DB {
	t.Helper()
	opts := testOptions()
	opts.BucketDuration = time.Hour
	db := openTest(t, t.TempDir(), opts)
	t.Cleanup(func() { db.Close() })
	const hour = 3600_000
	oldLabels := lbls(append([]string{"__name__", "m", label, "old"}, oldExtra...)...)
	for ts := t0; ts < t0+4*hour; ts += 60_000 {
		var batch []Sample
		if ts < t0+hour {
			batch = append(batch, Sample{oldLabels, ts, 1})
		}
		if ts >= t0+2*hour {
			batch = append(batch, Sample{lbls("__name__", "m", label, "new"), ts, 2})
		}
		batch = append(batch, Sample{lbls("__name__", "m", label, "both"), ts, 3})
		if err := db.Append(batch); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, func() bool { return db.Stats().Sealed >= t0+2*hour })
	return db
}

func TestSeriesHintRange(t *testing.T) {
	db := openOldNewBoth(t, "s")
	const hour = 3600_000
	list := func(mint, maxt int64, limit int) []string {
		q, err := db.Querier(mint, maxt)
		if err != nil {
			t.Fatal(err)
		}
		defer q.Close()
		set := q.Select(context.Background(), true, &storage.SelectHints{Start: mint, End: maxt, Func: "series", Limit: limit}, eqMatcher("__name__", "m"))
		var out []string
		for set.Next() {
			out = append(out, set.At().Labels().Get("s"))
		}
		if err := set.Err(); err != nil {
			t.Fatal(err)
		}
		return out
	}
	for _, c := range []struct {
		mint, maxt int64
		limit      int
		want       []string
	}{
		{math.MinInt64, math.MaxInt64, 0, []string{"both", "new", "old"}},
		{t0, t0 + 30*60_000, 0, []string{"both", "old"}},             // inside the sealed first hour
		{t0 + hour + 1, t0 + 2*hour - 1, 0, []string{"both"}},        // the gap between old and new
		{t0 + 59*60_000, t0 + 59*60_000, 0, []string{"both", "old"}}, // one instant, straddled bucket
		{t0 + 3*hour, t0 + 5*hour, 0, []string{"both", "new"}},       // head only
		{t0 + 10*hour, t0 + 11*hour, 0, nil},                         // after everything
		{math.MinInt64, math.MaxInt64, 2, []string{"both", "new"}},
		{t0, t0 + 30*60_000, 1, []string{"both"}},
	} {
		if got := list(c.mint, c.maxt, c.limit); !slices.Equal(got, c.want) {
			t.Errorf("series in [%d, %d] limit %d: got %v, want %v", c.mint-t0, c.maxt-t0, c.limit, got, c.want)
		}
	}
}

// TestReadWindowsMatchModel reads random windows of many series whose data
// spans sealed chunks and head buckets with out-of-order rewrites, and
// compares each with a model: the bulk-allocated buffers of a Select must
// never mix series or windows.
func TestReadWindowsMatchModel(t *testing.T) {
	opts := testOptions()
	opts.BucketDuration = 30 * time.Minute
	db := openTest(t, t.TempDir(), opts)
	defer db.Close()
	r := rand.New(rand.NewPCG(7, 8))
	const nSeries = parallelHeadMinSeries + 88 // enough for the two-goroutine head decode
	model := make([]map[int64]float64, nSeries)
	for i := range model {
		model[i] = map[int64]float64{}
	}
	end := t0 + 2*3600_000
	for ts := t0; ts < end; ts += 30_000 {
		var batch []Sample
		for s := 0; s < nSeries; s++ {
			if r.IntN(4) == 0 {
				continue // gaps make the series differ in length
			}
			at := ts
			if r.IntN(10) == 0 && ts > t0+120_000 {
				at = ts - 1000*r.Int64N(120) // out of order, inside the window
			}
			v := float64(r.IntN(1000)) / 10
			batch = append(batch, Sample{lbls("__name__", "w", "s", fmt.Sprintf("%03d", s)), at, v})
			model[s][at] = v
		}
		if err := db.Append(batch); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, func() bool { return db.Stats().Sealed >= t0+90*60_000 })
	for k := 0; k < 12; k++ {
		mint := t0 + r.Int64N(end-t0)
		maxt := mint + r.Int64N(end-mint+60_000)
		got := readAll(t, db, mint, maxt, nil, eqMatcher("__name__", "w"))
		for s := 0; s < nSeries; s++ {
			var want []sample
			for ts, v := range model[s] {
				if ts >= mint && ts <= maxt {
					want = append(want, sample{ts, v})
				}
			}
			slices.SortFunc(want, func(a, b sample) int { return int(a.t - b.t) })
			g := got[lbls("__name__", "w", "s", fmt.Sprintf("%03d", s)).String()]
			if fmt.Sprint(g) != fmt.Sprint(want) {
				t.Fatalf("window %d [%d, %d] series %d: got %d samples, want %d\ngot  %v\nwant %v", k, mint-t0, maxt-t0, s, len(g), len(want), g, want)
			}
		}
	}
}
