// Package importer reads samples for tsdb.DB.Import from OpenMetrics text
// (as `promtool tsdb create-blocks-from openmetrics` does) and from CSV.
// Readers yield samples as they parse and count what they skip, by reason,
// so that `ward import` can report it.
package importer

import (
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/textparse"
	"github.com/wardmetrics/ward/tsdb"
)

// Skip reasons.
const (
	SkipNoTimestamp = "no timestamp"
	SkipHistogram   = "native histogram (not supported)"
	SkipBadRow      = "unparsable row"
	SkipBadTime     = "unparsable timestamp"
	SkipBadValue    = "unparsable value"
	SkipBadSeries   = "unparsable series"
	SkipNoName      = "no metric name"
)

// Reader yields samples; it implements tsdb.SampleIterator.
type Reader struct {
	next     func() (tsdb.Sample, bool, error)
	cur      tsdb.Sample
	err      error
	skipped  map[string]int64
	examples map[string]string // first offending input per reason
	meta     map[string]*tsdb.Metadata
}

func newReader() *Reader {
	return &Reader{skipped: map[string]int64{}, examples: map[string]string{}, meta: map[string]*tsdb.Metadata{}}
}

// Next advances to the next sample.
func (r *Reader) Next() bool {
	if r.err != nil {
		return false
	}
	s, ok, err := r.next()
	if err != nil {
		r.err = err
		return false
	}
	r.cur = s
	return ok
}

// At returns the current sample.
func (r *Reader) At() tsdb.Sample { return r.cur }

// Err returns the error that stopped reading, if any.
func (r *Reader) Err() error { return r.err }

// Skipped returns the number of skipped entries per reason.
func (r *Reader) Skipped() map[string]int64 { return maps.Clone(r.skipped) }

// Example returns the first input skipped for reason, for error messages.
func (r *Reader) Example(reason string) string { return r.examples[reason] }

// Metadata returns the metric metadata (TYPE, HELP, UNIT) seen so far.
func (r *Reader) Metadata() []tsdb.Metadata {
	out := make([]tsdb.Metadata, 0, len(r.meta))
	for _, name := range slices.Sorted(maps.Keys(r.meta)) {
		out = append(out, *r.meta[name])
	}
	return out
}

func (r *Reader) skip(reason, example string) {
	r.skipped[reason]++
	if _, ok := r.examples[reason]; !ok {
		if len(example) > 200 {
			example = example[:200] + "..."
		}
		r.examples[reason] = example
	}
}

func (r *Reader) metadata(name string) *tsdb.Metadata {
	m := r.meta[name]
	if m == nil {
		m = &tsdb.Metadata{Name: name}
		r.meta[name] = m
	}
	return m
}

// OpenMetrics reads an OpenMetrics text exposition whose samples carry
// timestamps. Samples without a timestamp and native histograms are
// skipped and counted; a syntax error stops the reader with an error
// naming the problem.
func OpenMetrics(data []byte) *Reader {
	r := newReader()
	p := textparse.NewOpenMetricsParser(data, labels.NewSymbolTable())
	r.next = func() (tsdb.Sample, bool, error) {
		for {
			e, err := p.Next()
			if errors.Is(err, io.EOF) {
				return tsdb.Sample{}, false, nil
			}
			if err != nil {
				return tsdb.Sample{}, false, fmt.Errorf("importer: openmetrics: %w", err)
			}
			switch e {
			case textparse.EntrySeries:
				series, ts, v := p.Series()
				if ts == nil {
					r.skip(SkipNoTimestamp, string(series))
					continue
				}
				var ls labels.Labels
				p.Labels(&ls)
				return tsdb.Sample{Labels: ls, T: *ts, V: v}, true, nil
			case textparse.EntryHistogram:
				series, _, _, _ := p.Histogram()
				r.skip(SkipHistogram, string(series))
			case textparse.EntryType:
				name, typ := p.Type()
				r.metadata(string(name)).Type = string(typ)
			case textparse.EntryHelp:
				name, help := p.Help()
				r.metadata(string(name)).Help = string(help)
			case textparse.EntryUnit:
				name, unit := p.Unit()
				r.metadata(string(name)).Unit = string(unit)
			}
		}
	}
	return r
}
