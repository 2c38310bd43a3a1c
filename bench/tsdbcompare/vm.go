package main

import (
	"context"
	"flag"
	"fmt"
	"time"

	"github.com/VictoriaMetrics/VictoriaMetrics/lib/prompb"
	"github.com/VictoriaMetrics/VictoriaMetrics/lib/storage"
	"github.com/prometheus/prometheus/model/labels"
)

// vmPrecisionBits keeps values lossless, as vminsert does by default.
const vmPrecisionBits = 64

// vmEngine drives VictoriaMetrics' lib/storage with its default options,
// one AddRows per step, as vminsert hands it rows.
type vmEngine struct {
	dir  string
	s    *storage.Storage
	mrs  []storage.MetricRow
	nPts int // partitions (months) the data spans
}

func (v *vmEngine) open(dir string, d dataset) error {
	v.dir = dir
	// VictoriaMetrics' libraries read their settings from flags on the
	// default set and insist it is parsed: defaults, but quieter logs.
	if !flag.Parsed() {
		if err := flag.CommandLine.Parse([]string{"-loggerLevel=WARN"}); err != nil {
			return err
		}
	}
	v.s = storage.MustOpenStorage(dir, storage.OpenOptions{})
	for _, s := range d.series() {
		var pl []prompb.Label
		s.Labels.Range(func(l labels.Label) {
			pl = append(pl, prompb.Label{Name: l.Name, Value: l.Value})
		})
		v.mrs = append(v.mrs, storage.MetricRow{MetricNameRaw: storage.MarshalMetricNameRaw(nil, pl)})
	}
	first, last := time.UnixMilli(d.start()).UTC(), time.UnixMilli(d.end()).UTC()
	v.nPts = (last.Year()-first.Year())*12 + int(last.Month()-first.Month()) + 1
	return nil
}

func (v *vmEngine) appendStep(t int64, vals []float64) error {
	for i, x := range vals {
		v.mrs[i].Timestamp, v.mrs[i].Value = t, x
	}
	v.s.AddRows(v.mrs, vmPrecisionBits)
	return nil
}

// finalize flushes pending rows and force-merges every partition into one
// part (retrying while background merges hold parts), then closes, which
// writes the in-memory parts out.
func (v *vmEngine) finalize(r *result) error {
	v.s.DebugFlush()
	deadline := time.Now().Add(5 * time.Minute)
	var m storage.Metrics
	for {
		if err := v.s.ForceMergePartitions(""); err != nil {
			return fmt.Errorf("force merge: %w", err)
		}
		m.Reset()
		v.s.UpdateMetrics(&m)
		tm := &m.TableMetrics
		parts := tm.InmemoryPartsCount + tm.SmallPartsCount + tm.BigPartsCount
		active := tm.ActiveInmemoryMerges + tm.ActiveSmallMerges + tm.ActiveBigMerges
		if parts <= uint64(v.nPts) && active == 0 && tm.PendingRows == 0 {
			break
		}
		if time.Now().After(deadline) {
			r.note("victoriametrics: %d parts left after force merges", parts)
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	r.Extra["victoriametrics_rows_added"] = float64(m.RowsAddedTotal)
	v.s.MustClose()
	v.s = nil
	return nil
}

func (v *vmEngine) reopen() error {
	v.s = storage.MustOpenStorage(v.dir, storage.OpenOptions{})
	return nil
}

// readAll reads every block of every series and decodes it to float64s, as
// vmselect does before evaluating a query. All of it runs on this goroutine
// (lib/storage's Search starts none); see README.md, "Method", for how this
// loop compares with Ward's and Prometheus' per-sample iterators.
func (v *vmEngine) readAll(_ context.Context, mint, maxt int64) (checksum, error) {
	var sum checksum
	tfs := storage.NewTagFilters()
	if err := tfs.Add(nil, []byte(".+"), false, true); err != nil {
		return sum, err
	}
	tr := storage.TimeRange{MinTimestamp: mint, MaxTimestamp: maxt}
	var s storage.Search
	s.Init(nil, v.s, []*storage.TagFilters{tfs}, tr, 1e9, ^uint64(0))
	defer s.MustClose()
	var b storage.Block
	var ts []int64
	var vs []float64
	for s.NextMetricBlock() {
		s.MetricBlockRef.BlockRef.MustReadBlock(&b)
		if err := b.UnmarshalData(); err != nil {
			return sum, fmt.Errorf("unmarshal block: %w", err)
		}
		ts, vs = b.AppendRowsWithTimeRangeFilter(ts[:0], vs[:0], tr)
		for _, x := range vs {
			sum.add(x)
		}
	}
	return sum, s.Error()
}

func (v *vmEngine) close() error {
	if v.s != nil {
		v.s.MustClose()
		v.s = nil
	}
	return nil
}
