package ingest

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// collectSink is the consumer side: it keeps every batch it is given.
type collectSink struct {
	mu      sync.Mutex
	batches []*Batch
	fail    error
}

func (c *collectSink) Write(_ context.Context, b *Batch) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.fail != nil {
		return c.fail
	}
	c.batches = append(c.batches, b)
	return nil
}

func (c *collectSink) last(t *testing.T) *Batch {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.batches) == 0 {
		t.Fatal("no batch written")
	}
	return c.batches[len(c.batches)-1]
}

func (c *collectSink) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.batches)
}

// fakeClock is a settable clock for idle expiry and timestamps.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (f *fakeClock) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.t
}

func (f *fakeClock) Add(d time.Duration) {
	f.mu.Lock()
	f.t = f.t.Add(d)
	f.mu.Unlock()
}

func newTestAgg(t *testing.T, o Options) (*Aggregator, *collectSink, *fakeClock, *metrics.Set) {
	t.Helper()
	clk := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	if o.Now == nil {
		o.Now = clk.Now
	}
	sink := &collectSink{}
	ms := metrics.NewSet()
	a, err := NewAggregator(o, sink, ms)
	if err != nil {
		t.Fatal(err)
	}
	return a, sink, clk, ms
}

// samples maps each sample's label string to its value.
func samples(b *Batch) map[string]float64 {
	out := make(map[string]float64, len(b.Samples))
	for _, s := range b.Samples {
		out[s.Labels.String()] = s.V
	}
	return out
}

func flush(t *testing.T, a *Aggregator, sink *collectSink, clk *fakeClock) map[string]float64 {
	t.Helper()
	if err := a.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	return samples(sink.last(t))
}

func metric(kind Kind, name, tags string, vals ...float64) *Metric {
	return &Metric{Name: []byte(name), Tags: []byte(tags), Kind: kind, Values: vals, Rate: 1}
}

func mustAdd(t *testing.T, a *Aggregator, m *Metric) {
	t.Helper()
	if r := a.Add(m); r != OK {
		t.Fatalf("Add(%s): %v", m.Name, r)
	}
}

var errSink = errors.New("sink down")
