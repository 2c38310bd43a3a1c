package main

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strings"
	"time"
)

type report struct {
	cfg                config
	start              time.Time
	maxRate, rate      float64
	sent               int64
	received, drops    float64 // lines Ward received; datagrams the kernel dropped
	queries            int
	queryErrors        int
	wsMessages         int64
	baselineGoroutines int
	finalGoroutines    int
	samples            []sample
	errors             []string

	// Analysis.
	rssSlopeKBPerMin  float64 // over the second half
	rssGrowthShare    float64 // the slope's projected growth over the second half, per mean RSS
	rssMeanKB         float64
	peakGoroutines    int
	latFirst, latLast float64 // median query latency of the first and last halves, ms
}

// Thresholds of the verdict: generous, since a 2-core machine shared with builds is noisy.
const (
	maxRSSGrowthShare = 0.10 // projected growth over the second half, relative to mean RSS
	maxLatencyRatio   = 3.0
	goroutineSlack    = 2
)

func (r *report) analyse() {
	half := r.samples[len(r.samples)/2:]
	var xs, ys []float64
	for _, s := range half {
		xs = append(xs, s.at.Minutes())
		ys = append(ys, float64(s.rssKB))
		r.rssMeanKB += float64(s.rssKB)
	}
	if len(half) > 0 {
		r.rssMeanKB /= float64(len(half))
	}
	r.rssSlopeKBPerMin = slope(xs, ys)
	if len(xs) > 1 && r.rssMeanKB > 0 {
		r.rssGrowthShare = r.rssSlopeKBPerMin * (xs[len(xs)-1] - xs[0]) / r.rssMeanKB
	}
	var first, last []float64
	for i, s := range r.samples {
		r.peakGoroutines = max(r.peakGoroutines, s.goroutines)
		if s.queryMs == 0 {
			continue
		}
		if i < len(r.samples)/2 {
			first = append(first, s.queryMs)
		} else {
			last = append(last, s.queryMs)
		}
	}
	r.latFirst, r.latLast = median(first), median(last)
}

// slope is the least-squares slope of ys over xs.
func slope(xs, ys []float64) float64 {
	n := float64(len(xs))
	if n < 2 {
		return 0
	}
	var sx, sy, sxx, sxy float64
	for i := range xs {
		sx += xs[i]
		sy += ys[i]
		sxx += xs[i] * xs[i]
		sxy += xs[i] * ys[i]
	}
	den := n*sxx - sx*sx
	if den == 0 {
		return 0
	}
	return (n*sxy - sx*sy) / den
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	v = slices.Clone(v)
	slices.Sort(v)
	return v[len(v)/2]
}

func (r *report) rssTrend() bool { return r.rssGrowthShare > maxRSSGrowthShare }
func (r *report) latencyTrend() bool {
	return r.latFirst > 0 && r.latLast > maxLatencyRatio*r.latFirst && r.latLast-r.latFirst > 5
}
func (r *report) goroutinesBack() bool {
	return r.finalGoroutines <= r.baselineGoroutines+goroutineSlack
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func (r *report) lines() []string {
	return []string{
		fmt.Sprintf("- load: %.0f lines/s over UDP (half of the measured maximum %.0f lines/s), %d lines sent during the soak, %.0f received by Ward since start (kernel drops %.0f datagrams); %d queries (%d failed); %d websocket clients received %d messages",
			r.rate, r.maxRate, r.sent, r.received, r.drops, r.queries, r.queryErrors, r.cfg.clients, r.wsMessages),
		fmt.Sprintf("- resident memory: mean %.1f MiB over the second half, slope %+.1f KiB/min, projected growth %.1f%% over the second half (threshold %.0f%%): growth trend %s",
			r.rssMeanKB/1024, r.rssSlopeKBPerMin, 100*r.rssGrowthShare, 100*maxRSSGrowthShare, yesNo(r.rssTrend())),
		fmt.Sprintf("- goroutines: %d before the clients, peak %d with them, %d after they left: back to baseline %s",
			r.baselineGoroutines, r.peakGoroutines, r.finalGoroutines, yesNo(r.goroutinesBack())),
		fmt.Sprintf("- query latency (median of each sample period): %.1f ms in the first half, %.1f ms in the second: flat %s",
			r.latFirst, r.latLast, yesNo(!r.latencyTrend())),
	}
}

func (r *report) text() string { return strings.Join(r.lines(), "\n") + "\n" }

func (r *report) markdown() string {
	var b strings.Builder
	b.WriteString("## Soak\n\n")
	host, _ := os.Hostname()
	fmt.Fprintf(&b, "Measured %s (%v of steady load) on %s, %d cores, %s; `%s`.\n\n",
		r.start.UTC().Format("2006-01-02 15:04 MST"), r.cfg.duration, host, runtime.NumCPU(), runtime.Version(), r.cfg.command)
	b.WriteString(strings.Join(r.lines(), "\n"))
	b.WriteString("\n\n| t (s) | VmRSS (MiB) | goroutines | query p50 (ms) |\n|---|---|---|---|\n")
	step := max(1, len(r.samples)/20)
	for i := 0; i < len(r.samples); i += step {
		s := r.samples[i]
		fmt.Fprintf(&b, "| %.0f | %.1f | %d | %.1f |\n", s.at.Seconds(), float64(s.rssKB)/1024, s.goroutines, s.queryMs)
	}
	b.WriteString("\n")
	return b.String()
}

// verdict fails the run on leaks and errors; trends fail it only with -strict, since a
// short run on a busy machine measures warm-up as much as trend.
func (r *report) verdict() error {
	var errs []error
	if len(r.samples) < 4 {
		errs = append(errs, fmt.Errorf("only %d samples (errors: %v)", len(r.samples), r.errors))
	}
	if !r.goroutinesBack() {
		errs = append(errs, fmt.Errorf("goroutines %d after the clients left, baseline %d", r.finalGoroutines, r.baselineGoroutines))
	}
	if r.queries > 0 && r.queryErrors*100 > r.queries {
		errs = append(errs, fmt.Errorf("%d of %d queries failed", r.queryErrors, r.queries))
	}
	if r.wsMessages == 0 {
		errs = append(errs, errors.New("websocket clients received nothing"))
	}
	if r.cfg.strict && r.rssTrend() {
		errs = append(errs, fmt.Errorf("resident memory grows: %+.1f KiB/min", r.rssSlopeKBPerMin))
	}
	if r.cfg.strict && r.latencyTrend() {
		errs = append(errs, fmt.Errorf("query latency rose from %.1f to %.1f ms", r.latFirst, r.latLast))
	}
	return errors.Join(errs...)
}

// writeSection replaces the "## Soak" section of path (up to the next "## " heading), or
// appends it.
func writeSection(path, section string) error {
	b, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		return err
	}
	s := string(b)
	if i := strings.Index(s, "\n## Soak\n"); i >= 0 {
		rest := s[i+1+len("## Soak\n"):]
		tail := ""
		if j := strings.Index(rest, "\n## "); j >= 0 {
			tail = rest[j+1:]
		}
		s = s[:i+1] + section + tail
	} else {
		if s != "" && !strings.HasSuffix(s, "\n\n") {
			s = strings.TrimRight(s, "\n") + "\n\n"
		}
		s += section
	}
	return os.WriteFile(path, []byte(s), 0o644)
}
