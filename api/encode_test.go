package api

import (
	"encoding/json"
	"math"
	"testing"
	"time"

	jsoniter "github.com/json-iterator/go"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/timestamp"
	"github.com/prometheus/prometheus/util/jsonutil"
)

// Prometheus' own encoders (util/jsonutil over jsoniter) are the reference
// for the bytes Ward writes.

func referenceFloat(f float64) string {
	s := jsoniter.ConfigCompatibleWithStandardLibrary.BorrowStream(nil)
	defer jsoniter.ConfigCompatibleWithStandardLibrary.ReturnStream(s)
	jsonutil.MarshalFloat(f, s)
	return string(s.Buffer())
}

func referenceTimestamp(t int64) string {
	s := jsoniter.ConfigCompatibleWithStandardLibrary.BorrowStream(nil)
	defer jsoniter.ConfigCompatibleWithStandardLibrary.ReturnStream(s)
	jsonutil.MarshalTimestamp(t, s)
	return string(s.Buffer())
}

func referenceHistogram(h *histogram.FloatHistogram) string {
	s := jsoniter.ConfigCompatibleWithStandardLibrary.BorrowStream(nil)
	defer jsoniter.ConfigCompatibleWithStandardLibrary.ReturnStream(s)
	jsonutil.MarshalHistogram(h, s)
	return string(s.Buffer())
}

func TestAppendFloatMatchesPrometheus(t *testing.T) {
	for _, f := range []float64{0, math.Copysign(0, -1), 1, -1, 0.1, 1e-6, 9.99e-7, 1e-7, 1e20, 1e21, 123456789012345678, math.MaxFloat64,
		math.SmallestNonzeroFloat64, math.Inf(1), math.Inf(-1), math.NaN(), 2.5, -3.75e-300} {
		if got, want := string(appendFloat(nil, f)), referenceFloat(f); got != want {
			t.Errorf("appendFloat(%v) = %s, Prometheus writes %s", f, got, want)
		}
	}
}

func TestAppendTimestampMatchesPrometheus(t *testing.T) {
	for _, ts := range []int64{0, 1, 9, 10, 99, 100, 999, 1000, 1001, 1500, 1700000000123, -1, -1500, -999, math.MaxInt64, math.MinInt64 + 1} {
		if got, want := string(appendTimestamp(nil, ts)), referenceTimestamp(ts); got != want {
			t.Errorf("appendTimestamp(%d) = %s, Prometheus writes %s", ts, got, want)
		}
	}
}

func TestAppendHistogramMatchesPrometheus(t *testing.T) {
	for _, h := range []*histogram.FloatHistogram{
		{Schema: 0, Count: 0, Sum: 0},
		{
			Schema: 1, Count: 21, Sum: 34.5, ZeroThreshold: 0.001, ZeroCount: 3,
			PositiveSpans: []histogram.Span{{Offset: 0, Length: 2}, {Offset: 1, Length: 1}}, PositiveBuckets: []float64{1, 0, 4},
			NegativeSpans: []histogram.Span{{Offset: -1, Length: 1}}, NegativeBuckets: []float64{2},
		},
		{
			Schema: histogram.CustomBucketsSchema, Count: 6, Sum: 10, CustomValues: []float64{0.1, 0.5, 1},
			PositiveSpans: []histogram.Span{{Offset: 0, Length: 4}}, PositiveBuckets: []float64{1, 2, 0, 3},
		},
	} {
		if got, want := string(appendHistogram(nil, h)), referenceHistogram(h); got != want {
			t.Errorf("appendHistogram(%v)\n got  %s\n want %s", h, got, want)
		}
	}
}

func TestAppendJSONStringMatchesEncodingJSON(t *testing.T) {
	for _, s := range []string{"", "plain", `q"uote\back`, "<a&b>", "\x00\x01\x1f\t\n\r\b\f", "é日本", "\u2028\u2029", "bad\xffutf8", "\xe2\x82"} {
		want, _ := json.Marshal(s)
		if got := string(appendJSONString(nil, s)); got != string(want) {
			t.Errorf("appendJSONString(%q) = %s, encoding/json writes %s", s, got, want)
		}
	}
}

func FuzzAppendJSONString(f *testing.F) {
	for _, s := range []string{"", "a", `"\`, "<>&", "\x00\x7f", "\u2028", "\xff\xfe", "日本"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		if got := appendJSONString(nil, s); string(got) != string(want) {
			t.Fatalf("appendJSONString(%q) = %s, encoding/json writes %s", s, got, want)
		}
	})
}

func FuzzAppendSample(f *testing.F) {
	f.Add(int64(0), 0.0)
	f.Add(int64(1500), 1e-7)
	f.Add(int64(-1), math.Inf(1))
	f.Add(int64(1700000000123), 1e21)
	f.Fuzz(func(t *testing.T, ts int64, v float64) {
		if ts == math.MinInt64 {
			return // Prometheus' encoder cannot negate it either
		}
		if got, want := string(appendTimestamp(nil, ts)), referenceTimestamp(ts); got != want {
			t.Fatalf("appendTimestamp(%d) = %s, Prometheus writes %s", ts, got, want)
		}
		if got, want := string(appendFloat(nil, v)), referenceFloat(v); got != want {
			t.Fatalf("appendFloat(%v) = %s, Prometheus writes %s", v, got, want)
		}
	})
}

func TestParseTime(t *testing.T) {
	for _, c := range []struct {
		in   string
		want time.Time
	}{
		{"0", time.Unix(0, 0)},
		{"1700000000", time.Unix(1700000000, 0)},
		{"1700000000.1234", time.Unix(1700000000, 123e6)},
		{"-1.5", time.Unix(-1, -5e8)},
		{"2015-07-01T20:10:30.781Z", time.Date(2015, 7, 1, 20, 10, 30, 781e6, time.UTC)},
		{"2015-07-01T22:10:30+02:00", time.Date(2015, 7, 1, 20, 10, 30, 0, time.UTC)},
		{minTimeFormatted, minTime},
		{maxTimeFormatted, maxTime},
	} {
		got, err := ParseTime(c.in)
		if err != nil || !got.Equal(c.want) {
			t.Errorf("ParseTime(%q) = %v, %v; want %v", c.in, got, err, c.want)
		}
	}
	for _, in := range []string{"", "now", "1e400", "NaN", "2015-07-01", "Inf"} {
		if got, err := ParseTime(in); err == nil {
			t.Errorf("ParseTime(%q) = %v, want an error", in, got)
		}
	}
}

func TestParseDuration(t *testing.T) {
	for _, c := range []struct {
		in   string
		want time.Duration
	}{
		{"15", 15 * time.Second},
		{"0.25", 250 * time.Millisecond},
		{"1m30s", 90 * time.Second},
		{"1d", 24 * time.Hour},
		{"2w", 14 * 24 * time.Hour},
	} {
		got, err := ParseDuration(c.in)
		if err != nil || got != c.want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", c.in, got, err, c.want)
		}
	}
	for _, in := range []string{"", "1x", "NaN", "1e300", "-"} {
		if got, err := ParseDuration(in); err == nil {
			t.Errorf("ParseDuration(%q) = %v, want an error", in, got)
		}
	}
}

// FuzzParseTimeAndDuration checks that every accepted timestamp survives
// the round trip through the form the API writes (seconds with three
// decimals) at millisecond precision, and that accepted durations are
// stable under Prometheus' own formatting.
func FuzzParseTimeAndDuration(f *testing.F) {
	for _, s := range []string{"0", "1.5", "-1", "1e300", "NaN", "2015-07-01T20:10:30.781Z", "1m", "1d2h", minTimeFormatted} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if tm, err := ParseTime(s); err == nil {
			ms := timestamp.FromTime(tm)
			if ms > -1e14 && ms < 1e14 {
				again, err := ParseTime(string(appendTimestamp(nil, ms)))
				if err != nil || timestamp.FromTime(again) != ms {
					t.Fatalf("ParseTime(%q) = %v (%d ms), which reads back as %v, %v", s, tm, ms, again, err)
				}
			}
		}
		if d, err := ParseDuration(s); err == nil && d > 0 && d%time.Millisecond == 0 {
			again, err := ParseDuration(model.Duration(d).String())
			if err != nil || again != d {
				t.Fatalf("ParseDuration(%q) = %v, which reads back as %v, %v", s, d, again, err)
			}
		}
	})
}

func TestMatchSegments(t *testing.T) {
	segs := []string{"api", "v1", "label", "{name}", "values"}
	for _, c := range []struct {
		path string
		ok   bool
		want string
	}{
		{"/api/v1/label/job/values", true, "job"},
		{"/api/v1/label/job/values/", false, ""},
		{"/api/v1/label//values", false, ""},
		{"/api/v1/label/job", false, ""},
		{"/api/v1/label/a/b/values", false, ""},
		{"api/v1/label/job/values", false, ""},
	} {
		params, ok := matchSegments(segs, c.path)
		if ok != c.ok || (ok && (len(params) != 2 || params[1] != c.want)) {
			t.Errorf("match %q: got %v %v, want %v %q", c.path, params, ok, c.ok, c.want)
		}
	}
	params, ok := matchSegments([]string{"ui", "{rest...}"}, "/ui/a/b.js")
	if !ok || params[1] != "a/b.js" {
		t.Errorf("rest parameter: %v %v", params, ok)
	}
	if _, ok := matchSegments([]string{"ui", "{rest...}"}, "/ui/"); ok {
		t.Error("an empty rest parameter matched")
	}
}
