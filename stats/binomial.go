package stats

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/mathext"
	"gonum.org/v1/gonum/stat/distuv"
)

// BinomialTest is the exact test that k successes in n trials came from a
// binomial distribution with success probability p, as R's binom.test and
// scipy.stats.binomtest compute it.
//
// The two-sided p-value is the "method of small p-values": the total
// probability of every outcome no more likely than k (with R's relative
// tolerance of 1e-7 for ties in probability). The one-sided p-values are
// P(X >= k) for [Greater] and P(X <= k) for [Less]. Tails are regularized
// incomplete beta functions, and the outcomes as unlikely as k are found by
// binary search on the monotone sides of the mode, so the cost is
// O(log n) whatever n is.
//
// The Result's Statistic is k, its Estimate k/n and its CI the
// Clopper-Pearson interval for the success probability (one-sided for a
// one-sided alternative), from beta quantiles:
// [Beta(k, n-k+1).Quantile(a), Beta(k+1, n-k).Quantile(1-a)].
func BinomialTest(k, n int64, p float64, opt Options) (Result, error) {
	opt, err := opt.resolve(0.95)
	if err != nil {
		return Result{}, fmt.Errorf("binomial test: %w", err)
	}
	if err := checkBinomial(k, n, p); err != nil {
		return Result{}, fmt.Errorf("binomial test: %w", err)
	}
	res := Result{
		Method:      "exact binomial test",
		Alternative: opt.Alternative,
		Statistic:   float64(k),
		Estimate:    float64(k) / float64(n),
		CI:          clopperPearson(k, n, opt.Confidence, opt.Alternative),
		Confidence:  opt.Confidence,
	}
	res.PValue = binomialPValue(k, n, p, opt.Alternative)
	return res, nil
}

func checkBinomial(k, n int64, p float64) error {
	if n <= 0 {
		return fmt.Errorf("%d trials: %w", n, ErrNoData)
	}
	if k < 0 || k > n {
		return fmt.Errorf("%d successes in %d trials: %w", k, n, ErrInvalid)
	}
	if !(p > 0 && p < 1) {
		return fmt.Errorf("probability %v outside (0, 1): %w", p, ErrInvalid)
	}
	return nil
}

// binomLower is P(X <= x) for X ~ Binomial(n, p).
func binomLower(x, n int64, p float64) float64 {
	if x < 0 {
		return 0
	}
	if x >= n {
		return 1
	}
	return distuv.Binomial{N: float64(n), P: p}.CDF(float64(x))
}

// binomUpper is P(X >= x), computed directly as I_p(x, n-x+1) rather than as
// 1 - CDF so that small tails keep their relative precision.
func binomUpper(x, n int64, p float64) float64 {
	if x <= 0 {
		return 1
	}
	if x > n {
		return 0
	}
	return mathext.RegIncBeta(float64(x), float64(n-x+1), p)
}

func binomialPValue(k, n int64, p float64, alt Alternative) float64 {
	switch alt {
	case Greater:
		return binomUpper(k, n, p)
	case Less:
		return binomLower(k, n, p)
	}
	d := distuv.Binomial{N: float64(n), P: p}
	logPMF := func(i int64) float64 { return d.LogProb(float64(i)) }
	m := float64(n) * p
	if float64(k) == m {
		return 1
	}
	// R compares dbinom(i) <= dbinom(k) * (1 + 1e-7); the same in logs.
	thr := logPMF(k) + math.Log1p(1e-7)
	var pv float64
	if float64(k) < m {
		// On [ceil(m), n] the pmf does not increase (the mode is at most
		// ceil(m)): find the first i there that is no more likely than k.
		lo, hi := int64(math.Ceil(m)), n+1
		for lo < hi {
			mid := lo + (hi-lo)/2
			if logPMF(mid) <= thr {
				hi = mid
			} else {
				lo = mid + 1
			}
		}
		pv = binomLower(k, n, p) + binomUpper(lo, n, p)
	} else {
		// On [0, floor(m)] the pmf does not decrease: find the last i there
		// that is no more likely than k.
		lo, hi := int64(-1), int64(math.Floor(m))
		for lo < hi {
			mid := hi - (hi-lo)/2
			if logPMF(mid) <= thr {
				lo = mid
			} else {
				hi = mid - 1
			}
		}
		pv = binomLower(lo, n, p) + binomUpper(k, n, p)
	}
	return math.Min(1, pv)
}

// clopperPearson is the exact (Clopper-Pearson) interval for a binomial
// proportion, as binom.test reports it.
func clopperPearson(k, n int64, conf float64, alt Alternative) Interval {
	a := 1 - conf
	if alt == TwoSided {
		a /= 2
	}
	lo, hi := 0.0, 1.0
	if k > 0 {
		lo = distuv.Beta{Alpha: float64(k), Beta: float64(n - k + 1)}.Quantile(a)
	}
	if k < n {
		hi = distuv.Beta{Alpha: float64(k + 1), Beta: float64(n - k)}.Quantile(1 - a)
	}
	switch alt {
	case Greater:
		hi = 1
	case Less:
		lo = 0
	}
	return Interval{Lo: lo, Hi: hi}
}
