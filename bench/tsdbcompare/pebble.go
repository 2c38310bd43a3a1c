package main

import (
	"bytes"
	"context"
	"fmt"

	"github.com/cockroachdb/pebble/v2"
)

// compactPebble opens the closed Pebble store in dir on its own and
// compacts its whole key space to the bottom level, then closes it. Ward
// offers no compaction call; this is its counterpart of the peers' forced
// compactions: without it, the directory still holds WAL records that Ward
// has deleted (range tombstones not yet compacted away), and its size
// depends on when Pebble's background compactions last ran.
func compactPebble(dir string) error {
	db, err := pebble.Open(dir, &pebble.Options{Logger: quietPebble{}})
	if err != nil {
		return fmt.Errorf("open pebble %s: %w", dir, err)
	}
	if err := db.Compact(context.Background(), nil, bytes.Repeat([]byte{0xff}, 64), true); err != nil {
		db.Close()
		return fmt.Errorf("compact pebble %s: %w", dir, err)
	}
	return db.Close()
}

type quietPebble struct{}

func (quietPebble) Infof(string, ...any)  {}
func (quietPebble) Errorf(string, ...any) {}
func (quietPebble) Fatalf(format string, args ...any) {
	panic(fmt.Sprintf(format, args...))
}
