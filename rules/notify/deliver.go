package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"
)

// run is the receiver's worker: it delivers queued notifications one at a
// time until ctx ends.
func (r *receiver) run(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case j := <-r.queue:
			r.m.queueLength.Set(float64(len(r.queue)))
			if r.cfg.Type == TypeAlertmanager {
				r.deliverAlertmanager(ctx, r.batch(j))
				continue
			}
			ok := r.deliverWebhook(ctx, j)
			r.finish(j, ok)
		}
	}
}

// batch merges waiting Alertmanager jobs into one POST of at most
// maxAlertmanagerBatch alerts; the rest stay queued.
func (r *receiver) batch(j *job) []Alert {
	alerts := j.alerts
	for len(alerts) < maxAlertmanagerBatch {
		select {
		case next := <-r.queue:
			alerts = append(alerts, next.alerts...)
		default:
			return alerts
		}
	}
	return alerts
}

func (r *receiver) deliverWebhook(ctx context.Context, j *job) bool {
	body, err := json.Marshal(j.msg)
	if err != nil {
		r.m.failed.Inc()
		r.n.opts.Logger.Error("notify: encode webhook payload", "receiver", r.cfg.Name, "err", err)
		return false
	}
	if !r.send(ctx, body) {
		return false
	}
	r.m.alertsSent.Add(len(j.msg.Alerts))
	return true
}

func (r *receiver) deliverAlertmanager(ctx context.Context, alerts []Alert) {
	body, err := json.Marshal(toPostable(alerts))
	if err != nil {
		r.m.failed.Inc()
		r.n.opts.Logger.Error("notify: encode alerts", "receiver", r.cfg.Name, "err", err)
		return
	}
	if r.send(ctx, body) {
		r.m.alertsSent.Add(len(alerts))
	}
}

// send posts body, retrying with exponential backoff and jitter until it
// succeeds, fails permanently, RetryFor has passed or ctx ends.
func (r *receiver) send(ctx context.Context, body []byte) bool {
	start := time.Now()
	deadline := start.Add(time.Duration(r.cfg.RetryFor))
	backoff := time.Duration(r.cfg.MinBackoff)
	for attempt := 0; ; attempt++ {
		retry, err := r.post(ctx, body)
		if err == nil {
			r.m.sent.Inc()
			r.m.latency.UpdateDuration(start)
			return true
		}
		if !retry || ctx.Err() != nil {
			r.m.failed.Inc()
			r.n.opts.Logger.Warn("notify: delivery failed", "receiver", r.cfg.Name, "attempts", attempt+1, "err", err)
			return false
		}
		// Jitter of ±20% keeps receivers recovering from an outage from
		// being hit by every sender at the same instant.
		wait := time.Duration(float64(backoff) * (0.8 + 0.4*rand.Float64()))
		if time.Now().Add(wait).After(deadline) {
			r.m.failed.Inc()
			r.n.opts.Logger.Warn("notify: giving up", "receiver", r.cfg.Name, "attempts", attempt+1, "err", err)
			return false
		}
		r.m.retries.Inc()
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			r.m.failed.Inc()
			return false
		case <-t.C:
		}
		backoff = min(2*backoff, time.Duration(r.cfg.MaxBackoff))
	}
}

// shutdownGrace is how long an attempt in flight may go on after Run's
// context ends: cutting a delivery the receiver has already accepted would
// leave it out of the notification log and notify again after a restart.
const shutdownGrace = 2 * time.Second

// attemptContext bounds one attempt by the receiver's timeout and, once ctx
// ends, by shutdownGrace.
func (r *receiver) attemptContext(ctx context.Context) (context.Context, context.CancelFunc) {
	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Duration(r.cfg.Timeout))
	var mu sync.Mutex
	var grace *time.Timer
	stop := context.AfterFunc(ctx, func() {
		mu.Lock()
		grace = time.AfterFunc(shutdownGrace, cancel)
		mu.Unlock()
	})
	return actx, func() {
		stop()
		mu.Lock()
		if grace != nil {
			grace.Stop()
		}
		mu.Unlock()
		cancel()
	}
}

// errStatus is a non-2xx answer.
var errStatus = errors.New("unexpected HTTP status")

// post makes one attempt. Network errors, 5xx and 429 are worth retrying;
// other statuses mean the request itself is wrong.
func (r *receiver) post(ctx context.Context, body []byte) (retry bool, err error) {
	ctx, cancel := r.attemptContext(ctx)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.url, bytes.NewReader(body))
	if err != nil {
		return false, fmt.Errorf("notify: build request for %s: %w", r.url, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Ward")
	for k, v := range r.cfg.Headers {
		req.Header.Set(k, v)
	}
	resp, err := r.n.client.Do(req)
	if err != nil {
		return true, fmt.Errorf("notify: post to %s: %w", r.url, err)
	}
	// Drain so the connection can be reused.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
	if resp.StatusCode/100 == 2 {
		return false, nil
	}
	err = fmt.Errorf("notify: post to %s: %w %d", r.url, errStatus, resp.StatusCode)
	return resp.StatusCode/100 == 5 || resp.StatusCode == http.StatusTooManyRequests, err
}
