package main

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"time"
)

// sectionHeading heads this benchmark's section of bench/RESULTS.md; the
// section runs to the next "## " heading.
const sectionHeading = "## Statsd ingest (statsd)"

// microTarget is the one-core parse-and-aggregate target.
const microTarget = 20e6

// serverRun is what happened to one server.
type serverRun struct {
	name      string
	reference bool // the bare receiver: not an anchor
	version   string
	err       error           // install, start or measurement failure
	outcomes  map[int]outcome // by lines per packet
}

// report is a whole run's results.
type report struct {
	started, ended     time.Time
	loadStart, loadEnd string
	machine            string
	command            string
	method             string
	shapes             []int
	servers            []serverRun
	micro              []microResult
	microCmd           string
	microErr           error
}

// value formats a server's best accepted rate for a shape, NA when it has
// none.
func (s serverRun) value(shape int) (float64, string) {
	if s.err != nil {
		return 0, "NA"
	}
	o, ok := s.outcomes[shape]
	if !ok {
		return 0, "NA"
	}
	b, ok := o.best()
	if !ok {
		return 0, "NA"
	}
	v := b.acceptedRate()
	return v, fmt.Sprintf("%.0f", v)
}

// serverErrors joins the servers' failures.
func (r *report) serverErrors() error {
	var errs []error
	for _, s := range r.servers {
		if s.err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", s.name, s.err))
		}
	}
	return errors.Join(errs...)
}

// benchLines are the `bench:` lines of the format.
func (r *report) benchLines() []string {
	var lines []string
	for _, shape := range r.shapes {
		var b strings.Builder
		fmt.Fprintf(&b, "bench: udp_lines_per_sec_%d_per_packet", shape)
		ward, anchor, bare := 0.0, 0.0, 0.0
		for _, s := range r.servers {
			v, txt := s.value(shape)
			fmt.Fprintf(&b, " %s=%s", s.name, txt)
			switch {
			case s.name == nameWard:
				ward = v
			case s.reference:
				bare = v
			default:
				anchor = max(anchor, v)
			}
		}
		if ward > 0 && anchor > 0 {
			fmt.Fprintf(&b, " ratio=%.2f", ward/anchor)
		} else {
			b.WriteString(" ratio=NA")
		}
		lines = append(lines, b.String())
		if ward > 0 && bare > 0 {
			// The other yardstick: on the way to half of what a
			// receiver that only counts lines takes on this machine.
			lines = append(lines, fmt.Sprintf("bench: udp_lines_per_sec_%d_per_packet_share_of_bare_receiver ward=%.2f target=0.50", shape, ward/bare))
		}
	}
	if m, ok := r.microFigure(); ok {
		lines = append(lines, fmt.Sprintf("bench: parse_aggregate_lines_per_sec_one_core ward=%.0f target=%.0f", m.oneCore(), microTarget))
	}
	return lines
}

func (r *report) microFigure() (microResult, bool) {
	for _, m := range r.micro {
		if m.Name == microFigure {
			return m, true
		}
	}
	return microResult{}, false
}

// section renders the RESULTS.md section.
func (r *report) section() string {
	var b strings.Builder
	w := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	w("%s\n\n```text\n%s\n```\n\n", sectionHeading, strings.Join(r.benchLines(), "\n"))
	w("- Date: %s (the run took %s). Machine: %s; load average %s at the start, %s at the end.\n",
		r.started.UTC().Format("2006-01-02 15:04 MST"), r.ended.Sub(r.started).Round(time.Second), r.machine, r.loadStart, r.loadEnd)
	var vs []string
	for _, s := range r.servers {
		vs = append(vs, s.name+" "+s.version)
	}
	w("- Versions: %s.\n", strings.Join(vs, ", "))
	w("- Reproduce: `make bench` (all sections), or this section alone after `make build`: `%s`.\n", r.command)
	w("- Method (details in bench/statsd/README.md): %s\n\n", r.method)
	w("| server | lines/packet | accepted lines/s | loss | server CPU (cores) | lowest failing offered rate | its loss (dropped) | steps |\n")
	w("|---|---|---|---|---|---|---|---|\n")
	var notes []string
	for _, s := range r.servers {
		if s.err != nil {
			notes = append(notes, fmt.Sprintf("%s: %v", s.name, s.err))
			continue
		}
		for _, shape := range r.shapes {
			o, ok := s.outcomes[shape]
			if !ok {
				continue
			}
			best, fail := "none passed", "none failed"
			loss, cores, failLoss := "", "", ""
			if st, ok := o.best(); ok {
				best = fmt.Sprintf("%.0f", st.acceptedRate())
				loss = fmt.Sprintf("%.3f%%", 100*st.loss())
				cores = fmt.Sprintf("%.2f", st.cores())
				if o.GenLimited {
					best += " (generator-limited)"
					notes = append(notes, fmt.Sprintf("%s at %d line(s) per packet took everything the load generator sent "+
						"(%.0f lines/s offered, %.0f sent): the server's own limit is higher.", s.name, shape, st.Offered, st.sentRate()))
				}
			}
			if o.FirstFail >= 0 {
				st := o.Steps[o.FirstFail]
				fail = fmt.Sprintf("%.0f", st.Offered)
				failLoss = fmt.Sprintf("%.2f%% (%.2f%%)", 100*st.loss(), 100*st.drainedLoss())
			}
			w("| %s | %d | %s | %s | %s | %s | %s | %d |\n", s.name, shape, best, loss, cores, fail, failLoss, len(o.Steps))
		}
	}
	if len(r.micro) > 0 {
		w("\nParse and aggregate on one goroutine (`%s`, medians; lines per second of the thread's CPU time):\n\n", r.microCmd)
		w("| sub-benchmark | lines/cpu-s | lines/s (wall) | allocs/op |\n|---|---|---|---|\n")
		for _, m := range r.micro {
			w("| %s | %.0f | %.0f | %.0f |\n", m.Name, m.LinesPerCPU, m.LinesPerS, m.AllocsOp)
		}
	}
	if r.microErr != nil {
		notes = append(notes, fmt.Sprintf("micro-benchmark: %v", r.microErr))
	}
	if len(notes) > 0 {
		w("\nNotes:\n\n")
		for _, n := range notes {
			w("- %s\n", n)
		}
	}
	return b.String()
}

// resultsHeader starts a RESULTS.md that does not exist yet.
const resultsHeader = "# Benchmark results\n\nEach section is written by its own benchmark; `make bench` runs them all.\n"

// replaceSection returns doc with the section headed sectionHeading
// replaced by section (which starts with that heading), or section
// appended when doc has none. Other sections are left as they are.
func replaceSection(doc, section string) string {
	if doc == "" {
		doc = resultsHeader
	}
	section = strings.TrimRight(section, "\n") + "\n"
	lines := strings.SplitAfter(doc, "\n")
	start := -1
	for i, l := range lines {
		if strings.TrimRight(l, "\r\n") == sectionHeading {
			start = i
			break
		}
	}
	if start < 0 {
		return strings.TrimRight(doc, "\n") + "\n\n" + section
	}
	end := len(lines)
	for i := start + 1; i < len(lines); i++ {
		if strings.HasPrefix(lines[i], "## ") {
			end = i
			break
		}
	}
	tail := strings.Join(lines[end:], "")
	if tail != "" {
		section += "\n"
	}
	return strings.Join(lines[:start], "") + section + tail
}

// writeSection replaces this benchmark's section of the results file.
func writeSection(path, section string) error {
	old, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		return fmt.Errorf("read %s: %w", path, err)
	}
	if err := os.WriteFile(path, []byte(replaceSection(string(old), section)), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
