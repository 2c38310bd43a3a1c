// Command wsload measures `ward serve` pushing live graphs: 500 websocket clients of
// /api/v1/stream, each subscribed to 10 PromQL expressions, pushed at every flush
// (once a second). It reports the CPU the ward process used, as percent of one core,
// and the push latency at the 99th percentile:
//
//	make build && go run ./bench/wsload -ward bin/ward -duration 30s -results bench/RESULTS.md
//
// It starts the given binary itself (a temporary data directory, loopback ports,
// --flush-interval 1s), feeds it counters over UDP statsd so every expression has data,
// connects the clients, lets them warm up, measures for -duration and stops ward with
// SIGTERM to its own PID. The clients run in this process on the same machine, so on
// a small machine they compete with ward for the cores: the figures are an upper
// bound of what ward needs with its clients elsewhere.
//
// With -results the two `bench:` lines are replaced (or added) in the stream section
// of bench/RESULTS.md, with the command that reproduces them.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// config is the command line.
type config struct {
	ward     string
	duration time.Duration
	warmup   time.Duration
	clients  int
	subs     int
	exprs    int
	hosts    int
	results  string
}

// The bounds of -duration: long enough for a percentile, short enough for a shared machine.
const (
	minDuration = 5 * time.Second
	maxDuration = 10 * time.Minute
)

func main() {
	var c config
	flag.StringVar(&c.ward, "ward", "bin/ward", "the ward binary to start (make build)")
	flag.DurationVar(&c.duration, "duration", 60*time.Second, "measured time, 5s to 10m")
	flag.DurationVar(&c.warmup, "warmup", 3*time.Second, "time after every client subscribed before measuring")
	flag.IntVar(&c.clients, "clients", 500, "websocket clients")
	flag.IntVar(&c.subs, "subs", 10, "expressions each client subscribes to")
	flag.IntVar(&c.exprs, "exprs", 50, "distinct expressions (dashboards share graphs: clients x subs subscriptions over these)")
	flag.IntVar(&c.hosts, "hosts", 10, "series per expression (host label values)")
	flag.StringVar(&c.results, "results", "", "RESULTS.md whose stream lines to replace")
	flag.Parse()
	if err := c.check(); err != nil {
		fmt.Fprintln(os.Stderr, "wsload:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	r, err := run(ctx, c)
	if err != nil {
		fmt.Fprintln(os.Stderr, "wsload:", err)
		os.Exit(1)
	}
	lines := r.benchLines()
	for _, l := range lines {
		fmt.Println(l)
	}
	fmt.Printf("wsload: %d clients x %d subscriptions over %d expressions, %s measured: %d pushes received (%.0f/s, %.0f%% of one per subscription per second), p50 %.1f ms, max %.1f ms, %d clients dropped, ward CPU %.2f s\n",
		c.clients, c.subs, c.exprs, r.Wall.Round(time.Millisecond), r.Pushes, float64(r.Pushes)/r.Wall.Seconds(),
		100*float64(r.Pushes)/r.Wall.Seconds()/float64(c.clients*c.subs), r.P50Ms, r.MaxMs, r.Dropped, r.CPU.Seconds())
	if c.results != "" {
		if err := updateResultsFile(c.results, lines, reproduceNote(c, r)); err != nil {
			fmt.Fprintln(os.Stderr, "wsload:", err)
			os.Exit(1)
		}
		fmt.Println("wsload: updated", c.results)
	}
}

func (c config) check() error {
	switch {
	case c.duration < minDuration || c.duration > maxDuration:
		return fmt.Errorf("-duration %v outside [%v, %v]", c.duration, minDuration, maxDuration)
	case c.clients < 1 || c.subs < 1 || c.exprs < 1 || c.hosts < 1:
		return fmt.Errorf("-clients %d, -subs %d, -exprs %d and -hosts %d must be positive", c.clients, c.subs, c.exprs, c.hosts)
	case c.subs > c.exprs:
		return fmt.Errorf("-subs %d above -exprs %d: a client subscribes to distinct expressions", c.subs, c.exprs)
	case c.results != "" && (c.clients != 500 || c.subs != 10):
		return fmt.Errorf("-results records the 500 clients x 10 subscriptions figures; -clients %d -subs %d would mislabel them", c.clients, c.subs)
	case c.warmup < 0:
		return fmt.Errorf("-warmup %v is negative", c.warmup)
	}
	if _, err := os.Stat(c.ward); err != nil {
		return fmt.Errorf("ward binary: %w (run make build)", err)
	}
	return nil
}
