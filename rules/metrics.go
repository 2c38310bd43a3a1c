package rules

import (
	"strings"

	"github.com/VictoriaMetrics/metrics"
)

type managerMetrics struct {
	evals, evalFailures, groupEvals, missed *metrics.Counter
	appendErrors, storeErrors               *metrics.Counter
	groupDuration                           *metrics.Histogram
	reloadOK, reloadTime, rules, groups     *metrics.Gauge
	instances                               [len(stateNames)]*metrics.Gauge
	flapping                                *metrics.Gauge
}

func newManagerMetrics(s *metrics.Set) *managerMetrics {
	mm := &managerMetrics{
		evals:         s.GetOrCreateCounter("ward_rules_evaluations_total"),
		evalFailures:  s.GetOrCreateCounter("ward_rules_evaluation_failures_total"),
		groupEvals:    s.GetOrCreateCounter("ward_rules_group_evaluations_total"),
		missed:        s.GetOrCreateCounter("ward_rules_group_iterations_missed_total"),
		appendErrors:  s.GetOrCreateCounter("ward_rules_append_errors_total"),
		storeErrors:   s.GetOrCreateCounter("ward_rules_state_store_errors_total"),
		groupDuration: s.GetOrCreateHistogram("ward_rules_group_evaluation_duration_seconds"),
		reloadOK:      s.GetOrCreateGauge("ward_rules_last_reload_successful", nil),
		reloadTime:    s.GetOrCreateGauge("ward_rules_last_reload_success_timestamp_seconds", nil),
		rules:         s.GetOrCreateGauge("ward_rules_loaded", nil),
		groups:        s.GetOrCreateGauge("ward_rules_groups_loaded", nil),
		flapping:      s.GetOrCreateGauge("ward_rules_flapping_instances", nil),
	}
	for i, name := range stateNames {
		mm.instances[i] = s.GetOrCreateGauge(`ward_rules_alert_instances{state="`+strings.ToLower(name)+`"}`, nil)
	}
	return mm
}

// updateCounts publishes instance counts summed over the loaded groups.
func (m *Manager) updateCounts() {
	var counts [len(stateNames)]int
	flapping := 0
	for _, g := range m.snapshot() {
		g.statMu.Lock()
		for i, c := range g.counts {
			counts[i] += c
		}
		flapping += g.flapping
		g.statMu.Unlock()
	}
	for i, c := range counts {
		m.metrics.instances[i].Set(float64(c))
	}
	m.metrics.flapping.Set(float64(flapping))
}
