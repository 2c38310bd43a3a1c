package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
)

// microFigure is the sub-benchmark of BenchmarkParseAggregate whose
// one-core rate is reported: counters over the UDP benchmark's 10,000
// names.
const microFigure = "counter/names=10000"

// microResult is the median of one sub-benchmark's runs.
type microResult struct {
	Name        string  // sub-benchmark, e.g. counter/names=10000
	LinesPerS   float64 // lines per second of wall time
	LinesPerCPU float64 // lines per second of the thread's CPU time (0 when not reported)
	AllocsOp    float64
}

// runMicro runs BenchmarkParseAggregate count times and returns the median
// of each sub-benchmark.
func runMicro(ctx context.Context, benchtime string, count int) ([]microResult, string, error) {
	args := []string{"test", "-run", "^$", "-bench", "BenchmarkParseAggregate", "-benchmem",
		"-benchtime", benchtime, "-count", strconv.Itoa(count), "./ingest/statsd/"}
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	command := "go " + strings.Join(args, " ")
	if err != nil {
		return nil, command, fmt.Errorf("%s: %w\n%s", command, err, out)
	}
	return parseMicro(out), command, nil
}

// parseMicro reads `go test -bench` output lines of BenchmarkParseAggregate
// and returns the median per sub-benchmark, in first-seen order.
func parseMicro(out []byte) []microResult {
	type runs struct{ wall, cpu, allocs []float64 }
	var order []string
	by := map[string]*runs{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 3 || !strings.HasPrefix(f[0], "BenchmarkParseAggregate/") {
			continue
		}
		name := strings.TrimPrefix(f[0], "BenchmarkParseAggregate/")
		if i := strings.LastIndexByte(name, '-'); i > 0 { // the GOMAXPROCS suffix
			if _, err := strconv.Atoi(name[i+1:]); err == nil {
				name = name[:i]
			}
		}
		r := by[name]
		if r == nil {
			r = &runs{}
			by[name] = r
			order = append(order, name)
		}
		for i := 2; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				continue
			}
			switch f[i+1] {
			case "lines/s":
				r.wall = append(r.wall, v)
			case "lines/cpu-s":
				r.cpu = append(r.cpu, v)
			case "allocs/op":
				r.allocs = append(r.allocs, v)
			}
		}
	}
	res := make([]microResult, 0, len(order))
	for _, n := range order {
		r := by[n]
		res = append(res, microResult{Name: n, LinesPerS: median(r.wall), LinesPerCPU: median(r.cpu), AllocsOp: median(r.allocs)})
	}
	return res
}

// oneCore is the figure reported for a sub-benchmark: lines per second of
// CPU time when measured (a busy machine does not lower it), else of wall
// time.
func (m microResult) oneCore() float64 {
	if m.LinesPerCPU > 0 {
		return m.LinesPerCPU
	}
	return m.LinesPerS
}

// median of xs, 0 when empty.
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
