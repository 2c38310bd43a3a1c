// Command statsd measures, side by side in one run, how many statsd lines
// per second Ward, Prometheus' statsd_exporter and Etsy's statsd accept
// over UDP with under 0.1% loss, at 1 and at 20 lines per datagram over
// 10,000 counter names, with the load generator (bench/udpload) on the same
// machine; then Ward's parse-and-aggregate micro-benchmark. It installs the
// anchors into its work directory, prints `bench:` lines and can replace
// its own section of bench/RESULTS.md. Run it from the repository root
// after `make build`:
//
//	go run ./bench/statsd -results bench/RESULTS.md   # full run, ~10 min
//	go run ./bench/statsd -quick                      # smoke run, ~1 min
//
// See README.md for the method.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// options are the driver's flags.
type options struct {
	quick     bool
	work      string
	ward      string
	servers   string
	shapes    string
	names     int
	step      time.Duration
	grace     time.Duration
	maxSteps  int
	maxLoss   float64
	precision float64
	senders   int
	gso       bool
	micro     bool
	results   string
	timeout   time.Duration
}

func main() {
	var o options
	flag.BoolVar(&o.quick, "quick", false, "smoke run: short steps, few of them, short micro-benchmark")
	flag.StringVar(&o.work, "work", "bench/.work/statsd", "work directory: anchors, server data and logs")
	flag.StringVar(&o.ward, "ward", "bin/ward", "ward binary (make build)")
	flag.StringVar(&o.servers, "servers", "ward,statsd_exporter,etsy_statsd,bare_receiver", "servers to measure (bare_receiver: bench/udpsink, the reference ceiling)")
	flag.StringVar(&o.shapes, "shapes", "1,20", "lines per datagram to measure, comma-separated")
	flag.IntVar(&o.names, "names", 10000, "distinct counter names")
	flag.DurationVar(&o.step, "step", 6*time.Second, "load duration of one search step")
	flag.DurationVar(&o.grace, "grace", 500*time.Millisecond, "time after a step's load ends by which lines must be accepted")
	flag.IntVar(&o.maxSteps, "max-steps", 9, "search steps at most per server and shape")
	flag.Float64Var(&o.maxLoss, "max-loss", 0.001, "a step passes with loss under this share")
	flag.Float64Var(&o.precision, "precision", 1.1, "stop bisecting when failing/passing rates are within this factor")
	flag.IntVar(&o.senders, "senders", 1, "load generator sockets (goroutines)")
	flag.BoolVar(&o.gso, "gso", true, "load generator sends with UDP GSO, up to 64 datagrams per message (see README)")
	flag.BoolVar(&o.micro, "micro", true, "run the parse-and-aggregate micro-benchmark")
	flag.StringVar(&o.results, "results", "", "replace this benchmark's section of this results file (bench/RESULTS.md)")
	flag.DurationVar(&o.timeout, "timeout", 30*time.Minute, "bound on the whole run")
	flag.Parse()
	if o.quick {
		setUnset(map[string]func(){
			"step":      func() { o.step = time.Second },
			"grace":     func() { o.grace = 300 * time.Millisecond },
			"max-steps": func() { o.maxSteps = 3 },
			"precision": func() { o.precision = 1.5 },
			"timeout":   func() { o.timeout = 10 * time.Minute },
		})
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	rep, err := run(ctx, &o, strings.Join(os.Args, " "))
	if rep != nil {
		for _, l := range rep.benchLines() {
			fmt.Println(l)
		}
		if err == nil {
			err = rep.serverErrors()
		}
		// A server that failed is NA in the section, with the reason: the
		// section is still written, and the exit status says it failed.
		if o.results != "" && ctx.Err() == nil {
			if werr := writeSection(o.results, rep.section()); werr != nil {
				err = errors.Join(err, werr)
			} else {
				logf("wrote the %q section of %s", sectionHeading, o.results)
			}
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench/statsd:", err)
		os.Exit(1)
	}
}

// setUnset applies the quick defaults of the flags the user did not set.
func setUnset(defaults map[string]func()) {
	set := map[string]bool{}
	flag.Visit(func(f *flag.Flag) { set[f.Name] = true })
	for name, apply := range defaults {
		if !set[name] {
			apply()
		}
	}
}

// logf prints progress on stderr.
func logf(format string, a ...any) {
	fmt.Fprintf(os.Stderr, time.Now().Format("15:04:05 ")+format+"\n", a...)
}

// runner holds what every step needs.
type runner struct {
	o       *options
	udpload string
}

// run measures every requested server and the micro-benchmark. A server
// that fails to install or start is reported as NA; the run goes on.
func run(ctx context.Context, o *options, argv string) (*report, error) {
	if _, err := os.Stat("go.mod"); err != nil {
		return nil, errors.New("run from the repository root (go.mod not found)")
	}
	shapes, err := parseShapes(o.shapes)
	if err != nil {
		return nil, err
	}
	kinds, err := selectKinds(o.servers)
	if err != nil {
		return nil, err
	}
	abs, err := filepath.Abs(o.work)
	if err != nil {
		return nil, fmt.Errorf("work directory %s: %w", o.work, err)
	}
	o.work = abs
	if o.ward, err = filepath.Abs(o.ward); err != nil {
		return nil, fmt.Errorf("ward binary %s: %w", o.ward, err)
	}
	if err := os.MkdirAll(filepath.Join(o.work, "bin"), 0o755); err != nil {
		return nil, fmt.Errorf("create work directory: %w", err)
	}
	udpload, err := buildBench(ctx, o, "udpload")
	if err != nil {
		return nil, err
	}
	r := &runner{o: o, udpload: udpload}
	rep := &report{
		started:   time.Now(),
		loadStart: loadAverage(),
		machine:   machine(),
		command:   command(o),
		method:    method(o),
		shapes:    shapes,
	}
	logf("load average at start: %s", rep.loadStart)
	for _, k := range kinds {
		sr := serverRun{name: k.name, reference: k.reference, outcomes: map[int]outcome{}}
		sr.err = r.measureServer(ctx, k, shapes, &sr)
		sr.version = k.version(ctx, o)
		if sr.err != nil {
			logf("%s: %v", k.name, sr.err)
		}
		rep.servers = append(rep.servers, sr)
		if ctx.Err() != nil {
			return rep, ctx.Err()
		}
	}
	if o.micro {
		bt, count := "1s", 3
		if o.quick {
			bt, count = "100ms", 1
		}
		logf("running the parse-and-aggregate micro-benchmark")
		rep.micro, rep.microCmd, rep.microErr = runMicro(ctx, bt, count)
	}
	rep.ended = time.Now()
	rep.loadEnd = loadAverage()
	return rep, ctx.Err()
}

// measureServer installs and starts one server, searches each shape, and
// stops it.
func (r *runner) measureServer(ctx context.Context, k serverKind, shapes []int, sr *serverRun) (err error) {
	if err := k.install(ctx, r.o); err != nil {
		return err
	}
	dir := filepath.Join(r.o.work, k.name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	t, err := k.launch(ctx, r.o, dir)
	if t != nil {
		defer func() {
			if serr := t.proc.stop(15 * time.Second); serr != nil && err == nil {
				err = serr
			}
			logf("%s stopped (pid %d)", k.name, t.proc.cmd.Process.Pid)
		}()
	}
	if err != nil {
		return err
	}
	logf("%s started (pid %d, udp %s)", k.name, t.proc.cmd.Process.Pid, t.udpAddr)
	// Warm-up: every name once, so that the search measures steady state
	// rather than series creation.
	if _, err := r.runLoad(ctx, t.udpAddr, float64(r.o.names), time.Second+time.Second/5, 20); err != nil {
		return fmt.Errorf("warm-up: %w", err)
	}
	for _, shape := range shapes {
		plan := searchPlan{Start: startRate(shape), MaxSteps: r.o.maxSteps, Precision: r.o.precision, MaxLoss: r.o.maxLoss, MinRate: 1000}
		o, err := search(ctx, plan, func(ctx context.Context, rate float64) (step, error) {
			return r.measure(ctx, t, shape, rate, r.o.step)
		})
		sr.outcomes[shape] = o
		if err != nil {
			return fmt.Errorf("%d lines per packet: %w", shape, err)
		}
	}
	return nil
}

// startRate is the first offered rate for a shape: near the anchors'
// limits measured here, so that few steps reach every server's.
func startRate(shape int) float64 {
	if shape == 1 {
		return 25000
	}
	return 10000 * float64(shape)
}

func parseShapes(s string) ([]int, error) {
	var shapes []int
	for f := range strings.SplitSeq(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("-shapes %q: %q is not a positive number of lines", s, f)
		}
		shapes = append(shapes, n)
	}
	return shapes, nil
}

// selectKinds returns the requested servers in report order.
func selectKinds(s string) ([]serverKind, error) {
	want := map[string]bool{}
	for f := range strings.SplitSeq(s, ",") {
		want[strings.TrimSpace(f)] = true
	}
	var ks []serverKind
	for _, k := range serverKinds() {
		if want[k.name] {
			ks = append(ks, k)
			delete(want, k.name)
		}
	}
	if len(want) > 0 || len(ks) == 0 {
		var names []string
		for _, k := range serverKinds() {
			names = append(names, k.name)
		}
		return nil, fmt.Errorf("-servers %q: known servers are %s", s, strings.Join(names, ", "))
	}
	return ks, nil
}

// command is how to reproduce this run.
func command(o *options) string {
	c := "go run ./bench/statsd"
	if o.quick {
		c += " -quick"
	}
	if o.results != "" {
		c += " -results " + o.results
	}
	return c
}

// method summarises the method with this run's parameters.
func method(o *options) string {
	lines := "`load.<i>:1|c`"
	if o.gso {
		lines = "`load.0000:1|c` and up, zero-padded; sent with sendmmsg and UDP GSO"
	}
	return fmt.Sprintf("each server in turn on 127.0.0.1 with the load generator (bench/udpload) on the same machine; "+
		"%d distinct counter names (%s); for each packet shape, steps of %v of load at an offered rate, "+
		"doubling from a start rate until a step loses, then bisecting geometrically to within %.0f%% "+
		"(at most %d steps); a step passes when under %.1f%% of the lines sent are missing from the server's "+
		"accepted-lines counter %v after the load ends; the figure is the accepted lines per second of the best passing step.",
		o.names, lines, o.step, 100*(o.precision-1), o.maxSteps, 100*o.maxLoss, o.grace)
}

// loadAverage is the 1, 5 and 15 minute load averages.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

// machine names the CPU model and the core count.
func machine() string {
	model := runtime.GOARCH
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for l := range strings.SplitSeq(string(b), "\n") {
			if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
	}
	return fmt.Sprintf("%s, %d cores, %s", model, runtime.NumCPU(), runtime.GOOS)
}
