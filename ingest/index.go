package ingest

import (
	"math"
	"strconv"

	"github.com/prometheus/prometheus/model/labels"
)

// maxAliasesPerSeries bounds the raw spellings remembered for one series;
// beyond it a new spelling still reaches the series, through the slow path.
const maxAliasesPerSeries = 16

// addSlow handles a measurement whose raw key is not in its shard yet: the
// series may exist under another spelling, or must be created (limits and
// type checks apply here, and only here).
func (a *Aggregator) addSlow(h uint64, sh *shard, m *Metric) (float64, Reason) {
	if len(m.Name) == 0 {
		return 0, ReasonEmptyName
	}
	if len(m.Name) > a.opts.MaxNameLen {
		return 0, ReasonNameTooLong
	}
	name := SanitizeName(m.Name)
	lbls, r := seriesLabels(name, m.Kind, m.Tags, &a.opts)
	if r != OK {
		return 0, r
	}
	lh := lbls.Hash()

	a.mu.Lock()
	defer a.mu.Unlock()
	// Another writer may have created the raw key meanwhile.
	sh.mu.Lock()
	rk := sh.find(h, m.Kind, m.Name, m.Tags)
	sh.mu.Unlock()
	s := (*series)(nil)
	if rk != nil {
		s = rk.series()
	} else {
		s = a.canonicalLookup(lh, lbls)
		if s != nil {
			if s.primary.kind != m.Kind {
				return 0, ReasonTypeConflict
			}
			if len(s.aliases) < maxAliasesPerSeries {
				ak := newAliasKey(h, m.Kind, m.Name, m.Tags, s, sh)
				sh.mu.Lock()
				sh.insert(h, &ak.rawKey)
				sh.mu.Unlock()
				s.aliases = append(s.aliases, ak)
			}
		}
	}
	if s == nil {
		var r Reason
		s, r = a.create(h, sh, m, name, lbls, lh)
		if r != OK {
			return 0, r
		}
	}
	s.home.mu.Lock()
	v := s.apply(a, m, s.home.gen)
	s.home.mu.Unlock()
	return v, OK
}

func (a *Aggregator) canonicalLookup(lh uint64, lbls labels.Labels) *series {
	for _, s := range a.canonical[lh] {
		if labels.Equal(s.lbls, lbls) {
			return s
		}
	}
	return nil
}

// create makes a new series homed in sh. Called with a.mu held.
func (a *Aggregator) create(h uint64, sh *shard, m *Metric, name string, lbls labels.Labels, lh uint64) (*series, Reason) {
	fam, r := a.familyFor(name, m.Kind)
	if r != OK {
		return nil, r
	}
	s := &series{home: sh, lbls: lbls, fam: fam, cost: 1}
	s.primary = makeRawKey(m.Kind, m.Name, m.Tags, keyPrimary|keyDirect)
	s.hash = h
	switch m.Kind {
	case KindHistogram:
		s.hist = a.newHistogram(name, lbls)
		s.cost = int32(len(s.hist.counts) + 2)
	case KindSet:
		s.set = &memberSet{exact: make(map[uint64]struct{})}
	}
	if a.seriesCost+int(s.cost) > a.opts.MaxSeries {
		a.m.limitHits.Inc()
		a.dropFamilyIfEmpty(fam)
		return nil, ReasonSeriesLimit
	}
	if fam.cost+int(s.cost) > a.opts.MaxSeriesPerName {
		a.m.limitHits.Inc()
		a.dropFamilyIfEmpty(fam)
		return nil, ReasonSeriesPerNameLimit
	}
	a.seedFromDormant(s)
	a.seriesCost += int(s.cost)
	fam.cost += int(s.cost)
	a.canonical[lh] = append(a.canonical[lh], s)
	now := a.opts.Now().UnixMilli()
	sh.mu.Lock()
	s.touched = uint32(sh.gen)
	s.lastActive = now
	s.idx = int32(len(sh.series))
	sh.series = append(sh.series, s)
	sh.insert(h, &s.primary)
	sh.mu.Unlock()
	return s, OK
}

func (sh *shard) insert(h uint64, rk *rawKey) { sh.keys.insert(h, rk) }

func (sh *shard) unlink(h uint64, rk *rawKey) { sh.keys.remove(h, rk) }

// familyFor returns the family of a stored name, creating it, or refuses a
// name already used with another kind (including a histogram's _bucket,
// _count and _sum names).
func (a *Aggregator) familyFor(name string, k Kind) (*family, Reason) {
	if f := a.families[name]; f != nil {
		if f.kind != k || f.owner != nil {
			return nil, ReasonTypeConflict
		}
		return f, OK
	}
	f := &family{name: name, kind: k}
	if k == KindHistogram {
		for _, suffix := range []string{"_bucket", "_count", "_sum"} {
			if a.families[name+suffix] != nil {
				return nil, ReasonTypeConflict
			}
		}
		for _, suffix := range []string{"_bucket", "_count", "_sum"} {
			a.families[name+suffix] = &family{name: name + suffix, kind: k, owner: f}
		}
	}
	a.families[name] = f
	return f, OK
}

func (a *Aggregator) dropFamilyIfEmpty(f *family) {
	if f.cost > 0 {
		return
	}
	delete(a.families, f.name)
	if f.kind == KindHistogram {
		for _, suffix := range []string{"_bucket", "_count", "_sum"} {
			delete(a.families, f.name+suffix)
		}
	}
}

func (a *Aggregator) newHistogram(name string, lbls labels.Labels) *histogram {
	bounds := a.opts.Buckets
	if b, ok := a.opts.HistogramBuckets[name]; ok {
		bounds = b
	}
	if n := len(bounds); n > 0 && math.IsInf(bounds[n-1], 1) {
		bounds = bounds[:n-1]
	}
	h := &histogram{
		bounds:       bounds,
		counts:       make([]float64, len(bounds)+1),
		bucketLabels: make([]labels.Labels, len(bounds)+1),
	}
	b := labels.NewBuilder(lbls)
	b.Set(metricNameLabel, name+"_bucket")
	for i, ub := range bounds {
		b.Set(labels.BucketLabel, formatBound(ub))
		h.bucketLabels[i] = b.Labels()
	}
	b.Set(labels.BucketLabel, "+Inf")
	h.bucketLabels[len(bounds)] = b.Labels()
	b.Del(labels.BucketLabel)
	b.Set(metricNameLabel, name+"_count")
	h.countLabels = b.Labels()
	b.Set(metricNameLabel, name+"_sum")
	h.sumLabels = b.Labels()
	return h
}

func formatBound(f float64) string {
	return strconv.FormatFloat(f, 'g', -1, 64)
}

// seedFromDormant starts a new counter, gauge or histogram from its dormant values, so
// that a counter continues from its total after a restart or after it was
// dropped for idleness. Called with a.mu held, before s is published.
func (a *Aggregator) seedFromDormant(s *series) {
	switch s.primary.kind {
	case KindCounter, KindGauge:
		if v, ok := a.takeDormant(s.lbls, true); ok {
			s.value = v
		}
	case KindHistogram:
		h := s.hist
		// Only a complete match with the current bucket layout is used;
		// otherwise the histogram starts from zero (a counter reset, which
		// rate() and histogram_quantile() handle).
		if _, ok := a.takeDormant(h.countLabels, false); !ok {
			return
		}
		for _, l := range h.bucketLabels {
			if _, ok := a.takeDormant(l, false); !ok {
				return
			}
		}
		h.count, _ = a.takeDormant(h.countLabels, true)
		h.sum, _ = a.takeDormant(h.sumLabels, true)
		prev := 0.0
		for i, l := range h.bucketLabels {
			cum, _ := a.takeDormant(l, true)
			h.counts[i] = max(cum-prev, 0)
			prev = cum
		}
	}
}

// takeDormant returns the dormant value with exactly these labels, removing
// it when remove is set.
func (a *Aggregator) takeDormant(lbls labels.Labels, remove bool) (float64, bool) {
	h := lbls.Hash()
	ds := a.dormant[h]
	for i, d := range ds {
		if !labels.Equal(d.lbls, lbls) {
			continue
		}
		if remove {
			ds[i] = ds[len(ds)-1]
			ds = ds[:len(ds)-1]
			if len(ds) == 0 {
				delete(a.dormant, h)
			} else {
				a.dormant[h] = ds
			}
			a.nDormant--
		}
		return d.v, true
	}
	return 0, false
}

// putDormant remembers a value, replacing one with the same labels. When
// MaxDormant values are kept already the value is forgotten.
func (a *Aggregator) putDormant(lbls labels.Labels, v float64) {
	h := lbls.Hash()
	ds := a.dormant[h]
	for i := range ds {
		if labels.Equal(ds[i].lbls, lbls) {
			ds[i].v = v
			return
		}
	}
	if a.nDormant >= a.opts.MaxDormant {
		a.m.dormantDropped.Inc()
		return
	}
	a.dormant[h] = append(ds, dormantValue{lbls: lbls, v: v})
	a.nDormant++
}

// Restore seeds counter totals, gauge values and histogram buckets at
// start-up from storage: samples carry the labels as flushed (the sanitised
// __name__, with _bucket/_count/_sum for histograms). A series created later
// with the same labels continues from its value, so a counter's total goes
// on across restarts instead of resetting. Untouched, a restored value is
// not emitted (its kind is not known until a line arrives), but Get reports
// it. Samples for series that are live already are ignored.
func (a *Aggregator) Restore(samples []Sample) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, smp := range samples {
		if math.IsNaN(smp.V) || smp.Labels.Get(metricNameLabel) == "" {
			continue
		}
		if a.canonicalLookup(smp.Labels.Hash(), smp.Labels) != nil {
			continue
		}
		a.putDormant(smp.Labels, smp.V)
	}
}

// remove takes an expired series out of every index and keeps its values as
// dormant. Called with a.mu held and no shard lock; s.dead is already set,
// so writers finding it go to the slow path and wait for a.mu.
func (a *Aggregator) remove(s *series) {
	sh := s.home
	sh.mu.Lock()
	sh.unlink(s.hash, &s.primary)
	last := sh.series[len(sh.series)-1]
	sh.series[s.idx] = last
	last.idx = s.idx
	sh.series[len(sh.series)-1] = nil
	sh.series = sh.series[:len(sh.series)-1]
	sh.mu.Unlock()
	for _, ak := range s.aliases {
		ak.shard.mu.Lock()
		ak.shard.unlink(ak.hash, &ak.rawKey)
		ak.shard.mu.Unlock()
	}
	lh := s.lbls.Hash()
	cs := a.canonical[lh]
	for i, c := range cs {
		if c == s {
			cs[i] = cs[len(cs)-1]
			cs = cs[:len(cs)-1]
			break
		}
	}
	if len(cs) == 0 {
		delete(a.canonical, lh)
	} else {
		a.canonical[lh] = cs
	}
	a.seriesCost -= int(s.cost)
	s.fam.cost -= int(s.cost)
	a.dropFamilyIfEmpty(s.fam)
	switch s.primary.kind {
	case KindCounter, KindGauge:
		a.putDormant(s.lbls, s.value)
	case KindHistogram:
		h := s.hist
		cum := 0.0
		for i, l := range h.bucketLabels {
			cum += h.counts[i]
			a.putDormant(l, cum)
		}
		a.putDormant(h.countLabels, h.count)
		a.putDormant(h.sumLabels, h.sum)
	}
}
