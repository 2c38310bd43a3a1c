package chunk

import "math"

// Agg accumulates samples (or finer points) into one rollup Point. Sums of
// short decimals are kept exact as a decimal mantissa, so that the sum of
// 0.1 and 0.2 is stored as 0.3: exact sums are themselves short decimals,
// which keeps rollup chunks in the compact decimal encoding and makes a
// 1h rollup built from 5m rollups equal to one built from raw samples.
type Agg struct {
	P       Point
	m       int64 // exact sum mantissa
	e       int   // exact sum exponent
	inexact bool
	// Approx skips exact sums (reads aggregating on the fly do not store
	// them); it survives Reset.
	Approx bool
}

// Reset starts a new bucket.
func (a *Agg) Reset(start int64) {
	*a = Agg{P: Point{Start: start}, Approx: a.Approx, inexact: a.Approx}
}

// Add folds a raw sample in; NaNs (including stale markers) are skipped.
func (a *Agg) Add(t int64, v float64) {
	if math.IsNaN(v) {
		return
	}
	a.P.Add(t, v)
	a.addExact(v)
}

// AddPoint folds a finer point in.
func (a *Agg) AddPoint(q Point) {
	if q.Count == 0 {
		return
	}
	a.P.Merge(q)
	a.addExact(q.Sum)
}

func (a *Agg) addExact(v float64) {
	if a.inexact {
		return
	}
	m, e, ok := toDecimal(v)
	if !ok {
		a.inexact = true
		return
	}
	if a.m == 0 {
		a.m, a.e = m, e // 0 + x: no alignment needed
		return
	}
	// Bring both to the smaller exponent, then add.
	for a.e > e {
		if a.m > maxMantissa/10 || a.m < -maxMantissa/10 {
			a.inexact = true
			return
		}
		a.m *= 10
		a.e--
	}
	for e > a.e {
		if m > maxMantissa/10 || m < -maxMantissa/10 {
			a.inexact = true
			return
		}
		m *= 10
		e--
	}
	s := a.m + m
	if s >= maxMantissa || s <= -maxMantissa || e < -22 {
		a.inexact = true
		return
	}
	a.m = s
}

// Point returns the aggregate; Count == 0 means no samples.
func (a *Agg) Point() Point {
	p := a.P
	if p.Count > 0 && !a.inexact {
		p.Sum = fromDecimal(a.m, a.e)
	}
	return p
}
