package tsdb

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// TestRandomAppendsMatchModel appends random batches (several series,
// out-of-order samples inside and outside the window, rewrites of stored
// timestamps) and compares everything read back, across seals and
// reopens, with a model: last write wins, samples older than the newest
// minus the window are rejected.
func TestRandomAppendsMatchModel(t *testing.T) {
	for seed := uint64(1); seed <= 4; seed++ {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			r := rand.New(rand.NewPCG(seed, 99))
			dir := t.TempDir()
			opts := testOptions()
			opts.BucketDuration = 30 * time.Minute
			opts.OutOfOrderWindow = 10 * time.Minute
			window := opts.OutOfOrderWindow.Milliseconds()
			db := openTest(t, dir, opts)
			defer func() { db.Close() }()
			model := map[string]map[int64]float64{}
			maxT := int64(math.MinInt64)
			now := t0
			for step := 0; step < 600; step++ {
				var batch []Sample
				wantRejected := 0
				for i := 0; i < 1+r.IntN(20); i++ {
					ls := lbls("__name__", "p", "s", fmt.Sprint(r.IntN(6)))
					var ts int64
					switch r.IntN(10) {
					case 0: // well outside the window
						ts = now - window - 1 - r.Int64N(3*window)
					case 1, 2: // inside the window, possibly rewriting
						ts = now - r.Int64N(window)
					default:
						ts = now + r.Int64N(20_000)
					}
					ts -= ts % 1000 // second granularity makes rewrites likely
					v := math.Round(r.NormFloat64()*1000) / 100
					batch = append(batch, Sample{ls, ts, v})
					if maxT != math.MinInt64 && ts < maxT-window {
						wantRejected++
						continue
					}
					maxT = max(maxT, ts)
					if model[ls.String()] == nil {
						model[ls.String()] = map[int64]float64{}
					}
					model[ls.String()][ts] = v
				}
				now += 5_000 + r.Int64N(30_000)
				err := db.Append(batch)
				var rej *RejectedError
				switch {
				case wantRejected == 0 && err != nil:
					t.Fatalf("step %d: %v", step, err)
				case wantRejected > 0 && (!errors.As(err, &rej) || rej.TooOld != wantRejected):
					t.Fatalf("step %d: got %v, want %d rejected", step, err, wantRejected)
				}
				if step%150 == 149 {
					if err := db.Close(); err != nil {
						t.Fatal(err)
					}
					db = openTest(t, dir, opts)
				}
			}
			got := readAll(t, db, math.MinInt64, math.MaxInt64, nil)
			if len(got) != len(model) {
				t.Fatalf("%d series, model has %d", len(got), len(model))
			}
			for name, m := range model {
				ts := make([]int64, 0, len(m))
				for t := range m {
					ts = append(ts, t)
				}
				slices.Sort(ts)
				g := got[name]
				if len(g) != len(ts) {
					t.Fatalf("%s: %d samples, model has %d", name, len(g), len(ts))
				}
				for i, tt := range ts {
					if g[i].t != tt || g[i].v != m[tt] {
						t.Fatalf("%s[%d]: (%d, %v), model (%d, %v)", name, i, g[i].t, g[i].v, tt, m[tt])
					}
				}
			}
		})
	}
}
