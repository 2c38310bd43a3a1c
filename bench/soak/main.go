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
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/wardmetrics/ward/bench/internal/wardproc"
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
	wd, err := wardproc.Start(c.bin, filepath.Join(dir, "data"), 2*time.Second, os.Stdout)
	if err != nil {
		return err
	}
	d := &daemon{wd}
	defer func() { _ = d.Stop() }()

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
	go func() { loadDone <- sendAt(loadCtx, d.Statsd, rate) }()
	queries := newQuerier(d.HTTP)
	qDone := make(chan struct{})
	go func() { defer close(qDone); queries.run(loadCtx) }()
	clients, err := connectClients(loadCtx, d.HTTP, c.clients)
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

// daemon is the `ward serve` under soak, with the probes of probe.go.
type daemon struct{ *wardproc.Daemon }
