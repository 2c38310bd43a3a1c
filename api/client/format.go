package client

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
)

// The renderings share one layout, so that a table and a CSV of the same
// result hold the same cells:
//
//   - one column per label name found in the result, __name__ first, then
//     the other names sorted; a series without a label has an empty cell;
//   - then "time" (RFC 3339 in UTC, milliseconds) and "value" (as the API
//     writes it: "+Inf", "NaN", exponents for tiny and huge values;
//     histograms as "count=<c> sum=<s>");
//   - an instant vector has one row per series; a range result one row per
//     series per point (the long format, which spreadsheets and scripts
//     read without reshaping), series in the API's order, points in time
//     order; scalars and strings are one row without label columns.
//
// FormatJSON writes the API's own data object, indented.

// TimeFormat is how the renderings write times.
const TimeFormat = "2006-01-02T15:04:05.000Z07:00"

// FormatTable writes r as columns aligned with spaces. An empty result
// writes nothing but the header.
func FormatTable(w io.Writer, r *Result) error {
	header, rows := tabulate(r)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, row := range append([][]string{header}, rows...) {
		if _, err := fmt.Fprintln(tw, strings.Join(row, "\t")); err != nil {
			return fmt.Errorf("write table: %w", err)
		}
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write table: %w", err)
	}
	return nil
}

// FormatCSV writes r as RFC 4180 CSV with a header row.
func FormatCSV(w io.Writer, r *Result) error {
	header, rows := tabulate(r)
	cw := csv.NewWriter(w)
	if err := cw.Write(header); err != nil {
		return fmt.Errorf("write csv: %w", err)
	}
	if err := cw.WriteAll(rows); err != nil {
		return fmt.Errorf("write csv: %w", err)
	}
	return nil
}

// FormatJSON writes the API's data object of r ({"resultType":...,
// "result":...}), indented, followed by a newline.
func FormatJSON(w io.Writer, r *Result) error {
	raw := r.Raw
	if raw == nil {
		return fmt.Errorf("write json: result has no raw data (not received from a server)")
	}
	var buf bytes.Buffer
	if err := json.Indent(&buf, raw, "", "  "); err != nil {
		return fmt.Errorf("write json: %w", err)
	}
	buf.WriteByte('\n')
	if _, err := buf.WriteTo(w); err != nil {
		return fmt.Errorf("write json: %w", err)
	}
	return nil
}

// tabulate lays r out as header and rows (see the layout above).
func tabulate(r *Result) (header []string, rows [][]string) {
	var all []labels.Labels
	switch r.Type {
	case TypeVector:
		for _, s := range r.Vector {
			all = append(all, s.Metric)
		}
	case TypeMatrix:
		for _, s := range r.Matrix {
			all = append(all, s.Metric)
		}
	}
	names := labelNames(all)
	header = append(slices.Clone(names), "time", "value")
	cells := func(ls labels.Labels) []string {
		row := make([]string, len(names), len(names)+2)
		for i, n := range names {
			row[i] = ls.Get(n)
		}
		return row
	}
	switch r.Type {
	case TypeVector:
		for _, s := range r.Vector {
			v := FormatValue(s.V)
			if s.H != nil {
				v = formatHistogram(s.H)
			}
			rows = append(rows, append(cells(s.Metric), formatTime3(s.T), v))
		}
	case TypeMatrix:
		for _, s := range r.Matrix {
			points := make([][2]string, 0, len(s.Points)+len(s.Histograms))
			times := make([]time.Time, 0, cap(points))
			for _, p := range s.Points {
				points = append(points, [2]string{formatTime3(p.T), FormatValue(p.V)})
				times = append(times, p.T)
			}
			for _, p := range s.Histograms {
				points = append(points, [2]string{formatTime3(p.T), formatHistogram(p.H)})
				times = append(times, p.T)
			}
			order := make([]int, len(points))
			for i := range order {
				order[i] = i
			}
			// A series switching between floats and histograms interleaves.
			slices.SortStableFunc(order, func(a, b int) int { return times[a].Compare(times[b]) })
			for _, i := range order {
				rows = append(rows, append(cells(s.Metric), points[i][0], points[i][1]))
			}
		}
	case TypeScalar:
		if r.Scalar != nil {
			rows = append(rows, []string{formatTime3(r.Scalar.T), FormatValue(r.Scalar.V)})
		}
	case TypeString:
		if r.String != nil {
			rows = append(rows, []string{formatTime3(r.String.T), r.String.V})
		}
	}
	return header, rows
}

// labelNames is the union of the names in all, __name__ first.
func labelNames(all []labels.Labels) []string {
	set := map[string]struct{}{}
	for _, ls := range all {
		ls.Range(func(l labels.Label) { set[l.Name] = struct{}{} })
	}
	names := make([]string, 0, len(set))
	for n := range set {
		names = append(names, n)
	}
	slices.SortFunc(names, func(a, b string) int {
		switch {
		case a == b:
			return 0
		case a == model.MetricNameLabel:
			return -1
		case b == model.MetricNameLabel:
			return 1
		}
		return strings.Compare(a, b)
	})
	return names
}

func formatTime3(t time.Time) string { return t.UTC().Format(TimeFormat) }

// FormatValue writes a sample value as the query API does.
func FormatValue(f float64) string {
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	return strconv.FormatFloat(f, format, -1, 64)
}

func formatHistogram(h *Histogram) string {
	return "count=" + FormatValue(h.Count) + " sum=" + FormatValue(h.Sum)
}
