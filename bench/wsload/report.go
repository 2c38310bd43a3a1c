package main

import (
	"fmt"
	"math"
	"os"
	"slices"
	"strings"
	"time"
)

// The names of the two figures in bench/RESULTS.md.
const (
	cpuLine     = "bench: stream_500_clients_10_subscriptions_ward_serve_cpu_percent_of_core"
	latencyLine = "bench: stream_500_clients_ward_serve_push_latency_p99_ms"
	// anchorLine is the in-process hub's latency line; ours go right after it.
	anchorLine = "bench: stream_500_clients_push_latency_p99_ms"
	// notePrefix starts the bullet with the reproducing command.
	notePrefix = "- Stream through `ward serve`:"
	// noteAnchor starts the in-process hub's bullet; ours goes after it.
	noteAnchor = "- Stream:"
)

// percentile is the nearest-rank p-th percentile (0 < p <= 100) of xs, which it sorts;
// NaN for no values.
func percentile(xs []float64, p float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	slices.Sort(xs)
	k := int(math.Ceil(p/100*float64(len(xs)))) - 1
	return xs[min(max(k, 0), len(xs)-1)]
}

// benchLines are the two `bench:` lines of a run.
func (r result) benchLines() []string {
	return []string{
		fmt.Sprintf("%s ward=%.1f", cpuLine, r.cpuPercent()),
		fmt.Sprintf("%s ward=%.0f", latencyLine, r.P99Ms),
	}
}

// reproduceNote is the RESULTS.md bullet that says how the lines were measured.
func reproduceNote(c config, r result) string {
	return fmt.Sprintf("%s `make build && go run ./bench/wsload -ward bin/ward -duration %s -results bench/RESULTS.md`\n"+
		"  (measured %s, load average %s; p50 %.1f ms, %.0f pushes/s, %d clients dropped): the real\n"+
		"  binary with `--flush-interval 1s` and %d websocket clients in the load program's process, %d\n"+
		"  subscriptions each over %d distinct expressions of %d series; CPU of the ward process from\n"+
		"  /proc/<pid>/stat; latency from the start of the hub's evaluation round after a flush (the\n"+
		"  message's `t`) to receipt.",
		notePrefix, c.duration, time.Now().UTC().Format("2006-01-02 15:04 UTC"), loadAverage(),
		r.P50Ms, float64(r.Pushes)/r.Wall.Seconds(), r.Dropped, c.clients, c.subs, c.exprs, c.hosts)
}

func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

// updateResultsFile rewrites path with updateResults.
func updateResultsFile(path string, lines []string, note string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read results: %w", err)
	}
	out, err := updateResults(string(b), lines, note)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if err := os.WriteFile(path, []byte(out), 0o644); err != nil {
		return fmt.Errorf("write results: %w", err)
	}
	return nil
}

// updateResults replaces the lines that start with the same name as one of lines (its
// text up to " ward="), or adds them after the in-process hub's latency line, and
// replaces or adds the note bullet (a line starting with notePrefix and its indented
// continuation) after the in-process stream bullet.
func updateResults(content string, lines []string, note string) (string, error) {
	doc := strings.Split(content, "\n")
	for _, l := range lines {
		name, _, ok := strings.Cut(l, " ward=")
		if !ok {
			return "", fmt.Errorf("bench line %q lacks ward=", l)
		}
		i := slices.IndexFunc(doc, func(s string) bool { return strings.HasPrefix(s, name+" ") })
		if i >= 0 {
			doc[i] = l
			continue
		}
		// After the last line already placed in the stream group, else the anchor.
		at := slices.IndexFunc(doc, func(s string) bool { return strings.HasPrefix(s, anchorLine+" ") })
		for _, prev := range lines {
			p, _, _ := strings.Cut(prev, " ward=")
			if j := slices.IndexFunc(doc, func(s string) bool { return strings.HasPrefix(s, p+" ") }); j > at {
				at = j
			}
		}
		if at < 0 {
			return "", fmt.Errorf("no line %q to put %q after", anchorLine, name)
		}
		doc = slices.Insert(doc, at+1, l)
	}
	noteLines := strings.Split(note, "\n")
	if i := slices.IndexFunc(doc, func(s string) bool { return strings.HasPrefix(s, notePrefix) }); i >= 0 {
		j := i + 1
		for j < len(doc) && strings.HasPrefix(doc[j], "  ") {
			j++
		}
		doc = slices.Replace(doc, i, j, noteLines...)
		return strings.Join(doc, "\n"), nil
	}
	i := slices.IndexFunc(doc, func(s string) bool { return strings.HasPrefix(s, noteAnchor) })
	if i < 0 {
		return "", fmt.Errorf("no bullet %q to put the command after", noteAnchor)
	}
	j := i + 1
	for j < len(doc) && strings.HasPrefix(doc[j], "  ") {
		j++
	}
	doc = slices.Insert(doc, j, noteLines...)
	return strings.Join(doc, "\n"), nil
}
