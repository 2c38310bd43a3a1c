package ingest

// keyTable is an open-addressing hash table from the 64-bit hash of a raw
// key to its rawKey, with linear probing and backward-shift deletion. It
// replaces a Go map on the hot path because the map hashes the key again
// and touches a control word and a slot, while here one slot holds both the
// full hash and the pointer: one cache miss per lookup instead of two or
// three when the series are many.
type keyTable struct {
	slots []slot
	mask  uint64
	n     int
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
			t.slots[i] = slot{h: h, rk: rk}
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
		t.slots[i] = slot{}
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
				t.slots[i] = s
				i = j
				break
			}
		}
	}
}
