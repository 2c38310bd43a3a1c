package deploy

import (
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/wardmetrics/ward/tsdb"
)

func openKV(t *testing.T, dir string) (*tsdb.DB, *tsdb.KV) {
	t.Helper()
	db, err := tsdb.Open(dir, tsdb.Options{Sync: tsdb.SyncNone}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return db, db.KV("deploy")
}

func TestStoreLifecycleSurvivesRestart(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "db")
	db, kv := openKV(t, dir)
	clock := simStart
	s := NewStore(kv, func() time.Time { return clock })
	d, err := s.Register(Deploy{Release: "r2", Commits: []string{"abc"}, Author: "ann", Canary: `host=~"web-0[01]"`, Baseline: `host!~"web-0[01]"`})
	if err != nil {
		t.Fatal(err)
	}
	if d.Phase != PhaseCanary || !d.Start.Equal(simStart) || len(d.History) != 1 {
		t.Fatalf("registered %+v, want canary phase starting now with one history entry", d)
	}
	if _, err := s.Register(Deploy{Release: "r2", Canary: `a="b"`, Baseline: `a="c"`}); !errors.Is(err, ErrConflict) {
		t.Fatalf("second registration: err %v, want ErrConflict", err)
	}
	clock = simStart.Add(10 * time.Minute)
	if _, err := s.SetPhase("r2", PhaseFull, "promoted"); err != nil {
		t.Fatal(err)
	}
	clock = simStart.Add(20 * time.Minute)
	if _, err := s.SetPhase("r2", PhaseDone, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SetPhase("r2", PhaseCanary, ""); !errors.Is(err, ErrConflict) {
		t.Fatalf("leaving done: err %v, want ErrConflict", err)
	}
	if _, err := s.SetPhaseFrom("r2", PhaseCanary, PhaseRolledBack, "guard"); !errors.Is(err, ErrConflict) {
		t.Fatalf("guard rollback of a done release: err %v, want ErrConflict", err)
	}
	if _, err := s.SetPhase("nope", PhaseFull, ""); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown release: err %v, want ErrNotFound", err)
	}
	if _, err := s.SetPhase("r2", "sideways", ""); !errors.Is(err, ErrInvalid) {
		t.Fatalf("unknown phase: err %v, want ErrInvalid", err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	db, kv = openKV(t, dir)
	defer db.Close()
	s = NewStore(kv, func() time.Time { return clock })
	got, err := s.Get("r2")
	if err != nil {
		t.Fatal(err)
	}
	if got.Phase != PhaseDone || len(got.History) != 3 || got.History[1].Reason != "promoted" || got.Author != "ann" {
		t.Fatalf("after restart %+v, want done with 3 transitions", got)
	}
	if _, err := s.Register(Deploy{Release: "r3", Canary: `release="r3"`, Baseline: `release="r2"`, Start: simStart.Add(2 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	ds, err := s.List()
	if err != nil || len(ds) != 2 || ds[0].Release != "r3" {
		t.Fatalf("List = %v, %v; want r3 then r2", ds, err)
	}
	// r2 spans [0, 20m]; r3 starts at 2h and is still running.
	for _, tc := range []struct {
		from, to time.Duration
		want     []string
	}{
		{-time.Hour, -time.Minute, nil},
		{5 * time.Minute, 6 * time.Minute, []string{"r2"}},
		{30 * time.Minute, time.Hour, nil},
		{0, 3 * time.Hour, []string{"r2", "r3"}},
		{3 * time.Hour, 4 * time.Hour, []string{"r3"}},
	} {
		as, err := s.Annotations(simStart.Add(tc.from), simStart.Add(tc.to))
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, a := range as {
			got = append(got, a.Release)
		}
		if len(got) != len(tc.want) || (len(got) > 0 && got[0] != tc.want[0]) || (len(got) > 1 && got[1] != tc.want[1]) {
			t.Errorf("annotations [%v, %v] = %v, want %v", tc.from, tc.to, got, tc.want)
		}
	}
	as, _ := s.Annotations(simStart, simStart.Add(time.Minute))
	if len(as) != 1 || as[0].Time != simStart.UnixMilli() || as[0].TimeEnd != simStart.Add(20*time.Minute).UnixMilli() {
		t.Fatalf("annotation %+v, want the span of r2", as)
	}
}

func TestRegisterValidates(t *testing.T) {
	db, kv := openKV(t, t.TempDir())
	defer db.Close()
	s := NewStore(kv, nil)
	for _, d := range []Deploy{
		{Canary: `a="b"`, Baseline: `a="c"`},
		{Release: "r", Baseline: `a="c"`},
		{Release: "r", Canary: `a=`, Baseline: `a="c"`},
		{Release: "r", Canary: `a="b"`, Baseline: `a=~"(`},
	} {
		if _, err := s.Register(d); !errors.Is(err, ErrInvalid) {
			t.Errorf("Register(%+v): err %v, want ErrInvalid", d, err)
		}
	}
}
