package tsdb

import (
	"errors"
	"fmt"
	"math"
	"runtime"
	"sort"
	"sync"
	"sync/atomic"

	"github.com/VictoriaMetrics/metrics"
	"github.com/wardmetrics/ward/tsdb/internal/chunk"
)

// A series with many chunks (a long range) is decoded in one go by two
// goroutines, each taking half of the chunks into its own part of the
// iterator's buffers, joined before the first sample is returned: decoding
// dominates a long read, and no goroutine outlives the call, so nothing
// leaks if the caller stops early. Memory stays one decoded series per
// iterator, which matters because PromQL expands every series of a Select
// before iterating them.
const parallelDecodeMinChunks = 6

// decodeWork is what decoding a series needs: two decoders (one per
// goroutine) and the buffers the samples go to. An iterator owns one; a
// prefetch owns one until the iterator that takes the prefetched samples
// swaps its own for it.
type decodeWork struct {
	dec, dec2 chunk.Decoder
	ts        []int64
	vs        []float64
}

// work returns the iterator's decodeWork, made on first use.
func (it *sampleIter) work() *decodeWork {
	if it.w == nil {
		it.w = new(decodeWork)
	}
	return it.w
}

func (it *sampleIter) loadParallel(minT int64) bool {
	s := it.s
	it.ci = len(s.chunks)
	ts, vs, err := decodeSeries(s, minT, it.work(), true)
	if err != nil {
		it.fail(err)
		return false
	}
	it.ts, it.vs = ts, vs
	it.trim(max(s.mint, minT), s.maxt)
	if len(it.ts) > 0 {
		it.i = 0
		return true
	}
	return it.load(minT) // only head samples remain
}

// decodeSeries decodes every disk chunk of s that may hold samples at or
// after max(minT, s.mint) into w's buffers, untrimmed; with split, half of
// the chunks on another goroutine.
func decodeSeries(s *series, minT int64, w *decodeWork, split bool) ([]int64, []float64, error) {
	from := 0
	for from < len(s.chunks) && s.chunks[from].start+s.bucketMs <= max(minT, s.mint) {
		from++
	}
	cs := s.chunks[from:]
	sizes := make([]int, len(cs)+1) // prefix sums of sample counts
	for i, c := range cs {
		n, err := chunk.RawLen(c.data)
		if err != nil {
			return nil, nil, fmt.Errorf("tsdb: chunk of %s at %d: %w", s.lset, c.start, err)
		}
		sizes[i+1] = sizes[i] + n
	}
	total := sizes[len(cs)]
	if cap(w.ts) < total {
		w.ts, w.vs = make([]int64, total), make([]float64, total)
	}
	ts, vs := w.ts[:total], w.vs[:total]
	// Split where half the samples are.
	mid := sort.SearchInts(sizes, total/2)
	decodeRange := func(dec *chunk.Decoder, lo, hi int) error {
		for i := lo; i < hi; i++ {
			c := cs[i]
			a, b := sizes[i], sizes[i+1]
			gts, gvs, err := dec.DecodeRaw(c.data, c.start, ts[a:a:b], vs[a:a:b])
			if err != nil {
				return fmt.Errorf("tsdb: decode chunk of %s at %d: %w", s.lset, c.start, err)
			}
			if len(gts) != b-a || &gts[0] != &ts[a] || &gvs[0] != &vs[a] {
				return fmt.Errorf("tsdb: chunk of %s at %d: %w: sample count changed", s.lset, c.start, chunk.ErrCorrupt)
			}
		}
		return nil
	}
	var errB error
	var wg sync.WaitGroup
	if split && runtime.GOMAXPROCS(0) > 1 && mid > 0 && mid < len(cs) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errB = decodeRange(&w.dec2, mid, len(cs))
		}()
	} else {
		mid = len(cs)
	}
	errA := decodeRange(&w.dec, 0, mid)
	wg.Wait()
	if err := errors.Join(errA, errB); err != nil {
		return nil, nil, err
	}
	return ts, vs, nil
}

// A full read of many long series (a dashboard over weeks, an export)
// spends its time decoding, while the caller iterates one series at a time
// in the set's order. So when an iterator is made for a series of a set, a
// goroutine starts decoding the next readAheadSeries series of the set, one
// after another, and their iterators take the results: the caller's
// iteration overlaps the decoding, and the decoding runs without pause on
// the other core. Only series long enough to be worth it (as many chunks as
// parallel decoding wants) are decoded ahead, so short reads (alerting, the
// guard) start no goroutine. A read-ahead goroutine decodes at most
// readAheadSeries series and exits, so memory stays within that many
// decoded series per reader, and one nobody takes leaks nothing: its
// buffers are garbage.
const readAheadSeries = 4

// readAhead is the read-ahead state of one series set.
type readAhead struct {
	list    []*series
	running atomic.Int32 // read-ahead goroutines decoding
	next    atomic.Int64 // index of the next series they look at
	pos     atomic.Int64 // index of the series an iterator was last made for
	mu      sync.Mutex
	free    []*decodeWork // buffers given up by iterators
	// used counts the prefetches taken.
	used *metrics.Counter
}

// prefetch is one series decoded ahead.
type prefetch struct {
	done chan struct{}
	w    *decodeWork
	ts   []int64
	vs   []float64
	err  error
}

// prefetchTaken marks a series whose prefetch was taken, or whose iterator
// came first, so that no prefetch starts for it any more.
var prefetchTaken = new(prefetch)

// seriesLink is what a series of a set knows for reading ahead.
type seriesLink struct {
	ra  *readAhead
	idx int                      // its index in ra.list
	pre atomic.Pointer[prefetch] // its prefetch, prefetchTaken, or nil
}

// newReadAhead links the series of a set for reading ahead.
func newReadAhead(list []*series, used *metrics.Counter) {
	ra := &readAhead{list: list, used: used}
	for i, s := range list {
		s.ra, s.idx = ra, i
	}
}

// taken is called when an iterator is made for s, with the buffers the
// iterator gave up (or nil): it keeps them for later prefetches and makes
// sure the series after s are being decoded.
func (ra *readAhead) taken(s *series, spare *decodeWork) {
	if spare != nil {
		ra.mu.Lock()
		if len(ra.free) < readAheadSeries+1 {
			ra.free = append(ra.free, spare)
		}
		ra.mu.Unlock()
	}
	ra.pos.Store(int64(s.idx))
	for ra.want() && ra.start() {
		go ra.decode()
	}
}

// readAheadWorkers is how many goroutines of a set decode ahead at most:
// with the reader, enough to keep both cores of a small machine busy.
const readAheadWorkers = 2

// start counts one more read-ahead goroutine, if fewer than
// readAheadWorkers (and GOMAXPROCS) run.
func (ra *readAhead) start() bool {
	limit := int32(min(readAheadWorkers, runtime.GOMAXPROCS(0)))
	for {
		n := ra.running.Load()
		if n >= limit {
			return false
		}
		if ra.running.CompareAndSwap(n, n+1) {
			return true
		}
	}
}

// want reports whether the next series to look at is within
// readAheadSeries of the reader's position and long enough to decode
// ahead.
func (ra *readAhead) want() bool {
	pos := int(ra.pos.Load())
	j := max(int(ra.next.Load()), pos+1)
	return j < len(ra.list) && j <= pos+readAheadSeries && len(ra.list[j].chunks) >= parallelDecodeMinChunks
}

// decode decodes, in order, the series up to readAheadSeries after the
// reader's position that no iterator took yet, and exits when they are
// all taken on: the reader's next iterator starts it again.
func (ra *readAhead) decode() {
	for {
		for {
			pos := int(ra.pos.Load())
			next := ra.next.Load()
			j := max(int(next), pos+1)
			if j >= len(ra.list) || j > pos+readAheadSeries {
				break
			}
			if !ra.next.CompareAndSwap(next, int64(j+1)) {
				continue // another goroutine took j on
			}
			s := ra.list[j]
			if len(s.chunks) < parallelDecodeMinChunks {
				continue
			}
			p := &prefetch{done: make(chan struct{}), w: ra.buffers()}
			if !s.pre.CompareAndSwap(nil, p) {
				continue
			}
			p.ts, p.vs, p.err = decodeSeries(s, math.MinInt64, p.w, false)
			close(p.done)
		}
		ra.running.Add(-1)
		// The reader may have moved on between the check above and
		// now, seen this goroutine running, and not started another.
		if !ra.want() || !ra.start() {
			return
		}
	}
}

// buffers returns a decodeWork an iterator gave up, or a new one.
func (ra *readAhead) buffers() *decodeWork {
	ra.mu.Lock()
	defer ra.mu.Unlock()
	if n := len(ra.free); n > 0 {
		w := ra.free[n-1]
		ra.free = ra.free[:n-1]
		return w
	}
	return new(decodeWork)
}

// takePrefetch returns s's prefetch, waiting for it to finish, or nil if
// none was started; either way no prefetch of s starts after it. Only the
// first iterator of s takes it: a second one decodes for itself, because
// the first owns the buffers.
func takePrefetch(s *series) *prefetch {
	p := s.pre.Swap(prefetchTaken)
	if p == nil || p == prefetchTaken {
		return nil
	}
	<-p.done
	s.ra.used.Inc()
	return p
}
