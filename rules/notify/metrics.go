package notify

import (
	"strings"

	"github.com/VictoriaMetrics/metrics"
)

type receiverMetrics struct {
	sent        *metrics.Counter
	alertsSent  *metrics.Counter
	failed      *metrics.Counter
	retries     *metrics.Counter
	dropped     *metrics.Counter
	storeErrors *metrics.Counter
	queueLength *metrics.Gauge
	latency     *metrics.Histogram
}

func newReceiverMetrics(set *metrics.Set, receiver string) *receiverMetrics {
	l := `{receiver="` + escapeLabel(receiver) + `"}`
	return &receiverMetrics{
		sent:        set.GetOrCreateCounter("ward_notify_notifications_total" + l),
		alertsSent:  set.GetOrCreateCounter("ward_notify_alerts_sent_total" + l),
		failed:      set.GetOrCreateCounter("ward_notify_notifications_failed_total" + l),
		retries:     set.GetOrCreateCounter("ward_notify_retries_total" + l),
		dropped:     set.GetOrCreateCounter("ward_notify_dropped_total" + l),
		storeErrors: set.GetOrCreateCounter("ward_notify_store_errors_total" + l),
		queueLength: set.GetOrCreateGauge("ward_notify_queue_length"+l, nil),
		latency:     set.GetOrCreateHistogram("ward_notify_latency_seconds" + l),
	}
}

var labelEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)

func escapeLabel(s string) string { return labelEscaper.Replace(s) }
