package main

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"os"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/prometheus/common/model"

	"github.com/wardmetrics/ward/cmd/internal/daemon"
)

// duration accepts Prometheus-style durations ("15d", "2y", "90s") in flags and config.
type duration time.Duration

func (d *duration) UnmarshalText(b []byte) error {
	v, err := model.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("parse duration %q: %w", b, err)
	}
	*d = duration(v)
	return nil
}

// diskSize accepts a byte size ("512MiB", "2G", "1048576"), "auto" (0: the daemon's
// default) or "off" (-1).
type diskSize int64

func (d *diskSize) UnmarshalText(b []byte) error {
	s := strings.TrimSpace(string(b))
	switch strings.ToLower(s) {
	case "auto":
		*d = 0
		return nil
	case "off", "none":
		*d = -1
		return nil
	}
	num := strings.TrimRightFunc(s, unicode.IsLetter)
	mult := int64(1)
	switch strings.ToLower(strings.TrimSpace(s[len(num):])) {
	case "", "b":
	case "k", "kb", "kib":
		mult = 1 << 10
	case "m", "mb", "mib":
		mult = 1 << 20
	case "g", "gb", "gib":
		mult = 1 << 30
	case "t", "tb", "tib":
		mult = 1 << 40
	default:
		return fmt.Errorf("size %q: unknown unit (use B, KiB, MiB, GiB or TiB)", s)
	}
	n, err := strconv.ParseFloat(strings.TrimSpace(num), 64)
	if err != nil || n <= 0 || n*float64(mult) >= math.MaxInt64 {
		return fmt.Errorf("size %q: want a positive size, auto or off", s)
	}
	*d = diskSize(n * float64(mult))
	return nil
}

type serveCmd struct {
	Data            string   `help:"Data directory (Pebble)." default:"./data"`
	HTTP            string   `name:"http" help:"HTTP listen address (API, UI, /metrics). Empty turns it off." default:"127.0.0.1:8080"`
	Statsd          string   `help:"statsd UDP and TCP listen address. Empty turns it off." default:"127.0.0.1:8125"`
	StatsdUnixgram  string   `help:"statsd unix datagram socket path (off when empty)." placeholder:"PATH"`
	StatsdUnix      string   `help:"statsd unix stream socket path (off when empty)." placeholder:"PATH"`
	GaugeDeltas     string   `help:"How a signed gauge value like '-5' is read: 'etsy' (a delta) or 'dogstatsd' (the value -5)." enum:"etsy,dogstatsd" default:"etsy"`
	Memcache        string   `help:"memcached-protocol TCP and UDP listen address. Empty turns it off." default:"127.0.0.1:11211"`
	FlushInterval   duration `help:"Aggregation interval: every interval one batch is written to storage." default:"10s"`
	IdleExpiry      duration `help:"How long an idle counter keeps being emitted (unchanged) before it is dropped." default:"5m"`
	RetentionRaw    duration `help:"Retention of raw samples." default:"15d"`
	Retention5m     duration `name:"retention-5m" help:"Retention of 5-minute rollups." default:"180d"`
	Retention1h     duration `name:"retention-1h" help:"Retention of 1-hour rollups." default:"2y"`
	OutOfOrder      duration `help:"Window inside which out-of-order and duplicate samples are accepted (last write wins)." default:"1h"`
	Fsync           bool     `help:"fsync every flush batch (loses at most one flush interval on power loss)." default:"true" negatable:""`
	DiskReserve     diskSize `help:"Free space kept on the data directory's file system: below it storage writes are refused (totals stay in memory, /-/ready fails) until space returns. 'auto': 1% of the file system, 64MiB to 1GiB; 'off': no check." default:"auto" placeholder:"SIZE"`
	DiskBallast     diskSize `help:"Size of a ballast file kept in the data directory and removed if the disk fills anyway, so storage can finish its writes. 'auto': the reserve, at most 64MiB; 'off': none." default:"auto" placeholder:"SIZE"`
	MaintainEvery   duration `name:"storage-maintenance-every" hidden:"" help:"How often storage rolls up and enforces retention (tests shorten it)." default:"1m"`
	Rules           []string `help:"Rule file globs (Prometheus rule-file YAML plus Ward's extensions)." placeholder:"GLOB"`
	Experiments     []string `help:"Experiment definition file globs (YAML), applied at start." placeholder:"GLOB"`
	AuthTokenFile   string   `help:"File holding the bearer token that mutating HTTP endpoints require." placeholder:"FILE"`
	AuthReads       bool     `help:"Require the bearer token for reads too."`
	Insecure        bool     `help:"Allow listening beyond loopback without an auth token."`
	MaxSeries       int      `help:"Limit of distinct series held by the aggregator (0: default)."`
	QueryTimeout    duration `help:"PromQL query timeout." default:"2m"`
	QueryMaxSamples int      `help:"Maximum samples a query may load at once." default:"50000000"`
	ExternalURL     string   `help:"Ward's URL as users reach it, used in notifications." placeholder:"URL"`
	LogLevel        string   `help:"Log level." enum:"debug,info,warn,error" default:"info"`

	RemoteWriteURL      []string          `name:"remote-write-url" help:"Also send every flush to this Prometheus remote-write endpoint (repeatable), through an on-disk queue." placeholder:"URL"`
	RemoteQueueMaxBytes int64             `help:"Bound of each remote-write queue on disk, in bytes; past it the oldest requests are dropped." default:"1073741824"`
	RemoteWriteLabel    map[string]string `name:"remote-write-label" help:"Label added to every series sent to the remote-write URLs (repeatable), e.g. instance=ward-1 to keep nodes apart." placeholder:"NAME=VALUE"`
	QueryURL            string            `name:"query-url" help:"Prometheus-compatible endpoint (e.g. a VictoriaMetrics cluster's vmselect) that rules and the guard query instead of local storage." placeholder:"URL"`
	RemoteWriteOnly     bool              `name:"remote-write-only" help:"Send flushes only to the --remote-write-url queues, not into local storage, and serve the query API (query, query_range, series, labels, label values) from --query-url; both are required. Counter totals still continue across restarts."`

	configFile string // the global --config, for sections that are not flags
}

func (c *serveCmd) Run(ctx context.Context) error {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(c.LogLevel)); err != nil {
		return fmt.Errorf("log level %q: %w", c.LogLevel, err)
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: lvl}))
	opts := daemon.Options{
		Version:                 version,
		DataDir:                 c.Data,
		HTTPAddr:                c.HTTP,
		StatsdAddr:              c.Statsd,
		StatsdUnixgram:          c.StatsdUnixgram,
		StatsdUnix:              c.StatsdUnix,
		GaugeDeltaValues:        c.GaugeDeltas == "dogstatsd",
		MemcacheAddr:            c.Memcache,
		FlushInterval:           time.Duration(c.FlushInterval),
		IdleExpiry:              time.Duration(c.IdleExpiry),
		RetentionRaw:            time.Duration(c.RetentionRaw),
		Retention5m:             time.Duration(c.Retention5m),
		Retention1h:             time.Duration(c.Retention1h),
		OutOfOrderWindow:        time.Duration(c.OutOfOrder),
		NoFsync:                 !c.Fsync,
		DiskReserve:             int64(c.DiskReserve),
		DiskBallast:             int64(c.DiskBallast),
		StorageMaintenanceEvery: time.Duration(c.MaintainEvery),
		RuleGlobs:               c.Rules,
		ConfigFile:              c.configFile,
		ExperimentGlobs:         c.Experiments,
		ExternalURL:             c.ExternalURL,
		AuthTokenFile:           c.AuthTokenFile,
		AuthReads:               c.AuthReads,
		Insecure:                c.Insecure,
		MaxSeries:               c.MaxSeries,
		QueryTimeout:            time.Duration(c.QueryTimeout),
		QueryMaxSamples:         c.QueryMaxSamples,
		Logger:                  logger,
	}
	opts.RemoteWriteURLs = c.RemoteWriteURL
	opts.RemoteQueueMaxBytes = c.RemoteQueueMaxBytes
	opts.RemoteWriteLabels = c.RemoteWriteLabel
	opts.QueryURL = c.QueryURL
	opts.RemoteWriteOnly = c.RemoteWriteOnly
	return daemon.Run(ctx, opts)
}
