package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// target is a server under test, running.
type target struct {
	name    string
	udpAddr string
	proc    *process
	// count returns the lines the server accepted since it started.
	count func(ctx context.Context) (int64, error)
}

// serverKind knows how to install and start one server.
type serverKind struct {
	name    string
	version func(ctx context.Context, o *options) string
	install func(ctx context.Context, o *options) error
	launch  func(ctx context.Context, o *options, dir string) (*target, error)
	// reference marks the bare receiver: measured beside the others as
	// the machine's ceiling, never the anchor Ward's ratio is taken to.
	reference bool
}

// Names of the servers, as they appear in the bench lines.
const (
	nameWard     = "ward"
	nameExporter = "statsd_exporter"
	nameEtsy     = "etsy_statsd"
	nameBare     = "bare_receiver"
)

// Anchor versions, pinned by the issue.
const (
	exporterModule  = "github.com/prometheus/statsd_exporter"
	exporterVersion = "v0.31.0"
	etsyVersion     = "0.9.0"
)

// serverKinds lists the servers in report order: Ward, then the anchors.
func serverKinds() []serverKind {
	return []serverKind{
		{name: nameWard, version: wardVersion, install: wardInstalled, launch: launchWard},
		{name: nameExporter, version: func(context.Context, *options) string { return exporterVersion }, install: installExporter, launch: launchExporter},
		{name: nameEtsy, version: etsyNodeVersion, install: installEtsy, launch: launchEtsy},
		{name: nameBare, version: wardVersion, install: installSink, launch: launchSink, reference: true},
	}
}

// startTimeout bounds how long a server may take to become ready.
const startTimeout = 30 * time.Second

// launchWard starts `ward serve` on fresh data with a 1 s flush interval
// and the memcache listener off; accepted lines are
// ward_ingest_lines_accepted_total{protocol="udp"}.
func launchWard(ctx context.Context, o *options, dir string) (*target, error) {
	sp, hp, err := twoPorts()
	if err != nil {
		return nil, err
	}
	data := filepath.Join(dir, "data")
	if err := os.RemoveAll(data); err != nil {
		return nil, fmt.Errorf("clear ward data %s: %w", data, err)
	}
	udp := "127.0.0.1:" + strconv.Itoa(sp)
	http := "http://127.0.0.1:" + strconv.Itoa(hp)
	p, err := startProcess(nameWard, dir, filepath.Join(dir, "ward.log"), o.ward, "serve",
		"--data", data, "--http", "127.0.0.1:"+strconv.Itoa(hp), "--statsd", udp,
		"--memcache", "", "--flush-interval", "1s")
	if err != nil {
		return nil, err
	}
	t := &target{name: nameWard, udpAddr: udp, proc: p, count: func(ctx context.Context) (int64, error) {
		return scrapeCounter(ctx, http+"/metrics", `ward_ingest_lines_accepted_total{protocol="udp"}`)
	}}
	return t, waitFor(ctx, p, startTimeout, func(ctx context.Context) error {
		_, err := httpGet(ctx, http+"/-/ready")
		return err
	})
}

// launchExporter starts statsd_exporter with UDP only and the largest
// receive buffer the system grants without privileges (net.core.rmem_max:
// its documented tuning); accepted lines are the counter events it applied,
// statsd_exporter_events_total{type="counter"}.
func launchExporter(ctx context.Context, o *options, dir string) (*target, error) {
	sp, hp, err := twoPorts()
	if err != nil {
		return nil, err
	}
	udp := "127.0.0.1:" + strconv.Itoa(sp)
	web := "127.0.0.1:" + strconv.Itoa(hp)
	args := []string{"--statsd.listen-udp=" + udp, "--statsd.listen-tcp=", "--web.listen-address=" + web, "--log.level=warn"}
	if n := rmemMax(); n > 0 {
		args = append(args, "--statsd.read-buffer="+strconv.Itoa(n))
	}
	p, err := startProcess(nameExporter, dir, filepath.Join(dir, "statsd_exporter.log"), exporterBin(o), args...)
	if err != nil {
		return nil, err
	}
	t := &target{name: nameExporter, udpAddr: udp, proc: p, count: func(ctx context.Context) (int64, error) {
		return scrapeCounter(ctx, "http://"+web+"/metrics", `statsd_exporter_events_total{type="counter"}`)
	}}
	return t, waitFor(ctx, p, startTimeout, func(ctx context.Context) error {
		_, err := httpGet(ctx, "http://"+web+"/metrics")
		return err
	})
}

// etsyConfig is Etsy statsd's configuration: UDP on loopback, no backend,
// and a flush interval longer than any run so that the received-lines
// counters, which a flush resets, count the whole run.
const etsyConfig = `{
  address: "127.0.0.1", port: %d,
  mgmt_address: "127.0.0.1", mgmt_port: %d,
  flushInterval: 3600000,
  backends: [],
  dumpMessages: false
}
`

// launchEtsy starts Etsy statsd under node; accepted lines are
// statsd.metrics_received minus statsd.bad_lines_seen from its management
// console.
func launchEtsy(ctx context.Context, o *options, dir string) (*target, error) {
	sp, mp, err := twoPorts()
	if err != nil {
		return nil, err
	}
	cfg := filepath.Join(dir, "config.js")
	if err := os.WriteFile(cfg, fmt.Appendf(nil, etsyConfig, sp, mp), 0o644); err != nil {
		return nil, fmt.Errorf("write etsy statsd config: %w", err)
	}
	mgmt := "127.0.0.1:" + strconv.Itoa(mp)
	p, err := startProcess(nameEtsy, dir, filepath.Join(dir, "etsy_statsd.log"), "node", etsyMain(o), cfg)
	if err != nil {
		return nil, err
	}
	t := &target{name: nameEtsy, udpAddr: "127.0.0.1:" + strconv.Itoa(sp), proc: p, count: func(ctx context.Context) (int64, error) {
		out, err := etsyCommand(ctx, mgmt, "counters", "END\n\n")
		if err != nil {
			return 0, err
		}
		return etsyAccepted(out)
	}}
	return t, waitFor(ctx, p, startTimeout, func(ctx context.Context) error {
		_, err := etsyCommand(ctx, mgmt, "health", "health: up\n")
		return err
	})
}

// launchSink starts bench/udpsink, the bare receiver; accepted lines are
// what its /count endpoint answers.
func launchSink(ctx context.Context, o *options, dir string) (*target, error) {
	sp, hp, err := twoPorts()
	if err != nil {
		return nil, err
	}
	udp := "127.0.0.1:" + strconv.Itoa(sp)
	web := "127.0.0.1:" + strconv.Itoa(hp)
	p, err := startProcess(nameBare, dir, filepath.Join(dir, "udpsink.log"), sinkBin(o), "-addr", udp, "-http", web)
	if err != nil {
		return nil, err
	}
	count := func(ctx context.Context) (int64, error) {
		b, err := httpGet(ctx, "http://"+web+"/count")
		if err != nil {
			return 0, err
		}
		n, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("udpsink count %q: %w", b, err)
		}
		return n, nil
	}
	t := &target{name: nameBare, udpAddr: udp, proc: p, count: count}
	return t, waitFor(ctx, p, startTimeout, func(ctx context.Context) error {
		_, err := count(ctx)
		return err
	})
}

// twoPorts returns two distinct free ports.
func twoPorts() (int, int, error) {
	a, err := freePort()
	if err != nil {
		return 0, 0, err
	}
	for range 10 {
		b, err := freePort()
		if err != nil {
			return 0, 0, err
		}
		if b != a {
			return a, b, nil
		}
	}
	return 0, 0, fmt.Errorf("no second free port")
}

// rmemMax is net.core.rmem_max, or 0 when unknown.
func rmemMax() int {
	b, err := os.ReadFile("/proc/sys/net/core/rmem_max")
	if err != nil {
		return 0
	}
	n, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return n
}
