package api

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/valyala/fasthttp"
)

// form reads request parameters as net/http's Request.FormValue does: a
// url-encoded POST body first, then the URL query. It must not outlive the
// handler that made it.
type form struct {
	post, query *fasthttp.Args
}

func formOf(ctx *fasthttp.RequestCtx) form {
	f := form{query: ctx.QueryArgs()}
	if ctx.IsPost() || ctx.IsPut() {
		f.post = ctx.PostArgs()
	}
	return f
}

func (f form) value(name string) string {
	if f.post != nil {
		if v := f.post.Peek(name); v != nil {
			return string(v)
		}
	}
	return string(f.query.Peek(name))
}

func (f form) values(name string) []string {
	var out []string
	if f.post != nil {
		for _, v := range f.post.PeekMulti(name) {
			out = append(out, string(v))
		}
	}
	for _, v := range f.query.PeekMulti(name) {
		out = append(out, string(v))
	}
	return out
}

// The default bounds of optional time ranges, as Prometheus has them.
var (
	minTime = time.Unix(math.MinInt64/1000+62135596801, 0).UTC()
	maxTime = time.Unix(math.MaxInt64/1000-62135596801, 999999999).UTC()

	minTimeFormatted = minTime.Format(time.RFC3339Nano)
	maxTimeFormatted = maxTime.Format(time.RFC3339Nano)
)

// ParseTime parses an API timestamp: Unix seconds with an optional fraction
// (rounded to milliseconds) or RFC 3339.
func ParseTime(s string) (time.Time, error) {
	if t, err := strconv.ParseFloat(s, 64); err == nil {
		sec, frac := math.Modf(t)
		frac = math.Round(frac*1000) / 1000
		if math.IsNaN(sec) || math.IsInf(sec, 0) || sec > math.MaxInt64/2 || sec < math.MinInt64/2 {
			return time.Time{}, fmt.Errorf("cannot parse %q to a valid timestamp", s)
		}
		return time.Unix(int64(sec), int64(frac*float64(time.Second))).UTC(), nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	// time.Parse takes only four-digit years; Prometheus' clients send these
	// two bounds for "no bound".
	switch s {
	case minTimeFormatted:
		return minTime, nil
	case maxTimeFormatted:
		return maxTime, nil
	}
	return time.Time{}, fmt.Errorf("cannot parse %q to a valid timestamp", s)
}

// ParseDuration parses an API duration: seconds as a float or a Prometheus
// duration ("1m30s", "1d").
func ParseDuration(s string) (time.Duration, error) {
	if d, err := strconv.ParseFloat(s, 64); err == nil {
		ts := d * float64(time.Second)
		if math.IsNaN(ts) || ts >= float64(math.MaxInt64) || ts < float64(math.MinInt64) {
			return 0, fmt.Errorf("cannot parse %q to a valid duration. It overflows int64", s)
		}
		return time.Duration(ts), nil
	}
	if d, err := model.ParseDuration(s); err == nil {
		return time.Duration(d), nil
	}
	return 0, fmt.Errorf("cannot parse %q to a valid duration", s)
}

func (f form) time(name string, def time.Time) (time.Time, *apiError) {
	v := f.value(name)
	if v == "" {
		return def, nil
	}
	t, err := ParseTime(v)
	if err != nil {
		return time.Time{}, invalidParam(name, fmt.Errorf("invalid time value for '%s': %w", name, err))
	}
	return t, nil
}

// limit parses the "limit" parameter; 0 means none.
func (f form) limit() (int, *apiError) {
	v := f.value("limit")
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, invalidParam("limit", err)
	}
	if n < 0 {
		return 0, invalidParam("limit", errors.New("limit must be non-negative"))
	}
	return n, nil
}

// matchers parses the match[] selectors. As in Prometheus, each selector must
// have a matcher that does not match the empty string, so that none selects
// every series.
func (f form) matchers(p parser.Parser) ([][]*labels.Matcher, error) {
	sets, err := p.ParseMetricSelectors(f.values("match[]"))
	if err != nil {
		return nil, err
	}
outer:
	for _, ms := range sets {
		for _, m := range ms {
			if m != nil && !m.Matches("") {
				continue outer
			}
		}
		return nil, errors.New("match[] must contain at least one non-empty matcher")
	}
	return sets, nil
}

// hintLimit asks the storage for one result more than the API limit so that
// truncation can be reported.
func hintLimit(limit int) int {
	if limit > 0 && limit < math.MaxInt {
		return limit + 1
	}
	return limit
}
