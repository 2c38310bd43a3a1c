package tsdb

import (
	"github.com/VictoriaMetrics/metrics"
)

// dbMetrics are the DB's self-observation series, registered in the
// caller's set. Gauges are computed at scrape time from Stats.
type dbMetrics struct {
	set            *metrics.Set
	names          []string
	appended       *metrics.Counter
	rejected       *metrics.Counter
	sealedBuckets  *metrics.Counter
	rollupChunks   *metrics.Counter
	retentionRuns  *metrics.Counter
	bgErrors       *metrics.Counter
	imported       *metrics.Counter
	compactions    *metrics.Counter
	walCompactions *metrics.Counter
	// maintenanceRounds counts rounds of the background job, run or
	// skipped (writes refused).
	maintenanceRounds *metrics.Counter
	// readAhead counts series decoded ahead of their reader (decode.go)
	// and taken by its iterator.
	readAhead *metrics.Counter
}

func newDBMetrics(db *DB, set *metrics.Set) *dbMetrics {
	m := &dbMetrics{set: set}
	counter := func(name string) *metrics.Counter {
		m.names = append(m.names, name)
		return set.GetOrCreateCounter(name)
	}
	gauge := func(name string, f func() float64) {
		m.names = append(m.names, name)
		set.GetOrCreateGauge(name, f)
	}
	m.appended = counter("ward_tsdb_samples_appended_total")
	m.rejected = counter("ward_tsdb_samples_rejected_total")
	m.sealedBuckets = counter("ward_tsdb_buckets_sealed_total")
	m.rollupChunks = counter("ward_tsdb_rollup_chunks_written_total")
	m.retentionRuns = counter("ward_tsdb_retention_runs_total")
	m.bgErrors = counter("ward_tsdb_background_errors_total")
	m.imported = counter("ward_tsdb_samples_imported_total")
	m.compactions = counter("ward_tsdb_compactions_total")
	m.walCompactions = counter("ward_tsdb_wal_compactions_total")
	m.maintenanceRounds = counter("ward_tsdb_maintenance_rounds_total")
	m.readAhead = counter("ward_tsdb_series_read_ahead_total")
	// Writes refused before reaching Pebble (diskspace.go), by reason.
	db.disk.refusedFull = counter(`ward_tsdb_writes_refused_total{reason="` + RefusedDiskFull + `"}`)
	db.disk.refusedRO = counter(`ward_tsdb_writes_refused_total{reason="` + RefusedReadOnly + `"}`)
	db.disk.refusedFailed = counter(`ward_tsdb_writes_refused_total{reason="` + RefusedFailed + `"}`)
	gauge("ward_tsdb_writes_refusing", func() float64 {
		if db.disk.refused() != nil {
			return 1
		}
		return 0
	})
	gauge("ward_tsdb_disk_available_bytes", func() float64 { return float64(db.disk.lastAvail.Load()) })
	gauge("ward_tsdb_disk_reserve_bytes", func() float64 { return float64(db.disk.lastReserve.Load()) })
	gauge("ward_tsdb_series", func() float64 { return float64(db.series.len()) })
	gauge("ward_tsdb_head_samples", func() float64 {
		db.head.mu.RLock()
		defer db.head.mu.RUnlock()
		return float64(db.head.samples)
	})
	gauge("ward_tsdb_disk_bytes", func() float64 { return float64(db.pdb.Metrics().DiskSpaceUsage()) })
	return m
}

func (m *dbMetrics) unregister() {
	for _, n := range m.names {
		m.set.UnregisterMetric(n)
	}
}
