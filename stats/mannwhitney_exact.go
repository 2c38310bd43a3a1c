package stats

import "math"

// uDist is the exact null distribution of the Mann-Whitney U statistic for
// samples of m and n observations without ties: count[u] is the number of
// the C(m+n, m) equally likely orderings with U = u.
type uDist struct {
	count []float64
	total float64
}

// newUDist builds the distribution with the recurrence on the largest of
// the m+n observations: if it belongs to the first sample it beats all n of
// the second, so N(u; i, j) = N(u-j; i-1, j) + N(u; i, j-1). Only additions
// of positive numbers, so the tails keep full relative precision; the
// counts stay below C(98, 49) ≈ 2.5e28, far inside float64's range. The
// cost is about m²n²/4 additions (1.5 million for 49×49).
func newUDist(m, n int) uDist {
	// f[i] holds N(·; i, j) for the current j.
	f := make([][]float64, m+1)
	for i := range f {
		f[i] = make([]float64, 1, i*n+1)
		f[i][0] = 1
	}
	for j := 1; j <= n; j++ {
		for i := 1; i <= m; i++ {
			prev := f[i] // N(·; i, j-1), degree i(j-1)
			cur := prev[:i*j+1]
			clear(cur[len(prev):])
			// Add N(u-j; i-1, j): f[i-1] already holds row j.
			for u := range f[i-1] {
				cur[u+j] += f[i-1][u]
			}
			f[i] = cur
		}
	}
	d := uDist{count: f[m]}
	for _, c := range d.count {
		d.total += c
	}
	return d
}

// lower is P(U <= q).
func (d uDist) lower(q int64) float64 {
	if q < 0 {
		return 0
	}
	if q >= int64(len(d.count)-1) {
		return 1
	}
	var s float64
	for _, c := range d.count[:q+1] {
		s += c
	}
	return s / d.total
}

// upper is P(U >= q).
func (d uDist) upper(q int64) float64 {
	if q <= 0 {
		return 1
	}
	if q > int64(len(d.count)-1) {
		return 0
	}
	var s float64
	for _, c := range d.count[q:] {
		s += c
	}
	return s / d.total
}

// pValue mirrors wilcox.test's exact p-values for the observed u.
func (d uDist) pValue(u int64, alt Alternative) float64 {
	switch alt {
	case Greater:
		return d.upper(u)
	case Less:
		return d.lower(u)
	}
	mn := int64(len(d.count) - 1)
	var p float64
	if 2*u > mn {
		p = d.upper(u)
	} else {
		p = d.lower(u)
	}
	return math.Min(1, 2*p)
}

// quantile is R's qwilcox(x, m, n): the smallest q with P(U <= q) >= x,
// with R's fuzz of 10 machine epsilons against rounding.
func (d uDist) quantile(x float64) int64 {
	const eps = 2.220446049250313e-16
	var p float64
	if x <= 0.5 {
		x -= 10 * eps
		for q, c := range d.count {
			p += c / d.total
			if p >= x {
				return int64(q)
			}
		}
		return int64(len(d.count) - 1)
	}
	x = 1 - x + 10*eps
	mn := int64(len(d.count) - 1)
	for q, c := range d.count {
		p += c / d.total
		if p > x {
			return mn - int64(q)
		}
	}
	return 0
}
