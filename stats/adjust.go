package stats

import (
	"cmp"
	"math"
	"slices"
)

// Holm adjusts p-values for multiple comparisons with Holm's step-down
// method, which controls the family-wise error rate (the chance of any
// false positive) under any dependence between the tests, and is uniformly
// more powerful than Bonferroni. The i-th smallest of m p-values becomes
// max over j <= i of min(1, (m-j+1)·p_(j)).
//
// The result is in the order of the input, as R's p.adjust(p, "holm").
// NaN marks a missing p-value: it stays NaN and is not counted in m. With
// always-valid p-values (see [SequentialCountShare]) the adjusted values
// stay valid at any look, because Holm only needs each p-value to be valid
// at the time it is read.
func Holm(p []float64) []float64 {
	out, idx := prepareAdjust(p)
	m := float64(len(idx))
	slices.SortStableFunc(idx, func(a, b int) int { return cmp.Compare(p[a], p[b]) })
	running := 0.0
	for i, k := range idx {
		running = math.Max(running, math.Min(1, (m-float64(i))*p[k]))
		out[k] = running
	}
	return out
}

// BenjaminiHochberg adjusts p-values with the Benjamini-Hochberg step-up
// method, which controls the false discovery rate (the expected share of
// false positives among the rejections) for independent or positively
// dependent tests. The i-th smallest of m p-values becomes
// min over j >= i of min(1, m/j·p_(j)). It is less strict than [Holm]:
// fit for many metrics of one experiment, not for the guard's rollbacks.
//
// The result is in the order of the input, as R's p.adjust(p, "BH"); NaN
// marks a missing p-value and is not counted.
func BenjaminiHochberg(p []float64) []float64 {
	out, idx := prepareAdjust(p)
	m := float64(len(idx))
	slices.SortStableFunc(idx, func(a, b int) int { return cmp.Compare(p[a], p[b]) })
	running := 1.0
	for i := len(idx) - 1; i >= 0; i-- {
		k := idx[i]
		running = math.Min(running, math.Min(1, m/float64(i+1)*p[k]))
		out[k] = running
	}
	return out
}

// prepareAdjust returns an output slice with NaN where p is NaN, and the
// indices of the present p-values.
func prepareAdjust(p []float64) ([]float64, []int) {
	out := make([]float64, len(p))
	idx := make([]int, 0, len(p))
	for i, v := range p {
		if math.IsNaN(v) {
			out[i] = math.NaN()
			continue
		}
		idx = append(idx, i)
	}
	return out, idx
}
