package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/VictoriaMetrics/metrics"
	"github.com/schollz/progressbar/v3"

	"github.com/wardmetrics/ward/tsdb"
	"github.com/wardmetrics/ward/tsdb/importer"
)

// importCmd backfills old data straight into a data directory, as `promtool tsdb
// create-blocks-from openmetrics` does for Prometheus. Ward must not be running on the
// same directory (the storage holds a lock).
type importCmd struct {
	Files  []string `arg:"" type:"existingfile" help:"OpenMetrics text (.om, .prom, .txt) or CSV (.csv) files with timestamps."`
	Data   string   `help:"Data directory of the Ward to fill (stop 'ward serve' first)." default:"./data"`
	Format string   `help:"Input format; auto picks CSV for .csv files and OpenMetrics otherwise." enum:"auto,openmetrics,csv" default:"auto"`
	Quiet  bool     `short:"q" help:"No progress bar."`
}

func (c *importCmd) Run(ctx context.Context) error {
	db, err := tsdb.Open(c.Data, tsdb.Options{}, metrics.NewSet())
	if err != nil {
		return fmt.Errorf("open %s (is 'ward serve' running on it?): %w", c.Data, err)
	}
	defer db.Close()
	var total tsdb.ImportStats
	total.Skipped = map[string]int64{}
	for _, f := range c.Files {
		st, skipped, err := c.importFile(ctx, db, f)
		if err != nil {
			return err
		}
		total.Read += st.Read
		total.Stored += st.Stored
		total.Series += st.Series
		for k, v := range skipped {
			total.Skipped[k] += v
		}
	}
	fmt.Printf("imported %d of %d samples (%d new series) into %s\n", total.Stored, total.Read, total.Series, c.Data)
	reasons := make([]string, 0, len(total.Skipped))
	for r := range total.Skipped {
		reasons = append(reasons, r)
	}
	sort.Strings(reasons)
	for _, r := range reasons {
		fmt.Printf("skipped %d: %s\n", total.Skipped[r], r)
	}
	if err := db.Close(); err != nil {
		return fmt.Errorf("close %s: %w", c.Data, err)
	}
	return nil
}

func (c *importCmd) importFile(ctx context.Context, db *tsdb.DB, path string) (tsdb.ImportStats, map[string]int64, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return tsdb.ImportStats{}, nil, fmt.Errorf("read %s: %w", path, err)
	}
	format := c.Format
	if format == "auto" {
		format = "openmetrics"
		if strings.EqualFold(filepath.Ext(path), ".csv") {
			format = "csv"
		}
	}
	var r *importer.Reader
	if format == "csv" {
		if r, err = importer.CSV(bytes.NewReader(raw)); err != nil {
			return tsdb.ImportStats{}, nil, fmt.Errorf("%s: %w", path, err)
		}
	} else {
		r = importer.OpenMetrics(raw)
	}
	// Each line holds at most one sample: the line count bounds the work, which gives
	// the bar its rate and time left.
	lines := int64(bytes.Count(raw, []byte("\n")))
	bar := progressbar.NewOptions64(lines,
		progressbar.OptionSetDescription(filepath.Base(path)),
		progressbar.OptionShowCount(),
		progressbar.OptionShowIts(),
		progressbar.OptionSetItsString("samples"),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionSetVisibility(!c.Quiet),
		progressbar.OptionSetWriter(os.Stderr),
		progressbar.OptionClearOnFinish(),
	)
	st, err := db.Import(ctx, r, tsdb.ImportOptions{Progress: func(read, _ int64) { _ = bar.Set64(min(read, lines)) }})
	_ = bar.Finish()
	if err != nil {
		return st, nil, fmt.Errorf("import %s: %w", path, err)
	}
	if err := r.Err(); err != nil {
		return st, nil, fmt.Errorf("read %s: %w", path, err)
	}
	for _, m := range r.Metadata() {
		if err := db.SetMetadata(m); err != nil {
			return st, nil, fmt.Errorf("store metadata of %s: %w", m.Name, err)
		}
	}
	skipped := map[string]int64{}
	for k, v := range st.Skipped {
		skipped[k] += v
	}
	for k, v := range r.Skipped() {
		skipped[k] += v
		if ex := r.Example(k); ex != "" {
			fmt.Fprintf(os.Stderr, "%s: skipped %d (%s), e.g. %q\n", path, v, k, ex)
		}
	}
	return st, skipped, nil
}
