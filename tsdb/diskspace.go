package tsdb

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/cockroachdb/pebble/v2"
	"golang.org/x/sys/unix"
)

// Pebble cannot survive a failed write to its log or manifest: the commit
// pipeline stays broken and Pebble calls Logger.Fatalf, which stops the
// process. So, like CockroachDB, the DB never lets Pebble run out of space:
// every write checks the data directory's free space first (one statfs,
// about a microsecond) and is refused with a *WriteRefusedError while it is
// below the reserve, or while the file system is read-only. Reads go on,
// nothing in memory changes for a refused write, and writes resume by
// themselves once space is back above the reserve plus a hysteresis.
//
// The check cannot stop another process from taking the last bytes between
// it and Pebble's write. For that the DB may keep a ballast file
// (Options.DiskBallast): Pebble's file system is wrapped so that an
// ENOSPC removes the ballast and retries the failed operation once (Pebble's
// vfs.OnDiskFull), which then has the ballast's space to finish; the
// ballast is recreated when writes resume.

var (
	// ErrWriteRefused is matched (errors.Is) by every *WriteRefusedError.
	ErrWriteRefused = errors.New("tsdb: write refused")
	// ErrDiskFull is matched by a *WriteRefusedError for a data directory
	// whose free space is below the reserve.
	ErrDiskFull = errors.New("tsdb: disk full")
)

// Reasons of a WriteRefusedError, also the reason label of
// ward_tsdb_writes_refused_total.
const (
	RefusedDiskFull = "disk_full" // free space below the reserve
	RefusedReadOnly = "read_only" // the file system is mounted read-only
	RefusedFailed   = "failed"    // a write failed inside Pebble; reopen the DB
)

// WriteRefusedError reports a write the DB refused without touching Pebble
// or its in-memory state: the caller keeps what it meant to write and
// tries again later. Disk-full and read-only refusals end by themselves when
// the condition does; a "failed" refusal lasts until the DB is reopened.
type WriteRefusedError struct {
	Dir    string
	Reason string // RefusedDiskFull, RefusedReadOnly or RefusedFailed
	// Avail and Size are the file system's free (for unprivileged users)
	// and total bytes, Reserve the free space every write must leave, and
	// Need the free space the refused write needed: the reserve plus the
	// write's size, and while refusing a quarter of the reserve more (and
	// the ballast's size if it was used).
	Avail, Size, Reserve, Need uint64
	// Err is the underlying error of a "failed" refusal.
	Err error
}

// Error says what was refused and why, with the figures.
func (e *WriteRefusedError) Error() string {
	switch e.Reason {
	case RefusedDiskFull:
		return fmt.Sprintf("tsdb: write refused: %s has %s free of %s, writes need %s (reserve %s): %v",
			e.Dir, mib(e.Avail), mib(e.Size), mib(e.Need), mib(e.Reserve), syscall.ENOSPC)
	case RefusedReadOnly:
		return fmt.Sprintf("tsdb: write refused: %s: %v", e.Dir, syscall.EROFS)
	}
	return fmt.Sprintf("tsdb: write refused: an earlier write to %s failed and storage must be reopened: %v", e.Dir, e.Err)
}

// Is makes errors.Is(err, ErrWriteRefused) true, and ErrDiskFull for a full
// disk.
func (e *WriteRefusedError) Is(target error) bool {
	return target == ErrWriteRefused || (target == ErrDiskFull && e.Reason == RefusedDiskFull)
}

// Unwrap returns the system error the refusal stands for (ENOSPC, EROFS)
// or, for a failed write, its error.
func (e *WriteRefusedError) Unwrap() error {
	switch e.Reason {
	case RefusedDiskFull:
		return syscall.ENOSPC
	case RefusedReadOnly:
		return syscall.EROFS
	}
	return e.Err
}

func mib(b uint64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }

// fsStat is what the guard needs of statfs.
type fsStat struct {
	avail, size uint64
	readOnly    bool
}

func statFS(dir string) (fsStat, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return fsStat{}, fmt.Errorf("tsdb: statfs %s: %w", dir, err)
	}
	bs := uint64(st.Bsize)
	return fsStat{avail: st.Bavail * bs, size: st.Blocks * bs, readOnly: st.Flags&unix.ST_RDONLY != 0}, nil
}

// Bounds of the default reserve (Options.DiskReserve).
const (
	minDefaultReserve = 64 << 20
	maxDefaultReserve = 1 << 30
)

// defaultReserve is 1% of the file system, at least 64 MiB and at most
// 1 GiB, but never more than a tenth of a small file system.
func defaultReserve(size uint64) uint64 {
	r := min(max(size/100, minDefaultReserve), maxDefaultReserve)
	return min(r, size/10)
}

const ballastName = "ward-ballast"

// diskGuard decides whether a write may reach Pebble.
type diskGuard struct {
	dir        string
	stat       func(string) (fsStat, error)
	reserveOpt int64
	ballast    uint64 // ballast size, 0: none; written at Open and with mu held
	log        *slog.Logger

	// Counters by reason, set once the DB's metrics exist (nil before).
	refusedFull, refusedRO, refusedFailed *metrics.Counter

	mu       sync.Mutex
	refusing *WriteRefusedError // current disk-full or read-only refusal
	failed   error              // sticky: Pebble's log may be broken
	since    time.Time
	// ballastGone is set by Pebble's ENOSPC callback, which must not block
	// on mu (check may hold it while a commit waits on that callback).
	ballastGone atomic.Bool
	lastAvail   atomic.Uint64
	lastReserve atomic.Uint64
}

func newDiskGuard(dir string, o *Options) *diskGuard {
	g := &diskGuard{dir: dir, stat: statFS, reserveOpt: o.DiskReserve, log: o.Logger}
	if o.statFS != nil {
		g.stat = o.statFS
	}
	switch {
	case o.DiskReserve < 0:
	case o.DiskBallast > 0:
		g.ballast = uint64(o.DiskBallast)
	case o.DiskBallast == AutoBallast:
		if st, err := g.stat(dir); err == nil {
			g.ballast = min(g.reserve(st.size), maxAutoBallast)
		}
	}
	return g
}

const maxAutoBallast = 64 << 20

func (g *diskGuard) reserve(size uint64) uint64 {
	switch {
	case g.reserveOpt > 0:
		return uint64(g.reserveOpt)
	case g.reserveOpt < 0:
		return 0
	}
	return defaultReserve(size)
}

// check returns nil if a write of need bytes may go to Pebble, and a
// *WriteRefusedError otherwise, logging the first refusal of a run and the
// resumption once.
func (g *diskGuard) check(need uint64) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.failed != nil {
		inc(g.refusedFailed)
		return &WriteRefusedError{Dir: g.dir, Reason: RefusedFailed, Err: g.failed}
	}
	st, err := g.stat(g.dir)
	if err != nil {
		// Not knowing is no reason to stop storing: Pebble reports real
		// write errors itself.
		return nil
	}
	reserve := g.reserve(st.size)
	g.lastAvail.Store(st.avail)
	g.lastReserve.Store(reserve)
	var refuse *WriteRefusedError
	switch {
	case st.readOnly:
		refuse = &WriteRefusedError{Dir: g.dir, Reason: RefusedReadOnly, Avail: st.avail, Size: st.size, Reserve: reserve, Need: reserve + need}
	case reserve > 0:
		want := reserve + need
		if g.refusing != nil || g.ballastGone.Load() {
			// Resume only with room to spare (so that writes do not flap
			// around the reserve) and to recreate the ballast.
			want += reserve / 4
			if g.ballastGone.Load() {
				want += g.ballast
			}
		}
		if st.avail < want {
			refuse = &WriteRefusedError{Dir: g.dir, Reason: RefusedDiskFull, Avail: st.avail, Size: st.size, Reserve: reserve, Need: want}
		}
	}
	if refuse != nil {
		if g.refusing == nil || g.refusing.Reason != refuse.Reason {
			g.since = time.Now()
			g.log.Error("tsdb: refusing writes until space returns (or the file system is writable again); reads go on", "err", refuse)
		}
		g.refusing = refuse
		if refuse.Reason == RefusedReadOnly {
			inc(g.refusedRO)
		} else {
			inc(g.refusedFull)
		}
		return refuse
	}
	if g.ballastGone.Load() {
		if err := g.makeBallast(); err != nil {
			// Not retried on every write: go on without one.
			g.log.Warn("tsdb: cannot recreate the ballast file; continuing without one", "err", err)
			g.ballast = 0
			g.ballastGone.Store(false)
		}
	}
	if g.refusing != nil {
		g.log.Info("tsdb: writes resumed", "refused_for", time.Since(g.since).Round(time.Millisecond),
			"avail", mib(st.avail), "reserve", mib(reserve))
		g.refusing = nil
	}
	return nil
}

func inc(c *metrics.Counter) {
	if c != nil {
		c.Inc()
	}
}

// fail makes every later write refused: err came from inside Pebble (its
// log could not be written or synced), after which Pebble stops the
// process at the next commit rather than write again.
func (g *diskGuard) fail(err error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.failed == nil {
		g.failed = err
		g.log.Error("tsdb: a storage write failed; refusing writes until the storage is reopened (restart Ward)", "err", err)
	}
}

// refused reports the current refusal, if any, without checking again.
func (g *diskGuard) refused() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.failed != nil {
		return &WriteRefusedError{Dir: g.dir, Reason: RefusedFailed, Err: g.failed}
	}
	if g.refusing != nil {
		return g.refusing
	}
	return nil
}

func (g *diskGuard) ballastPath() string { return filepath.Join(g.dir, ballastName) }

// makeBallast creates (or resizes) the ballast file with its blocks
// allocated, so that removing it frees them. Called at Open and with mu
// held when writes resume.
func (g *diskGuard) makeBallast() error {
	p := g.ballastPath()
	if g.ballast == 0 {
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("tsdb: remove ballast %s: %w", p, err)
		}
		g.ballastGone.Store(false)
		return nil
	}
	if fi, err := os.Stat(p); err == nil && uint64(fi.Size()) == g.ballast {
		g.ballastGone.Store(false)
		return nil
	}
	f, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return fmt.Errorf("tsdb: create ballast %s: %w", p, err)
	}
	err = unix.Fallocate(int(f.Fd()), 0, 0, int64(g.ballast))
	if errors.Is(err, unix.EOPNOTSUPP) {
		err = writeZeros(f, g.ballast)
	}
	if err == nil {
		err = f.Sync()
	}
	if err = errors.Join(err, f.Close()); err != nil {
		_ = os.Remove(p)
		return fmt.Errorf("tsdb: allocate %s of ballast in %s: %w", mib(g.ballast), p, err)
	}
	g.ballastGone.Store(false)
	return nil
}

func writeZeros(f *os.File, n uint64) error {
	buf := make([]byte, 1<<20)
	for n > 0 {
		k := min(n, uint64(len(buf)))
		if _, err := f.Write(buf[:k]); err != nil {
			return err
		}
		n -= k
	}
	return nil
}

// onDiskFull is Pebble's ENOSPC callback (vfs.OnDiskFull): it runs while
// Pebble's writes wait, so it only removes the ballast, whose space the
// failed operation's retry then uses. Writes stay refused until the check
// sees room for the reserve and a new ballast.
func (g *diskGuard) onDiskFull() {
	g.ballastGone.Store(true)
	_ = os.Remove(g.ballastPath()) // ballast is guarded by mu, which this must not take
}

// commit applies batch after the guard allows it; a refused batch is not
// applied. Every write of the DB goes through here or through check.
func (db *DB) commit(batch *pebble.Batch, wo *pebble.WriteOptions) error {
	if err := db.disk.check(uint64(batch.Len())); err != nil {
		return err
	}
	return batch.Commit(wo)
}

// WriteRefused returns the *WriteRefusedError the DB currently answers
// writes with (as of the last write or check), or nil while writes are
// accepted.
func (db *DB) WriteRefused() error { return db.disk.refused() }
