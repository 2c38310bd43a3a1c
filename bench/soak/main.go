// Command soak runs a built `ward serve` for a bounded time under steady load and reports
// whether it is stable: resident memory without a growth trend, goroutines back to their
// baseline once websocket clients leave, query latency flat.
//
//	go run ./bench/soak -bin bin/ward -duration 30m -results bench/RESULTS.md
//
// It first measures the maximum ingest Ward takes over UDP (a few seconds flat out), then
// sends half of it, queries every second, and keeps -clients websocket clients
// subscribed, sampling VmRSS (/proc/PID/status), go_goroutines (/metrics) and query
// latency every -every. Everything runs on 127.0.0.1. It exits 1 when goroutines do not
// return to baseline, when requests fail, or (with -strict) when memory or latency trend.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

type config struct {
	bin      string
	duration time.Duration
	clients  int
	every    time.Duration
	results  string
	strict   bool
	command  string // how this run was invoked, for the report
}

func main() {
	var c config
	flag.StringVar(&c.bin, "bin", "bin/ward", "ward binary to run")
	flag.DurationVar(&c.duration, "duration", 30*time.Minute, "how long the steady load runs")
	flag.IntVar(&c.clients, "clients", 100, "websocket clients kept subscribed")
	flag.DurationVar(&c.every, "every", 5*time.Second, "sampling period")
	flag.StringVar(&c.results, "results", "", "RESULTS.md whose '## Soak' section is rewritten (empty: none)")
	flag.BoolVar(&c.strict, "strict", false, "fail on a memory or latency trend too")
	flag.StringVar(&c.command, "command", "", "command line to record in the report")
	flag.Parse()
	if c.command == "" {
		c.command = "go run ./bench/soak " + strings.Join(os.Args[1:], " ")
	}
	if err := run(c); err != nil {
		fmt.Fprintln(os.Stderr, "soak:", err)
		os.Exit(1)
	}
}

func run(c config) error {
	dir, err := os.MkdirTemp("", "ward-soak")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	d, err := startDaemon(c.bin, filepath.Join(dir, "data"))
	if err != nil {
		return err
	}
	defer d.stop()

	ctx, cancel := context.WithTimeout(context.Background(), c.duration+5*time.Minute)
	defer cancel()

	max, err := measureMax(ctx, d, 3*time.Second)
	if err != nil {
		return fmt.Errorf("measure maximum ingest: %w", err)
	}
	rate := max / 2
	fmt.Printf("soak: maximum ingest %.0f lines/s; running at %.0f lines/s for %v with %d websocket clients\n",
		max, rate, c.duration, c.clients)

	baseline, err := d.goroutines()
	if err != nil {
		return err
	}
	r := &report{cfg: c, maxRate: max, rate: rate, baselineGoroutines: baseline, start: time.Now()}

	loadCtx, stopLoad := context.WithCancel(ctx)
	loadDone := make(chan loadResult, 1)
	go func() { loadDone <- sendAt(loadCtx, d.statsd, rate) }()
	queries := newQuerier(d.http)
	qDone := make(chan struct{})
	go func() { defer close(qDone); queries.run(loadCtx) }()
	clients, err := connectClients(loadCtx, d.http, c.clients)
	if err != nil {
		stopLoad()
		return err
	}

	tick := time.NewTicker(c.every)
	end := time.Now().Add(c.duration)
	for time.Now().Before(end) {
		select {
		case <-ctx.Done():
			stopLoad()
			return ctx.Err()
		case <-tick.C:
		}
		s, err := d.sample(queries.takeLatency())
		if err != nil {
			r.errors = append(r.errors, err.Error())
			continue
		}
		s.at = time.Since(r.start)
		r.samples = append(r.samples, s)
		fmt.Printf("soak: %6.0fs rss %6.1f MiB goroutines %4d query p50 %6.1f ms\n",
			s.at.Seconds(), float64(s.rssKB)/1024, s.goroutines, s.queryMs)
	}
	tick.Stop()
	r.wsMessages = clients.close()
	stopLoad()
	lr := <-loadDone
	<-qDone
	r.sent, r.queryErrors, r.queries = lr.sent, queries.errors(), queries.count()
	r.received, _ = d.metric(`ward_ingest_lines_received_total{protocol="udp"}`)
	r.drops, _ = d.metric("ward_ingest_udp_kernel_drops")

	// Goroutines back to baseline once the clients are gone (bounded wait).
	deadline := time.Now().Add(30 * time.Second)
	for {
		g, err := d.goroutines()
		if err == nil {
			r.finalGoroutines = g
			if g <= baseline+2 {
				break
			}
		}
		if time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	r.analyse()
	fmt.Print(r.text())
	if c.results != "" {
		if err := writeSection(c.results, r.markdown()); err != nil {
			return err
		}
	}
	return r.verdict()
}

type daemon struct {
	cmd    *exec.Cmd
	http   string
	statsd string
	done   chan error
}

func freePort() (int, error) {
	for i := 0; i < 50; i++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, err
		}
		port := l.Addr().(*net.TCPAddr).Port
		u, err := net.ListenPacket("udp", fmt.Sprintf("127.0.0.1:%d", port))
		l.Close()
		if err == nil {
			u.Close()
			return port, nil
		}
	}
	return 0, errors.New("no free port")
}

func startDaemon(bin, data string) (*daemon, error) {
	hp, err := freePort()
	if err != nil {
		return nil, err
	}
	sp, err := freePort()
	if err != nil {
		return nil, err
	}
	d := &daemon{http: fmt.Sprintf("127.0.0.1:%d", hp), statsd: fmt.Sprintf("127.0.0.1:%d", sp), done: make(chan error, 1)}
	d.cmd = exec.Command(bin, "serve", "--data", data, "--http", d.http, "--statsd", d.statsd,
		"--memcache", "", "--flush-interval", "2s", "--log-level", "warn")
	d.cmd.Stdout, d.cmd.Stderr = os.Stdout, os.Stderr
	if err := d.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	go func() { d.done <- d.cmd.Wait() }()
	deadline := time.Now().Add(60 * time.Second)
	for {
		if st, _, err := httpGet(d.http, "/-/ready", time.Second); err == nil && st == 200 {
			return d, nil
		}
		select {
		case err := <-d.done:
			return nil, fmt.Errorf("ward exited at start: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			d.stop()
			return nil, errors.New("ward not ready within 60s")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// stop sends SIGTERM and waits (bounded), then kills.
func (d *daemon) stop() {
	if d.cmd.ProcessState != nil {
		return
	}
	_ = d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.done:
	case <-time.After(60 * time.Second):
		_ = d.cmd.Process.Kill()
		<-d.done
	}
}
