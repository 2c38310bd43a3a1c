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
	"math"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/cockroachdb/pebble/v2"
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
	popts := pebbleOptions(&opts)
	pdb, err := pebble.Open(dir, popts)
	if err != nil {
		return nil, fmt.Errorf("tsdb: open pebble in %s: %w", dir, err)
	}
	db := &DB{
		opts:    opts,
		dir:     dir,
		pdb:     pdb,
		popts:   popts,
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

func pebbleOptions(o *Options) *pebble.Options {
	po := &pebble.Options{
		FormatMajorVersion:          pebble.FormatNewest,
		MemTableSize:                o.MemTableSize,
		MemTableStopWritesThreshold: 4,
		L0CompactionThreshold:       4,
		L0StopWritesThreshold:       1000,
		LBaseMaxBytes:               64 << 20,
		CacheSize:                   o.CacheSize,
		Logger:                      quietLogger{},
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

// quietLogger drops Pebble's informational logging; errors surface through
// returned errors and Fatalf still stops the process as Pebble expects.
type quietLogger struct{}

func (quietLogger) Infof(string, ...any)  {}
func (quietLogger) Errorf(string, ...any) {}
func (quietLogger) Fatalf(format string, args ...any) {
	panic(fmt.Sprintf("pebble: "+format, args...))
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
		if err := b.Commit(pebble.Sync); err != nil {
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
		ls, err := decodeLabels(&sb, it.Value())
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
	err := db.checkpoint()
	if err == nil {
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
	db.m.bgErrors.Inc()
	db.opts.Logger.Error("tsdb background job failed", "job", what, "err", err)
}
