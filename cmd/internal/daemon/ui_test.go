package daemon

import (
	"testing"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/prometheus/prometheus/promql/parser"
)

func TestSelfRecorderSamples(t *testing.T) {
	set := metrics.NewSet()
	set.NewCounter(`ward_ingest_lines_accepted_total{protocol="udp"}`).Add(5)
	set.NewHistogram(`ward_ingest_flush_duration_seconds`).Update(0.2)
	set.NewCounter(`ward_api_requests_total`).Inc() // not recorded
	r := &selfRecorder{set: set, parser: parser.NewParser(parser.Options{})}
	now := time.UnixMilli(1_700_000_000_000)
	got := map[string]float64{}
	for _, s := range r.samples(now) {
		if s.T != now.UnixMilli() {
			t.Errorf("%s at %d, want %d", s.Labels, s.T, now.UnixMilli())
		}
		got[s.Labels.String()] = s.V
	}
	want := map[string]float64{
		`{__name__="ward_ingest_lines_accepted_total", protocol="udp"}`: 5,
		`{__name__="ward_ingest_flush_duration_seconds_count"}`:         1,
		`{__name__="ward_ingest_flush_duration_seconds_sum"}`:           0.2,
	}
	if len(got) != len(want) {
		t.Fatalf("recorded %v, want %v (no buckets, nothing outside the prefixes)", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v", k, got[k], v)
		}
	}
}
