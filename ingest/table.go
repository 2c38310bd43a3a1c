package ingest

import (
	"sync/atomic"
	"unsafe"
)

// keyTable is an open-addressing hash table from the 64-bit hash of a raw
// key to its rawKey, with linear probing and backward-shift deletion. It
// replaces a Go map on the hot path because the map hashes the key again
// and touches a control word and a slot, while here one slot holds both the
// full hash and the pointer: one cache miss per lookup instead of two or
// three when the series are many.
//
// Lookups (first, next) run under the shard lock. peek reads without it,
// with atomic loads (slots are written with atomic stores and a grown slot
// array is published through view, so peek is race-free); its answer may
// be stale, so AddSimple trusts it only once the key's spelling matches
// and, under the lock, the key's series is not dead.
type keyTable struct {
	slots []slot
	mask  uint64
	n     int
	view  atomic.Pointer[slotsView] // slots and mask, for peek
}

// slotsView is one slot array with its mask, as peek sees it.
type slotsView struct {
	slots []slot
	mask  uint64
}

type slot struct {
	h  uint64 // 0 marks an empty slot; stored hashes are never 0
	rk *rawKey
}

const minTableSize = 16

func tableHash(h uint64) uint64 {
	if h == 0 {
		return 1
	}
	return h
}

// first returns the first raw key with hash h, and the slot index to go on
// from with next.
func (t *keyTable) first(h uint64) (*rawKey, uint64) {
	if t.slots == nil {
		return nil, 0
	}
	h = tableHash(h)
	for i := h & t.mask; ; i = (i + 1) & t.mask {
		s := &t.slots[i]
		if s.h == h {
			return s.rk, i
		}
		if s.h == 0 {
			return nil, 0
		}
	}
}

// peek returns, without the shard lock, the raw key in the first slot
// holding h among the few from h's home slot on, or nil. The answer is a
// hint: the key may have moved or gone meanwhile.
func (t *keyTable) peek(h uint64) *rawKey {
	v := t.view.Load()
	if v == nil {
		return nil
	}
	h = tableHash(h)
	for i, n := h&v.mask, 0; n < peekProbes; i, n = (i+1)&v.mask, n+1 {
		s := &v.slots[i]
		switch atomic.LoadUint64(&s.h) {
		case h:
			return (*rawKey)(atomic.LoadPointer((*unsafe.Pointer)(unsafe.Pointer(&s.rk))))
		case 0:
			return nil
		}
	}
	return nil
}

// peekProbes is how many slots peek looks at: most keys are in their home
// slot, nearly all in the first few.
const peekProbes = 4

// store writes slot i with atomic stores, for peek.
func (t *keyTable) store(i uint64, v slot) {
	s := &t.slots[i]
	atomic.StoreUint64(&s.h, v.h)
	atomic.StorePointer((*unsafe.Pointer)(unsafe.Pointer(&s.rk)), unsafe.Pointer(v.rk))
}

// next returns the next raw key with hash h after slot i (hash collisions).
func (t *keyTable) next(h uint64, i uint64) (*rawKey, uint64) {
	h = tableHash(h)
	for i = (i + 1) & t.mask; ; i = (i + 1) & t.mask {
		s := &t.slots[i]
		if s.h == h {
			return s.rk, i
		}
		if s.h == 0 {
			return nil, 0
		}
	}
}

// insert adds rk under h. The table grows at half full (at three quarters
// the 10,000-name benchmark ran 4% slower: longer probes).
func (t *keyTable) insert(h uint64, rk *rawKey) {
	if t.slots == nil || (t.n+1)*2 > len(t.slots) {
		t.grow()
	}
	t.put(tableHash(h), rk)
	t.n++
}

// put stores rk under h, a tableHash.
func (t *keyTable) put(h uint64, rk *rawKey) {
	for i := h & t.mask; ; i = (i + 1) & t.mask {
		if t.slots[i].h == 0 {
			t.store(i, slot{h: h, rk: rk})
			return
		}
	}
}

func (t *keyTable) grow() {
	old := t.slots
	size := max(minTableSize, 2*len(old))
	t.slots = make([]slot, size)
	t.mask = uint64(size - 1)
	for _, s := range old {
		if s.h != 0 {
			t.put(s.h, s.rk)
		}
	}
	t.view.Store(&slotsView{slots: t.slots, mask: t.mask})
}

// remove deletes rk, stored under h, and shifts back the slots after it
// that would no longer be found.
func (t *keyTable) remove(h uint64, rk *rawKey) {
	if t.slots == nil {
		return
	}
	h = tableHash(h)
	i := h & t.mask
	for {
		s := &t.slots[i]
		if s.h == 0 {
			return
		}
		if s.rk == rk {
			break
		}
		i = (i + 1) & t.mask
	}
	t.n--
	for {
		t.store(i, slot{})
		j := i
		for {
			j = (j + 1) & t.mask
			s := t.slots[j]
			if s.h == 0 {
				return
			}
			home := s.h & t.mask
			// s may move to i when i lies cyclically in [home, j).
			if (j > i && (home <= i || home > j)) || (j < i && home <= i && home > j) {
				t.store(i, s)
				i = j
				break
			}
		}
	}
}
