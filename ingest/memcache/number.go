package memcache

import (
	"math"
	"strconv"
)

// parseUint parses a decimal unsigned integer no larger than max.
func parseUint(b []byte, max uint64) (uint64, bool) {
	if len(b) == 0 || len(b) > 20 {
		return 0, false
	}
	var v uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		d := uint64(c - '0')
		if v > (math.MaxUint64-d)/10 {
			return 0, false
		}
		v = v*10 + d
	}
	return v, v <= max
}

// maxNumberLen bounds the text of a number. The longest shortest-form
// float64 in 'f' notation (what Ward itself prints) is about 330 bytes.
const maxNumberLen = 400

// parseNumber parses a finite decimal number: an optional '-' (only when
// signed), digits with an optional fraction, and an optional exponent.
// Hex floats, underscores, "Inf" and "NaN", which strconv would take, are
// refused, and so is a leading '+', which a statsd user could take for a
// gauge delta.
func parseNumber(b []byte, signed bool) (float64, bool) {
	if len(b) == 0 || len(b) > maxNumberLen {
		return 0, false
	}
	neg := false
	digits := b
	if signed && digits[0] == '-' {
		neg = true
		digits = digits[1:]
	}
	// Fast path: up to 15 digits is exact in a float64.
	if len(digits) > 0 && len(digits) <= 15 {
		var v int64
		plain := true
		for _, c := range digits {
			if c < '0' || c > '9' {
				plain = false
				break
			}
			v = v*10 + int64(c-'0')
		}
		if plain {
			f := float64(v)
			if neg {
				f = -f
			}
			return f, true
		}
	}
	if !decimalSyntax(digits) {
		return 0, false
	}
	// The conversion does not escape ParseFloat, so for short numbers
	// the compiler keeps it on the stack.
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return 0, false
	}
	return f, true
}

// decimalSyntax reports whether b is digits[.digits][(e|E)[+-]digits] with
// at least one digit in the mantissa (".5" and "5." are accepted).
func decimalSyntax(b []byte) bool {
	i, mant := 0, 0
	for i < len(b) && b[i] >= '0' && b[i] <= '9' {
		i++
		mant++
	}
	if i < len(b) && b[i] == '.' {
		i++
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
			mant++
		}
	}
	if mant == 0 {
		return false
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		exp := 0
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
			exp++
		}
		if exp == 0 {
			return false
		}
	}
	return i == len(b)
}

// appendNumber formats v as Ward answers numbers: integral values without
// a decimal point or exponent, others in the shortest form that parses
// back to v.
func appendNumber(dst []byte, v float64) []byte {
	if v == math.Trunc(v) && v >= math.MinInt64 && v < math.MaxInt64 {
		return strconv.AppendInt(dst, int64(v), 10)
	}
	return strconv.AppendFloat(dst, v, 'f', -1, 64)
}
