package rules

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/prometheus/model/labels"
)

// RuleDiscovery is the data of Prometheus' GET /api/v1/rules.
type RuleDiscovery struct {
	Groups []RuleGroup `json:"groups"`
}

// RuleGroup is one group in RuleDiscovery.
type RuleGroup struct {
	Name           string    `json:"name"`
	File           string    `json:"file"`
	Rules          []any     `json:"rules"` // AlertingRule or RecordingRule
	Interval       float64   `json:"interval"`
	Limit          int       `json:"limit"`
	EvaluationTime float64   `json:"evaluationTime"`
	LastEvaluation time.Time `json:"lastEvaluation"`
}

// AlertingRule is an alerting rule in Prometheus' API shape, plus Ward's
// extensions (omitted when unused).
type AlertingRule struct {
	State          string        `json:"state"` // inactive, pending, firing
	Name           string        `json:"name"`
	Query          string        `json:"query"`
	Duration       float64       `json:"duration"`
	KeepFiringFor  float64       `json:"keepFiringFor"`
	Labels         labels.Labels `json:"labels"`
	Annotations    labels.Labels `json:"annotations"`
	Alerts         []Alert       `json:"alerts"`
	Health         string        `json:"health"`
	LastError      string        `json:"lastError,omitempty"`
	EvaluationTime float64       `json:"evaluationTime"`
	LastEvaluation time.Time     `json:"lastEvaluation"`
	Type           string        `json:"type"`

	Warn     *Threshold `json:"warn,omitempty"`
	Crit     *Threshold `json:"crit,omitempty"`
	Clear    *Threshold `json:"clear,omitempty"`
	Active   []Window   `json:"active,omitempty"`
	InWindow bool       `json:"inWindow"`
	NoData   NoData     `json:"noData,omitempty"`
	Flap     bool       `json:"flapDetection,omitempty"`
}

// RecordingRule is a recording rule in Prometheus' API shape.
type RecordingRule struct {
	Name           string        `json:"name"`
	Query          string        `json:"query"`
	Labels         labels.Labels `json:"labels"`
	Health         string        `json:"health"`
	LastError      string        `json:"lastError,omitempty"`
	EvaluationTime float64       `json:"evaluationTime"`
	LastEvaluation time.Time     `json:"lastEvaluation"`
	Type           string        `json:"type"`
}

// Alert is an active alert in Prometheus' API shape, plus Ward's state.
type Alert struct {
	Labels          labels.Labels `json:"labels"`
	Annotations     labels.Labels `json:"annotations"`
	State           string        `json:"state"` // pending, firing
	ActiveAt        *time.Time    `json:"activeAt,omitempty"`
	KeepFiringSince *time.Time    `json:"keepFiringSince,omitempty"`
	Value           string        `json:"value"`
	WardState       State         `json:"wardState"`
	Flapping        bool          `json:"flapping,omitempty"`
}

// AlertDiscovery is the data of Prometheus' GET /api/v1/alerts.
type AlertDiscovery struct {
	Alerts []Alert `json:"alerts"`
}

// Check is one row of the checks board (/api/v1/checks), like a service on
// a Nagios board.
type Check struct {
	Status          State         `json:"status"`
	Name            string        `json:"name"`
	Rule            string        `json:"rule"`
	Group           string        `json:"group"`
	File            string        `json:"file"`
	Labels          labels.Labels `json:"labels"`
	Since           *time.Time    `json:"since,omitempty"`
	DurationSeconds float64       `json:"durationSeconds"`
	Duration        string        `json:"duration"`
	LastCheck       *time.Time    `json:"lastCheck,omitempty"`
	Value           string        `json:"value,omitempty"`
	Info            string        `json:"info"`
	Flapping        bool          `json:"flapping"`
	FlapPercent     float64       `json:"flapPercent"`
	Active          bool          `json:"active"`
}

// Rules returns every loaded group and rule with its current state.
func (m *Manager) Rules() RuleDiscovery {
	out := RuleDiscovery{Groups: []RuleGroup{}}
	for _, g := range m.snapshot() {
		g.statMu.Lock()
		rg := RuleGroup{
			Name:           g.spec.Name,
			File:           g.file,
			Rules:          []any{},
			Interval:       g.interval.Seconds(),
			Limit:          g.spec.Limit,
			EvaluationTime: g.evalDuration.Seconds(),
			LastEvaluation: g.lastEval,
		}
		g.statMu.Unlock()
		for _, r := range g.rules {
			switch r := r.(type) {
			case *alertingRule:
				rg.Rules = append(rg.Rules, r.apiRule())
			case *recordingRule:
				rg.Rules = append(rg.Rules, r.apiRule())
			}
		}
		out.Groups = append(out.Groups, rg)
	}
	return out
}

func (r *recordingRule) apiRule() RecordingRule {
	r.mu.Lock()
	defer r.mu.Unlock()
	return RecordingRule{
		Name:           r.spec.Record,
		Query:          r.spec.Expr,
		Labels:         r.labels,
		Health:         r.health,
		LastError:      r.lastError,
		EvaluationTime: r.evalDuration.Seconds(),
		LastEvaluation: r.lastEval,
		Type:           "recording",
	}
}

func (r *alertingRule) apiRule() AlertingRule {
	r.mu.Lock()
	defer r.mu.Unlock()
	ar := AlertingRule{
		State:          "inactive",
		Name:           r.spec.Alert,
		Query:          r.spec.Expr,
		Duration:       r.spec.For.Seconds(),
		KeepFiringFor:  r.spec.KeepFiringFor.Seconds(),
		Labels:         r.ruleLabels,
		Annotations:    r.annotations,
		Alerts:         r.alertsLocked(),
		Health:         r.health,
		LastError:      r.lastError,
		EvaluationTime: r.evalDuration.Seconds(),
		LastEvaluation: r.lastEval,
		Type:           "alerting",
		Warn:           r.spec.Warn,
		Crit:           r.spec.Crit,
		Clear:          r.spec.Clear,
		Active:         r.spec.Active,
		InWindow:       r.inWindow,
		Flap:           r.spec.FlapDetection,
	}
	if r.spec.NoData != NoDataOK {
		ar.NoData = r.spec.NoData
	}
	for _, a := range ar.Alerts {
		if a.State == "firing" {
			ar.State = "firing"
			break
		}
		ar.State = "pending"
	}
	return ar
}

// alertsLocked returns the pending and firing instances.
func (r *alertingRule) alertsLocked() []Alert {
	out := []Alert{}
	for _, in := range r.instances {
		if in.State == StateOK {
			continue
		}
		lvl, state := in.State, "firing"
		if lvl == StatePending {
			lvl, state = in.Target, "pending"
		}
		a := Alert{
			Labels:      r.notifyLabels(in, lvl),
			Annotations: in.Annotations,
			State:       state,
			Value:       valueString(math.NaN()),
			WardState:   in.State,
			Flapping:    in.Flapping,
		}
		if in.HasValue {
			a.Value = valueString(in.Value)
		}
		if a.Annotations.IsEmpty() {
			a.Annotations = labels.EmptyLabels()
		}
		if !in.ActiveAt.IsZero() {
			t := in.ActiveAt
			a.ActiveAt = &t
		}
		if !in.KeepFiringSince.IsZero() {
			t := in.KeepFiringSince
			a.KeepFiringSince = &t
		}
		out = append(out, a)
	}
	slices.SortFunc(out, func(a, b Alert) int { return labels.Compare(a.Labels, b.Labels) })
	return out
}

// Alerts returns every pending and firing alert.
func (m *Manager) Alerts() AlertDiscovery {
	out := AlertDiscovery{Alerts: []Alert{}}
	for _, g := range m.snapshot() {
		for _, r := range g.rules {
			if ar, ok := r.(*alertingRule); ok {
				ar.mu.Lock()
				out.Alerts = append(out.Alerts, ar.alertsLocked()...)
				ar.mu.Unlock()
			}
		}
	}
	return out
}

// Checks returns the checks board: one row per alert instance, and one row
// for each alerting rule that has no instance, worst first.
func (m *Manager) Checks() []Check {
	now := m.now()
	out := []Check{}
	for _, g := range m.snapshot() {
		for _, r := range g.rules {
			if ar, ok := r.(*alertingRule); ok {
				out = append(out, ar.checks(g, now)...)
			}
		}
	}
	slices.SortStableFunc(out, func(a, b Check) int {
		if d := a.Status.severityRank() - b.Status.severityRank(); d != 0 {
			return d
		}
		return strings.Compare(a.Name, b.Name)
	})
	return out
}

func (r *alertingRule) checks(g *group, now time.Time) []Check {
	r.mu.Lock()
	defer r.mu.Unlock()
	base := Check{Rule: r.spec.Alert, Group: g.spec.Name, File: g.file, Active: r.inWindow}
	if r.health == healthErr {
		c := base
		c.Status, c.Name, c.Labels = StateUnknown, r.spec.Alert, r.ruleLabels
		c.Info = "evaluation failed: " + r.lastError
		c.LastCheck = timePtr(r.lastEval)
		return []Check{c}
	}
	if len(r.instances) == 0 {
		c := base
		c.Status, c.Name, c.Labels = StateOK, r.spec.Alert, r.ruleLabels
		c.LastCheck = timePtr(r.lastEval)
		switch {
		case r.health == healthUnknown:
			c.Info = "not evaluated yet"
		case !r.inWindow:
			c.Info = "outside active window " + windowsString(r.spec.Active)
		default:
			c.Info = "no alerts"
		}
		return []Check{c}
	}
	var out []Check
	for _, in := range r.instances {
		c := base
		c.Status, c.Labels = in.State, in.Labels
		c.Name = checkName(r.spec.Alert, in.Labels, r.ruleLabels)
		c.Since, c.LastCheck = timePtr(in.Since), timePtr(in.LastEval)
		if !in.Since.IsZero() {
			d := now.Sub(in.Since)
			c.DurationSeconds, c.Duration = d.Seconds(), formatDuration(d)
		}
		if in.HasValue {
			c.Value = formatValue(in.Value)
		}
		c.Info = in.Message
		if s := in.Annotations.Get("summary"); s != "" && in.State != StateOK {
			c.Info = s + " (" + in.Message + ")"
		}
		if in.State == StatePending {
			c.Info += fmt.Sprintf("; %s after %s", in.Target, r.spec.For)
		}
		c.Flapping, c.FlapPercent = in.Flapping, in.FlapPercent
		if in.Flapping {
			c.Info += fmt.Sprintf("; FLAPPING (%.0f%% state change), notifications held", in.FlapPercent)
		}
		out = append(out, c)
	}
	return out
}

// checkName is the alert name with the labels that tell instances apart.
func checkName(alert string, ls, ruleLabels labels.Labels) string {
	var parts []string
	ls.Range(func(l labels.Label) {
		if l.Name == labels.AlertName || ruleLabels.Get(l.Name) == l.Value {
			return
		}
		parts = append(parts, fmt.Sprintf("%s=%q", l.Name, l.Value))
	})
	if len(parts) == 0 {
		return alert
	}
	return alert + "{" + strings.Join(parts, ", ") + "}"
}

func windowsString(ws []Window) string {
	s := make([]string, len(ws))
	for i, w := range ws {
		s[i] = w.String()
	}
	return strings.Join(s, ", ")
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// formatDuration prints a duration the way Nagios boards do: 2d 3h 4m 5s.
func formatDuration(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	s := int64(d / time.Second)
	return fmt.Sprintf("%dd %dh %dm %ds", s/86400, s%86400/3600, s%3600/60, s%60)
}
