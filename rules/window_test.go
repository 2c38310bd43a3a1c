package rules

import (
	"math"
	"testing"
	"time"
)

func TestThreshold(t *testing.T) {
	for _, tc := range []struct {
		in       string
		v        float64
		want     bool
		wantText string
	}{
		{"< 0.95", 0.9, true, "< 0.95"},
		{"<0.95", 0.95, false, "< 0.95"},
		{"<= 0.95", 0.95, true, "<= 0.95"},
		{">  10", 11, true, "> 10"},
		{">= 1e3", 1000, true, ">= 1000"},
		{"== 0", 0, true, "== 0"},
		{"!= 0", 0, false, "!= 0"},
		{"!= 0", math.NaN(), false, "!= 0"},
		{"< 5", math.NaN(), false, "< 5"},
		{"> -Inf", -1, true, "> -Inf"},
	} {
		th, err := ParseThreshold(tc.in)
		if err != nil {
			t.Fatalf("ParseThreshold(%q): %v", tc.in, err)
		}
		if got := th.Match(tc.v); got != tc.want {
			t.Errorf("%q.Match(%v) = %v; want %v", tc.in, tc.v, got, tc.want)
		}
		if th.String() != tc.wantText {
			t.Errorf("%q.String() = %q; want %q", tc.in, th.String(), tc.wantText)
		}
	}
	for _, bad := range []string{"", "0.95", "< ", "< x", "=< 1", "<> 1", "< NaN", "~ 3"} {
		if _, err := ParseThreshold(bad); err == nil {
			t.Errorf("ParseThreshold(%q) succeeded; want an error", bad)
		}
	}
}

func TestWindow(t *testing.T) {
	la, err := time.LoadLocation("America/Los_Angeles")
	if err != nil {
		t.Fatal(err)
	}
	at := func(y int, mo time.Month, d, h, m int, loc *time.Location) time.Time {
		return time.Date(y, mo, d, h, m, 0, 0, loc)
	}
	for _, tc := range []struct {
		spec string
		t    time.Time
		want bool
	}{
		{"Mon-Fri 09:00-21:00 America/Los_Angeles", at(2025, 6, 2, 9, 0, la), true},        // Monday opening
		{"Mon-Fri 09:00-21:00 America/Los_Angeles", at(2025, 6, 2, 20, 59, la), true},      // Monday before closing
		{"Mon-Fri 09:00-21:00 America/Los_Angeles", at(2025, 6, 2, 21, 0, la), false},      // closing is exclusive
		{"Mon-Fri 09:00-21:00 America/Los_Angeles", at(2025, 6, 7, 12, 0, la), false},      // Saturday
		{"Mon-Fri 09:00-21:00 America/Los_Angeles", at(2025, 6, 2, 17, 0, time.UTC), true}, // 10:00 in LA
		{"Mon-Fri 09:00-21:00 America/Los_Angeles", at(2025, 6, 3, 3, 0, time.UTC), true},  // Monday 20:00 in LA, Tuesday in UTC
		{"Mon-Fri 09:00-21:00 America/Los_Angeles", at(2025, 6, 7, 3, 0, time.UTC), true},  // Friday 20:00 in LA
		// Across a DST change the wall clock decides (2025-03-09 is a Sunday,
		// Monday 09:00 PDT is 16:00 UTC, the previous Monday's was 17:00 UTC).
		{"Mon 09:00-10:00 America/Los_Angeles", at(2025, 3, 10, 16, 0, time.UTC), true},
		{"Mon 09:00-10:00 America/Los_Angeles", at(2025, 3, 3, 16, 0, time.UTC), false},
		// Wrapping midnight: Friday night belongs to Friday.
		{"Mon-Fri 21:00-09:00 America/Los_Angeles", at(2025, 6, 6, 23, 0, la), true}, // Friday 23:00
		{"Mon-Fri 21:00-09:00 America/Los_Angeles", at(2025, 6, 7, 8, 0, la), true},  // Saturday 08:00, Friday's night
		{"Mon-Fri 21:00-09:00 America/Los_Angeles", at(2025, 6, 8, 8, 0, la), false}, // Sunday 08:00
		{"Mon-Fri 21:00-09:00 America/Los_Angeles", at(2025, 6, 2, 8, 0, la), false}, // Monday 08:00, Sunday's night
		{"Sat,Sun", at(2025, 6, 8, 23, 59, time.UTC), true},
		{"sat-sun", at(2025, 6, 9, 0, 0, time.UTC), false},
		{"Fri-Mon", at(2025, 6, 8, 12, 0, time.UTC), true}, // Sunday inside a wrapping day range
		{"Fri-Mon", at(2025, 6, 4, 12, 0, time.UTC), false},
		{"08:00-24:00", at(2025, 6, 4, 23, 59, time.UTC), true},
		{"08:00-24:00 Europe/Paris", at(2025, 6, 4, 5, 0, time.UTC), false}, // 07:00 in Paris
		{"Monday,Wednesday 00:00-12:00", at(2025, 6, 4, 11, 0, time.UTC), true},
	} {
		w, err := ParseWindow(tc.spec)
		if err != nil {
			t.Fatalf("ParseWindow(%q): %v", tc.spec, err)
		}
		if got := w.Contains(tc.t); got != tc.want {
			t.Errorf("%q contains %v (%s): %v; want %v", tc.spec, tc.t, tc.t.In(la).Format("Mon 15:04 MST"), got, tc.want)
		}
	}
	for _, bad := range []string{"", "Mon-Funday", "25:00-26:00", "09:00", "09:00-09:00", "24:00-01:00", "9-17", "Mon 09:00-10:00 Mars/Base", "UTC", "Mon Tue", "09:60-10:00", "Mon 09:00-10:00 UTC extra"} {
		if _, err := ParseWindow(bad); err == nil {
			t.Errorf("ParseWindow(%q) succeeded; want an error", bad)
		}
	}
}

func TestFlapPercentMatchesNagios(t *testing.T) {
	alt := func(n int) []State {
		h := make([]State, n)
		for i := range h {
			if i%2 == 1 {
				h[i] = StateCritical
			}
		}
		return h
	}
	for _, tc := range []struct {
		name string
		h    []State
		want float64
	}{
		{"stable", make([]State, 21), 0},
		// 20 changes: weights 0.75..1.25 average 1, so 100%.
		{"always changing", alt(21), 100},
		// One change at the newest transition weighs 1.25: 6.25%.
		{"newest change", append(make([]State, 20), StateCritical), 6.25},
		// One change at the oldest transition weighs 0.75: 3.75%.
		{"oldest change", append([]State{StateCritical}, make([]State, 20)...), 3.75},
		// A short history is aligned on the newest slot.
		{"short", []State{StateOK, StateCritical}, 6.25},
	} {
		if got := flapPercent(tc.h); math.Abs(got-tc.want) > 1e-9 {
			t.Errorf("%s: flapPercent = %v; want %v", tc.name, got, tc.want)
		}
	}
	var h []State
	for i := range 30 {
		h = pushHistory(h, State(i%2))
	}
	if len(h) != flapHistory || h[len(h)-1] != State(29%2) {
		t.Errorf("pushHistory kept %d entries ending %v", len(h), h[len(h)-1])
	}
}

func TestStateTextRoundTrip(t *testing.T) {
	for s := StateOK; s <= StateUnknown; s++ {
		b, _ := s.MarshalText()
		var got State
		if err := got.UnmarshalText(b); err != nil || got != s {
			t.Errorf("round trip of %v: %v, %v", s, got, err)
		}
	}
	var s State
	if err := s.UnmarshalText([]byte("FIRING")); err == nil {
		t.Error("unknown state name accepted")
	}
}
