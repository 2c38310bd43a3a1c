package main

import (
	"context"
	"fmt"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
)

// engine is one storage under test, driven through the same phases.
type engine interface {
	// open creates an empty store in dir for the series of d.
	open(dir string, d dataset) error
	// appendStep stores one flush: vals[i] for series i at time t. Must
	// not keep vals.
	appendStep(t int64, vals []float64) error
	// finalize makes the store's on-disk size final (compaction, merges,
	// flushes) and closes it.
	finalize(r *result) error
	// reopen opens the finalized store again for reading.
	reopen() error
	// readAll iterates every sample of every series in [mint, maxt].
	readAll(ctx context.Context, mint, maxt int64) (checksum, error)
	close() error
}

// queryableEngine is an engine the PromQL engine can read.
type queryableEngine interface {
	queryable() storage.Queryable
}

// extraPhases lets an engine measure more after the shared phases while it
// is still open (Ward: its HTTP API).
type extraPhases interface {
	extra(ctx context.Context, sp spec, r *result) error
}

// runDay runs the shared phases for e on the day data set: append one batch
// per step (timed as a whole, on one goroutine), finalize, measure the
// directory, reopen, read everything, run the queries.
func runDay(sp spec, e engine) (result, error) {
	ctx := context.Background()
	d := sp.Data
	r := result{Extra: map[string]float64{}, Queries: map[string]queryResult{}}
	prof := &profiler{dir: sp.ProfileDir, engine: sp.Engine}
	if err := e.open(sp.Dir, d); err != nil {
		return r, err
	}
	steps, err := openSteps(d)
	if err != nil {
		return r, err
	}
	defer steps.close()

	logf("%s: appending %d samples (%d series x %d steps)", sp.Engine, d.samples(), d.nseries(), d.steps())
	if err := prof.start("append"); err != nil {
		return r, err
	}
	dur, err := timed(func() error {
		for {
			t, vals, ok, err := steps.next()
			if err != nil || !ok {
				return err
			}
			if err := e.appendStep(t, vals); err != nil {
				return fmt.Errorf("append step at %d: %w", t, err)
			}
			r.Appended += int64(len(vals))
		}
	})
	if err := prof.stop(); err != nil {
		return r, err
	}
	if err != nil {
		return r, err
	}
	r.AppendSeconds = dur.Seconds()
	logf("%s: appended in %v (%.2fM samples/s); finalizing", sp.Engine, dur.Round(time.Millisecond), float64(r.Appended)/dur.Seconds()/1e6)

	if dur, err = timed(func() error { return e.finalize(&r) }); err != nil {
		return r, fmt.Errorf("finalize: %w", err)
	}
	r.FinalizeSeconds = dur.Seconds()
	closed, err := du(sp.Dir)
	if err != nil {
		return r, err
	}
	r.Extra["du_after_finalize_bytes"] = float64(closed.Bytes)

	// The size is measured once the store is open again: Ward's Pebble
	// turns the memtables its Close left in WAL files into sstables only
	// when it next opens, and every store runs open.
	if dur, err = timed(e.reopen); err != nil {
		return r, fmt.Errorf("reopen: %w", err)
	}
	r.OpenSeconds = dur.Seconds()
	defer func() {
		if err := e.close(); err != nil {
			r.note("close: %v", err)
		}
	}()
	if r.Disk, err = du(sp.Dir); err != nil {
		return r, err
	}
	logf("%s: finalized in %.1fs, reopened in %.1fs; %d bytes on disk (%.3f bytes/sample): %s", sp.Engine, r.FinalizeSeconds, r.OpenSeconds,
		r.Disk.Bytes, float64(r.Disk.Bytes)/float64(r.Appended), r.Disk)
	if sp.AppendOnly {
		return r, nil
	}

	if err := prof.start("read"); err != nil {
		return r, err
	}
	dur, err = timed(func() error {
		var err error
		r.Read, err = e.readAll(ctx, d.start(), d.end())
		return err
	})
	if err := prof.stop(); err != nil {
		return r, err
	}
	if err != nil {
		return r, fmt.Errorf("read all: %w", err)
	}
	r.ReadSeconds = dur.Seconds()
	logf("%s: read %d samples in %v (%.1fM samples/s)", sp.Engine, r.Read.Samples, dur.Round(time.Millisecond), float64(r.Read.Samples)/dur.Seconds()/1e6)

	if qe, ok := e.(queryableEngine); ok {
		if err := prof.start("query"); err != nil {
			return r, err
		}
		err := dayQueries(ctx, sp, qe.queryable(), &r)
		if err := prof.stop(); err != nil {
			return r, err
		}
		if err != nil {
			return r, err
		}
	}
	if x, ok := e.(extraPhases); ok {
		if err := x.extra(ctx, sp, &r); err != nil {
			return r, err
		}
	}
	return r, nil
}

// allSeries matches every series of the data set.
var allSeries = labels.MustNewMatcher(labels.MatchRegexp, model.MetricNameLabel, ".+")

// readQueryable reads every sample through the storage.Querier interface,
// as Ward's and Prometheus' engines are read; no hints, so raw data.
func readQueryable(ctx context.Context, q storage.Queryable, mint, maxt int64) (checksum, error) {
	var sum checksum
	qr, err := q.Querier(mint, maxt)
	if err != nil {
		return sum, err
	}
	defer qr.Close()
	ss := qr.Select(ctx, false, nil, allSeries)
	var it chunkenc.Iterator
	for ss.Next() {
		it = ss.At().Iterator(it)
		for it.Next() == chunkenc.ValFloat {
			_, v := it.At()
			sum.add(v)
		}
		if err := it.Err(); err != nil {
			return sum, err
		}
	}
	return sum, ss.Err()
}
