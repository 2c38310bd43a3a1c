package rules

import (
	"strings"
	"testing"
	"time"
)

func TestParseWardExtensions(t *testing.T) {
	f, errs := Parse("r.yml", []byte(`
groups:
  - name: business
    interval: 30s
    query_offset: 1m
    limit: 10
    labels:
      team: shop
    rules:
      - alert: OrdersWoW
        expr: sum(rate(orders_total[10m])) / sum(rate(orders_total[10m] offset 1w))
        for: 10m
        keep_firing_for: 5m
        warn: "< 0.9"
        crit: "<= 0.75"
        clear: ">= 0.95"
        active: Mon-Fri 09:00-21:00 America/Los_Angeles
        no_data: Unknown
        flap_detection: true
        flap_start: 30
        flap_stop: 10
        annotations:
          summary: "orders at {{ $value | humanizePercentage }} of last week"
      - record: job:orders:rate10m
        expr: sum by (job) (rate(orders_total[10m]))
`))
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	g := f.Groups[0]
	if g.Name != "business" || g.Interval != 30*time.Second || g.QueryOffset != time.Minute || g.Limit != 10 || g.Labels["team"] != "shop" {
		t.Errorf("group = %+v", g)
	}
	r := g.Rules[0]
	if r.Warn.String() != "< 0.9" || r.Crit.String() != "<= 0.75" || r.Clear.String() != ">= 0.95" {
		t.Errorf("thresholds %v %v %v", r.Warn, r.Crit, r.Clear)
	}
	if r.For != 10*time.Minute || r.KeepFiringFor != 5*time.Minute || r.NoData != NoDataUnknown {
		t.Errorf("for %v keep %v no_data %v", r.For, r.KeepFiringFor, r.NoData)
	}
	if len(r.Active) != 1 || r.Active[0].String() != "Mon-Fri 09:00-21:00 America/Los_Angeles" {
		t.Errorf("active = %v", r.Active)
	}
	if !r.FlapDetection || r.FlapStart != 30 || r.FlapStop != 10 {
		t.Errorf("flap %v %v %v", r.FlapDetection, r.FlapStart, r.FlapStop)
	}
	if r.dataExpr != r.Expr || r.Line != 10 {
		t.Errorf("dataExpr %q line %d", r.dataExpr, r.Line)
	}
	if rec := g.Rules[1]; rec.Record != "job:orders:rate10m" || rec.Name() != rec.Record {
		t.Errorf("recording rule = %+v", rec)
	}
	if f.NumRules() != 2 {
		t.Errorf("NumRules = %d", f.NumRules())
	}
}

func TestParseErrorsHavePositions(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     []string
	}{
		{"yaml syntax", "groups:\n  - name: a\n    rules: [\n", []string{"f.yml:3: yaml: line 3:"}},
		{"not a mapping", "- a\n", []string{"f.yml:1:1: want a mapping"}},
		{"unknown top-level", "groupz: []\n", []string{`f.yml:1:1: unknown field "groupz"`}},
		{"empty group name", "groups:\n  - name: \"\"\n    rules: []\n", []string{"f.yml:2:11: group name must not be empty"}},
		{"duplicate group", "groups:\n  - name: a\n  - name: a\n", []string{`f.yml:3:5: group name "a" is repeated`}},
		{"bad interval", "groups:\n  - name: a\n    interval: fast\n", []string{`f.yml:3:15: group "a": interval: not a valid duration string: "fast"`}},
		{"bad expr", "groups:\n  - name: a\n    rules:\n      - alert: X\n        expr: rate(x[5m]\n", []string{`f.yml:5:15: group "a", rule "X": could not parse expression`}},
		{"both alert and record", "groups:\n  - name: a\n    rules:\n      - alert: X\n        record: y\n        expr: x\n", []string{`only one of 'record' and 'alert' must be set`}},
		{"neither alert nor record", "groups:\n  - name: a\n    rules:\n      - expr: x\n", []string{`f.yml:4:9: group "a": one of 'record' or 'alert' must be set`}},
		{"bad template", "groups:\n  - name: a\n    rules:\n      - alert: X\n        expr: x\n        annotations:\n          s: \"{{ $value \"\n", []string{`f.yml:4:9: group "a", rule "X": annotation "s"`}},
		{"unknown rule field", "groups:\n  - name: a\n    rules:\n      - alert: X\n        expr: x\n        sevrity: high\n", []string{`f.yml:6:9: group "a", rule "X": unknown field "sevrity"`}},
		{"repeated field", "groups:\n  - name: a\n    rules:\n      - alert: X\n        expr: x\n        expr: y\n", []string{`f.yml:6:9: group "a", rule "X": field "expr" set twice`}},
		{"bad threshold", "groups:\n  - name: a\n    rules:\n      - alert: X\n        expr: x\n        crit: \"< lots\"\n", []string{`f.yml:6:15: group "a", rule "X": crit: threshold "< lots"`}},
		{"unquoted >", "groups:\n  - name: a\n    rules:\n      - alert: X\n        expr: x\n        crit: > 5\n", []string{"f.yml:6: yaml: line 6:"}},
		{"folded threshold", "groups:\n  - name: a\n    rules:\n      - alert: X\n        expr: x\n        crit: >\n          5\n", []string{`f.yml:6:15: group "a", rule "X": crit: threshold "5\n"`, "quote it"}},
		{"clear alone", "groups:\n  - name: a\n    rules:\n      - alert: X\n        expr: x\n        clear: \"< 1\"\n", []string{`f.yml:6:16: group "a", rule "X": clear: needs warn or crit`}},
		{"severity with thresholds", "groups:\n  - name: a\n    rules:\n      - alert: X\n        expr: x\n        crit: \"< 1\"\n        labels:\n          severity: page\n", []string{`f.yml:4:9: group "a", rule "X": labels.severity`}},
		{"bad window", "groups:\n  - name: a\n    rules:\n      - alert: X\n        expr: x\n        active: Mon-Fri 09:00-25:00\n", []string{`f.yml:6:17: group "a", rule "X": active: active window "Mon-Fri 09:00-25:00"`}},
		{"bad zone", "groups:\n  - name: a\n    rules:\n      - alert: X\n        expr: x\n        active: [\"Mon 09:00-10:00 Mars/Olympus\"]\n", []string{`time zone "Mars/Olympus"`}},
		{"bad no_data", "groups:\n  - name: a\n    rules:\n      - alert: X\n        expr: x > 1\n        no_data: maybe\n", []string{`f.yml:6:18: group "a", rule "X": no_data: "maybe"`}},
		{"no_data without comparison", "groups:\n  - name: a\n    rules:\n      - alert: X\n        expr: absent(x)\n        no_data: critical\n", []string{`f.yml:6:18: group "a", rule "X": no_data: a rule without warn/crit needs`}},
		{"extension on recording rule", "groups:\n  - name: a\n    rules:\n      - record: y\n        expr: x\n        crit: \"< 1\"\n", []string{`f.yml:6:15: group "a", rule "y": crit: only alerting rules`}},
		{"flap thresholds", "groups:\n  - name: a\n    rules:\n      - alert: X\n        expr: x > 1\n        flap_detection: true\n        flap_start: 5\n        flap_stop: 10\n", []string{`f.yml:4:9: group "a", rule "X": flap_stop 10 must be below flap_start 5`}},
		{"flap without detection", "groups:\n  - name: a\n    rules:\n      - alert: X\n        expr: x > 1\n        flap_start: 30\n", []string{`f.yml:6:21: group "a", rule "X": flap_start: needs flap_detection: true`}},
		{"two documents", "groups: []\n---\ngroups: []\n", []string{"more than one YAML document"}},
		{"bad label name", "groups:\n  - name: a\n    rules:\n      - alert: X\n        expr: x\n        labels:\n          __name__: y\n", []string{`f.yml:4:9: group "a", rule "X": invalid label name: __name__`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, errs := Parse("f.yml", []byte(tc.in))
			if len(errs) == 0 {
				t.Fatalf("no error; want %q", tc.want)
			}
			var all []string
			for _, e := range errs {
				all = append(all, e.Error())
			}
			got := strings.Join(all, "\n")
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Errorf("errors:\n%s\nwant one containing %q", got, w)
				}
			}
		})
	}
}

func TestParseEmptyAndPlainPrometheusFiles(t *testing.T) {
	for _, in := range []string{"", "---\n", "groups:\n", "# only a comment\n"} {
		f, errs := Parse("e.yml", []byte(in))
		if len(errs) > 0 || len(f.Groups) != 0 {
			t.Errorf("Parse(%q) = %+v, %v; want no groups, no errors", in, f, errs)
		}
	}
	// Prometheus' own documentation example.
	f, errs := Parse("p.yml", []byte(`
groups:
- name: example
  labels:
    team: myteam
  rules:
  - alert: HighRequestLatency
    expr: job:request_latency_seconds:mean5m{job="myjob"} > 0.5
    for: 10m
    keep_firing_for: 5m
    labels:
      severity: page
    annotations:
      summary: High request latency
  - record: code:prometheus_http_requests_total:sum
    expr: sum by (code) (prometheus_http_requests_total)
`))
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	if r := f.Groups[0].Rules[0]; r.HasThresholds() || r.NoData != NoDataOK || len(r.Active) != 0 || r.FlapDetection {
		t.Errorf("plain Prometheus rule picked up extensions: %+v", r)
	}
}

func TestDataExpr(t *testing.T) {
	p := (&fileParser{}).promqlParser()
	for in, want := range map[string]string{
		"rate(x[5m]) < 10":               "rate(x[5m])",
		"(sum(y) > 3)":                   "sum(y)",
		"10 > avg(z)":                    "avg(z)",
		"x < bool 3":                     "",
		"absent(x)":                      "",
		`up{job="a"} == 0`:               `up{job="a"}`,
		"a / b < 0.9 and on() vector(1)": "",
	} {
		got, ok := dataExpr(p, in)
		if got != want || ok != (want != "") {
			t.Errorf("dataExpr(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
}

func TestWorkedExampleParses(t *testing.T) {
	if errs := CheckFiles("testdata/business.yml"); len(errs) > 0 {
		t.Fatal(errs)
	}
	if errs := CheckFiles("testdata/missing.yml"); len(errs) != 1 || !strings.HasPrefix(errs[0].Error(), "testdata/missing.yml: ") {
		t.Errorf("CheckFiles(missing) = %v; want one error naming the file", errs)
	}
}
