package main

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestImportEndToEnd backfills OpenMetrics and CSV files with `ward import`, then reads
// the samples back through `ward serve`'s query API at their own timestamps.
func TestImportEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	base := time.Now().Add(-72 * time.Hour).Truncate(time.Hour)
	var om strings.Builder
	om.WriteString("# TYPE backfill_orders counter\n")
	for i := 0; i < 360; i++ { // one hour at 10s
		fmt.Fprintf(&om, "backfill_orders{shop=\"eu\"} %d %d\n", i*2, base.Add(time.Duration(i)*10*time.Second).Unix())
	}
	// A sample older than every retention is skipped and reported, not stored.
	fmt.Fprintf(&om, "backfill_orders{shop=\"eu\"} 1 %d\n# EOF\n", time.Now().AddDate(-5, 0, 0).Unix())
	writeFile(t, filepath.Join(dir, "orders.om"), om.String())
	var csv strings.Builder
	csv.WriteString("timestamp,__name__,host,value\n")
	for i := 0; i < 60; i++ {
		fmt.Fprintf(&csv, "%d,backfill_load,web01,%d\n", base.Add(time.Duration(i)*time.Minute).Unix(), i)
	}
	csv.WriteString("notatime,backfill_load,web01,1\n")
	writeFile(t, filepath.Join(dir, "load.csv"), csv.String())

	out := runWard(t, "import", "--quiet", "--data", data, filepath.Join(dir, "orders.om"), filepath.Join(dir, "load.csv"))
	if !strings.Contains(out, "imported 420 of 421 samples") {
		t.Errorf("import summary:\n%s", out)
	}
	if !strings.Contains(out, "skipped 1: older than every retention") {
		t.Errorf("import did not report the skipped lines:\n%s", out)
	}

	w := startWard(t, data)
	at := float64(base.Add(359 * 10 * time.Second).Unix())
	if v, err := w.queryAt(`backfill_orders{shop="eu"}`, at); err != nil || v != 718 {
		t.Errorf("backfill_orders at the last imported sample = %v, %v; want 718", v, err)
	}
	if v, err := w.queryAt(`increase(backfill_orders[30m])`, at); err != nil || v < 300 {
		t.Errorf("increase over imported data = %v, %v", v, err)
	}
	if v, err := w.queryAt(`backfill_load`, float64(base.Add(59*time.Minute).Unix())); err != nil || v != 59 {
		t.Errorf("backfill_load = %v, %v; want 59", v, err)
	}
	w.stop()
}
