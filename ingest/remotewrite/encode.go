package remotewrite

import (
	"fmt"

	"github.com/golang/snappy"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/prompb"

	"github.com/wardmetrics/ward/ingest"
)

// encode turns a flush into one or more snappy-compressed remote-write v1 requests of at
// most maxSamples samples each, ready to be queued and sent as they are. Encoding before
// queueing means a retry sends the same bytes and the queue's bound is in wire bytes.
//
// External labels are added to every series that lacks them (a series' own label wins,
// as in Prometheus), so that several Ward nodes writing into one cluster keep their
// series apart.
func encode(b *ingest.Batch, maxSamples int, external labels.Labels) ([][]byte, error) {
	var out [][]byte
	meta := metadata(b.Metadata)
	for start := 0; start < len(b.Samples) || (start == 0 && len(meta) > 0); start += maxSamples {
		end := min(start+maxSamples, len(b.Samples))
		req := prompb.WriteRequest{Timeseries: make([]prompb.TimeSeries, 0, end-start)}
		if start == 0 {
			req.Metadata = meta
		}
		for _, s := range b.Samples[start:end] {
			ts := prompb.TimeSeries{
				Labels:  make([]prompb.Label, 0, s.Labels.Len()),
				Samples: []prompb.Sample{{Value: s.V, Timestamp: s.T}},
			}
			ts.Labels = appendLabels(ts.Labels, s.Labels, external)
			req.Timeseries = append(req.Timeseries, ts)
		}
		raw, err := req.Marshal()
		if err != nil {
			return nil, fmt.Errorf("remotewrite: marshal request of %d samples at %d: %w", end-start, b.Time, err)
		}
		out = append(out, snappy.Encode(nil, raw))
		if end == len(b.Samples) {
			break
		}
	}
	return out, nil
}

// appendLabels merges the series' labels with the external ones, in name order as the
// protocol requires.
func appendLabels(out []prompb.Label, ls, external labels.Labels) []prompb.Label {
	if external.IsEmpty() {
		ls.Range(func(l labels.Label) { out = append(out, prompb.Label{Name: l.Name, Value: l.Value}) })
		return out
	}
	var own []labels.Label
	ls.Range(func(l labels.Label) { own = append(own, l) })
	var ext []labels.Label
	external.Range(func(l labels.Label) {
		if !ls.Has(l.Name) {
			ext = append(ext, l)
		}
	})
	i, j := 0, 0
	for i < len(own) || j < len(ext) {
		if j == len(ext) || (i < len(own) && own[i].Name < ext[j].Name) {
			out = append(out, prompb.Label{Name: own[i].Name, Value: own[i].Value})
			i++
		} else {
			out = append(out, prompb.Label{Name: ext[j].Name, Value: ext[j].Value})
			j++
		}
	}
	return out
}

func metadata(ms []ingest.Metadata) []prompb.MetricMetadata {
	out := make([]prompb.MetricMetadata, 0, len(ms))
	for _, m := range ms {
		out = append(out, prompb.MetricMetadata{Type: metricType(m.Type), MetricFamilyName: m.Name, Help: m.Help})
	}
	return out
}

func metricType(t string) prompb.MetricMetadata_MetricType {
	switch t {
	case "counter":
		return prompb.MetricMetadata_COUNTER
	case "gauge":
		return prompb.MetricMetadata_GAUGE
	case "histogram":
		return prompb.MetricMetadata_HISTOGRAM
	case "summary":
		return prompb.MetricMetadata_SUMMARY
	}
	return prompb.MetricMetadata_UNKNOWN
}

// Decode reverses the wire encoding of one request (snappy, then protobuf). Ward itself
// only sends; Decode exists for receivers in tests and for checking what is queued.
func Decode(body []byte) (*prompb.WriteRequest, error) {
	raw, err := snappy.Decode(nil, body)
	if err != nil {
		return nil, fmt.Errorf("remotewrite: snappy-decode %d bytes: %w", len(body), err)
	}
	var req prompb.WriteRequest
	if err := req.Unmarshal(raw); err != nil {
		return nil, fmt.Errorf("remotewrite: unmarshal %d bytes: %w", len(raw), err)
	}
	return &req, nil
}
