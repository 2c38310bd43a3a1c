package tsdb

import (
	"context"
	"math"
	"slices"
	"testing"

	"github.com/prometheus/prometheus/model/labels"
)

// TestLabelsHonourTimeRange: label names and values list only series with data in the
// querier's range (Grafana's label browser asks for the dashboard's range), sealed and
// head data alike; the API's unbounded default lists every series.
func TestLabelsHonourTimeRange(t *testing.T) {
	// host=old only in the first hour (sealed, with an extra label), host=new from the
	// third hour on (head), host=both throughout.
	db := openOldNewBoth(t, "host", "dc", "east")
	const hour = 3600_000
	ctx := context.Background()
	for _, c := range []struct {
		mint, maxt int64
		ms         []*labels.Matcher
		values     []string // of host
		names      []string
	}{
		{math.MinInt64, math.MaxInt64, nil, []string{"both", "new", "old"}, []string{"__name__", "dc", "host"}},
		{t0, t0 + 30*60_000, nil, []string{"both", "old"}, []string{"__name__", "dc", "host"}},
		{t0 + hour + 1, t0 + 2*hour - 1, nil, []string{"both"}, []string{"__name__", "host"}},
		{t0 + 3*hour, t0 + 5*hour, nil, []string{"both", "new"}, []string{"__name__", "host"}},
		{t0 + 3*hour, t0 + 5*hour, []*labels.Matcher{eqMatcher("host", "new")}, []string{"new"}, []string{"__name__", "host"}},
		{t0, t0 + 30*60_000, []*labels.Matcher{eqMatcher("host", "new")}, []string{}, []string{}},
		{t0 + 10*hour, t0 + 11*hour, nil, []string{}, []string{}},
	} {
		q, err := db.Querier(c.mint, c.maxt)
		if err != nil {
			t.Fatal(err)
		}
		vals, _, err := q.LabelValues(ctx, "host", nil, c.ms...)
		if err != nil || !slices.Equal(vals, c.values) && !(len(vals) == 0 && len(c.values) == 0) {
			t.Errorf("host values in [%d, %d] %v: got %v, %v; want %v", c.mint-t0, c.maxt-t0, c.ms, vals, err, c.values)
		}
		names, _, err := q.LabelNames(ctx, nil, c.ms...)
		if err != nil || !slices.Equal(names, c.names) && !(len(names) == 0 && len(c.names) == 0) {
			t.Errorf("names in [%d, %d] %v: got %v, %v; want %v", c.mint-t0, c.maxt-t0, c.ms, names, err, c.names)
		}
		q.Close()
	}
}
