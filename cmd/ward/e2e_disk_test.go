package main

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wardmetrics/ward/tsdb/tsdbtest"
)

// mountTmpfs mounts a tmpfs of the given size on dir, or skips the test where mounting
// is not allowed (not root, no CAP_SYS_ADMIN).
func mountTmpfs(t *testing.T, dir, opts string) {
	t.Helper()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", opts, "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs (needs root): %v %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", "-l", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v %s", dir, err, out)
		}
	})
}

func (w *ward) readyStatus() (int, string) {
	c := http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get("http://" + w.http + "/-/ready")
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestDiskFull fills the data directory's file system while Ward ingests: Ward refuses
// storage writes before Pebble can meet the full disk, keeps answering reads (with
// what is stored, never a refused flush) and aggregating in memory, says so
// (/-/ready 503 with the reason, counters, log lines) and survives several rounds of
// the storage maintenance job; when space returns it recovers in place, without a
// restart, and stores the exact total; a restart then finds it.
func TestDiskFull(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	data := filepath.Join(t.TempDir(), "data")
	if err := os.MkdirAll(data, 0o755); err != nil {
		t.Fatal(err)
	}
	mountTmpfs(t, data, "size=32m")
	// The default reserve and ballast (a tenth of this small file system each); the
	// maintenance job every second instead of every minute.
	w := startWard(t, data, "--storage-maintenance-every", "1s")
	ballast := filepath.Join(data, "ward-ballast")
	if _, err := os.Stat(ballast); err != nil {
		t.Fatalf("no ballast file: %v", err)
	}
	pid := w.cmd.Process.Pid

	w.sendUDP("disk.count:10|c")
	total := 10
	w.waitValue("disk_count", 10)

	filler := filepath.Join(data, "filler")
	tsdbtest.FillDisk(t, filler)
	// Keep ingesting while the disk is full: flushes are refused, the aggregator keeps
	// totals.
	const refused = `ward_tsdb_writes_refused_total{reason="disk_full"}`
	const failed = "ward_storage_failed_flushes_total"
	failedBefore := w.selfMetric(failed)
	waitFor(t, 60*time.Second, "a refused flush and /-/ready 503", func() (bool, string) {
		w.sendUDP("disk.count:1|c")
		total++
		st, body := w.readyStatus()
		n, f := w.selfMetric(refused), w.selfMetric(failed)
		return st == 503 && n > 0 && f > failedBefore, fmt.Sprintf("ready %d %q, refused writes %v, failed flushes %v", st, body, n, f)
	})
	if _, ready := w.readyStatus(); !strings.Contains(ready, "storage writes failing") || !strings.Contains(ready, "no space left on device") {
		t.Errorf("/-/ready does not say why: %q", ready)
	}
	for _, line := range []string{"storage writes failing", "refusing writes until space returns"} {
		if !strings.Contains(w.log.String(), line) {
			t.Errorf("no log line %q", line)
		}
	}
	if w.selfMetric("ward_storage_write_failing") != 1 || w.selfMetric("ward_tsdb_writes_refusing") != 1 {
		t.Errorf("ward_storage_write_failing or ward_tsdb_writes_refusing is not 1 while the disk is full")
	}
	// What reads show now is what was stored; refused flushes must not move it.
	stored, ok, err := w.scalar("disk_count")
	if err != nil || !ok || stored < 10 || stored >= float64(total) {
		t.Fatalf("query while the disk is full: %v (present %v, err %v), want a stored total in [10, %d)", stored, ok, err, total)
	}

	// Several rounds of the maintenance job (which used to make Pebble stop the
	// process) while ingest goes on.
	const rounds = "ward_tsdb_maintenance_rounds_total"
	r0 := w.selfMetric(rounds)
	failed0 := w.selfMetric(failed)
	waitFor(t, 60*time.Second, "three maintenance rounds and three refused flushes", func() (bool, string) {
		w.sendUDP("disk.count:1|c")
		total++
		r, f := w.selfMetric(rounds), w.selfMetric(failed)
		return r >= r0+3 && f >= failed0+3, fmt.Sprintf("%v rounds, %v failed flushes (from %v, %v)", r, f, r0, failed0)
	})
	select {
	case err := <-w.done:
		t.Fatalf("ward exited while the disk was full: %v", err)
	default:
	}
	if v, ok, err := w.scalar("disk_count"); err != nil || !ok || v != stored {
		t.Errorf("query while the disk is full: %v (present %v, err %v), want the stored %v", v, ok, err, stored)
	}
	if st, _, _ := w.do(t, "GET", "/-/healthy", "", ""); st != 200 {
		t.Errorf("/-/healthy while the disk is full: %d", st)
	}
	mc := dialMemcache(t, w.memcache)
	if got := mc.get(t, "disk.count"); got != fmt.Sprint(total) {
		t.Errorf("in-memory total: get %s, want %d", got, total)
	}

	// Space returns: Ward recovers in place, with the exact total.
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "/-/ready 200 after space returned", func() (bool, string) {
		st, body := w.readyStatus()
		return st == 200, fmt.Sprintf("%d %s", st, body)
	})
	w.waitValue("disk_count", float64(total))
	select {
	case err := <-w.done:
		t.Fatalf("ward exited: %v", err)
	default:
	}
	if w.cmd.Process.Pid != pid {
		t.Fatalf("ward was restarted")
	}
	for _, line := range []string{"storage writes recovered", "writes resumed"} {
		if !strings.Contains(w.log.String(), line) {
			t.Errorf("no log line %q", line)
		}
	}
	if w.selfMetric("ward_tsdb_writes_refusing") != 0 {
		t.Errorf("ward_tsdb_writes_refusing is not 0 after recovery")
	}
	if _, err := os.Stat(ballast); err != nil {
		t.Errorf("ballast file after recovery: %v", err)
	}
	t.Logf("stored %v while full; %d sent; %v writes refused, %v maintenance rounds", stored, total, w.selfMetric(refused), w.selfMetric(rounds)-r0)
	if os.Getenv("WARD_E2E_LOG") != "" {
		t.Logf("ward log:\n%s", w.log.String())
	}
	w.sendUDP("disk.count:5|c")
	total += 5
	w.waitValue("disk_count", float64(total))

	// A restart finds it, and counters continue.
	w.stop()
	w.start()
	w.waitValue("disk_count", float64(total))
	w.sendUDP("disk.count:1|c")
	w.waitValue("disk_count", float64(total+1))
	w.stop()
}

// bindReadOnly mounts dir read-only over itself, or skips the test where mounting is not
// allowed; the returned func unmounts it (lazily: files opened through it stay valid).
func bindReadOnly(t *testing.T, dir string) func() {
	t.Helper()
	if out, err := exec.Command("mount", "--bind", dir, dir).CombinedOutput(); err != nil {
		t.Skipf("cannot bind-mount (needs root): %v %s", err, out)
	}
	mounted := true
	unmount := func() {
		if mounted {
			mounted = false
			if out, err := exec.Command("umount", "-l", dir).CombinedOutput(); err != nil {
				t.Errorf("umount %s: %v %s", dir, err, out)
			}
		}
	}
	t.Cleanup(unmount)
	if out, err := exec.Command("mount", "-o", "remount,bind,ro", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot remount read-only: %v %s", err, out)
	}
	return unmount
}

// TestReadOnlyDataDir: a data directory that becomes read-only under a running Ward
// is handled like a full disk (writes refused before they reach Pebble, /-/ready 503,
// reads and in-memory totals go on, recovery in place when it is writable again);
// and Ward refuses to start on a read-only data directory, with an error that names
// the directory, rather than accept samples it cannot keep.
func TestReadOnlyDataDir(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	data := filepath.Join(t.TempDir(), "data")
	if err := os.MkdirAll(data, 0o755); err != nil {
		t.Fatal(err)
	}
	w := startWard(t, data, "--storage-maintenance-every", "1s")
	w.sendUDP("ro.count:3|c")
	total := 3
	w.waitValue("ro_count", 3)

	unmount := bindReadOnly(t, data)
	var ready string
	const refused = `ward_tsdb_writes_refused_total{reason="read_only"}`
	waitFor(t, 60*time.Second, "a refused flush and /-/ready 503", func() (bool, string) {
		w.sendUDP("ro.count:1|c")
		total++
		st, body := w.readyStatus()
		ready = body
		n := w.selfMetric(refused)
		return st == 503 && n > 0, fmt.Sprintf("ready %d %q, refused writes %v", st, body, n)
	})
	if !strings.Contains(ready, "read-only file system") {
		t.Errorf("/-/ready does not say why: %q", ready)
	}
	const rounds = "ward_tsdb_maintenance_rounds_total"
	r0 := w.selfMetric(rounds)
	waitFor(t, 60*time.Second, "three maintenance rounds", func() (bool, string) {
		w.sendUDP("ro.count:1|c")
		total++
		r := w.selfMetric(rounds)
		return r >= r0+3, fmt.Sprintf("%v rounds (from %v)", r, r0)
	})
	select {
	case err := <-w.done:
		t.Fatalf("ward exited while the data directory was read-only: %v", err)
	default:
	}
	if v, ok, err := w.scalar("ro_count"); err != nil || !ok || v != 3 {
		t.Errorf("query while read-only: %v (present %v, err %v), want the stored 3", v, ok, err)
	}
	unmount()
	waitFor(t, 30*time.Second, "/-/ready 200 once writable", func() (bool, string) {
		st, body := w.readyStatus()
		return st == 200, fmt.Sprintf("%d %s", st, body)
	})
	w.waitValue("ro_count", float64(total))
	w.stop()

	// Starting on a read-only data directory fails.
	bindReadOnly(t, data)
	cmd := exec.Command(wardBinary(t), "serve", "--data", data, "--http", fmt.Sprintf("127.0.0.1:%d", freePort(t)),
		"--statsd", "", "--memcache", "")
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() == 0 {
		t.Fatalf("ward serve on a read-only data dir: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), data) || !strings.Contains(string(out), "read-only") {
		t.Errorf("the error does not name the directory and the cause:\n%s", out)
	}
}

// TestDiskSizeFlag: --disk-reserve and --disk-ballast take sizes, auto and off.
func TestDiskSizeFlag(t *testing.T) {
	for in, want := range map[string]int64{
		"auto": 0, "off": -1, "1048576": 1 << 20, "64MiB": 64 << 20, "2G": 2 << 30,
		"1.5GiB": 3 << 29, "512 kib": 512 << 10, "10B": 10,
	} {
		var d diskSize
		if err := d.UnmarshalText([]byte(in)); err != nil || int64(d) != want {
			t.Errorf("%q: %d, %v; want %d", in, d, err, want)
		}
	}
	for _, in := range []string{"", "-1", "0", "5XB", "MiB", "1e30G"} {
		var d diskSize
		if err := d.UnmarshalText([]byte(in)); err == nil {
			t.Errorf("%q: accepted as %d", in, d)
		}
	}
}
