package ingest

import "encoding/binary"

// Simple is a measurement of the commonest shape: one value, no tags, no
// sample rate, no timestamp ("shop.revenue:499|c", "queue.depth:+3|g",
// "api.latency:320|ms"). A parser that collects a packet's simple lines
// hands them to AddSimple together.
type Simple struct {
	// Name is the raw statsd name.
	Name []byte
	// NameHash is Name hashed with the aggregator's NameHasher, or 0 (the
	// aggregator then hashes Name itself), as Metric.NameHash.
	NameHash uint64
	Value    float64
	// Kind is KindCounter, KindGauge or KindHistogram.
	Kind Kind
	// Delta makes a gauge value an increment, as Metric.Delta.
	Delta bool
	// Reason is set by AddSimple: OK, or why the measurement was refused.
	Reason Reason
}

// simpleChunk is how many measurements AddSimple looks up together.
const simpleChunk = 32

// AddSimple applies ms in order, as Add would one by one, and sets each
// one's Reason; it returns how many were refused.
//
// It is faster than Add per measurement because it works in passes over
// up to simpleChunk of them: it first hashes every key and reads, without
// the lock, the table slot each is likely in, then checks that the key
// there is the measurement's (which reads the series it leads to), and
// only then locks and updates each series. The reads of the first two
// passes do not depend on each other, so the processor overlaps their
// cache misses instead of waiting for each in turn (the keys of a large
// set of names are rarely in cache), and the locked pass neither probes
// the table again nor waits for memory.
func (a *Aggregator) AddSimple(ms []Simple) int {
	refused := 0
	for len(ms) > 0 {
		n := min(len(ms), simpleChunk)
		refused += a.addSimple(ms[:n])
		ms = ms[n:]
	}
	return refused
}

func (a *Aggregator) addSimple(ms []Simple) int {
	var hs [simpleChunk]uint64
	var keys [simpleChunk]*rawKey
	ms = ms[:min(len(ms), simpleChunk)]
	// Pass 1: each key's hash and what its home slot holds, read without
	// the lock (a hint).
	for i := range ms {
		m := &ms[i]
		h := a.hashKey(m.Kind, m.Name, nil, m.NameHash)
		hs[i] = h
		keys[i] = a.shardOf(h).keys.peek(h)
	}
	// Pass 2: keep the hints that are the measurement's key. A key's
	// spelling never changes, so a match is its key; it is still in use
	// when its series is not dead, which pass 3 checks under the lock (a
	// removed key's series is always dead). For a primary key this reads
	// the line of the series that the update writes.
	for i, rk := range keys[:len(ms)] {
		if rk != nil && !rk.matchesName(ms[i].Kind, ms[i].Name) {
			keys[i] = nil
		}
	}
	refused := 0
	for i := range ms {
		m := &ms[i]
		// A counter whose key passes 2 found is updated here, saving a
		// call per measurement; anything else goes through addOne.
		if rk := keys[i]; rk != nil && rk.flags&keyDirect != 0 && m.Kind == KindCounter {
			sh := a.shardOf(hs[i])
			s := rk.series()
			sh.mu.Lock()
			if !s.dead {
				s.touched = uint32(sh.gen)
				s.value += m.Value
				sh.mu.Unlock()
				m.Reason = OK
				continue
			}
			sh.mu.Unlock()
		}
		m.Reason = a.addOne(hs[i], keys[i], m)
		if m.Reason != OK {
			refused++
		}
	}
	return refused
}

// addOne is add for a Simple whose key hashes to h; rk is its key found
// by addSimple's passes, or nil.
func (a *Aggregator) addOne(h uint64, rk *rawKey, m *Simple) Reason {
	sh := a.shardOf(h)
	sh.mu.Lock()
	if rk == nil {
		rk = sh.find(h, m.Kind, m.Name, nil)
	}
	if rk != nil && rk.flags&keyDirect != 0 {
		if s := rk.series(); !s.dead {
			switch m.Kind {
			case KindCounter:
				s.touched = uint32(sh.gen)
				s.value += m.Value
			case KindGauge:
				s.touched = uint32(sh.gen)
				if m.Delta {
					s.value += m.Value
				} else {
					s.value = m.Value
				}
			default:
				s.applySimple(a, m, sh.gen)
			}
			sh.mu.Unlock()
			return OK
		}
	}
	sh.mu.Unlock()
	return a.addSimpleSlow(h, sh, m)
}

// applySimple is apply for a Simple. Kept out of addOne (with
// addSimpleSlow) so that the hot path's frame stays small.
//
//go:noinline
func (s *series) applySimple(a *Aggregator, m *Simple, gen uint64) {
	v := [1]float64{m.Value}
	mt := Metric{Name: m.Name, Kind: m.Kind, Values: v[:], Rate: 1, Delta: m.Delta, NameHash: m.NameHash}
	s.apply(a, &mt, gen)
}

// addSimpleSlow is addSlow for a Simple.
//
//go:noinline
func (a *Aggregator) addSimpleSlow(h uint64, sh *shard, m *Simple) Reason {
	v := [1]float64{m.Value}
	mt := Metric{Name: m.Name, Kind: m.Kind, Values: v[:], Rate: 1, Delta: m.Delta, NameHash: m.NameHash}
	_, r := a.addSlow(h, sh, &mt)
	return r
}

// matchesName is matches for a key without tags, comparing a short key
// 8 bytes at a time without calling memequal.
func (rk *rawKey) matchesName(k Kind, name []byte) bool {
	n := len(name)
	if rk.kind != k || int(rk.nameLen) != n || int(rk.keyLen) != n {
		return false
	}
	if n > inlineKeyLen {
		return rk.fullKey() == string(name)
	}
	if n < 8 {
		return string(rk.inline[:n]) == string(name)
	}
	for i := 0; i+8 < n; i += 8 {
		if binary.LittleEndian.Uint64(rk.inline[i:]) != binary.LittleEndian.Uint64(name[i:]) {
			return false
		}
	}
	// The last 8 bytes, overlapping the words compared already.
	return binary.LittleEndian.Uint64(rk.inline[n-8:]) == binary.LittleEndian.Uint64(name[n-8:])
}
