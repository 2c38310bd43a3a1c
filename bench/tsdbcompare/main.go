// Command tsdbcompare measures Ward's storage engine side by side with
// Prometheus' TSDB and VictoriaMetrics' storage on one generated,
// deterministic, statsd-shaped data set: bytes per sample on disk after
// compaction, samples appended and read per second on one goroutine, peak
// memory, and PromQL query times over Ward and over Prometheus' TSDB. Each
// engine runs in a child process of its own so that peaks are its own.
// See README.md for the method.
//
//	go run . -out ../RESULTS.md      # full run, ~86M samples
//	go run . -quick                  # smoke run, ~2M samples
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// options are the parent's flags.
type options struct {
	quick      bool
	out        string
	work       string
	keep       bool
	engines    string
	reps       int
	seed       uint64
	hosts      int
	hours      int
	step       time.Duration
	query      string
	wardSync   string
	profileDir string
	year       yearSpec
}

func main() {
	fs := flag.NewFlagSet("tsdbcompare", flag.ExitOnError)
	var o options
	child := fs.String("child", "", "internal: run one engine from this spec file")
	fs.BoolVar(&o.quick, "quick", false, "smoke run: 1,000 series x 6h, 60 days for the rollup queries")
	fs.StringVar(&o.out, "out", "", "update the tsdbcompare section of this RESULTS.md")
	fs.StringVar(&o.work, "work", "", "work directory (default: a new temporary directory, removed at the end)")
	fs.BoolVar(&o.keep, "keep", false, "keep the work directory (data file, engines' directories)")
	fs.StringVar(&o.engines, "engines", "ward,ward-nosync,prometheus,victoriametrics,ward-year", "engines to run, comma-separated")
	fs.IntVar(&o.reps, "reps", 5, "timed repetitions of each query (after one warm-up); the median is reported")
	fs.Uint64Var(&o.seed, "seed", 1, "data set seed")
	fs.IntVar(&o.hosts, "hosts", 200, "hosts (50 series each)")
	fs.IntVar(&o.hours, "hours", 24, "hours of data")
	fs.DurationVar(&o.step, "step", 10*time.Second, "step of the data (one batch per step)")
	fs.StringVar(&o.query, "query", defaultQuery, "PromQL of the day-long range and instant queries")
	fs.StringVar(&o.wardSync, "ward-sync", "each", "Ward's sync policy: each (its default: fsync every batch) or none")
	fs.StringVar(&o.profileDir, "cpuprofile", "", "write CPU profiles of each engine's append, read and query phases to this directory")
	fs.IntVar(&o.year.Hosts, "year-hosts", 2, "hosts of the long data set for the rollup queries (50 series each)")
	fs.IntVar(&o.year.Days, "year-days", 365, "days of the long data set")
	fs.DurationVar(&o.year.Step, "year-step", 5*time.Minute, "step of the long data set")
	fs.IntVar(&o.year.RecentDays, "recent-days", 30, "days of the shorter rollup query")
	fs.StringVar(&o.year.Query, "year-query", defaultYearQuery, "PromQL of the long-range query")
	fs.StringVar(&o.year.RecentQ, "recent-query", defaultRecentQuery, "PromQL of the shorter rollup query")
	_ = fs.Parse(os.Args[1:])
	if *child != "" {
		if err := childMain(*child); err != nil {
			fmt.Fprintln(os.Stderr, "tsdbcompare child:", err)
			os.Exit(1)
		}
		return
	}
	if o.quick {
		set := map[string]bool{}
		fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
		if !set["hosts"] {
			o.hosts = 20
		}
		if !set["hours"] {
			o.hours = 6
		}
		if !set["year-days"] {
			o.year.Days = 60
		}
		if !set["reps"] {
			o.reps = 3
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, "tsdbcompare:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, o options) error {
	if o.reps < 1 || o.hosts < 1 || o.hours < 1 || o.step <= 0 || o.year.Days < 1 || o.year.Hosts < 1 || o.year.Step <= 0 {
		return fmt.Errorf("reps, hosts, hours, step, year-days, year-hosts and year-step must be positive")
	}
	engines := strings.Split(o.engines, ",")
	for _, e := range engines {
		if !slices.Contains([]string{engWard, engWardNoSync, engProm, engVM, engWardYear}, e) {
			return fmt.Errorf("unknown engine %q", e)
		}
	}
	work := o.work
	if work == "" {
		var err error
		if work, err = os.MkdirTemp("", "tsdbcompare-"); err != nil {
			return err
		}
	} else if err := os.MkdirAll(work, 0o755); err != nil {
		return err
	}
	if !o.keep {
		defer os.RemoveAll(work)
	}
	if o.profileDir != "" {
		if err := os.MkdirAll(o.profileDir, 0o755); err != nil {
			return err
		}
	}
	rep := report{started: time.Now(), opts: o, results: map[string]result{}, loadBefore: loadAvg()}
	d := dataset{Hosts: o.hosts, Step: o.step, Duration: time.Duration(o.hours) * time.Hour, Seed: o.seed, File: filepath.Join(work, "data.bin")}
	rep.data = d
	logf("generating %d samples (%d series x %d steps) into %s", d.samples(), d.nseries(), d.steps(), d.File)
	var err error
	if rep.want, err = generate(d); err != nil {
		return err
	}
	for _, e := range engines {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		dir := filepath.Join(work, e)
		sp := spec{
			Engine: e, Data: d, Dir: dir, Result: filepath.Join(work, e+"-result.json"),
			Reps: o.reps, Query: o.query, ProfileDir: o.profileDir, WardSync: o.wardSync, Year: o.year,
		}
		res, err := runChild(ctx, sp)
		if err != nil {
			return err
		}
		rep.results[e] = res
		if !o.keep {
			if err := os.RemoveAll(dir); err != nil {
				return err
			}
		}
	}
	rep.finished = time.Now()
	rep.loadAfter = loadAvg()
	text := rep.markdown()
	fmt.Print(text)
	if o.out != "" {
		if err := updateSection(o.out, text); err != nil {
			return err
		}
		logf("updated %s", o.out)
	}
	return nil
}
