package statsd

import (
	"bytes"
	"math"
	"strconv"
	"unsafe"
)

// pow10 holds the powers of ten that float64 represents exactly.
var pow10 = [...]float64{1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10,
	1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22}

// parseNumber reads a finite decimal number at the start of b, up to the
// end of b, a ':' or a '|' (n is its length; anything else there makes it
// fail).
// Plain decimals with at most 15 digits take a fast exact path (an integer
// mantissa below 2^53 divided by an exact power of ten is correctly
// rounded); anything else goes through strconv.ParseFloat. NaN and
// infinities are refused: one of them would poison a counter's total.
func parseNumber(b []byte) (v float64, signed bool, n int, ok bool) {
	v, signed, n, ok = parseDecimal(b)
	if !ok && n < 0 {
		return parseSlow(b, signed)
	}
	return v, signed, n, ok
}

// parseDecimal is parseNumber's fast path: it reports n < 0 when b needs
// strconv (exponents, hex, long mantissas) and never allocates.
func parseDecimal(b []byte) (v float64, signed bool, n int, ok bool) {
	// Plain unsigned integers ("1|c", "499|c") take the shortest loop.
	u, i := parseDigits(b)
	if i > 0 && i <= 15 && (i == len(b) || b[i] == '|' || b[i] == ':') {
		return float64(u), false, i, true
	}
	return parseDecimalFrom(b, u, i)
}

// parseDecimalFrom is parseDecimal after parseDigits read the i leading
// digits of b (value u), which did not make a plain integer.
func parseDecimalFrom(b []byte, u uint64, i int) (v float64, signed bool, n int, ok bool) {
	if len(b) == 0 {
		return 0, false, 0, false
	}
	neg := false
	mant, digits := u, i
	if i == 0 && (b[0] == '+' || b[0] == '-') {
		signed, neg = true, b[0] == '-'
		i = 1
	}
	frac := 0
	dot := false
	for ; i < len(b); i++ {
		c := b[i]
		if c >= '0' && c <= '9' {
			mant = mant*10 + uint64(c-'0')
			digits++
			if dot {
				frac++
			}
			continue
		}
		if c == '.' && !dot {
			dot = true
			continue
		}
		if c == ':' || c == '|' {
			break
		}
		return 0, signed, -1, false
	}
	if digits == 0 || digits > 15 {
		return 0, signed, -1, false
	}
	v = float64(mant)
	if frac > 0 {
		v /= pow10[frac]
	}
	if neg {
		v = -v
	}
	return v, signed, i, true
}

// parseDigits reads the decimal digits at the start of b: their value
// (meaningful up to 19 digits) and how many there are.
func parseDigits(b []byte) (u uint64, n int) {
	for ; n < len(b); n++ {
		d := b[n] - '0'
		if d > 9 {
			break
		}
		u = u*10 + uint64(d)
	}
	return u, n
}

func parseSlow(b []byte, signed bool) (float64, bool, int, bool) {
	n := bytes.IndexAny(b, ":|")
	if n < 0 {
		n = len(b)
	}
	// The string aliases b and is dropped before b can change; strconv's
	// error, which would keep it, is discarded.
	v, err := strconv.ParseFloat(unsafe.String(unsafe.SliceData(b), n), 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, false, 0, false
	}
	return v, signed, n, true
}

// parseUnixSeconds reads a |T timestamp (Unix seconds) into milliseconds.
func parseUnixSeconds(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) > 12 {
		return 0, false
	}
	var t int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		t = t*10 + int64(c-'0')
	}
	if t == 0 {
		return 0, false
	}
	return t * 1000, true
}
