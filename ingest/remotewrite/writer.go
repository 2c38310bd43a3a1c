package remotewrite

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/wardmetrics/ward/ingest"
)

// Options configure one Writer. The zero value of each field means its default.
type Options struct {
	// URL is the remote-write endpoint, e.g. http://vm:8428/api/v1/write.
	URL string
	// MaxQueueBytes bounds the on-disk queue (default 1 GiB). Past it the oldest
	// requests are dropped and counted.
	MaxQueueBytes int64
	// MaxSamplesPerRequest splits large flushes (default 5000).
	MaxSamplesPerRequest int
	// Timeout of one HTTP request (default 30s).
	Timeout time.Duration
	// MinBackoff and MaxBackoff bound the exponential backoff between retries
	// (defaults 100ms and 30s).
	MinBackoff, MaxBackoff time.Duration
	// Client sends the requests (default: a client of its own).
	Client *http.Client
	// ExternalLabels are added to every series that lacks them (e.g. instance="ward-1").
	ExternalLabels labels.Labels
	// UserAgent is sent with every request (default "ward").
	UserAgent string
	Logger    *slog.Logger
}

func (o *Options) ensureDefaults() {
	if o.MaxQueueBytes <= 0 {
		o.MaxQueueBytes = 1 << 30
	}
	if o.MaxSamplesPerRequest <= 0 {
		o.MaxSamplesPerRequest = 5000
	}
	if o.Timeout <= 0 {
		o.Timeout = 30 * time.Second
	}
	if o.MinBackoff <= 0 {
		o.MinBackoff = 100 * time.Millisecond
	}
	if o.MaxBackoff < o.MinBackoff {
		o.MaxBackoff = max(30*time.Second, o.MinBackoff)
	}
	if o.Client == nil {
		o.Client = &http.Client{}
	}
	if o.UserAgent == "" {
		o.UserAgent = "ward"
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
}

// Writer queues flushes durably and sends them to one remote. Write (the ingest.Sink
// side) and Run (the sender) may be called concurrently.
type Writer struct {
	o     Options
	q     *queue
	log   *slog.Logger
	wake  chan struct{}
	now   func() time.Time
	label string

	sentRequests *metrics.Counter
	sentBytes    *metrics.Counter
	retries      *metrics.Counter
	dropped      *metrics.Counter
	droppedBytes *metrics.Counter
	failed       *metrics.Counter
}

// New opens the queue a previous run may have left in store and registers the writer's
// self-metrics in set, labelled with the URL. It starts nothing: call Run.
func New(o Options, store Store, set *metrics.Set) (*Writer, error) {
	o.ensureDefaults()
	u, err := url.Parse(o.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("remotewrite: URL %q: want http(s)://host/path (%v)", o.URL, err)
	}
	q, err := openQueue(store, o.MaxQueueBytes)
	if err != nil {
		return nil, err
	}
	// The label hides credentials a URL may carry.
	u.User = nil
	label := `{url=` + strconv.Quote(u.String()) + `}`
	w := &Writer{
		o:     o,
		q:     q,
		log:   o.Logger.With("url", u.String()),
		wake:  make(chan struct{}, 1),
		now:   time.Now,
		label: label,

		sentRequests: set.NewCounter(`ward_remote_write_sent_requests_total` + label),
		sentBytes:    set.NewCounter(`ward_remote_write_sent_bytes_total` + label),
		retries:      set.NewCounter(`ward_remote_write_retries_total` + label),
		dropped:      set.NewCounter(`ward_remote_write_dropped_requests_total` + label),
		droppedBytes: set.NewCounter(`ward_remote_write_dropped_bytes_total` + label),
		failed:       set.NewCounter(`ward_remote_write_queue_errors_total` + label),
	}
	set.NewGauge(`ward_remote_write_queue_requests`+label, func() float64 {
		n, _, _ := q.stats()
		return float64(n)
	})
	set.NewGauge(`ward_remote_write_queue_bytes`+label, func() float64 {
		_, b, _ := q.stats()
		return float64(b)
	})
	set.NewGauge(`ward_remote_write_queue_max_bytes`+label, func() float64 { return float64(o.MaxQueueBytes) })
	set.NewGauge(`ward_remote_write_lag_seconds`+label, func() float64 {
		return w.Lag().Seconds()
	})
	return w, nil
}

// Lag is the age of the oldest request not yet accepted by the remote (0 when the
// queue is empty).
func (w *Writer) Lag() time.Duration {
	_, _, oldest := w.q.stats()
	if oldest == 0 {
		return 0
	}
	return max(0, w.now().Sub(time.UnixMilli(oldest)))
}

// Queued reports how many requests and bytes wait to be sent.
func (w *Writer) Queued() (requests int, bytes int64) {
	n, b, _ := w.q.stats()
	return n, b
}

// Write encodes a flush and appends it to the durable queue; it returns once the
// requests are on disk, never waiting for the remote.
func (w *Writer) Write(_ context.Context, b *ingest.Batch) error {
	if len(b.Samples) == 0 && len(b.Metadata) == 0 {
		return nil
	}
	bodies, err := encode(b, w.o.MaxSamplesPerRequest, w.o.ExternalLabels)
	if err != nil {
		w.failed.Inc()
		return err
	}
	now := w.now()
	for _, body := range bodies {
		n, nb, err := w.q.push(body, now)
		w.dropped.Add(n)
		w.droppedBytes.Add(int(nb))
		if n > 0 {
			w.log.Warn("remote-write queue full: dropped oldest requests", "dropped", n, "bytes", nb, "max_bytes", w.o.MaxQueueBytes)
		}
		if err != nil {
			w.failed.Inc()
			return err
		}
	}
	select {
	case w.wake <- struct{}{}:
	default:
	}
	return nil
}

// Run sends queued requests oldest first until ctx is cancelled. What is still queued
// then stays on disk for the next start.
func (w *Writer) Run(ctx context.Context) error {
	backoff := time.Duration(0)
	for {
		if backoff > 0 {
			t := time.NewTimer(backoff)
			select {
			case <-ctx.Done():
				t.Stop()
				return nil
			case <-t.C:
			}
		}
		seq, body, ok, err := w.q.oldest()
		if err != nil {
			w.failed.Inc()
			w.log.Error("read remote-write queue", "err", err)
			backoff = w.nextBackoff(backoff)
			continue
		}
		if !ok {
			backoff = 0
			select {
			case <-ctx.Done():
				return nil
			case <-w.wake:
			}
			continue
		}
		switch err := w.send(ctx, body); {
		case err == nil:
			backoff = 0
			w.sentRequests.Inc()
			w.sentBytes.Add(len(body))
			if aerr := w.q.ack(seq); aerr != nil {
				w.failed.Inc()
				w.log.Error("ack sent request", "err", aerr)
			}
		case ctx.Err() != nil:
			return nil
		case errors.Is(err, errPermanent):
			backoff = 0
			w.dropped.Inc()
			w.droppedBytes.Add(len(body))
			w.log.Warn("remote refused a request for good: dropped", "err", err)
			if aerr := w.q.ack(seq); aerr != nil {
				w.failed.Inc()
				w.log.Error("drop refused request", "err", aerr)
			}
		default:
			w.retries.Inc()
			backoff = w.nextBackoff(backoff)
			w.log.Debug("remote write failed; retrying", "err", err, "backoff", backoff)
		}
	}
}

func (w *Writer) nextBackoff(cur time.Duration) time.Duration {
	if cur == 0 {
		return w.o.MinBackoff
	}
	return min(cur*2, w.o.MaxBackoff)
}

// errPermanent marks a response the remote will give again for the same request.
var errPermanent = errors.New("remotewrite: permanent error")

// send POSTs one request. It returns nil on 2xx, an error wrapping errPermanent on 4xx
// other than 429, and a plain (retryable) error otherwise.
func (w *Writer) send(ctx context.Context, body []byte) error {
	ctx, cancel := context.WithTimeout(ctx, w.o.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.o.URL, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("%w: build request to %s: %v", errPermanent, w.o.URL, err)
	}
	req.Header.Set("Content-Encoding", "snappy")
	req.Header.Set("Content-Type", "application/x-protobuf")
	req.Header.Set("X-Prometheus-Remote-Write-Version", "0.1.0")
	req.Header.Set("User-Agent", w.o.UserAgent)
	resp, err := w.o.Client.Do(req)
	if err != nil {
		return fmt.Errorf("post %d bytes: %w", len(body), err)
	}
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	_ = resp.Body.Close()
	switch {
	case resp.StatusCode/100 == 2:
		return nil
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode/100 == 5:
		return fmt.Errorf("post %d bytes: %s: %s", len(body), resp.Status, bytes.TrimSpace(msg))
	default:
		return fmt.Errorf("%w: post %d bytes: %s: %s", errPermanent, len(body), resp.Status, bytes.TrimSpace(msg))
	}
}
