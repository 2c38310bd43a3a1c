package ingest

import (
	"math/rand/v2"
	"testing"
	"unsafe"
)

// TestKeyTableMatchesMap drives the table and a map with the same random
// inserts and removes, with hashes drawn from a small range so that
// collisions and backward shifts happen.
func TestKeyTableMatchesMap(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var tab keyTable
	model := map[*rawKey]bool{}
	var live []*rawKey
	for i := range 4000 {
		if len(live) > 0 && rng.IntN(3) == 0 {
			j := rng.IntN(len(live))
			rk := live[j]
			live[j] = live[len(live)-1]
			live = live[:len(live)-1]
			tab.remove(rk)
			delete(model, rk)
		} else {
			h := uint64(rng.IntN(512))
			if rng.IntN(2) == 0 {
				h = ^h // homes at the end of the table: probes wrap around
			}
			rk := &rawKey{hash: h, key: string(rune(i))}
			tab.insert(rk)
			model[rk] = true
			live = append(live, rk)
		}
		if i%97 == 0 {
			for _, rk := range live {
				found := false
				for k, s := tab.first(rk.hash); k != nil; k, s = tab.next(rk.hash, s) {
					if k == rk {
						found = true
					}
				}
				if !found {
					t.Fatalf("step %d: key %p (hash %x) lost", i, rk, rk.hash)
				}
			}
			if tab.n != len(model) {
				t.Fatalf("step %d: table holds %d, model %d", i, tab.n, len(model))
			}
		}
	}
}

// TestSeriesHotFieldsShareALine guards the layout the hot path relies on.
func TestSeriesHotFieldsShareALine(t *testing.T) {
	var s series
	if end := unsafe.Offsetof(s.value) + unsafe.Sizeof(s.value); end > 64 {
		t.Errorf("series.value ends at byte %d, past the first cache line", end)
	}
	if unsafe.Offsetof(s.dead) >= 64 || unsafe.Offsetof(s.touched) >= 64 {
		t.Error("dead or touched left the first cache line")
	}
}
