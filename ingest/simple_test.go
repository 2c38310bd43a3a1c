package ingest

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestAddSimpleMatchesAdd applies one random sequence of simple
// measurements to two aggregators, one by one with Add and in chunks of
// random sizes (some larger than simpleChunk) with AddSimple, and checks
// that every measurement gets the same verdict and both flush the same
// samples. The sequence mixes counters, gauges (set and delta), timers,
// spellings that sanitise alike (aliases), one name under two kinds (type
// conflicts), short and long names (inline and out-of-line keys) and more
// series than the limits allow.
func TestAddSimpleMatchesAdd(t *testing.T) {
	opts := Options{MaxSeries: 60, MaxSeriesPerName: 3, MaxNameLen: 64}
	one, oneSink, oneClk, _ := newTestAgg(t, opts)
	many, manySink, manyClk, _ := newTestAgg(t, opts)
	rng := rand.New(rand.NewPCG(1, 2))
	kinds := []Kind{KindCounter, KindGauge, KindHistogram}
	name := func() string {
		i := rng.IntN(80)
		switch i % 4 {
		case 0:
			return fmt.Sprintf("m.%d", i) // an alias of m_%d
		case 1:
			return fmt.Sprintf("m_%d", i-1)
		case 2:
			return fmt.Sprintf("a.rather.long.metric.name.beyond.the.inline.part.%d", i)
		}
		return strings.Repeat("n", 1+i%12) // 1 to 12 bytes: below and above one word
	}
	for round := range 3 {
		ms := make([]Simple, 3000)
		for i := range ms {
			ms[i] = Simple{
				Name:  []byte(name()),
				Kind:  kinds[rng.IntN(len(kinds))],
				Value: float64(rng.IntN(7) - 3),
				Delta: rng.IntN(2) == 0,
			}
			if rng.IntN(2) == 0 {
				ms[i].NameHash = one.NameHasher().Bytes(ms[i].Name)
			}
			if ms[i].Kind != KindGauge {
				ms[i].Delta = false
			}
		}
		want := make([]Reason, len(ms))
		for i, s := range ms {
			vals := []float64{s.Value}
			want[i] = one.Add(&Metric{Name: s.Name, Kind: s.Kind, Values: vals, Rate: 1, Delta: s.Delta})
		}
		refused := 0
		for rest := ms; len(rest) > 0; {
			n := min(len(rest), 1+rng.IntN(2*simpleChunk))
			refused += many.AddSimple(rest[:n])
			rest = rest[n:]
		}
		wantRefused := 0
		for i, s := range ms {
			if s.Reason != want[i] {
				t.Fatalf("round %d, %d (%s %q): AddSimple %v, Add %v", round, i, s.Kind, s.Name, s.Reason, want[i])
			}
			if want[i] != OK {
				wantRefused++
			}
		}
		if refused != wantRefused || wantRefused == 0 || wantRefused == len(ms) {
			t.Fatalf("round %d: AddSimple refused %d, Add %d of %d", round, refused, wantRefused, len(ms))
		}
		got, exp := flush(t, many, manySink, manyClk), flush(t, one, oneSink, oneClk)
		if len(exp) == 0 || fmt.Sprint(got) != fmt.Sprint(exp) {
			t.Fatalf("round %d: AddSimple flushed\n%v\nAdd flushed\n%v", round, got, exp)
		}
	}
}

// TestAddSimpleAllocs checks that the steady state allocates nothing.
func TestAddSimpleAllocs(t *testing.T) {
	a, _, _, _ := newTestAgg(t, Options{})
	ms := []Simple{
		{Name: []byte("c"), Kind: KindCounter, Value: 1},
		{Name: []byte("g.with.a.longer.name.than.thirty.bytes"), Kind: KindGauge, Value: 2, Delta: true},
		{Name: []byte("t"), Kind: KindHistogram, Value: 3},
	}
	a.AddSimple(ms)
	if n := testing.AllocsPerRun(100, func() { a.AddSimple(ms) }); n != 0 {
		t.Errorf("AddSimple allocates %v times", n)
	}
	if v, _ := a.Get("c"); v != 102 {
		t.Errorf("counter c = %v, want 102", v)
	}
}

// TestAddSimpleConcurrentExpiry runs AddSimple from several goroutines
// while flushes expire idle series (so keys are removed, shifted and
// created again under the lock-free reads of AddSimple's first passes),
// and checks that no increment is lost or misapplied: every counter's
// total, live or dormant, is the number of increments sent to it under
// either of its two spellings.
func TestAddSimpleConcurrentExpiry(t *testing.T) {
	a, _, clk, ms := newTestAgg(t, Options{IdleExpiry: time.Second, Shards: 2})
	const writers, rounds, names = 4, 300, 64
	var wg sync.WaitGroup
	sent := make([][names]int, writers)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 7))
			batch := make([]Simple, 0, 2*simpleChunk)
			for range rounds {
				batch = batch[:0]
				base := rng.IntN(names) // a moving window, so that the others go idle
				for range 1 + rng.IntN(cap(batch)) {
					i := (base + rng.IntN(8)) % names
					spelling := "c.%d"
					if rng.IntN(2) == 0 {
						spelling = "c_%d"
					}
					batch = append(batch, Simple{Name: fmt.Appendf(nil, spelling, i), Kind: KindCounter, Value: 1})
					sent[w][i]++
				}
				if n := a.AddSimple(batch); n != 0 {
					t.Errorf("refused %d", n)
					return
				}
			}
		}()
	}
	var finished atomic.Bool
	done := make(chan struct{})
	go func() {
		defer close(done)
		for !finished.Load() {
			clk.Add(2 * time.Second)
			if err := a.Flush(context.Background()); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	wg.Wait()
	finished.Store(true)
	<-done
	for i := range names {
		want := 0
		for w := range writers {
			want += sent[w][i]
		}
		got, ok := a.Get(fmt.Sprintf("c_%d", i))
		if want > 0 && (!ok || got != float64(want)) {
			t.Errorf("c_%d = %v (%v), want %d", i, got, ok, want)
		}
	}
	var buf bytes.Buffer
	ms.WritePrometheus(&buf)
	if strings.Contains(buf.String(), "ward_ingest_series_expired_total 0\n") {
		t.Errorf("no series expired: the test did not exercise removal")
	}
}
