package experiment

import (
	"fmt"
	"slices"
	"strconv"
	"time"
)

// Actions of a Change.
const (
	ActionCreate = "create"
	ActionUpdate = "update"
	ActionClose  = "close"
	ActionApply  = "apply" // from a definition file
)

// Change is one entry of an experiment's history: who changed what, and when. The
// history is append-only and kept for the life of the experiment.
type Change struct {
	Seq        uint64        `json:"seq"`
	Experiment string        `json:"experiment"`
	Who        string        `json:"who"`
	When       time.Time     `json:"when"`
	Action     string        `json:"action"`
	Fields     []FieldChange `json:"fields,omitempty"`
	// After is the whole definition once the change was made.
	After Definition `json:"after"`
}

// FieldChange is one field's old and new value, as text.
type FieldChange struct {
	Field string `json:"field"`
	From  string `json:"from"`
	To    string `json:"to"`
}

// Patch is the body of PATCH /api/v1/experiments/{name}: the fields to change, all
// optional. Branches cannot be added, removed, renamed or reordered (that would be a
// different experiment), and the salt never changes; their weights can.
type Patch struct {
	Description *string `json:"description,omitempty"`
	// Rollout is the new percentage; raising it only adds users.
	Rollout *float64 `json:"rollout,omitempty"`
	Mode    *Mode    `json:"mode,omitempty"`
	// Status "closed" needs a Winner (here or already set); "open" clears the winner.
	Status *Status `json:"status,omitempty"`
	Winner *string `json:"winner,omitempty"`
	// Weights maps branch names to new weights; branches not named keep theirs.
	// Users already exposed keep their branch.
	Weights map[string]float64 `json:"weights,omitempty"`
	// Start and End replace the window; a zero time clears a bound.
	Start *time.Time `json:"start,omitempty"`
	End   *time.Time `json:"end,omitempty"`
	// Metrics, when present, replaces the list of judged metrics.
	Metrics []Metric `json:"metrics,omitempty"`
}

// DecodePatch decodes a PATCH body strictly (unknown fields are errors).
func DecodePatch(body []byte) (Patch, error) {
	var p Patch
	if err := decodeStrict(body, &p); err != nil {
		return Patch{}, fmt.Errorf("%w: decode patch: %w", ErrInvalid, err)
	}
	return p, nil
}

// apply returns d with the patch applied (not yet validated).
func (p *Patch) apply(d Definition) (Definition, error) {
	d = d.Clone()
	if p.Description != nil {
		d.Description = *p.Description
	}
	if p.Rollout != nil {
		d.Rollout = *p.Rollout
	}
	if p.Mode != nil {
		d.Mode = *p.Mode
	}
	if p.Winner != nil {
		d.Winner = *p.Winner
	}
	if p.Status != nil {
		d.Status = *p.Status
		if d.Status == StatusOpen && p.Winner == nil {
			d.Winner = ""
		}
	}
	for name, w := range p.Weights {
		i := d.BranchIndex(name)
		if i < 0 {
			return d, fmt.Errorf("%w: experiment %q: no branch %q to weigh", ErrInvalid, d.Name, name)
		}
		d.Branches[i].Weight = w
	}
	if p.Start != nil {
		d.Start = *p.Start
	}
	if p.End != nil {
		d.End = *p.End
	}
	if p.Metrics != nil {
		d.Metrics = slices.Clone(p.Metrics)
	}
	return d, nil
}

// checkImmutable rejects changes to what defines an experiment's randomisation: salt and
// branches (names and order).
func checkImmutable(old, next Definition) error {
	if old.Salt != next.Salt {
		return fmt.Errorf("%w: experiment %q: salt cannot change (%q to %q): it would move every user", ErrInvalid, old.Name, old.Salt, next.Salt)
	}
	if len(old.Branches) != len(next.Branches) {
		return fmt.Errorf("%w: experiment %q: branches cannot be added or removed (%d to %d); create a new experiment", ErrInvalid, old.Name, len(old.Branches), len(next.Branches))
	}
	for i := range old.Branches {
		if old.Branches[i].Name != next.Branches[i].Name {
			return fmt.Errorf("%w: experiment %q: branch %d cannot be renamed or moved (%q to %q)", ErrInvalid, old.Name, i, old.Branches[i].Name, next.Branches[i].Name)
		}
	}
	return nil
}

// diff lists the user-visible fields that differ between two definitions.
func diff(old, next Definition) []FieldChange {
	var out []FieldChange
	add := func(field, from, to string) {
		if from != to {
			out = append(out, FieldChange{Field: field, From: from, To: to})
		}
	}
	add("description", old.Description, next.Description)
	add("rollout", fmtFloat(old.Rollout), fmtFloat(next.Rollout))
	add("mode", string(old.Mode), string(next.Mode))
	add("status", string(old.Status), string(next.Status))
	add("winner", old.Winner, next.Winner)
	add("start", fmtTime(old.Start), fmtTime(next.Start))
	add("end", fmtTime(old.End), fmtTime(next.End))
	for i := range next.Branches {
		if i < len(old.Branches) {
			add("weight."+next.Branches[i].Name, fmtFloat(old.Branches[i].Weight), fmtFloat(next.Branches[i].Weight))
		}
	}
	add("metrics", fmtMetrics(old.Metrics), fmtMetrics(next.Metrics))
	return out
}

func fmtFloat(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

func fmtMetrics(ms []Metric) string {
	s := ""
	for i, m := range ms {
		if i > 0 {
			s += ","
		}
		s += m.Name + ":" + string(m.Kind)
	}
	return s
}
