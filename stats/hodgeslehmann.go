package stats

import (
	"math"
	"slices"
)

// pairDiffs answers order-statistic queries on the m·n differences
// t[i] - c[j] of two sorted samples without materialising them.
//
// A selection keeps, for every observation of the shorter sample (a row),
// the window of the longer sample's indices whose differences are still
// candidates; everything left of a window is known to lie above the target
// and everything right of it below. Each step counts the differences at or
// below a pivot inside the windows only: the windows' ends never move
// backwards from row to row (floating-point subtraction is monotone in each
// argument), so a step costs O(m + min(n, candidates)), and once fewer
// candidates than n remain a step costs little more than one pass over the
// rows. The first two pivots come from a small sorted grid of differences
// just either side of the target's quantile; later ones interpolate the
// target's rank between the bracket's values (the counts of smooth data are
// close to linear there, so a handful of steps suffices), and an
// interpolation that did not halve the candidates is followed by a halving
// of the value bracket, so ties and odd distributions still converge. A
// count that lands on the target's value ends the selection at once. This is
// Johnson & Mizoguchi's (1978) and Monahan's (1984) selection of the
// Hodges-Lehmann estimate, with sampled and interpolated rather than
// median-of-rows pivots; the result is the exact order statistic whatever
// the pivots.
type pairDiffs struct {
	t, c []float64 // treatment and control, each sorted ascending

	ready   bool
	r, s    []float64 // rows (the shorter sample) and columns
	swapped bool      // rows are the control: differences are negated
	lo, hi  []int     // candidate windows [lo[i], hi[i]) per row
	le, lt  []int     // per-row results of the current count
	grid    []float64 // sorted differences of a grid of quantiles of both samples
	scratch []float64 // gathered candidates
}

// The grid that suggests a selection's first pivots pairs up to gridRows
// evenly spaced rows with up to gridCols evenly spaced columns. Its
// quantiles are within a few percent of the differences' quantiles, so
// pivots a margin of gridMargin either side of the target's quantile
// usually bracket it and leave a few percent of the differences after two
// counts. The grid is sorted once and serves every selection (the median
// and both interval ends). Below gridMin observations in all, a count is
// cheaper than sorting the grid, and selections start from interpolation.
const (
	gridRows   = 16
	gridCols   = 64
	gridMargin = 0.05
	gridMin    = 1024
)

func (p *pairDiffs) size() int64 { return int64(len(p.t)) * int64(len(p.c)) }

// init chooses the orientation: rows are the shorter sample, so a count
// costs O(rows) once the windows are narrow. With rows taken from the
// control the differences are c[i] - t[j] = -(t[j] - c[i]) exactly
// (rounding to nearest is symmetric), so the k-th smallest difference is
// the negated (mn-k+1)-th smallest of the swapped problem.
func (p *pairDiffs) init() {
	if p.ready {
		return
	}
	p.ready = true
	p.r, p.s = p.t, p.c
	if len(p.t) > len(p.c) {
		p.r, p.s, p.swapped = p.c, p.t, true
	}
	m, n := len(p.r), len(p.s)
	buf := make([]int, 4*m)
	p.lo, p.hi, p.le, p.lt = buf[:m:m], buf[m:2*m:2*m], buf[2*m:3*m:3*m], buf[3*m:]
	if m+n < gridMin {
		return
	}
	gr, gc := min(m, gridRows), min(n, gridCols)
	p.grid = make([]float64, 0, gr*gc)
	for a := range gr {
		ri := p.r[(2*a+1)*m/(2*gr)]
		for b := range gc {
			p.grid = append(p.grid, ri-p.s[(2*b+1)*n/(2*gc)])
		}
	}
	slices.Sort(p.grid)
}

// kth returns the k-th smallest difference (1-based).
func (p *pairDiffs) kth(k int64) float64 {
	p.init()
	if p.swapped {
		_, b := p.selectPair(p.size()-k+1, false)
		return zeroSign(-b)
	}
	a, _ := p.selectPair(k, false)
	return zeroSign(a)
}

// kthPair returns the k-th and (k+1)-th smallest differences (1 <= k < mn)
// from one selection.
func (p *pairDiffs) kthPair(k int64) (float64, float64) {
	p.init()
	if p.swapped {
		a, b := p.selectPair(p.size()-k, true)
		return zeroSign(-b), zeroSign(-a)
	}
	a, b := p.selectPair(k, true)
	return zeroSign(a), zeroSign(b)
}

// kthGather is the number of candidates below which a selection gathers
// and sorts them instead of counting again.
const kthGather = 64

// selectPair returns the k-th smallest row-minus-column difference and, if
// pair is set, the (k+1)-th (else the second result is the k-th again).
func (p *pairDiffs) selectPair(k int64, pair bool) (float64, float64) {
	r, s := p.r, p.s
	m, n := len(r), len(s)
	for i := range m {
		p.lo[i], p.hi[i] = 0, n
	}
	k2 := k
	if pair {
		k2 = k + 1
	}
	// below counts the differences right of the windows; cand those inside.
	below, cand := int64(0), p.size()
	// Every candidate lies strictly between loV and hiV.
	loV := math.Nextafter(r[0]-s[n-1], math.Inf(-1))
	hiV := math.Nextafter(r[m-1]-s[0], math.Inf(1))
	// The grid's suggestions around the targets' quantile come first.
	var suggest [2]float64
	next := len(suggest)
	if g := len(p.grid); g > 0 {
		f := (float64(k) + float64(k2-k)/2 - 0.5) / float64(p.size())
		suggest[0] = p.grid[min(max(int((f-gridMargin)*float64(g)), 0), g-1)]
		suggest[1] = p.grid[min(max(int((f+gridMargin)*float64(g)), 0), g-1)]
		next = 0
	}
	bisect := false
	for cand > kthGather {
		var piv float64
		for next < len(suggest) && !(suggest[next] > loV && suggest[next] < hiV) {
			next++
		}
		switch {
		case next < len(suggest):
			piv = suggest[next]
			next++
		case !bisect:
			// Interpolate the middle of the two targets' ranks.
			frac := (float64(k-below) + float64(k2-k)/2 - 0.5) / float64(cand)
			piv = loV + frac*(hiV-loV)
		default:
			piv = loV/2 + hiV/2
		}
		if !(piv > loV && piv < hiV) {
			piv = loV/2 + hiV/2
		}
		if !(piv > loV && piv < hiV) {
			piv = math.Nextafter(loV, math.Inf(1))
			if !(piv < hiV) {
				break // no float left between the bounds: gather
			}
		}
		cntLE, cntLT := p.count(piv)
		cntLE += below
		cntLT += below
		prev := cand
		switch {
		case cntLE < k:
			// Both targets lie above the pivot: drop everything at or below.
			copy(p.hi, p.le)
			cand -= cntLE - below
			below, loV = cntLE, piv
		case cntLT >= k2:
			// Both lie below it: drop everything at or above.
			copy(p.lo, p.lt)
			cand = cntLT - below
			hiV = piv
		default:
			return p.resolve(piv, k, k2, cntLE, cntLT, pair)
		}
		// Halve the value bracket after an interpolation that did not halve
		// the candidates; interpolate again after a halving.
		bisect = !bisect && next >= len(suggest) && 2*cand > prev
	}
	p.scratch = p.scratch[:0]
	for i, ri := range r {
		for j := p.lo[i]; j < p.hi[i]; j++ {
			p.scratch = append(p.scratch, ri-s[j])
		}
	}
	slices.Sort(p.scratch)
	a := p.scratch[k-below-1]
	if !pair {
		return a, a
	}
	return a, p.scratch[k-below]
}

// count counts the candidates at or below v and those strictly below it,
// leaving in le and lt each row's first index with a difference <= v and
// < v. Each row's walk starts where the previous row's ended (or at its
// window), so the walks together cover each column at most once.
func (p *pairDiffs) count(v float64) (cntLE, cntLT int64) {
	s := p.s
	prev := 0
	for i, ri := range p.r {
		j, end := max(p.lo[i], prev), p.hi[i]
		for j < end && ri-s[j] > v {
			j++
		}
		p.le[i], prev = j, j
		for j < end && ri-s[j] >= v {
			j++
		}
		p.lt[i] = j
		cntLE += int64(end - p.le[i])
		cntLT += int64(end - j)
	}
	return cntLE, cntLT
}

// resolve finishes a selection whose targets k <= k2 straddle the pivot v:
// cntLT candidates lie below v and cntLE at or below it, with
// cntLT < k2 and k <= cntLE. A target ranked at most cntLT is the largest
// difference below v, one ranked above cntLE the smallest above it, and
// any other equals v.
func (p *pairDiffs) resolve(v float64, k, k2, cntLE, cntLT int64, pair bool) (float64, float64) {
	at := func(rank int64) float64 {
		switch {
		case rank <= cntLT:
			// Row i's candidates below v are columns [lt[i], hi[i]); the
			// largest is the first.
			best := math.Inf(-1)
			for i, ri := range p.r {
				if j := p.lt[i]; j < p.hi[i] {
					best = max(best, ri-p.s[j])
				}
			}
			return best
		case rank > cntLE:
			// Row i's candidates above v are columns [lo[i], le[i]); the
			// smallest is the last.
			best := math.Inf(1)
			for i, ri := range p.r {
				if j := p.le[i] - 1; j >= p.lo[i] {
					best = min(best, ri-p.s[j])
				}
			}
			return best
		}
		return v
	}
	a := at(k)
	if !pair {
		return a, a
	}
	return a, at(k2)
}

// zeroSign reports -0 as 0.
func zeroSign(v float64) float64 {
	if v == 0 {
		return 0
	}
	return v
}

// median is the Hodges-Lehmann estimate of the shift: the median of all
// treatment-control differences. For an even count both middle differences
// come from one selection.
func (p *pairDiffs) median() float64 {
	mn := p.size()
	if mn%2 == 1 {
		return p.kth((mn + 1) / 2)
	}
	a, b := p.kthPair(mn / 2)
	if a == b {
		return a
	}
	return (a + b) / 2
}

// at returns the k-th smallest difference with k clamped to [1, m·n]: an
// interval end beyond the data is the extreme difference, as in R.
func (p *pairDiffs) at(k int64) float64 {
	return p.kth(min(max(k, 1), p.size()))
}

// exactShiftCI is R's exact interval: with qu the alpha/2 quantile of U
// (at least 1), the ends are the qu-th smallest and the qu-th largest
// differences.
func exactShiftCI(d *pairDiffs, dist uDist, alpha float64, alt Alternative) Interval {
	mn := d.size()
	switch alt {
	case Greater:
		qu := max(dist.quantile(alpha), 1)
		return Interval{Lo: d.at(qu), Hi: math.Inf(1)}
	case Less:
		qu := max(dist.quantile(alpha), 1)
		return Interval{Lo: math.Inf(-1), Hi: d.at(mn - qu + 1)}
	}
	qu := max(dist.quantile(alpha/2), 1)
	return Interval{Lo: d.at(qu), Hi: d.at(mn - qu + 1)}
}

// normalShiftCI inverts the normal approximation of the rank-sum test.
//
// For a shift δ strictly between two consecutive differences, U(δ) is the
// number c of differences above δ, and σ only counts ties within each
// sample. The test statistic g(c) = (c - mn/2 - corr)/σ is increasing in
// c, so the root of g(c(δ)) = z that R's uniroot looks for is the jump of
// c(δ) from the largest c* with g(c*) <= z to c*+1: δ = d_(mn-c*).
func normalShiftCI(d *pairDiffs, sigma, corr, alpha float64, alt Alternative) Interval {
	mn := float64(d.size())
	lower := func(zq float64) float64 {
		c := math.Floor(mn/2 + corr + zq*sigma)
		return d.at(int64(mn - c))
	}
	upper := func(zq float64) float64 {
		c := math.Floor(mn/2 - corr - zq*sigma)
		return d.at(int64(mn - c))
	}
	switch alt {
	case Greater:
		return Interval{Lo: lower(stdNormal.Quantile(1 - alpha)), Hi: math.Inf(1)}
	case Less:
		return Interval{Lo: math.Inf(-1), Hi: upper(stdNormal.Quantile(1 - alpha))}
	}
	zq := stdNormal.Quantile(1 - alpha/2)
	return Interval{Lo: lower(zq), Hi: upper(zq)}
}
