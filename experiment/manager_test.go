package experiment

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestCreateUpdateHistory(t *testing.T) {
	e := newEnv(t)
	d := e.create(fiftyFifty("checkout"))
	if d.Version != 1 || d.Salt != "checkout" || d.Status != StatusOpen || d.Mode != ModeAll || !d.Created.Equal(e.clock.Now()) {
		t.Errorf("created %+v", d)
	}
	if _, err := e.m.Create(fiftyFifty("checkout"), "x"); !errors.Is(err, ErrExists) {
		t.Errorf("second create: %v, want ErrExists", err)
	}
	if _, err := e.m.Create(Definition{Name: "bad"}, "x"); !errors.Is(err, ErrInvalid) {
		t.Errorf("invalid create: %v, want ErrInvalid", err)
	}

	e.clock.Advance(time.Hour)
	d, err := e.m.Update("checkout", Patch{Rollout: ptr(25.0), Weights: map[string]float64{"treatment": 150}}, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if d.Version != 2 || d.Rollout != 25 || d.Branches[1].Weight != 150 || d.Bounds[0] != 2500 {
		t.Errorf("updated %+v", d)
	}
	// A patch that changes nothing records nothing.
	if d2, err := e.m.Update("checkout", Patch{Rollout: ptr(25.0)}, "bob"); err != nil || d2.Version != 2 {
		t.Errorf("no-op patch: version %d, %v; want 2", d2.Version, err)
	}
	e.clock.Advance(time.Hour)
	if _, err := e.m.CloseOn("checkout", "treatment", "carol"); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		p    Patch
		want string
	}{
		{Patch{Weights: map[string]float64{"nope": 1}}, "no branch"},
		{Patch{Status: ptr(StatusClosed), Winner: ptr("nope")}, "needs one of its branches"},
		{Patch{Rollout: ptr(-3.0)}, "rollout"},
	} {
		if _, err := e.m.Update("checkout", tc.p, "mallory"); err == nil || !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("patch %+v: %v, want ErrInvalid mentioning %q", tc.p, err, tc.want)
		}
	}
	if _, err := e.m.Update("nope", Patch{}, "x"); !errors.Is(err, ErrNotFound) {
		t.Errorf("patch of unknown experiment: %v", err)
	}

	show, err := e.m.Get("checkout")
	if err != nil {
		t.Fatal(err)
	}
	h := show.History
	if len(h) != 3 {
		t.Fatalf("history has %d entries, want 3: %+v", len(h), h)
	}
	if h[0].Action != ActionCreate || h[0].Who != "tester" || h[1].Who != "alice" || h[2].Who != "carol" || h[2].Action != ActionClose {
		t.Errorf("history who/action: %+v", h)
	}
	if !h[1].When.Equal(time.Date(2026, 3, 2, 11, 0, 0, 0, time.UTC)) {
		t.Errorf("second change at %s, want 11:00", h[1].When)
	}
	want := map[string][2]string{"rollout": {"100", "25"}, "weight.treatment": {"50", "150"}}
	for _, fc := range h[1].Fields {
		if w, ok := want[fc.Field]; !ok || w[0] != fc.From || w[1] != fc.To {
			t.Errorf("unexpected field change %+v", fc)
		}
		delete(want, fc.Field)
	}
	if len(want) > 0 {
		t.Errorf("missing field changes %v in %+v", want, h[1].Fields)
	}
	if show.Experiment.Status != StatusClosed || show.Experiment.Winner != "treatment" || show.Experiment.Version != 3 {
		t.Errorf("after close: %+v", show.Experiment)
	}
	// Reopening clears the winner.
	if d, err := e.m.Update("checkout", Patch{Status: ptr(StatusOpen)}, "dave"); err != nil || d.Winner != "" {
		t.Errorf("reopen: %+v, %v", d, err)
	}
}

func TestApplyFromFiles(t *testing.T) {
	e := newEnv(t)
	defs, err := ParseDefinitions([]byte(exampleFile))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.m.Apply(defs, "file"); err != nil {
		t.Fatal(err)
	}
	gen := e.m.List().Generation
	// Applying the same files again changes nothing.
	if _, err := e.m.Apply(defs, "file"); err != nil {
		t.Fatal(err)
	}
	if got := e.m.List(); got.Generation != gen || len(got.Experiments) != 3 {
		t.Errorf("re-apply: generation %d → %d, %d experiments", gen, got.Generation, len(got.Experiments))
	}
	defs[0].Rollout = 40
	if _, err := e.m.Apply(defs, "file"); err != nil {
		t.Fatal(err)
	}
	h, _ := e.m.History("checkout-button")
	if len(h) != 2 || h[1].Action != ActionApply || h[1].Fields[0].Field != "rollout" {
		t.Errorf("history after apply: %+v", h)
	}
	defs[0].Salt = "other"
	if _, err := e.m.Apply(defs, "file"); err == nil || !strings.Contains(err.Error(), "salt cannot change") {
		t.Errorf("salt change: %v", err)
	}
	defs[0].Salt = ""
	defs[0].Branches[1].Name = "blue"
	if _, err := e.m.Apply(defs, "file"); err == nil || !strings.Contains(err.Error(), "renamed") {
		t.Errorf("branch rename: %v", err)
	}
}

// Assignments stay put across a weight change and a rollout increase: the first
// exposure is recorded and kept.
func TestStickyAcrossWeightAndRolloutChanges(t *testing.T) {
	e := newEnv(t)
	d := fiftyFifty("sticky")
	d.Rollout = 30
	e.create(d)
	const n = 4000
	first := map[string]string{}
	for i := range n {
		uid := fmt.Sprint("u", i)
		if a := e.assign("sticky", uid, ""); a.Record {
			first[uid] = a.Branch
		}
	}
	if len(first) < n/4 || len(first) > n*35/100 {
		t.Fatalf("%d of %d users in a 30%% rollout", len(first), n)
	}
	// 10/90 would move about 40% of users to treatment, were it not sticky.
	e.clock.Advance(time.Minute)
	if _, err := e.m.Update("sticky", Patch{Rollout: ptr(80.0), Weights: map[string]float64{"control": 10, "treatment": 90}}, "t"); err != nil {
		t.Fatal(err)
	}
	e.reopen() // and across a restart
	var added, moved, wouldMove int
	fresh := NewAssigner(func() Definition { r, _ := e.m.Get("sticky"); return r.Experiment }())
	for i := range n {
		uid := fmt.Sprint("u", i)
		a := e.assign("sticky", uid, "")
		if b, ok := first[uid]; ok {
			if a.Branch != b || !a.Record || a.Reason != ReasonSticky {
				moved++
			}
			if fresh.Assign(uid, "", time.Time{}).Branch != b {
				wouldMove++
			}
		} else if a.Record {
			added++
		}
	}
	if moved != 0 {
		t.Errorf("%d users moved after the weight change and rollout increase", moved)
	}
	if wouldMove < len(first)/5 {
		t.Errorf("only %d users would have moved without stickiness: the test does not test", wouldMove)
	}
	if added < n*4/10 {
		t.Errorf("raising the rollout to 80%% added %d users, want about %d", added, n/2)
	}
	r := e.results("sticky", ResultsOptions{})
	if r.Users != int64(len(first)+added) {
		t.Errorf("results count %d users, want %d", r.Users, len(first)+added)
	}
	// The weights changed mid-way, so the expected shares are a mixture and no SRM
	// is flagged.
	if r.SRM.Mismatch {
		t.Errorf("SRM flagged after a weight change: %+v (branches %+v)", r.SRM, r.Branches)
	}
}

func TestRolloutZeroRecordsNobody(t *testing.T) {
	e := newEnv(t)
	d := fiftyFifty("zero")
	d.Rollout = 0
	e.create(d)
	for i := range 2000 {
		a := e.assign("zero", fmt.Sprint("u", i), []string{"", "qa", "admin"}[i%3])
		if a.Record || a.Branch != "control" || a.Reason != ReasonNotInRollout {
			t.Fatalf("u%d: %+v, want control, not recorded", i, a)
		}
	}
	e.events(Event{UID: "u1", Metric: "order", Value: 1})
	if r := e.results("zero", ResultsOptions{}); r.Users != 0 || len(r.Metrics) != 0 {
		t.Errorf("results after rollout 0: %d users, %d metrics; want none", r.Users, len(r.Metrics))
	}
	e.reopen()
	if r := e.results("zero", ResultsOptions{}); r.Users != 0 {
		t.Errorf("after reopen: %d users", r.Users)
	}
}

func TestQAModeRandomisesOnlyQA(t *testing.T) {
	e := newEnv(t)
	d := fiftyFifty("qa")
	d.Mode = ModeQA
	e.create(d)
	branches := map[string]int{}
	var qa int
	for i := range 3000 {
		role := []string{"", "qa", "admin", "viewer"}[i%4]
		a := e.assign("qa", fmt.Sprint("u", i), role)
		if IsQARole(role) {
			qa++
			if !a.Record {
				t.Fatalf("qa user u%d (%s) not recorded: %+v", i, role, a)
			}
			branches[a.Branch]++
		} else if a.Record || a.Branch != "control" || a.Reason != ReasonQAOnly {
			t.Fatalf("user u%d (%q) got %+v, want control unrecorded", i, role, a)
		}
	}
	if branches["control"] < qa/3 || branches["treatment"] < qa/3 {
		t.Errorf("QA users split %v, want both branches", branches)
	}
	if r := e.results("qa", ResultsOptions{}); r.Users != int64(qa) {
		t.Errorf("results count %d users, want the %d QA users", r.Users, qa)
	}
}

func TestClosingGivesEveryoneTheWinner(t *testing.T) {
	e := newEnv(t)
	e.create(fiftyFifty("close"))
	for i := range 500 {
		e.assign("close", fmt.Sprint("u", i), "")
	}
	before := e.results("close", ResultsOptions{}).Users
	if _, err := e.m.CloseOn("close", "treatment", "t"); err != nil {
		t.Fatal(err)
	}
	for i := range 1000 {
		a := e.assign("close", fmt.Sprint("u", i), "qa")
		if a.Branch != "treatment" || a.Record || a.Reason != ReasonClosed {
			t.Fatalf("u%d after close: %+v", i, a)
		}
	}
	if got := e.events(Event{UID: "u1", Metric: "order"}); got.Counted != 0 {
		t.Errorf("events counted after close: %+v", got)
	}
	resp, _ := e.m.RecordExposures(ExposuresRequest{Exposures: []Exposure{{Experiment: "close", UID: "new", Branch: "control"}}})
	if resp.Rejected != 1 {
		t.Errorf("client exposure to a closed experiment: %+v, want rejected", resp)
	}
	if after := e.results("close", ResultsOptions{}).Users; after != before {
		t.Errorf("users %d → %d after closing", before, after)
	}
}

func TestClientExposuresAndCorrections(t *testing.T) {
	e := newEnv(t)
	e.create(fiftyFifty("cx"))
	at := e.clock.Now().Add(-time.Minute)
	resp, err := e.m.RecordExposures(ExposuresRequest{Exposures: []Exposure{
		{Experiment: "cx", UID: "a", Branch: "treatment", Time: at},
		{Experiment: "cx", UID: "b", Branch: "control"},
		{Experiment: "cx", UID: "a", Branch: "control"}, // already treatment
		{Experiment: "cx", UID: "b", Branch: "control"}, // duplicate
		{Experiment: "cx", UID: "c", Branch: "purple"},
		{Experiment: "nope", UID: "c", Branch: "control"},
		{Experiment: "cx", UID: "", Branch: "control"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Recorded != 2 || resp.Duplicates != 2 || resp.Rejected != 3 || len(resp.Errors) != 3 {
		t.Errorf("response %+v", resp)
	}
	if len(resp.Corrections) != 1 || resp.Corrections[0].UID != "a" || resp.Corrections[0].Branch != "treatment" {
		t.Errorf("corrections %+v, want a→treatment", resp.Corrections)
	}
	if a := e.assign("cx", "a", ""); a.Branch != "treatment" || a.Reason != ReasonSticky {
		t.Errorf("server assignment of a: %+v, want the client's treatment", a)
	}
	// The event at the exposure time counts; one a second before does not.
	got := e.events(Event{UID: "a", Metric: "m", Value: 2, Time: at}, Event{UID: "a", Metric: "m", Value: 5, Time: at.Add(-time.Second)})
	if got.Counted != 1 || got.Ignored != 1 {
		t.Errorf("events %+v, want 1 counted, 1 ignored", got)
	}
}

func TestEventsCountOnlyAfterExposure(t *testing.T) {
	e := newEnv(t)
	d := fiftyFifty("ev")
	d.Metrics = []Metric{{Name: "order"}, {Name: "revenue", Kind: KindRevenue}}
	e.create(d)
	e.create(fiftyFifty("other")) // tracks every metric
	// Before exposure: ignored.
	if r := e.events(Event{UID: "u1", Metric: "order"}); r.Counted != 0 || r.Ignored != 1 {
		t.Errorf("event before exposure: %+v", r)
	}
	e.assign("ev", "u1", "")
	e.clock.Advance(time.Second)
	r := e.events(
		Event{UID: "u1", Metric: "order", Value: 1},
		Event{UID: "u1", Metric: "revenue", Value: 1999},
		Event{UID: "u1", Metric: "revenue", Value: 500},
		Event{UID: "u1", Metric: "login", Value: 1},                                      // not declared by ev
		Event{UID: "u1", Metric: "order", Value: 1, Time: e.clock.Now().Add(-time.Hour)}, // before exposure
		Event{UID: "u2", Metric: "order", Value: 1},                                      // never exposed
	)
	if r.Received != 6 || r.Counted != 3 || r.Ignored != 3 {
		t.Errorf("events %+v, want 6 received, 3 counted, 3 ignored", r)
	}
	res := e.results("ev", ResultsOptions{})
	if len(res.Metrics) != 2 || res.Metrics[0].Metric != "order" || res.Metrics[1].Metric != "revenue" {
		t.Fatalf("metrics %+v, want order and revenue", res.Metrics)
	}
	a := e.assign("ev", "u1", "")
	rev := res.Metrics[1].Branches[a.Index]
	if rev.Users != 1 || rev.Converted != 1 || rev.Events != 2 || rev.Sum != 2499 || rev.RevenuePerUser == nil || *rev.RevenuePerUser != 2499 {
		t.Errorf("revenue of u1's branch: %+v", rev)
	}
	if _, err := e.m.RecordEvents([]Event{{UID: "u1", Metric: "bad metric"}}); !errors.Is(err, ErrInvalid) {
		t.Errorf("invalid event: %v", err)
	}
}

// Everything survives a restart: definitions, history, exposures and per-user totals.
func TestPersistenceAcrossReopen(t *testing.T) {
	e := newEnv(t)
	d := fiftyFifty("persist")
	d.Metrics = []Metric{{Name: "order"}, {Name: "revenue", Kind: KindRevenue}}
	e.create(d)
	for i := range 3000 {
		uid := fmt.Sprint("u", i)
		e.assign("persist", uid, "")
		if i%3 == 0 {
			e.events(Event{UID: uid, Metric: "order"}, Event{UID: uid, Metric: "revenue", Value: float64(100 + i%50)})
		}
	}
	if _, err := e.m.Update("persist", Patch{Rollout: ptr(50.0)}, "alice"); err != nil {
		t.Fatal(err)
	}
	before := e.results("persist", ResultsOptions{})
	hBefore, _ := e.m.History("persist")
	e.reopen()
	after := e.results("persist", ResultsOptions{})
	jb, _ := json.Marshal(before)
	ja, _ := json.Marshal(after)
	if string(jb) != string(ja) {
		t.Errorf("results changed across reopen:\nbefore %s\nafter  %s", jb, ja)
	}
	hAfter, _ := e.m.History("persist")
	if len(hAfter) != len(hBefore) || hAfter[1].Who != "alice" {
		t.Errorf("history after reopen: %+v", hAfter)
	}
	// New changes continue the sequence.
	if _, err := e.m.Update("persist", Patch{Rollout: ptr(60.0)}, "bob"); err != nil {
		t.Fatal(err)
	}
	if h, _ := e.m.History("persist"); len(h) != 3 || h[2].Seq != 3 || h[2].Who != "bob" {
		t.Errorf("history after a change past reopen: %+v", h)
	}
	if before.Users != 3000 {
		t.Errorf("%d users, want 3000", before.Users)
	}
}

func TestSeriesReachTSDB(t *testing.T) {
	e := newEnv(t)
	e.create(fiftyFifty("ts"))
	for i := range 100 {
		e.assign("ts", fmt.Sprint("u", i), "")
	}
	e.events(Event{UID: "u1", Metric: "order"}, Event{UID: "u2", Metric: "order"})
	if err := e.m.FlushSeries(e.clock.Now()); err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	samples, err := e.db.LastValues()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range samples {
		if strings.HasPrefix(s.Labels.Get("__name__"), "ward_experiment_") {
			got[s.Labels.Get("__name__")+"/"+s.Labels.Get("branch")] += s.V
		}
	}
	if got[SeriesExposures+"/control"]+got[SeriesExposures+"/treatment"] != 100 {
		t.Errorf("exposure series %v, want 100 users in all", got)
	}
	if got[SeriesConversions+"/control"]+got[SeriesConversions+"/treatment"] != 2 {
		t.Errorf("conversion series %v, want 2", got)
	}
}
