package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// loadResult is what bench/udpload prints with -json.
type loadResult struct {
	SentLines   int64   `json:"sent_lines"`
	SentPackets int64   `json:"sent_packets"`
	Errors      int64   `json:"errors"`
	Seconds     float64 `json:"seconds"`
	LinesPerSec float64 `json:"lines_per_sec"`
}

// buildBench builds the command in ./bench/<name> into the work
// directory's bin and returns its path.
func buildBench(ctx context.Context, o *options, name string) (string, error) {
	bin := filepath.Join(o.work, "bin", name)
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./bench/"+name)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("build bench/%s: %w", name, err)
	}
	return bin, nil
}

func sinkBin(o *options) string { return filepath.Join(o.work, "bin", "udpsink") }

// installSink builds bench/udpsink, the bare receiver.
func installSink(ctx context.Context, o *options) error {
	_, err := buildBench(ctx, o, "udpsink")
	return err
}

// runLoad sends rate lines per second for d to addr in datagrams of lines
// lines, over o.names names.
func (r *runner) runLoad(ctx context.Context, addr string, rate float64, d time.Duration, lines int) (loadResult, error) {
	ctx, cancel := context.WithTimeout(ctx, d+30*time.Second)
	defer cancel()
	args := []string{"-json", "-addr", addr, "-rate", strconv.FormatFloat(rate, 'f', 0, 64),
		"-duration", d.String(), "-lines", strconv.Itoa(lines), "-names", strconv.Itoa(r.o.names),
		"-senders", strconv.Itoa(r.o.senders)}
	if r.o.gso {
		args = append(args, "-gso") // implies -pad: names load.0000 to load.9999
	}
	cmd := exec.CommandContext(ctx, r.udpload, args...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return loadResult{}, fmt.Errorf("udpload %s: %w: %s", strings.Join(args, " "), err, stderr.String())
	}
	var res loadResult
	if err := json.Unmarshal(out, &res); err != nil {
		return loadResult{}, fmt.Errorf("udpload output %q: %w", out, err)
	}
	return res, nil
}

// settle waits until the server's counter stops moving (the same value
// over stableReads reads 100 ms apart, at most settleTimeout) and returns
// it, so that a step starts without the previous step's backlog.
func settle(ctx context.Context, t *target) (int64, error) {
	const stableReads = 4
	const settleTimeout = 20 * time.Second
	deadline := time.Now().Add(settleTimeout)
	last, same := int64(-1), 0
	for {
		if t.proc.exited() {
			return 0, fmt.Errorf("%s exited: %v", t.name, t.proc.err)
		}
		v, err := t.count(ctx)
		if err != nil {
			return 0, fmt.Errorf("read %s's accepted lines: %w", t.name, err)
		}
		if v == last {
			same++
		} else {
			last, same = v, 1
		}
		if same >= stableReads || time.Now().After(deadline) {
			return v, nil
		}
		if err := sleep(ctx, 100*time.Millisecond); err != nil {
			return 0, err
		}
	}
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}

// measure runs one load step against t and reads the server's accepted
// lines before, at the grace time after the load ended, and once settled,
// with the server's CPU time over the load.
func (r *runner) measure(ctx context.Context, t *target, lines int, rate float64, d time.Duration) (step, error) {
	c0, err := settle(ctx, t)
	if err != nil {
		return step{}, err
	}
	cpu0 := procCPU(t.proc.cmd.Process.Pid)
	res, err := r.runLoad(ctx, t.udpAddr, rate, d, lines)
	if err != nil {
		return step{}, err
	}
	cpu1 := procCPU(t.proc.cmd.Process.Pid)
	if err := sleep(ctx, r.o.grace); err != nil {
		return step{}, err
	}
	c1, err := t.count(ctx)
	if err != nil {
		return step{}, fmt.Errorf("read %s's accepted lines: %w", t.name, err)
	}
	c2, err := settle(ctx, t)
	if err != nil {
		return step{}, err
	}
	s := step{Offered: rate, Sent: res.SentLines, Seconds: res.Seconds, Accepted: c1 - c0, Drained: c2 - c0,
		ServerCPU: (cpu1 - cpu0).Seconds()}
	verdict := "pass"
	if !s.pass(r.o.maxLoss) {
		verdict = "FAIL"
	} else if s.genLimited() {
		verdict = "pass (generator short of the offered rate)"
	}
	logf("%-15s %2d/pkt offered %9.0f sent %9.0f/s accepted %9.0f/s loss %.3f%% (dropped %.3f%%) server %.2f cores: %s",
		t.name, lines, rate, s.sentRate(), s.acceptedRate(), 100*s.loss(), 100*s.drainedLoss(), s.cores(), verdict)
	return s, nil
}

// procCPU is the user plus system CPU time of a process so far, from
// /proc (zero where there is none).
func procCPU(pid int) time.Duration {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	// Fields after the parenthesised command name; utime and stime are
	// the 14th and 15th fields of the whole line.
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	const ticksPerSecond = 100 // USER_HZ on Linux
	return time.Duration(ut+st) * time.Second / ticksPerSecond
}
