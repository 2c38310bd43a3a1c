package main

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// daemon is the `ward serve` this program started, and only that one.
type daemon struct {
	cmd    *exec.Cmd
	http   string
	statsd string
	done   chan error
}

// freePort finds a port free for both TCP and UDP on loopback.
func freePort() (int, error) {
	for i := 0; i < 50; i++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, fmt.Errorf("listen on loopback: %w", err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		u, err := net.ListenPacket("udp", fmt.Sprintf("127.0.0.1:%d", port))
		l.Close()
		if err == nil {
			u.Close()
			return port, nil
		}
	}
	return 0, errors.New("no free port on loopback")
}

// startDaemon starts bin with a data directory in dir and waits until it is ready.
func startDaemon(bin, dir string) (*daemon, error) {
	hp, err := freePort()
	if err != nil {
		return nil, err
	}
	sp, err := freePort()
	if err != nil {
		return nil, err
	}
	d := &daemon{http: fmt.Sprintf("127.0.0.1:%d", hp), statsd: fmt.Sprintf("127.0.0.1:%d", sp), done: make(chan error, 1)}
	d.cmd = exec.Command(bin, "serve", "--data", dir, "--http", d.http, "--statsd", d.statsd,
		"--memcache", "", "--flush-interval", "1s", "--log-level", "warn")
	d.cmd.Stdout, d.cmd.Stderr = os.Stderr, os.Stderr
	if err := d.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	go func() { d.done <- d.cmd.Wait() }()
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(60 * time.Second)
	for {
		if resp, err := client.Get("http://" + d.http + "/-/ready"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return d, nil
			}
		}
		select {
		case err := <-d.done:
			d.done <- err
			return nil, fmt.Errorf("%s exited at start: %v", bin, err)
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			d.stop()
			return nil, fmt.Errorf("%s not ready within 60s", bin)
		}
	}
}

// stop sends SIGTERM to ward's PID and waits (bounded), then kills that PID.
func (d *daemon) stop() error {
	if err := d.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("SIGTERM to ward (pid %d): %w", d.cmd.Process.Pid, err)
	}
	select {
	case err := <-d.done:
		d.done <- err
		if err != nil {
			return fmt.Errorf("ward (pid %d) after SIGTERM: %w", d.cmd.Process.Pid, err)
		}
		return nil
	case <-time.After(60 * time.Second):
		_ = d.cmd.Process.Kill()
		return fmt.Errorf("ward (pid %d) did not exit within 60s of SIGTERM; killed", d.cmd.Process.Pid)
	}
}

// clockTicks is USER_HZ, the unit of utime and stime in /proc/<pid>/stat: 100 on every
// Linux architecture Go supports (sysconf(_SC_CLK_TCK) would need cgo).
const clockTicks = 100

// procCPU reads the CPU time (user + system) pid has used so far.
func procCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, fmt.Errorf("read cpu time of pid %d: %w", pid, err)
	}
	ticks, err := parseStatCPU(string(b))
	if err != nil {
		return 0, fmt.Errorf("/proc/%d/stat: %w", pid, err)
	}
	return time.Duration(ticks) * time.Second / clockTicks, nil
}

// parseStatCPU returns utime+stime, in clock ticks, from the content of a
// /proc/<pid>/stat file. The command name (field 2) is in parentheses and may hold
// spaces and parentheses itself, so fields are counted after its last ')'.
func parseStatCPU(stat string) (uint64, error) {
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, fmt.Errorf("no command name in %.80q", stat)
	}
	// After ")": field 3 (state) onwards; utime and stime are fields 14 and 15.
	f := strings.Fields(stat[i+1:])
	if len(f) < 13 {
		return 0, fmt.Errorf("%d fields after the command name, want at least 13", len(f))
	}
	u, err := strconv.ParseUint(f[11], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("utime %q: %w", f[11], err)
	}
	s, err := strconv.ParseUint(f[12], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("stime %q: %w", f[12], err)
	}
	return u + s, nil
}
