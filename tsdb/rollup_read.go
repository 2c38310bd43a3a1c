package tsdb

import (
	"context"
	"errors"
	"fmt"
	"math"
	"runtime"
	"sort"
	"sync"

	"github.com/cockroachdb/pebble/v2"
	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
	"github.com/wardmetrics/ward/tsdb/internal/chunk"
	"github.com/wardmetrics/ward/tsdb/internal/keys"
)

// rollupPlan says how a Select reads rollups.
type rollupPlan struct {
	res        resolution
	mint, maxt int64
	// rangeFn: points at their last sample's time, valued by pick.
	// Otherwise (instant selectors): a step function sampled once per
	// evaluation step, at the step's own time (see rollupIter).
	rangeFn  bool
	pick     func(p *chunk.Point) float64
	cols     chunk.Columns
	lookback int64
	// anchor and step place the evaluation steps of an instant selector:
	// anchor+k*step. The engine selects from the first step minus the
	// lookback plus 1 ms, so anchor is hints.Start+lookback-1.
	anchor, step int64
}

func pickLast(p *chunk.Point) float64 { return p.Last }

// rollupFuncs lists the range functions that rollups answer, the column
// they read, and how many points a range must hold at least (rate-like
// functions need two).
var rollupFuncs = map[string]struct {
	pick    func(p *chunk.Point) float64
	cols    chunk.Columns
	divisor int64
}{
	"rate":              {pickLast, chunk.ColLast, 2},
	"increase":          {pickLast, chunk.ColLast, 2},
	"delta":             {pickLast, chunk.ColLast, 2},
	"irate":             {pickLast, chunk.ColLast, 2},
	"idelta":            {pickLast, chunk.ColLast, 2},
	"last_over_time":    {pickLast, chunk.ColLast, 1},
	"present_over_time": {pickLast, chunk.ColLast, 1},
	"absent_over_time":  {pickLast, chunk.ColLast, 1},
	"max_over_time":     {func(p *chunk.Point) float64 { return p.Max }, chunk.ColMax, 1},
	"min_over_time":     {func(p *chunk.Point) float64 { return p.Min }, chunk.ColMin, 1},
	"sum_over_time":     {func(p *chunk.Point) float64 { return p.Sum }, chunk.ColSum, 1},
	"avg_over_time":     {func(p *chunk.Point) float64 { return p.Sum / float64(p.Count) }, chunk.ColSum, 1},
}

// planRollup picks the coarsest resolution whose points are no further
// apart than the step (and, for range functions, than the range divided by
// the points the function needs), or nil to read raw data: for instant
// queries, for functions rollups cannot answer (quantile_over_time,
// count_over_time, changes...), and for ranges not yet rolled up at all.
func (db *DB) planRollup(h *storage.SelectHints, mint, maxt int64) *rollupPlan {
	if h == nil || h.Step <= 0 {
		return nil
	}
	w5, _ := db.rollupWatermarks()
	if w5 == math.MinInt64 || mint >= w5 {
		return nil
	}
	lookback := db.opts.LookbackDelta.Milliseconds()
	plan := &rollupPlan{mint: mint, maxt: maxt, pick: pickLast, cols: chunk.ColLast, lookback: lookback, anchor: mint + lookback - 1, step: h.Step}
	limit := h.Step
	if h.Range > 0 {
		f, ok := rollupFuncs[h.Func]
		if !ok {
			return nil
		}
		plan.rangeFn, plan.pick, plan.cols = true, f.pick, f.cols
		limit = min(limit, h.Range/f.divisor)
	}
	switch {
	case res1h.step <= limit:
		plan.res = res1h
	case res5m.step <= limit:
		plan.res = res5m
	default:
		return nil
	}
	return plan
}

// readRollups builds the series of refs at the plan's resolution: stored
// 1h points, then 5m points (aggregated to 1h if needed), then raw samples
// aggregated at read time for what the background job has not covered.
func (db *DB) readRollups(ctx context.Context, refs []uint32, plan *rollupPlan) (storage.SeriesSet, error) {
	res := plan.res
	w5, w1 := db.rollupWatermarks()
	lo := floorTo(plan.mint, res.step)
	hi := plan.maxt
	pts := make([][]outPoint, len(refs))
	if n := (hi-lo)/res.step + 1; n > 0 && n < 1<<20 {
		for i := range pts {
			pts[i] = make([]outPoint, 0, n)
		}
	}
	pick := plan.pick
	emit := func(i int, p *chunk.Point) {
		pts[i] = append(pts[i], outPoint{start: p.Start, lastT: p.LastT, v: pick(p)})
	}
	cols := plan.cols
	from := lo
	if res == res1h && w1 > lo {
		err := db.decodeRollups(ctx, res1h, refs, floorTo(lo, res1h.period), min(w1-1, hi), cols, func(i int, buf []chunk.Point) {
			for j := range buf {
				if buf[j].Start >= lo && buf[j].Start <= hi {
					emit(i, &buf[j])
				}
			}
		})
		if err != nil {
			return nil, err
		}
		from = max(from, w1)
	}
	// Finer sources aggregated to res: one accumulator per series.
	aggs := make([]chunk.Agg, len(refs))
	for i := range aggs {
		aggs[i].Approx = true // sums here are not stored: no need to be exact
		aggs[i].Reset(math.MinInt64)
	}
	flush := func(i int) {
		if p := aggs[i].Point(); p.Count > 0 && p.Start >= lo && p.Start <= hi {
			emit(i, &p)
		}
	}
	addPoint := func(i int, q *chunk.Point) {
		start := floorTo(q.Start, res.step)
		if aggs[i].P.Start != start {
			flush(i)
			aggs[i].Reset(start)
		}
		aggs[i].AddPoint(*q)
	}
	if w5 > from {
		// Aggregating to 1h merges only the columns the plan reads.
		err := db.decodeRollups(ctx, res5m, refs, floorTo(from, res5m.period), min(w5-1, hi), cols, func(i int, buf []chunk.Point) {
			for j := range buf {
				if buf[j].Start < from || buf[j].Start > hi {
					continue
				}
				if res == res5m {
					emit(i, &buf[j])
				} else {
					addPoint(i, &buf[j])
				}
			}
		})
		if err != nil {
			return nil, err
		}
		from = max(from, w5)
	}
	if from <= hi {
		raw, err := db.rawSeries(ctx, refs, from, hi)
		if err != nil {
			return nil, err
		}
		var it sampleIter
		for i, s := range raw {
			it.reset(s)
			for it.Next() == chunkenc.ValFloat {
				t, v := it.At()
				start := floorTo(t, res.step)
				if aggs[i].P.Start != start {
					flush(i)
					aggs[i].Reset(start)
				}
				aggs[i].Add(t, v)
			}
			if err := it.Err(); err != nil {
				return nil, err
			}
		}
	}
	db.series.mu.RLock()
	by := db.series.byRef
	db.series.mu.RUnlock()
	list := make([]storage.Series, 0, len(refs))
	for i, r := range refs {
		flush(i)
		if len(pts[i]) > 0 {
			list = append(list, &rollupSeries{lset: by[r].lset, pts: pts[i], plan: plan})
		}
	}
	sort.Slice(list, func(i, j int) bool { return labels.Compare(list[i].Labels(), list[j].Labels()) < 0 })
	return &seriesSet{list: list}, nil
}

// joinRollups calls fn for each stored rollup chunk of refs at resolution r
// with period start in [from, to].
func (db *DB) joinRollups(ctx context.Context, r resolution, refs []uint32, from, to int64, fn func(i int, p int64, v []byte)) error {
	it, err := db.pdb.NewIter(&pebble.IterOptions{
		LowerBound: keys.RollupPeriod(r.id, from),
		UpperBound: keys.RollupPeriod(r.id+1, math.MinInt64),
	})
	if err != nil {
		return fmt.Errorf("tsdb: read rollups: %w", err)
	}
	err = joinTimeKeys(ctx, it, []byte{byte(keys.KindRollup), r.id}, refs, from, to, fn)
	return errors.Join(err, it.Close())
}

// rollupChunk is an encoded rollup chunk copied out of Pebble, with the
// index in refs of its series.
type rollupChunk struct {
	i int
	p int64
	v []byte
}

// decodeRollups reads the rollup chunks of refs at resolution r with period
// start in [from, to] and calls fn with each chunk's decoded points (the
// columns in cols filled), in time order for each series. A long read is
// decode-bound, so the chunks are copied out of Pebble first and decoded
// by two goroutines, one taking the even series and the other the odd, and
// joined before return: fn is called concurrently, but never for the same
// series from both, and nothing outlives the call.
func (db *DB) decodeRollups(ctx context.Context, r resolution, refs []uint32, from, to int64, cols chunk.Columns, fn func(i int, pts []chunk.Point)) error {
	var list []rollupChunk
	var arena byteArena
	err := db.joinRollups(ctx, r, refs, from, to, func(i int, p int64, v []byte) {
		list = append(list, rollupChunk{i, p, arena.copy(v)})
	})
	if err != nil {
		return err
	}
	work := func(part, parts int) error {
		var dec chunk.Decoder
		var buf []chunk.Point
		for _, c := range list {
			if c.i%parts != part {
				continue
			}
			var err error
			if buf, err = dec.DecodeRollup(c.v, c.p, r.step, cols, buf[:0]); err != nil {
				return fmt.Errorf("tsdb: rollup of %s at %d: %w", db.series.get(SeriesRef(refs[c.i])).lset, c.p, err)
			}
			fn(c.i, buf)
		}
		return nil
	}
	if runtime.GOMAXPROCS(0) < 2 || len(refs) < 2 || len(list) < parallelRollupMinChunks {
		return work(0, 1)
	}
	var errB error
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		errB = work(1, 2)
	}()
	errA := work(0, 2)
	wg.Wait()
	return errors.Join(errA, errB)
}

// parallelRollupMinChunks is the number of chunks from which a second
// goroutine pays for itself.
const parallelRollupMinChunks = 32

// outPoint is a rollup point reduced to what iteration needs: its bucket
// start, the time of its last sample, and the value the plan picks.
type outPoint struct {
	start, lastT int64
	v            float64
}

// rollupSeries serves a series' rollup points per its plan.
type rollupSeries struct {
	lset labels.Labels
	pts  []outPoint
	plan *rollupPlan
}

func (s *rollupSeries) Labels() labels.Labels { return s.lset }

func (s *rollupSeries) Iterator(it chunkenc.Iterator) chunkenc.Iterator {
	ri, ok := it.(*rollupIter)
	if !ok {
		ri = &rollupIter{}
	}
	*ri = rollupIter{s: s, j: -1, t: math.MinInt64}
	return ri
}

// rollupIter iterates a rollupSeries. For range functions it walks the
// points. For instant selectors it yields the step function "last value
// of the newest point whose last sample is at or before t, as long as that
// sample is within lookback of t or a later point's bucket has already
// begun (the series is still alive)", sampled once per evaluation step at
// the step's own time (anchor+k*step), so the engine's lookback finds
// exactly one point per step: a year at 1h is 8,760 points per series,
// not one per lookback (105,120).
//
// A consumer whose steps are not on that grid (a subquery, whose steps
// are multiples of its own step; any other caller) still gets a point in
// every lookback window it seeks: Seek(x) with no grid time in
// (x, x+lookback] yields the function's value at x+lookback, which is
// the evaluation time of a PromQL seek to x. Timestamps stay increasing,
// so the series remains a valid iterator for callers that only call Next.
type rollupIter struct {
	s     *rollupSeries
	j     int   // current point (range) or newest point with LastT <= t (instant)
	t     int64 // current time
	v     float64
	valid bool // positioned on a sample
	done  bool
	grid  bool // t is an evaluation step (not a seek's own time)
}

func (it *rollupIter) Next() chunkenc.ValueType {
	if it.done {
		return chunkenc.ValNone
	}
	var ok bool
	if it.s.plan.rangeFn {
		ok = it.nextPoint()
	} else {
		ok = it.stepFrom(it.gridAfter(it.t), true)
	}
	return it.result(ok)
}

func (it *rollupIter) result(ok bool) chunkenc.ValueType {
	if ok {
		it.valid = true
		return chunkenc.ValFloat
	}
	it.valid, it.done = false, true
	return chunkenc.ValNone
}

// nextPoint moves to the next point of a range function's series.
func (it *rollupIter) nextPoint() bool {
	s := it.s
	for it.j+1 < len(s.pts) {
		it.j++
		p := &s.pts[it.j]
		if p.lastT < s.plan.mint {
			continue
		}
		if p.lastT > s.plan.maxt {
			return false
		}
		it.t, it.v = p.lastT, p.v
		return true
	}
	return false
}

// gridAtOrAfter returns the first evaluation step at or after t (never
// before the first step).
func (it *rollupIter) gridAtOrAfter(t int64) int64 {
	a, step := it.s.plan.anchor, it.s.plan.step
	if t <= a {
		return a
	}
	return a + (t-a+step-1)/step*step
}

// gridAfter returns the first evaluation step after t, the current time.
func (it *rollupIter) gridAfter(t int64) int64 {
	if t == math.MinInt64 {
		return it.s.plan.anchor
	}
	if it.grid {
		return t + it.s.plan.step // no division on the common path
	}
	return it.gridAtOrAfter(t + 1)
}

// stepFrom moves to the first time at or after t where the step function
// has a value: t itself, or a later evaluation step when t falls before
// the series or in a gap of it. grid says whether t is an evaluation step.
func (it *rollupIter) stepFrom(t int64, grid bool) bool {
	s := it.s
	l := s.plan.lookback
	for len(s.pts) > 0 && t <= s.plan.maxt {
		for it.j+1 < len(s.pts) && s.pts[it.j+1].lastT <= t {
			it.j++
		}
		if it.j < 0 {
			// Before the first point: jump to the first step at or after it.
			t, grid = it.gridAtOrAfter(s.pts[0].lastT), true
			continue
		}
		p := &s.pts[it.j]
		if t-p.lastT < l || (it.j+1 < len(s.pts) && s.pts[it.j+1].start <= t) {
			it.t, it.v, it.grid = t, p.v, grid
			return true
		}
		if it.j+1 == len(s.pts) {
			return false
		}
		// A gap: jump to the first step at or after the next bucket's start.
		t, grid = it.gridAtOrAfter(s.pts[it.j+1].start), true
	}
	return false
}

func (it *rollupIter) Seek(t millis) chunkenc.ValueType {
	if it.valid && it.t >= t {
		return chunkenc.ValFloat
	}
	if it.done {
		return chunkenc.ValNone
	}
	s := it.s
	if s.plan.rangeFn {
		k := sort.Search(len(s.pts), func(i int) bool { return s.pts[i].lastT >= t })
		it.j = max(it.j, k-1)
		return it.Next()
	}
	l := s.plan.lookback
	var g int64
	if it.valid && it.grid && it.t+s.plan.step >= t {
		g = it.t + s.plan.step // the next step: no division on the common path
	} else {
		g = it.gridAtOrAfter(t)
	}
	onGrid := true
	if g > t+l || (g == t && s.plan.step > l) {
		// No step in (t, t+lookback]: the seek is not one of the grid's
		// steps (see rollupIter).
		if t <= s.plan.maxt-l {
			g, onGrid = t+l, false
		}
	}
	return it.result(it.stepFrom(g, onGrid))
}

func (it *rollupIter) At() (int64, float64) { return it.t, it.v }

func (it *rollupIter) AtHistogram(*histogram.Histogram) (int64, *histogram.Histogram) {
	return it.t, nil
}

func (it *rollupIter) AtFloatHistogram(*histogram.FloatHistogram) (int64, *histogram.FloatHistogram) {
	return it.t, nil
}

func (it *rollupIter) AtT() int64  { return it.t }
func (it *rollupIter) AtST() int64 { return 0 }
func (it *rollupIter) Err() error  { return nil }
