package rules

import (
	"fmt"
	"slices"
	"time"

	"github.com/prometheus/prometheus/model/labels"
)

// State is the state of one alert instance (one check), Nagios' vocabulary
// plus PENDING for Prometheus' `for`.
type State uint8

// States, ordered from least to most alarming except UNKNOWN, which Nagios
// also lists last.
const (
	// StateOK: the condition does not hold (Prometheus: inactive or resolved).
	StateOK State = iota
	// StatePending: the condition holds but not yet for the rule's `for`.
	StatePending
	// StateWarning: the warn threshold is crossed (or a firing plain rule
	// labelled severity=warning).
	StateWarning
	// StateCritical: the crit threshold is crossed (or a firing plain rule).
	StateCritical
	// StateUnknown: no data, with no_data: unknown.
	StateUnknown
)

var stateNames = [...]string{"OK", "PENDING", "WARNING", "CRITICAL", "UNKNOWN"}

// String returns the upper-case name, as on a Nagios board.
func (s State) String() string {
	if int(s) < len(stateNames) {
		return stateNames[s]
	}
	return fmt.Sprintf("State(%d)", s)
}

// MarshalText encodes the state by name.
func (s State) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText decodes a state name.
func (s *State) UnmarshalText(b []byte) error {
	i := slices.Index(stateNames[:], string(b))
	if i < 0 {
		return fmt.Errorf("rules: unknown state %q", b)
	}
	*s = State(i)
	return nil
}

// Firing reports whether the state is one notifications are sent for.
func (s State) Firing() bool { return s >= StateWarning }

// severityRank orders states for boards: worst first.
func (s State) severityRank() int {
	switch s {
	case StateCritical:
		return 0
	case StateWarning:
		return 1
	case StateUnknown:
		return 2
	case StatePending:
		return 3
	}
	return 4
}

// resolvedRetention is how long a resolved alert keeps being sent, as in
// Prometheus: receivers that missed the resolution get it again.
const resolvedRetention = 15 * time.Minute

// view is an alert as receivers see it: one label set that fires from
// StartsAt (and ended at EndsAt once retired).
type view struct {
	Labels      labels.Labels `json:"labels"`
	Annotations labels.Labels `json:"annotations"`
	StartsAt    time.Time     `json:"startsAt"`
	EndsAt      time.Time     `json:"endsAt,omitzero"`
}

func (v *view) clone() *view {
	if v == nil {
		return nil
	}
	c := *v
	return &c
}

func sameView(a, b *view) bool {
	if a == nil || b == nil {
		return a == b
	}
	return labels.Equal(a.Labels, b.Labels) && a.StartsAt.Equal(b.StartsAt)
}

// instance is the state of one alert instance. Exported fields are persisted.
type instance struct {
	Labels      labels.Labels `json:"labels"`
	Annotations labels.Labels `json:"annotations"`
	State       State         `json:"state"`
	// Target is the level a PENDING instance is heading for.
	Target State `json:"target"`
	// NoData is set when the current level comes from missing data.
	NoData bool `json:"noData,omitempty"`
	// RuleLevel marks the instance that stands for a rule without any series.
	RuleLevel       bool      `json:"ruleLevel,omitempty"`
	Since           time.Time `json:"since"`
	ActiveAt        time.Time `json:"activeAt,omitzero"`
	FiredAt         time.Time `json:"firedAt,omitzero"`
	KeepFiringSince time.Time `json:"keepFiringSince,omitzero"`
	LastEval        time.Time `json:"lastEval"`
	Value           float64   `json:"-"`
	HasValue        bool      `json:"-"`
	Message         string    `json:"message"`
	History         []State   `json:"history,omitempty"`
	Flapping        bool      `json:"flapping,omitempty"`
	FlapPercent     float64   `json:"flapPercent,omitempty"`
	// Cur is the firing alert as receivers should see it now; SentCur is
	// what was last handed to the notifier; Held is what receivers keep
	// seeing while the check flaps; Retired are ended alerts still re-sent
	// as resolved for resolvedRetention.
	Cur     *view  `json:"cur,omitempty"`
	SentCur *view  `json:"sentCur,omitempty"`
	Held    *view  `json:"held,omitempty"`
	Retired []view `json:"retired,omitempty"`

	lastSentAt time.Time
	present    bool // in this evaluation's data
	dirty      bool // persisted fields changed since the last write
	stored     bool // a copy is in the StateStore
}

// enter switches to state s at t.
func (in *instance) enter(s State, t time.Time) {
	if in.State != s {
		in.State, in.Since, in.dirty = s, t, true
	}
}

// step advances the Prometheus state machine by one evaluation at t, given
// the raw level of the condition. forDur and keepFor are the rule's `for`
// and `keep_firing_for`.
func (in *instance) step(t time.Time, lvl State, forDur, keepFor time.Duration) (kept bool) {
	if lvl == StateOK && in.State.Firing() && keepFor > 0 {
		if in.KeepFiringSince.IsZero() {
			in.KeepFiringSince, in.dirty = t, true
		}
		if t.Sub(in.KeepFiringSince) < keepFor {
			lvl, kept = in.State, true
		}
	} else if lvl != StateOK && !in.KeepFiringSince.IsZero() {
		in.KeepFiringSince, in.dirty = time.Time{}, true
	}
	switch {
	case lvl == StateOK:
		if in.State != StateOK {
			in.enter(StateOK, t)
			in.ActiveAt, in.FiredAt, in.KeepFiringSince, in.Target = time.Time{}, time.Time{}, time.Time{}, StateOK
		}
	case in.State == StateOK:
		in.ActiveAt, in.Target, in.dirty = t, lvl, true
		if forDur <= 0 {
			in.enter(lvl, t)
			in.FiredAt = t
		} else {
			in.enter(StatePending, t)
		}
	case in.State == StatePending:
		if in.Target != lvl {
			in.Target, in.dirty = lvl, true
		}
		if t.Sub(in.ActiveAt) >= forDur {
			in.enter(lvl, t)
			in.FiredAt = t
		}
	default:
		if t.Sub(in.ActiveAt) < forDur {
			// `for` grew on reload: back to pending, as Prometheus does.
			in.Target = lvl
			in.enter(StatePending, t)
			in.FiredAt = time.Time{}
		} else if lvl != in.State {
			in.Target = lvl
			in.enter(lvl, t)
		}
	}
	return kept
}

// updateFlap records the raw level and starts or stops flapping.
// It reports whether flapping just stopped.
func (in *instance) updateFlap(lvl State, start, stop float64) (stopped bool) {
	in.History = pushHistory(in.History, lvl)
	in.FlapPercent = flapPercent(in.History)
	if slices.ContainsFunc(in.History, func(s State) bool { return s != StateOK }) {
		in.dirty = true
	}
	switch {
	case !in.Flapping && in.FlapPercent >= start:
		in.Flapping, in.dirty = true, true
		// Receivers keep seeing what they were last told.
		in.Held = in.SentCur.clone()
	case in.Flapping && in.FlapPercent < stop:
		in.Flapping, in.dirty = false, true
		return true
	}
	return false
}

// setView makes want (nil when not firing) the alert receivers should see,
// retiring the previous one as resolved at t unless the check flaps (then
// receivers never heard of it).
func (in *instance) setView(want labels.Labels, t time.Time) {
	if in.Cur != nil && (want.IsEmpty() || !labels.Equal(in.Cur.Labels, want)) {
		if !in.Flapping {
			in.retire(*in.Cur, t)
		}
		in.Cur, in.dirty = nil, true
	}
	if !want.IsEmpty() && in.Cur == nil {
		// A label set firing again supersedes its resolution: receivers key
		// alerts by labels, so both must not be sent side by side.
		in.unretire(want)
		in.Cur = &view{Labels: want, StartsAt: t}
		in.lastSentAt, in.dirty = time.Time{}, true
	}
	if in.Cur != nil {
		in.Cur.Annotations = in.Annotations
	}
	in.pruneRetired(t)
}

// endFlap runs when flapping stops: what receivers were held on is resolved
// if it no longer fires, and the current state goes out at once.
func (in *instance) endFlap(t time.Time) {
	if in.Held != nil && (in.Cur == nil || !labels.Equal(in.Cur.Labels, in.Held.Labels)) {
		in.retire(*in.Held, t)
	}
	in.Held, in.lastSentAt, in.dirty = nil, time.Time{}, true
}

// retire records v as resolved at t, replacing an older resolution of the
// same labels.
func (in *instance) retire(v view, t time.Time) {
	in.unretire(v.Labels)
	v.EndsAt = t
	in.Retired = append(in.Retired, v)
	in.dirty = true
}

func (in *instance) unretire(ls labels.Labels) {
	n := len(in.Retired)
	in.Retired = slices.DeleteFunc(in.Retired, func(r view) bool { return labels.Equal(r.Labels, ls) })
	if len(in.Retired) != n {
		in.dirty = true
	}
}

func (in *instance) pruneRetired(t time.Time) {
	n := 0
	for _, r := range in.Retired {
		if t.Sub(r.EndsAt) <= resolvedRetention {
			in.Retired[n] = r
			n++
		}
	}
	if n != len(in.Retired) {
		clear(in.Retired[n:])
		in.Retired, in.dirty = in.Retired[:n], true
	}
	if len(in.Retired) == 0 {
		in.Retired = nil
	}
}

// quiet reports whether the instance carries nothing worth keeping beyond
// the presence of its series.
func (in *instance) quiet() bool {
	return in.State == StateOK && in.Cur == nil && in.SentCur == nil && in.Held == nil &&
		len(in.Retired) == 0 && !in.Flapping &&
		!slices.ContainsFunc(in.History, func(s State) bool { return s != StateOK })
}
