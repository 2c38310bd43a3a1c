package chunk

import "math"

// Decimal conversion (the idea VictoriaMetrics uses): most metric values
// are short decimals, so v == m * 10^e with a small integer m. Integers
// compress far better than float bits, and the conversion is exact: a value
// converts only if m * 10^e computed in float64 gives back its exact bits.

// pow10 holds the powers of ten that are exact in float64.
var pow10 = [23]float64{1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10,
	1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22}

// maxMantissa bounds |m| so that float64(m) is exact.
const maxMantissa = 1 << 53

// maxDecimals is the most fractional digits tried. Beyond it values are
// treated as arbitrary floats.
const maxDecimals = 15

// toDecimal finds the shortest decimal m * 10^e (e <= 0; trailing zeros of
// integers are not stripped, because they rarely help a chunk) equal to v.
func toDecimal(v float64) (m int64, e int, ok bool) {
	if v == math.Trunc(v) {
		if math.Abs(v) < maxMantissa && (v != 0 || !math.Signbit(v)) {
			return int64(v), 0, true
		}
		return 0, 0, false // huge, infinite, or -0
	}
	if math.IsNaN(v) || math.Abs(v) >= maxMantissa {
		return 0, 0, false
	}
	for k := 1; k <= maxDecimals; k++ {
		y := v * pow10[k]
		x := math.Round(y)
		if math.Abs(x) >= maxMantissa {
			return 0, 0, false
		}
		// A true m·10^-k gives y within a few ulps of m; too few digits
		// leave y far from any integer. Rejecting those without the
		// verifying division (the slow part) changes no result: the
		// bound is ~10^7 ulps.
		if d := math.Abs(y - x); d > 1e-9*math.Abs(y) {
			continue
		}
		if x/pow10[k] == v {
			return int64(x), -k, true
		}
	}
	return 0, 0, false
}

// fromDecimal returns m * 10^e, correctly rounded; -22 <= e <= 22.
func fromDecimal(m int64, e int) float64 {
	if e >= 0 {
		return float64(m) * pow10[e]
	}
	return float64(m) / pow10[-e]
}

// toDecimals converts vs to mantissas at one common exponent, the smallest
// of all values' shortest exponents. ok is false when some value is not a
// short decimal or the common scale overflows; then the caller uses XOR.
//
// The values of a chunk nearly always share their scale, so each value is
// first tried at the common scale found so far (one multiplication, one
// rounding, one division to verify); only a value that does not fit it is
// searched digit by digit (toDecimal), raising the scale of the mantissas
// before it when it needs more digits. The check x/10^k == v makes every
// mantissa exact whichever way it was found.
func toDecimals(vs []float64, ms []int64) (out []int64, exp int, ok bool) {
	ms = ms[:0]
	k := 0 // common number of fractional digits
	for _, v := range vs {
		p := pow10[k]
		if x := math.Round(v * p); math.Abs(x) < maxMantissa && x/p == v && (v != 0 || !math.Signbit(v)) {
			ms = append(ms, int64(x))
			continue
		}
		m, e, ok := toDecimal(v)
		if !ok {
			return ms, 0, false
		}
		switch d := -e - k; {
		case d > 0:
			// More digits than the scale so far: rescale what came before.
			q := int64(pow10[d])
			for i, x := range ms {
				if x > maxMantissa/q || x < -maxMantissa/q {
					return ms, 0, false
				}
				ms[i] = x * q
			}
			k = -e
		case d < 0:
			// Fewer digits, but the product at the common scale was out of
			// range or inexact: scale the shortest mantissa exactly.
			q := int64(pow10[-d])
			if m > maxMantissa/q || m < -maxMantissa/q {
				return ms, 0, false
			}
			m *= q
		}
		ms = append(ms, m)
	}
	return ms, -k, true
}

// ToDecimal returns m and e with v == m * 10^e exactly (e <= 0), if v is a
// short decimal; see toDecimal.
func ToDecimal(v float64) (m int64, e int, ok bool) { return toDecimal(v) }

// FromDecimal returns m * 10^e correctly rounded, for -22 <= e <= 22.
func FromDecimal(m int64, e int) float64 { return fromDecimal(m, e) }
