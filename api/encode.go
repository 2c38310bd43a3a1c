package api

import (
	"math"
	"strconv"
	"unicode/utf8"

	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"
)

// The encoders below write the exact bytes Prometheus' JSON codec writes
// (web/api/v1/json_codec.go): timestamps as seconds with millisecond
// fractions, sample values as quoted strings ("+Inf", "NaN"), empty results
// as []. They append to a byte slice rather than going through reflection:
// a range query result can hold millions of points.

// appendValue writes {"resultType":...,"result":...}.
func appendValue(b []byte, v parser.Value) []byte {
	b = append(b, `{"resultType":"`...)
	b = append(b, v.Type()...)
	b = append(b, `","result":`...)
	switch v := v.(type) {
	case promql.Vector:
		b = appendVector(b, v)
	case promql.Matrix:
		b = appendMatrix(b, v)
	case promql.Scalar:
		b = append(b, '[')
		b = appendTimestamp(b, v.T)
		b = append(b, ',')
		b = appendFloat(b, v.V)
		b = append(b, ']')
	case promql.String:
		b = append(b, '[')
		b = appendTimestamp(b, v.T)
		b = append(b, ',')
		b = appendJSONString(b, v.V)
		b = append(b, ']')
	default:
		b = append(b, "null"...)
	}
	return append(b, '}')
}

func appendVector(b []byte, v promql.Vector) []byte {
	b = append(b, '[')
	for i, s := range v {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"metric":`...)
		b = appendLabels(b, s.Metric)
		if s.H == nil {
			b = append(b, `,"value":[`...)
			b = appendTimestamp(b, s.T)
			b = append(b, ',')
			b = appendFloat(b, s.F)
		} else {
			b = append(b, `,"histogram":[`...)
			b = appendTimestamp(b, s.T)
			b = append(b, ',')
			b = appendHistogram(b, s.H)
		}
		b = append(b, "]}"...)
	}
	return append(b, ']')
}

func appendMatrix(b []byte, m promql.Matrix) []byte {
	b = append(b, '[')
	for i, s := range m {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"metric":`...)
		b = appendLabels(b, s.Metric)
		if len(s.Floats) > 0 {
			b = append(b, `,"values":[`...)
			for j, p := range s.Floats {
				if j > 0 {
					b = append(b, ',')
				}
				b = append(b, '[')
				b = appendTimestamp(b, p.T)
				b = append(b, ',')
				b = appendFloat(b, p.F)
				b = append(b, ']')
			}
			b = append(b, ']')
		}
		if len(s.Histograms) > 0 {
			b = append(b, `,"histograms":[`...)
			for j, p := range s.Histograms {
				if j > 0 {
					b = append(b, ',')
				}
				b = append(b, '[')
				b = appendTimestamp(b, p.T)
				b = append(b, ',')
				b = appendHistogram(b, p.H)
				b = append(b, ']')
			}
			b = append(b, ']')
		}
		b = append(b, '}')
	}
	return append(b, ']')
}

// appendHistogram writes a native histogram as Prometheus does
// (util/jsonutil.MarshalHistogram): count, sum and the non-empty buckets as
// [boundary rule, lower, upper, count].
func appendHistogram(b []byte, h *histogram.FloatHistogram) []byte {
	b = append(b, `{"count":`...)
	b = appendFloat(b, h.Count)
	b = append(b, `,"sum":`...)
	b = appendFloat(b, h.Sum)
	found := false
	it := h.AllBucketIterator()
	for it.Next() {
		bucket := it.At()
		if bucket.Count == 0 {
			continue
		}
		if !found {
			b = append(b, `,"buckets":[`...)
			found = true
		} else {
			b = append(b, ',')
		}
		rule := 2 // both ends open
		switch {
		case bucket.LowerInclusive && bucket.UpperInclusive:
			rule = 3
		case bucket.LowerInclusive:
			rule = 1
		case bucket.UpperInclusive:
			rule = 0
		}
		b = append(b, '[')
		b = strconv.AppendInt(b, int64(rule), 10)
		b = append(b, ',')
		b = appendFloat(b, bucket.Lower)
		b = append(b, ',')
		b = appendFloat(b, bucket.Upper)
		b = append(b, ',')
		b = appendFloat(b, bucket.Count)
		b = append(b, ']')
	}
	if found {
		b = append(b, ']')
	}
	return append(b, '}')
}

// appendTimestamp writes milliseconds as seconds with up to three decimals,
// keeping trailing zeros as Prometheus does (1500 → 1.500).
func appendTimestamp(b []byte, t int64) []byte {
	if t < 0 {
		b = append(b, '-')
		t = -t
	}
	b = strconv.AppendInt(b, t/1000, 10)
	if frac := t % 1000; frac != 0 {
		b = append(b, '.')
		if frac < 100 {
			b = append(b, '0')
		}
		if frac < 10 {
			b = append(b, '0')
		}
		b = strconv.AppendInt(b, frac, 10)
	}
	return b
}

// appendFloat writes a quoted sample value, switching to exponent notation
// where Prometheus does.
func appendFloat(b []byte, f float64) []byte {
	b = append(b, '"')
	// Counters and most gauges are whole numbers: printing them as integers
	// is several times faster than the shortest-float search and gives the
	// same digits below 2^53 (negative zero excepted, which prints "-0").
	if f == math.Trunc(f) && math.Abs(f) < 1<<53 && (f != 0 || !math.Signbit(f)) {
		b = strconv.AppendInt(b, int64(f), 10)
		return append(b, '"')
	}
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	return append(b, '"')
}

func appendLabels(b []byte, ls labels.Labels) []byte {
	b = append(b, '{')
	first := true
	ls.Range(func(l labels.Label) {
		if !first {
			b = append(b, ',')
		}
		first = false
		b = appendJSONString(b, l.Name)
		b = append(b, ':')
		b = appendJSONString(b, l.Value)
	})
	return append(b, '}')
}

func appendStringArray(b []byte, ss []string) []byte {
	b = append(b, '[')
	for i, s := range ss {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, s)
	}
	return append(b, ']')
}

const hexDigits = "0123456789abcdef"

// appendJSONString quotes s exactly as encoding/json does, HTML-escaping
// included, and replaces invalid UTF-8 with U+FFFD.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
