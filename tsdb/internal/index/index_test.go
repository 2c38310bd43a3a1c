package index

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/prometheus/prometheus/model/labels"
)

// TestSelectMatchesBruteForce compares Select with evaluating every
// matcher on every series, for random label sets and matchers of all four
// types, including ones that match the empty string.
func TestSelectMatchesBruteForce(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	ix := New()
	var all []labels.Labels
	vals := []string{"a", "b", "c", "ab", "bc"}
	for id := 0; id < 500; id++ {
		b := labels.NewScratchBuilder(4)
		b.Add("__name__", fmt.Sprintf("m%d", r.IntN(4)))
		for _, n := range []string{"x", "y", "z"} {
			if r.IntN(3) > 0 {
				b.Add(n, vals[r.IntN(len(vals))])
			}
		}
		b.Sort()
		ls := b.Labels()
		all = append(all, ls)
		ix.Add(uint32(id), ls)
	}
	types := []labels.MatchType{labels.MatchEqual, labels.MatchNotEqual, labels.MatchRegexp, labels.MatchNotRegexp}
	patterns := []string{"", "a", "b", "a|b", ".*", ".+", "a.*", "c|ab|zz"}
	for iter := 0; iter < 2000; iter++ {
		var ms []*labels.Matcher
		for j := 0; j < 1+r.IntN(3); j++ {
			ty := types[r.IntN(len(types))]
			p := patterns[r.IntN(len(patterns))]
			if ty == labels.MatchEqual || ty == labels.MatchNotEqual {
				p = append(vals, "")[r.IntN(len(vals)+1)]
			}
			ms = append(ms, labels.MustNewMatcher(ty, []string{"x", "y", "z", "__name__", "nope"}[r.IntN(5)], p))
		}
		var want []uint32
		for id, ls := range all {
			ok := true
			for _, m := range ms {
				if !m.Matches(ls.Get(m.Name)) {
					ok = false
					break
				}
			}
			if ok {
				want = append(want, uint32(id))
			}
		}
		got := ix.Select(ms...)
		if !slices.Equal(got, want) && !(len(got) == 0 && len(want) == 0) {
			t.Fatalf("Select(%v): %d series, want %d", ms, len(got), len(want))
		}
	}
}

func TestNamesValues(t *testing.T) {
	ix := New()
	ix.Add(0, labels.FromStrings("__name__", "a", "job", "x"))
	ix.Add(1, labels.FromStrings("__name__", "b", "job", "y", "le", "1"))
	if got := fmt.Sprint(ix.Names()); got != "[__name__ job le]" {
		t.Errorf("Names() = %s", got)
	}
	if got := fmt.Sprint(ix.Values("job")); got != "[x y]" {
		t.Errorf("Values(job) = %s", got)
	}
	if got := ix.Postings("job", "y"); !slices.Equal(got, []uint32{1}) {
		t.Errorf("Postings(job, y) = %v", got)
	}
}
