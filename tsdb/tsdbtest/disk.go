package tsdbtest

import (
	"errors"
	"os"
	"syscall"
	"testing"
)

// FillDisk writes a file at path until its file system is full (ENOSPC),
// for the tests of what storage does on a full disk; any other write error
// fails the test. The file is left in place: removing it frees the space.
func FillDisk(t testing.TB, path string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 64<<10)
	for {
		if _, err := f.Write(buf); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("fill %s: %v", path, err)
			}
			return
		}
	}
}
