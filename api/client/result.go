package client

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/prometheus/prometheus/model/labels"
)

// The result types of the query API.
const (
	TypeVector = "vector"
	TypeMatrix = "matrix"
	TypeScalar = "scalar"
	TypeString = "string"
)

// Result is a parsed query result. Exactly one of Vector, Matrix, Scalar
// and String is set, as Type says.
type Result struct {
	Type   string
	Vector []Sample
	Matrix []Series
	Scalar *Point
	String *StringValue
	// Warnings and Infos are the annotations the engine attached.
	Warnings, Infos []string
	// Raw is the API's data object as received ({"resultType":..., "result":...}).
	Raw json.RawMessage
}

// Point is a float value at a time.
type Point struct {
	T time.Time
	V float64
}

// HistogramPoint is a native histogram value at a time.
type HistogramPoint struct {
	T time.Time
	H *Histogram
}

// Histogram is a native histogram as the API renders it.
type Histogram struct {
	Count, Sum float64
	Buckets    []Bucket
}

// Bucket is one histogram bucket. Boundaries is the API's code for which
// ends are inclusive: 0 upper only, 1 lower only, 2 neither, 3 both.
type Bucket struct {
	Boundaries   int
	Lower, Upper float64
	Count        float64
}

// Sample is one series of an instant vector: a float value or a histogram.
type Sample struct {
	Metric labels.Labels
	Point
	// H is set instead of Point.V for histogram samples.
	H *Histogram
}

// Series is one series of a range result.
type Series struct {
	Metric     labels.Labels
	Points     []Point
	Histograms []HistogramPoint
}

// StringValue is a string result.
type StringValue struct {
	T time.Time
	V string
}

type wireData struct {
	ResultType string          `json:"resultType"`
	Result     json.RawMessage `json:"result"`
}

type wireSample struct {
	Metric    map[string]string `json:"metric"`
	Value     []json.RawMessage `json:"value"`
	Histogram []json.RawMessage `json:"histogram"`
}

type wireSeries struct {
	Metric     map[string]string   `json:"metric"`
	Values     [][]json.RawMessage `json:"values"`
	Histograms [][]json.RawMessage `json:"histograms"`
}

type wireHistogram struct {
	Count   string              `json:"count"`
	Sum     string              `json:"sum"`
	Buckets [][]json.RawMessage `json:"buckets"`
}

func parseResult(env *envelope) (*Result, error) {
	r, err := ParseData(env.Data)
	if err != nil {
		return nil, err
	}
	r.Warnings, r.Infos = env.Warnings, env.Infos
	return r, nil
}

// ParseData parses the data object of a query response.
func ParseData(data []byte) (*Result, error) {
	var d wireData
	if err := json.Unmarshal(data, &d); err != nil {
		return nil, fmt.Errorf("decode query result: %w", err)
	}
	r := &Result{Type: d.ResultType, Raw: bytes.Clone(data)}
	var err error
	switch d.ResultType {
	case TypeVector:
		var ws []wireSample
		if err = json.Unmarshal(d.Result, &ws); err != nil {
			break
		}
		r.Vector = make([]Sample, 0, len(ws))
		for _, w := range ws {
			s := Sample{Metric: labels.FromMap(w.Metric)}
			if w.Histogram != nil {
				s.Point.T, s.H, err = parseHistogramPair(w.Histogram)
			} else {
				s.Point, err = parsePoint(w.Value)
			}
			if err != nil {
				break
			}
			r.Vector = append(r.Vector, s)
		}
	case TypeMatrix:
		var ws []wireSeries
		if err = json.Unmarshal(d.Result, &ws); err != nil {
			break
		}
		r.Matrix = make([]Series, 0, len(ws))
		for _, w := range ws {
			s := Series{Metric: labels.FromMap(w.Metric)}
			for _, v := range w.Values {
				var p Point
				if p, err = parsePoint(v); err != nil {
					break
				}
				s.Points = append(s.Points, p)
			}
			for _, v := range w.Histograms {
				var hp HistogramPoint
				if hp.T, hp.H, err = parseHistogramPair(v); err != nil {
					break
				}
				s.Histograms = append(s.Histograms, hp)
			}
			if err != nil {
				break
			}
			r.Matrix = append(r.Matrix, s)
		}
	case TypeScalar:
		var pair []json.RawMessage
		if err = json.Unmarshal(d.Result, &pair); err == nil {
			var p Point
			p, err = parsePoint(pair)
			r.Scalar = &p
		}
	case TypeString:
		var pair []json.RawMessage
		if err = json.Unmarshal(d.Result, &pair); err == nil {
			if len(pair) != 2 {
				err = fmt.Errorf("string result has %d elements, want 2", len(pair))
				break
			}
			var sv StringValue
			if sv.T, err = parseTimestamp(pair[0]); err == nil {
				err = json.Unmarshal(pair[1], &sv.V)
			}
			r.String = &sv
		}
	default:
		err = fmt.Errorf("unknown result type %q", d.ResultType)
	}
	if err != nil {
		return nil, fmt.Errorf("decode %s result: %w", d.ResultType, err)
	}
	return r, nil
}

// parsePoint parses [<seconds>, "<value>"].
func parsePoint(pair []json.RawMessage) (Point, error) {
	if len(pair) != 2 {
		return Point{}, fmt.Errorf("sample has %d elements, want 2", len(pair))
	}
	t, err := parseTimestamp(pair[0])
	if err != nil {
		return Point{}, err
	}
	v, err := parseQuotedFloat(pair[1])
	return Point{T: t, V: v}, err
}

func parseHistogramPair(pair []json.RawMessage) (time.Time, *Histogram, error) {
	if len(pair) != 2 {
		return time.Time{}, nil, fmt.Errorf("histogram sample has %d elements, want 2", len(pair))
	}
	t, err := parseTimestamp(pair[0])
	if err != nil {
		return t, nil, err
	}
	var w wireHistogram
	if err := json.Unmarshal(pair[1], &w); err != nil {
		return t, nil, fmt.Errorf("decode histogram: %w", err)
	}
	h := &Histogram{}
	if h.Count, err = parseFloat(w.Count); err != nil {
		return t, nil, err
	}
	if h.Sum, err = parseFloat(w.Sum); err != nil {
		return t, nil, err
	}
	for _, wb := range w.Buckets {
		if len(wb) != 4 {
			return t, nil, fmt.Errorf("histogram bucket has %d elements, want 4", len(wb))
		}
		var b Bucket
		if err := json.Unmarshal(wb[0], &b.Boundaries); err != nil {
			return t, nil, fmt.Errorf("decode bucket boundaries: %w", err)
		}
		if b.Lower, err = parseQuotedFloat(wb[1]); err != nil {
			return t, nil, err
		}
		if b.Upper, err = parseQuotedFloat(wb[2]); err != nil {
			return t, nil, err
		}
		if b.Count, err = parseQuotedFloat(wb[3]); err != nil {
			return t, nil, err
		}
		h.Buckets = append(h.Buckets, b)
	}
	return t, h, nil
}

// parseTimestamp parses seconds with a fraction, exactly to the millisecond.
func parseTimestamp(raw json.RawMessage) (time.Time, error) {
	f, err := strconv.ParseFloat(string(raw), 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return time.Time{}, fmt.Errorf("bad timestamp %s", raw)
	}
	return time.UnixMilli(int64(math.Round(f * 1000))).UTC(), nil
}

func parseQuotedFloat(raw json.RawMessage) (float64, error) {
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return 0, fmt.Errorf("bad sample value %s: %w", raw, err)
	}
	return parseFloat(s)
}

func parseFloat(s string) (float64, error) {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, fmt.Errorf("bad sample value %q: %w", s, err)
	}
	return f, nil
}
