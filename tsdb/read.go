package tsdb

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"runtime"
	"sort"
	"sync"

	"github.com/cockroachdb/pebble/v2"
	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
	"github.com/wardmetrics/ward/tsdb/internal/keys"
)

// diskChunk is an encoded raw chunk copied out of Pebble.
type diskChunk struct {
	start int64
	data  []byte
}

// series is one selected series: its encoded chunks from disk and its
// samples copied from the head, decoded lazily by its iterator.
type series struct {
	lset     labels.Labels
	chunks   []diskChunk
	headTs   []int64
	headVs   []float64
	mint     int64
	maxt     int64
	bucketMs int64
	seriesLink
}

func (s *series) Labels() labels.Labels { return s.lset }

func (s *series) Iterator(it chunkenc.Iterator) chunkenc.Iterator {
	si, ok := it.(*sampleIter)
	if !ok {
		si = &sampleIter{}
	}
	si.reset(s)
	return si
}

// headSnapshot captures, under the head lock, what is on disk and what is
// in memory, and opens a Pebble iterator at that same moment.
type headSnapshot struct {
	sealed  int64
	buckets []*headBucket
	iter    *pebble.Iterator
}

func (db *DB) snapshot(mint, maxt int64, withIter bool) (*headSnapshot, error) {
	h := db.head
	h.mu.RLock()
	defer h.mu.RUnlock()
	snap := &headSnapshot{sealed: h.sealed}
	for _, b := range h.buckets {
		if b.start <= maxt && b.start+h.bucket > mint {
			snap.buckets = append(snap.buckets, b)
		}
	}
	if withIter {
		lo := keys.ChunkBucket(h.bucketStart(mint))
		hiT := h.sealed
		if maxt < math.MaxInt64-h.bucket && h.bucketStart(maxt)+h.bucket < hiT {
			hiT = h.bucketStart(maxt) + h.bucket
		}
		hi := keys.ChunkBucket(hiT)
		if hiT == math.MinInt64 || string(lo) >= string(hi) {
			return snap, nil
		}
		it, err := db.pdb.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: hi})
		if err != nil {
			return nil, fmt.Errorf("tsdb: open chunk iterator: %w", err)
		}
		snap.iter = it
	}
	return snap, nil
}

// readRaw builds the series set of refs over [mint, maxt] from raw chunks
// and the head.
func (db *DB) readRaw(ctx context.Context, refs []uint32, mint, maxt int64) (storage.SeriesSet, error) {
	out, err := db.rawSeries(ctx, refs, mint, maxt)
	if err != nil {
		return nil, err
	}
	list := make([]storage.Series, 0, len(out))
	for _, s := range out {
		if len(s.chunks) > 0 || len(s.headTs) > 0 {
			list = append(list, s)
		}
	}
	sort.Slice(list, func(i, j int) bool { return labels.Compare(list[i].Labels(), list[j].Labels()) < 0 })
	linked := make([]*series, len(list))
	for i, s := range list {
		linked[i] = s.(*series)
	}
	newReadAhead(linked, db.m.readAhead)
	return &seriesSet{list: list}, nil
}

// rawSeries returns, aligned with refs, each series' raw chunks and head
// samples over [mint, maxt], read from one consistent snapshot.
//
// Reads of many series over short windows (alerting, the deploy guard) are
// dominated by allocation, so everything here is allocated in bulk: the
// series in one slab, chunk copies in a geometric byte arena, the chunk
// lists in one slice, and head samples in shared int64/float64 arenas, each
// series getting a capacity-limited window so that nothing it appends can
// spill into a neighbour.
func (db *DB) rawSeries(ctx context.Context, refs []uint32, mint, maxt int64) ([]*series, error) {
	snap, err := db.snapshot(mint, maxt, true)
	if err != nil {
		return nil, err
	}
	db.series.mu.RLock()
	by := db.series.byRef
	db.series.mu.RUnlock()
	slab := make([]series, len(refs))
	out := make([]*series, len(refs))
	for i, r := range refs {
		slab[i] = series{lset: by[r].lset, mint: mint, maxt: maxt, bucketMs: db.bucket}
		out[i] = &slab[i]
	}
	if snap.iter != nil {
		type found struct {
			i int
			c diskChunk
		}
		var all []found
		var arena byteArena
		err := db.collectChunks(ctx, snap.iter, refs, snap.sealed, mint, maxt, func(i int, start int64, v []byte) {
			all = append(all, found{i, diskChunk{start, arena.copy(v)}})
		})
		if err = errors.Join(err, snap.iter.Close()); err != nil {
			return nil, err
		}
		// Distribute into one backing slice: a counting sort by series,
		// stable, so each series keeps its chunks in time order.
		if len(all) > 0 {
			counts := make([]int, len(refs)+1)
			for _, f := range all {
				counts[f.i+1]++
			}
			for i := 1; i <= len(refs); i++ {
				counts[i] += counts[i-1]
			}
			cs := make([]diskChunk, len(all))
			for i := range refs {
				lo, hi := counts[i], counts[i+1]
				if hi > lo {
					out[i].chunks = cs[lo:lo:hi]
				}
			}
			for _, f := range all {
				s := out[f.i]
				s.chunks = append(s.chunks, f.c)
			}
		}
	}
	if len(snap.buckets) > 0 {
		// Decoding head streams is the serial part of a wide Select: split
		// it between two goroutines, joined here.
		mid := len(refs) / 2
		if runtime.GOMAXPROCS(0) < 2 || len(refs) < parallelHeadMinSeries {
			mid = 0
		}
		var wg sync.WaitGroup
		if mid > 0 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				db.headSamples(snap.buckets, refs[:mid], out[:mid], mint, maxt)
			}()
		}
		db.headSamples(snap.buckets, refs[mid:], out[mid:], mint, maxt)
		wg.Wait()
	}
	return out, nil
}

// parallelHeadMinSeries is the number of series from which rawSeries
// decodes head streams with two goroutines.
const parallelHeadMinSeries = 512

// headSamples copies the samples of refs in [mint, maxt] from the snapshot's
// head buckets into out. The head lock is taken per series, so a large read
// never holds writers back for long.
func (db *DB) headSamples(buckets []*headBucket, refs []uint32, out []*series, mint, maxt int64) {
	h := db.head
	var tsArena []int64
	var vsArena []float64
	var scratch []byte
	for i, r := range refs {
		s := out[i]
		h.mu.RLock()
		n := 0
		for _, b := range buckets {
			if int(r) < len(b.series) && b.series[r] != nil {
				n += b.series[r].maxSamples()
			}
		}
		if n == 0 {
			h.mu.RUnlock()
			continue
		}
		if cap(tsArena)-len(tsArena) < n {
			size := max(n, min(2*cap(tsArena), 1<<16), 1<<10)
			tsArena, vsArena = make([]int64, 0, size), make([]float64, 0, size)
		}
		off := len(tsArena)
		ts, vs := tsArena[off:off:off+n], vsArena[off:off:off+n]
		for _, b := range buckets {
			if int(r) < len(b.series) && b.series[r] != nil {
				ts, vs, scratch = b.series[r].samplesIn(ts, vs, mint, maxt, scratch)
			}
		}
		h.mu.RUnlock()
		if len(ts) == 0 {
			continue
		}
		s.headTs, s.headVs = ts[:len(ts):len(ts)], vs[:len(vs):len(vs)]
		// n bounds what the lock-held decode can return, so ts is still
		// the arena's window; the check only keeps that assumption safe.
		if len(ts) <= n {
			tsArena, vsArena = tsArena[:off+len(ts)], vsArena[:off+len(ts)]
		}
	}
}

// byteArena copies Pebble values (valid only until the iterator moves) into
// blocks that grow geometrically from 4 KiB to 1 MiB, so that a small read
// allocates little and a large one allocates few times.
type byteArena struct{ buf []byte }

func (a *byteArena) copy(v []byte) []byte {
	if len(a.buf)+len(v) > cap(a.buf) {
		a.buf = make([]byte, 0, max(min(2*cap(a.buf), 1<<20), 4<<10, len(v)))
	}
	off := len(a.buf)
	a.buf = append(a.buf, v...)
	return a.buf[off:len(a.buf):len(a.buf)]
}

// collectChunks walks the raw buckets overlapping [mint, maxt] below sealed
// and calls fn with the index in refs (sorted) and each chunk, valid only
// during the call.
func (db *DB) collectChunks(ctx context.Context, it *pebble.Iterator, refs []uint32, sealed, mint, maxt int64, fn func(i int, start int64, v []byte)) error {
	return joinTimeKeys(ctx, it, []byte{byte(keys.KindChunk)}, refs, floorTo(mint, db.bucket), min(sealed-1, maxt), fn)
}

// joinTimeKeys walks keys laid out as prefix | time (8) | series id (4),
// for every time in [from, to] that has keys, calling fn with the index in
// refs (sorted ascending) and the value of each key whose id is in refs.
// The value is Pebble's, valid only during the call: a caller keeping it
// copies it. Within one time, keys are sorted by id, so the walk is a merge
// join that steps with Next over dense selections and seeks over sparse
// ones; between times it seeks to the next time that exists, so sparse or
// open-ended ranges cost one seek per time with data.
func joinTimeKeys(ctx context.Context, it *pebble.Iterator, prefix []byte, refs []uint32, from, to int64, fn func(i int, start int64, v []byte)) error {
	if len(refs) == 0 || from > to {
		return nil
	}
	pl := len(prefix)
	klen := pl + 12
	key := make([]byte, 0, klen)
	mk := func(t int64, id uint32) []byte {
		key = append(key[:0], prefix...)
		key = keys.AppendTime(key, t)
		return binary.BigEndian.AppendUint32(key, id)
	}
	valid := it.SeekGE(mk(from, 0))
	for valid {
		if err := ctx.Err(); err != nil {
			return err
		}
		k := it.Key()
		if len(k) != klen || !bytes.Equal(k[:pl], prefix) {
			break
		}
		b := keys.ParseTime(k[pl : pl+8])
		if b > to {
			break
		}
		i := 0
		valid = it.SeekGE(mk(b, refs[0]))
		for valid && i < len(refs) {
			k := it.Key()
			if len(k) != klen || !bytes.Equal(k[:pl], prefix) || keys.ParseTime(k[pl:pl+8]) != b {
				break
			}
			id := binary.BigEndian.Uint32(k[pl+8:])
			switch {
			case id < refs[i]:
				if refs[i]-id > 16 {
					valid = it.SeekGE(mk(b, refs[i]))
				} else {
					valid = it.Next()
				}
			case id > refs[i]:
				i += sort.Search(len(refs)-i, func(j int) bool { return refs[i+j] >= id })
			default:
				fn(i, b, it.Value())
				i++
				valid = it.Next()
			}
		}
		if err := it.Error(); err != nil {
			return fmt.Errorf("tsdb: read keys at %d: %w", b, err)
		}
		if b == math.MaxInt64 {
			break
		}
		valid = it.SeekGE(mk(b+1, 0))
	}
	return it.Error()
}

// sampleIter iterates a series: its disk chunks, then its head samples.
type sampleIter struct {
	s      *series
	ci     int     // next disk chunk to decode
	ts     []int64 // current block: a view of bts/bvs or of the head copy
	vs     []float64
	w      *decodeWork // decoders and buffers, owned by the iterator
	i      int
	inHead bool
	err    error
}

func (it *sampleIter) reset(s *series) {
	it.s, it.ci, it.i, it.inHead, it.err = s, 0, -1, false, nil
	it.ts, it.vs = nil, nil
	// The iterator is handed back for reuse: whatever it decoded before
	// is given up, so its buffers can take a prefetch.
	if s.ra == nil {
		return
	}
	var spare *decodeWork
	if p := takePrefetch(s); p != nil {
		spare, it.w = it.w, p.w
		it.ci = len(s.chunks)
		if p.err != nil {
			it.fail(p.err)
		} else {
			it.ts, it.vs = p.ts, p.vs
			it.trim(s.mint, s.maxt)
		}
	}
	s.ra.taken(s, spare)
}

// load decodes the next block with samples in range; false at the end.
func (it *sampleIter) load(minT int64) bool {
	s := it.s
	if it.ci == 0 && len(s.chunks) >= parallelDecodeMinChunks {
		return it.loadParallel(minT)
	}
	for it.ci < len(s.chunks) {
		c := s.chunks[it.ci]
		it.ci++
		if c.start+s.bucketMs <= minT {
			continue // whole chunk before the seek target
		}
		w := it.work()
		var err error
		w.ts, w.vs, err = w.dec.DecodeRaw(c.data, c.start, w.ts[:0], w.vs[:0])
		it.ts, it.vs = w.ts, w.vs
		if err != nil {
			it.fail(fmt.Errorf("tsdb: decode chunk of %s at %d: %w", s.lset, c.start, err))
			return false
		}
		it.trim(max(s.mint, minT), s.maxt)
		if len(it.ts) > 0 {
			it.i = 0
			return true
		}
	}
	if !it.inHead {
		it.inHead = true
		it.ts, it.vs = s.headTs, s.headVs
		it.trim(minT, math.MaxInt64)
		if len(it.ts) > 0 {
			it.i = 0
			return true
		}
	}
	it.ts, it.vs = nil, nil
	return false
}

// fail records err and empties the block, so that Next stops.
func (it *sampleIter) fail(err error) {
	it.err = err
	it.ts, it.vs, it.i = nil, nil, 0
}

func (it *sampleIter) trim(mint, maxt int64) {
	lo := 0
	if len(it.ts) > 0 && it.ts[0] < mint {
		lo = sort.Search(len(it.ts), func(i int) bool { return it.ts[i] >= mint })
	}
	hi := len(it.ts)
	if hi > 0 && it.ts[hi-1] > maxt {
		hi = sort.Search(len(it.ts), func(i int) bool { return it.ts[i] > maxt })
	}
	it.ts, it.vs = it.ts[lo:hi], it.vs[lo:hi]
}

// Next is called once per sample through an interface: the common case
// is one increment and one compare. An error empties ts (see fail), so
// it is checked only when the block runs out.
func (it *sampleIter) Next() chunkenc.ValueType {
	it.i++
	if it.i < len(it.ts) {
		return chunkenc.ValFloat
	}
	if it.err != nil {
		return chunkenc.ValNone
	}
	if it.load(math.MinInt64) {
		return chunkenc.ValFloat
	}
	return chunkenc.ValNone
}

// millis is int64 under another name: go vet's stdmethods check mistakes
// any Seek(int64) for io.Seeker, and Prometheus' iterator interface has one.
type millis = int64

func (it *sampleIter) Seek(t millis) chunkenc.ValueType {
	if it.err != nil {
		return chunkenc.ValNone
	}
	if it.i >= 0 && it.i < len(it.ts) && it.ts[it.i] >= t {
		return chunkenc.ValFloat
	}
	if it.i < 0 {
		it.i = 0
	}
	if n := len(it.ts); n > 0 && it.ts[n-1] >= t {
		it.i += sort.Search(n-it.i, func(j int) bool { return it.ts[it.i+j] >= t })
		return chunkenc.ValFloat
	}
	for it.load(t) {
		if n := len(it.ts); n > 0 && it.ts[n-1] >= t {
			it.i = sort.Search(n, func(j int) bool { return it.ts[j] >= t })
			return chunkenc.ValFloat
		}
	}
	it.i = len(it.ts)
	return chunkenc.ValNone
}

func (it *sampleIter) At() (int64, float64) { return it.ts[it.i], it.vs[it.i] }

func (it *sampleIter) AtHistogram(*histogram.Histogram) (int64, *histogram.Histogram) {
	return it.ts[it.i], nil
}

func (it *sampleIter) AtFloatHistogram(*histogram.FloatHistogram) (int64, *histogram.FloatHistogram) {
	return it.ts[it.i], nil
}

func (it *sampleIter) AtT() int64  { return it.ts[it.i] }
func (it *sampleIter) AtST() int64 { return 0 }
func (it *sampleIter) Err() error  { return it.err }
