package ingest

import (
	"hash/maphash"
	"sort"

	"github.com/axiomhq/hyperloglog"
	"github.com/prometheus/prometheus/model/labels"
)

// series is the state of one stored series (or, for a histogram, of the
// family of bucket, count and sum series of one label set). Its values are
// guarded by home.mu; its identity fields are set at creation and not
// changed after.
//
// The kind is primary.kind. Field order matters: the primary key (48
// bytes, with the first bytes of the key inline) and the fields a counter
// or gauge update touches (dead, touched, value) fill the first 64 bytes,
// and a series fits the 192-byte size class, whose objects start on a cache
// line, so a hot-path update of a series with a short key reads and writes
// one cache line of the series.
type series struct {
	primary rawKey // must stay the first field (rawKey.series)
	dead    bool
	touched uint32  // low bits of home.gen at the last update
	value   float64 // counter total or gauge value

	hash       uint64 // the primary raw key's hash
	home       *shard
	aliases    []*aliasKey // guarded by Aggregator.mu
	idx        int32       // position in home.series
	cost       int32       // stored series: 1, or a histogram's buckets plus _count and _sum
	lbls       labels.Labels
	fam        *family
	lastActive int64 // ms: last flush in whose interval it was updated
	points     []Sample
	hist       *histogram
	set        *memberSet
}

// maxPointsPerFlush bounds the |T-timestamped points one series keeps
// between two flushes; beyond it timestamps are ignored (and counted), the
// values still count.
const maxPointsPerFlush = 1024

// apply adds m to the series and returns its value afterwards (the total of
// a counter, the value of a gauge). Called with home.mu held.
func (s *series) apply(a *Aggregator, m *Metric, gen uint64) float64 {
	s.touched = uint32(gen)
	switch s.primary.kind {
	case KindCounter:
		var sum float64
		for _, v := range m.Values {
			sum += v
		}
		if m.Rate != 1 && m.Rate > 0 {
			sum /= m.Rate
		}
		s.value += sum
		if m.T != 0 {
			s.addPoint(a, m.T)
		}
	case KindGauge:
		if len(m.Values) > 0 {
			v := m.Values[len(m.Values)-1]
			if m.Delta {
				s.value += v
			} else {
				s.value = v
			}
		}
		if m.T != 0 {
			s.addPoint(a, m.T)
		}
	case KindHistogram:
		w := 1.0
		if m.Rate != 1 && m.Rate > 0 {
			w = 1 / m.Rate
		}
		for _, v := range m.Values {
			s.hist.observe(v, w)
		}
	case KindSet:
		s.set.add(maphash.Bytes(a.seed, m.Member))
	}
	return s.value
}

// addPoint records the current value at a |T timestamp; a second line with
// the same timestamp replaces the point.
func (s *series) addPoint(a *Aggregator, t int64) {
	if n := len(s.points); n > 0 && s.points[n-1].T == t {
		s.points[n-1].V = s.value
		return
	}
	if len(s.points) >= maxPointsPerFlush {
		a.m.pointsDropped.Inc()
		return
	}
	s.points = append(s.points, Sample{Labels: s.lbls, T: t, V: s.value})
}

// histogram is a classic cumulative-bucket histogram with weighted
// observations (a sample sent at rate r weighs 1/r), so bucket counts and
// _count are floats.
type histogram struct {
	bounds       []float64 // upper bounds without +Inf
	counts       []float64 // per bucket, not cumulative; the last is +Inf
	count, sum   float64
	bucketLabels []labels.Labels // le="bound" ..., le="+Inf"
	countLabels  labels.Labels
	sumLabels    labels.Labels
}

func (h *histogram) observe(v, w float64) {
	i := len(h.bounds)
	if len(h.bounds) <= 16 {
		for j, b := range h.bounds {
			if v <= b {
				i = j
				break
			}
		}
	} else {
		i = sort.SearchFloat64s(h.bounds, v)
	}
	h.counts[i] += w
	h.count += w
	h.sum += v * w
}

// setExactMax is how many distinct members a set counts exactly (by a
// 64-bit hash) before switching to a HyperLogLog sketch for the rest of the
// interval.
const setExactMax = 256

// memberSet counts distinct members of one flush interval.
type memberSet struct {
	exact map[uint64]struct{}
	hll   *hyperloglog.Sketch
	spare *hyperloglog.Sketch // kept across intervals to avoid reallocating
}

func (m *memberSet) add(h uint64) {
	if m.hll != nil {
		m.hll.InsertHash(h)
		return
	}
	m.exact[h] = struct{}{}
	if len(m.exact) > setExactMax {
		m.hll = m.spare
		if m.hll == nil {
			m.hll = hyperloglog.New14()
		}
		m.spare = nil
		for k := range m.exact {
			m.hll.InsertHash(k)
		}
		clear(m.exact)
	}
}

func (m *memberSet) count() uint64 {
	if m.hll != nil {
		return m.hll.Estimate()
	}
	return uint64(len(m.exact))
}

func (m *memberSet) reset() {
	clear(m.exact)
	if m.hll != nil {
		m.hll.Reset()
		m.spare, m.hll = m.hll, nil
	}
}
