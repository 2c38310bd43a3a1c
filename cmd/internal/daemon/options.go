// Package daemon builds Ward's parts in order and stops them in reverse: it is the one
// owner of the daemon's life. Storage opens first and closes last; listeners start last
// and stop first, so that everything accepted is flushed before the storage closes.
package daemon

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strings"
	"time"
)

// Options are the daemon's settings; cmd/ward fills them from flags and the config file.
// The zero value of each field means its documented default.
type Options struct {
	Version string

	DataDir          string
	HTTPAddr         string // empty: no HTTP server
	StatsdAddr       string // empty: no statsd UDP/TCP listener
	StatsdUnixgram   string
	StatsdUnix       string
	GaugeDeltaValues bool // DogStatsD reading of "-5" on gauges (the value, not a delta)
	MemcacheAddr     string

	FlushInterval time.Duration
	IdleExpiry    time.Duration
	MaxSeries     int

	RetentionRaw     time.Duration
	Retention5m      time.Duration
	Retention1h      time.Duration
	OutOfOrderWindow time.Duration
	NoFsync          bool
	// DiskReserve is the free space (bytes) storage leaves on the data directory's file
	// system: writes are refused below it (flushes fail, /-/ready says why, totals stay
	// in memory) and resume by themselves above it. 0: 1% of the file system, 64 MiB to
	// 1 GiB; negative: no check. DiskBallast is the size of the ballast file freed when
	// the disk fills anyway; 0: the reserve's size up to 64 MiB; negative: none.
	DiskReserve, DiskBallast int64
	// StorageMaintenanceEvery is how often storage rolls up and enforces retention
	// (0: one minute); tests shorten it.
	StorageMaintenanceEvery time.Duration

	RuleGlobs       []string
	ExperimentGlobs []string
	// ConfigFile is the YAML config file, read again here for the sections that are not
	// flags (the `notify:` receivers).
	ConfigFile string
	// ExternalURL is Ward's URL as users reach it, put in notifications.
	ExternalURL string

	AuthTokenFile string
	AuthReads     bool
	Insecure      bool

	QueryTimeout    time.Duration
	QueryMaxSamples int

	// RemoteWriteURLs receive every flush with the Prometheus remote-write protocol,
	// each through its own on-disk queue of at most RemoteQueueMaxBytes (0: 1 GiB).
	RemoteWriteURLs     []string
	RemoteQueueMaxBytes int64
	// RemoteWriteLabels are added to every series sent that lacks them (Prometheus'
	// external labels), e.g. instance=ward-1 to keep several nodes' series apart.
	RemoteWriteLabels map[string]string
	// QueryURL, when set, is the Prometheus-compatible endpoint rules and the guard
	// query instead of local storage.
	QueryURL string
	// RemoteWriteOnly sends flushes (and rule and experiment samples) only to the
	// remote-write queues, not into local storage, and serves the query API's reads
	// from QueryURL. It needs RemoteWriteURLs and QueryURL.
	RemoteWriteOnly bool

	Logger *slog.Logger
}

func (o *Options) ensureDefaults() {
	if o.DataDir == "" {
		o.DataDir = "./data"
	}
	if o.FlushInterval <= 0 {
		o.FlushInterval = 10 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	if o.Version == "" {
		o.Version = "dev"
	}
}

// authToken reads the bearer token and enforces the rule that a daemon listening beyond
// loopback must not accept writes from anyone who can reach it.
func (o *Options) authToken() (string, error) {
	var token string
	if o.AuthTokenFile != "" {
		b, err := os.ReadFile(o.AuthTokenFile)
		if err != nil {
			return "", fmt.Errorf("read auth token file: %w", err)
		}
		token = strings.TrimSpace(string(b))
		if token == "" {
			return "", fmt.Errorf("auth token file %s is empty", o.AuthTokenFile)
		}
	}
	if token == "" && o.HTTPAddr != "" && !isLoopback(o.HTTPAddr) && !o.Insecure {
		return "", errors.New("--http " + o.HTTPAddr + " listens beyond loopback: give --auth-token-file, or --insecure to accept writes from anyone")
	}
	return token, nil
}

// isLoopback reports whether a listen address only accepts local connections.
func isLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
