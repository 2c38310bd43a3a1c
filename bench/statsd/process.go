package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"time"
)

// process is a server started by the driver. Its owner stops it with stop;
// a goroutine waits for it so that an early exit is seen.
type process struct {
	name string
	cmd  *exec.Cmd
	done chan struct{}
	err  error // the exit status, once done is closed
}

// startProcess starts bin with args, output to logPath, in dir.
func startProcess(name, dir, logPath, bin string, args ...string) (*process, error) {
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, fmt.Errorf("create log %s: %w", logPath, err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = childAttr()
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("start %s (%s): %w", name, bin, err)
	}
	p := &process{name: name, cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		logf.Close()
		close(p.done)
	}()
	return p, nil
}

// exited reports whether the process ended.
func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop sends SIGTERM to the process (by its PID), waits up to grace for it
// to exit, then kills it.
func (p *process) stop(grace time.Duration) error {
	if p.exited() {
		return fmt.Errorf("%s exited early: %v", p.name, p.err)
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		return nil
	case <-time.After(grace):
	}
	_ = p.cmd.Process.Kill()
	<-p.done
	return fmt.Errorf("%s (pid %d) did not stop within %v of SIGTERM: killed", p.name, p.cmd.Process.Pid, grace)
}

// freePort returns a port free for both TCP and UDP on 127.0.0.1. Another
// process may take it before the server binds it; the server then fails to
// start and says so.
func freePort() (int, error) {
	var last error
	for range 20 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, fmt.Errorf("listen tcp 127.0.0.1:0: %w", err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		u, err := net.ListenPacket("udp", "127.0.0.1:"+strconv.Itoa(port))
		l.Close()
		if err != nil {
			last = err
			continue
		}
		u.Close()
		return port, nil
	}
	return 0, fmt.Errorf("no port free for both tcp and udp: %w", last)
}

// waitFor polls ready every 100 ms until it returns nil, the process
// exits, or timeout passes.
func waitFor(ctx context.Context, p *process, timeout time.Duration, ready func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		err := ready(ctx)
		if err == nil {
			return nil
		}
		if p.exited() {
			return fmt.Errorf("%s exited while starting: %v (see its log)", p.name, p.err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s not ready within %v: %w", p.name, timeout, errors.Join(err, ctx.Err()))
		case <-time.After(100 * time.Millisecond):
		}
	}
}
