package notify

import (
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
)

// Alert is one alert instance as handed over by the rules, with
// Alertmanager's semantics: an alert whose EndsAt is set and not after "now"
// is resolved; a firing alert carries an EndsAt in the future saying how long
// it stays valid without being sent again, or a zero EndsAt.
type Alert struct {
	Labels       labels.Labels
	Annotations  labels.Labels
	StartsAt     time.Time
	EndsAt       time.Time
	GeneratorURL string
}

// Resolved reports whether the alert has ended at time now.
func (a *Alert) Resolved(now time.Time) bool {
	return !a.EndsAt.IsZero() && !a.EndsAt.After(now)
}

// Fingerprint is Alertmanager's fingerprint of the alert's label set, so the
// value in webhook payloads matches what Alertmanager would send.
func (a *Alert) Fingerprint() model.Fingerprint {
	return fingerprint(a.Labels)
}

func fingerprint(ls labels.Labels) model.Fingerprint {
	set := make(model.LabelSet, ls.Len())
	ls.Range(func(l labels.Label) {
		set[model.LabelName(l.Name)] = model.LabelValue(l.Value)
	})
	return set.Fingerprint()
}
