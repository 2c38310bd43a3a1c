package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/prometheus/prometheus/storage"
	"github.com/wardmetrics/ward/api"
	"github.com/wardmetrics/ward/tsdb"
)

// wardEngine drives Ward's tsdb with its default options, except for a
// clock set to the data set's end (the data set lies in the past: with the
// real clock, retention would delete it).
type wardEngine struct {
	sync  string
	dir   string
	d     dataset
	opts  tsdb.Options
	db    *tsdb.DB
	refs  []tsdb.SeriesRef
	batch []tsdb.RefSample
}

func wardOptions(end int64, sync string) (tsdb.Options, error) {
	now := time.UnixMilli(end).Add(time.Minute)
	o := tsdb.Options{
		Now:    func() time.Time { return now },
		Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	}
	switch sync {
	case "", "each":
		o.Sync = tsdb.SyncEachBatch
	case "none":
		o.Sync = tsdb.SyncNone
	default:
		return o, fmt.Errorf("ward sync policy %q: want each or none", sync)
	}
	return o, nil
}

func (w *wardEngine) open(dir string, d dataset) error {
	var err error
	if w.opts, err = wardOptions(d.end(), w.sync); err != nil {
		return err
	}
	w.dir, w.d = dir, d
	w.db, err = tsdb.Open(dir, w.opts, metrics.NewSet())
	return err
}

// appendStep uses the fast path a statsd flusher uses: the first flush
// names series by labels (creating them all in its one batch), later ones
// by the refs looked up once after it, as the peers create their series on
// first append and then reuse refs.
func (w *wardEngine) appendStep(t int64, vals []float64) error {
	if w.refs == nil {
		series := w.d.series()
		first := make([]tsdb.Sample, len(series))
		for i, s := range series {
			first[i] = tsdb.Sample{Labels: s.Labels, T: t, V: vals[i]}
		}
		if err := w.db.Append(first); err != nil {
			return err
		}
		for _, s := range series {
			ref, err := w.db.Ref(s.Labels)
			if err != nil {
				return err
			}
			w.refs = append(w.refs, ref)
		}
		w.batch = make([]tsdb.RefSample, len(w.refs))
		return nil
	}
	for i, v := range vals {
		w.batch[i] = tsdb.RefSample{Ref: w.refs[i], T: t, V: v}
	}
	return w.db.AppendRefs(w.batch)
}

// maintainer is implemented by a tsdb that can bring its rollups up to date
// on demand; asserted so that this module builds against the engine while
// its API settles.
type maintainer interface {
	Maintain(ctx context.Context) error
}

// finalize brings the rollups up to date and closes (Close checkpoints the
// head and compacts the WAL range), measures the closed directory — what a
// user finds after stopping Ward — then opens it again and calls Ward's
// Compact, its counterpart of the peers' forced compactions, and closes.
func (w *wardEngine) finalize(r *result) error {
	if err := wardMaintain(w.db, r); err != nil {
		return err
	}
	st := w.db.Stats()
	r.Extra["ward_memory_per_active_series"] = st.MemoryPerActiveSeries
	r.Extra["ward_active_series"] = float64(st.ActiveSeries)
	r.Extra["ward_head_samples"] = float64(st.HeadSamples)
	r.Extra["ward_stats_disk_bytes_before_close"] = float64(st.DiskBytes)
	r.Extra["ward_rejected"] = float64(st.SamplesRejected)
	if st.BackgroundErrors > 0 {
		r.note("ward: %d background errors", st.BackgroundErrors)
	}
	err := w.db.Close()
	w.db = nil
	if err != nil {
		return err
	}
	closed, err := du(w.dir)
	if err != nil {
		return err
	}
	r.Extra[extraDuAfterClose] = float64(closed.Bytes)
	if err := w.reopen(); err != nil {
		return fmt.Errorf("reopen to compact: %w", err)
	}
	start := time.Now()
	err = w.db.Compact(context.Background())
	r.Extra["ward_compact_seconds"] = time.Since(start).Seconds()
	err = errors.Join(err, w.db.Close())
	w.db = nil
	return err
}

// extraDuAfterClose is the detail holding du of Ward's directory right
// after Close, before Compact.
const extraDuAfterClose = "du_after_close_bytes"

// wardMaintain waits for the background sealer to catch up with the
// appends (it seals buckets asynchronously, and rollups are computed from
// sealed data only), then brings the rollups up to date: with Maintain if
// the engine offers it, else by waiting for the background job. Waits give
// up, with a note, when progress stops for 30 s.
func wardMaintain(db *tsdb.DB, r *result) error {
	start := time.Now()
	defer func() { r.Extra["ward_seal_and_rollup_seconds"] = time.Since(start).Seconds() }()
	// Buckets that the out-of-order window has closed: all but the last
	// two hours or so (default bucket 2h, window 10m).
	sealedEnough := func(st tsdb.Stats) bool {
		return st.Sealed >= st.MaxT-int64((2*time.Hour+tsdb.DefaultOutOfOrderWindow)/time.Millisecond)
	}
	if err := waitProgress(db, r, "sealing", sealedEnough, func(st tsdb.Stats) int64 { return st.Sealed }); err != nil {
		return err
	}
	if m, ok := any(db).(maintainer); ok {
		return m.Maintain(context.Background())
	}
	hour := int64(time.Hour / time.Millisecond)
	return waitProgress(db, r, "rollups", func(st tsdb.Stats) bool {
		return st.Rollup5m >= st.Sealed && st.Rollup1h >= st.Sealed-st.Sealed%hour
	}, func(st tsdb.Stats) int64 { return st.Rollup5m + st.Rollup1h })
}

// waitProgress polls db.Stats until done, or until progress (a value that
// grows while work is done) stops for 30 s, which it notes.
func waitProgress(db *tsdb.DB, r *result, what string, done func(tsdb.Stats) bool, progress func(tsdb.Stats) int64) error {
	last, lastChange := int64(0), time.Now()
	for {
		st := db.Stats()
		if done(st) {
			return nil
		}
		if p := progress(st); p != last {
			last, lastChange = p, time.Now()
		}
		if time.Since(lastChange) > 30*time.Second {
			r.note("ward: %s stopped progressing (sealed to %d, newest sample %d, 5m rollups to %d, 1h rollups to %d)",
				what, st.Sealed, st.MaxT, st.Rollup5m, st.Rollup1h)
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (w *wardEngine) reopen() error {
	var err error
	w.db, err = tsdb.Open(w.dir, w.opts, metrics.NewSet())
	return err
}

func (w *wardEngine) readAll(ctx context.Context, mint, maxt int64) (checksum, error) {
	return readQueryable(ctx, w.db, mint, maxt)
}

func (w *wardEngine) queryable() storage.Queryable { return w.db }

func (w *wardEngine) close() error {
	if w.db == nil {
		return nil
	}
	err := w.db.Close()
	w.db = nil
	return err
}

// extra times the day's range query through Ward's HTTP API on loopback,
// with the compression a browser or Grafana asks for, to show what the API
// adds to the engine.
func (w *wardEngine) extra(ctx context.Context, sp spec, r *result) error {
	srv, err := api.New(api.Options{Queryable: w.db, Metrics: metrics.NewSet()})
	if err != nil {
		return fmt.Errorf("start api: %w", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	defer func() {
		cancel()
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			r.note("ward api serve: %v", err)
		}
	}()
	d := sp.Data
	u := url.URL{Scheme: "http", Host: ln.Addr().String(), Path: "/api/v1/query_range", RawQuery: url.Values{
		"query": {sp.Query},
		"start": {strconv.FormatInt(d.start()/1000, 10)},
		"end":   {strconv.FormatInt(d.end()/1000, 10)},
		"step":  {"60"},
	}.Encode()}
	client := &http.Client{Timeout: 2 * time.Minute}
	var size int64
	ms, err := median(sp.Reps, func() error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
		if err != nil {
			return err
		}
		resp, err := client.Do(req)
		if err != nil {
			return fmt.Errorf("GET %s: %w", u.Path, err)
		}
		defer resp.Body.Close()
		if size, err = io.Copy(io.Discard, resp.Body); err != nil {
			return fmt.Errorf("read %s: %w", u.Path, err)
		}
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("GET %s: status %s", u.Path, resp.Status)
		}
		return nil
	})
	if err != nil {
		return err
	}
	r.Queries[qDayHTTP] = queryResult{Ms: ms}
	r.Extra["ward_http_response_bytes"] = float64(size)
	logf("%s: query_range through the HTTP API: %.1f ms (%d bytes of JSON)", sp.Engine, ms, size)
	client.CloseIdleConnections()
	return nil
}
