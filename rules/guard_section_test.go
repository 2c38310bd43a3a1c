package rules

import "testing"

// The deploy guard's rollback rules live in the same files under `guard:`; the rules
// parser must leave them to package deploy while still rejecting other unknown keys.
func TestParseSkipsGuardSection(t *testing.T) {
	f, errs := Parse("g.yml", []byte(`
groups:
  - name: g
    rules:
      - alert: Up
        expr: up == 0
guard:
  - metric: errors
    expr: sum(rate(errors_total{SELECTOR}[5m]))
    bad: up
`))
	if len(errs) > 0 {
		t.Fatalf("Parse with a guard section: %v", errs)
	}
	if got := f.NumRules(); got != 1 {
		t.Fatalf("NumRules = %d, want 1", got)
	}
	if _, errs := Parse("x.yml", []byte("guards: []\n")); len(errs) == 0 {
		t.Fatal("Parse accepted the unknown top-level key guards")
	}
}
