package remotewrite

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/prometheus/prometheus/model/labels"
	"go.uber.org/goleak"

	"github.com/wardmetrics/ward/ingest"
	"github.com/wardmetrics/ward/tsdb"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// receiver is the outside world: a remote-write endpoint that records what it accepts
// and answers with the status its test sets.
type receiver struct {
	srv *httptest.Server

	mu      sync.Mutex
	status  int // 0: 204
	samples map[string]float64
	reqs    int
	headers http.Header
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{samples: map[string]float64{}}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		defer r.mu.Unlock()
		if r.status != 0 {
			w.WriteHeader(r.status)
			return
		}
		wr, err := Decode(body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		r.reqs++
		r.headers = req.Header.Clone()
		for _, ts := range wr.Timeseries {
			b := labels.NewScratchBuilder(len(ts.Labels))
			for _, l := range ts.Labels {
				b.Add(l.Name, l.Value)
			}
			for _, s := range ts.Samples {
				r.samples[fmt.Sprintf("%s@%d", b.Labels(), s.Timestamp)] = s.Value
			}
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) setStatus(s int) {
	r.mu.Lock()
	r.status = s
	r.mu.Unlock()
}

func (r *receiver) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.samples)
}

func openDB(t *testing.T, dir string) *tsdb.DB {
	t.Helper()
	db, err := tsdb.Open(dir, tsdb.Options{}, metrics.NewSet())
	if err != nil {
		t.Fatal(err)
	}
	return db
}

func batch(t0 int64, n int) *ingest.Batch {
	b := &ingest.Batch{Time: t0, Metadata: []ingest.Metadata{{Name: "hits", Type: "counter", Help: "hits"}}}
	for i := range n {
		b.Samples = append(b.Samples, ingest.Sample{
			Labels: labels.FromStrings("__name__", "hits", "i", fmt.Sprint(i)), T: t0, V: float64(i),
		})
	}
	return b
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// run starts w.Run and returns a stop function that waits for it.
func run(t *testing.T, w *Writer) func() {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	stop := func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}
	var once sync.Once
	t.Cleanup(func() { once.Do(stop) })
	return func() { once.Do(stop) }
}

func fast(url string) Options {
	return Options{URL: url, MinBackoff: time.Millisecond, MaxBackoff: 10 * time.Millisecond, MaxSamplesPerRequest: 7}
}

func TestWriterSendsWithProtocolHeaders(t *testing.T) {
	rcv := newReceiver(t)
	db := openDB(t, t.TempDir())
	defer db.Close()
	set := metrics.NewSet()
	w, err := New(fast(rcv.srv.URL), db.KV("rw"), set)
	if err != nil {
		t.Fatal(err)
	}
	stop := run(t, w)
	if err := w.Write(context.Background(), batch(1000, 20)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "20 samples", func() bool { return rcv.count() == 20 })
	waitFor(t, "empty queue", func() bool { n, _ := w.Queued(); return n == 0 })
	stop()
	rcv.mu.Lock()
	defer rcv.mu.Unlock()
	if got := rcv.samples[`{__name__="hits", i="13"}@1000`]; got != 13 {
		t.Errorf("sample i=13: got %v, want 13", got)
	}
	if rcv.reqs != 3 { // 20 samples, 7 per request
		t.Errorf("requests: got %d, want 3", rcv.reqs)
	}
	for k, want := range map[string]string{
		"Content-Encoding": "snappy", "Content-Type": "application/x-protobuf",
		"X-Prometheus-Remote-Write-Version": "0.1.0",
	} {
		if got := rcv.headers.Get(k); got != want {
			t.Errorf("header %s: got %q, want %q", k, got, want)
		}
	}
}

// TestWriterOutageLosesNothing: while the remote answers 503 the queue grows on disk;
// Ward restarts during the outage; once the remote is back every sample arrives.
func TestWriterOutageLosesNothing(t *testing.T) {
	rcv := newReceiver(t)
	rcv.setStatus(http.StatusServiceUnavailable)
	dir := t.TempDir()
	db := openDB(t, dir)
	set := metrics.NewSet()
	w, err := New(fast(rcv.srv.URL), db.KV("rw"), set)
	if err != nil {
		t.Fatal(err)
	}
	stop := run(t, w)
	for i := range 5 {
		if err := w.Write(context.Background(), batch(int64(1000*(i+1)), 10)); err != nil {
			t.Fatal(err)
		}
	}
	retries := set.GetOrCreateCounter(`ward_remote_write_retries_total{url="` + rcv.srv.URL + `"}`)
	waitFor(t, "retries", func() bool { return retries.Get() >= 3 })
	stop()
	if n, b := w.Queued(); n != 10 || b == 0 {
		t.Fatalf("queued during outage: %d requests, %d bytes; want 10 requests", n, b)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	// Restart: the queue is read back from disk.
	db = openDB(t, dir)
	defer db.Close()
	w, err = New(fast(rcv.srv.URL), db.KV("rw"), metrics.NewSet())
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := w.Queued(); n != 10 {
		t.Fatalf("queued after restart: got %d, want 10", n)
	}
	if w.Lag() <= 0 {
		t.Errorf("lag with a queued request: got %v, want > 0", w.Lag())
	}
	rcv.setStatus(0)
	run(t, w)
	w.Write(context.Background(), &ingest.Batch{}) // nothing to send: must not block
	waitFor(t, "all 50 samples", func() bool { return rcv.count() == 50 })
	waitFor(t, "empty queue", func() bool { n, b := w.Queued(); return n == 0 && b == 0 })
	if w.Lag() != 0 {
		t.Errorf("lag with an empty queue: got %v", w.Lag())
	}
}

func TestWriterDropsOn4xx(t *testing.T) {
	rcv := newReceiver(t)
	rcv.setStatus(http.StatusBadRequest)
	db := openDB(t, t.TempDir())
	defer db.Close()
	set := metrics.NewSet()
	w, err := New(fast(rcv.srv.URL), db.KV("rw"), set)
	if err != nil {
		t.Fatal(err)
	}
	run(t, w)
	if err := w.Write(context.Background(), batch(1000, 3)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "refused request dropped", func() bool { n, _ := w.Queued(); return n == 0 })
	dropped := set.GetOrCreateCounter(`ward_remote_write_dropped_requests_total{url="` + rcv.srv.URL + `"}`)
	if dropped.Get() != 1 {
		t.Errorf("dropped: got %d, want 1", dropped.Get())
	}
	rcv.setStatus(0)
	if err := w.Write(context.Background(), batch(2000, 3)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "next request sent", func() bool { return rcv.count() == 3 })
}

func TestQueueBoundDropsOldest(t *testing.T) {
	db := openDB(t, t.TempDir())
	defer db.Close()
	set := metrics.NewSet()
	o := fast("http://127.0.0.1:1/api/v1/write")
	one, err := encode(batch(1000, 7), 7, labels.EmptyLabels())
	if err != nil {
		t.Fatal(err)
	}
	o.MaxQueueBytes = int64(3*(len(one[0])+headerLen) + 10) // room for three requests
	w, err := New(o, db.KV("rw"), set)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		if err := w.Write(context.Background(), batch(1000, 7)); err != nil {
			t.Fatalf("write %d: %v", i, err)
		}
	}
	n, b := w.Queued()
	if n != 3 || b > o.MaxQueueBytes {
		t.Errorf("queue: %d requests, %d bytes; want 3 within %d", n, b, o.MaxQueueBytes)
	}
	seq, _, ok, err := w.q.oldest()
	if err != nil || !ok || seq != 3 {
		t.Errorf("oldest after eviction: seq %d ok %v err %v; want 3", seq, ok, err)
	}
	dropped := set.GetOrCreateCounter(`ward_remote_write_dropped_requests_total{url="http://127.0.0.1:1/api/v1/write"}`)
	if dropped.Get() != 2 {
		t.Errorf("dropped: got %d, want 2", dropped.Get())
	}
}

func TestNewRejectsBadURL(t *testing.T) {
	db := openDB(t, t.TempDir())
	defer db.Close()
	for _, u := range []string{"", "ftp://x/y", "localhost:8428"} {
		if _, err := New(Options{URL: u}, db.KV("rw"), metrics.NewSet()); err == nil {
			t.Errorf("New(%q): want an error", u)
		}
	}
}

func TestEncodeRoundTrip(t *testing.T) {
	b := batch(5000, 12)
	bodies, err := encode(b, 5, labels.FromStrings("i", "ignored", "instance", "ward-1"))
	if err != nil {
		t.Fatal(err)
	}
	if len(bodies) != 3 {
		t.Fatalf("requests: got %d, want 3", len(bodies))
	}
	var got int
	for i, body := range bodies {
		req, err := Decode(body)
		if err != nil {
			t.Fatal(err)
		}
		if (i == 0) != (len(req.Metadata) == 1) {
			t.Errorf("request %d: metadata %v; want it in the first request only", i, req.Metadata)
		}
		for _, ts := range req.Timeseries {
			if len(ts.Labels) != 3 || ts.Labels[0].Name != "__name__" || ts.Labels[1].Name != "i" ||
				ts.Labels[1].Value == "ignored" || ts.Labels[2].Name != "instance" || ts.Labels[2].Value != "ward-1" ||
				ts.Samples[0].Timestamp != 5000 {
				t.Errorf("series %v: want __name__, its own i and the external instance, in order", ts)
			}
			got++
		}
	}
	if got != 12 {
		t.Errorf("series: got %d, want 12", got)
	}
}

func FuzzDecode(f *testing.F) {
	bodies, _ := encode(batch(1000, 3), 10, labels.EmptyLabels())
	f.Add(bodies[0])
	f.Add([]byte{})
	f.Add([]byte("\x00\x01garbage"))
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := Decode(body)
		if err != nil {
			return
		}
		raw, err := req.Marshal()
		if err != nil {
			t.Fatalf("re-marshal a decoded request: %v", err)
		}
		_ = raw
	})
}
