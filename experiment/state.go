package experiment

import (
	"sort"
	"sync"
	"sync/atomic"
)

// experiment is one experiment's definition and in-memory state.
//
// Per-user state is kept in flat arrays indexed by a dense user index, so that results
// over a million users are sequential scans: a user costs about 25 bytes (map entry,
// branch, exposure time) plus 12 bytes per tracked metric, before the slack of growing
// slices (measured: 110 bytes per user with 5 metrics, BenchmarkResults). Users are keyed
// by a 64-bit hash of their id rather than the id itself, which keeps the map small; two
// ids colliding in 64 bits (about 3e-8 for a million users) would share one record, a
// risk accepted for halving the memory.
type experiment struct {
	name string
	asg  atomic.Pointer[Assigner] // the current definition, swapped on change

	// writeMu orders the event-total writes of concurrent batches: it is taken before mu
	// and held through the store write, so that the store sees absolute totals in the
	// order memory got them, while assignments (which only need mu) go on.
	writeMu sync.Mutex

	mu      sync.RWMutex // guards everything below
	def     Definition   // current definition, with Version/Created/Updated
	seq     uint64       // last history sequence number
	index   map[uint64]int32
	branch  []uint8
	exposed []int64 // unix ms of the first exposure
	metrics map[string]*metricState
	order   []*metricState // metrics in order of first appearance
	// branchUsers counts exposed users per branch (kept for the time series).
	branchUsers []int64
	// epochs are the weights in force over time, for the sample-ratio check: users are
	// expected in each branch at the shares in force when they were first exposed.
	epochs []epoch
	dirty  bool // changed since the last time-series flush
}

// epoch is a weight setting and the time it took effect.
type epoch struct {
	since  int64 // unix ms
	shares []float64
}

// metricState holds per-user totals of one metric, indexed like experiment.branch.
// Users without events are past the end of the slices or hold zeros.
type metricState struct {
	name  string
	sum   []float64
	count []uint32
	// Per-branch aggregates for the time series.
	converted []int64
	events    []int64
	value     []float64
}

func newExperiment(d Definition) *experiment {
	e := &experiment{
		name:        d.Name,
		def:         d,
		index:       map[uint64]int32{},
		metrics:     map[string]*metricState{},
		branchUsers: make([]int64, len(d.Branches)),
	}
	e.asg.Store(NewAssigner(d))
	return e
}

// shares converts weights to the probabilities of each branch.
func shares(bs []Branch) []float64 {
	var total float64
	for _, b := range bs {
		total += b.Weight
	}
	out := make([]float64, len(bs))
	for i, b := range bs {
		out[i] = b.Weight / total
	}
	return out
}

// addEpoch records the weights in force from ms on, if they differ from the last ones.
func (e *experiment) addEpoch(ms int64, bs []Branch) {
	s := shares(bs)
	if n := len(e.epochs); n > 0 {
		last := e.epochs[n-1].shares
		same := len(last) == len(s)
		for i := 0; same && i < len(s); i++ {
			same = last[i] == s[i]
		}
		if same {
			return
		}
	}
	e.epochs = append(e.epochs, epoch{since: ms, shares: s})
}

// expectedShares are the branch shares expected among the exposed users given when each
// was exposed: the average of the epochs' shares weighted by their exposures.
func (e *experiment) expectedShares() []float64 {
	nb := len(e.def.Branches)
	if len(e.epochs) <= 1 {
		return shares(e.def.Branches)
	}
	counts := make([]float64, len(e.epochs))
	for _, ms := range e.exposed {
		i := sort.Search(len(e.epochs), func(i int) bool { return e.epochs[i].since > ms }) - 1
		counts[max(i, 0)]++
	}
	out := make([]float64, nb)
	var total float64
	for i, ep := range e.epochs {
		total += counts[i]
		for b := 0; b < nb && b < len(ep.shares); b++ {
			out[b] += counts[i] * ep.shares[b]
		}
	}
	if total == 0 {
		return shares(e.def.Branches)
	}
	for b := range out {
		out[b] /= total
	}
	return out
}

// addUser appends a user; the caller holds e.mu.
func (e *experiment) addUser(h uint64, ms int64, branch uint8) int32 {
	idx := int32(len(e.branch))
	e.index[h] = idx
	e.branch = append(e.branch, branch)
	e.exposed = append(e.exposed, ms)
	if int(branch) < len(e.branchUsers) {
		e.branchUsers[branch]++
	}
	e.dirty = true
	return idx
}

// metric returns the state of a metric, creating it; nil when the experiment already
// tracks MaxMetrics metrics. The caller holds e.mu.
func (e *experiment) metric(name string) *metricState {
	if m, ok := e.metrics[name]; ok {
		return m
	}
	if len(e.order) >= MaxMetrics {
		return nil
	}
	nb := len(e.def.Branches)
	m := &metricState{
		name:      name,
		converted: make([]int64, nb),
		events:    make([]int64, nb),
		value:     make([]float64, nb),
	}
	e.metrics[name] = m
	e.order = append(e.order, m)
	return m
}

// totals returns a user's totals of the metric.
func (m *metricState) totals(idx int32) (float64, uint32) {
	if int(idx) >= len(m.sum) {
		return 0, 0
	}
	return m.sum[idx], m.count[idx]
}

// add adds events to a user's totals and to its branch's aggregates.
func (m *metricState) add(idx int32, branch uint8, sum float64, count uint32) {
	if need := int(idx) + 1; need > len(m.sum) {
		m.sum = growTo(m.sum, need)
		m.count = growTo(m.count, need)
	}
	if m.count[idx] == 0 && count > 0 && int(branch) < len(m.converted) {
		m.converted[branch]++
	}
	m.sum[idx] += sum
	m.count[idx] += count
	if int(branch) < len(m.events) {
		m.events[branch] += int64(count)
		m.value[branch] += sum
	}
}

// growTo extends s with zeros to length n, doubling capacity to amortise growth.
func growTo[T any](s []T, n int) []T {
	if n <= cap(s) {
		return s[:n]
	}
	c := max(2*cap(s), n, 1024)
	out := make([]T, n, c)
	copy(out, s)
	return out
}
