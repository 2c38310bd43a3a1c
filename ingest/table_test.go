package ingest

import (
	"math/rand/v2"
	"strings"
	"testing"
	"unsafe"
)

// TestKeyTableMatchesMap drives the table and a map with the same random
// inserts and removes, with hashes drawn from a small range so that
// collisions and backward shifts happen.
func TestKeyTableMatchesMap(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var tab keyTable
	model := map[*aliasKey]bool{}
	var live []*aliasKey
	for i := range 4000 {
		if len(live) > 0 && rng.IntN(3) == 0 {
			j := rng.IntN(len(live))
			rk := live[j]
			live[j] = live[len(live)-1]
			live = live[:len(live)-1]
			tab.remove(rk.hash, &rk.rawKey)
			delete(model, rk)
		} else {
			h := uint64(rng.IntN(512))
			if rng.IntN(2) == 0 {
				h = ^h // homes at the end of the table: probes wrap around
			}
			rk := &aliasKey{hash: h}
			tab.insert(h, &rk.rawKey)
			model[rk] = true
			live = append(live, rk)
		}
		if i%97 == 0 {
			for _, rk := range live {
				found := false
				for k, s := tab.first(rk.hash); k != nil; k, s = tab.next(rk.hash, s) {
					if k == &rk.rawKey {
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

// TestRawKeyLayout guards the conversions rawKey.series relies on: the
// primary key starts its series and an alias's key starts its aliasKey.
func TestRawKeyLayout(t *testing.T) {
	var s series
	var ak aliasKey
	if unsafe.Offsetof(s.primary) != 0 || unsafe.Offsetof(ak.rawKey) != 0 {
		t.Fatal("a rawKey is no longer the first field of series or aliasKey")
	}
	if n := unsafe.Sizeof(rawKey{}); n != 48 {
		t.Errorf("rawKey is %d bytes, want 48 (the series' hot fields follow it in one line)", n)
	}
	// Go's 192-byte size class starts every object on a 64-byte boundary
	// (192 = 3*64); a bigger series would move to a class that does not,
	// and its hot line would straddle two cache lines.
	if n := unsafe.Sizeof(series{}); n > 192 {
		t.Errorf("series is %d bytes, more than the 192-byte size class", n)
	}
}

// TestRawKeysAroundTheInlineLength adds keys that differ only in their last
// byte, or only in where the name ends and the tags begin, at lengths
// either side of inlineKeyLen: each must stay its own series, through the
// hot path (second round) as well as at creation (first round), and
// through aliases (tags in another order).
func TestRawKeysAroundTheInlineLength(t *testing.T) {
	a, sink, clk, _ := newTestAgg(t, Options{})
	type key struct{ name, tags string }
	var keys []key
	for _, n := range []int{inlineKeyLen - 2, inlineKeyLen - 1, inlineKeyLen, inlineKeyLen + 1, 3 * inlineKeyLen} {
		base := make([]byte, n)
		for i := range base {
			base[i] = 'a' + byte(i%26)
		}
		for _, last := range []byte{'x', 'y'} {
			name := string(base[:n-1]) + string(last)
			keys = append(keys, key{name, ""})
			// The same bytes split into a name and a tag list.
			keys = append(keys, key{name[:n-4], "t:" + name[n-4:]})
		}
	}
	for round := 1; round <= 2; round++ {
		for i, k := range keys {
			mustAdd(t, a, metric(KindCounter, k.name, k.tags, float64(i+1)))
		}
	}
	got := flush(t, a, sink, clk)
	if len(got) != len(keys) {
		t.Fatalf("%d keys became %d series: %v", len(keys), len(got), got)
	}
	for i, k := range keys {
		want := 2 * float64(i+1)
		m := metric(KindCounter, k.name, k.tags)
		if v, r := a.add(m); r != OK || v != want {
			t.Errorf("key %d (%d+%d bytes): total %v (%v), want %v", i, len(k.name), len(k.tags), v, r, want)
		}
	}
	// Long tag lists in two orders are one series, and the alias is found
	// on the hot path afterwards.
	long := strings.Repeat("x", inlineKeyLen)
	for range 3 {
		mustAdd(t, a, metric(KindCounter, "al", "a:"+long+",b:1", 1))
		mustAdd(t, a, metric(KindCounter, "al", "b:1,a:"+long, 1))
	}
	if v, _ := a.add(metric(KindCounter, "al", "b:1,a:"+long)); v != 6 {
		t.Errorf("aliased long keys: total %v, want 6", v)
	}
}

// TestNameHashFromParser checks that a Metric carrying the name hash its
// parser computed (Metric.NameHash) reaches the same series as one without.
func TestNameHashFromParser(t *testing.T) {
	a, sink, clk, _ := newTestAgg(t, Options{})
	kh := a.NameHasher()
	for i := range 10 {
		m := metric(KindCounter, "shop.revenue", "", 1)
		if i%2 == 0 {
			m.NameHash = kh.Bytes(m.Name)
		}
		mustAdd(t, a, m)
	}
	if got := flush(t, a, sink, clk); got[`{__name__="shop_revenue"}`] != 10 || len(got) != 1 {
		t.Errorf("hashed and unhashed metrics split: %v", got)
	}
}
