package spec

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// ErrInvalid marks a definition, patch, event or request that fails validation; the
// experiment package and the HTTP API map it to 400 with errors.Is.
var ErrInvalid = errors.New("experiment: invalid")

// Status says whether an experiment still randomises users.
type Status string

const (
	// StatusOpen experiments assign branches by hash and record exposures and events.
	StatusOpen Status = "open"
	// StatusClosed experiments give everyone the winning branch and record nothing.
	StatusClosed Status = "closed"
)

// Mode says who is randomised.
type Mode string

const (
	// ModeAll randomises every user inside the rollout.
	ModeAll Mode = "all"
	// ModeQA randomises only users whose role is "qa" or "admin"; everyone else gets
	// control and is not recorded, so a feature can be checked in production first.
	ModeQA Mode = "qa"
)

// Kind says how a metric is judged.
type Kind string

const (
	// KindConversion metrics are judged on the share of users with at least one event
	// (two-proportion z-test).
	KindConversion Kind = "conversion"
	// KindValue metrics are judged on the mean per-user total (Welch's t-test).
	KindValue Kind = "value"
	// KindRevenue metrics are value metrics in money; results add revenue per user.
	KindRevenue Kind = "revenue"
)

// Limits that keep per-user state bounded and keys short.
const (
	MaxBranches   = 32
	MaxMetrics    = 64
	maxNameLen    = 128
	maxUIDLen     = 256
	maxDescLen    = 4096
	bucketCount   = 10000 // buckets of the assignment hash: 0.01% resolution
	defaultMetric = KindConversion
)

// Branch is one arm of an experiment. The first branch of a definition is control.
type Branch struct {
	Name string `json:"name" yaml:"name"`
	// Weight is relative: 50/50, 1/1 and 0.5/0.5 split alike. Zero is allowed (a branch
	// being ramped up), but not for every branch.
	Weight float64 `json:"weight" yaml:"weight"`
}

// Metric declares an event metric the experiment is judged on.
type Metric struct {
	Name string `json:"name" yaml:"name"`
	Kind Kind   `json:"kind,omitempty" yaml:"kind,omitempty"`
}

// Definition is an experiment as users write it and as the API returns it.
type Definition struct {
	Name        string `json:"name" yaml:"name"`
	Description string `json:"description,omitempty" yaml:"description,omitempty"`
	// Salt seeds the assignment hash; it defaults to Name and never changes after
	// creation, because changing it would move every user.
	Salt     string   `json:"salt,omitempty" yaml:"salt,omitempty"`
	Branches []Branch `json:"branches" yaml:"branches"`
	// Rollout is the percentage (0 to 100, 0.01 resolution) of users who enter the
	// experiment at all; the others get control and are not recorded. It is required in
	// files and request bodies, so that an omission is never read as 0.
	Rollout float64 `json:"rollout" yaml:"rollout"`
	Mode    Mode    `json:"mode,omitempty" yaml:"mode,omitempty"`
	Status  Status  `json:"status,omitempty" yaml:"status,omitempty"`
	// Winner is the branch everyone gets once Status is closed.
	Winner string `json:"winner,omitempty" yaml:"winner,omitempty"`
	// Start and End bound the active window; outside it everyone gets control and
	// nothing is recorded. Zero means unbounded.
	Start time.Time `json:"start,omitzero" yaml:"start,omitempty"`
	End   time.Time `json:"end,omitzero" yaml:"end,omitempty"`
	// Metrics lists the metrics judged. When empty, every event metric is tracked (up to
	// MaxMetrics) as a conversion metric.
	Metrics []Metric `json:"metrics,omitempty" yaml:"metrics,omitempty"`

	// Bounds are the cumulative upper bounds of each branch in the 10,000 hash buckets,
	// computed from the weights (see README.md). They are output only: clients in other
	// languages can use them instead of recomputing.
	Bounds []uint32 `json:"bounds,omitempty" yaml:"-"`
	// Version counts the changes made to the experiment; it is output only.
	Version int64 `json:"version,omitempty" yaml:"-"`
	// Created and Updated are output only.
	Created time.Time `json:"created,omitzero" yaml:"-"`
	Updated time.Time `json:"updated,omitzero" yaml:"-"`
}

// Control is the name of the control branch (the first one).
func (d *Definition) Control() string {
	if len(d.Branches) == 0 {
		return ""
	}
	return d.Branches[0].Name
}

// BranchIndex returns the position of the named branch, or -1.
func (d *Definition) BranchIndex(name string) int {
	for i, b := range d.Branches {
		if b.Name == name {
			return i
		}
	}
	return -1
}

// MetricKind returns the declared kind of a metric and whether the experiment tracks it
// (every metric is tracked when none is declared).
func (d *Definition) MetricKind(name string) (Kind, bool) {
	if len(d.Metrics) == 0 {
		return defaultMetric, true
	}
	for _, m := range d.Metrics {
		if m.Name == name {
			return m.Kind, true
		}
	}
	return "", false
}

// Normalize fills defaults in place: salt, mode, status, metric kinds, UTC times and
// bounds.
func (d *Definition) Normalize() {
	if d.Salt == "" {
		d.Salt = d.Name
	}
	if d.Mode == "" {
		d.Mode = ModeAll
	}
	if d.Status == "" {
		d.Status = StatusOpen
	}
	for i := range d.Metrics {
		if d.Metrics[i].Kind == "" {
			d.Metrics[i].Kind = defaultMetric
		}
	}
	if !d.Start.IsZero() {
		d.Start = d.Start.UTC()
	}
	if !d.End.IsZero() {
		d.End = d.End.UTC()
	}
	d.Bounds = Bounds(d.Branches)
}

// Validate checks a definition and returns every problem found, each wrapping ErrInvalid.
func (d *Definition) Validate() error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: experiment %q: %s", ErrInvalid, d.Name, fmt.Sprintf(format, args...)))
	}
	if err := checkName(d.Name); err != nil {
		bad("name: %v", err)
	}
	if reserved(d.Name) {
		bad("name %q is reserved: it is a route under /api/v1/experiments/", d.Name)
	}
	if len(d.Salt) > maxNameLen || hasNUL(d.Salt) {
		bad("salt: at most %d bytes and no NUL", maxNameLen)
	}
	if len(d.Description) > maxDescLen {
		bad("description: longer than %d bytes", maxDescLen)
	}
	switch {
	case len(d.Branches) < 2:
		bad("branches: need control and at least one more, got %d", len(d.Branches))
	case len(d.Branches) > MaxBranches:
		bad("branches: at most %d, got %d", MaxBranches, len(d.Branches))
	}
	seen := map[string]bool{}
	var total float64
	for i, b := range d.Branches {
		if err := checkName(b.Name); err != nil {
			bad("branch %d: name: %v", i, err)
		}
		if seen[b.Name] {
			bad("branch %q: duplicate name", b.Name)
		}
		seen[b.Name] = true
		if math.IsNaN(b.Weight) || math.IsInf(b.Weight, 0) || b.Weight < 0 || b.Weight > 1e9 {
			bad("branch %q: weight %v must be a number from 0 to 1e9", b.Name, b.Weight)
			continue
		}
		total += b.Weight
	}
	if len(d.Branches) > 0 && total <= 0 {
		bad("branches: weights sum to zero")
	}
	if math.IsNaN(d.Rollout) || d.Rollout < 0 || d.Rollout > 100 {
		bad("rollout %v: must be a percentage from 0 to 100", d.Rollout)
	}
	switch d.Mode {
	case "", ModeAll, ModeQA:
	default:
		bad("mode %q: must be %q or %q", d.Mode, ModeAll, ModeQA)
	}
	switch d.Status {
	case "", StatusOpen:
		if d.Winner != "" {
			bad("winner %q: only a closed experiment has a winner", d.Winner)
		}
	case StatusClosed:
		if !seen[d.Winner] {
			bad("winner %q: a closed experiment needs one of its branches as winner", d.Winner)
		}
	default:
		bad("status %q: must be %q or %q", d.Status, StatusOpen, StatusClosed)
	}
	if !d.Start.IsZero() && !d.End.IsZero() && !d.End.After(d.Start) {
		bad("end %s is not after start %s", d.End.Format(time.RFC3339), d.Start.Format(time.RFC3339))
	}
	if len(d.Metrics) > MaxMetrics {
		bad("metrics: at most %d, got %d", MaxMetrics, len(d.Metrics))
	}
	mseen := map[string]bool{}
	for i, m := range d.Metrics {
		if err := CheckMetricName(m.Name); err != nil {
			bad("metric %d: %v", i, err)
		}
		if mseen[m.Name] {
			bad("metric %q: duplicate", m.Name)
		}
		mseen[m.Name] = true
		switch m.Kind {
		case "", KindConversion, KindValue, KindRevenue:
		default:
			bad("metric %q: kind %q must be conversion, value or revenue", m.Name, m.Kind)
		}
	}
	return errors.Join(errs...)
}

// reserved reports the literal routes next to /api/v1/experiments/{name}.
func reserved(name string) bool {
	switch name {
	case "assign", "exposures", "significance":
		return true
	}
	return false
}

// checkName accepts 1 to 128 bytes of letters, digits, '_', '-' and '.', starting with
// a letter or digit: names appear in URLs, keys and label values.
func checkName(s string) error {
	if s == "" || len(s) > maxNameLen {
		return fmt.Errorf("%q must be 1 to %d bytes", s, maxNameLen)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case (c == '_' || c == '-' || c == '.') && i > 0:
		default:
			return fmt.Errorf("%q: only letters, digits, '_', '-' and '.' (not first) are allowed", s)
		}
	}
	return nil
}

// CheckMetricName accepts what checkName accepts plus ':' (statsd-style names).
func CheckMetricName(s string) error {
	if s == "" || len(s) > maxNameLen {
		return fmt.Errorf("metric name %q must be 1 to %d bytes", s, maxNameLen)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '_':
		case (c == '-' || c == '.' || c == ':') && i > 0:
		default:
			return fmt.Errorf("metric name %q: only letters, digits, '_', and '-', '.', ':' (not first) are allowed", s)
		}
	}
	return nil
}

// CheckUID accepts any non-empty user id up to 256 bytes without NUL (NUL separates key
// parts in the store).
func CheckUID(uid string) error {
	if uid == "" || len(uid) > maxUIDLen || hasNUL(uid) {
		return fmt.Errorf("%w: uid %q must be 1 to %d bytes without NUL", ErrInvalid, TruncateForError(uid), maxUIDLen)
	}
	return nil
}

func hasNUL(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == 0 {
			return true
		}
	}
	return false
}

// TruncateForError shortens a user-supplied string for an error message.
func TruncateForError(s string) string {
	if len(s) > 64 {
		return s[:64] + "..."
	}
	return s
}

// Clone returns a deep copy, so that definitions handed out never alias internal state.
func (d Definition) Clone() Definition {
	d.Branches = append([]Branch(nil), d.Branches...)
	d.Metrics = append([]Metric(nil), d.Metrics...)
	d.Bounds = append([]uint32(nil), d.Bounds...)
	return d
}
