package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/prometheus/promql/parser"

	"github.com/wardmetrics/ward/ui"
)

// TestGrafanaDashboardsMirrorBuiltins keeps docs/deploy/grafana in step with the
// dashboards Ward ships: every built-in panel is in the Grafana dashboard of the same
// id, with the same expression, and every Grafana expression parses.
func TestGrafanaDashboardsMirrorBuiltins(t *testing.T) {
	for _, d := range ui.Builtin() {
		path := filepath.Join("..", "..", "docs", "deploy", "grafana", d.ID+".json")
		raw, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("built-in dashboard %q has no Grafana twin: %v", d.ID, err)
		}
		var g struct {
			UID    string `json:"uid"`
			Panels []struct {
				Title   string `json:"title"`
				Targets []struct {
					Expr string `json:"expr"`
				} `json:"targets"`
			} `json:"panels"`
		}
		if err := json.Unmarshal(raw, &g); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if g.UID != "ward-"+d.ID {
			t.Errorf("%s: uid %q, want %q", path, g.UID, "ward-"+d.ID)
		}
		exprs := map[string]string{}
		for _, p := range g.Panels {
			for _, tg := range p.Targets {
				if _, err := parser.NewParser(parser.Options{}).ParseExpr(tg.Expr); err != nil {
					t.Errorf("%s: panel %q: %v", path, p.Title, err)
				}
				exprs[p.Title] = tg.Expr
			}
		}
		for _, p := range d.Panels {
			if got, ok := exprs[p.Title]; !ok || got != p.Expr {
				t.Errorf("%s: panel %q has %q, want %q as in ui/builtin.go", path, p.Title, got, p.Expr)
			}
		}
	}
}

// TestPackagingFiles checks the promises the packaging files make: a hardened unit and
// a static, non-root image.
func TestPackagingFiles(t *testing.T) {
	read := func(name string) string {
		b, err := os.ReadFile(filepath.Join("..", "..", "docs", "deploy", name))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	unit := read("ward.service")
	for _, want := range []string{
		"DynamicUser=yes", "ProtectSystem=strict", "ReadWritePaths=/var/lib/ward", "NoNewPrivileges=yes",
		"PrivateTmp=yes", "ProtectHome=yes", "CapabilityBoundingSet=\n", "RestrictAddressFamilies=",
		"SystemCallFilter=@system-service", "MemoryDenyWriteExecute=yes", "--data /var/lib/ward",
	} {
		if !strings.Contains(unit, want) {
			t.Errorf("ward.service lacks %q", want)
		}
	}
	docker := read("Dockerfile")
	for _, want := range []string{"CGO_ENABLED=0", "distroless/static", "USER 65532", "VOLUME /data", "EXPOSE 8080"} {
		if !strings.Contains(docker, want) {
			t.Errorf("Dockerfile lacks %q", want)
		}
	}
}
