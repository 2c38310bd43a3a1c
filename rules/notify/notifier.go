package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
)

// DefaultTickInterval is how often Run re-examines every webhook group for
// repeat intervals and expired alerts.
const DefaultTickInterval = 30 * time.Second

// Options are the notifier's dependencies. The zero value works: no
// persistence, a private metrics set, the wall clock.
type Options struct {
	// Store persists the notification log so that a restart does not notify
	// again. Nil keeps it in memory only.
	Store Store
	// Metrics receives ward_notify_* metrics.
	Metrics *metrics.Set
	// Now is the clock deciding repeat intervals and resolution; tests pass
	// the same clock as the rule manager's.
	Now func() time.Time
	// ExternalURL is Ward's URL as users reach it, put in webhook payloads.
	ExternalURL string
	// Client sends the requests; nil uses a private transport whose idle
	// connections are closed when Run returns.
	Client *http.Client
	// Logger receives delivery failures.
	Logger *slog.Logger
	// TickInterval is how often Run re-examines groups (default 30s).
	TickInterval time.Duration
}

// Notifier fans alerts out to receivers. Notify never blocks; delivery
// happens in Run's goroutines.
type Notifier struct {
	opts      Options
	client    *http.Client
	ownClient bool
	receivers []*receiver
	running   atomic.Bool
}

// New builds a notifier for cfg and loads the persisted notification log.
// It starts nothing; call Run.
func New(cfg Config, opts Options) (*Notifier, error) {
	cfg.EnsureDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if opts.Metrics == nil {
		opts.Metrics = metrics.NewSet()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.TickInterval <= 0 {
		opts.TickInterval = DefaultTickInterval
	}
	n := &Notifier{opts: opts, client: opts.Client}
	if n.client == nil {
		n.client = &http.Client{Transport: &http.Transport{
			Proxy:               http.ProxyFromEnvironment,
			MaxIdleConnsPerHost: 4,
			IdleConnTimeout:     90 * time.Second,
		}}
		n.ownClient = true
	}
	for _, rc := range cfg.Receivers {
		r, err := newReceiver(n, rc)
		if err != nil {
			return nil, fmt.Errorf("notify: receiver %q: %w", rc.Name, err)
		}
		n.receivers = append(n.receivers, r)
	}
	if err := n.loadLog(); err != nil {
		return nil, err
	}
	return n, nil
}

func (n *Notifier) now() time.Time { return n.opts.Now() }

// loadLog restores each webhook receiver's notification log.
func (n *Notifier) loadLog() error {
	if n.opts.Store == nil {
		return nil
	}
	byName := map[string]*receiver{}
	for _, r := range n.receivers {
		byName[r.cfg.Name] = r
	}
	type kv struct{ k, v []byte }
	var entries []kv
	err := n.opts.Store.Scan([]byte(logPrefix), func(k, v []byte) error {
		entries = append(entries, kv{append([]byte(nil), k...), append([]byte(nil), v...)})
		return nil
	})
	if err != nil {
		return fmt.Errorf("notify: scan notification log: %w", err)
	}
	var errs []error
	for _, e := range entries {
		rest := strings.TrimPrefix(string(e.k), logPrefix)
		name, groupKey, ok := strings.Cut(rest, "\x00")
		r := byName[name]
		if !ok || r == nil || r.cfg.Type != TypeWebhook {
			// A receiver that no longer exists: its log is of no use.
			if err := n.opts.Store.Delete(e.k); err != nil {
				errs = append(errs, fmt.Errorf("notify: delete stale log entry %q: %w", e.k, err))
			}
			continue
		}
		entry, err := decodeEntry(e.k, e.v)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		r.groups[groupKey] = &group{key: groupKey, alerts: map[model.Fingerprint]Alert{}, entry: entry, labels: labels.EmptyLabels()}
	}
	return errors.Join(errs...)
}

// Notify files alerts with every receiver whose matchers they satisfy and
// queues whatever notifications are due. It does not block on delivery.
func (n *Notifier) Notify(alerts ...Alert) {
	if len(alerts) == 0 {
		return
	}
	now := n.now()
	for _, r := range n.receivers {
		r.notify(alerts, now)
	}
}

// Run delivers queued notifications, one worker per receiver, until ctx is
// cancelled. Notifications still queued then are abandoned.
func (n *Notifier) Run(ctx context.Context) error {
	if !n.running.CompareAndSwap(false, true) {
		return errors.New("notify: Run called twice")
	}
	defer n.running.Store(false)
	var wg sync.WaitGroup
	for _, r := range n.receivers {
		wg.Go(func() { r.run(ctx) })
	}
	wg.Go(func() {
		t := time.NewTicker(n.opts.TickInterval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				n.tick()
			}
		}
	})
	wg.Wait()
	if n.ownClient {
		n.client.CloseIdleConnections()
	}
	return nil
}

// tick re-examines every group at the current time.
func (n *Notifier) tick() {
	now := n.now()
	for _, r := range n.receivers {
		r.flushAll(now)
	}
}
