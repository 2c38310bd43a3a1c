package tsdb

import (
	"math"
	"slices"

	"github.com/prometheus/prometheus/model/labels"
)

// Stats is a snapshot of the DB's size and activity.
type Stats struct {
	Series          int   // series in the dictionary
	ActiveSeries    int   // series with samples in the head
	HeadSamples     int64 // samples held in memory, not yet sealed
	HeadBytes       int64 // estimated bytes of head chunks
	IndexBytes      int64 // estimated bytes of the series dictionary and postings
	SamplesAppended uint64
	SamplesRejected uint64
	DiskBytes       uint64 // Pebble's on-disk footprint: sstables, WAL, manifest
	// MemoryPerActiveSeries is (HeadBytes + IndexBytes) / max(ActiveSeries, 1).
	MemoryPerActiveSeries float64
	Sealed                int64 // raw buckets before this time are on disk
	MaxT                  int64 // newest accepted timestamp
	Rollup5m, Rollup1h    int64 // rollups are complete before these times
	BackgroundErrors      uint64
}

// Stats returns current statistics. It walks the head, so it costs about a
// microsecond per thousand active series.
func (db *DB) Stats() Stats {
	var st Stats
	if err := db.enter(); err != nil {
		return st
	}
	defer db.leave()
	st.Series = db.series.len()
	h := db.head
	h.mu.RLock()
	st.HeadSamples = h.samples
	st.Sealed, st.MaxT = h.sealed, h.maxT
	active := make([]bool, st.Series)
	for _, b := range h.buckets {
		st.HeadBytes += int64(cap(b.series)) * 8
		for r, c := range b.series {
			if c != nil {
				st.HeadBytes += int64(c.bytes())
				if r < len(active) {
					active[r] = true
				}
			}
		}
	}
	h.mu.RUnlock()
	for _, a := range active {
		if a {
			st.ActiveSeries++
		}
	}
	db.series.mu.RLock()
	for _, s := range db.series.byRef {
		// Labels string, memSeries, hash-map entry, and about one posting
		// (4 bytes plus list growth slack) per label.
		st.IndexBytes += int64(len(s.lset.String())) + 48 + 40 + int64(s.lset.Len())*8
	}
	db.series.mu.RUnlock()
	st.SamplesAppended = db.m.appended.Get()
	st.SamplesRejected = db.m.rejected.Get()
	st.DiskBytes = db.pdb.Metrics().DiskSpaceUsage()
	st.MemoryPerActiveSeries = float64(st.HeadBytes+st.IndexBytes) / math.Max(float64(st.ActiveSeries), 1)
	st.Rollup5m, st.Rollup1h = db.rollupWatermarks()
	st.BackgroundErrors = db.m.bgErrors.Get()
	return st
}

func sortSamples(ss []Sample) {
	slices.SortFunc(ss, func(a, b Sample) int { return labels.Compare(a.Labels, b.Labels) })
}
