package tsdb

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/wardmetrics/ward/tsdb/internal/keys"
)

// walCompactThreshold is how many bytes of deleted WAL records Pebble's
// sstables may hold (by its estimate) before the background job compacts
// them away. Most WAL records are deleted while still in the memtable and
// never reach disk; those a memtable flush wrote out stay on disk, under a
// range tombstone, until a compaction crosses them. 16 MiB bounds that
// garbage while keeping the compaction cheap (it rewrites only the sstables
// overlapping the deleted WAL range) and rare (once per memtable flush or
// so, never twice for the same truncation).
const walCompactThreshold = 16 << 20

// closeCompactTimeout bounds how long Close waits for the compaction of the
// WAL range. A compaction already running when it expires still completes
// (Pebble's Close waits for it); only the remaining ones are skipped, which
// costs disk space, never data.
const closeCompactTimeout = 30 * time.Second

// keyspaceEnd is above every key Ward writes (each starts with a kind byte
// below 0xff).
var keyspaceEnd = []byte{0xff}

// Compact makes the disk space of deleted data come back now: it flushes
// Pebble's memtable and compacts the whole key space to the bottom level,
// dropping every deleted WAL record, overwritten chunk and range tombstone,
// and leaving one sorted run of sstables.
//
// Ward never needs it for correctness or for bounded disk use: the
// background job already compacts the ranges that retention deletes and
// the WAL range once enough of it is deleted, and Close compacts the WAL
// range. Compact is for after a bulk import, or before measuring or copying
// the directory. Its cost is a rewrite of every sstable: I/O about the size
// of the database and one core for roughly a second per 50 MB on disk.
// Appends and reads continue meanwhile. Cancelling ctx stops it between
// compactions; one already running completes.
func (db *DB) Compact(ctx context.Context) error {
	if err := db.enter(); err != nil {
		return err
	}
	defer db.leave()
	if err := db.disk.check(0); err != nil {
		return fmt.Errorf("tsdb: compact %s: %w", db.dir, err)
	}
	if err := db.pdb.Flush(); err != nil {
		return fmt.Errorf("tsdb: compact: flush memtable of %s: %w", db.dir, err)
	}
	if err := db.pdb.Compact(ctx, []byte{0}, keyspaceEnd, false); err != nil {
		return fmt.Errorf("tsdb: compact key space of %s: %w", db.dir, err)
	}
	db.m.compactions.Inc()
	return nil
}

// compactDeletedWAL compacts the WAL records below the truncation point
// when Pebble estimates that its sstables hold at least
// walCompactThreshold bytes of them, and the truncation point has moved
// since the last such compaction (so a compaction that could not drop them,
// for whatever reason, is not repeated every round). Called by maintain.
func (db *DB) compactDeletedWAL(ctx context.Context) error {
	bound := db.walDropped.Load()
	if bound == 0 || bound <= db.walCompacted {
		return nil
	}
	lo, hi := keys.WAL(0), keys.WAL(bound)
	est, err := db.pdb.EstimateDiskUsage(lo, hi)
	if err != nil {
		return fmt.Errorf("tsdb: estimate deleted wal records below %d: %w", bound, err)
	}
	threshold := uint64(walCompactThreshold)
	if db.opts.walCompactBytes > 0 {
		threshold = db.opts.walCompactBytes
	}
	if est < threshold {
		return nil
	}
	if err := db.disk.check(0); err != nil {
		return fmt.Errorf("tsdb: compact deleted wal records below %d: %w", bound, err)
	}
	if err := db.pdb.Compact(ctx, lo, hi, false); err != nil {
		if ctx.Err() != nil {
			return nil // closing: Close compacts the WAL range itself
		}
		return fmt.Errorf("tsdb: compact deleted wal records below %d (%d bytes): %w", bound, est, err)
	}
	db.walCompacted = bound
	db.m.walCompactions.Inc()
	return nil
}

// compactOnClose runs after the checkpoint has deleted the whole WAL: it
// flushes the memtable (so Pebble's own log file becomes obsolete and is
// deleted, see walDeleter) and compacts the WAL range, bounded by
// closeCompactTimeout, so that a closed directory holds the data and little
// else.
func (db *DB) compactOnClose() error {
	if err := db.pdb.Flush(); err != nil {
		return fmt.Errorf("tsdb: flush memtable of %s on close: %w", db.dir, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), closeCompactTimeout)
	defer cancel()
	lo, hi := []byte{byte(keys.KindWAL)}, []byte{byte(keys.KindWAL) + 1}
	if err := db.pdb.Compact(ctx, lo, hi, false); err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return nil // space left for the next Open's background job
		}
		return fmt.Errorf("tsdb: compact wal range of %s on close: %w", db.dir, err)
	}
	return nil
}

// walDeleter deletes obsolete files, as Pebble's default cleaner does, and
// turns off Pebble's recycling of its log files. Recycling keeps up to
// MemTableStopWritesThreshold+1 obsolete log files (each preallocated to
// 110% of the memtable, 141 MiB with the default 128 MiB) to overwrite
// later, which saves a file creation per memtable — nothing at Ward's write
// rate of one batch per flush interval — and leaves hundreds of MB on disk
// that an idle or closed database does not need. Pebble skips recycling
// when the cleaner implements its (unexported) marker for cleaners that
// need the files' contents: the embedded archiveMarker provides it, while
// Clean and String come from the shallower pebble.DeleteCleaner, so files
// are deleted. TestCompactReclaimsSpace notices if a Pebble upgrade changes
// this.
type walDeleter struct {
	pebble.DeleteCleaner
	archiveMarker
}

// archiveMarker is embedded one level deeper than DeleteCleaner so that
// only ArchiveCleaner's marker method, not its Clean, is promoted.
type archiveMarker struct {
	pebble.ArchiveCleaner
}

var _ pebble.Cleaner = walDeleter{}
