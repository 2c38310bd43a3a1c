// Package tsdb is Ward's time-series storage engine, built on Pebble.
//
// Samples are appended in batches (one Pebble batch each, with a WAL record
// for the open buckets held in memory), sealed into one compressed chunk per
// series per time bucket, rolled up in the background to 5-minute and
// 1-hour resolutions, and deleted per resolution by range deletions. Reads
// go through the Prometheus storage.Queryable interface. The key layout and
// codecs are described in README.md.
package tsdb

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"
	"github.com/wardmetrics/ward/tsdb/internal/index"
	"github.com/wardmetrics/ward/tsdb/internal/keys"
)

// FormatVersion is the on-disk format this package reads and writes.
const FormatVersion = 1

var (
	// ErrClosed is returned by operations on a closed DB.
	ErrClosed = errors.New("tsdb: closed")
	// ErrFormatVersion is returned by Open for a directory written in
	// another format.
	ErrFormatVersion = errors.New("tsdb: unsupported format version")
)

// DB is an open time-series database. It is safe for concurrent use; appends
// are serialised internally.
type DB struct {
	opts   Options
	dir    string
	pdb    *pebble.DB
	popts  *pebble.Options
	wo     *pebble.WriteOptions
	bucket int64 // raw bucket duration in ms (persisted)

	series *seriesTable
	index  *index.Index
	head   *head
	m      *dbMetrics
	disk   *diskGuard // refuses writes while the disk is full or read-only

	appendMu sync.Mutex // serialises writers of series, WAL and head
	walSeq   uint64     // next WAL record sequence; guarded by appendMu
	scratch  []refSample
	walBuf   []byte

	sealMu sync.Mutex // serialises sealing, checkpoints and imports into sealed time

	closeMu sync.RWMutex // held for reading by every operation, for writing by Close
	closed  bool

	bgCancel context.CancelFunc
	bgWG     sync.WaitGroup
	sealCh   chan struct{}
	maintCh  chan struct{}
	maintMu  sync.Mutex // serialises rollups, retention and imports' rollup marks
	rollup   *rollupState
	retained retentionState

	// walDropped is the WAL sequence below which every record is deleted
	// (written by seals and checkpoints, read by the background job);
	// walCompacted the value of walDropped at the last compaction of the
	// deleted records, guarded by maintMu.
	walDropped   atomic.Uint64
	walCompacted uint64
}

var _ storage.Queryable = (*DB)(nil)

// Open opens (creating if needed) the database in dir. It checks the format
// version, loads the series dictionary and postings, rebuilds the head from
// its checkpoint and WAL, and starts the background sealing, rollup and
// retention jobs, which Close stops. ms receives the DB's metrics; nil
// creates a private set.
func Open(dir string, opts Options, ms *metrics.Set) (*DB, error) {
	opts.EnsureDefaults()
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	if ms == nil {
		ms = metrics.NewSet()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("tsdb: create %s: %w", dir, err)
	}
	// Sstables of an import interrupted by a crash were never ingested.
	if stale, _ := filepath.Glob(filepath.Join(dir, "import-*")); len(stale) > 0 {
		for _, p := range stale {
			if err := os.RemoveAll(p); err != nil {
				return nil, fmt.Errorf("tsdb: remove interrupted import %s: %w", p, err)
			}
		}
	}
	disk := newDiskGuard(dir, &opts)
	// A full or read-only file system is reported as such rather than as
	// whatever Pebble's first write would make of it.
	if err := disk.check(0); err != nil {
		if !errors.Is(err, ErrDiskFull) {
			return nil, fmt.Errorf("tsdb: open %s: %w", dir, err)
		}
	}
	if err := disk.makeBallast(); err != nil {
		// Most likely no room for it: writes wait until there is.
		disk.ballastGone.Store(true)
		opts.Logger.Warn("tsdb: no ballast file", "err", err)
	}
	popts := pebbleOptions(&opts, disk)
	pdb, err := pebble.Open(dir, popts)
	if err != nil {
		return nil, fmt.Errorf("tsdb: open pebble in %s: %w", dir, err)
	}
	db := &DB{
		opts:    opts,
		dir:     dir,
		pdb:     pdb,
		popts:   popts,
		disk:    disk,
		wo:      pebble.Sync,
		series:  newSeriesTable(),
		index:   index.New(),
		sealCh:  make(chan struct{}, 1),
		maintCh: make(chan struct{}, 1),
		// Nothing deleted yet.
		retained: retentionState{raw: math.MinInt64, r5: math.MinInt64, r1: math.MinInt64},
	}
	if opts.Sync == SyncNone {
		db.wo = pebble.NoSync
	}
	if err := db.load(); err != nil {
		return nil, errors.Join(err, pdb.Close())
	}
	db.m = newDBMetrics(db, ms)
	ctx, cancel := context.WithCancel(context.Background())
	db.bgCancel = cancel
	db.bgWG.Add(2)
	go db.sealLoop(ctx)
	go db.maintenanceLoop(ctx)
	db.kickSeal()
	return db, nil
}

func pebbleOptions(o *Options, disk *diskGuard) *pebble.Options {
	logger := &pebbleLogger{log: o.Logger}
	po := &pebble.Options{
		FormatMajorVersion:          pebble.FormatNewest,
		MemTableSize:                o.MemTableSize,
		MemTableStopWritesThreshold: 4,
		L0CompactionThreshold:       4,
		L0StopWritesThreshold:       1000,
		LBaseMaxBytes:               64 << 20,
		CacheSize:                   o.CacheSize,
		Logger:                      logger,
		// ENOSPC removes the ballast and retries once (see diskspace.go).
		FS: vfs.OnDiskFull(vfs.Default, disk.onDiskFull),
		EventListener: &pebble.EventListener{
			// Failed flushes and compactions are retried by Pebble and
			// do not stop the process; they are logged (rate-limited).
			BackgroundError: func(err error) { logger.Errorf("background error: %s", err) },
		},
		// Obsolete log files are deleted, not kept for reuse (see
		// walDeleter), and the manifest is rewritten from a snapshot once
		// it reaches 16 MiB instead of Pebble's 128 MiB: neither grows with
		// the data kept.
		Cleaner:             walDeleter{},
		MaxManifestFileSize: 16 << 20,
	}
	po.EnsureDefaults()
	return po
}

// pebbleLogger drops Pebble's informational logging and logs its errors
// (background flush and compaction failures, which Pebble retries) at most
// once per pebbleErrorEvery. Fatalf still stops the process, as Pebble
// expects: it is called when Pebble cannot continue (a failed write to its
// log or manifest), which the disk guard exists to prevent.
type pebbleLogger struct {
	log     *slog.Logger
	lastErr atomic.Int64 // unix nanoseconds of the last logged error
}

const pebbleErrorEvery = 10 * time.Second

func (*pebbleLogger) Infof(string, ...any) {}

func (l *pebbleLogger) Errorf(format string, args ...any) {
	now := time.Now().UnixNano()
	last := l.lastErr.Load()
	if now-last < int64(pebbleErrorEvery) || !l.lastErr.CompareAndSwap(last, now) {
		return
	}
	l.log.Error("tsdb: pebble: "+fmt.Sprintf(format, args...), "note", "retried by pebble; further errors within 10s are not logged")
}

func (l *pebbleLogger) Fatalf(format string, args ...any) {
	msg := fmt.Sprintf("pebble: "+format, args...)
	l.log.Error("tsdb: fatal storage error", "err", msg)
	panic(msg)
}

// load reads everything the in-memory state is built from.
func (db *DB) load() error {
	if err := db.checkFormat(); err != nil {
		return err
	}
	if err := db.loadSeries(); err != nil {
		return err
	}
	db.head = newHead(db.bucket)
	if err := db.loadHead(); err != nil {
		return err
	}
	rs, err := db.loadRollupState()
	if err != nil {
		return err
	}
	db.rollup = rs
	return nil
}

func (db *DB) checkFormat() error {
	v, ok, err := db.getMeta(keys.MetaFormatVersion)
	if err != nil {
		return err
	}
	if !ok {
		// A new database: nothing but meta may exist.
		it, err := db.pdb.NewIter(&pebble.IterOptions{LowerBound: []byte{byte(keys.KindSeries)}})
		if err != nil {
			return fmt.Errorf("tsdb: check empty: %w", err)
		}
		nonEmpty := it.First()
		if err := errors.Join(it.Error(), it.Close()); err != nil {
			return fmt.Errorf("tsdb: check empty: %w", err)
		}
		if nonEmpty {
			return fmt.Errorf("%w: data without a format version in %s", ErrFormatVersion, db.dir)
		}
		db.bucket = db.opts.bucketMillis()
		b := db.pdb.NewBatch()
		_ = b.Set(keys.MetaFormatVersion, binary.AppendUvarint(nil, FormatVersion), nil)
		_ = b.Set(keys.MetaBucketMillis, binary.AppendUvarint(nil, uint64(db.bucket)), nil)
		if err := db.commit(b, pebble.Sync); err != nil {
			return fmt.Errorf("tsdb: write format version: %w", err)
		}
		return nil
	}
	ver, w := binary.Uvarint(v)
	if w <= 0 || ver != FormatVersion {
		return fmt.Errorf("%w: %s has version %x, this build reads %d", ErrFormatVersion, db.dir, v, FormatVersion)
	}
	bv, ok, err := db.getMeta(keys.MetaBucketMillis)
	if err != nil {
		return err
	}
	bm, w := binary.Uvarint(bv)
	if !ok || w <= 0 || bm == 0 || bm > uint64(24*time.Hour/time.Millisecond) {
		return fmt.Errorf("%w: bucket duration %x", keys.ErrCorrupt, bv)
	}
	// The stored bucket duration wins over the option: chunks are keyed by it.
	db.bucket = int64(bm)
	return nil
}

// getMeta reads a small value, copying it.
func (db *DB) getMeta(k []byte) ([]byte, bool, error) {
	v, closer, err := db.pdb.Get(k)
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("tsdb: read %x: %w", k, err)
	}
	out := append([]byte(nil), v...)
	return out, true, closer.Close()
}

func (db *DB) getMetaInt(k []byte, def int64) (int64, error) {
	v, ok, err := db.getMeta(k)
	if err != nil || !ok {
		return def, err
	}
	x, w := binary.Varint(v)
	if w <= 0 {
		return def, fmt.Errorf("%w: meta %x = %x", keys.ErrCorrupt, k, v)
	}
	return x, nil
}

func (db *DB) loadSeries() error {
	it, err := db.pdb.NewIter(&pebble.IterOptions{
		LowerBound: []byte{byte(keys.KindSeries)},
		UpperBound: []byte{byte(keys.KindSeries) + 1},
	})
	if err != nil {
		return fmt.Errorf("tsdb: load series: %w", err)
	}
	var sb labels.ScratchBuilder
	for it.First(); it.Valid(); it.Next() {
		ref, err := keys.ParseSeries(it.Key())
		if err != nil {
			return errors.Join(err, it.Close())
		}
		if int(ref) != db.series.len() {
			return errors.Join(fmt.Errorf("%w: series %d follows %d", keys.ErrCorrupt, ref, db.series.len()-1), it.Close())
		}
		ls, err := DecodeLabels(&sb, it.Value())
		if err != nil {
			return errors.Join(fmt.Errorf("load series %d: %w", ref, err), it.Close())
		}
		db.series.add(&memSeries{ref: SeriesRef(ref), lset: ls})
	}
	if err := errors.Join(it.Error(), it.Close()); err != nil {
		return fmt.Errorf("tsdb: load series: %w", err)
	}
	// Postings are persisted sorted by (name, value, id): loading them
	// builds sorted lists without sorting.
	it, err = db.pdb.NewIter(&pebble.IterOptions{
		LowerBound: []byte{byte(keys.KindPostings)},
		UpperBound: []byte{byte(keys.KindPostings) + 1},
	})
	if err != nil {
		return fmt.Errorf("tsdb: load postings: %w", err)
	}
	var lastName, lastValue string
	for it.First(); it.Valid(); it.Next() {
		name, value, id, err := keys.ParsePostings(it.Key())
		if err != nil {
			return errors.Join(err, it.Close())
		}
		if int(id) >= db.series.len() {
			return errors.Join(fmt.Errorf("%w: posting for unknown series %d", keys.ErrCorrupt, id), it.Close())
		}
		// Share strings between consecutive keys of the same pair.
		if string(name) != lastName {
			lastName = string(name)
		}
		if string(value) != lastValue {
			lastValue = string(value)
		}
		db.index.AddPosting(lastName, lastValue, uint32(id))
	}
	if err := errors.Join(it.Error(), it.Close()); err != nil {
		return fmt.Errorf("tsdb: load postings: %w", err)
	}
	db.index.SetLen(uint32(db.series.len()))
	return nil
}

// Close stops the background jobs, checkpoints the head so that the next
// Open does not replay the WAL, and closes Pebble.
func (db *DB) Close() error {
	db.closeMu.Lock()
	if db.closed {
		db.closeMu.Unlock()
		return ErrClosed
	}
	db.closed = true
	db.closeMu.Unlock()
	db.bgCancel()
	db.bgWG.Wait()
	var err error
	if rerr := db.disk.check(0); rerr != nil {
		// Every accepted write is in the WAL, which the next Open replays;
		// a checkpoint would only be refused, or kill the process.
		db.opts.Logger.Warn("tsdb: closing without a checkpoint", "err", rerr)
	} else if err = db.checkpoint(); err == nil {
		err = db.compactOnClose()
	}
	db.m.unregister()
	return errors.Join(err, db.pdb.Close())
}

// enter guards a public operation against a concurrent Close.
func (db *DB) enter() error {
	db.closeMu.RLock()
	if db.closed {
		db.closeMu.RUnlock()
		return ErrClosed
	}
	return nil
}

func (db *DB) leave() { db.closeMu.RUnlock() }

func (db *DB) now() int64 { return db.opts.Now().UnixMilli() }

func (db *DB) logErr(what string, err error) {
	if errors.Is(err, ErrWriteRefused) {
		return // counted by reason, and logged when refusals begin
	}
	db.m.bgErrors.Inc()
	db.opts.Logger.Error("tsdb background job failed", "job", what, "err", err)
}
