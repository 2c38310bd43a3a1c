package client

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/wardmetrics/ward/experiment"
	"github.com/wardmetrics/ward/experiment/spec"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func def(name string, rollout float64, weights ...float64) experiment.Definition {
	d := experiment.Definition{Name: name, Rollout: rollout}
	for i, w := range weights {
		d.Branches = append(d.Branches, experiment.Branch{Name: fmt.Sprint("b", i), Weight: w})
	}
	return d
}

func newClient(t *testing.T, w *ward, mod func(*Options)) *Client {
	t.Helper()
	o := Options{URL: w.srv.URL, FlushInterval: time.Hour, RefreshInterval: time.Hour}
	if mod != nil {
		mod(&o)
	}
	c, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	return c
}

// The client assigns in-process exactly as the server does, for many users, across
// weights, partial rollouts and QA mode.
func TestClientMatchesServer(t *testing.T) {
	w := newWard(t)
	w.create(def("half", 100, 50, 50))
	w.create(def("three", 37.5, 1, 2, 3))
	qa := def("qa", 60, 9, 1)
	qa.Mode = experiment.ModeQA
	w.create(qa)
	c := newClient(t, w, nil)
	defer c.Close(context.Background())
	for _, name := range []string{"half", "three", "qa"} {
		var differ int
		for i := range 20_000 {
			uid := fmt.Sprintf("user-%d", i)
			role := []string{"", "qa"}[i%2]
			local := c.Peek(name, uid, role)
			remote, err := w.m.Assign(name, uid, role)
			if err != nil {
				t.Fatal(err)
			}
			if local.Branch != remote.Branch || local.Record != remote.Record {
				differ++
				if differ < 5 {
					t.Errorf("%s/%s: client %+v, server %+v", name, uid, local, remote.Assignment)
				}
			}
		}
		if differ > 0 {
			t.Errorf("%s: %d of 20000 assignments differ", name, differ)
		}
	}
	// And through the wire: the HTTP assign route answers what the client computes.
	for i := range 50 {
		uid := fmt.Sprintf("wire-%d", i)
		var got experiment.AssignResponse
		if err := c.do(context.Background(), "GET", PathExperiments+"/three/assign?uid="+uid, nil, &got); err != nil {
			t.Fatal(err)
		}
		if want := c.Peek("three", uid, ""); got.Branch != want.Branch || got.Record != want.Record {
			t.Errorf("%s: route %+v, client %+v", uid, got.Assignment, want)
		}
	}
	if got := c.Assign("nope", "u"); got != "" {
		t.Errorf("unknown experiment answered %q, want \"\"", got)
	}
}

// Exposures go out in batches of BatchSize as they fill, each user once, and Close
// sends the rest.
func TestClientBatchesAndCloseFlushes(t *testing.T) {
	w := newWard(t)
	w.create(def("batch", 100, 1, 1))
	c := newClient(t, w, func(o *Options) { o.BatchSize = 100 })
	if err := c.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	for round := range 3 { // returning users are not exposed again
		for i := range 1050 {
			c.Assign("batch", fmt.Sprint("u", i))
		}
		if round == 0 {
			eventually(t, "full batches sent", func() bool { return c.Stats().ExposuresSent >= 1000 })
		}
	}
	if err := c.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	st := c.Stats()
	if st.ExposuresQueued != 1050 || st.ExposuresSent != 1050 || st.ExposuresDropped != 0 {
		t.Errorf("stats %+v, want 1050 queued and sent", st)
	}
	if got := w.maxBody.Load(); got > 100 {
		t.Errorf("a request carried %d exposures, want at most BatchSize 100", got)
	}
	r, err := w.m.Results("batch", experiment.ResultsOptions{})
	if err != nil || r.Users != 1050 {
		t.Errorf("server has %d users (%v), want 1050", r.Users, err)
	}
	if err := c.Close(context.Background()); err != nil {
		t.Errorf("second close: %v", err)
	}
}

// With Ward down the queue stays bounded: new exposures are dropped and counted, and
// Close reports what it could not send.
func TestClientBoundedQueue(t *testing.T) {
	w := newWard(t)
	w.create(def("down", 100, 1, 1))
	c := newClient(t, w, func(o *Options) { o.QueueSize = 100; o.BatchSize = 10 })
	w.down.Store(true)
	if err := c.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	for i := range 500 {
		c.Assign("down", fmt.Sprint("u", i))
		c.Track(fmt.Sprint("u", i), "order", 1)
		if x, ev := c.queue.pending(); x > 100 || ev > 100 {
			t.Fatalf("queue holds %d exposures and %d events, bound 100", x, ev)
		}
	}
	eventually(t, "a failed send", func() bool { return c.Stats().SendErrors > 0 })
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	err := c.Close(ctx)
	st := c.Stats()
	if err == nil || !strings.Contains(err.Error(), "dropped") {
		t.Errorf("close with Ward down: %v, want an error counting dropped items", err)
	}
	// Nothing could be sent: everything is dropped, most at the door of the full queue.
	if st.ExposuresSent != 0 || st.ExposuresDropped != 500 || st.EventsDropped != 500 || st.ExposuresQueued >= 500 {
		t.Errorf("stats %+v: want all 500 dropped, most without being queued", st)
	}
}

// A user keeps the branch this client gave them across a weight change; after a restart
// the server's correction restores it.
func TestClientStickyAndCorrections(t *testing.T) {
	w := newWard(t)
	w.create(def("sticky", 100, 50, 50))
	ctx := context.Background()
	c := newClient(t, w, nil)
	first := map[string]string{}
	for i := range 2000 {
		uid := fmt.Sprint("u", i)
		first[uid] = c.Assign("sticky", uid)
	}
	if err := c.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := w.m.Update("sticky", experiment.Patch{Weights: map[string]float64{"b0": 5, "b1": 95}}, "t"); err != nil {
		t.Fatal(err)
	}
	if err := c.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	for uid, br := range first {
		if got := c.Assign("sticky", uid); got != br {
			t.Fatalf("%s moved from %s to %s after a weight change", uid, br, got)
		}
	}
	if err := c.Close(ctx); err != nil {
		t.Fatal(err)
	}

	// A restarted client remembers nobody: users whose hash now says otherwise are sent
	// with the new branch, and the server corrects them.
	c2 := newClient(t, w, nil)
	var moved int
	for uid, br := range first {
		if c2.Assign("sticky", uid) != br {
			moved++
		}
	}
	if moved < 200 {
		t.Fatalf("only %d users hash to another branch under 5/95: the test does not test", moved)
	}
	if err := c2.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if got := c2.Stats().Corrections; got != int64(moved) {
		t.Errorf("%d corrections, want %d", got, moved)
	}
	for uid, br := range first {
		if got := c2.Assign("sticky", uid); got != br {
			t.Fatalf("%s: %s after the correction, want the recorded %s", uid, got, br)
		}
	}
	if err := c2.Close(ctx); err != nil {
		t.Fatal(err)
	}
}

// Track sends events that count in results; a closed experiment gives everyone the
// winner without exposures.
func TestClientTrackAndClose(t *testing.T) {
	w := newWard(t)
	d := def("track", 100, 1, 1)
	d.Metrics = []experiment.Metric{{Name: "order"}}
	w.create(d)
	ctx := context.Background()
	c := newClient(t, w, nil)
	for i := range 100 {
		uid := fmt.Sprint("u", i)
		c.Assign("track", uid)
		c.Track(uid, "order", 1)
	}
	if err := c.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	r, err := w.m.Results("track", experiment.ResultsOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var conv int64
	for _, b := range r.Metrics[0].Branches {
		conv += b.Converted
	}
	if r.Users != 100 || conv != 100 {
		t.Errorf("results: %d users, %d converted; want 100 and 100", r.Users, conv)
	}
	if _, err := w.m.CloseOn("track", "b1", "t"); err != nil {
		t.Fatal(err)
	}
	if err := c.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	before := c.Stats().ExposuresQueued
	for i := range 200 {
		if got := c.Assign("track", fmt.Sprint("new", i)); got != "b1" {
			t.Fatalf("closed experiment answered %q, want the winner b1", got)
		}
	}
	if got := c.Stats().ExposuresQueued; got != before {
		t.Errorf("closed experiment queued %d exposures", got-before)
	}
	if err := c.Close(ctx); err != nil {
		t.Fatal(err)
	}
}

// BenchmarkClientAssign is the app's in-process path. "returning" users (the common
// case) cost a definitions snapshot, a 64-bit hash and the sticky lookup; "first" users
// add one SHA-256 and an exposure queued (dropped here once the bounded queue is full,
// which costs the same). Target: at least 5M/s on one core.
func BenchmarkClientAssign(b *testing.B) {
	setup := func(b *testing.B) *Client {
		c, err := New(Options{URL: "http://127.0.0.1:1", QueueSize: 1 << 10, MaxSticky: 1 << 16})
		if err != nil {
			b.Fatal(err)
		}
		asg := spec.NewAssigner(def("bench", 100, 1, 1))
		c.defs.Store(&defSet{byName: map[string]*entry{"bench": {asg: asg, sticky: newStickySet(1 << 20)}}})
		return c
	}
	const n = 1 << 16
	uids := make([]string, n)
	for i := range uids {
		uids[i] = fmt.Sprintf("user-%08d", i)
	}
	b.Run("returning", func(b *testing.B) {
		c := setup(b)
		for _, u := range uids {
			c.Assign("bench", u)
		}
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			c.Assign("bench", uids[i&(n-1)])
			i++
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "assignments/s")
	})
	b.Run("first", func(b *testing.B) {
		c := setup(b)
		fresh := make([]string, 1<<20)
		for i := range fresh {
			fresh[i] = fmt.Sprintf("new-%08d", i)
		}
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if i&(1<<20-1) == 0 { // start over with nobody remembered
				c.defs.Load().byName["bench"].sticky = newStickySet(1 << 16)
			}
			c.Assign("bench", fresh[i&(1<<20-1)])
			i++
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "assignments/s")
	})
}
