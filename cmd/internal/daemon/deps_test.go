package daemon

import (
	"os/exec"
	"strings"
	"testing"
)

// TestImportPolicy is a statement of policy about which packages may depend on which
// (as the standard library's go/build/deps_test.go): data flows one way, from ingest
// into tsdb and back out through api, and the storage engine knows none of its callers.
func TestImportPolicy(t *testing.T) {
	const mod = "github.com/wardmetrics/ward/"
	out, err := exec.Command("go", "list", "-deps=false", "-f", `{{.ImportPath}}{{range .Imports}} {{.}}{{end}}`, "../../../...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	// forbidden[p] lists prefixes p must not import.
	forbidden := map[string][]string{
		"tsdb":       {"ingest", "rules", "api", "ui", "deploy", "experiment", "stats", "cmd", "bench"},
		"ingest":     {"tsdb", "rules", "api", "ui", "deploy", "experiment", "cmd", "bench"},
		"stats":      {""}, // nothing of Ward's
		"rules":      {"api", "ui", "ingest", "deploy", "experiment", "cmd", "bench"},
		"deploy":     {"api", "ui", "ingest", "experiment", "cmd", "bench"},
		"experiment": {"api", "ui", "ingest", "rules", "deploy", "cmd", "bench"},
		"api":        {"ui", "cmd", "bench"},
		"ui":         {"cmd", "bench"},
	}
	checked := 0
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || !strings.HasPrefix(f[0], mod) {
			continue
		}
		pkg := strings.TrimPrefix(f[0], mod)
		top := strings.SplitN(pkg, "/", 2)[0]
		checked++
		for _, imp := range f[1:] {
			if strings.HasPrefix(imp, "github.com/cockroachdb/pebble") && top != "tsdb" {
				t.Errorf("%s imports Pebble: only tsdb may touch the storage engine's files", pkg)
			}
			if strings.HasPrefix(imp, "github.com/valyala/fasthttp") && top != "api" && top != "ui" {
				t.Errorf("%s imports fasthttp: HTTP serving stays in api and ui", pkg)
			}
			if !strings.HasPrefix(imp, mod) {
				continue
			}
			dep := strings.TrimPrefix(imp, mod)
			if strings.HasPrefix(dep, "cmd/") && top != "cmd" {
				t.Errorf("%s imports %s: nothing imports cmd", pkg, dep)
			}
			if dep == top || strings.HasPrefix(dep, top+"/") {
				continue
			}
			for _, bad := range forbidden[top] {
				if bad == "" || dep == bad || strings.HasPrefix(dep, bad+"/") {
					t.Errorf("%s imports %s: forbidden by the layout policy", pkg, dep)
				}
			}
		}
	}
	if checked == 0 {
		t.Fatal("go list found no packages of the module")
	}
}
