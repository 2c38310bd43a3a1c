package tsdb

import (
	"errors"
	"fmt"
	"runtime"
	"sort"
	"sync"

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

func (it *sampleIter) loadParallel(minT int64) bool {
	s := it.s
	from := 0
	for from < len(s.chunks) && s.chunks[from].start+s.bucketMs <= max(minT, s.mint) {
		from++
	}
	cs := s.chunks[from:]
	it.ci = len(s.chunks)
	sizes := make([]int, len(cs)+1) // prefix sums of sample counts
	for i, c := range cs {
		n, err := chunk.RawLen(c.data)
		if err != nil {
			it.fail(fmt.Errorf("tsdb: chunk of %s at %d: %w", s.lset, c.start, err))
			return false
		}
		sizes[i+1] = sizes[i] + n
	}
	total := sizes[len(cs)]
	if cap(it.bts) < total {
		it.bts, it.bvs = make([]int64, total), make([]float64, total)
	}
	ts, vs := it.bts[:total], it.bvs[:total]
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
	if runtime.GOMAXPROCS(0) > 1 && mid > 0 && mid < len(cs) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errB = decodeRange(&it.dec2, mid, len(cs))
		}()
	} else {
		mid = len(cs)
	}
	errA := decodeRange(&it.dec, 0, mid)
	wg.Wait()
	if err := errors.Join(errA, errB); err != nil {
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
