package importer

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/wardmetrics/ward/tsdb"
)

// CSV reads comma-separated samples with a header row. Columns:
//
//   - timestamp (or time, ts): unix seconds (fractions allowed), unix
//     milliseconds (13 digits or more), or RFC 3339;
//   - value: a float, NaN and ±Inf included;
//   - either series, a Prometheus series selector such as
//     `http_requests_total{job="api"}`, or a metric name column
//     (__name__, name or metric) plus one column per label; empty label
//     cells are omitted.
//
// Rows that do not parse are skipped and counted; a header without the
// needed columns is an error.
func CSV(in io.Reader) (*Reader, error) {
	cr := csv.NewReader(in)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	cr.TrimLeadingSpace = true
	header, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("importer: csv header: %w", err)
	}
	tsCol, valCol, seriesCol, nameCol := -1, -1, -1, -1
	var labelCols []int
	var labelNames []string
	for i, h := range header {
		h = strings.TrimSpace(h)
		switch strings.ToLower(h) {
		case "timestamp", "time", "ts":
			tsCol = i
		case "value":
			valCol = i
		case "series":
			seriesCol = i
		case "__name__", "name", "metric":
			nameCol = i
		default:
			labelCols = append(labelCols, i)
			labelNames = append(labelNames, h)
		}
	}
	if tsCol < 0 || valCol < 0 || (seriesCol < 0 && nameCol < 0) {
		return nil, fmt.Errorf("importer: csv header %q needs timestamp, value and series (or a metric name column)", strings.Join(header, ","))
	}
	r := newReader()
	b := labels.NewScratchBuilder(len(labelCols) + 1)
	pp := parser.NewParser(parser.Options{})
	line := 1
	r.next = func() (tsdb.Sample, bool, error) {
		for {
			rec, err := cr.Read()
			line++
			if errors.Is(err, io.EOF) {
				return tsdb.Sample{}, false, nil
			}
			var perr *csv.ParseError
			if errors.As(err, &perr) {
				r.skip(SkipBadRow, fmt.Sprintf("line %d: %v", line, err))
				continue
			}
			if err != nil {
				return tsdb.Sample{}, false, fmt.Errorf("importer: csv line %d: %w", line, err)
			}
			get := func(i int) string {
				if i < len(rec) {
					return strings.TrimSpace(rec[i])
				}
				return ""
			}
			ts, ok := parseTime(get(tsCol))
			if !ok {
				r.skip(SkipBadTime, fmt.Sprintf("line %d: %q", line, get(tsCol)))
				continue
			}
			v, err := strconv.ParseFloat(get(valCol), 64)
			if err != nil {
				r.skip(SkipBadValue, fmt.Sprintf("line %d: %q", line, get(valCol)))
				continue
			}
			var ls labels.Labels
			if seriesCol >= 0 {
				ls, err = pp.ParseMetric(get(seriesCol))
				if err != nil {
					r.skip(SkipBadSeries, fmt.Sprintf("line %d: %q", line, get(seriesCol)))
					continue
				}
			} else {
				b.Reset()
				b.Add(metricName, get(nameCol))
				for j, c := range labelCols {
					if v := get(c); v != "" {
						b.Add(labelNames[j], v)
					}
				}
				b.Sort()
				ls = b.Labels()
			}
			if ls.Get(metricName) == "" {
				r.skip(SkipNoName, fmt.Sprintf("line %d", line))
				continue
			}
			return tsdb.Sample{Labels: ls, T: ts, V: v}, true, nil
		}
	}
	return r, nil
}

// parseTime accepts unix seconds, unix milliseconds or RFC 3339.
func parseTime(s string) (int64, bool) {
	if s == "" {
		return 0, false
	}
	if i, err := strconv.ParseInt(s, 10, 64); err == nil {
		if len(strings.TrimLeft(s, "-")) >= 13 {
			return i, true
		}
		if i > math.MaxInt64/1000 || i < math.MinInt64/1000 {
			return 0, false
		}
		return i * 1000, true
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil && !math.IsNaN(f) && math.Abs(f) < 1e15 {
		return int64(math.Round(f * 1000)), true
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UnixMilli(), true
	}
	return 0, false
}

// metricName is the label holding a series' metric name.
const metricName = "__name__"
