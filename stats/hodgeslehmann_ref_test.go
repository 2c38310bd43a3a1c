package stats

import (
	"math"
	"slices"
)

// refPairDiffs is the previous order-statistic selection (value bisection
// with a full O(m+n) staircase count per step), kept as the reference the
// faster selection in hodgeslehmann.go must agree with exactly.
// refPairDiffs answers order-statistic queries on the m·n differences
// t[i] - c[j] of two sorted samples without materialising them.
type refPairDiffs struct {
	t, c    []float64 // treatment and control, each sorted ascending
	scratch []float64 // reused by kth
}

func (p refPairDiffs) size() int64 { return int64(len(p.t)) * int64(len(p.c)) }

// countLE counts the pairs whose computed difference t[i]-c[j] is <= v.
// Floating-point subtraction is monotone in each argument, so for sorted
// samples the pairs at or below v form a staircase walked in O(m+n).
func (p refPairDiffs) countLE(v float64) int64 {
	var count int64
	j, n := 0, len(p.c)
	for _, ti := range p.t {
		for j < n && ti-p.c[j] > v {
			j++
		}
		count += int64(n - j)
	}
	return count
}

// kth returns the k-th smallest difference (1-based). It bisects on the
// value, keeping count(lo) < k <= count(hi), until at most refKthGather
// differences lie in (lo, hi], then gathers and sorts those. With mn
// differences that takes about log2(mn/refKthGather) halvings, each an O(m+n)
// count (17 for 1000×1000 normal samples). When
// the bracket can no longer be split (a float with no float between its
// ends) every difference left in it equals hi.
func (p *refPairDiffs) kth(k int64) float64 {
	hi := p.t[len(p.t)-1] - p.c[0]
	lo := math.Nextafter(p.t[0]-p.c[len(p.c)-1], math.Inf(-1))
	countLo, countHi := int64(0), p.size()
	for countHi-countLo > refKthGather {
		mid := lo/2 + hi/2
		if mid <= lo || mid >= hi {
			return refZeroSign(hi)
		}
		if c := p.countLE(mid); c >= k {
			hi, countHi = mid, c
		} else {
			lo, countLo = mid, c
		}
	}
	p.scratch = p.between(lo, hi, p.scratch[:0])
	slices.Sort(p.scratch)
	return refZeroSign(p.scratch[k-countLo-1])
}

// refKthGather is the bracket size below which kth sorts instead of bisecting:
// a count costs O(m+n), sorting a few dozen values less.
const refKthGather = 64

// between appends the differences in (lo, hi] to buf. For each treatment
// value they are a contiguous run of control indices, and both ends of the
// run only move forward as the treatment value grows.
func (p *refPairDiffs) between(lo, hi float64, buf []float64) []float64 {
	a, b, n := 0, 0, len(p.c)
	for _, ti := range p.t {
		for a < n && ti-p.c[a] > hi {
			a++
		}
		for b < n && ti-p.c[b] > lo {
			b++
		}
		for j := a; j < b; j++ {
			buf = append(buf, ti-p.c[j])
		}
	}
	return buf
}

// zeroSign reports -0 as 0.
func refZeroSign(v float64) float64 {
	if v == 0 {
		return 0
	}
	return v
}

// median is the Hodges-Lehmann estimate of the shift: the median of all
// treatment-control differences. For an even count the upper middle
// difference is the lower one again or the next difference above it, which
// one staircase walk finds without a second selection.
func (p *refPairDiffs) median() float64 {
	mn := p.size()
	if mn%2 == 1 {
		return p.kth((mn + 1) / 2)
	}
	v := p.kth(mn / 2)
	if p.countLE(v) > mn/2 {
		return v
	}
	return (v + p.nextAbove(v)) / 2
}

// nextAbove returns the smallest difference greater than v (there must be
// one). For each treatment value the differences above v are a prefix of
// the control indices, whose last element is the smallest of them.
func (p *refPairDiffs) nextAbove(v float64) float64 {
	best := math.Inf(1)
	j, n := 0, len(p.c)
	for _, ti := range p.t {
		for j < n && ti-p.c[j] > v {
			j++
		}
		if j > 0 {
			best = min(best, ti-p.c[j-1])
		}
	}
	return refZeroSign(best)
}

// at returns the k-th smallest difference with k clamped to [1, m·n]: an
// interval end beyond the data is the extreme difference, as in R.
func (p *refPairDiffs) at(k int64) float64 {
	return p.kth(min(max(k, 1), p.size()))
}
