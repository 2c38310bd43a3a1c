package tsdb

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/wardmetrics/ward/tsdb/tsdbtest"
)

// fakeFS stands in for statfs: the test sets the free space and the
// read-only flag; Pebble writes to the real directory.
type fakeFS struct {
	avail atomic.Uint64
	ro    atomic.Bool
}

func (f *fakeFS) stat(string) (fsStat, error) {
	return fsStat{avail: f.avail.Load(), size: 100 << 30, readOnly: f.ro.Load()}, nil
}

func metricValue(t *testing.T, set *metrics.Set, name string) float64 {
	t.Helper()
	var b bytes.Buffer
	set.WritePrometheus(&b)
	for _, line := range strings.Split(b.String(), "\n") {
		if rest, ok := strings.CutPrefix(line, name+" "); ok {
			v, err := strconv.ParseFloat(rest, 64)
			if err != nil {
				t.Fatalf("metric %s: %v", name, err)
			}
			return v
		}
	}
	t.Fatalf("metric %s not found in:\n%s", name, b.String())
	return 0
}

// TestDiskFullRefusesAndResumes simulates a full disk on a real Pebble
// directory: every write path is refused with ErrDiskFull without changing
// what reads show, the background job keeps running without errors, and
// writes resume by themselves once space is back above the reserve plus
// the hysteresis and the ballast; a reopen finds exactly what was accepted.
func TestDiskFullRefusesAndResumes(t *testing.T) {
	const reserve, ballast = 64 << 20, 1 << 20
	dir := t.TempDir()
	fs := &fakeFS{}
	fs.avail.Store(10 << 30)
	opts := testOptions()
	opts.DiskReserve = reserve
	opts.DiskBallast = ballast
	opts.MaintenanceEvery = 5 * time.Millisecond
	opts.statFS = fs.stat
	set := metrics.NewSet()
	db, err := Open(dir, opts, set)
	if err != nil {
		t.Fatal(err)
	}
	ballastPath := filepath.Join(dir, ballastName)
	if fi, err := os.Stat(ballastPath); err != nil || fi.Size() != ballast {
		t.Fatalf("ballast after Open: %v %v", fi, err)
	}

	const step = 60_000
	want := []sample{}
	appendAt := func(i int) error {
		ts := t0 + int64(i)*step
		err := db.Append([]Sample{{lbls("__name__", "c", "k", "a"), ts, float64(i)}})
		if err == nil {
			want = append(want, sample{ts, float64(i)})
		}
		return err
	}
	// Two hours less a minute: one open bucket, nothing sealed yet.
	for i := 0; i < 119; i++ {
		if err := appendAt(i); err != nil {
			t.Fatal(err)
		}
	}
	check := func(db *DB) {
		t.Helper()
		got := readAll(t, db, math.MinInt64, math.MaxInt64, nil, eqMatcher("__name__", "c"))
		if len(got) != 1 {
			t.Fatalf("got series %v, want only c{k=a}", got)
		}
		g := got[`{__name__="c", k="a"}`]
		if fmt.Sprint(g) != fmt.Sprint(want) {
			t.Fatalf("got %d samples, want %d:\n%v\n%v", len(g), len(want), g, want)
		}
	}
	check(db)
	before := db.Stats()

	// The disk fills: one byte less than the reserve.
	fs.avail.Store(reserve - 1)
	refused := func(what string, err error) {
		t.Helper()
		var re *WriteRefusedError
		if !errors.Is(err, ErrDiskFull) || !errors.Is(err, syscall.ENOSPC) || !errors.As(err, &re) ||
			re.Reason != RefusedDiskFull || re.Avail != fs.avail.Load() || re.Reserve != reserve || re.Need <= re.Avail {
			t.Fatalf("%s while the disk is full: %v, want a disk-full refusal with the figures", what, err)
		}
	}
	// This sample would close the bucket (and a new series would be created).
	refused("Append", appendAt(200))
	refused("Append new series", db.Append([]Sample{{lbls("__name__", "c", "k", "new"), t0 + 200*step, 1}}))
	_, err = db.Ref(lbls("__name__", "c", "k", "ref"))
	refused("Ref", err)
	refused("KV put", db.KV("ns").Put([]byte("k"), []byte("v")))
	refused("SetMetadata", db.SetMetadata(Metadata{Name: "c", Type: "counter"}))
	refused("Compact", db.Compact(t.Context()))
	refused("Maintain", db.Maintain(t.Context()))
	if !errors.Is(db.WriteRefused(), ErrDiskFull) {
		t.Fatalf("WriteRefused while full: %v", db.WriteRefused())
	}
	// Nothing refused is visible: no new series, no new sample, no moved head.
	check(db)
	after := db.Stats()
	if after.Series != before.Series || after.HeadSamples != before.HeadSamples || after.MaxT != before.MaxT {
		t.Fatalf("a refused append changed the state: before %+v, after %+v", before, after)
	}
	if n := metricValue(t, set, `ward_tsdb_writes_refused_total{reason="disk_full"}`); n < 7 {
		t.Errorf("refused writes counted: %v, want at least 7", n)
	}
	if metricValue(t, set, "ward_tsdb_writes_refusing") != 1 {
		t.Errorf("ward_tsdb_writes_refusing is not 1 while refusing")
	}
	// The background job keeps running, quietly.
	rounds := metricValue(t, set, "ward_tsdb_maintenance_rounds_total")
	waitFor(t, func() bool { return metricValue(t, set, "ward_tsdb_maintenance_rounds_total") >= rounds+3 })
	if db.Stats().BackgroundErrors != 0 {
		t.Errorf("refusals counted as background errors: %d", db.Stats().BackgroundErrors)
	}

	// Above the reserve but within the hysteresis: still refused.
	fs.avail.Store(reserve + reserve/8)
	refused("Append within the hysteresis", appendAt(200))

	// Pebble meets ENOSPC anyway (another process took the reserve): the
	// ballast goes, and writes wait for room to recreate it as well.
	db.disk.onDiskFull()
	if _, err := os.Stat(ballastPath); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("ballast still there after ENOSPC: %v", err)
	}
	fs.avail.Store(reserve + reserve/4 + ballast/2)
	refused("Append without room for the ballast", appendAt(200))

	// Space returns.
	fs.avail.Store(reserve + reserve/4 + ballast + 64<<10) // and the batch
	if err := appendAt(200); err != nil {
		t.Fatalf("Append after space returned: %v", err)
	}
	if db.WriteRefused() != nil {
		t.Fatalf("WriteRefused after resuming: %v", db.WriteRefused())
	}
	if fi, err := os.Stat(ballastPath); err != nil || fi.Size() != ballast {
		t.Fatalf("ballast not recreated: %v %v", fi, err)
	}
	fs.avail.Store(10 << 30)
	// The bucket closed by that sample seals; other writes work again.
	waitFor(t, func() bool { return db.Stats().Sealed >= t0+2*3600*1000 })
	if err := db.KV("ns").Put([]byte("k"), []byte("v")); err != nil {
		t.Fatal(err)
	}
	if err := appendAt(201); err != nil {
		t.Fatal(err)
	}
	check(db)

	// Closing while refused skips the checkpoint; the WAL keeps what was
	// accepted and the next Open replays it.
	if err := appendAt(202); err != nil {
		t.Fatal(err)
	}
	fs.avail.Store(0)
	if err := db.Close(); err != nil {
		t.Fatalf("Close while refusing: %v", err)
	}
	fs.avail.Store(10 << 30)
	db, err = Open(dir, opts, nil)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	check(db)
	if v, ok, err := db.KV("ns").Get([]byte("k")); err != nil || !ok || string(v) != "v" {
		t.Fatalf("kv after reopen: %q %v %v", v, ok, err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestReadOnlyRefuses: a file system remounted read-only under an open DB
// refuses writes (EROFS) instead of letting Pebble fail, and writes resume
// when it is writable again.
func TestReadOnlyRefuses(t *testing.T) {
	dir := t.TempDir()
	fs := &fakeFS{}
	fs.avail.Store(10 << 30)
	opts := testOptions()
	opts.statFS = fs.stat
	set := metrics.NewSet()
	db, err := Open(dir, opts, set)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	s := []Sample{{lbls("__name__", "g"), t0, 1}}
	if err := db.Append(s); err != nil {
		t.Fatal(err)
	}
	fs.ro.Store(true)
	s[0].T, s[0].V = t0+1000, 2
	err = db.Append(s)
	var re *WriteRefusedError
	if !errors.Is(err, syscall.EROFS) || errors.Is(err, ErrDiskFull) || !errors.As(err, &re) || re.Reason != RefusedReadOnly {
		t.Fatalf("Append on a read-only file system: %v", err)
	}
	if n := metricValue(t, set, `ward_tsdb_writes_refused_total{reason="read_only"}`); n != 1 {
		t.Errorf("read-only refusals counted: %v, want 1", n)
	}
	fs.ro.Store(false)
	if err := db.Append(s); err != nil {
		t.Fatalf("Append after remount: %v", err)
	}
	got := readAll(t, db, math.MinInt64, math.MaxInt64, nil, eqMatcher("__name__", "g"))
	if fmt.Sprint(got[`{__name__="g"}`]) != fmt.Sprint([]sample{{t0, 1}, {t0 + 1000, 2}}) {
		t.Fatalf("samples: %v", got)
	}
	// Open refuses a read-only directory with the cause.
	fs.ro.Store(true)
	if _, err := Open(t.TempDir(), opts, nil); !errors.Is(err, syscall.EROFS) {
		t.Fatalf("Open read-only: %v", err)
	}
}

func TestDefaultReserve(t *testing.T) {
	for _, c := range []struct{ size, want uint64 }{
		{100 << 20, 10 << 20}, // a tenth of a small file system
		{1 << 30, 64 << 20},   // at least 64 MiB
		{50 << 30, 512 << 20}, // 1%
		{10 << 40, 1 << 30},   // at most 1 GiB
	} {
		if got := defaultReserve(c.size); got != c.want {
			t.Errorf("defaultReserve(%d) = %d, want %d", c.size, got, c.want)
		}
	}
}

// TestBallastAbsorbsENOSPC covers what the free-space check cannot: another
// process takes the last bytes between the check and Pebble's write. On a
// real, full tmpfs (root only), Pebble's log write meets ENOSPC; the
// ballast is removed, the write retried and stored, and later writes wait
// for room for the reserve and a new ballast.
func TestBallastAbsorbsENOSPC(t *testing.T) {
	db, dir, lie, batch := openFullTmpfs(t, 2<<20)
	ballastPath := filepath.Join(dir, "db", ballastName)
	if err := db.Append(batch(5000, t0+1000)); err != nil {
		t.Fatalf("Append when Pebble meets ENOSPC: %v", err)
	}
	if _, err := os.Stat(ballastPath); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the ballast was not used: %v", err)
	}
	lie.Store(false)
	if err := db.Append(batch(10, t0+2000)); !errors.Is(err, ErrDiskFull) {
		t.Fatalf("Append with the ballast gone and the disk full: %v", err)
	}
	if err := os.Remove(filepath.Join(dir, "filler")); err != nil {
		t.Fatal(err)
	}
	if err := db.Append(batch(10, t0+2000)); err != nil {
		t.Fatalf("Append after space returned: %v", err)
	}
	if fi, err := os.Stat(ballastPath); err != nil || fi.Size() != 2<<20 {
		t.Fatalf("ballast not recreated: %v %v", fi, err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = openTest(t, filepath.Join(dir, "db"), db.opts)
	defer db.Close()
	got := readAll(t, db, math.MinInt64, math.MaxInt64, nil, eqMatcher("__name__", "b"))
	n := 0
	for _, ss := range got {
		n += len(ss)
	}
	if len(got) != 50 || n != 5000+5000+10 {
		t.Fatalf("after reopen: %d series, %d samples; want 50, 10010", len(got), n)
	}
}

// TestENOSPCWithoutBallast: without a ballast the write that meets ENOSPC
// fails, Pebble's log is broken, and every later write is refused
// (reason "failed") instead of reaching Pebble, which would stop the
// process; reads go on, Close does not panic, and a reopen once space is
// back finds every write acknowledged before.
func TestENOSPCWithoutBallast(t *testing.T) {
	db, dir, lie, batch := openFullTmpfs(t, 0)
	if err := db.Append(batch(5000, t0+1000)); err == nil {
		t.Fatalf("Append when Pebble meets ENOSPC without a ballast succeeded")
	}
	lie.Store(false)
	if err := os.Remove(filepath.Join(dir, "filler")); err != nil {
		t.Fatal(err)
	}
	err := db.Append(batch(10, t0+2000))
	var re *WriteRefusedError
	if !errors.As(err, &re) || re.Reason != RefusedFailed {
		t.Fatalf("Append after a failed log write: %v, want refused as failed", err)
	}
	if err := db.KV("x").Put([]byte("k"), nil); !errors.Is(err, ErrWriteRefused) {
		t.Fatalf("KV put after a failed log write: %v", err)
	}
	if got := readAll(t, db, math.MinInt64, math.MaxInt64, nil, eqMatcher("__name__", "b")); len(got) != 50 {
		t.Fatalf("reads after a failed log write: %d series", len(got))
	}
	_ = db.Close() // may report the broken log; must not panic
	db = openTest(t, filepath.Join(dir, "db"), db.opts)
	defer db.Close()
	n := 0
	for _, ss := range readAll(t, db, math.MinInt64, math.MaxInt64, nil, eqMatcher("__name__", "b")) {
		n += len(ss)
	}
	if n < 5000 {
		t.Fatalf("after reopen: %d samples, want at least the 5000 acknowledged", n)
	}
	if err := db.Append(batch(10, t0+3000)); err != nil {
		t.Fatalf("Append after reopen: %v", err)
	}
}

// openFullTmpfs opens a DB (synced appends, a 1 MiB reserve, the given
// ballast) on an 8 MiB tmpfs (root only; skips otherwise), appends 5000
// samples, fills the file system with dir/filler and returns with lie set:
// the free-space check sees plenty, as it would if another process took the
// space just after it. batch(n, ts) makes n samples of 50 series.
func openFullTmpfs(t *testing.T, ballast int64) (*DB, string, *atomic.Bool, func(int, int64) []Sample) {
	t.Helper()
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs (needs root): %v %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", "-l", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v %s", dir, err, out)
		}
	})
	lie := &atomic.Bool{}
	opts := testOptions()
	opts.Sync = SyncEachBatch
	opts.DiskReserve = 1 << 20
	opts.DiskBallast = ballast
	opts.statFS = func(d string) (fsStat, error) {
		st, err := statFS(d)
		if lie.Load() {
			st.avail = st.size
		}
		return st, err
	}
	db := openTest(t, filepath.Join(dir, "db"), opts)
	batch := func(n int, ts int64) []Sample {
		ss := make([]Sample, n)
		for i := range ss {
			ss[i] = Sample{lbls("__name__", "b", "i", strconv.Itoa(i%50)), ts + int64(i/50), float64(i) * 1.1}
		}
		return ss
	}
	if err := db.Append(batch(5000, t0)); err != nil {
		t.Fatal(err)
	}
	tsdbtest.FillDisk(t, filepath.Join(dir, "filler"))
	lie.Store(true)
	return db, dir, lie, batch
}

// BenchmarkDiskCheck measures the free-space check: one statfs per write.
// Compare the "statfs" and "constant" (no system call) sub-benchmarks.
func BenchmarkDiskCheck(b *testing.B) {
	dir := b.TempDir()
	for _, c := range []struct {
		name string
		stat func(string) (fsStat, error)
	}{
		{"statfs", statFS},
		{"constant", func(string) (fsStat, error) { return fsStat{avail: 1 << 40, size: 2 << 40}, nil }},
	} {
		b.Run(c.name, func(b *testing.B) {
			o := testOptions()
			o.statFS = c.stat
			o.EnsureDefaults()
			g := newDiskGuard(dir, &o)
			for b.Loop() {
				if err := g.check(4096); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
