package main

import (
	"bufio"
	"fmt"
	"maps"
	"math"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"
)

// sectionHeading heads this program's section of bench/RESULTS.md; other
// benchmarks own the other sections.
const sectionHeading = "## Storage and query (tsdbcompare)"

type report struct {
	opts                  options
	data                  dataset
	want                  checksum
	results               map[string]result
	started, finished     time.Time
	loadBefore, loadAfter string
}

// figure is one bench line: a value per engine.
type figure struct {
	name string
	get  func(r result) (float64, bool)
	prec int
}

func (rp *report) figures() []figure {
	perSample := func(r result) (float64, bool) {
		return float64(r.Disk.Bytes) / float64(r.Appended), r.Appended > 0
	}
	return []figure{
		{"bytes_per_sample", perSample, 3},
		{"bytes_per_sample_after_close_without_compact", func(r result) (float64, bool) {
			v, ok := r.Extra[extraDuAfterClose]
			return v / float64(r.Appended), ok && r.Appended > 0
		}, 3},
		{"bytes_per_sample_apparent", func(r result) (float64, bool) {
			return float64(r.Disk.Apparent) / float64(r.Appended), r.Appended > 0
		}, 3},
		{"bytes_per_sample_without_wal_and_caches", func(r result) (float64, bool) {
			return float64(r.Disk.Apparent-r.Disk.WALAndCaches) / float64(r.Appended), r.Appended > 0
		}, 3},
		{"append_million_samples_per_sec", func(r result) (float64, bool) {
			return float64(r.Appended) / r.AppendSeconds / 1e6, r.AppendSeconds > 0
		}, 2},
		{"read_million_samples_per_sec", func(r result) (float64, bool) {
			return float64(r.Read.Samples) / r.ReadSeconds / 1e6, r.ReadSeconds > 0
		}, 1},
		{"finalize_seconds", func(r result) (float64, bool) { return r.FinalizeSeconds, true }, 1},
		{"peak_go_heap_mib", func(r result) (float64, bool) { return float64(r.PeakHeap) / (1 << 20), r.PeakHeap > 0 }, 0},
		{"peak_rss_mib", func(r result) (float64, bool) { return float64(r.PeakRSS) / (1 << 20), r.PeakRSS > 0 }, 0},
	}
}

func (rp *report) value(engine string, f figure) (float64, string) {
	r, ok := rp.results[engine]
	if !ok {
		return math.NaN(), "n/a"
	}
	v, ok := f.get(r)
	if !ok {
		return math.NaN(), "n/a"
	}
	return v, strconv.FormatFloat(v, 'f', f.prec, 64)
}

func (rp *report) queryMs(engine, q string) (float64, string) {
	r, ok := rp.results[engine]
	if !ok {
		return math.NaN(), "n/a"
	}
	qr, ok := r.Queries[q]
	if !ok {
		return math.NaN(), "n/a"
	}
	prec := 1
	if qr.Ms < 10 {
		prec = 2
	}
	return qr.Ms, strconv.FormatFloat(qr.Ms, 'f', prec, 64)
}

// lines returns the bench lines and the values the targets are judged on.
func (rp *report) lines() ([]string, map[string]float64) {
	var out []string
	vals := map[string]float64{}
	for _, f := range rp.figures() {
		var cols []string
		for _, e := range []string{engWard, engProm, engVM} {
			v, s := rp.value(e, f)
			vals[f.name+"/"+e] = v
			cols = append(cols, e+"="+s)
		}
		out = append(out, "bench: "+f.name+" "+strings.Join(cols, " "))
	}
	// Without fsync: Ward with SyncNone beside the same peers' figures,
	// as neither peer fsyncs each batch.
	var f figure
	for _, x := range rp.figures() {
		if x.name == "append_million_samples_per_sec" {
			f = x
		}
	}
	var cols []string
	for _, e := range []string{engWardNoSync, engProm, engVM} {
		_, s := rp.value(e, f)
		name := e
		if e == engWardNoSync {
			name = engWard
		}
		cols = append(cols, name+"="+s)
	}
	vals["append_nosync/ward"], _ = rp.value(engWardNoSync, f)
	out = append(out, "bench: "+f.name+"_without_fsync "+strings.Join(cols, " "))
	for _, q := range []string{qDayRange, qDayInstant} {
		w, ws := rp.queryMs(engWard, q)
		p, ps := rp.queryMs(engProm, q)
		ratio := "n/a"
		if w > 0 && p > 0 {
			ratio = strconv.FormatFloat(p/w, 'f', 2, 64)
		}
		vals[q+"/ratio"] = p / w
		out = append(out, fmt.Sprintf("bench: %s_ms ward=%s prometheus=%s ratio=%s", q, ws, ps, ratio))
	}
	_, hs := rp.queryMs(engWard, qDayHTTP)
	out = append(out, fmt.Sprintf("bench: %s_ms ward=%s prometheus=n/a ratio=n/a", qDayHTTP, hs))
	for _, q := range []string{qYearRange, qYearSelect, qRecent} {
		v, s := rp.queryMs(engWardYear, q)
		vals[q] = v
		out = append(out, fmt.Sprintf("bench: %s_ms ward=%s prometheus=n/a victoriametrics=n/a", q, s))
	}
	return out, vals
}

type target struct {
	what, figure string
	ok           bool
	known        bool
}

func (rp *report) targets(v map[string]float64) []target {
	known := func(xs ...float64) bool {
		for _, x := range xs {
			if math.IsNaN(x) || math.IsInf(x, 0) {
				return false
			}
		}
		return true
	}
	wb, pb, vb := v["bytes_per_sample/ward"], v["bytes_per_sample/prometheus"], v["bytes_per_sample/victoriametrics"]
	dk := "bytes_per_sample_without_wal_and_caches/"
	wd, pd, vd := v[dk+engWard], v[dk+engProm], v[dk+engVM]
	wa, pa := v["append_million_samples_per_sec/ward"], v["append_million_samples_per_sec/prometheus"]
	wr, vr := v["read_million_samples_per_sec/ward"], v["read_million_samples_per_sec/victoriametrics"]
	f := func(x float64) string { return strconv.FormatFloat(x, 'f', 3, 64) }
	return []target{
		{"bytes/sample (du) at most half of Prometheus'", fmt.Sprintf("%s vs %s (limit %s)", f(wb), f(pb), f(pb/2)), wb <= pb/2, known(wb, pb)},
		{"bytes/sample without WAL and caches at most half of Prometheus'", fmt.Sprintf("%s vs %s (limit %s)", f(wd), f(pd), f(pd/2)), wd <= pd/2, known(wd, pd)},
		{"bytes/sample (du) below VictoriaMetrics' (aim)", fmt.Sprintf("%s vs %s", f(wb), f(vb)), wb < vb, known(wb, vb)},
		{"bytes/sample without WAL and caches below VictoriaMetrics' (aim)", fmt.Sprintf("%s vs %s", f(wd), f(vd)), wd < vd, known(wd, vd)},
		{"appends/s at least 1.5x Prometheus' (Ward's default fsync per batch)", fmt.Sprintf("%.2fx", wa/pa), wa >= 1.5*pa, known(wa, pa)},
		{"appends/s at least 1.5x Prometheus' (Ward without fsync, as the peers)", fmt.Sprintf("%.2fx", v["append_nosync/ward"]/pa), v["append_nosync/ward"] >= 1.5*pa, known(v["append_nosync/ward"], pa)},
		{"reads/s at least VictoriaMetrics'", fmt.Sprintf("%.2fx", wr/vr), wr >= vr, known(wr, vr)},
		{"day range query at least 1.5x faster than Prometheus", fmt.Sprintf("%.2fx", v[qDayRange+"/ratio"]), v[qDayRange+"/ratio"] >= 1.5, known(v[qDayRange+"/ratio"])},
		{"year at 1h for 100 series under 50 ms", fmt.Sprintf("%.1f ms", v[qYearRange]), v[qYearRange] < 50, known(v[qYearRange])},
		{"30 days at 1h under 100 ms", fmt.Sprintf("%.1f ms", v[qRecent]), v[qRecent] < 100, known(v[qRecent])},
	}
}

// checks compares what every engine read and answered with the data set.
func (rp *report) checks() []string {
	var out []string
	for _, e := range []string{engWard, engProm, engVM} {
		r, ok := rp.results[e]
		if !ok {
			continue
		}
		status := "ok"
		if !r.Read.matches(rp.want) {
			status = fmt.Sprintf("MISMATCH: read %d samples summing to %g, want %d summing to %g", r.Read.Samples, r.Read.Sum, rp.want.Samples, rp.want.Sum)
		}
		out = append(out, fmt.Sprintf("%s full read: %s", e, status))
	}
	w, wok := rp.results[engWard]
	p, pok := rp.results[engProm]
	if wok && pok {
		for _, q := range []string{qDayRange, qDayInstant} {
			a, b := w.Queries[q], p.Queries[q]
			status := "same answer"
			if a.Series != b.Series || !a.Points.matches(b.Points) {
				status = fmt.Sprintf("DIFFERENT: ward %d series, %d points, sum %g; prometheus %d series, %d points, sum %g",
					a.Series, a.Points.Samples, a.Points.Sum, b.Series, b.Points.Samples, b.Points.Sum)
			}
			out = append(out, fmt.Sprintf("%s: ward vs prometheus: %s (%d series, %d points)", q, status, b.Series, b.Points.Samples))
		}
	}
	if y, ok := rp.results[engWardYear]; ok {
		for _, q := range []string{qYearRange, qYearSelect, qRecent} {
			a := y.Queries[q]
			out = append(out, fmt.Sprintf("%s: %d series, %d points", q, a.Series, a.Points.Samples))
		}
	}
	return out
}

func (rp *report) markdown() string {
	var b strings.Builder
	o := rp.opts
	d := rp.data
	lines, vals := rp.lines()
	fmt.Fprintf(&b, "%s\n\n", sectionHeading)
	fmt.Fprintf(&b, "Measured %s (%s) on %s, %d cores, %s, %s; load average %s before, %s after.\n\n",
		rp.started.UTC().Format("2006-01-02 15:04 MST"), rp.finished.Sub(rp.started).Round(time.Second),
		cpuModel(), runtime.NumCPU(), memTotal(), runtime.Version(), rp.loadBefore, rp.loadAfter)
	fmt.Fprintf(&b, "Data set: %d series (%d hosts x 50 metrics) x %v at %v = %d samples (tsdb/tsdbtest, seed %d). "+
		"Rollup queries: %d series x %d days at %v. Ward's sync policy: %s.\n\n",
		d.nseries(), d.Hosts, d.Duration, d.Step, d.samples(), d.Seed, o.year.Hosts*50, o.year.Days, o.year.Step, o.wardSync)
	fmt.Fprintf(&b, "Reproduce: `cd bench/tsdbcompare && go run .%s`\n\n", commandArgs())
	b.WriteString("```\n")
	for _, l := range lines {
		b.WriteString(l + "\n")
	}
	b.WriteString("```\n\n")
	fmt.Fprintf(&b, "Queries: `%s` over the day at step 1m and as an instant query at its end (ratio = Prometheus time / Ward time, the same PromQL engine over each store); "+
		"`%s` over %d days at step 1h, the same selector read by Select alone with the engine's hints, and `%s` over the last %d days at step 1h. Query times are medians of %d runs after a warm-up.\n\n",
		o.query, o.year.Query, o.year.Days, o.year.RecentQ, o.year.RecentDays, o.reps)
	b.WriteString("| target | measured | met |\n|---|---|---|\n")
	for _, t := range rp.targets(vals) {
		met := "no"
		switch {
		case !t.known:
			met = "not measured"
		case t.ok:
			met = "yes"
		}
		fig := t.figure
		if !t.known {
			fig = "n/a"
		}
		fmt.Fprintf(&b, "| %s | %s | %s |\n", t.what, fig, met)
	}
	b.WriteString("\nChecks:\n\n")
	for _, c := range rp.checks() {
		fmt.Fprintf(&b, "- %s\n", c)
	}
	b.WriteString("\nDetails:\n\n")
	for _, e := range []string{engWard, engWardNoSync, engProm, engVM, engWardYear} {
		r, ok := rp.results[e]
		if !ok {
			continue
		}
		switch {
		case e == engWardYear:
			fmt.Fprintf(&b, "- %s: appended %d samples in %.1f s", e, r.Appended, r.AppendSeconds)
		default:
			fmt.Fprintf(&b, "- %s: appended %d samples in %.1f s, finalized in %.1f s, reopened in %.2f s, read in %.2f s; on disk %.1f MiB (%s)",
				e, r.Appended, r.AppendSeconds, r.FinalizeSeconds, r.OpenSeconds, r.ReadSeconds, float64(r.Disk.Bytes)/(1<<20), r.Disk)
		}
		for _, k := range sortedKeys(r.Extra) {
			fmt.Fprintf(&b, "; %s %g", k, r.Extra[k])
		}
		for _, n := range r.Notes {
			fmt.Fprintf(&b, "; NOTE %s", n)
		}
		b.WriteString("\n")
	}
	return b.String()
}

func sortedKeys(m map[string]float64) []string { return slices.Sorted(maps.Keys(m)) }

// commandArgs quotes the flags this run was given.
func commandArgs() string {
	var b strings.Builder
	for _, a := range os.Args[1:] {
		b.WriteByte(' ')
		if strings.ContainsAny(a, " \t\"'`$(){}[]|&;<>*?~") {
			a = strconv.Quote(a)
		}
		b.WriteString(a)
	}
	return b.String()
}

func cpuModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return runtime.GOARCH
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return runtime.GOARCH
}

func memTotal() string {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return "? GiB"
	}
	for _, l := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(l, "MemTotal:"); ok {
			kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			if err == nil {
				return fmt.Sprintf("%.0f GiB", kb/(1<<20))
			}
		}
	}
	return "? GiB"
}

func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

// updateSection replaces this program's section of the results file (from
// its heading to the next "## " heading), or appends it, leaving the other
// sections as they are.
func updateSection(path, section string) error {
	old, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		return fmt.Errorf("read %s: %w", path, err)
	}
	text := string(old)
	if text == "" {
		text = "# Benchmark results\n\nEach section is written by the benchmark named in its heading; see bench/ for how to reproduce.\n"
	}
	section = strings.TrimRight(section, "\n") + "\n"
	if i := strings.Index(text, sectionHeading+"\n"); i >= 0 {
		rest := text[i+len(sectionHeading):]
		end := len(text)
		if j := strings.Index(rest, "\n## "); j >= 0 {
			end = i + len(sectionHeading) + j + 1
		}
		text = text[:i] + section + sepIfMore(text[end:]) + text[end:]
	} else {
		text = strings.TrimRight(text, "\n") + "\n\n" + section
	}
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

func sepIfMore(rest string) string {
	if rest == "" {
		return ""
	}
	return "\n"
}
