package rules

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// FuzzParseRuleFile checks that the rule-file parser never panics, that
// every error carries the file name and that whatever it accepts is
// internally consistent.
func FuzzParseRuleFile(f *testing.F) {
	seeds, _ := filepath.Glob(filepath.Join("testdata", "*.yml"))
	for _, s := range seeds {
		b, err := os.ReadFile(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("groups:\n  - name: a\n    rules:\n      - alert: X\n        expr: x > 1\n        warn: \"> 1\"\n"))
	f.Add([]byte("groups: [{name: a, rules: [{record: r, expr: 'sum(x)'}]}]"))
	f.Add([]byte("groups:\n- name: a\n  rules:\n  - alert: A\n    expr: a < 1\n    active: [Sat-Sun, 'Mon 21:00-09:00 UTC']\n    no_data: critical\n"))
	f.Add([]byte("{"))
	f.Fuzz(func(t *testing.T, data []byte) {
		file, errs := Parse("fuzz.yml", data)
		if len(errs) > 0 {
			if file != nil {
				t.Fatalf("errors and a file: %v", errs)
			}
			for _, err := range errs {
				e, ok := err.(*Error)
				if !ok || e.File != "fuzz.yml" {
					t.Fatalf("error without position type: %T %v", err, err)
				}
			}
			return
		}
		names := map[string]bool{}
		for _, g := range file.Groups {
			if g.Name == "" || names[g.Name] {
				t.Fatalf("accepted empty or repeated group name %q", g.Name)
			}
			names[g.Name] = true
			for _, r := range g.Rules {
				if (r.Alert == "") == (r.Record == "") || r.Expr == "" {
					t.Fatalf("accepted rule %+v", r)
				}
				if r.Record != "" && (r.HasThresholds() || len(r.Active) > 0 || r.NoData != NoDataOK) {
					t.Fatalf("recording rule with extensions %+v", r)
				}
				if r.Clear != nil && !r.HasThresholds() {
					t.Fatalf("clear without thresholds %+v", r)
				}
				if r.NoData != NoDataOK && r.dataExpr == "" {
					t.Fatalf("no_data without a data expression %+v", r)
				}
			}
		}
	})
}

// FuzzParseWindowAndThreshold checks the parsers of `active` and of
// thresholds: no panics, and what they accept round-trips as written.
func FuzzParseWindowAndThreshold(f *testing.F) {
	for _, s := range []string{"Mon-Fri 09:00-21:00 America/Los_Angeles", "Sat,Sun", "21:00-09:00 UTC", "Fri-Mon 00:00-24:00", "< 0.95", ">= 1e3", "!= 0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if w, err := ParseWindow(s); err == nil {
			if w.String() != s {
				t.Fatalf("window %q prints as %q", s, w.String())
			}
			_ = w.Contains(time.Unix(1700000000, 0))
		}
		if th, err := ParseThreshold(s); err == nil {
			back, err := ParseThreshold(th.String())
			if err != nil || back.Op != th.Op || (back.Value != th.Value && !(back.Value-th.Value < 1e-5*abs(th.Value))) {
				t.Fatalf("threshold %q -> %q -> %+v, %v", s, th.String(), back, err)
			}
		}
	})
}

func abs(v float64) float64 {
	if v < 0 {
		return -v
	}
	return v
}
