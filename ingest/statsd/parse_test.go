package statsd

import (
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/VictoriaMetrics/metrics"
	"github.com/wardmetrics/ward/ingest"
)

func TestParseLine(t *testing.T) {
	type want struct {
		r       ingest.Reason
		name    string
		kind    ingest.Kind
		values  []float64
		member  string
		rate    float64
		tags    string
		ts      int64
		delta   bool
		ignored [numFields]uint8
		more    string
	}
	ok := func(name string, k ingest.Kind, vals ...float64) want {
		return want{name: name, kind: k, values: vals, rate: 1}
	}
	with := func(w want, f func(*want)) want { f(&w); return w }
	for _, tc := range []struct {
		line string
		opt  ParseOptions
		want want
	}{
		{line: "shop.revenue:499|c", want: ok("shop.revenue", ingest.KindCounter, 499)},
		{line: "logins:1|c|@0.1", want: with(ok("logins", ingest.KindCounter, 1), func(w *want) { w.rate = 0.1 })},
		{line: "db.connections:42|g", want: ok("db.connections", ingest.KindGauge, 42)},
		{line: "db.connections:+3|g", want: with(ok("db.connections", ingest.KindGauge, 3), func(w *want) { w.delta = true })},
		{line: "db.connections:-1|g", want: with(ok("db.connections", ingest.KindGauge, -1), func(w *want) { w.delta = true })},
		{line: "db.connections:-1|g", opt: ParseOptions{DogStatsDGauges: true}, want: ok("db.connections", ingest.KindGauge, -1)},
		{line: "g:5:+2:-1|g", want: ok("g", ingest.KindGauge, 6)},
		{line: "g:+2:+3|g", want: with(ok("g", ingest.KindGauge, 5), func(w *want) { w.delta = true })},
		{line: "g:5:+2|g", opt: ParseOptions{DogStatsDGauges: true}, want: ok("g", ingest.KindGauge, 2)},
		{line: "api.latency:320|ms", want: ok("api.latency", ingest.KindHistogram, 320)},
		{line: "api.latency:12|h", want: ok("api.latency", ingest.KindHistogram, 12)},
		{line: "checkout.time:3.2|d", want: ok("checkout.time", ingest.KindHistogram, 3.2)},
		{line: "users.online:u123|s", want: want{name: "users.online", kind: ingest.KindSet, member: "u123", rate: 1}},
		{line: "users.online:host:8080|s", want: want{name: "users.online", kind: ingest.KindSet, member: "host:8080", rate: 1}},
		{line: "api.latency:1:2:3|ms", want: ok("api.latency", ingest.KindHistogram, 1, 2, 3)},
		{line: "c:1:2.5:-3|c|@0.5", want: with(ok("c", ingest.KindCounter, 1, 2.5, -3), func(w *want) { w.rate = 0.5 })},
		{line: "req:1|c|#host:web01,release:r124", want: with(ok("req", ingest.KindCounter, 1), func(w *want) { w.tags = "host:web01,release:r124" })},
		{line: "req:1|c|@0.25|#a:b", want: with(ok("req", ingest.KindCounter, 1), func(w *want) { w.rate = 0.25; w.tags = "a:b" })},
		{line: "req:1|c|#a:b|@0.25", want: with(ok("req", ingest.KindCounter, 1), func(w *want) { w.rate = 0.25; w.tags = "a:b" })},
		{line: "req:1|c|T1700000000", want: with(ok("req", ingest.KindCounter, 1), func(w *want) { w.ts = 1_700_000_000_000 })},
		{line: "temp:21|g|#room:a|T1700000000", want: with(ok("temp", ingest.KindGauge, 21), func(w *want) { w.ts = 1_700_000_000_000; w.tags = "room:a" })},
		{line: "lat:5|ms|T1700000000", want: with(ok("lat", ingest.KindHistogram, 5), func(w *want) { w.ignored[FieldTimestamp] = 1 })},
		{line: "req:1|c|c:83c0a99c0a54c0c187f461c7980e9b57f3f6a8b0c918c8d93df19a9de6f3fe1d", want: with(ok("req", ingest.KindCounter, 1), func(w *want) { w.ignored[FieldContainer] = 1 })},
		{line: "req:1|c|#a:b|c:ci-123|e:it-false,cn-x|card:high", want: with(ok("req", ingest.KindCounter, 1), func(w *want) {
			w.tags = "a:b"
			w.ignored[FieldContainer], w.ignored[FieldExternal], w.ignored[FieldCardinality] = 1, 1, 1
		})},
		{line: "req:1|c|x:future|zz||Tnow", want: with(ok("req", ingest.KindCounter, 1), func(w *want) { w.ignored[FieldUnknown] = 4 })},
		{line: "req:1e3|c", want: ok("req", ingest.KindCounter, 1000)},
		{line: "req:.5|c", want: ok("req", ingest.KindCounter, 0.5)},
		{line: "req:0.1234567890123456789|c", want: ok("req", ingest.KindCounter, 0.1234567890123456789)},
		{line: "req:12345678901234567890|c", want: ok("req", ingest.KindCounter, 12345678901234567890)},
		{line: "legacy:1|c:2|ms", want: with(ok("legacy", ingest.KindCounter, 1), func(w *want) { w.more = "2|ms" })},
		{line: "legacy:1|c|@0.5:2|ms", want: with(ok("legacy", ingest.KindCounter, 1), func(w *want) { w.rate = 0.5; w.more = "2|ms" })},
		{line: "name with space:1|c", want: ok("name with space", ingest.KindCounter, 1)},
		{line: "_e{5,4}:title|text|#a:b", want: want{kind: ingest.KindEvent, rate: 1}},
		{line: "_sc|my.check|0|#a:b|m:all good", want: want{kind: ingest.KindServiceCheck, rate: 1}},

		{line: "", want: want{r: ingest.ReasonMissingValue}},
		{line: "novalue", want: want{r: ingest.ReasonMissingValue}},
		{line: "a|c:1", want: want{r: ingest.ReasonMissingValue}},
		{line: ":1|c", want: want{r: ingest.ReasonEmptyName}},
		{line: "req:1", want: want{r: ingest.ReasonMissingType}},
		{line: "req:1|", want: want{r: ingest.ReasonBadType}},
		{line: "req:1|x", want: want{r: ingest.ReasonBadType}},
		{line: "req:1|cc", want: want{r: ingest.ReasonBadType}},
		{line: "req:1|msx", want: want{r: ingest.ReasonBadType}},
		{line: "req:|c", want: want{r: ingest.ReasonBadValue}},
		{line: "req:abc|c", want: want{r: ingest.ReasonBadValue}},
		{line: "req:1..2|c", want: want{r: ingest.ReasonBadValue}},
		{line: "req:NaN|c", want: want{r: ingest.ReasonBadValue}},
		{line: "req:+Inf|g", want: want{r: ingest.ReasonBadValue}},
		{line: "req:1e999|c", want: want{r: ingest.ReasonBadValue}},
		{line: "req:1:|c", want: want{r: ingest.ReasonBadValue}},
		{line: "req:1::2|c", want: want{r: ingest.ReasonBadValue}},
		{line: "req:-|c", want: want{r: ingest.ReasonBadValue}},
		{line: "req:1|c|@0", want: want{r: ingest.ReasonBadSampleRate}},
		{line: "req:1|c|@1.5", want: want{r: ingest.ReasonBadSampleRate}},
		{line: "req:1|c|@x", want: want{r: ingest.ReasonBadSampleRate}},
		{line: "req:1|c|@", want: want{r: ingest.ReasonBadSampleRate}},
		{line: "req:1|c|T17x", want: want{r: ingest.ReasonBadTimestamp}},
		{line: "req:1|c|T0", want: want{r: ingest.ReasonBadTimestamp}},
		{line: "req:1|c|#a:b|#c:d", want: want{r: ingest.ReasonBadTags}},
		{line: "_e{5,40}:title|text", want: want{r: ingest.ReasonBadEvent}},
		{line: "_e{x,4}:title|text", want: want{r: ingest.ReasonBadEvent}},
		{line: "_sc|name|7", want: want{r: ingest.ReasonBadEvent}},
		{line: "_sc||0", want: want{r: ingest.ReasonBadEvent}},
	} {
		var l Line
		r := ParseLine([]byte(tc.line), &l, tc.opt)
		w := tc.want
		if r != w.r {
			t.Errorf("%q: reason %v, want %v", tc.line, r, w.r)
			continue
		}
		if r != ingest.OK {
			continue
		}
		if string(l.Name) != w.name || l.Kind != w.kind || string(l.Member) != w.member || string(l.Tags) != w.tags ||
			l.Rate != w.rate || l.T != w.ts || l.Delta != w.delta || l.Ignored != w.ignored || string(l.More) != w.more {
			t.Errorf("%q:\n got name=%q kind=%v member=%q tags=%q rate=%v T=%d delta=%v ignored=%v more=%q\nwant name=%q kind=%v member=%q tags=%q rate=%v T=%d delta=%v ignored=%v more=%q",
				tc.line, l.Name, l.Kind, l.Member, l.Tags, l.Rate, l.T, l.Delta, l.Ignored, l.More,
				w.name, w.kind, w.member, w.tags, w.rate, w.ts, w.delta, w.ignored, w.more)
		}
		if !slices.Equal(l.Values, w.values) && !(len(l.Values) == 0 && len(w.values) == 0) {
			t.Errorf("%q: values %v, want %v", tc.line, l.Values, w.values)
		}
	}
}

func TestParseMoreChains(t *testing.T) {
	var l Line
	line := []byte("legacy:1|c:2|ms:3|g")
	if r := ParseLine(line, &l, ParseOptions{}); r != ingest.OK || l.Kind != ingest.KindCounter {
		t.Fatalf("first: %v %v", r, l.Kind)
	}
	if r := ParseMore(&l, ParseOptions{}); r != ingest.OK || l.Kind != ingest.KindHistogram || l.Values[0] != 2 || string(l.Name) != "legacy" {
		t.Fatalf("second: %v %v %v %q", r, l.Kind, l.Values, l.Name)
	}
	if r := ParseMore(&l, ParseOptions{}); r != ingest.OK || l.Kind != ingest.KindGauge || l.Values[0] != 3 || len(l.More) != 0 {
		t.Fatalf("third: %v %v %v more=%q", r, l.Kind, l.Values, l.More)
	}
}

// TestParseNumberExact checks the fast path against strconv on decimals.
func TestParseNumberExact(t *testing.T) {
	for _, s := range []string{"0", "1", "-1", "+1", "0.1", "0.3", "123456.789", "999999999999999", "0.000000000000001",
		"1.7976931348623157", "4.35", "-0.0", "5e-324", "1E10", "0x1p4"} {
		got, _, n, ok := parseNumber([]byte(s))
		want, err := parseFloatRef(s)
		if !ok || err != nil || n != len(s) || got != want || math.Signbit(got) != math.Signbit(want) {
			t.Errorf("parseNumber(%q) = %v, %d, %v; want %v (%v)", s, got, n, ok, want, err)
		}
	}
}

// TestNextLineHashesNames checks the name hash nextLine computes in its
// scan against the aggregator's own, for names ending inside the 8-byte
// words and in the bytes after the last whole word, and that a line the
// fast path does not take leaves no stale hash behind.
func TestNextLineHashesNames(t *testing.T) {
	agg, err := ingest.NewAggregator(ingest.Options{}, discardSink{}, metrics.NewSet())
	if err != nil {
		t.Fatal(err)
	}
	kh := agg.NameHasher()
	var l Line
	for n := 1; n <= 20; n++ {
		name := strings.Repeat("n", n)
		for _, pkt := range []string{name + ":1|c", name + ":1|c\nnext:2|c\n"} {
			_, _, r := nextLineOf([]byte(pkt), &l, ParseOptions{}, kh)
			if r != ingest.OK || string(l.Name) != name {
				t.Fatalf("%q: %v %q", pkt, r, l.Name)
			}
			if l.NameHash != kh.Bytes(l.Name) {
				t.Errorf("%q: hash %x, NameHasher %x", pkt, l.NameHash, kh.Bytes(l.Name))
			}
		}
	}
	// A line for the general parser (a set) after a hashed one.
	nextLineOf([]byte("users:u1|s"), &l, ParseOptions{}, kh)
	if _, _, r := nextLineOf([]byte("other:u1|s"), &l, ParseOptions{}, kh); r != ingest.OK || (l.NameHash != 0 && l.NameHash != kh.Bytes(l.Name)) {
		t.Errorf("set line: %v, hash %x for %q", r, l.NameHash, l.Name)
	}
}
