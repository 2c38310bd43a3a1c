package experiment

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const exampleFile = `
experiments:
  - name: checkout-button
    description: green instead of grey
    branches:
      - {name: control, weight: 50}
      - {name: green, weight: 50}
    rollout: 10
    mode: qa
    start: 2026-03-01T00:00:00Z
    metrics:
      - {name: order}
      - {name: revenue, kind: revenue}
  - name: onboarding
    salt: onboarding-2026
    branches: [{name: old, weight: 2}, {name: new, weight: 1}]
    rollout: 100
    status: closed
    winner: new
---
name: single-doc
branches: [{name: a, weight: 1}, {name: b, weight: 1}]
rollout: 0
`

func TestParseDefinitions(t *testing.T) {
	defs, err := ParseDefinitions([]byte(exampleFile))
	if err != nil {
		t.Fatal(err)
	}
	if len(defs) != 3 {
		t.Fatalf("got %d definitions, want 3", len(defs))
	}
	cb := defs[0]
	if cb.Name != "checkout-button" || cb.Salt != "checkout-button" || cb.Rollout != 10 || cb.Mode != ModeQA ||
		cb.Status != StatusOpen || !cb.Start.Equal(time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("checkout-button parsed as %+v", cb)
	}
	if len(cb.Metrics) != 2 || cb.Metrics[0].Kind != KindConversion || cb.Metrics[1].Kind != KindRevenue {
		t.Errorf("metrics parsed as %+v, want order:conversion, revenue:revenue", cb.Metrics)
	}
	if got := cb.Bounds; len(got) != 2 || got[0] != 5000 || got[1] != 10000 {
		t.Errorf("bounds %v, want [5000 10000]", got)
	}
	ob := defs[1]
	if ob.Salt != "onboarding-2026" || ob.Status != StatusClosed || ob.Winner != "new" || ob.Control() != "old" {
		t.Errorf("onboarding parsed as %+v", ob)
	}
	if defs[2].Name != "single-doc" || defs[2].Rollout != 0 {
		t.Errorf("single-doc parsed as %+v", defs[2])
	}
}

func TestParseDefinitionsErrors(t *testing.T) {
	for _, tc := range []struct {
		name, yaml, want string
	}{
		{"missing rollout", "name: a\nbranches: [{name: c, weight: 1}, {name: t, weight: 1}]\n", "rollout is required"},
		{"unknown field", "name: a\nrolout: 5\nbranches: [{name: c, weight: 1}, {name: t, weight: 1}]\nrollout: 1\n", "rolout"},
		{"one branch", "name: a\nbranches: [{name: c, weight: 1}]\nrollout: 1\n", "need control and at least one more"},
		{"duplicate branch", "name: a\nbranches: [{name: c, weight: 1}, {name: c, weight: 1}]\nrollout: 1\n", "duplicate name"},
		{"zero weights", "name: a\nbranches: [{name: c, weight: 0}, {name: t, weight: 0}]\nrollout: 1\n", "sum to zero"},
		{"negative weight", "name: a\nbranches: [{name: c, weight: -1}, {name: t, weight: 1}]\nrollout: 1\n", "weight -1"},
		{"rollout above 100", "name: a\nbranches: [{name: c, weight: 1}, {name: t, weight: 1}]\nrollout: 101\n", "rollout 101"},
		{"closed without winner", "name: a\nbranches: [{name: c, weight: 1}, {name: t, weight: 1}]\nrollout: 1\nstatus: closed\n", "needs one of its branches"},
		{"winner while open", "name: a\nbranches: [{name: c, weight: 1}, {name: t, weight: 1}]\nrollout: 1\nwinner: t\n", "only a closed"},
		{"bad mode", "name: a\nbranches: [{name: c, weight: 1}, {name: t, weight: 1}]\nrollout: 1\nmode: beta\n", "mode"},
		{"reserved name", "name: exposures\nbranches: [{name: c, weight: 1}, {name: t, weight: 1}]\nrollout: 1\n", "reserved"},
		{"bad name", "name: a/b\nbranches: [{name: c, weight: 1}, {name: t, weight: 1}]\nrollout: 1\n", "only letters"},
		{"end before start", "name: a\nbranches: [{name: c, weight: 1}, {name: t, weight: 1}]\nrollout: 1\nstart: 2026-02-01T00:00:00Z\nend: 2026-01-01T00:00:00Z\n", "not after start"},
		{"bad kind", "name: a\nbranches: [{name: c, weight: 1}, {name: t, weight: 1}]\nrollout: 1\nmetrics: [{name: m, kind: median}]\n", "kind"},
		{"both forms", "name: a\nexperiments: [{name: b, rollout: 1, branches: [{name: c, weight: 1}, {name: t, weight: 1}]}]\nbranches: [{name: c, weight: 1}, {name: t, weight: 1}]\nrollout: 1\n", "has both"},
		{"twice", "experiments:\n- {name: a, rollout: 1, branches: [{name: c, weight: 1}, {name: t, weight: 1}]}\n- {name: a, rollout: 1, branches: [{name: c, weight: 1}, {name: t, weight: 1}]}\n", "defined twice"},
		{"not yaml", "name: [", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseDefinitions([]byte(tc.yaml))
			if err == nil {
				t.Fatal("parsed, want an error")
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("error %v does not wrap ErrInvalid", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not mention %q", err, tc.want)
			}
		})
	}
}

func TestLoadFiles(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("a.yml", exampleFile)
	defs, err := LoadFiles(filepath.Join(dir, "*.yml"))
	if err != nil || len(defs) != 3 {
		t.Fatalf("LoadFiles: %d definitions, %v; want 3", len(defs), err)
	}
	write("b.yml", "name: onboarding\nbranches: [{name: c, weight: 1}, {name: t, weight: 1}]\nrollout: 1\n")
	if _, err := LoadFiles(filepath.Join(dir, "*.yml")); err == nil || !strings.Contains(err.Error(), "a.yml and") {
		t.Errorf("an experiment in two files: %v, want an error naming both", err)
	}
}

func TestDecodeDefinitionRoundTrip(t *testing.T) {
	defs, err := ParseDefinitions([]byte(exampleFile))
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range defs {
		d.Version = 3 // output-only fields are accepted back
		b, err := json.Marshal(d)
		if err != nil {
			t.Fatal(err)
		}
		got, err := DecodeDefinition(b)
		if err != nil {
			t.Fatalf("decode %s: %v", b, err)
		}
		if got.Name != d.Name || got.Rollout != d.Rollout || got.Salt != d.Salt || !got.Start.Equal(d.Start) ||
			len(got.Branches) != len(d.Branches) || got.Status != d.Status || got.Winner != d.Winner {
			t.Errorf("round trip of %s gave %+v", b, got)
		}
	}
	if _, err := DecodeDefinition([]byte(`{"name":"a","branches":[{"name":"c","weight":1},{"name":"t","weight":1}]}`)); err == nil || !strings.Contains(err.Error(), "rollout is required") {
		t.Errorf("missing rollout: %v", err)
	}
	if _, err := DecodeDefinition([]byte(`{"name":"a","rollout":1,"branches":[{"name":"c","weight":1},{"name":"t","weight":1}]} {}`)); err == nil {
		t.Error("trailing data accepted")
	}
}

// FuzzParseDefinition checks that any input either fails with ErrInvalid or yields
// definitions that validate, assign without panicking and survive a JSON round trip.
func FuzzParseDefinition(f *testing.F) {
	f.Add([]byte(exampleFile))
	f.Add([]byte("name: a\nbranches: [{name: c, weight: 1e9}, {name: t, weight: 0}]\nrollout: 100\n"))
	f.Add([]byte("experiments: [{name: x, rollout: 0.01, branches: [{name: c, weight: .5}, {name: t, weight: .5}], end: 2030-01-01T00:00:00Z}]"))
	f.Add([]byte("name: a\nbranches: [{name: c, weight: .NaN}, {name: t, weight: 1}]\nrollout: 1\n"))
	f.Add([]byte("---\n---\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		defs, err := ParseDefinitions(data)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v does not wrap ErrInvalid", err)
			}
			return
		}
		for _, d := range defs {
			if err := d.Validate(); err != nil {
				t.Fatalf("parsed definition does not validate: %v", err)
			}
			a := NewAssigner(d)
			got := a.Assign("user-1", "qa", time.Now())
			if got.Index < 0 || got.Index >= len(d.Branches) || got.Branch != d.Branches[got.Index].Name {
				t.Fatalf("assignment %+v outside branches %v", got, d.Branches)
			}
			b, err := json.Marshal(d)
			if err != nil {
				t.Fatalf("marshal: %v", err)
			}
			back, err := DecodeDefinition(b)
			if err != nil {
				t.Fatalf("round trip of %s: %v", b, err)
			}
			if back.Name != d.Name || back.Rollout != d.Rollout || len(back.Branches) != len(d.Branches) {
				t.Fatalf("round trip changed %+v into %+v", d, back)
			}
		}
	})
}
