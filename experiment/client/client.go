// Package client assigns experiment branches inside an application, with no call to
// Ward per assignment: it fetches the definitions over HTTP, caches them, hashes user
// ids locally exactly as the server does (with experiment/spec's Assigner), and sends
// first exposures and events to Ward in batches from a bounded queue. It imports nothing
// outside the standard library but spec.
//
//	c, err := client.New(client.Options{URL: "http://127.0.0.1:8080"})
//	...
//	if err := c.Refresh(ctx); err != nil { ... } // optional: have definitions before serving
//	c.Start(ctx)
//	defer c.Close(context.Background())
//	if c.Assign("checkout-button", uid) == "green" { ... }
//	c.Track(uid, "order", 1)
//
// Stickiness: a user keeps the first branch this client gave them, even if the weights
// change, for as long as the client remembers them (Options.MaxSticky users per
// experiment). The server keeps every user's first branch forever and answers a
// correction when a client sends a different one (after a restart and a weight change,
// for example); the client sticks to the server's branch from then on.
package client

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wardmetrics/ward/experiment/spec"
)

// Options configure a Client. Only URL is required.
type Options struct {
	// URL is Ward's base URL, e.g. "http://127.0.0.1:8080".
	URL string
	// Token, if set, is sent as "Authorization: Bearer <token>".
	Token string
	// HTTPClient makes the requests; nil means a client with a 10 s timeout.
	HTTPClient *http.Client
	// RefreshInterval is how often definitions are fetched; 0 means 30 s.
	RefreshInterval time.Duration
	// FlushInterval is how often queued exposures and events are sent; 0 means 1 s.
	// A full batch is sent at once.
	FlushInterval time.Duration
	// BatchSize is the most items per request; 0 means 1000.
	BatchSize int
	// QueueSize bounds the exposures and events waiting to be sent (each); beyond it
	// new ones are dropped and counted, so a Ward outage never grows the app's memory.
	// 0 means 100,000.
	QueueSize int
	// MaxSticky bounds the users remembered per experiment; 0 means 1,048,576. When a
	// shard of the memory fills it is cleared; forgotten users are assigned by hash
	// again, and corrected by the server if their weights changed meanwhile.
	MaxSticky int
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Logger receives background failures; nil discards them.
	Logger *slog.Logger
}

func (o *Options) ensureDefaults() error {
	if o.URL == "" {
		return errors.New("experiment client: Options.URL is required")
	}
	o.URL = strings.TrimRight(o.URL, "/")
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	if o.RefreshInterval <= 0 {
		o.RefreshInterval = 30 * time.Second
	}
	if o.FlushInterval <= 0 {
		o.FlushInterval = time.Second
	}
	if o.BatchSize <= 0 {
		o.BatchSize = 1000
	}
	if o.QueueSize <= 0 {
		o.QueueSize = 100_000
	}
	if o.MaxSticky <= 0 {
		o.MaxSticky = 1 << 20
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return nil
}

// Stats are the client's counters, for the app's own monitoring.
type Stats struct {
	Experiments      int   // definitions cached
	Refreshes        int64 // successful definition fetches
	RefreshErrors    int64
	ExposuresQueued  int64
	ExposuresSent    int64
	ExposuresDropped int64 // queue full, or given up at Close
	EventsQueued     int64
	EventsSent       int64
	EventsDropped    int64
	SendErrors       int64
	Corrections      int64 // server-recorded branches that differed from the client's
}

// Client assigns in-process. It is safe for concurrent use. New starts nothing; Start
// runs the background refresh and flush until Close.
type Client struct {
	opts  Options
	seed  maphash.Seed
	defs  atomic.Pointer[defSet]
	queue queue

	startMu sync.Mutex
	cancel  context.CancelFunc
	done    chan struct{}
	closed  bool
	wake    chan struct{}

	refreshes, refreshErrors, sendErrors, corrections atomic.Int64
}

// defSet is an immutable snapshot of the definitions, swapped whole on refresh so that
// Assign reads it without a lock.
type defSet struct {
	generation int64
	byName     map[string]*entry
}

// entry is one experiment: its assigner and the users this client has exposed.
type entry struct {
	asg    *spec.Assigner
	clock  bool // the definition has a start or end, so Assign needs the time
	sticky *stickySet
}

// New checks the options and returns a Client with no definitions yet: until the first
// refresh, Assign answers "" for every experiment.
func New(opts Options) (*Client, error) {
	if err := opts.ensureDefaults(); err != nil {
		return nil, err
	}
	c := &Client{opts: opts, seed: maphash.MakeSeed(), wake: make(chan struct{}, 1)}
	c.queue.init(opts.QueueSize, opts.BatchSize)
	c.defs.Store(&defSet{generation: -1, byName: map[string]*entry{}})
	return c, nil
}

// Assign returns uid's branch in the experiment and queues the first exposure. It
// returns "" for an experiment the client does not know (apps then show their default,
// which should be control's behaviour).
func (c *Client) Assign(name, uid string) string { return c.AssignRole(name, uid, "").Branch }

// AssignRole is Assign with the user's role, which QA mode needs ("qa" or "admin").
func (c *Client) AssignRole(name, uid, role string) spec.Assignment {
	e := c.defs.Load().byName[name]
	if e == nil {
		return spec.Assignment{Index: -1, Reason: spec.ReasonUnknown}
	}
	var now time.Time
	if e.clock {
		now = c.opts.Now()
	}
	as, enter := e.asg.Gate(uid, role, now)
	if !enter {
		return as
	}
	// Returning users are looked up before hashing: their first branch wins anyway.
	h := maphash.String(c.seed, uid)
	if idx, ok := e.sticky.get(h); ok {
		return e.remembered(idx)
	}
	as = e.asg.Randomise(uid)
	if idx, seen := e.sticky.getOrPut(h, uint8(as.Index)); seen {
		return e.remembered(idx) // another goroutine exposed them meanwhile
	}
	if now.IsZero() {
		now = c.opts.Now()
	}
	if c.queue.addExposure(spec.Exposure{Experiment: name, UID: uid, Branch: as.Branch, Time: now}) {
		c.signal()
	}
	return as
}

// Peek returns uid's branch without recording anything, for previews and debugging.
func (c *Client) Peek(name, uid, role string) spec.Assignment {
	e := c.defs.Load().byName[name]
	if e == nil {
		return spec.Assignment{Index: -1, Reason: spec.ReasonUnknown}
	}
	as := e.asg.Assign(uid, role, c.opts.Now())
	if as.Record {
		if idx, ok := e.sticky.get(maphash.String(c.seed, uid)); ok {
			return e.remembered(idx)
		}
	}
	return as
}

// Track queues an event (a login, an order, revenue in cents) at the current time.
func (c *Client) Track(uid, metric string, value float64) {
	c.TrackEvent(spec.Event{UID: uid, Metric: metric, Value: value, Time: c.opts.Now()})
}

// TrackEvent queues an event; a zero Time means when Ward receives it.
func (c *Client) TrackEvent(ev spec.Event) {
	if c.queue.addEvent(ev) {
		c.signal()
	}
}

func (c *Client) signal() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// sticky_ is the assignment of a remembered user.
func (e *entry) remembered(idx uint8) spec.Assignment {
	return spec.Assignment{Branch: e.asg.BranchName(int(idx)), Index: int(idx), Record: true, Reason: spec.ReasonSticky}
}

// Stats returns the client's counters.
func (c *Client) Stats() Stats {
	q := c.queue.stats()
	return Stats{
		Experiments:      len(c.defs.Load().byName),
		Refreshes:        c.refreshes.Load(),
		RefreshErrors:    c.refreshErrors.Load(),
		ExposuresQueued:  q.exposuresQueued,
		ExposuresSent:    q.exposuresSent,
		ExposuresDropped: q.exposuresDropped,
		EventsQueued:     q.eventsQueued,
		EventsSent:       q.eventsSent,
		EventsDropped:    q.eventsDropped,
		SendErrors:       c.sendErrors.Load(),
		Corrections:      c.corrections.Load(),
	}
}

// Start runs the background refresh and flush loop until Close. The first refresh
// happens at once; Start itself does not wait for the network.
func (c *Client) Start(ctx context.Context) error {
	c.startMu.Lock()
	defer c.startMu.Unlock()
	if c.closed {
		return errors.New("experiment client: start after close")
	}
	if c.cancel != nil {
		return errors.New("experiment client: already started")
	}
	ctx, c.cancel = context.WithCancel(ctx)
	c.done = make(chan struct{})
	go c.run(ctx)
	return nil
}

func (c *Client) run(ctx context.Context) {
	defer close(c.done)
	refresh := time.NewTicker(c.opts.RefreshInterval)
	defer refresh.Stop()
	flush := time.NewTicker(c.opts.FlushInterval)
	defer flush.Stop()
	c.backgroundRefresh(ctx)
	for {
		select {
		case <-ctx.Done():
			return
		case <-refresh.C:
			c.backgroundRefresh(ctx)
		case <-flush.C:
			c.backgroundFlush(ctx)
		case <-c.wake:
			c.backgroundFlush(ctx)
		}
	}
}

func (c *Client) backgroundRefresh(ctx context.Context) {
	if err := c.Refresh(ctx); err != nil && ctx.Err() == nil {
		c.opts.Logger.Warn("experiment client: refresh failed", "err", err)
	}
}

func (c *Client) backgroundFlush(ctx context.Context) {
	if err := c.flush(ctx, false); err != nil && ctx.Err() == nil {
		c.opts.Logger.Warn("experiment client: send failed", "err", err)
	}
}

// Close stops the background loop and sends what is queued, until ctx is done. What
// cannot be sent is dropped and counted; the error says how much.
func (c *Client) Close(ctx context.Context) error {
	c.startMu.Lock()
	if c.closed {
		c.startMu.Unlock()
		return nil
	}
	c.closed = true
	cancel, done := c.cancel, c.done
	c.startMu.Unlock()
	if cancel != nil {
		cancel()
		<-done
	}
	err := c.flush(ctx, true)
	if x, ev := c.queue.dropAll(); x+ev > 0 {
		err = errors.Join(err, fmt.Errorf("experiment client: close: dropped %d exposures and %d events not sent", x, ev))
	}
	return err
}

// Flush sends everything queued now.
func (c *Client) Flush(ctx context.Context) error { return c.flush(ctx, true) }
