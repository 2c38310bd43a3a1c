package tsdb

import (
	"math"
	"slices"
	"sort"
	"sync"

	"github.com/wardmetrics/ward/tsdb/internal/chunk"
)

// head holds the open buckets: every sample not yet sealed into a raw
// chunk on disk. Buckets are sealed (encoded, written as one key per series,
// and dropped from memory) once the newest sample is a whole out-of-order
// window past their end, so nothing can be written into them any more.
//
// Invariant: every bucket starting before sealed is on disk; every bucket
// in buckets starts at or after sealed.
type head struct {
	mu      sync.RWMutex
	bucket  int64         // bucket duration in ms
	buckets []*headBucket // open buckets by start, ascending
	sealed  int64         // watermark: buckets starting before it are on disk
	maxT    int64         // newest accepted timestamp, math.MinInt64 if none
	samples int64         // samples held
	// appliedSeq is the first WAL sequence whose samples are not (all) in
	// the head. Sequences stored in the head are shifted by one so that
	// zero means "none".
	appliedSeq uint64
}

type headBucket struct {
	start    int64
	series   []*headChunk // by SeriesRef; nil where the series has no data
	firstSeq uint64       // first WAL record holding data for this bucket (0: none)
	samples  int64
	sealing  bool // handed to the sealer; immutable from then on
}

// headChunk is one series' data in one open bucket: an append-only stream
// for in-order samples, plus a small sorted overlay for out-of-order
// samples and rewrites, which wins over the stream at equal timestamps.
type headChunk struct {
	s   chunk.Stream
	ooo []sample
}

type sample struct {
	t int64
	v float64
}

func newHead(bucket int64) *head {
	return &head{bucket: bucket, sealed: math.MinInt64, maxT: math.MinInt64}
}

func (h *head) bucketStart(t int64) int64 {
	// Clamp so that open-ended ranges (math.MinInt64) do not overflow.
	t = max(t, math.MinInt64/2)
	s := t - t%h.bucket
	if t%h.bucket < 0 {
		s -= h.bucket
	}
	return s
}

// getBucket returns the open bucket starting at start, creating it.
// Caller holds h.mu for writing.
func (h *head) getBucket(start int64) *headBucket {
	// Appends nearly always hit the newest bucket.
	for i := len(h.buckets) - 1; i >= 0; i-- {
		b := h.buckets[i]
		if b.start == start {
			return b
		}
		if b.start < start {
			nb := &headBucket{start: start}
			h.buckets = slices.Insert(h.buckets, i+1, nb)
			return nb
		}
	}
	nb := &headBucket{start: start}
	h.buckets = slices.Insert(h.buckets, 0, nb)
	return nb
}

// add appends one sample; caller holds h.mu for writing and has checked
// that the sample's bucket is open. seq is the WAL record holding it (0 when
// loading a checkpoint).
func (h *head) add(ref SeriesRef, t int64, v float64, seq uint64) {
	b := h.getBucket(h.bucketStart(t))
	if seq != 0 && b.firstSeq == 0 {
		b.firstSeq = seq
	}
	h.addTo(b, ref, t, v)
}

// addBatch is add for every sample of one WAL record: a flush batch
// nearly always falls in one bucket, which is looked up once per change
// of bucket instead of once per sample.
func (h *head) addBatch(acc []refSample, seq uint64) {
	var b *headBucket
	lo, hi := int64(0), int64(math.MinInt64) // b's range [lo, hi); empty at first
	for _, s := range acc {
		if s.t < lo || s.t >= hi {
			b = h.getBucket(h.bucketStart(s.t))
			if seq != 0 && b.firstSeq == 0 {
				b.firstSeq = seq
			}
			lo, hi = b.start, b.start+h.bucket
		}
		h.addTo(b, s.ref, s.t, s.v)
	}
}

// addTo appends one sample to bucket b, which holds t.
func (h *head) addTo(b *headBucket, ref SeriesRef, t int64, v float64) {
	if int(ref) >= len(b.series) {
		n := max(int(ref)+1, 2*len(b.series))
		b.series = slices.Grow(b.series, n-len(b.series))[:n]
	}
	c := b.series[ref]
	if c == nil {
		// The stream grows as it fills. (Reserving the size of the
		// series' previous stream saves a few copies but holds two full
		// buckets during the out-of-order window: +7% peak heap.)
		c = &headChunk{}
		b.series[ref] = c
	}
	if c.add(t, v) {
		b.samples++
		h.samples++
	}
	if t > h.maxT {
		h.maxT = t
	}
}

// add stores a sample and reports whether the chunk grew.
func (c *headChunk) add(t int64, v float64) bool {
	if c.s.Len() == 0 || t > c.s.LastT() {
		c.s.Append(t, v)
		return true
	}
	if t == c.s.LastT() && math.Float64bits(v) == math.Float64bits(c.s.LastV()) && len(c.ooo) == 0 {
		return false // exact replay of the newest sample
	}
	i := sort.Search(len(c.ooo), func(i int) bool { return c.ooo[i].t >= t })
	if i < len(c.ooo) && c.ooo[i].t == t {
		c.ooo[i].v = v
		return false
	}
	c.ooo = slices.Insert(c.ooo, i, sample{t, v})
	return true
}

// samplesIn appends the chunk's samples within [mint, maxt], overlay
// applied, to ts and vs. Caller holds h.mu (read or write) unless the bucket
// is sealing. scratch is a decode buffer, returned for reuse.
func (c *headChunk) samplesIn(ts []int64, vs []float64, mint, maxt int64, scratch []byte) ([]int64, []float64, []byte) {
	off := len(ts)
	ts, vs, scratch = c.s.DecodeBuf(ts, vs, mint, maxt, scratch)
	if len(c.ooo) == 0 {
		return ts, vs, scratch
	}
	// Merge the overlay: both sides sorted; overlay wins on ties.
	base := len(ts) - off
	mts := make([]int64, 0, base+len(c.ooo))
	mvs := make([]float64, 0, base+len(c.ooo))
	i := off
	for _, o := range c.ooo {
		if o.t < mint || o.t > maxt {
			continue
		}
		for i < len(ts) && ts[i] < o.t {
			mts = append(mts, ts[i])
			mvs = append(mvs, vs[i])
			i++
		}
		if i < len(ts) && ts[i] == o.t {
			i++
		}
		mts = append(mts, o.t)
		mvs = append(mvs, o.v)
	}
	mts = append(mts, ts[i:]...)
	mvs = append(mvs, vs[i:]...)
	return append(ts[:off], mts...), append(vs[:off], mvs...), scratch
}

// maxSamples bounds the samples samplesIn can return.
func (c *headChunk) maxSamples() int { return c.s.Len() + len(c.ooo) }

// count returns the number of distinct samples.
func (c *headChunk) lastSample() (int64, float64) {
	t, v := c.s.LastT(), c.s.LastV()
	if n := len(c.ooo); n > 0 && c.ooo[n-1].t >= t {
		return c.ooo[n-1].t, c.ooo[n-1].v
	}
	return t, v
}

func (c *headChunk) bytes() int {
	return c.s.Size() + cap(c.ooo)*16 + 48
}
