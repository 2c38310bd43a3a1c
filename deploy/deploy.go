package deploy

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/prometheus/prometheus/promql/parser"
)

// Phase is where a deploy stands.
type Phase string

// The phases of a deploy. Canary is the only one the guard watches; Done and
// RolledBack are final.
const (
	PhaseCanary     Phase = "canary"
	PhaseFull       Phase = "full"
	PhaseDone       Phase = "done"
	PhaseRolledBack Phase = "rolled_back"
)

// Errors callers map to answers: a missing release, a release registered twice or a
// phase change out of a final phase, and a malformed request.
var (
	ErrNotFound = errors.New("deploy: release not found")
	ErrConflict = errors.New("deploy: conflict")
	ErrInvalid  = errors.New("deploy: invalid deploy")
)

// Deploy is one release rolling out.
type Deploy struct {
	// Release names the release ("r124"); it is the deploy's key.
	Release string `json:"release"`
	// Commits and Author describe the release for people reading graphs.
	Commits []string `json:"commits,omitempty"`
	Author  string   `json:"author,omitempty"`
	// Canary and Baseline are label matchers without braces, such as
	// `host=~"web-0[12]"` or `release="r124"`, substituted for $selector in the
	// guard's expressions.
	Canary   string `json:"canary"`
	Baseline string `json:"baseline"`
	// Start is when the canary started; before/after comparisons split there.
	Start time.Time `json:"start"`
	// Phase is the current phase and History every change, oldest first.
	Phase   Phase        `json:"phase"`
	History []Transition `json:"history"`
}

// Transition is one phase change.
type Transition struct {
	Phase  Phase     `json:"phase"`
	At     time.Time `json:"at"`
	Reason string    `json:"reason,omitempty"`
}

// End is when the deploy left its last non-final phase, or the zero time while it is
// still going.
func (d *Deploy) End() time.Time {
	if d.Phase != PhaseDone && d.Phase != PhaseRolledBack || len(d.History) == 0 {
		return time.Time{}
	}
	return d.History[len(d.History)-1].At
}

// validate checks the fields a guard needs: a release name and selectors that parse.
func (d *Deploy) validate() error {
	if d.Release == "" {
		return fmt.Errorf("%w: release is empty", ErrInvalid)
	}
	for _, s := range []struct{ name, sel string }{{"canary", d.Canary}, {"baseline", d.Baseline}} {
		if s.sel == "" {
			return fmt.Errorf("%w: release %q: %s selector is empty", ErrInvalid, d.Release, s.name)
		}
		if _, err := parser.NewParser(parser.Options{}).ParseMetricSelector("{" + s.sel + "}"); err != nil {
			return fmt.Errorf("%w: release %q: %s selector %q: %w", ErrInvalid, d.Release, s.name, s.sel, err)
		}
	}
	return nil
}

// KV is the durable key-value store deploys are kept in; tsdb.KV satisfies it.
type KV interface {
	Get(key []byte) ([]byte, bool, error)
	Put(key, val []byte) error
	Scan(prefix []byte, fn func(k, v []byte) error) error
}

// Store keeps deploys in a KV under "d/<release>" as JSON. It is safe for concurrent
// use; phase changes are serialised so that the guard and an operator cannot both
// move a deploy out of canary.
type Store struct {
	kv  KV
	now func() time.Time
	mu  sync.Mutex
}

const deployPrefix = "d/"

// NewStore returns a store over kv. now is the clock for start and transition times;
// nil means time.Now.
func NewStore(kv KV, now func() time.Time) *Store {
	if now == nil {
		now = time.Now
	}
	return &Store{kv: kv, now: now}
}

// Register stores a new deploy in the canary phase. A zero Start means now. A release
// already registered is ErrConflict.
func (s *Store) Register(d Deploy) (Deploy, error) {
	if err := d.validate(); err != nil {
		return Deploy{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok, err := s.get(d.Release); err != nil {
		return Deploy{}, err
	} else if ok {
		return Deploy{}, fmt.Errorf("%w: release %q is already registered", ErrConflict, d.Release)
	}
	now := s.now().UTC()
	if d.Start.IsZero() {
		d.Start = now
	}
	d.Phase = PhaseCanary
	d.History = []Transition{{Phase: PhaseCanary, At: d.Start, Reason: "registered"}}
	return d, s.put(d)
}

// Get returns one deploy.
func (s *Store) Get(release string) (Deploy, error) {
	d, ok, err := s.get(release)
	if err != nil {
		return Deploy{}, err
	}
	if !ok {
		return Deploy{}, fmt.Errorf("%w: %q", ErrNotFound, release)
	}
	return d, nil
}

// List returns every deploy, newest start first.
func (s *Store) List() ([]Deploy, error) {
	var out []Deploy
	err := s.kv.Scan([]byte(deployPrefix), func(k, v []byte) error {
		var d Deploy
		if err := json.Unmarshal(v, &d); err != nil {
			return fmt.Errorf("decode deploy %q: %w", k, err)
		}
		out = append(out, d)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list deploys: %w", err)
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].Start.Equal(out[j].Start) {
			return out[i].Start.After(out[j].Start)
		}
		return out[i].Release < out[j].Release
	})
	return out, nil
}

// SetPhase moves a deploy to phase p with a reason. Final phases (done, rolled_back)
// do not change any more (ErrConflict); setting the current phase again is a no-op.
func (s *Store) SetPhase(release string, p Phase, reason string) (Deploy, error) {
	return s.setPhase(release, "", p, reason)
}

// SetPhaseFrom is SetPhase only if the deploy is still in phase from (ErrConflict
// otherwise), so that the guard does not roll back a release an operator promoted
// while its verdict was being computed.
func (s *Store) SetPhaseFrom(release string, from, p Phase, reason string) (Deploy, error) {
	return s.setPhase(release, from, p, reason)
}

func (s *Store) setPhase(release string, from, p Phase, reason string) (Deploy, error) {
	switch p {
	case PhaseCanary, PhaseFull, PhaseDone, PhaseRolledBack:
	default:
		return Deploy{}, fmt.Errorf("%w: unknown phase %q (want canary, full, done or rolled_back)", ErrInvalid, p)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok, err := s.get(release)
	if err != nil {
		return Deploy{}, err
	}
	if !ok {
		return Deploy{}, fmt.Errorf("%w: %q", ErrNotFound, release)
	}
	if from != "" && d.Phase != from {
		return d, fmt.Errorf("%w: release %q is %s, not %s", ErrConflict, release, d.Phase, from)
	}
	if d.Phase == p {
		return d, nil
	}
	if d.Phase == PhaseDone || d.Phase == PhaseRolledBack {
		return d, fmt.Errorf("%w: release %q is %s and cannot become %s", ErrConflict, release, d.Phase, p)
	}
	d.Phase = p
	d.History = append(d.History, Transition{Phase: p, At: s.now().UTC(), Reason: reason})
	return d, s.put(d)
}

// Annotation marks a deploy on graphs: the span from its start to its end (or now),
// as Grafana's annotation API shapes it.
type Annotation struct {
	Release string   `json:"release"`
	Title   string   `json:"title"`
	Text    string   `json:"text"`
	Tags    []string `json:"tags"`
	// Time and TimeEnd are Unix milliseconds; TimeEnd is 0 while the deploy runs.
	Time    int64 `json:"time"`
	TimeEnd int64 `json:"timeEnd,omitempty"`
	Phase   Phase `json:"phase"`
}

// Annotations returns the deploys whose span overlaps [start, end], oldest first.
func (s *Store) Annotations(start, end time.Time) ([]Annotation, error) {
	ds, err := s.List()
	if err != nil {
		return nil, err
	}
	out := []Annotation{}
	for i := len(ds) - 1; i >= 0; i-- {
		d := ds[i]
		dEnd := d.End()
		if d.Start.After(end) || (!dEnd.IsZero() && dEnd.Before(start)) {
			continue
		}
		a := Annotation{
			Release: d.Release,
			Title:   "deploy " + d.Release,
			Text:    fmt.Sprintf("%s by %s, phase %s, canary {%s}", d.Release, orNone(d.Author), d.Phase, d.Canary),
			Tags:    []string{"deploy", string(d.Phase)},
			Time:    d.Start.UnixMilli(),
			Phase:   d.Phase,
		}
		if !dEnd.IsZero() {
			a.TimeEnd = dEnd.UnixMilli()
		}
		out = append(out, a)
	}
	return out, nil
}

func orNone(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

func (s *Store) get(release string) (Deploy, bool, error) {
	b, ok, err := s.kv.Get([]byte(deployPrefix + release))
	if err != nil {
		return Deploy{}, false, fmt.Errorf("read deploy %q: %w", release, err)
	}
	if !ok {
		return Deploy{}, false, nil
	}
	var d Deploy
	if err := json.Unmarshal(b, &d); err != nil {
		return Deploy{}, false, fmt.Errorf("decode deploy %q: %w", release, err)
	}
	return d, true, nil
}

func (s *Store) put(d Deploy) error {
	b, err := json.Marshal(d)
	if err != nil {
		return fmt.Errorf("encode deploy %q: %w", d.Release, err)
	}
	if err := s.kv.Put([]byte(deployPrefix+d.Release), b); err != nil {
		return fmt.Errorf("store deploy %q: %w", d.Release, err)
	}
	return nil
}
