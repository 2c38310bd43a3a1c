package ingest

import (
	"errors"
	"fmt"
	"hash/maphash"
	"math"
	"math/rand/v2"
	"sync"
	"unsafe"

	"github.com/VictoriaMetrics/metrics"
	"github.com/prometheus/prometheus/model/labels"
)

// Aggregator keeps the running state of every series (counter totals, gauge
// values, histogram buckets, set members) between flushes and hands one Batch
// per flush interval to its Sink.
//
// The hot path (Add for a series that exists) hashes the raw name and tags,
// locks one of Options.Shards shards and updates the series in place: no
// allocation and no lock shared by all writers. Everything else (creating a
// series, limits, the canonical label index, expiry) runs under a.mu, which
// the hot path never takes. Lock order: a.mu before any shard lock, and
// never two shard locks at once.
type Aggregator struct {
	opts Options
	sink Sink
	seed maphash.Seed // set members
	// nameHash hashes the raw names of the hot path, tagSeed their tags
	// (maphash: faster on the longer tag lists, and never done in the
	// parser's pass);
	// parsers may hash names with nameHash themselves (Metric.NameHash).
	nameHash KeyHasher
	tagSeed  maphash.Seed

	shards    []shard
	shardMask uint64

	// mu guards everything below and the creation and removal of series.
	mu         sync.Mutex
	canonical  map[uint64][]*series // by labels hash
	families   map[string]*family   // by stored metric name
	dormant    map[uint64][]dormantValue
	nDormant   int
	seriesCost int // stored series, for MaxSeries

	flushMu sync.Mutex // one flush at a time
	// lastFlushFailed holds idle expiry back until a flush succeeds; guarded
	// by flushMu.
	lastFlushFailed bool
	rejects         rejectRing
	m               *selfMetrics
}

// shard is one lock and the series whose raw keys hash to it. The padding
// keeps two shards' locks off one cache line.
type shard struct {
	mu     sync.Mutex
	keys   keyTable
	series []*series // series whose home is this shard, for flushing
	gen    uint64    // incremented by each flush; series remember the gen of their last update
	_      [64]byte
}

// rawKey is one spelling of a series as sent: its kind, raw name and raw
// tags. Several raw keys can lead to one series ("a.b" and "a_b", or tags in
// another order); the first is the series' primary key, embedded at the
// start of the series, the others aliases (aliasKey).
//
// It is 48 bytes, so that the primary shares one cache line with the
// fields the hot path writes (see series), and keeps the first
// inlineKeyLen bytes of the key inline: a key that short is compared
// without reading any other memory, so a lookup costs the table slot and
// that one line of the series. A longer key is also kept whole in long.
type rawKey struct {
	long    *byte // the whole key (keyLen bytes) when longer than inlineKeyLen, else nil
	nameLen uint32
	keyLen  uint32 // name and tags
	kind    Kind
	flags   uint8 // keyPrimary, keyDirect
	inline  [inlineKeyLen]byte
}

// inlineKeyLen is how many bytes of a raw key are kept in the rawKey itself.
const inlineKeyLen = 30

const (
	// keyPrimary marks the rawKey embedded at the start of its series.
	keyPrimary = 1 << iota
	// keyDirect is set when the key's shard is the series' home, so the
	// hot path can update it under the lock it already holds.
	keyDirect
)

// aliasKey is a raw key other than the series' primary one. The rawKey
// comes first: a *rawKey of an alias points to its aliasKey.
type aliasKey struct {
	rawKey
	s     *series
	hash  uint64
	shard *shard // the shard whose table holds this key
}

func makeRawKey(k Kind, name, tags []byte, flags uint8) rawKey {
	rk := rawKey{nameLen: uint32(len(name)), keyLen: uint32(len(name) + len(tags)), kind: k, flags: flags}
	n := copy(rk.inline[:], name)
	copy(rk.inline[n:], tags)
	if int(rk.keyLen) > inlineKeyLen {
		rk.long = unsafe.StringData(joinKey(name, tags))
	}
	return rk
}

func joinKey(name, tags []byte) string {
	key := make([]byte, 0, len(name)+len(tags))
	return string(append(append(key, name...), tags...))
}

func newAliasKey(h uint64, k Kind, name, tags []byte, s *series, sh *shard) *aliasKey {
	var flags uint8
	if sh == s.home {
		flags = keyDirect
	}
	return &aliasKey{rawKey: makeRawKey(k, name, tags, flags), s: s, hash: h, shard: sh}
}

// series returns the series rk leads to. A primary rawKey is the first
// field of its series and an alias the first field of its aliasKey, so the
// pointer converts to the enclosing struct.
func (rk *rawKey) series() *series {
	if rk.flags&keyPrimary != 0 {
		return (*series)(unsafe.Pointer(rk))
	}
	return (*aliasKey)(unsafe.Pointer(rk)).s
}

// fullKey returns the whole raw key (name then tags) of a key longer than
// inlineKeyLen.
func (rk *rawKey) fullKey() string {
	return unsafe.String(rk.long, rk.keyLen)
}

func (rk *rawKey) matches(k Kind, name, tags []byte) bool {
	n := len(name)
	if rk.kind != k || int(rk.nameLen) != n || int(rk.keyLen) != n+len(tags) {
		return false
	}
	if rk.keyLen <= inlineKeyLen {
		return string(rk.inline[:n]) == string(name) &&
			(len(tags) == 0 || string(rk.inline[n:rk.keyLen]) == string(tags))
	}
	key := rk.fullKey()
	return key[:n] == string(name) && key[n:] == string(tags)
}

// family is one stored metric name: its kind and how many stored series it
// has. Histograms register their _bucket, _count and _sum names too, so that
// a counter cannot take one of them.
type family struct {
	name  string
	kind  Kind
	owner *family // for the reserved names of a histogram, the histogram family
	cost  int
}

// dormantValue is the last value of a series that is not live: restored
// from storage at start-up, or dropped after IdleExpiry. A counter or gauge
// created with these labels continues from it.
type dormantValue struct {
	lbls labels.Labels
	v    float64
}

// NewAggregator builds an aggregator writing to sink; it starts nothing
// (call Run). Self-metrics are registered in ms.
func NewAggregator(opts Options, sink Sink, ms *metrics.Set) (*Aggregator, error) {
	if sink == nil {
		return nil, errors.New("ingest: new aggregator: nil sink")
	}
	opts.EnsureDefaults()
	if err := opts.Validate(); err != nil {
		return nil, fmt.Errorf("ingest: new aggregator: %w", err)
	}
	if ms == nil {
		ms = metrics.NewSet()
	}
	a := &Aggregator{
		opts:      opts,
		sink:      sink,
		seed:      maphash.MakeSeed(),
		nameHash:  KeyHasher{rand.Uint64(), rand.Uint64()},
		tagSeed:   maphash.MakeSeed(),
		shards:    make([]shard, opts.Shards),
		shardMask: uint64(opts.Shards - 1),
		canonical: make(map[uint64][]*series),
		families:  make(map[string]*family),
		dormant:   make(map[uint64][]dormantValue),
	}
	a.m = newSelfMetrics(ms, a)
	return a, nil
}

// Options returns the options in force, defaults filled in.
func (a *Aggregator) Options() Options { return a.opts }

// NameHasher returns the hasher of raw names, for parsers that fill
// Metric.NameHash.
func (a *Aggregator) NameHasher() KeyHasher { return a.nameHash }

// hashKey hashes a raw key; nh is the name's hash when the parser computed
// it (Metric.NameHash), else 0.
func (a *Aggregator) hashKey(k Kind, name, tags []byte, nh uint64) uint64 {
	h := nh
	if h == 0 {
		h = a.nameHash.Bytes(name)
	}
	if len(tags) > 0 {
		h ^= maphash.Bytes(a.tagSeed, tags) * 0x9E3779B97F4A7C15
	}
	return h + uint64(k)*0xC2B2AE3D27D4EB4F
}

func (a *Aggregator) shardOf(h uint64) *shard {
	return &a.shards[(h>>40)&a.shardMask]
}

// find returns the raw key spelled (k, name, tags), or nil. Comparing
// string(b) == s does not allocate.
func (sh *shard) find(h uint64, k Kind, name, tags []byte) *rawKey {
	rk, i := sh.keys.first(h)
	for rk != nil {
		if rk.matches(k, name, tags) {
			return rk
		}
		rk, i = sh.keys.next(h, i)
	}
	return nil
}

// Add applies one parsed measurement. It returns OK or why the measurement
// was refused (limits, type conflicts); the caller records the reject with
// the line it came from (RecordReject). Events and service checks are
// accepted and not stored.
func (a *Aggregator) Add(m *Metric) Reason {
	_, r := a.add(m)
	return r
}

// add is Add returning the series' value after the update (the counter
// total or gauge value), read under the same lock.
func (a *Aggregator) add(m *Metric) (float64, Reason) {
	switch m.Kind {
	case KindCounter, KindGauge, KindHistogram, KindSet:
	case KindEvent, KindServiceCheck:
		return 0, OK
	default:
		return 0, ReasonBadType
	}
	h := a.hashKey(m.Kind, m.Name, m.Tags, m.NameHash)
	sh := a.shardOf(h)
	sh.mu.Lock()
	if rk := sh.find(h, m.Kind, m.Name, m.Tags); rk != nil && rk.flags&keyDirect != 0 {
		if s := rk.series(); !s.dead {
			var v float64
			if m.Kind == KindCounter && len(m.Values) == 1 && m.Rate == 1 && m.T == 0 {
				// The commonest line, "name:n|c", without apply's loops.
				s.touched = uint32(sh.gen)
				s.value += m.Values[0]
				v = s.value
			} else {
				v = s.apply(a, m, sh.gen)
			}
			sh.mu.Unlock()
			return v, OK
		}
	}
	sh.mu.Unlock()
	return a.addSlow(h, sh, m)
}

// Count adds delta to the untagged counter name (a raw statsd name) and
// returns the new total, or why it was refused.
func (a *Aggregator) Count(name string, delta float64) (float64, Reason) {
	v := [1]float64{delta}
	m := Metric{Name: stringBytes(name), Kind: KindCounter, Values: v[:], Rate: 1}
	total, r := a.add(&m)
	if r != OK {
		return math.NaN(), r
	}
	return total, OK
}

// Incr adds delta to the untagged counter name and returns the new
// cumulative total; memcache incr and decr use it. It returns NaN when the
// counter cannot be created (a limit or a type conflict; Count says which).
func (a *Aggregator) Incr(name string, delta float64) float64 {
	v, _ := a.Count(name, delta)
	return v
}

// SetGauge sets the untagged gauge name (a raw statsd name) to v.
func (a *Aggregator) SetGauge(name string, v float64) {
	a.Gauge(name, v)
}

// Gauge sets the untagged gauge name to v and says why if it was refused.
func (a *Aggregator) Gauge(name string, v float64) Reason {
	vals := [1]float64{v}
	m := Metric{Name: stringBytes(name), Kind: KindGauge, Values: vals[:], Rate: 1}
	return a.Add(&m)
}

// Get returns the current value of an untagged counter (its total) or gauge,
// including what is not flushed yet, and of a dormant one (restored from
// storage or idle-expired) so that a value survives restarts.
func (a *Aggregator) Get(name string) (float64, bool) {
	raw := stringBytes(name)
	if v, ok := a.getRaw(KindCounter, raw); ok {
		return v, true
	}
	if v, ok := a.getRaw(KindGauge, raw); ok {
		return v, true
	}
	lbls := labels.FromStrings(metricNameLabel, SanitizeName(raw))
	h := lbls.Hash()
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, s := range a.canonical[h] {
		if (s.primary.kind == KindCounter || s.primary.kind == KindGauge) && labels.Equal(s.lbls, lbls) {
			s.home.mu.Lock()
			v := s.value
			s.home.mu.Unlock()
			return v, true
		}
	}
	for _, d := range a.dormant[h] {
		if labels.Equal(d.lbls, lbls) {
			return d.v, true
		}
	}
	return 0, false
}

// getRaw reads the value of an untagged counter or gauge by its raw name.
func (a *Aggregator) getRaw(k Kind, name []byte) (float64, bool) {
	h := a.hashKey(k, name, nil, 0)
	sh := a.shardOf(h)
	sh.mu.Lock()
	rk := sh.find(h, k, name, nil)
	if rk == nil || rk.series().dead {
		sh.mu.Unlock()
		return 0, false
	}
	s := rk.series()
	if s.home == sh {
		v := s.value
		sh.mu.Unlock()
		return v, true
	}
	sh.mu.Unlock()
	s.home.mu.Lock()
	v, dead := s.value, s.dead
	s.home.mu.Unlock()
	return v, !dead
}

// stringBytes views s as bytes without copying; the aggregator only reads
// Metric byte slices, so the string's immutability is kept.
func stringBytes(s string) []byte {
	return unsafe.Slice(unsafe.StringData(s), len(s))
}

// RecordReject counts a rejected line under reason and keeps it in the list
// of recent rejects. protocol names where it came from ("udp", "tcp",
// "http", "memcache", ...).
func (a *Aggregator) RecordReject(protocol string, line []byte, reason string) {
	a.m.rejected(reason).Inc()
	a.rejects.add(Reject{Time: a.opts.Now(), Protocol: protocol, Line: clipLine(line), Reason: reason})
}

// Rejects returns the last 100 rejected lines with their reasons, oldest
// first (for GET /api/v1/ingest/errors).
func (a *Aggregator) Rejects() []Reject {
	return a.rejects.list()
}
