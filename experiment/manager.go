package experiment

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"hash/maphash"
	"log/slog"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/VictoriaMetrics/metrics"
)

// Options configure a Manager. The zero value works.
type Options struct {
	// Now is the clock; nil means time.Now. Tests pass a fixed clock.
	Now func() time.Time
	// SeriesInterval is how often Run appends the experiments' time series; 0 means 10s.
	SeriesInterval time.Duration
	// Logger receives failures of background work; nil discards them.
	Logger *slog.Logger
}

// EnsureDefaults fills the zero fields with their defaults.
func (o *Options) EnsureDefaults() {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.SeriesInterval <= 0 {
		o.SeriesInterval = 10 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
}

// Manager owns the experiments: their definitions and history, exposures, per-user event
// totals and results. It is safe for concurrent use. Its only background work is Run,
// which the caller owns.
type Manager struct {
	store Store
	app   Appender
	opts  Options
	met   *selfMetrics
	seed  maphash.Seed

	adminMu sync.Mutex   // serialises definition changes
	mu      sync.RWMutex // guards exps
	exps    map[string]*experiment

	lastStoreLog atomic.Int64 // unix ns of the last logged store error
}

// logStoreError logs a store failure on a request path at most every 10 seconds, so
// that a failing disk does not flood the log; every failure is counted anyway.
func (m *Manager) logStoreError(err error) {
	now := time.Now().UnixNano()
	last := m.lastStoreLog.Load()
	if now-last < int64(10*time.Second) || !m.lastStoreLog.CompareAndSwap(last, now) {
		return
	}
	m.opts.Logger.Error("experiment: store write failed", "err", err)
}

// Open loads every experiment from the store and returns a Manager. app may be nil, in
// which case no time series are written. set receives the Manager's own metrics.
func Open(store Store, app Appender, set *metrics.Set, opts Options) (*Manager, error) {
	if store == nil {
		return nil, errors.New("experiment: open: nil store")
	}
	if set == nil {
		return nil, errors.New("experiment: open: nil metrics set")
	}
	opts.EnsureDefaults()
	m := &Manager{
		store: store,
		app:   app,
		opts:  opts,
		met:   newSelfMetrics(set),
		seed:  maphash.MakeSeed(),
		exps:  map[string]*experiment{},
	}
	if err := m.load(); err != nil {
		return nil, err
	}
	set.GetOrCreateGauge("ward_experiment_definitions", func() float64 {
		m.mu.RLock()
		defer m.mu.RUnlock()
		return float64(len(m.exps))
	})
	return m, nil
}

func (m *Manager) uidHash(uid string) uint64 { return maphash.String(m.seed, uid) }

// load reads the format version, definitions, histories, exposures and totals.
func (m *Manager) load() error {
	v, ok, err := m.store.Get([]byte(pfxFormat))
	if err != nil {
		return fmt.Errorf("experiment: read format version: %w", err)
	}
	switch {
	case !ok:
		if err := m.store.Put([]byte(pfxFormat), []byte(formatVersion)); err != nil {
			return fmt.Errorf("experiment: write format version: %w", err)
		}
	case string(v) != formatVersion:
		return fmt.Errorf("experiment: stored format version %q, this build reads %q", v, formatVersion)
	}
	err = m.store.Scan([]byte(pfxDefinition), func(k, v []byte) error {
		var d Definition
		if err := json.Unmarshal(v, &d); err != nil {
			return fmt.Errorf("decode definition %q: %w", k[len(pfxDefinition):], err)
		}
		d.Normalize()
		m.exps[d.Name] = newExperiment(d)
		return nil
	})
	if err != nil {
		return fmt.Errorf("experiment: load definitions: %w", err)
	}
	for _, e := range m.exps {
		if err := m.loadExperiment(e); err != nil {
			return fmt.Errorf("experiment: load %q: %w", e.name, err)
		}
	}
	return nil
}

func (m *Manager) loadExperiment(e *experiment) error {
	err := m.store.Scan(historyPrefix(e.name), func(k, v []byte) error {
		var c Change
		if err := json.Unmarshal(v, &c); err != nil {
			return fmt.Errorf("decode history entry: %w", err)
		}
		e.seq = max(e.seq, c.Seq)
		if len(c.After.Branches) == len(e.def.Branches) {
			e.addEpoch(c.When.UnixMilli(), c.After.Branches)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if len(e.epochs) == 0 {
		e.addEpoch(e.def.Created.UnixMilli(), e.def.Branches)
	}
	pfx := exposurePrefix(e.name)
	err = m.store.Scan(pfx, func(k, v []byte) error {
		ms, br, err := decodeExposure(v)
		if err != nil {
			return fmt.Errorf("exposure of %q: %w", k[len(pfx):], err)
		}
		e.addUser(m.uidHash(string(k[len(pfx):])), ms, br)
		return nil
	})
	if err != nil {
		return err
	}
	pfx = totalsPrefix(e.name)
	return m.store.Scan(pfx, func(k, v []byte) error {
		metric, uid, ok := splitTotalsKey(k[len(pfx):])
		if !ok {
			return fmt.Errorf("malformed totals key %q", k)
		}
		sum, count, err := decodeTotals(v)
		if err != nil {
			return fmt.Errorf("totals of %q/%q: %w", metric, uid, err)
		}
		idx, ok := e.index[m.uidHash(uid)]
		if !ok {
			return nil // totals without an exposure cannot be attributed; ignore
		}
		if mt := e.metric(metric); mt != nil {
			mt.add(idx, e.branch[idx], sum, uint32(min(count, 1<<32-1)))
		}
		return nil
	})
}

// lookup returns the named experiment.
func (m *Manager) lookup(name string) (*experiment, error) {
	m.mu.RLock()
	e := m.exps[name]
	m.mu.RUnlock()
	if e == nil {
		return nil, fmt.Errorf("%w: %q", ErrNotFound, name)
	}
	return e, nil
}

// snapshot returns the experiments in name order.
func (m *Manager) snapshot() []*experiment {
	m.mu.RLock()
	out := make([]*experiment, 0, len(m.exps))
	for _, e := range m.exps {
		out = append(out, e)
	}
	m.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

// List returns every definition, sorted by name, with a generation that changes
// whenever any definition does: the sum of their versions, which only grows and
// survives restarts, so clients can skip rebuilding an unchanged list.
func (m *Manager) List() ListResponse {
	resp := ListResponse{Experiments: []Definition{}}
	for _, e := range m.snapshot() {
		e.mu.RLock()
		resp.Experiments = append(resp.Experiments, e.def.Clone())
		resp.Generation += e.def.Version
		e.mu.RUnlock()
	}
	return resp
}

// Get returns one definition and its history, oldest change first.
func (m *Manager) Get(name string) (ShowResponse, error) {
	e, err := m.lookup(name)
	if err != nil {
		return ShowResponse{}, err
	}
	e.mu.RLock()
	d := e.def.Clone()
	e.mu.RUnlock()
	h, err := m.History(name)
	if err != nil {
		return ShowResponse{}, err
	}
	return ShowResponse{Experiment: d, History: h}, nil
}

// History returns an experiment's changes, oldest first.
func (m *Manager) History(name string) ([]Change, error) {
	if _, err := m.lookup(name); err != nil {
		return nil, err
	}
	out := []Change{}
	err := m.store.Scan(historyPrefix(name), func(k, v []byte) error {
		var c Change
		if err := json.Unmarshal(v, &c); err != nil {
			return fmt.Errorf("decode history entry %x: %w", k, err)
		}
		out = append(out, c)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("experiment: read history of %q: %w", name, err)
	}
	return out, nil
}

// Create adds a new experiment. who is recorded in its history.
func (m *Manager) Create(d Definition, who string) (Definition, error) {
	d = d.Clone()
	if err := d.Validate(); err != nil {
		return Definition{}, err
	}
	d.Normalize()
	m.adminMu.Lock()
	defer m.adminMu.Unlock()
	if _, err := m.lookup(d.Name); err == nil {
		return Definition{}, fmt.Errorf("%w: %q", ErrExists, d.Name)
	}
	now := m.opts.Now().UTC()
	d.Version, d.Created, d.Updated = 1, now, now
	e := newExperiment(d)
	c := Change{Seq: 1, Experiment: d.Name, Who: whoOrUnknown(who), When: now, Action: ActionCreate, After: d.Clone()}
	if err := m.writeDefinition(d, c); err != nil {
		return Definition{}, err
	}
	e.seq = 1
	e.addEpoch(now.UnixMilli(), d.Branches)
	e.dirty = true // so that its series start at zero
	m.mu.Lock()
	m.exps[d.Name] = e
	m.mu.Unlock()
	return d.Clone(), nil
}

// Update applies a patch; who is recorded in the history. A patch that changes nothing
// returns the definition unchanged and records nothing.
func (m *Manager) Update(name string, p Patch, who string) (Definition, error) {
	action := ActionUpdate
	if p.Status != nil && *p.Status == StatusClosed {
		action = ActionClose
	}
	return m.change(name, who, action, func(d Definition) (Definition, error) { return p.apply(d) })
}

// CloseOn closes an experiment on a winning branch: from now on everyone gets it and
// nothing more is recorded.
func (m *Manager) CloseOn(name, winner, who string) (Definition, error) {
	st := StatusClosed
	return m.Update(name, Patch{Status: &st, Winner: &winner}, who)
}

// Apply creates or updates experiments from definition files, so that the files are
// the source of truth: every field they set replaces the stored one. Salt and branch
// names cannot change. It returns the resulting definitions.
func (m *Manager) Apply(defs []Definition, who string) ([]Definition, error) {
	var out []Definition
	for _, d := range defs {
		if _, err := m.lookup(d.Name); errors.Is(err, ErrNotFound) {
			nd, err := m.Create(d, who)
			if err != nil {
				return out, err
			}
			out = append(out, nd)
			continue
		}
		nd, err := m.change(d.Name, who, ActionApply, func(old Definition) (Definition, error) {
			next := d.Clone()
			next.Version, next.Created, next.Updated = old.Version, old.Created, old.Updated
			return next, nil
		})
		if err != nil {
			return out, err
		}
		out = append(out, nd)
	}
	return out, nil
}

// change is the one path by which an existing definition changes.
func (m *Manager) change(name, who, action string, f func(Definition) (Definition, error)) (Definition, error) {
	m.adminMu.Lock()
	defer m.adminMu.Unlock()
	e, err := m.lookup(name)
	if err != nil {
		return Definition{}, err
	}
	e.mu.RLock()
	old := e.def.Clone()
	seq := e.seq
	e.mu.RUnlock()
	next, err := f(old)
	if err != nil {
		return Definition{}, err
	}
	next.Normalize()
	if err := next.Validate(); err != nil {
		return Definition{}, err
	}
	if err := checkImmutable(old, next); err != nil {
		return Definition{}, err
	}
	fields := diff(old, next)
	if len(fields) == 0 {
		return old, nil
	}
	now := m.opts.Now().UTC()
	next.Version, next.Updated = old.Version+1, now
	c := Change{Seq: seq + 1, Experiment: name, Who: whoOrUnknown(who), When: now, Action: action, Fields: fields, After: next.Clone()}
	if err := m.writeDefinition(next, c); err != nil {
		return Definition{}, err
	}
	e.mu.Lock()
	e.def = next.Clone()
	e.seq = c.Seq
	e.addEpoch(now.UnixMilli(), next.Branches)
	e.dirty = true
	e.asg.Store(NewAssigner(next))
	e.mu.Unlock()
	return next.Clone(), nil
}

// writeDefinition stores a definition and its history entry in one atomic write.
func (m *Manager) writeDefinition(d Definition, c Change) error {
	dv, err := json.Marshal(d)
	if err != nil {
		return fmt.Errorf("experiment: encode definition %q: %w", d.Name, err)
	}
	cv, err := json.Marshal(c)
	if err != nil {
		return fmt.Errorf("experiment: encode history of %q: %w", d.Name, err)
	}
	return m.commit([]kv{{historyKey(d.Name, c.Seq), cv}, {definitionKey(d.Name), dv}})
}

// commit writes a batch of keys, atomically when the store supports it.
func (m *Manager) commit(writes []kv) error {
	if len(writes) == 0 {
		return nil
	}
	var err error
	if b, ok := m.store.(Batcher); ok {
		err = b.PutMany(kvKeys(writes), kvVals(writes))
	} else {
		for _, w := range writes {
			if err = m.store.Put(w.key, w.val); err != nil {
				break
			}
		}
	}
	if err != nil {
		m.met.storeErrors.Inc()
		return fmt.Errorf("experiment: write %d keys (first %q): %w", len(writes), bytes.ReplaceAll(writes[0].key, []byte{0}, []byte("/")), err)
	}
	return nil
}

func kvKeys(ws []kv) [][]byte {
	out := make([][]byte, len(ws))
	for i, w := range ws {
		out[i] = w.key
	}
	return out
}

func kvVals(ws []kv) [][]byte {
	out := make([][]byte, len(ws))
	for i, w := range ws {
		out[i] = w.val
	}
	return out
}

func whoOrUnknown(who string) string {
	if who == "" {
		return "unknown"
	}
	return who
}

// Names returns the experiment names, sorted.
func (m *Manager) Names() []string {
	m.mu.RLock()
	out := make([]string, 0, len(m.exps))
	for n := range m.exps {
		out = append(out, n)
	}
	m.mu.RUnlock()
	slices.Sort(out)
	return out
}
