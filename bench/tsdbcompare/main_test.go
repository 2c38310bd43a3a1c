package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestUpdateSectionKeepsOtherSections(t *testing.T) {
	path := filepath.Join(t.TempDir(), "RESULTS.md")
	before := "# Benchmark results\n\n## Ingest (udpload)\n\nbench: a ward=1\n\n" +
		sectionHeading + "\n\nold figures\n\n## Alerting\n\nbench: b ward=2\n"
	if err := os.WriteFile(path, []byte(before), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := updateSection(path, sectionHeading+"\n\nnew figures\n"); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(path)
	want := "# Benchmark results\n\n## Ingest (udpload)\n\nbench: a ward=1\n\n" +
		sectionHeading + "\n\nnew figures\n\n## Alerting\n\nbench: b ward=2\n"
	if string(got) != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}

	// Absent: appended after the others.
	if err := os.WriteFile(path, []byte("# Benchmark results\n\n## Ingest (udpload)\n\nx\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := updateSection(path, sectionHeading+"\n\nfigures\n"); err != nil {
		t.Fatal(err)
	}
	got, _ = os.ReadFile(path)
	if !strings.HasSuffix(string(got), "x\n\n"+sectionHeading+"\n\nfigures\n") || !strings.HasPrefix(string(got), "# Benchmark results") {
		t.Errorf("append: got\n%s", got)
	}
}

func TestDataFileRoundTrip(t *testing.T) {
	d := dataset{Hosts: 1, Step: 10 * time.Second, Duration: 10 * time.Minute, Seed: 7, File: filepath.Join(t.TempDir(), "data.bin")}
	want, err := generate(d)
	if err != nil {
		t.Fatal(err)
	}
	if want.Samples != d.samples() || want.Samples != 60*50 {
		t.Fatalf("generated %d samples, want %d", want.Samples, 60*50)
	}
	s, err := openSteps(d)
	if err != nil {
		t.Fatal(err)
	}
	defer s.close()
	var got checksum
	var lastT int64
	for {
		ts, vals, ok, err := s.next()
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			break
		}
		if lastT != 0 && ts-lastT != d.stepMs() {
			t.Fatalf("step from %d to %d, want %d ms", lastT, ts, d.stepMs())
		}
		lastT = ts
		for _, v := range vals {
			got.add(v)
		}
	}
	if !got.matches(want) || lastT != d.end() {
		t.Errorf("read back %+v ending at %d, want %+v ending at %d", got, lastT, want, d.end())
	}
}

func TestFileKind(t *testing.T) {
	for _, c := range []struct{ path, want string }{
		{"/d/000012.log", ".log"},
		{"/d/wal/00000003", "wal/"},
		{"/d/01M8FD94GQ2YW79TZYZAQZKV6D/chunks/000001", "01M8FD94GQ2YW79TZYZAQZKV6D/"},
		{"/d/cache/metricID_tsid/data.0.bin", "cache/"},
		{"/d/data/small/2025_01/18EC02BF551057D3/values.bin", ".bin"},
		{"/d/LOCK", "LOCK"},
	} {
		if got := fileKind("/d", c.path); got != c.want {
			t.Errorf("fileKind(%q) = %q, want %q", c.path, got, c.want)
		}
	}
}
