package tsdb

import (
	"bufio"
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
)

const (
	crashEnv     = "WARD_TSDB_CRASH_CHILD_DIR"
	crashSeries  = 40
	crashStep    = 120_000 // 2 minutes: a day is 720 batches, so rollups run
	crashBatches = 20_000
)

func crashOptions() Options {
	o := testOptions()
	o.Sync = SyncEachBatch
	o.BucketDuration = 30 * time.Minute
	o.OutOfOrderWindow = 5 * time.Minute
	o.MaintenanceEvery = 20 * time.Millisecond
	o.MemTableSize = 1 << 20 // flushes and compactions happen during the stream
	return o
}

func crashValue(batch, series int) float64 {
	if series%2 == 0 {
		return float64(batch * (series + 1)) // counters
	}
	return float64(batch%97) / 4 // gauges with decimals
}

func crashLabels(series int) labels.Labels {
	return lbls("__name__", "crash", "s", strconv.Itoa(series))
}

// TestCrashChild is the writer process of TestCrashRecovery; it does
// nothing unless started by it.
func TestCrashChild(t *testing.T) {
	dir := os.Getenv(crashEnv)
	if dir == "" {
		t.Skip("child process of TestCrashRecovery")
	}
	db, err := Open(dir, crashOptions(), nil)
	if err != nil {
		fmt.Printf("open: %v\n", err)
		os.Exit(2)
	}
	out := bufio.NewWriter(os.Stdout)
	start := 0
	if s := os.Getenv(crashEnv + "_START"); s != "" {
		start, _ = strconv.Atoi(s)
	}
	for b := start; b < start+crashBatches; b++ {
		batch := make([]Sample, 0, crashSeries)
		for s := 0; s < crashSeries; s++ {
			batch = append(batch, Sample{crashLabels(s), t0 + int64(b)*crashStep, crashValue(b, s)})
		}
		if err := db.Append(batch); err != nil {
			fmt.Fprintf(out, "error %d: %v\n", b, err)
			out.Flush()
			os.Exit(3)
		}
		fmt.Fprintf(out, "ack %d\n", b)
		out.Flush()
	}
	fmt.Fprintln(out, "done")
	out.Flush()
	_ = db.Close()
}

// TestCrashRecovery runs a writer in a child process, SIGKILLs it in the
// middle of its stream (twice, the second time after a restart), and
// checks that every acknowledged batch is there, that nothing fails to
// decode, and that rollups agree with the raw data.
func TestCrashRecovery(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns writer processes")
	}
	dir := t.TempDir()
	r := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1))
	acked := -1
	next := 0
	for round := 0; round < 2; round++ {
		// Acks before the kill: past the first day (720 batches) and the
		// seal of its last bucket (30 min buckets, 5 min out-of-order
		// window: batch 723 on), so that 5m rollups exist. A kill below
		// that made the test fail now and then.
		kill := 780 + r.IntN(1500)
		last := runAndKill(t, dir, next, kill)
		if last < next+kill-1 {
			t.Fatalf("round %d: child acknowledged up to %d, wanted at least %d", round, last, next+kill-1)
		}
		acked = last
		verifyCrashDir(t, dir, acked)
		next = acked + 1 // the next writer continues where acknowledgements stopped
	}
}

// runAndKill starts the child at batch start, waits for kill acks, sends
// SIGKILL, and returns the last acknowledged batch.
func runAndKill(t *testing.T, dir string, start, kill int) int {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashEnv+"="+dir, crashEnv+"_START="+strconv.Itoa(start))
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(stdout)
	last, n := -1, 0
	killed := false
	for sc.Scan() {
		line := sc.Text()
		if rest, ok := strings.CutPrefix(line, "ack "); ok {
			b, err := strconv.Atoi(rest)
			if err != nil {
				t.Fatalf("child said %q", line)
			}
			last = b
			n++
			if n == kill && !killed {
				if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
					t.Fatal(err)
				}
				killed = true
			}
			continue
		}
		if strings.HasPrefix(line, "error") || strings.HasPrefix(line, "open") {
			t.Fatalf("child: %s", line)
		}
	}
	err = cmd.Wait()
	if !killed {
		t.Fatalf("child finished before the kill: %v", err)
	}
	// Acks printed after the signal was sent are acknowledged too: they
	// were durable before they were printed.
	return last
}

func verifyCrashDir(t *testing.T, dir string, acked int) {
	t.Helper()
	db := openTest(t, dir, crashOptions())
	defer func() {
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
	}()
	got := readAll(t, db, math.MinInt64, math.MaxInt64, nil, eqMatcher("__name__", "crash"))
	if len(got) != crashSeries {
		t.Fatalf("%d series after the crash, want %d", len(got), crashSeries)
	}
	for s := 0; s < crashSeries; s++ {
		ss := got[crashLabels(s).String()]
		// Every acknowledged batch, possibly one more (durable, not yet acked).
		if len(ss) < acked+1 || len(ss) > acked+2 {
			t.Fatalf("series %d: %d samples, want %d acknowledged (+1 in flight)", s, len(ss), acked+1)
		}
		for b, smp := range ss {
			if smp.t != t0+int64(b)*crashStep || smp.v != crashValue(b, s) {
				t.Fatalf("series %d sample %d: (%d, %v), want (%d, %v)", s, b, smp.t, smp.v, t0+int64(b)*crashStep, crashValue(b, s))
			}
		}
	}
	// Rollups, whatever the child had computed before dying plus what this
	// round computes, agree with the raw data.
	if err := db.Maintain(context.Background()); err != nil {
		t.Fatal(err)
	}
	st := db.Stats()
	if st.Rollup5m == math.MinInt64 {
		t.Fatalf("no 5m rollups after %d batches", acked)
	}
	for s := 0; s < crashSeries; s++ {
		ls := crashLabels(s)
		var in []sample
		for _, smp := range got[ls.String()] {
			if smp.t < st.Rollup5m {
				in = append(in, smp)
			}
		}
		exp := aggregate(in, res5m.step)
		ref := db.series.lookup(ls.Hash(), ls).ref
		rolled := storedRollups(t, db, res5m, ref, st.Rollup5m-1)
		if len(rolled) != len(exp) {
			t.Fatalf("series %d: %d 5m points, want %d", s, len(rolled), len(exp))
		}
		for i := range exp {
			if rolled[i] != exp[i] {
				t.Fatalf("series %d 5m point %d: %+v, want %+v", s, i, rolled[i], exp[i])
			}
		}
	}
}
