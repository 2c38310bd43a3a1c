package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb"
)

// promEngine drives Prometheus' TSDB with tsdb.DefaultOptions(): one head
// appender per step, refs kept as a scraper keeps them.
type promEngine struct {
	dir    string
	db     *tsdb.DB
	lsets  []labels.Labels
	refs   []storage.SeriesRef
	logger *slog.Logger
}

func (p *promEngine) openDB() error {
	var err error
	p.db, err = tsdb.Open(p.dir, p.logger, nil, tsdb.DefaultOptions(), nil)
	if err != nil {
		return fmt.Errorf("open prometheus tsdb %s: %w", p.dir, err)
	}
	return nil
}

func (p *promEngine) open(dir string, d dataset) error {
	p.dir = dir
	p.logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	for _, s := range d.series() {
		p.lsets = append(p.lsets, s.Labels)
	}
	p.refs = make([]storage.SeriesRef, len(p.lsets))
	return p.openDB()
}

func (p *promEngine) appendStep(t int64, vals []float64) error {
	app := p.db.Appender(context.Background())
	for i, v := range vals {
		ref, err := app.Append(p.refs[i], p.lsets[i], t, v)
		if err != nil {
			return errorsJoinRollback(err, app)
		}
		p.refs[i] = ref
	}
	return app.Commit()
}

func errorsJoinRollback(err error, app storage.Appender) error {
	if rerr := app.Rollback(); rerr != nil {
		return fmt.Errorf("%w (rollback: %v)", err, rerr)
	}
	return err
}

// finalize compacts what the background compaction left in the head, then
// the rest of the head, so that everything is in blocks and the WAL is
// truncated, then closes.
func (p *promEngine) finalize(r *result) error {
	if err := p.db.Compact(context.Background()); err != nil {
		return fmt.Errorf("compact: %w", err)
	}
	h := p.db.Head()
	if h.NumSeries() > 0 && h.MaxTime() >= h.MinTime() {
		if err := p.db.CompactHead(tsdb.NewRangeHead(h, h.MinTime(), h.MaxTime())); err != nil {
			return fmt.Errorf("compact head: %w", err)
		}
	}
	r.Extra["prometheus_blocks"] = float64(len(p.db.Blocks()))
	err := p.db.Close()
	p.db = nil
	return err
}

func (p *promEngine) reopen() error { return p.openDB() }

func (p *promEngine) readAll(ctx context.Context, mint, maxt int64) (checksum, error) {
	return readQueryable(ctx, p.db, mint, maxt)
}

func (p *promEngine) queryable() storage.Queryable { return p.db }

func (p *promEngine) close() error {
	if p.db == nil {
		return nil
	}
	err := p.db.Close()
	p.db = nil
	return err
}
