package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
	"github.com/wardmetrics/ward/tsdb"
	"github.com/wardmetrics/ward/tsdb/tsdbtest"
)

// Queries of the long data set. The year-long one is a plain selector of
// every series (a dashboard graph of 100 series); the 30-day one a rate,
// whose 1h range the rollups must serve with the counter's last values.
const (
	defaultYearQuery   = `{__name__=~".+"}`
	defaultRecentQuery = `sum by (host) (rate(app_requests_total[1h]))`
)

// runYear writes the long data set into Ward (batches of many steps, as an
// import would), brings the rollups up to date, and times the long-range
// queries at a 1h step: through the PromQL engine, and the storage's
// Select alone with the hints the engine passes.
func runYear(sp spec) (result, error) {
	ctx := context.Background()
	y := sp.Year
	r := result{Extra: map[string]float64{}, Queries: map[string]queryResult{}}
	cfg := tsdbtest.Default()
	cfg.Hosts, cfg.Step, cfg.Duration, cfg.Seed = y.Hosts, y.Step, time.Duration(y.Days)*24*time.Hour, sp.Data.Seed
	g := tsdbtest.New(cfg)
	start := cfg.Start.UnixMilli()
	end := start + int64(g.Steps()-1)*cfg.Step.Milliseconds()
	opts, err := wardOptions(end, sp.WardSync)
	if err != nil {
		return r, err
	}
	db, err := tsdb.Open(sp.Dir, opts, metrics.NewSet())
	if err != nil {
		return r, err
	}
	defer func() {
		if err := db.Close(); err != nil {
			r.note("close: %v", err)
		}
	}()
	var refs []tsdb.SeriesRef
	for _, s := range g.Series() {
		ref, err := db.Ref(s.Labels)
		if err != nil {
			return r, err
		}
		refs = append(refs, ref)
	}
	logf("%s: writing %d samples (%d series, %d days at %v)", sp.Engine, g.Samples(), len(refs), y.Days, y.Step)
	// Batches of about 10,000 samples, time-major, as an import writes.
	perBatch := max(1, 10_000/len(refs))
	vals := make([]float64, len(refs))
	batch := make([]tsdb.RefSample, 0, perBatch*len(refs))
	dur, err := timed(func() error {
		for {
			t, ok := g.Next(vals)
			if ok {
				for i, v := range vals {
					batch = append(batch, tsdb.RefSample{Ref: refs[i], T: t, V: v})
				}
			}
			if len(batch) > 0 && (!ok || len(batch) == cap(batch)) {
				if err := db.AppendRefs(batch); err != nil {
					return err
				}
				r.Appended += int64(len(batch))
				batch = batch[:0]
			}
			if !ok {
				return nil
			}
		}
	})
	if err != nil {
		return r, fmt.Errorf("write year: %w", err)
	}
	r.AppendSeconds = dur.Seconds()
	if err := wardMaintain(db, &r); err != nil {
		return r, fmt.Errorf("rollups: %w", err)
	}
	st := db.Stats()
	day := func(ms int64) string { return time.UnixMilli(ms).UTC().Format("2006-01-02 15:04") }
	r.note("data %s to %s; sealed to %s, 5m rollups complete to %s, 1h rollups to %s",
		day(start), day(end), day(st.Sealed), day(st.Rollup5m), day(st.Rollup1h))
	logf("%s: written in %v, sealed and rolled up in %.1fs", sp.Engine, dur.Round(time.Millisecond), r.Extra["ward_seal_and_rollup_seconds"])

	prof := &profiler{dir: sp.ProfileDir, engine: sp.Engine}
	if err := prof.start("query"); err != nil {
		return r, err
	}
	defer prof.stop()
	ng := newPromQL()
	yearStart, yearEnd := time.UnixMilli(start), time.UnixMilli(end)
	q, err := timeRange(ctx, ng, db, y.Query, yearStart, yearEnd, time.Hour, sp.Reps)
	if err != nil {
		return r, err
	}
	r.Queries[qYearRange] = q
	logf("%s: query_range %q over %d days at 1h: %.1f ms (%d series, %d points)", sp.Engine, y.Query, y.Days, q.Ms, q.Series, q.Points.Samples)

	if q, err = timeSelect(ctx, db, y.Query, start, end, time.Hour, sp.Reps); err != nil {
		return r, err
	}
	r.Queries[qYearSelect] = q
	logf("%s: Select alone with the engine's hints: %.1f ms (%d series, %d samples)", sp.Engine, q.Ms, q.Series, q.Points.Samples)

	recentStart := yearEnd.Add(-time.Duration(y.RecentDays) * 24 * time.Hour)
	if q, err = timeRange(ctx, ng, db, y.RecentQ, recentStart, yearEnd, time.Hour, sp.Reps); err != nil {
		return r, err
	}
	r.Queries[qRecent] = q
	logf("%s: query_range %q over %d days at 1h: %.1f ms (%d series, %d points)", sp.Engine, y.RecentQ, y.RecentDays, q.Ms, q.Series, q.Points.Samples)
	return r, nil
}

// timeSelect times the storage alone: the Select a range query of the
// selector qs makes, with the hints the PromQL engine would pass, and a
// full iteration of what it returns.
func timeSelect(ctx context.Context, q storage.Queryable, qs string, start, end int64, step time.Duration, reps int) (queryResult, error) {
	var out queryResult
	ms, err := parser.NewParser(parser.Options{}).ParseMetricSelector(qs)
	if err != nil {
		return out, fmt.Errorf("parse selector %q: %w", qs, err)
	}
	lookback := (5 * time.Minute).Milliseconds()
	hints := &storage.SelectHints{Start: start - lookback + 1, End: end, Step: step.Milliseconds()}
	med, err := median(reps, func() error {
		out = queryResult{}
		qr, err := q.Querier(hints.Start, hints.End)
		if err != nil {
			return err
		}
		ss := qr.Select(ctx, true, hints, ms...)
		var it chunkenc.Iterator
		for ss.Next() {
			out.Series++
			it = ss.At().Iterator(it)
			for it.Next() == chunkenc.ValFloat {
				_, v := it.At()
				out.Points.add(v)
			}
			if err := it.Err(); err != nil {
				return err
			}
		}
		return errors.Join(ss.Err(), qr.Close())
	})
	out.Ms = med
	return out, err
}
