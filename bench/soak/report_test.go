package main

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSlope(t *testing.T) {
	xs := []float64{0, 1, 2, 3}
	if got := slope(xs, []float64{5, 7, 9, 11}); math.Abs(got-2) > 1e-9 {
		t.Errorf("slope of a line of slope 2 = %v", got)
	}
	if got := slope(xs, []float64{4, 4, 4, 4}); got != 0 {
		t.Errorf("slope of a flat line = %v", got)
	}
	if got := slope([]float64{1}, []float64{1}); got != 0 {
		t.Errorf("slope of one point = %v", got)
	}
}

func TestWriteSection(t *testing.T) {
	path := filepath.Join(t.TempDir(), "RESULTS.md")
	orig := "# Results\n\n## Before\n\nkeep me\n\n## Soak\n\nold figures\n\n## After\n\nkeep me too\n"
	if err := os.WriteFile(path, []byte(orig), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := writeSection(path, "## Soak\n\nnew figures\n\n"); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	want := "# Results\n\n## Before\n\nkeep me\n\n## Soak\n\nnew figures\n\n## After\n\nkeep me too\n"
	if string(b) != want {
		t.Errorf("got\n%s\nwant\n%s", b, want)
	}
	// Appended when absent.
	path2 := filepath.Join(t.TempDir(), "R.md")
	_ = os.WriteFile(path2, []byte("# Results\n"), 0o644)
	if err := writeSection(path2, "## Soak\n\nx\n"); err != nil {
		t.Fatal(err)
	}
	b, _ = os.ReadFile(path2)
	if !strings.HasSuffix(string(b), "# Results\n\n## Soak\n\nx\n") {
		t.Errorf("append: %q", b)
	}
}

func TestVerdict(t *testing.T) {
	r := &report{baselineGoroutines: 36, finalGoroutines: 40, wsMessages: 1, samples: make([]sample, 10)}
	if r.verdict() == nil {
		t.Error("goroutines 40 after a baseline of 36 passed")
	}
	r.finalGoroutines = 37
	if err := r.verdict(); err != nil {
		t.Errorf("a healthy run failed: %v", err)
	}
}
