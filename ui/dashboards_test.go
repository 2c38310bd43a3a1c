package ui

import (
	"encoding/json"
	"strings"
	"testing"
)

func FuzzDecodeDashboard(f *testing.F) {
	f.Add("x", []byte(`{"title":"A","panels":[{"title":"p","expr":"up"}]}`))
	f.Add("business", []byte(`{"title":"B","panels":[]}`))
	f.Add("bad id", []byte(`{}`))
	f.Add("y", []byte(`{"title":"  ","panels":null}`))
	f.Add("z", []byte(`[1,2]`))
	f.Fuzz(func(t *testing.T, id string, b []byte) {
		d, err := decodeDashboard(id, b)
		if err != nil {
			return
		}
		if d.ID != id || d.Builtin || d.Title == "" || d.Panels == nil || len(d.Panels) > maxPanels {
			t.Fatalf("accepted %q %q as %+v", id, b, d)
		}
		for _, p := range d.Panels {
			if strings.TrimSpace(p.Expr) == "" {
				t.Fatalf("accepted an empty expression: %q", b)
			}
		}
		// What is accepted round-trips.
		out, err := json.Marshal(d)
		if err != nil {
			t.Fatal(err)
		}
		d2, err := decodeDashboard(id, out)
		if err != nil || d2.Title != d.Title || len(d2.Panels) != len(d.Panels) {
			t.Fatalf("round trip of %s: %+v %v", out, d2, err)
		}
	})
}

func TestBuiltinDashboardsValid(t *testing.T) {
	ids := map[string]bool{}
	for _, d := range Builtin() {
		b, _ := json.Marshal(d)
		if _, err := decodeDashboard(d.ID, b); err != nil {
			t.Errorf("shipped dashboard %s: %v", d.ID, err)
		}
		ids[d.ID] = true
	}
	if !ids["business"] || !ids["system"] {
		t.Fatalf("shipped dashboards %v, want business and system", ids)
	}
}
