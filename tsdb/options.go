package tsdb

import (
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// SyncPolicy says when an Append is made durable.
type SyncPolicy int

const (
	// SyncEachBatch fsyncs every Append before it returns, so a power loss
	// loses at most the flush batch in flight. It is the default.
	SyncEachBatch SyncPolicy = iota
	// SyncNone leaves fsync to the operating system: a process crash loses
	// nothing, a power loss may lose the last few seconds.
	SyncNone
)

// String implements fmt.Stringer.
func (p SyncPolicy) String() string {
	switch p {
	case SyncEachBatch:
		return "each-batch"
	case SyncNone:
		return "none"
	}
	return fmt.Sprintf("SyncPolicy(%d)", int(p))
}

// Defaults applied by EnsureDefaults.
const (
	DefaultRetentionRaw     = 15 * 24 * time.Hour
	DefaultRetention5m      = 180 * 24 * time.Hour
	DefaultRetention1h      = 2 * 365 * 24 * time.Hour
	DefaultOutOfOrderWindow = 10 * time.Minute
	DefaultBucketDuration   = 2 * time.Hour
	DefaultLookbackDelta    = 5 * time.Minute
	DefaultMaintenanceEvery = time.Minute
	DefaultMaxFuture        = 10 * time.Minute
	DefaultCacheSize        = 64 << 20
	DefaultMemTableSize     = 128 << 20
)

// AutoBallast as Options.DiskBallast sizes the ballast file from the reserve.
const AutoBallast = -1

// Options configure a DB. The zero value is usable; Open calls EnsureDefaults.
type Options struct {
	// RetentionRaw, Retention5m and Retention1h bound how long each
	// resolution is kept, measured from Now. Zero means the default
	// (15 days, 180 days, 2 years); a negative value keeps data forever.
	// Raw data is never deleted before it has been rolled up.
	RetentionRaw, Retention5m, Retention1h time.Duration
	// OutOfOrderWindow is how far behind the newest sample a sample may be
	// and still be accepted (last write wins). Older samples are rejected and
	// counted. Zero means the default (10 minutes); negative means samples
	// must not be older than the newest one at all.
	OutOfOrderWindow time.Duration
	// MaxFuture rejects samples more than this ahead of Now, so that one bad
	// clock cannot push the head forward and make every later sample "too
	// old". Zero means the default (10 minutes); negative disables the check.
	MaxFuture time.Duration
	// Sync says when Append is durable. The zero value is SyncEachBatch.
	Sync SyncPolicy
	// BucketDuration is the span of one raw chunk (one key per series per
	// bucket). It is fixed when the database is created and must divide a
	// day and be a multiple of 5 minutes. Zero means 2 hours.
	BucketDuration time.Duration
	// LookbackDelta must equal the PromQL engine's lookback delta: reads of
	// rollups for instant selectors emit one point per LookbackDelta so that
	// every evaluation step finds a value. Zero means 5 minutes.
	LookbackDelta time.Duration
	// MaintenanceEvery is how often the background job computes rollups
	// and enforces retention. Zero means one minute.
	MaintenanceEvery time.Duration
	// CacheSize and MemTableSize tune Pebble. Zero means 64 MiB and 128
	// MiB: a memtable large enough that most WAL records are deleted
	// (when their bucket seals) before a flush would write them out.
	CacheSize    int64
	MemTableSize uint64
	// Now is the clock for retention and MaxFuture. Nil means time.Now.
	Now func() time.Time
	// Logger receives background errors. Nil discards them (they are still
	// counted in ward_tsdb_background_errors_total).
	Logger *slog.Logger

	// DiskReserve is the free space (bytes) the data directory's file
	// system must keep: a write that would leave less is refused with a
	// *WriteRefusedError (ErrDiskFull) before it reaches Pebble, which
	// cannot survive running out of space, and writes resume by themselves
	// once a quarter of the reserve more is free again. Zero means 1% of
	// the file system, at least 64 MiB and at most 1 GiB, but at most a
	// tenth of the file system: with a ballast of as much, room for what
	// Pebble may write after writes stop (a memtable flush, at most
	// MemTableSize and mostly deleted WAL records; a manifest rewrite, at
	// most 16 MiB). Negative turns the check off (a read-only file system
	// is still refused).
	DiskReserve int64
	// DiskBallast is the size of a ballast file kept in the directory
	// (ward-ballast, its blocks allocated) and removed when Pebble meets a
	// full disk anyway — another process took the reserve — so that the
	// write or flush in progress can finish; it is recreated when writes
	// resume. Zero means no ballast; AutoBallast means the reserve's size,
	// at most 64 MiB: room for a memtable flush of Ward's batches.
	DiskBallast int64

	// statFS replaces statfs in tests, which simulate a full disk with it.
	statFS func(dir string) (fsStat, error)

	// walCompactBytes overrides walCompactThreshold in tests, which cannot
	// write tens of MB of WAL records quickly.
	walCompactBytes uint64
}

// EnsureDefaults fills zero fields with their defaults and returns o.
func (o *Options) EnsureDefaults() *Options {
	if o.RetentionRaw == 0 {
		o.RetentionRaw = DefaultRetentionRaw
	}
	if o.Retention5m == 0 {
		o.Retention5m = DefaultRetention5m
	}
	if o.Retention1h == 0 {
		o.Retention1h = DefaultRetention1h
	}
	if o.OutOfOrderWindow == 0 {
		o.OutOfOrderWindow = DefaultOutOfOrderWindow
	}
	if o.OutOfOrderWindow < 0 {
		o.OutOfOrderWindow = 0
	}
	if o.MaxFuture == 0 {
		o.MaxFuture = DefaultMaxFuture
	}
	if o.BucketDuration == 0 {
		o.BucketDuration = DefaultBucketDuration
	}
	if o.LookbackDelta == 0 {
		o.LookbackDelta = DefaultLookbackDelta
	}
	if o.MaintenanceEvery == 0 {
		o.MaintenanceEvery = DefaultMaintenanceEvery
	}
	if o.CacheSize == 0 {
		o.CacheSize = DefaultCacheSize
	}
	if o.MemTableSize == 0 {
		o.MemTableSize = DefaultMemTableSize
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// Validate reports options that cannot work. Call it after EnsureDefaults.
func (o *Options) Validate() error {
	var errs []error
	if o.BucketDuration <= 0 || (24*time.Hour)%o.BucketDuration != 0 || o.BucketDuration%(5*time.Minute) != 0 {
		errs = append(errs, fmt.Errorf("tsdb: bucket duration %v must divide 24h and be a multiple of 5m", o.BucketDuration))
	}
	if o.OutOfOrderWindow >= 24*time.Hour {
		errs = append(errs, fmt.Errorf("tsdb: out-of-order window %v must be under 24h", o.OutOfOrderWindow))
	}
	if o.LookbackDelta <= 0 {
		errs = append(errs, fmt.Errorf("tsdb: lookback delta %v must be positive", o.LookbackDelta))
	}
	if o.MaintenanceEvery <= 0 {
		errs = append(errs, fmt.Errorf("tsdb: maintenance interval %v must be positive", o.MaintenanceEvery))
	}
	if o.Sync != SyncEachBatch && o.Sync != SyncNone {
		errs = append(errs, fmt.Errorf("tsdb: unknown sync policy %d", int(o.Sync)))
	}
	if o.DiskBallast < AutoBallast {
		errs = append(errs, fmt.Errorf("tsdb: disk ballast %d must be a size or AutoBallast", o.DiskBallast))
	}
	if o.CacheSize < 0 || o.MemTableSize < 1<<20 {
		errs = append(errs, fmt.Errorf("tsdb: cache size %d and memtable size %d must be non-negative and at least 1 MiB", o.CacheSize, o.MemTableSize))
	}
	return errors.Join(errs...)
}

func (o *Options) bucketMillis() int64 { return o.BucketDuration.Milliseconds() }
