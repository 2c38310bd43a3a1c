// Package index is the in-memory inverted label index of the tsdb: for
// every label name and value, the sorted list of series IDs carrying it.
// It is rebuilt on open from the postings persisted in Pebble and kept in
// step by the writer; readers take a read lock only long enough to copy
// slice headers, because lists are append-only.
package index

import (
	"math/bits"
	"slices"
	"sort"
	"sync"

	"github.com/prometheus/prometheus/model/labels"
)

// Index maps label pairs to sorted series IDs. The zero value is not
// usable; call New.
type Index struct {
	mu       sync.RWMutex
	postings map[string]map[string][]uint32
	n        uint32 // IDs are dense: every id < n exists
}

// New returns an empty index.
func New() *Index { return &Index{postings: map[string]map[string][]uint32{}} }

// Add indexes series id with labels ls. IDs must be added in increasing
// order, which keeps every list sorted without sorting.
func (ix *Index) Add(id uint32, ls labels.Labels) {
	ix.mu.Lock()
	ls.Range(func(l labels.Label) { ix.addLocked(l.Name, l.Value, id) })
	if id >= ix.n {
		ix.n = id + 1
	}
	ix.mu.Unlock()
}

// AddPosting indexes one label pair of series id (used when loading
// persisted postings, which arrive sorted by name, value and id).
func (ix *Index) AddPosting(name, value string, id uint32) {
	ix.mu.Lock()
	ix.addLocked(name, value, id)
	if id >= ix.n {
		ix.n = id + 1
	}
	ix.mu.Unlock()
}

func (ix *Index) addLocked(name, value string, id uint32) {
	vals := ix.postings[name]
	if vals == nil {
		vals = map[string][]uint32{}
		ix.postings[name] = vals
	}
	list := vals[value]
	if n := len(list); n > 0 && list[n-1] >= id {
		// Out-of-order load: keep the list sorted and unique.
		i, found := slices.BinarySearch(list, id)
		if found {
			return
		}
		list = slices.Insert(list, i, id)
	} else {
		list = append(list, id)
	}
	vals[value] = list
}

// SetLen records that IDs below n exist (series without labels have no postings).
func (ix *Index) SetLen(n uint32) {
	ix.mu.Lock()
	if n > ix.n {
		ix.n = n
	}
	ix.mu.Unlock()
}

// Len returns the number of series.
func (ix *Index) Len() uint32 {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	return ix.n
}

// Names returns every label name, sorted.
func (ix *Index) Names() []string {
	ix.mu.RLock()
	names := make([]string, 0, len(ix.postings))
	for n := range ix.postings {
		names = append(names, n)
	}
	ix.mu.RUnlock()
	sort.Strings(names)
	return names
}

// Values returns every value of label name, sorted.
func (ix *Index) Values(name string) []string {
	ix.mu.RLock()
	vals := ix.postings[name]
	out := make([]string, 0, len(vals))
	for v := range vals {
		out = append(out, v)
	}
	ix.mu.RUnlock()
	sort.Strings(out)
	return out
}

// Postings returns the sorted IDs of series with name=value. The result
// must not be modified.
func (ix *Index) Postings(name, value string) []uint32 {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	return ix.postings[name][value]
}

// Select returns the sorted IDs of series matching all matchers, with
// Prometheus semantics: a matcher that matches the empty string also
// matches series without the label. No matchers select every series.
func (ix *Index) Select(ms ...*labels.Matcher) []uint32 {
	ix.mu.RLock()
	n := ix.n
	var pos [][]uint32 // one sorted list per positive matcher
	var neg []*bitset  // series excluded by matchers that match ""
	for _, m := range ms {
		vals := ix.postings[m.Name]
		if m.Matches("") {
			// Matches series without the label: exclude only series whose
			// value does not match.
			var ex *bitset
			for v, list := range vals {
				if !m.Matches(v) {
					if ex == nil {
						ex = newBitset(n)
					}
					ex.addAll(list)
				}
			}
			if ex != nil {
				neg = append(neg, ex)
			}
			continue
		}
		pos = append(pos, ix.matchingLocked(m, vals, n))
	}
	ix.mu.RUnlock()

	var out []uint32
	if len(pos) == 0 {
		out = make([]uint32, 0, n)
		for i := uint32(0); i < n; i++ {
			out = append(out, i)
		}
	} else {
		slices.SortFunc(pos, func(a, b []uint32) int { return len(a) - len(b) })
		out = slices.Clone(pos[0])
		for _, p := range pos[1:] {
			out = intersect(out, p)
			if len(out) == 0 {
				break
			}
		}
	}
	if len(neg) > 0 {
		k := 0
		for _, id := range out {
			keep := true
			for _, ex := range neg {
				if ex.has(id) {
					keep = false
					break
				}
			}
			if keep {
				out[k] = id
				k++
			}
		}
		out = out[:k]
	}
	return out
}

// matchingLocked returns the sorted union of the lists of the values of vals
// that m matches.
func (ix *Index) matchingLocked(m *labels.Matcher, vals map[string][]uint32, n uint32) []uint32 {
	if m.Type == labels.MatchEqual {
		return vals[m.Value]
	}
	var lists [][]uint32
	if m.Type == labels.MatchRegexp {
		if set := m.SetMatches(); len(set) > 0 {
			for _, v := range set {
				if l := vals[v]; len(l) > 0 {
					lists = append(lists, l)
				}
			}
			return union(lists, n)
		}
	}
	for v, list := range vals {
		if m.Matches(v) {
			lists = append(lists, list)
		}
	}
	return union(lists, n)
}

func union(lists [][]uint32, n uint32) []uint32 {
	switch len(lists) {
	case 0:
		return nil
	case 1:
		return lists[0]
	}
	total := 0
	for _, l := range lists {
		total += len(l)
	}
	if uint32(total) > n/16 {
		bs := newBitset(n)
		for _, l := range lists {
			bs.addAll(l)
		}
		return bs.list(total)
	}
	out := make([]uint32, 0, total)
	for _, l := range lists {
		out = append(out, l...)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func intersect(a, b []uint32) []uint32 {
	k, j := 0, 0
	for _, x := range a {
		for j < len(b) && b[j] < x {
			j++
		}
		if j == len(b) {
			break
		}
		if b[j] == x {
			a[k] = x
			k++
		}
	}
	return a[:k]
}

type bitset struct{ w []uint64 }

func newBitset(n uint32) *bitset { return &bitset{w: make([]uint64, (n+63)/64)} }

func (b *bitset) addAll(ids []uint32) {
	for _, id := range ids {
		if int(id/64) < len(b.w) {
			b.w[id/64] |= 1 << (id % 64)
		}
	}
}

func (b *bitset) has(id uint32) bool {
	return int(id/64) < len(b.w) && b.w[id/64]&(1<<(id%64)) != 0
}

func (b *bitset) list(hint int) []uint32 {
	out := make([]uint32, 0, hint)
	for i, w := range b.w {
		for w != 0 {
			t := uint32(bits.TrailingZeros64(w))
			out = append(out, uint32(i)*64+t)
			w &= w - 1
		}
	}
	return out
}
