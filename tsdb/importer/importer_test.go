package importer

import (
	"context"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/wardmetrics/ward/tsdb"
)

func collect(t *testing.T, r *Reader) []tsdb.Sample {
	t.Helper()
	var out []tsdb.Sample
	for r.Next() {
		out = append(out, r.At())
	}
	if err := r.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestOpenMetrics(t *testing.T) {
	in := `# HELP http_requests Requests served.
# TYPE http_requests counter
http_requests_total{code="200"} 1027 1700000000
http_requests_total{code="200"} 1030 1700000015.5
http_requests_total{code="500"} 3
# TYPE temp_celsius gauge
# UNIT temp_celsius celsius
temp_celsius 21.5 1700000000
# EOF
`
	r := OpenMetrics([]byte(in))
	got := collect(t, r)
	want := []string{
		`{__name__="http_requests_total", code="200"} 1700000000000 1027`,
		`{__name__="http_requests_total", code="200"} 1700000015500 1030`,
		`{__name__="temp_celsius"} 1700000000000 21.5`,
	}
	if len(got) != len(want) {
		t.Fatalf("got %d samples: %v", len(got), got)
	}
	for i, s := range got {
		if g := fmt.Sprintf("%s %d %v", s.Labels, s.T, s.V); g != want[i] {
			t.Errorf("sample %d = %s, want %s", i, g, want[i])
		}
	}
	if sk := r.Skipped(); sk[SkipNoTimestamp] != 1 || !strings.Contains(r.Example(SkipNoTimestamp), "500") {
		t.Errorf("skipped %v, example %q", sk, r.Example(SkipNoTimestamp))
	}
	md := r.Metadata()
	if len(md) != 2 || md[0] != (tsdb.Metadata{Name: "http_requests", Type: "counter", Help: "Requests served."}) || md[1].Unit != "celsius" {
		t.Errorf("metadata %+v", md)
	}
	bad := OpenMetrics([]byte("x{ 1\n# EOF\n"))
	for bad.Next() {
	}
	if bad.Err() == nil {
		t.Error("syntax error not reported")
	}
}

func TestCSV(t *testing.T) {
	in := `timestamp,value,__name__,job,instance
1700000000,1.5,up,api,a
1700000000123,2,up,api,
2023-11-14T22:13:20Z,NaN,up,,b
notatime,1,up,api,a
1700000000,x,up,api,a
1700000000,1,,api,a
`
	r, err := CSV(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	got := collect(t, r)
	if len(got) != 3 {
		t.Fatalf("got %d samples: %v", len(got), got)
	}
	if got[0].T != 1700000000000 || got[0].V != 1.5 || got[0].Labels.String() != `{__name__="up", instance="a", job="api"}` {
		t.Errorf("row 1 = %v", got[0])
	}
	if got[1].T != 1700000000123 || got[1].Labels.Has("instance") {
		t.Errorf("row 2 = %v", got[1])
	}
	if got[2].T != 1700000000000 || !math.IsNaN(got[2].V) || got[2].Labels.Has("job") {
		t.Errorf("row 3 = %v", got[2])
	}
	sk := r.Skipped()
	if sk[SkipBadTime] != 1 || sk[SkipBadValue] != 1 || sk[SkipNoName] != 1 {
		t.Errorf("skipped %v", sk)
	}
	r, err = CSV(strings.NewReader("series,ts,value\n" + `"cpu{host=""a""}",1700000000,3` + "\n"))
	if err != nil {
		t.Fatal(err)
	}
	got = collect(t, r)
	if len(got) != 1 || !labels.Equal(got[0].Labels, labels.FromStrings("__name__", "cpu", "host", "a")) {
		t.Fatalf("series column: %v", got)
	}
	if _, err := CSV(strings.NewReader("a,b\n1,2\n")); err == nil {
		t.Error("header without timestamp and value accepted")
	}
}

// TestImportThroughDB imports parsed OpenMetrics into a real DB.
func TestImportThroughDB(t *testing.T) {
	db, err := tsdb.Open(t.TempDir(), tsdb.Options{Sync: tsdb.SyncNone, Now: func() time.Time { return time.Unix(1700000100, 0) }}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var b strings.Builder
	for i := 0; i < 1000; i++ {
		fmt.Fprintf(&b, "m{k=\"v\"} %d %d\n", i, 1700000000-100*int64(1000-i))
	}
	b.WriteString("# EOF\n")
	st, err := db.Import(context.Background(), OpenMetrics([]byte(b.String())), tsdb.ImportOptions{})
	if err != nil || st.Stored != 1000 {
		t.Fatalf("import: %+v, %v", st, err)
	}
	last, err := db.LastValues(labels.MustNewMatcher(labels.MatchEqual, "k", "v"))
	if err != nil || len(last) != 1 || last[0].V != 999 || last[0].T != 1699999900000 {
		t.Fatalf("LastValues = %v, %v", last, err)
	}
}

func FuzzOpenMetrics(f *testing.F) {
	f.Add([]byte("# TYPE a counter\na_total 1 1\n# EOF\n"))
	f.Add([]byte("a{b=\"c\"} 1.5 100.5\n# EOF\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		r := OpenMetrics(data)
		for n := 0; r.Next() && n < 10000; n++ {
			if r.At().Labels.IsEmpty() {
				t.Fatal("sample without labels")
			}
		}
	})
}

func FuzzCSV(f *testing.F) {
	f.Add("timestamp,value,__name__,a\n1,2,m,x\n")
	f.Add("series,ts,value\n\"m{a=\"\"b\"\"}\",2023-01-01T00:00:00Z,1\n")
	f.Fuzz(func(t *testing.T, in string) {
		r, err := CSV(strings.NewReader(in))
		if err != nil {
			return
		}
		for n := 0; r.Next() && n < 10000; n++ {
			if r.At().Labels.Get(metricName) == "" {
				t.Fatal("sample without a metric name")
			}
		}
	})
}
