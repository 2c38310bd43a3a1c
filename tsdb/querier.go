package tsdb

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sort"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/util/annotations"
)

// Querier returns a storage.Querier over [mint, maxt] (unix milliseconds,
// inclusive). Each Select reads a consistent snapshot of that moment.
func (db *DB) Querier(mint, maxt int64) (storage.Querier, error) {
	if err := db.enter(); err != nil {
		return nil, err
	}
	db.leave()
	return &querier{db: db, mint: mint, maxt: maxt}, nil
}

type querier struct {
	db         *DB
	mint, maxt int64
}

func (q *querier) Close() error { return nil }

// Select returns the series matching ms, sorted by labels, with their
// samples in the hinted range. For long ranges at coarse steps (see
// hints.Step, hints.Range and hints.Func) it reads rollups; see
// README.md for the rules.
func (q *querier) Select(ctx context.Context, _ bool, hints *storage.SelectHints, ms ...*labels.Matcher) storage.SeriesSet {
	db := q.db
	if err := db.enter(); err != nil {
		return storage.ErrSeriesSet(err)
	}
	defer db.leave()
	mint, maxt := q.mint, q.maxt
	if hints != nil {
		mint, maxt = hints.Start, hints.End
	}
	refs := db.index.Select(ms...)
	if hints != nil && hints.ShardCount > 0 {
		refs = db.shard(refs, hints.ShardIndex, hints.ShardCount)
	}
	if len(refs) == 0 {
		return storage.EmptySeriesSet()
	}
	labelsOnly := hints != nil && hints.Func == "series"
	if labelsOnly {
		// Only series with data in the range, as Prometheus lists them.
		var err error
		if refs, err = db.withData(ctx, refs, mint, maxt); err != nil {
			return storage.ErrSeriesSet(err)
		}
	}
	if hints != nil && hints.Limit > 0 && len(refs) > hints.Limit {
		// Limit applies to the label-sorted result.
		db.sortRefs(refs)
		refs = refs[:hints.Limit]
	}
	if labelsOnly {
		return db.labelsOnly(refs)
	}
	if plan := db.planRollup(hints, mint, maxt); plan != nil {
		set, err := db.readRollups(ctx, refs, plan)
		if err != nil {
			return storage.ErrSeriesSet(err)
		}
		return set
	}
	set, err := db.readRaw(ctx, refs, mint, maxt)
	if err != nil {
		return storage.ErrSeriesSet(err)
	}
	return set
}

func (db *DB) shard(refs []uint32, index, count uint64) []uint32 {
	out := refs[:0]
	for _, r := range refs {
		if ms := db.series.get(SeriesRef(r)); ms != nil && labels.StableHash(ms.lset)%count == index {
			out = append(out, r)
		}
	}
	return out
}

// sortRefs orders refs by their series' labels.
func (db *DB) sortRefs(refs []uint32) {
	db.series.mu.RLock()
	by := db.series.byRef
	db.series.mu.RUnlock()
	slices.SortFunc(refs, func(a, b uint32) int { return labels.Compare(by[a].lset, by[b].lset) })
}

func (db *DB) labelsOnly(refs []uint32) storage.SeriesSet {
	db.sortRefs(refs)
	out := make([]storage.Series, len(refs))
	for i, r := range refs {
		out[i] = &series{lset: db.series.get(SeriesRef(r)).lset}
	}
	return &seriesSet{list: out}
}

// LabelValues returns the values of label name among series matching ms
// (all series when ms is empty) that hold data in the querier's range, as
// Prometheus lists them, sorted. A range that covers everything storage can
// hold (the API's default without start and end) is answered from the index
// alone.
func (q *querier) LabelValues(ctx context.Context, name string, hints *storage.LabelHints, ms ...*labels.Matcher) ([]string, annotations.Annotations, error) {
	db := q.db
	if err := db.enter(); err != nil {
		return nil, nil, err
	}
	defer db.leave()
	var out []string
	if len(ms) == 0 && q.coversAll() {
		out = db.index.Values(name)
	} else {
		if len(ms) == 0 {
			ms = []*labels.Matcher{labels.MustNewMatcher(labels.MatchNotEqual, name, "")}
		}
		refs, err := q.inRange(ctx, db.index.Select(ms...))
		if err != nil {
			return nil, nil, fmt.Errorf("tsdb: values of label %q: %w", name, err)
		}
		seen := map[string]struct{}{}
		for _, r := range refs {
			if v := db.series.get(SeriesRef(r)).lset.Get(name); v != "" {
				seen[v] = struct{}{}
			}
		}
		out = make([]string, 0, len(seen))
		for v := range seen {
			out = append(out, v)
		}
		sort.Strings(out)
	}
	if hints != nil && hints.Limit > 0 && len(out) > hints.Limit {
		out = out[:hints.Limit]
	}
	return out, nil, nil
}

// LabelNames returns the label names of series matching ms (all series
// when ms is empty) that hold data in the querier's range, sorted; like
// LabelValues, a range covering everything is answered from the index.
func (q *querier) LabelNames(ctx context.Context, hints *storage.LabelHints, ms ...*labels.Matcher) ([]string, annotations.Annotations, error) {
	db := q.db
	if err := db.enter(); err != nil {
		return nil, nil, err
	}
	defer db.leave()
	var out []string
	if len(ms) == 0 && q.coversAll() {
		out = db.index.Names()
	} else {
		refs, err := q.inRange(ctx, db.index.Select(ms...))
		if err != nil {
			return nil, nil, fmt.Errorf("tsdb: label names: %w", err)
		}
		seen := map[string]struct{}{}
		for _, r := range refs {
			db.series.get(SeriesRef(r)).lset.Range(func(l labels.Label) { seen[l.Name] = struct{}{} })
		}
		out = make([]string, 0, len(seen))
		for n := range seen {
			out = append(out, n)
		}
		sort.Strings(out)
	}
	if hints != nil && hints.Limit > 0 && len(out) > hints.Limit {
		out = out[:hints.Limit]
	}
	return out, nil, nil
}

// coversAll reports whether the querier's range is the unbounded one the
// API uses when start and end are not given (from the epoch or before to far
// beyond anything accepted from the future): the label APIs then list every
// series from the index without looking at the data.
func (q *querier) coversAll() bool {
	return q.mint <= 0 && q.maxt >= math.MaxInt64/4
}

// inRange keeps the refs with data in the querier's range, in order.
func (q *querier) inRange(ctx context.Context, refs []uint32) ([]uint32, error) {
	if q.coversAll() || len(refs) == 0 {
		return refs, nil
	}
	return q.db.withData(ctx, refs, q.mint, q.maxt)
}

// seriesSet is a sorted, fully prepared list of series.
type seriesSet struct {
	list []storage.Series
	i    int
}

func (s *seriesSet) Next() bool {
	if s.i >= len(s.list) {
		return false
	}
	s.i++
	return true
}

func (s *seriesSet) At() storage.Series                { return s.list[s.i-1] }
func (s *seriesSet) Err() error                        { return nil }
func (s *seriesSet) Warnings() annotations.Annotations { return nil }
