package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"sync"

	"github.com/VictoriaMetrics/metrics"

	"github.com/wardmetrics/ward/api"
	"github.com/wardmetrics/ward/ingest"
	"github.com/wardmetrics/ward/ingest/memcache"
	"github.com/wardmetrics/ward/ingest/statsd"
	"github.com/wardmetrics/ward/tsdb"
)

// Run starts Ward and blocks until ctx is cancelled (SIGTERM) or a part fails. On the
// way out it stops the listeners, flushes what the aggregator holds into storage, and
// closes storage last, so a clean stop loses nothing that was accepted.
func Run(ctx context.Context, o Options) (err error) {
	o.ensureDefaults()
	log := o.Logger
	token, err := o.authToken()
	if err != nil {
		return err
	}
	if err := validateRemoteWriteOnly(o); err != nil {
		return err
	}
	set := metrics.NewSet()

	db, err := tsdb.Open(o.DataDir, tsdb.Options{
		RetentionRaw:     o.RetentionRaw,
		Retention5m:      o.Retention5m,
		Retention1h:      o.Retention1h,
		OutOfOrderWindow: o.OutOfOrderWindow,
		Sync:             syncPolicy(o.NoFsync),
		DiskReserve:      o.DiskReserve,
		DiskBallast:      ballastSize(o.DiskBallast),
		MaintenanceEvery: o.StorageMaintenanceEvery,
		Logger:           log.With("component", "tsdb"),
	}, set)
	if err != nil {
		return fmt.Errorf("open storage in %s: %w", o.DataDir, err)
	}
	defer func() {
		if cerr := db.Close(); cerr != nil {
			err = errors.Join(err, fmt.Errorf("close storage: %w", cerr))
		}
	}()

	sink := newStorageSink(db, log, set)
	rp, err := newRemote(o, db, set)
	if err != nil {
		return err
	}
	sink.remote = rp
	last := newLastValues(db, o.RetentionRaw)
	if o.RemoteWriteOnly {
		sink.last = last
	}
	health := newStorageHealth(log, set)
	health.refused = db.WriteRefused
	agg, err := ingest.NewAggregator(ingest.Options{
		FlushInterval: o.FlushInterval,
		IdleExpiry:    o.IdleExpiry,
		MaxSeries:     o.MaxSeries,
		Logger:        log.With("component", "aggregator"),
	}, healthSink{next: sink, health: health}, set)
	if err != nil {
		return fmt.Errorf("start aggregator: %w", err)
	}
	if err := restore(db, last, agg); err != nil {
		return err
	}

	alerts, err := newAlerting(o, db, rp, set)
	if err != nil {
		return err
	}
	guard, err := newGuard(o, db, rp, set)
	if err != nil {
		return err
	}

	exps, err := newExperiments(o, db, rp, set)
	if err != nil {
		return err
	}

	// Parts that accept input. Each binds in its constructor so that a port in use
	// fails the start instead of a later goroutine.
	var runners []runner
	var closers []func() error
	defer func() {
		for _, c := range closers {
			_ = c()
		}
	}()
	if o.StatsdAddr != "" || o.StatsdUnixgram != "" || o.StatsdUnix != "" {
		srv, err := statsd.NewServer(statsd.ServerOptions{
			Addr:         o.StatsdAddr,
			UnixgramPath: o.StatsdUnixgram,
			UnixPath:     o.StatsdUnix,
			Parse:        statsd.ParseOptions{DogStatsDGauges: o.GaugeDeltaValues},
		}, agg, set)
		if err != nil {
			return fmt.Errorf("start statsd listener on %q: %w", o.StatsdAddr, err)
		}
		closers = append(closers, srv.Close)
		runners = append(runners, runner{"statsd", srv.Run})
		log.Info("statsd listening", "udp", addrString(srv.UDPAddr()), "tcp", addrString(srv.TCPAddr()))
	}
	if o.MemcacheAddr != "" {
		srv, err := memcache.NewServer(memcache.Options{Addr: o.MemcacheAddr, Version: o.Version}, agg, nil, set)
		if err != nil {
			return fmt.Errorf("start memcache listener on %q: %w", o.MemcacheAddr, err)
		}
		closers = append(closers, srv.Close)
		runners = append(runners, runner{"memcache", srv.Run})
		log.Info("memcache listening", "addr", srv.TCPAddr().String())
	}
	if o.HTTPAddr != "" {
		srv, err := newAPI(o, token, db, agg, set, health.ready)
		if err != nil {
			return err
		}
		if o.RemoteWriteOnly {
			// Local storage holds no samples: the query API reads where they went.
			if err := srv.ProxyQueries(o.QueryURL, api.ProxyOptions{Timeout: o.QueryTimeout}); err != nil {
				return fmt.Errorf("--query-url %s: %w", o.QueryURL, err)
			}
		}
		srv.MountRules(rulesAPI{alerts.manager})
		srv.MountDeploys(deployAPI{guard})
		hub, uiRunners, err := mountUI(o, srv, db, rp, alerts, set)
		if err != nil {
			return err
		}
		sink.onFlush = hub.Notify // set before the aggregator runs, so no flush races it
		closers = append(closers, hub.Close)
		runners = append(runners, uiRunners...)
		srv.MountExperiments(exps)
		ln, err := net.Listen("tcp", o.HTTPAddr)
		if err != nil {
			return fmt.Errorf("listen http on %q: %w", o.HTTPAddr, err)
		}
		closers = append(closers, func() error { return ignoreClosed(ln.Close()) })
		runners = append(runners, runner{"http", func(ctx context.Context) error { return srv.Serve(ctx, ln) }})
		log.Info("http listening", "addr", ln.Addr().String())
	}

	// The aggregator outlives the listeners: it gets its own context, cancelled only
	// after every listener has returned, and then makes its final flush.
	aggCtx, aggStop := context.WithCancel(context.WithoutCancel(ctx))
	defer aggStop()
	aggDone := make(chan error, 1)
	go func() { aggDone <- agg.Run(aggCtx) }()

	runners = append(runners, alerts.runners(o)...)
	runners = append(runners, guardRunners(o, guard)...)
	runners = append(runners, rp.runners()...)
	runners = append(runners, runner{"experiments", exps.Run})
	runErr := runAll(ctx, log, runners)
	aggStop()
	if ferr := <-aggDone; ferr != nil && !errors.Is(ferr, context.Canceled) {
		runErr = errors.Join(runErr, fmt.Errorf("final flush: %w", ferr))
	}
	log.Info("stopped", "data", o.DataDir)
	return runErr
}

type runner struct {
	name string
	run  func(context.Context) error
}

// runAll runs every part until ctx is done or one of them fails, then stops the rest and
// waits for all of them.
func runAll(ctx context.Context, log *slog.Logger, rs []runner) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	for _, r := range rs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := r.run(ctx)
			if err != nil && !errors.Is(err, context.Canceled) {
				log.Error("part failed", "part", r.name, "err", err)
				mu.Lock()
				errs = append(errs, fmt.Errorf("%s: %w", r.name, err))
				mu.Unlock()
			}
			cancel()
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// restore seeds the aggregator with the stored totals so counters continue after a
// restart instead of resetting. Totals come from the newest of two places: the last
// samples in storage (written in the default mode) and the last values the sink saves
// in --remote-write-only mode, so that switching between the modes keeps the counters
// going. Saved values older than the raw retention are forgotten, as their samples
// would be.
func restore(db *tsdb.DB, lv *lastValues, agg *ingest.Aggregator) error {
	stored, err := db.LastValues()
	if err != nil {
		return fmt.Errorf("read last values for counter restore: %w", err)
	}
	saved, err := lv.load()
	if err != nil {
		return fmt.Errorf("read saved last values for counter restore: %w", err)
	}
	newest := make(map[string]int, len(stored)+len(saved))
	samples := make([]ingest.Sample, 0, len(stored)+len(saved))
	var key []byte
	for _, s := range slices.Concat(stored, saved) {
		key = tsdb.EncodeLabels(key[:0], s.Labels)
		if i, ok := newest[string(key)]; ok {
			if s.T > samples[i].T {
				samples[i] = ingest.Sample{Labels: s.Labels, T: s.T, V: s.V}
			}
			continue
		}
		newest[string(key)] = len(samples)
		samples = append(samples, ingest.Sample{Labels: s.Labels, T: s.T, V: s.V})
	}
	agg.Restore(samples)
	return nil
}

// ballastSize maps the daemon's zero-means-default ballast option to tsdb's.
func ballastSize(b int64) int64 {
	switch {
	case b == 0:
		return tsdb.AutoBallast
	case b < 0:
		return 0
	}
	return b
}

func syncPolicy(noFsync bool) tsdb.SyncPolicy {
	if noFsync {
		return tsdb.SyncNone
	}
	return tsdb.SyncEachBatch
}

func addrString(a net.Addr) string {
	if a == nil {
		return ""
	}
	return a.String()
}

func ignoreClosed(err error) error {
	if errors.Is(err, net.ErrClosed) {
		return nil
	}
	return err
}
