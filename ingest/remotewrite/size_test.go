package remotewrite

import (
	"fmt"
	"testing"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/wardmetrics/ward/ingest"
)

// BenchmarkEncode reports the wire size of a typical flush (5,000 statsd series with
// two tags) in bytes/sample, the figure the queue bound is sized with.
func BenchmarkEncode(b *testing.B) {
	batch := &ingest.Batch{Time: 1700000000000}
	for i := range 5000 {
		batch.Samples = append(batch.Samples, ingest.Sample{
			Labels: labels.FromStrings("__name__", fmt.Sprintf("app_requests_%d", i%50), "endpoint", fmt.Sprintf("/api/v%d/items", i%100), "status", fmt.Sprint(200+i%5)),
			T:      1700000000000, V: float64(i * 37),
		})
	}
	ext := labels.FromStrings("instance", "ward-1")
	var size int
	b.ReportAllocs()
	for b.Loop() {
		bodies, err := encode(batch, 5000, ext)
		if err != nil {
			b.Fatal(err)
		}
		size = len(bodies[0])
	}
	b.ReportMetric(float64(size)/5000, "bytes/sample")
}
