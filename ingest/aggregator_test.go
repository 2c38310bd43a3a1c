package ingest

import (
	"bytes"
	"fmt"
	"math"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestCounterTotalsAndRates(t *testing.T) {
	a, sink, clk, _ := newTestAgg(t, Options{})
	mustAdd(t, a, metric(KindCounter, "shop.revenue", "", 499))
	mustAdd(t, a, metric(KindCounter, "shop.revenue", "", 1, 2, 3)) // packed values add up
	m := metric(KindCounter, "logins", "", 1)
	m.Rate = 0.1
	mustAdd(t, a, m)
	got := flush(t, a, sink, clk)
	if v := got[`{__name__="shop_revenue"}`]; v != 505 {
		t.Errorf("shop_revenue = %v, want 505", v)
	}
	if v := got[`{__name__="logins"}`]; math.Abs(v-10) > 1e-9 {
		t.Errorf("logins = %v, want 10", v)
	}
	// Cumulative: the next interval adds to the total.
	mustAdd(t, a, metric(KindCounter, "shop.revenue", "", 5))
	clk.Add(10 * time.Second)
	got = flush(t, a, sink, clk)
	if v := got[`{__name__="shop_revenue"}`]; v != 510 {
		t.Errorf("shop_revenue after second interval = %v, want 510", v)
	}
	b := sink.last(t)
	if b.Time != clk.Now().UnixMilli() {
		t.Errorf("batch time %d, want %d", b.Time, clk.Now().UnixMilli())
	}
	for _, s := range b.Samples {
		if s.T != b.Time {
			t.Errorf("sample %v at %d, want batch time %d", s.Labels, s.T, b.Time)
		}
	}
	want := []Metadata{{Name: "logins", Type: "counter"}, {Name: "shop_revenue", Type: "counter"}}
	if len(b.Metadata) != 2 || b.Metadata[0].Name != want[0].Name || b.Metadata[1].Type != "counter" {
		t.Errorf("metadata %+v, want names and types %+v", b.Metadata, want)
	}
}

func TestGaugeValuesAndDeltas(t *testing.T) {
	a, sink, clk, _ := newTestAgg(t, Options{})
	mustAdd(t, a, metric(KindGauge, "db.connections", "", 42))
	d := metric(KindGauge, "db.connections", "", 3)
	d.Delta = true
	mustAdd(t, a, d)
	d = metric(KindGauge, "db.connections", "", -1)
	d.Delta = true
	mustAdd(t, a, d)
	got := flush(t, a, sink, clk)
	if v := got[`{__name__="db_connections"}`]; v != 44 {
		t.Errorf("db_connections = %v, want 44", v)
	}
	// A gauge keeps its last value in later flushes.
	clk.Add(10 * time.Second)
	got = flush(t, a, sink, clk)
	if v := got[`{__name__="db_connections"}`]; v != 44 {
		t.Errorf("db_connections next interval = %v, want 44", v)
	}
	a.SetGauge("queue.depth", 17)
	if v, ok := a.Get("queue.depth"); !ok || v != 17 {
		t.Errorf("Get(queue.depth) = %v, %v; want 17, true", v, ok)
	}
	if md := sink.last(t).Metadata; len(md) != 1 || md[0].Type != "gauge" {
		t.Errorf("metadata %+v, want one gauge", md)
	}
}

func TestHistogramBucketsWeighted(t *testing.T) {
	a, sink, clk, _ := newTestAgg(t, Options{Buckets: []float64{10, 100, 1000}})
	mustAdd(t, a, metric(KindHistogram, "api.latency", "", 5, 50, 500, 5000))
	m := metric(KindHistogram, "api.latency", "", 20)
	m.Rate = 0.5 // counts as two samples
	mustAdd(t, a, m)
	got := flush(t, a, sink, clk)
	want := map[string]float64{
		`{__name__="api_latency_bucket", le="10"}`:   1,
		`{__name__="api_latency_bucket", le="100"}`:  4,
		`{__name__="api_latency_bucket", le="1000"}`: 5,
		`{__name__="api_latency_bucket", le="+Inf"}`: 6,
		`{__name__="api_latency_count"}`:             6,
		`{__name__="api_latency_sum"}`:               5 + 50 + 500 + 5000 + 40,
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v", k, got[k], v)
		}
	}
	if len(got) != len(want) {
		t.Errorf("got %d samples, want %d: %v", len(got), len(want), got)
	}
	if md := sink.last(t).Metadata; len(md) != 1 || md[0] != (Metadata{Name: "api_latency", Type: "histogram", Help: help(KindHistogram)}) {
		t.Errorf("metadata %+v", md)
	}
}

func TestHistogramBucketsPerName(t *testing.T) {
	a, sink, clk, _ := newTestAgg(t, Options{HistogramBuckets: map[string][]float64{"checkout_time": {1, 5, math.Inf(1)}}})
	mustAdd(t, a, metric(KindHistogram, "checkout.time", "", 3.2))
	got := flush(t, a, sink, clk)
	if got[`{__name__="checkout_time_bucket", le="5"}`] != 1 || got[`{__name__="checkout_time_bucket", le="1"}`] != 0 {
		t.Errorf("per-name buckets not used: %v", got)
	}
	if n := len(got); n != 5 { // le=1, le=5, +Inf, count, sum
		t.Errorf("got %d samples, want 5 (one +Inf bucket): %v", n, got)
	}
}

func TestSetsCountDistinctPerInterval(t *testing.T) {
	a, sink, clk, _ := newTestAgg(t, Options{})
	for _, u := range []string{"u1", "u2", "u1", "u3"} {
		m := &Metric{Name: []byte("users.online"), Kind: KindSet, Member: []byte(u), Rate: 1}
		mustAdd(t, a, m)
	}
	got := flush(t, a, sink, clk)
	if v := got[`{__name__="users_online"}`]; v != 3 {
		t.Errorf("users_online = %v, want 3", v)
	}
	clk.Add(10 * time.Second)
	got = flush(t, a, sink, clk)
	if v, ok := got[`{__name__="users_online"}`]; !ok || v != 0 {
		t.Errorf("users_online in an empty interval = %v (present %v), want 0", v, ok)
	}
	// Beyond the exact set the HyperLogLog estimate stays within 2%.
	const n = 20000
	for i := range n {
		m := &Metric{Name: []byte("users.online"), Kind: KindSet, Member: fmt.Appendf(nil, "user-%d", i), Rate: 1}
		mustAdd(t, a, m)
	}
	got = flush(t, a, sink, clk)
	if v := got[`{__name__="users_online"}`]; math.Abs(v-n)/n > 0.02 {
		t.Errorf("users_online = %v, want %d within 2%%", v, n)
	}
	if md := sink.last(t).Metadata; md[0].Type != "gauge" {
		t.Errorf("set metadata type %q, want gauge", md[0].Type)
	}
}

func TestTagsBecomeLabels(t *testing.T) {
	a, sink, clk, _ := newTestAgg(t, Options{})
	mustAdd(t, a, metric(KindCounter, "req", "host:web01,release:r124", 1))
	mustAdd(t, a, metric(KindCounter, "req", "release:r124,host:web01", 2)) // same series, other order
	mustAdd(t, a, metric(KindCounter, "req-x", "canary,empty:,env:a,env:b,__name__:evil,9x:y,url:http://a:1", 1))
	mustAdd(t, a, metric(KindHistogram, "lat", "le:5", 1))
	got := flush(t, a, sink, clk)
	if v := got[`{__name__="req", host="web01", release="r124"}`]; v != 3 {
		t.Errorf("tag order must not split a series: %v", got)
	}
	want := `{_9x="y", __name__="req_x", canary="true", env="b", exported___name__="evil", url="http://a:1"}`
	if _, ok := got[want]; !ok {
		t.Errorf("missing %s in %v", want, got)
	}
	if _, ok := got[`{__name__="lat_count", exported_le="5"}`]; !ok {
		t.Errorf("histogram le tag not renamed: %v", got)
	}
	if len(sink.last(t).Samples) != 2+len(DefaultBuckets)+3 {
		t.Errorf("got %d samples", len(sink.last(t).Samples))
	}
}

var validName = regexp.MustCompile(`^[a-zA-Z_:][a-zA-Z0-9_:]*$`)

func TestNameSanitising(t *testing.T) {
	for in, want := range map[string]string{
		"shop.revenue":    "shop_revenue",
		"a-b c/d":         "a_b_c_d",
		"9lives":          "_9lives",
		"héllo":           "h__llo",
		"ok_Name_09":      "ok_Name_09",
		"with:colon.name": "with_colon_name",
	} {
		if got := SanitizeName([]byte(in)); got != want {
			t.Errorf("SanitizeName(%q) = %q, want %q", in, got, want)
		}
		if !validName.MatchString(SanitizeName([]byte(in))) {
			t.Errorf("SanitizeName(%q) is not a valid metric name", in)
		}
	}
	// Two spellings of one name are one series.
	a, sink, clk, _ := newTestAgg(t, Options{})
	mustAdd(t, a, metric(KindCounter, "a.b", "", 1))
	mustAdd(t, a, metric(KindCounter, "a_b", "", 1))
	mustAdd(t, a, metric(KindCounter, "a-b", "", 1))
	if got := flush(t, a, sink, clk); got[`{__name__="a_b"}`] != 3 || len(got) != 1 {
		t.Errorf("spellings not merged: %v", got)
	}
	if v := a.Incr("a.b", 1); v != 4 {
		t.Errorf("Incr after merged spellings = %v, want 4", v)
	}
}

func TestLimits(t *testing.T) {
	a, _, _, ms := newTestAgg(t, Options{MaxSeries: 5, MaxSeriesPerName: 3, MaxNameLen: 10, MaxTagLen: 8, MaxTags: 2})
	for i := range 3 {
		mustAdd(t, a, metric(KindCounter, "per", fmt.Sprintf("i:%d", i), 1))
	}
	if r := a.Add(metric(KindCounter, "per", "i:9", 1)); r != ReasonSeriesPerNameLimit {
		t.Errorf("4th series of a name: %v, want %v", r, ReasonSeriesPerNameLimit)
	}
	mustAdd(t, a, metric(KindCounter, "x", "", 1))
	mustAdd(t, a, metric(KindCounter, "y", "", 1))
	if r := a.Add(metric(KindCounter, "z", "", 1)); r != ReasonSeriesLimit {
		t.Errorf("6th series: %v, want %v", r, ReasonSeriesLimit)
	}
	// Existing series keep counting at the limit.
	mustAdd(t, a, metric(KindCounter, "x", "", 1))
	if r := a.Add(metric(KindCounter, "abcdefghijk", "", 1)); r != ReasonNameTooLong {
		t.Errorf("long name: %v", r)
	}
	if r := a.Add(metric(KindCounter, "x", "a:123456789", 1)); r != ReasonTagTooLong {
		t.Errorf("long tag: %v", r)
	}
	if r := a.Add(metric(KindCounter, "x", "a:1,b:2,c:3", 1)); r != ReasonTooManyTags {
		t.Errorf("many tags: %v", r)
	}
	if r := a.Add(metric(KindCounter, "x", ":v", 1)); r != ReasonBadTags {
		t.Errorf("tag without key: %v", r)
	}
	var buf bytes.Buffer
	ms.WritePrometheus(&buf)
	if !strings.Contains(buf.String(), "ward_ingest_series 5\n") {
		t.Errorf("ward_ingest_series not 5:\n%s", buf.String())
	}
}

func TestTypeConflicts(t *testing.T) {
	a, _, _, _ := newTestAgg(t, Options{})
	mustAdd(t, a, metric(KindCounter, "thing", "", 1))
	if r := a.Add(metric(KindGauge, "thing", "", 1)); r != ReasonTypeConflict {
		t.Errorf("gauge over counter: %v", r)
	}
	if r := a.Add(metric(KindGauge, "thing", "a:b", 1)); r != ReasonTypeConflict {
		t.Errorf("tagged gauge over counter name: %v", r)
	}
	mustAdd(t, a, metric(KindHistogram, "lat", "", 1))
	if r := a.Add(metric(KindCounter, "lat_count", "", 1)); r != ReasonTypeConflict {
		t.Errorf("counter over a histogram's _count: %v", r)
	}
	mustAdd(t, a, metric(KindCounter, "req_sum", "", 1))
	if r := a.Add(metric(KindHistogram, "req", "", 1)); r != ReasonTypeConflict {
		t.Errorf("histogram whose _sum is a counter: %v", r)
	}
	// Timers, histograms and distributions share one family.
	mustAdd(t, a, metric(KindHistogram, "lat", "", 2))
}

func TestTimestampedPoints(t *testing.T) {
	a, sink, clk, _ := newTestAgg(t, Options{})
	m := metric(KindCounter, "backfill", "", 5)
	m.T = 1_699_999_000_000
	mustAdd(t, a, m)
	m = metric(KindCounter, "backfill", "", 2)
	m.T = 1_699_999_010_000
	mustAdd(t, a, m)
	g := metric(KindGauge, "temp", "", 21.5)
	g.T = 1_699_999_000_000
	mustAdd(t, a, g)
	flush(t, a, sink, clk)
	b := sink.last(t)
	type pt struct {
		name string
		t    int64
		v    float64
	}
	var got []pt
	for _, s := range b.Samples {
		got = append(got, pt{s.Labels.Get("__name__"), s.T, s.V})
	}
	want := map[pt]bool{
		{"backfill", 1_699_999_000_000, 5}: true,
		{"backfill", 1_699_999_010_000, 7}: true,
		{"backfill", b.Time, 7}:            true,
		{"temp", 1_699_999_000_000, 21.5}:  true,
		{"temp", b.Time, 21.5}:             true,
	}
	if len(got) != len(want) {
		t.Fatalf("samples %v, want %v", got, want)
	}
	for _, p := range got {
		if !want[p] {
			t.Errorf("unexpected sample %+v", p)
		}
	}
	// Points are written once.
	clk.Add(10 * time.Second)
	if n := len(flush(t, a, sink, clk)); n != 2 || len(sink.last(t).Samples) != 2 {
		t.Errorf("points written again: %v", sink.last(t).Samples)
	}
}

func TestCountAndGet(t *testing.T) {
	a, _, _, _ := newTestAgg(t, Options{})
	if _, ok := a.Get("nothing"); ok {
		t.Error("Get of an unknown name reports a value")
	}
	if v := a.Incr("stock.widgets", 10); v != 10 {
		t.Errorf("Incr = %v", v)
	}
	if v := a.Incr("stock.widgets", -1); v != 9 {
		t.Errorf("decr = %v", v)
	}
	if v, ok := a.Get("stock.widgets"); !ok || v != 9 {
		t.Errorf("Get = %v, %v", v, ok)
	}
	if v, ok := a.Get("stock_widgets"); !ok || v != 9 {
		t.Errorf("Get by stored name = %v, %v", v, ok)
	}
	a.SetGauge("g", 1)
	if _, r := a.Count("g", 1); r != ReasonTypeConflict {
		t.Errorf("Count on a gauge: %v, want type conflict", r)
	}
	if v := a.Incr("g", 1); !math.IsNaN(v) {
		t.Errorf("Incr on a gauge = %v, want NaN", v)
	}
}

func TestRejectsRing(t *testing.T) {
	a, _, _, ms := newTestAgg(t, Options{})
	for i := range 150 {
		a.RecordReject("udp", fmt.Appendf(nil, "bad line %d", i), ReasonBadValue.String())
	}
	a.RecordReject("memcache", []byte("\xff\xfe"), "custom_reason")
	rj := a.Rejects()
	if len(rj) != 100 {
		t.Fatalf("kept %d rejects, want 100", len(rj))
	}
	if rj[0].Line != "bad line 51" || rj[98].Line != "bad line 149" {
		t.Errorf("ring order wrong: first %q, 99th %q", rj[0].Line, rj[98].Line)
	}
	if rj[99].Reason != "custom_reason" || rj[99].Protocol != "memcache" || rj[99].Line != "\uFFFD\uFFFD" {
		t.Errorf("last reject %+v", rj[99])
	}
	var buf bytes.Buffer
	ms.WritePrometheus(&buf)
	for _, want := range []string{
		`ward_ingest_rejected_lines_total{reason="bad_value"} 150`,
		`ward_ingest_rejected_lines_total{reason="custom_reason"} 1`,
		`ward_ingest_rejected_lines_total{reason="series_limit"} 0`,
	} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}

// TestConcurrentAddsAreExact races writers against flushes and expiry.
