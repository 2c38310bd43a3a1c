package notify

import (
	"sort"
	"time"

	"github.com/prometheus/prometheus/model/labels"
)

// Alert statuses in payloads.
const (
	statusFiring   = "firing"
	statusResolved = "resolved"
)

// WebhookMessage is Alertmanager's webhook payload, version 4, field for field.
type WebhookMessage struct {
	Receiver          string            `json:"receiver"`
	Status            string            `json:"status"`
	Alerts            []WebhookAlert    `json:"alerts"`
	GroupLabels       map[string]string `json:"groupLabels"`
	CommonLabels      map[string]string `json:"commonLabels"`
	CommonAnnotations map[string]string `json:"commonAnnotations"`
	ExternalURL       string            `json:"externalURL"`
	Version           string            `json:"version"`
	GroupKey          string            `json:"groupKey"`
	TruncatedAlerts   uint64            `json:"truncatedAlerts"`
}

// WebhookAlert is one alert of a WebhookMessage.
type WebhookAlert struct {
	Status       string            `json:"status"`
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations"`
	StartsAt     time.Time         `json:"startsAt"`
	EndsAt       time.Time         `json:"endsAt"`
	GeneratorURL string            `json:"generatorURL"`
	Fingerprint  string            `json:"fingerprint"`
}

// PostableAlert is the element of the JSON array Alertmanager's
// POST /api/v2/alerts accepts.
type PostableAlert struct {
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations,omitempty"`
	StartsAt     time.Time         `json:"startsAt,omitzero"`
	EndsAt       time.Time         `json:"endsAt,omitzero"`
	GeneratorURL string            `json:"generatorURL,omitempty"`
}

// buildWebhookMessage renders a group's alerts the way Alertmanager's
// webhook notifier does: firing alerts first, zero endsAt while firing, common
// labels and annotations computed over the alerts sent, truncation counted.
func buildWebhookMessage(receiver, externalURL, groupKey string, groupLabels labels.Labels, alerts []Alert, now time.Time, maxAlerts int) *WebhookMessage {
	sorted := make([]Alert, len(alerts))
	copy(sorted, alerts)
	sort.SliceStable(sorted, func(i, j int) bool {
		ri, rj := sorted[i].Resolved(now), sorted[j].Resolved(now)
		if ri != rj {
			return !ri
		}
		return labels.Compare(sorted[i].Labels, sorted[j].Labels) < 0
	})
	msg := &WebhookMessage{
		Receiver:          receiver,
		Status:            statusResolved,
		GroupLabels:       groupLabels.Map(),
		CommonLabels:      map[string]string{},
		CommonAnnotations: map[string]string{},
		ExternalURL:       externalURL,
		Version:           "4",
		GroupKey:          groupKey,
	}
	for i, a := range sorted {
		status := statusFiring
		endsAt := time.Time{}
		if a.Resolved(now) {
			status = statusResolved
			endsAt = a.EndsAt
		} else {
			msg.Status = statusFiring
		}
		if i == 0 {
			msg.CommonLabels = a.Labels.Map()
			msg.CommonAnnotations = a.Annotations.Map()
		} else {
			intersect(msg.CommonLabels, a.Labels)
			intersect(msg.CommonAnnotations, a.Annotations)
		}
		if maxAlerts > 0 && len(msg.Alerts) >= maxAlerts {
			msg.TruncatedAlerts++
			continue
		}
		msg.Alerts = append(msg.Alerts, WebhookAlert{
			Status:       status,
			Labels:       a.Labels.Map(),
			Annotations:  a.Annotations.Map(),
			StartsAt:     a.StartsAt,
			EndsAt:       endsAt,
			GeneratorURL: a.GeneratorURL,
			Fingerprint:  a.Fingerprint().String(),
		})
	}
	if msg.Alerts == nil {
		msg.Alerts = []WebhookAlert{}
	}
	return msg
}

// intersect keeps in common only the pairs also present in ls.
func intersect(common map[string]string, ls labels.Labels) {
	for k, v := range common {
		if ls.Get(k) != v {
			delete(common, k)
		}
	}
}

func toPostable(alerts []Alert) []PostableAlert {
	out := make([]PostableAlert, 0, len(alerts))
	for _, a := range alerts {
		out = append(out, PostableAlert{
			Labels:       a.Labels.Map(),
			Annotations:  a.Annotations.Map(),
			StartsAt:     a.StartsAt,
			EndsAt:       a.EndsAt,
			GeneratorURL: a.GeneratorURL,
		})
	}
	return out
}
