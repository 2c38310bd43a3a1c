// Package wardproc starts and stops the `ward serve` process that a load program
// (bench/soak, bench/wsload) measures: on free loopback ports, with its own data
// directory, stopped by its own PID and no other.
package wardproc

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"syscall"
	"time"
)

// readyTimeout bounds the wait for /-/ready at start and for the exit after SIGTERM.
const readyTimeout = 60 * time.Second

// Daemon is a `ward serve` started by Start.
type Daemon struct {
	Cmd    *exec.Cmd
	HTTP   string // host:port of the HTTP API
	Statsd string // host:port of the statsd listeners (UDP and TCP)
	done   chan error
}

// FreePort finds a loopback port free for both TCP and UDP, since statsd listens on both.
func FreePort() (int, error) {
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
	return 0, errors.New("no port free for TCP and UDP on loopback")
}

// Start runs bin serve with data as its data directory, HTTP and statsd on free
// loopback ports, no memcache listener and the given flush interval, writes its output
// to out, and waits until /-/ready answers 200.
func Start(bin, data string, flush time.Duration, out io.Writer) (*Daemon, error) {
	hp, err := FreePort()
	if err != nil {
		return nil, err
	}
	sp, err := FreePort()
	if err != nil {
		return nil, err
	}
	d := &Daemon{HTTP: fmt.Sprintf("127.0.0.1:%d", hp), Statsd: fmt.Sprintf("127.0.0.1:%d", sp), done: make(chan error, 1)}
	d.Cmd = exec.Command(bin, "serve", "--data", data, "--http", d.HTTP, "--statsd", d.Statsd,
		"--memcache", "", "--flush-interval", flush.String(), "--log-level", "warn")
	d.Cmd.Stdout, d.Cmd.Stderr = out, out
	if err := d.Cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	go func() { d.done <- d.Cmd.Wait() }()
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(readyTimeout)
	for {
		if resp, err := client.Get("http://" + d.HTTP + "/-/ready"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
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
			_ = d.Stop()
			return nil, fmt.Errorf("%s not ready within %v", bin, readyTimeout)
		}
	}
}

// PID is the process ID of the daemon.
func (d *Daemon) PID() int { return d.Cmd.Process.Pid }

// Stop sends SIGTERM to the daemon's PID and waits for it to exit (bounded), then kills
// that PID. It reports a non-zero exit: SIGTERM must flush and exit 0. Calling it again
// returns the same outcome.
func (d *Daemon) Stop() error {
	if err := d.Cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("SIGTERM to ward (pid %d): %w", d.PID(), err)
	}
	select {
	case err := <-d.done:
		d.done <- err
		if err != nil {
			return fmt.Errorf("ward (pid %d) after SIGTERM: %w", d.PID(), err)
		}
		return nil
	case <-time.After(readyTimeout):
		_ = d.Cmd.Process.Kill()
		return fmt.Errorf("ward (pid %d) did not exit within %v of SIGTERM; killed", d.PID(), readyTimeout)
	}
}
