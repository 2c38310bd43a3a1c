package api

import (
	"fmt"
	"math"
	"net/url"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/wardmetrics/ward/tsdb"
)

// wardT0 is where the data of the tsdb tests starts.
var wardT0 = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

// openWardDB opens Ward's storage engine in a temporary directory and
// writes two hours at 10s of: a counter per host growing by (host+1) per
// step, a gauge per room, and a classic latency histogram.
func openWardDB(t testing.TB) *tsdb.DB {
	t.Helper()
	now := wardT0.Add(2 * time.Hour)
	db, err := tsdb.Open(t.TempDir(), tsdb.Options{Sync: tsdb.SyncNone, Now: func() time.Time { return now }}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Errorf("close tsdb: %v", err)
		}
	})
	les := []string{"0.1", "0.5", "1", "+Inf"}
	shares := []float64{0.5, 0.9, 0.99, 1}
	for i := 0; i <= 720; i++ {
		ts := wardT0.Add(time.Duration(i) * 10 * time.Second).UnixMilli()
		var batch []tsdb.Sample
		for h := range 3 {
			batch = append(batch, tsdb.Sample{Labels: labels.FromStrings("__name__", "shop_orders_total", "host", fmt.Sprintf("web%d", h), "job", "shop"), T: ts, V: float64(i * (h + 1))})
		}
		batch = append(batch, tsdb.Sample{Labels: labels.FromStrings("__name__", "db_connections", "room", "eu"), T: ts, V: float64(40 + i%5)})
		for j, le := range les {
			batch = append(batch, tsdb.Sample{Labels: labels.FromStrings("__name__", "api_latency_seconds_bucket", "le", le), T: ts, V: float64(i) * 100 * shares[j]})
		}
		if err := db.Append(batch); err != nil {
			t.Fatal(err)
		}
	}
	for _, m := range []tsdb.Metadata{
		{Name: "shop_orders_total", Type: "counter", Help: "Orders placed."},
		{Name: "db_connections", Type: "gauge"},
		{Name: "api_latency_seconds", Type: "histogram", Unit: "seconds"},
	} {
		if err := db.SetMetadata(m); err != nil {
			t.Fatal(err)
		}
	}
	return db
}

// wardMetadata adapts the storage's metadata as the daemon does.
func wardMetadata(db *tsdb.DB) func() []Metadata {
	return func() []Metadata {
		var out []Metadata
		for _, m := range db.Metadata() {
			out = append(out, Metadata{MetricFamily: m.Name, Type: m.Type, Help: m.Help, Unit: m.Unit})
		}
		return out
	}
}

func TestOverWardTSDB(t *testing.T) {
	db := openWardDB(t)
	ts := startServer(t, Options{Queryable: db, Metadata: wardMetadata(db)})
	at := strconv.FormatInt(wardT0.Add(time.Hour).Unix(), 10)

	instant := func(q string) map[string]float64 {
		t.Helper()
		var data struct {
			Result []struct {
				Metric map[string]string `json:"metric"`
				Value  [2]any            `json:"value"`
			} `json:"result"`
		}
		ts.postForm(t, "/api/v1/query", url.Values{"query": {q}, "time": {at}}).wantSuccess(t, &data)
		out := map[string]float64{}
		for _, s := range data.Result {
			v, err := strconv.ParseFloat(s.Value[1].(string), 64)
			if err != nil {
				t.Fatal(err)
			}
			out[s.Metric["host"]+s.Metric["room"]] = v
		}
		return out
	}
	near := func(got, want float64) bool { return math.Abs(got-want) <= 1e-9*math.Max(1, math.Abs(want)) }

	got := instant(`sum by (host) (rate(shop_orders_total[5m]))`)
	for h, want := range map[string]float64{"web0": 0.1, "web1": 0.2, "web2": 0.3} {
		if !near(got[h], want) {
			t.Errorf("rate of %s: got %v, want %v", h, got[h], want)
		}
	}
	if got := instant(`increase(shop_orders_total{host="web2"}[10m])`); !near(got["web2"], 180) {
		t.Errorf("increase over 10m: %v, want 180", got)
	}
	if got := instant(`shop_orders_total{host="web0"} offset 30m`); got["web0"] != 180 {
		t.Errorf("offset 30m: %v, want 180", got)
	}
	if got := instant(`db_connections`); got["eu"] != float64(40+360%5) {
		t.Errorf("gauge: %v", got)
	}
	// 50% of observations are under 0.1, 90% under 0.5: the median is at
	// the top of the first bucket.
	if got := instant(`histogram_quantile(0.5, rate(api_latency_seconds_bucket[5m]))`); !near(got[""], 0.1) {
		t.Errorf("median: %v, want 0.1", got)
	}

	// A range query over the whole data set at 1m.
	var data struct {
		Result []struct {
			Metric map[string]string `json:"metric"`
			Values [][2]any          `json:"values"`
		} `json:"result"`
	}
	ts.get(t, "/api/v1/query_range", url.Values{
		"query": {`sum(rate(shop_orders_total[5m]))`},
		"start": {strconv.FormatInt(wardT0.Add(10*time.Minute).Unix(), 10)},
		"end":   {strconv.FormatInt(wardT0.Add(2*time.Hour).Unix(), 10)},
		"step":  {"60"},
	}).wantSuccess(t, &data)
	if len(data.Result) != 1 || len(data.Result[0].Values) != 111 {
		t.Fatalf("range: %d series", len(data.Result))
	}
	for _, p := range data.Result[0].Values {
		if v, _ := strconv.ParseFloat(p[1].(string), 64); !near(v, 0.6) {
			t.Fatalf("sum of rates at %v: %v, want 0.6", p[0], v)
		}
	}

	var values []string
	ts.get(t, "/api/v1/label/__name__/values", nil).wantSuccess(t, &values)
	if want := []string{"api_latency_seconds_bucket", "db_connections", "shop_orders_total"}; !slices.Equal(values, want) {
		t.Errorf("metric names: %q, want %q", values, want)
	}
	ts.get(t, "/api/v1/label/host/values", url.Values{"match[]": {`shop_orders_total`}}).wantSuccess(t, &values)
	if want := []string{"web0", "web1", "web2"}; !slices.Equal(values, want) {
		t.Errorf("hosts: %q", values)
	}
	var series []map[string]string
	ts.postForm(t, "/api/v1/series", url.Values{"match[]": {`{host="web1"}`, `db_connections`}}).wantSuccess(t, &series)
	if len(series) != 2 || series[0]["__name__"] != "db_connections" || series[1]["host"] != "web1" {
		t.Errorf("series: %v", series)
	}

	var md map[string][]map[string]string
	ts.get(t, "/api/v1/metadata", nil).wantSuccess(t, &md)
	if md["shop_orders_total"][0]["type"] != "counter" || md["api_latency_seconds"][0]["unit"] != "seconds" || len(md) != 3 {
		t.Errorf("metadata: %v", md)
	}
}
