package stats

import (
	"errors"
	"fmt"
	"math"
	"math/big"
	"testing"
)

// Reference values from R 4.2.2, binom.test(x, n, p, alternative, conf.level)
// printed with sprintf("%.17g"). The first case is the example of R's
// ?binom.test (Mendel's peas), whose documented p-value is 0.3825.
func TestBinomialTestMatchesR(t *testing.T) {
	cases := []struct {
		k, n   int64
		p      float64
		alt    Alternative
		conf   float64
		pv     float64
		lo, hi float64
	}{
		{682, 925, 0.75, TwoSided, 0.95, 0.38249155957485192, 0.70766826407903904, 0.76540655824152526},
		{682, 925, 0.75, Greater, 0.95, 0.82408912235242271, 0.71241292443654824, 1},
		{682, 925, 0.75, Less, 0.95, 0.19600926705388305, 0, 0.76105527468954515},
		{6, 6, 0.05, TwoSided, 0.95, 1.5624999999999993e-08, 0.54074187356009962, 1},
		{6, 6, 0.05, Greater, 0.95, 1.5624999999999993e-08, 0.60696223100291735, 1},
		{0, 20, 0.3, TwoSided, 0.95, 0.0010589696700355855, 0, 0.16843347098308536},
		{7, 20, 0.6, TwoSided, 0.99, 0.036990090267779413, 0.11387976326673221, 0.65656858423192133},
		{60, 100, 0.5, TwoSided, 0.95, 0.056887933640980867, 0.49720915042233482, 0.69670523129712247},
		{5200, 10000, 0.5, TwoSided, 0.95, 6.593515598672462e-05, 0.51015339471986465, 0.52983495148605675},
		{30, 1000, 0.05, TwoSided, 0.95, 0.00281865528447252, 0.020330485683109627, 0.042551402470029087},
		{80, 1000, 0.05, TwoSided, 0.95, 5.8910622341237745e-05, 0.063941982846673337, 0.098579779047902161},
		{11, 40, 0.1, Less, 0.9, 0.99961916573326359, 0, 0.38534666945410534},
	}
	for _, c := range cases {
		name := fmt.Sprintf("binom.test(%d,%d,%v,%v,%v)", c.k, c.n, c.p, c.alt, c.conf)
		r, err := BinomialTest(c.k, c.n, c.p, Options{Alternative: c.alt, Confidence: c.conf})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		checkRef(t, name+" p-value", r.PValue, c.pv)
		checkInterval(t, name, r.CI, c.lo, c.hi)
		checkRef(t, name+" estimate", r.Estimate, float64(c.k)/float64(c.n))
	}
	// The documented, rounded value of ?binom.test's example.
	r, _ := BinomialTest(682, 925, 0.75, Options{})
	if got := math.Round(r.PValue*1e4) / 1e4; got != 0.3825 {
		t.Errorf("binom.test(682, 925, p = 0.75) p-value rounds to %v, want 0.3825", got)
	}
}

// An independent computation of the two-sided p-value: every binomial
// probability as an exact rational (math/big), summed over the outcomes no
// more likely than k, with R's relative tolerance 1 + 1e-7. This checks the
// incomplete-beta tails and the binary searches of BinomialTest.
func TestBinomialTwoSidedAgainstExactRationals(t *testing.T) {
	cases := []struct {
		k, n       int64
		num, denom int64 // p = num/denom
	}{
		{682, 925, 3, 4}, {243, 925, 1, 4}, {3, 60, 1, 20}, {9, 60, 1, 20},
		{0, 50, 1, 10}, {50, 50, 1, 10}, {17, 33, 1, 2}, {16, 33, 1, 2}, {140, 400, 2, 5},
	}
	for _, c := range cases {
		want := exactTwoSided(c.k, c.n, big.NewRat(c.num, c.denom))
		r, err := BinomialTest(c.k, c.n, float64(c.num)/float64(c.denom), Options{})
		if err != nil {
			t.Fatal(err)
		}
		checkRef(t, fmt.Sprintf("two-sided p of %d/%d at %d/%d", c.k, c.n, c.num, c.denom), r.PValue, want)
	}
}

func exactTwoSided(k, n int64, p *big.Rat) float64 {
	q := new(big.Rat).Sub(big.NewRat(1, 1), p)
	ratio := new(big.Rat).Quo(p, q)
	// pmf(0) = q^n, pmf(i+1) = pmf(i) · (n-i)/(i+1) · p/q.
	pmf := make([]*big.Rat, n+1)
	pmf[0] = ratPow(q, n)
	for i := int64(0); i < n; i++ {
		v := new(big.Rat).Mul(pmf[i], big.NewRat(n-i, i+1))
		pmf[i+1] = v.Mul(v, ratio)
	}
	thr := new(big.Rat).Mul(pmf[k], new(big.Rat).SetFrac64(10000001, 10000000))
	sum := new(big.Rat)
	if new(big.Rat).Mul(big.NewRat(n, 1), p).Cmp(big.NewRat(k, 1)) == 0 {
		return 1
	}
	for i := range pmf {
		if pmf[i].Cmp(thr) <= 0 {
			sum.Add(sum, pmf[i])
		}
	}
	f, _ := sum.Float64()
	return math.Min(1, f)
}

func ratPow(r *big.Rat, e int64) *big.Rat {
	out := big.NewRat(1, 1)
	for range e {
		out.Mul(out, r)
	}
	return out
}

func TestBinomialTestErrors(t *testing.T) {
	if _, err := BinomialTest(1, 0, 0.5, Options{}); !errors.Is(err, ErrNoData) {
		t.Errorf("n=0: err %v, want ErrNoData", err)
	}
	for _, c := range []struct {
		k, n int64
		p    float64
		o    Options
	}{
		{-1, 5, 0.5, Options{}}, {6, 5, 0.5, Options{}}, {1, 5, 0, Options{}}, {1, 5, 1, Options{}},
		{1, 5, math.NaN(), Options{}}, {1, 5, 0.5, Options{Confidence: 1}}, {1, 5, 0.5, Options{Alternative: 7}},
	} {
		if _, err := BinomialTest(c.k, c.n, c.p, c.o); !errors.Is(err, ErrInvalid) {
			t.Errorf("BinomialTest(%d, %d, %v, %+v): err %v, want ErrInvalid", c.k, c.n, c.p, c.o, err)
		}
	}
}

func BenchmarkCountShareTest(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := CountShareTest(Counts{Canary: 45, Baseline: 255, Share: 0.1}, Options{}); err != nil {
			b.Fatal(err)
		}
	}
}
