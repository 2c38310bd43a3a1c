package tsdb

import (
	"context"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
)

// dirUsage walks dir and returns the bytes allocated on disk (what du
// reports, so preallocated log files count in full) and the number of
// Pebble log files.
func dirUsage(t *testing.T, dir string) (bytes int64, logs int) {
	t.Helper()
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		if st, ok := fi.Sys().(*syscall.Stat_t); ok {
			bytes += st.Blocks * 512
		} else {
			bytes += fi.Size()
		}
		if strings.HasSuffix(p, ".log") {
			logs++
		}
		return nil
	})
	if err != nil {
		t.Fatalf("walk %s: %v", dir, err)
	}
	return bytes, logs
}

// TestCompactReclaimsSpace writes enough batches through a small memtable
// that WAL records reach sstables and Pebble rotates many log files, then
// checks that the background job compacts the deleted WAL records away,
// that obsolete log files are deleted rather than recycled, that Close
// leaves a directory within a bound per stored sample, and that Compact
// does not lose data.
func TestCompactReclaimsSpace(t *testing.T) {
	const (
		nSeries = 400
		step    = 10_000
		steps   = 6 * 360 // 6 hours at 10 s
		samples = nSeries * steps
		// Sealed chunks cost well under a byte per sample; the bound leaves
		// room for rollups, the series dictionary, sstable and manifest
		// overhead. The WAL records alone (several bytes per sample, as
		// values are not on a grid there) would exceed it.
		boundPerSample = 2.0
	)
	dir := t.TempDir()
	opts := testOptions()
	opts.MemTableSize = 1 << 20
	opts.BucketDuration = 30 * time.Minute
	opts.OutOfOrderWindow = time.Minute
	opts.walCompactBytes = 64 << 10
	db := openTest(t, dir, opts)
	series := make([]labels.Labels, nSeries)
	for i := range series {
		series[i] = lbls("__name__", "m"+strconv.Itoa(i%20), "host", "h"+strconv.Itoa(i/20))
	}
	var walBytes int64
	batch := make([]Sample, nSeries)
	for s := 0; s < steps; s++ {
		ts := t0 + int64(s)*step
		for i := range batch {
			batch[i] = Sample{series[i], ts, float64((s*(i%7+1))/3) + float64(i%5)/4}
		}
		if err := db.Append(batch); err != nil {
			t.Fatal(err)
		}
		walBytes += int64(len(db.walBuf))
	}
	end := t0 + steps*step
	waitFor(t, func() bool { return db.Stats().Sealed >= end-time.Hour.Milliseconds() })
	if err := db.Maintain(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := db.m.walCompactions.Get(); n == 0 {
		t.Errorf("no compaction of deleted WAL records after %d bytes of them", walBytes)
	}
	open, logs := dirUsage(t, dir)
	t.Logf("open: %d bytes on disk (%.2f bytes/sample), %d log files, %d bytes of WAL records written", open, float64(open)/samples, logs, walBytes)
	if logs > 2 {
		t.Errorf("%d Pebble log files on disk: obsolete ones are recycled, not deleted", logs)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	closed, logs := dirUsage(t, dir)
	t.Logf("closed: %d bytes (%.2f bytes/sample), %d log files", closed, float64(closed)/samples, logs)
	if float64(closed) > boundPerSample*samples {
		t.Errorf("closed directory holds %d bytes for %d samples, over %.1f bytes/sample", closed, samples, boundPerSample)
	}
	if walBytes < int64(boundPerSample*samples) {
		t.Fatalf("test too weak: %d bytes of WAL records would fit in the bound", walBytes)
	}

	db = openTest(t, dir, opts)
	defer db.Close()
	if err := db.Compact(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := readAll(t, db, t0, end, nil, eqMatcher("__name__", "m3"))
	if len(got) != nSeries/20 {
		t.Fatalf("read %d series of m3, want %d", len(got), nSeries/20)
	}
	for name, ss := range got {
		if len(ss) != steps {
			t.Fatalf("%s: %d samples after Compact, want %d", name, len(ss), steps)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != ErrClosed {
		t.Fatalf("second Close = %v, want ErrClosed", err)
	}
	if err := db.Compact(context.Background()); err != ErrClosed {
		t.Fatalf("Compact after Close = %v, want ErrClosed", err)
	}
	// Sizes are taken after Close, which waits for Pebble to delete the
	// files a compaction made obsolete.
	compacted, _ := dirUsage(t, dir)
	t.Logf("after Compact and Close: %d bytes (%.2f bytes/sample)", compacted, float64(compacted)/samples)
	if float64(compacted) > boundPerSample*samples {
		t.Errorf("after Compact the directory holds %d bytes for %d samples", compacted, samples)
	}

	// Opening and closing without writes must not store the head's
	// checkpointed buckets a second time.
	db = openTest(t, dir, opts)
	if db.Stats().HeadSamples == 0 {
		t.Fatal("no open buckets in the head: the next check would be vacuous")
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	idle, _ := dirUsage(t, dir)
	t.Logf("after an idle open and close: %d bytes", idle)
	if idle > compacted+16<<10 {
		t.Errorf("an idle open and close grew the directory from %d to %d bytes", compacted, idle)
	}
}
