package client

import "sync"

const (
	stickyShards   = 64
	stickyMinSlots = 64
	occupied       = 0x80 // low byte of a slot: occupied flag | branch index (< 128)
)

// stickySet remembers the branch this client gave each user of one experiment, so that
// a weight change does not move users it already exposed, and so that each user's
// exposure is queued once.
//
// It is on the path of every assignment, so it is built for cache misses rather than
// generality: users are 64-bit hashes of their ids (the low byte replaced by the
// branch), in open-addressed tables of uint64, sharded by the top bits with a mutex
// each. A lookup is one hash and usually one cache line, against three or more for a
// map[string]uint8; memory is 16 to 32 bytes per user. Two ids colliding in 56 bits
// (about 1e-5 for a million users) would share a branch and the second's exposure would
// not be sent.
type stickySet struct {
	perShard int
	shards   [stickyShards]stickyShard
}

type stickyShard struct {
	mu    sync.Mutex
	slots []uint64
	n     int
	_     [24]byte // keep shards on separate cache lines
}

func newStickySet(maxUsers int) *stickySet {
	return &stickySet{perShard: max(maxUsers/stickyShards, 1)}
}

func stickyKey(h uint64) uint64 { return h&^0xFF | occupied }

// find returns the slot holding key, or the empty slot where it belongs.
func (sh *stickyShard) find(h, key uint64) int {
	mask := uint64(len(sh.slots) - 1)
	for i := (h >> 8) & mask; ; i = (i + 1) & mask {
		if e := sh.slots[i]; e == 0 || e&^0x7F == key {
			return int(i)
		}
	}
}

// put stores key|br at the empty slot i, growing or (when full) resetting the table.
func (s *stickySet) put(sh *stickyShard, h, key uint64, i int, br uint8) {
	if sh.n >= s.perShard {
		// Full: forget this shard rather than grow without bound (Options.MaxSticky).
		sh.slots, sh.n = make([]uint64, stickyMinSlots), 0
		i = sh.find(h, key)
	}
	sh.slots[i] = key | uint64(br)
	sh.n++
	if sh.n*2 > len(sh.slots) {
		old := sh.slots
		sh.slots = make([]uint64, 2*len(old))
		for _, e := range old {
			if e != 0 {
				sh.slots[sh.find(e, e&^0x7F)] = e
			}
		}
	}
}

// getOrPut returns the remembered branch of the user with hash h, or remembers br and
// returns false.
func (s *stickySet) getOrPut(h uint64, br uint8) (uint8, bool) {
	key := stickyKey(h)
	sh := &s.shards[h>>58]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if sh.slots == nil {
		sh.slots = make([]uint64, stickyMinSlots)
	}
	i := sh.find(h, key)
	if e := sh.slots[i]; e != 0 {
		return uint8(e & 0x7F), true
	}
	s.put(sh, h, key, i, br)
	return br, false
}

func (s *stickySet) get(h uint64) (uint8, bool) {
	key := stickyKey(h)
	sh := &s.shards[h>>58]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if sh.slots == nil {
		return 0, false
	}
	if e := sh.slots[sh.find(h, key)]; e != 0 {
		return uint8(e & 0x7F), true
	}
	return 0, false
}

// set overrides a user's branch with the one the server recorded.
func (s *stickySet) set(h uint64, br uint8) {
	key := stickyKey(h)
	sh := &s.shards[h>>58]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if sh.slots == nil {
		sh.slots = make([]uint64, stickyMinSlots)
	}
	i := sh.find(h, key)
	if sh.slots[i] != 0 {
		sh.slots[i] = key | uint64(br)
		return
	}
	s.put(sh, h, key, i, br)
}
