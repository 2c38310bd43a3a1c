package tsdb

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
	"github.com/wardmetrics/ward/tsdb/tsdbtest"
)

// The dataset benchmarks write the benchmark data set (see tsdbtest) once
// per process and share the directory. WARD_BENCH_HOSTS scales it (200 =
// 10,000 series, the default).

type benchSet struct {
	cfg    tsdbtest.Config
	series []tsdbtest.Series
	ts     []int64
	vals   [][]float64 // per step
}

var (
	benchOnce sync.Once
	benchData *benchSet
)

func loadDataset() *benchSet {
	benchOnce.Do(func() {
		cfg := tsdbtest.Default()
		if h, err := strconv.Atoi(os.Getenv("WARD_BENCH_HOSTS")); err == nil && h > 0 {
			cfg.Hosts = h
		}
		g := tsdbtest.New(cfg)
		d := &benchSet{cfg: cfg, series: g.Series()}
		for {
			v := make([]float64, len(d.series))
			t, ok := g.Next(v)
			if !ok {
				break
			}
			d.ts = append(d.ts, t)
			d.vals = append(d.vals, v)
		}
		benchData = d
	})
	return benchData
}

func benchOptions(sync SyncPolicy) Options {
	d := loadDataset()
	end := d.ts[len(d.ts)-1]
	return Options{
		Sync:         sync,
		Now:          func() time.Time { return time.UnixMilli(end) },
		RetentionRaw: -1, Retention5m: -1, Retention1h: -1,
	}
}

// writeDataset appends the data set, one AppendRefs per step, and returns
// the elapsed time and the thread CPU time of the appending goroutine.
func writeDataset(b *testing.B, dir string, sync SyncPolicy) (time.Duration, time.Duration, *DB) {
	d := loadDataset()
	db := openTest(b, dir, benchOptions(sync))
	refs := make([]SeriesRef, len(d.series))
	for i, s := range d.series {
		r, err := db.Ref(s.Labels)
		if err != nil {
			b.Fatal(err)
		}
		refs[i] = r
	}
	batch := make([]RefSample, len(refs))
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	cpu0, pcpu0 := threadCPU(), processCPU()
	start := time.Now()
	for step, t := range d.ts {
		v := d.vals[step]
		for i, r := range refs {
			batch[i] = RefSample{r, t, v[i]}
		}
		if err := db.AppendRefs(batch); err != nil {
			b.Fatal(err)
		}
	}
	wall := time.Since(start)
	lastProcessCPU = processCPU() - pcpu0
	return wall, threadCPU() - cpu0, db
}

// lastProcessCPU is the process CPU time of the last writeDataset: the
// appender plus sealing, Pebble's flushes and compactions, and GC.
var lastProcessCPU time.Duration

func dirSize(b *testing.B, dir string) int64 {
	var n int64
	err := filepath.Walk(dir, func(_ string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() {
			n += fi.Size()
		}
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
	return n
}

// BenchmarkDatasetAppend writes the data set and reports append throughput
// (wall clock and per CPU second of the appending goroutine) and the bytes
// per sample on disk after sealing, rollups, a clean close and a compaction.
func BenchmarkDatasetAppend(b *testing.B) {
	for _, sync := range []SyncPolicy{SyncNone, SyncEachBatch} {
		b.Run(sync.String(), func(b *testing.B) {
			d := loadDataset()
			n := float64(len(d.ts) * len(d.series))
			for b.Loop() {
				dir := b.TempDir()
				wall, cpu, db := writeDataset(b, dir, sync)
				b.ReportMetric(n/wall.Seconds(), "samples/s")
				b.ReportMetric(n/cpu.Seconds(), "samples/cpu-s")
				b.ReportMetric(n/lastProcessCPU.Seconds(), "samples/process-cpu-s")
				var ms runtime.MemStats
				runtime.ReadMemStats(&ms)
				// Includes the pre-generated data set (16 bytes per sample).
				b.ReportMetric(float64(ms.Sys)/(1<<20), "go-sys-MiB")
				if err := db.Close(); err != nil {
					b.Fatal(err)
				}
				db = openTest(b, dir, benchOptions(sync))
				if err := db.Maintain(context.Background()); err != nil {
					b.Fatal(err)
				}
				st := db.Stats()
				if err := db.pdb.Compact(context.Background(), []byte{0}, []byte{0xff}, false); err != nil {
					b.Fatal(err)
				}
				raw, _ := db.pdb.EstimateDiskUsage([]byte{2}, []byte{4})
				if err := db.Close(); err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(float64(dirSize(b, dir))/n, "disk-bytes/sample")
				b.ReportMetric(float64(raw)/n, "chunk-bytes/sample")
				b.ReportMetric(st.MemoryPerActiveSeries, "bytes/active-series")
			}
		})
	}
}

var readDirOnce sync.Once
var readDir string

func datasetDir(b *testing.B) string {
	readDirOnce.Do(func() {
		dir, err := os.MkdirTemp("", "ward-bench-")
		if err != nil {
			b.Fatal(err)
		}
		_, _, db := writeDataset(b, dir, SyncNone)
		if err := db.Close(); err != nil {
			b.Fatal(err)
		}
		readDir = dir
	})
	return readDir
}

// BenchmarkDatasetRead reads every sample of every series over the whole
// day through the storage.Querier interface.
func BenchmarkDatasetRead(b *testing.B) {
	dir := datasetDir(b)
	db := openTest(b, dir, benchOptions(SyncNone))
	defer db.Close()
	d := loadDataset()
	var total int
	cpu0 := processCPU()
	for b.Loop() {
		total = 0
		q, _ := db.Querier(math.MinInt64, math.MaxInt64)
		set := q.Select(context.Background(), true, nil, labels.MustNewMatcher(labels.MatchRegexp, "__name__", ".+"))
		var it chunkenc.Iterator
		var sum float64
		for set.Next() {
			it = set.At().Iterator(it)
			for it.Next() == chunkenc.ValFloat {
				_, v := it.At()
				sum += v
				total++
			}
		}
		if set.Err() != nil {
			b.Fatal(set.Err())
		}
	}
	cpu := processCPU() - cpu0
	if total != len(d.ts)*len(d.series) {
		b.Fatalf("read %d samples, want %d", total, len(d.ts)*len(d.series))
	}
	b.ReportMetric(float64(total)*float64(b.N)/b.Elapsed().Seconds(), "samples/s")
	// Decoding runs on every core: this is per CPU second of the process.
	b.ReportMetric(float64(total)*float64(b.N)/cpu.Seconds(), "samples/cpu-s")
}

// BenchmarkYearRollup reads a year at a 1h step for 100 series, from
// rollups, directly and through PromQL.
func BenchmarkYearRollup(b *testing.B) {
	dir := b.TempDir()
	const day = 86_400_000
	end := t0 + 366*day
	opts := Options{Sync: SyncNone, Now: func() time.Time { return time.UnixMilli(end) }, RetentionRaw: -1, Retention5m: -1, Retention1h: -1}
	db := openTest(b, dir, opts)
	defer db.Close()
	// A year at 5 minutes for 100 series, imported, then rolled up.
	const nSeries = 100
	var ss []Sample
	for s := 0; s < nSeries; s++ {
		ls := labels.FromStrings("__name__", "year", "s", strconv.Itoa(s))
		v := 0.0
		for t := t0; t < end; t += 300_000 {
			v += float64((t / 300_000 * int64(s+1)) % 7)
			ss = append(ss, Sample{ls, t, v})
		}
	}
	start := time.Now()
	if _, err := db.Import(context.Background(), iterOf(ss), ImportOptions{}); err != nil {
		b.Fatal(err)
	}
	if err := db.Maintain(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.Logf("imported and rolled up %d samples in %v", len(ss), time.Since(start))
	ss = nil
	from := end - 365*day
	// What the engine asks for a plain selector at a 1h step (the
	// dashboard graph of bench/tsdbcompare's select_year_1h).
	instant := &storage.SelectHints{Start: from - 300_000 + 1, End: end, Step: 3600_000}
	b.Run("select instant", func(b *testing.B) {
		cpu0 := processCPU()
		n := 0
		for b.Loop() {
			q, _ := db.Querier(instant.Start, end)
			set := q.Select(context.Background(), true, instant, labels.MustNewMatcher(labels.MatchEqual, "__name__", "year"))
			n = 0
			var it chunkenc.Iterator
			for set.Next() {
				it = set.At().Iterator(it)
				for it.Next() == chunkenc.ValFloat {
					n++
				}
			}
			if n < nSeries*365*24 {
				b.Fatalf("%d points", n)
			}
		}
		b.ReportMetric(float64(n), "points")
		b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/query")
		b.ReportMetric(float64((processCPU()-cpu0).Milliseconds())/float64(b.N), "cpu-ms/query")
	})
	hints := &storage.SelectHints{Start: from, End: end, Step: 3600_000, Func: "avg_over_time", Range: 3600_000}
	b.Run("select", func(b *testing.B) {
		cpu0 := processCPU()
		for b.Loop() {
			q, _ := db.Querier(from, end)
			set := q.Select(context.Background(), true, hints, labels.MustNewMatcher(labels.MatchEqual, "__name__", "year"))
			n := 0
			var it chunkenc.Iterator
			for set.Next() {
				it = set.At().Iterator(it)
				for it.Next() == chunkenc.ValFloat {
					n++
				}
			}
			if n < nSeries*365*24-nSeries*48 {
				b.Fatalf("%d points", n)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/query")
		// CPU of the whole process per query: less sensitive than wall
		// time to other load on a shared machine.
		b.ReportMetric(float64((processCPU()-cpu0).Milliseconds())/float64(b.N), "cpu-ms/query")
	})
	eng := newEngine()
	for _, expr := range []string{`year`, `avg_over_time(year[1h])`, `rate(year[2h])`} {
		b.Run("promql "+expr, func(b *testing.B) {
			cpu0 := processCPU()
			for b.Loop() {
				qry, err := eng.NewRangeQuery(context.Background(), db, nil, expr, time.UnixMilli(from), time.UnixMilli(end), time.Hour)
				if err != nil {
					b.Fatal(err)
				}
				res := qry.Exec(context.Background())
				m, err := res.Matrix()
				if err != nil || len(m) != nSeries {
					b.Fatalf("%s: %d series, %v", expr, len(m), err)
				}
				qry.Close()
			}
			b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/query")
			b.ReportMetric(float64((processCPU()-cpu0).Milliseconds())/float64(b.N), "cpu-ms/query")
		})
	}
}

// BenchmarkMemoryPerSeries measures the heap held per active series:
// WARD_BENCH_SERIES series (default 200,000) receive a full 2h bucket of
// samples at 10s (the most a series holds before sealing), then the heap
// is measured after a GC and divided by the series count.
func BenchmarkMemoryPerSeries(b *testing.B) {
	n := 200_000
	if v, err := strconv.Atoi(os.Getenv("WARD_BENCH_SERIES")); err == nil && v > 0 {
		n = v
	}
	steps := 719
	if v, err := strconv.Atoi(os.Getenv("WARD_BENCH_STEPS")); err == nil && v > 0 {
		steps = v
	}
	for b.Loop() {
		var before runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		opts := Options{Sync: SyncNone, Now: func() time.Time { return time.UnixMilli(t0 + 1e9) }, CacheSize: 8 << 20}
		db := openTest(b, b.TempDir(), opts)
		refs := make([]SeriesRef, n)
		for i := range refs {
			ls := labels.FromStrings("__name__", "app_requests_total", "host", "host-"+strconv.Itoa(i/50), "instance", strconv.Itoa(i), "job", "api")
			r, err := db.Ref(ls)
			if err != nil {
				b.Fatal(err)
			}
			refs[i] = r
		}
		batch := make([]RefSample, n)
		for s := 0; s < steps; s++ {
			for i, r := range refs {
				batch[i] = RefSample{r, t0 + int64(s)*10_000, float64(s*(i%7) + i%3)}
			}
			if err := db.AppendRefs(batch); err != nil {
				b.Fatal(err)
			}
		}
		var after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&after)
		st := db.Stats()
		// Pebble's memtables and block cache are off-heap (manually
		// managed); they are bounded by options, not by series.
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/float64(n), "heap-bytes/series")
		b.ReportMetric(st.MemoryPerActiveSeries, "estimated-bytes/series")
		if err := db.Close(); err != nil {
			b.Fatal(err)
		}
	}
}
