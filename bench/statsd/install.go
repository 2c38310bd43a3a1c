package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// installTimeout bounds one anchor installation (module or npm download
// and build).
const installTimeout = 10 * time.Minute

// wardInstalled checks that the ward binary exists: `make build` makes it.
func wardInstalled(_ context.Context, o *options) error {
	if _, err := os.Stat(o.ward); err != nil {
		return fmt.Errorf("ward binary %s: %w (run `make build` first)", o.ward, err)
	}
	return nil
}

// wardVersion is what `ward version` prints.
func wardVersion(ctx context.Context, o *options) string {
	out, err := exec.CommandContext(ctx, o.ward, "version").Output()
	if err != nil {
		return "unknown"
	}
	return strings.TrimPrefix(strings.TrimSpace(string(out)), "ward ")
}

func exporterBin(o *options) string { return filepath.Join(o.work, "bin", "statsd_exporter") }

// installExporter runs `go install statsd_exporter@v0.31.0` into the work
// directory's bin, unless the binary there already is that version (read
// from its build information).
func installExporter(ctx context.Context, o *options) error {
	bin := exporterBin(o)
	if out, err := exec.CommandContext(ctx, "go", "version", "-m", bin).Output(); err == nil &&
		bytes.Contains(out, []byte(exporterModule+"\t"+exporterVersion)) {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, installTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "install", exporterModule+"@"+exporterVersion)
	cmd.Dir = o.work
	cmd.Env = append(os.Environ(), "GOBIN="+filepath.Join(o.work, "bin"), "GOFLAGS=")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	logf("installing %s@%s", exporterModule, exporterVersion)
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go install %s@%s: %w", exporterModule, exporterVersion, err)
	}
	return nil
}

func etsyDir(o *options) string { return filepath.Join(o.work, "etsy") }
func etsyMain(o *options) string {
	return filepath.Join(etsyDir(o), "node_modules", "statsd", "stats.js")
}

// installEtsy runs `npm install statsd@0.9.0` in the work directory's etsy
// folder, unless that version is already there.
func installEtsy(ctx context.Context, o *options) error {
	if _, err := exec.LookPath("node"); err != nil {
		return fmt.Errorf("node is needed to run Etsy statsd: %w", err)
	}
	if etsyInstalledVersion(o) == etsyVersion {
		return nil
	}
	dir := etsyDir(o)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	// A package.json of its own keeps npm from installing into a parent
	// folder that has one.
	pj := filepath.Join(dir, "package.json")
	if _, err := os.Stat(pj); err != nil {
		if err := os.WriteFile(pj, []byte(`{"name": "ward-bench-etsy-statsd", "private": true}`+"\n"), 0o644); err != nil {
			return fmt.Errorf("write %s: %w", pj, err)
		}
	}
	ctx, cancel := context.WithTimeout(ctx, installTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "npm", "install", "--no-audit", "--no-fund", "statsd@"+etsyVersion)
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	logf("installing statsd@%s with npm", etsyVersion)
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("npm install statsd@%s in %s: %w", etsyVersion, dir, err)
	}
	if v := etsyInstalledVersion(o); v != etsyVersion {
		return fmt.Errorf("npm installed statsd %q, want %s", v, etsyVersion)
	}
	return nil
}

// etsyInstalledVersion is the version in the installed package.json.
func etsyInstalledVersion(o *options) string {
	b, err := os.ReadFile(filepath.Join(etsyDir(o), "node_modules", "statsd", "package.json"))
	if err != nil {
		return ""
	}
	var pkg struct {
		Version string `json:"version"`
	}
	if json.Unmarshal(b, &pkg) != nil {
		return ""
	}
	return pkg.Version
}

// etsyNodeVersion names the package version and the node running it.
func etsyNodeVersion(ctx context.Context, o *options) string {
	out, err := exec.CommandContext(ctx, "node", "--version").Output()
	node := "node ?"
	if err == nil {
		node = "node " + strings.TrimSpace(string(out))
	}
	return etsyInstalledVersion(o) + " on " + node
}
