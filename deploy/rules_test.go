package deploy

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestParseSpecDefaultsAndErrors(t *testing.T) {
	s := mustSpec(t, testSpec)
	if s.Interval != time.Minute || s.Step != 10*time.Second || s.Confidence != 0.95 || s.PassScore != 95 || s.MarginalScore != 75 {
		t.Fatalf("settings %+v", s)
	}
	if len(s.Metrics) != 3 {
		t.Fatalf("%d metrics, want 3", len(s.Metrics))
	}
	errs, lat, rev := s.Metrics[0], s.Metrics[1], s.Metrics[2]
	if errs.Kind != KindCount || errs.Compare != CanaryVsBaseline || errs.Normalize != PerRequest || !errs.Critical || errs.Group != "errors" || errs.Weight != 1 {
		t.Errorf("errors %+v", errs)
	}
	if lat.Step != 10*time.Second || lat.MinData != 10 || lat.Group != "system" {
		t.Errorf("latency %+v", lat)
	}
	if rev.Step != time.Minute || rev.Compare != BeforeAfter || rev.Bad != BadDown || rev.Weight != 2 {
		t.Errorf("revenue %+v", rev)
	}
	if s, err := ParseSpec("x", []byte("groups: []\n")); s != nil || err != nil {
		t.Errorf("no guard section: %v, %v; want nil, nil", s, err)
	}
	for _, bad := range []struct{ y, want string }{
		{"guard:\n  metrics:\n    - expr: up\n", "name is empty"},
		{"guard:\n  metrics:\n    - name: a\n      expr: 'sum('\n", "expr"},
		{"guard:\n  metrics:\n    - name: a\n      expr: up\n    - name: a\n      expr: up\n", "used twice"},
		{"guard:\n  metrics:\n    - name: a\n      expr: up\n      kind: histogram\n", "kind"},
		{"guard:\n  metrics:\n    - name: a\n      expr: up\n      compare: yesterday\n", "compare"},
		{"guard:\n  metrics:\n    - name: a\n      expr: up\n      normalize: request\n", "exposure"},
		{"guard:\n  metrics:\n    - name: a\n      expr: up\n      bad: sideways\n", "bad"},
		{"guard:\n  confidence: 2\n", "confidence"},
		{"guard:\n  colour: red\n", "colour"},
	} {
		_, err := ParseSpec("x", []byte(bad.y))
		if err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("ParseSpec(%q) = %v, want an error about %s", bad.y, err, bad.want)
		}
	}
}

func TestLoadSpecMergesFiles(t *testing.T) {
	dir := t.TempDir()
	a, b, c := filepath.Join(dir, "a.yml"), filepath.Join(dir, "b.yml"), filepath.Join(dir, "c.yml")
	os.WriteFile(a, []byte("groups: []\n"), 0o644)
	os.WriteFile(b, []byte("guard:\n  interval: 5s\n  metrics:\n    - name: x\n      expr: up{$selector}\n"), 0o644)
	os.WriteFile(c, []byte("guard:\n  metrics:\n    - name: y\n      expr: up{$selector}\n"), 0o644)
	s, err := LoadSpec(a, b, c)
	if err != nil {
		t.Fatal(err)
	}
	if s.Interval != 5*time.Second || len(s.Metrics) != 2 {
		t.Fatalf("merged %+v", s)
	}
	os.WriteFile(c, []byte("guard:\n  metrics:\n    - name: x\n      expr: up\n"), 0o644)
	if _, err := LoadSpec(b, c); err == nil {
		t.Fatal("LoadSpec accepted the same metric name in two files")
	}
}

func TestExpand(t *testing.T) {
	got := expand(`sum(increase(e{$selector}[$window])) / $step`, `host="a"`, 90*time.Second, time.Minute)
	if want := `sum(increase(e{host="a"}[1m30s])) / 1m`; got != want {
		t.Fatalf("expand = %s, want %s", got, want)
	}
}

func TestNumJSON(t *testing.T) {
	in := []Num{1.5, Num(math.NaN()), Num(math.Inf(1)), Num(math.Inf(-1))}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != `[1.5,null,"+Inf","-Inf"]` {
		t.Fatalf("marshal = %s", b)
	}
	var out []Num
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	if out[0] != 1.5 || !math.IsNaN(float64(out[1])) || !math.IsInf(float64(out[2]), 1) || !math.IsInf(float64(out[3]), -1) {
		t.Fatalf("round trip = %v", out)
	}
}

func FuzzParseSpec(f *testing.F) {
	f.Add([]byte(testSpec))
	f.Add([]byte("guard:\n  metrics:\n    - name: a\n      expr: up\n"))
	f.Add([]byte("guard: null\n"))
	f.Add([]byte("guard: [1, 2]\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := ParseSpec("fuzz", b)
		if err != nil || s == nil {
			return
		}
		// A spec that parses must validate again and have its defaults in place.
		if err := s.validate(); err != nil {
			t.Fatalf("parsed spec fails validation: %v", err)
		}
		if s.Interval <= 0 || s.Step <= 0 {
			t.Fatalf("defaults missing: %+v", s)
		}
		for _, m := range s.Metrics {
			if m.Weight < 0 || m.Step <= 0 {
				t.Fatalf("metric defaults missing: %+v", m)
			}
		}
	})
}
