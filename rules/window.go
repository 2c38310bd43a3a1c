package rules

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Window is an `active` time window such as
// "Mon-Fri 09:00-21:00 America/Los_Angeles": days of the week, a time of day
// range (which may wrap past midnight) and a time zone, all optional except
// that one of days or times must be given.
type Window struct {
	spec  string
	days  [7]bool // indexed by time.Weekday
	start int     // minutes after midnight, inclusive
	end   int     // minutes after midnight, exclusive; <= start wraps midnight
	loc   *time.Location
}

var dayNames = map[string]time.Weekday{
	"sun": time.Sunday, "sunday": time.Sunday,
	"mon": time.Monday, "monday": time.Monday,
	"tue": time.Tuesday, "tuesday": time.Tuesday,
	"wed": time.Wednesday, "wednesday": time.Wednesday,
	"thu": time.Thursday, "thursday": time.Thursday,
	"fri": time.Friday, "friday": time.Friday,
	"sat": time.Saturday, "saturday": time.Saturday,
}

// ParseWindow parses an active window.
func ParseWindow(s string) (Window, error) {
	w := Window{spec: s, start: 0, end: 24 * 60, loc: time.UTC}
	fields := strings.Fields(s)
	if len(fields) == 0 {
		return Window{}, fmt.Errorf("active window %q is empty", s)
	}
	var haveDays, haveTimes, haveZone bool
	for _, f := range fields {
		switch {
		case !haveTimes && strings.Contains(f, ":"):
			start, end, err := parseTimeRange(f)
			if err != nil {
				return Window{}, fmt.Errorf("active window %q: %w", s, err)
			}
			w.start, w.end, haveTimes = start, end, true
		case !haveDays && looksLikeDays(f):
			days, err := parseDays(f)
			if err != nil {
				return Window{}, fmt.Errorf("active window %q: %w", s, err)
			}
			w.days, haveDays = days, true
		case !haveZone && (haveDays || haveTimes):
			loc, err := time.LoadLocation(f)
			if err != nil {
				return Window{}, fmt.Errorf("active window %q: time zone %q: %w", s, f, err)
			}
			w.loc, haveZone = loc, true
		default:
			return Window{}, fmt.Errorf("active window %q: unexpected %q; want [days] [HH:MM-HH:MM] [time zone]", s, f)
		}
	}
	if !haveDays {
		for i := range w.days {
			w.days[i] = true
		}
	}
	return w, nil
}

func looksLikeDays(f string) bool {
	parts := strings.FieldsFunc(f, func(r rune) bool { return r == ',' || r == '-' })
	if len(parts) == 0 {
		return false
	}
	_, ok := dayNames[strings.ToLower(parts[0])]
	return ok
}

// parseDays parses "Mon-Fri", "Sat,Sun" or "Mon,Wed-Fri"; ranges may wrap
// (Fri-Mon).
func parseDays(f string) ([7]bool, error) {
	var days [7]bool
	for part := range strings.SplitSeq(f, ",") {
		from, to, isRange := strings.Cut(part, "-")
		a, ok := dayNames[strings.ToLower(from)]
		if !ok {
			return days, fmt.Errorf("unknown day %q", from)
		}
		b := a
		if isRange {
			if b, ok = dayNames[strings.ToLower(to)]; !ok {
				return days, fmt.Errorf("unknown day %q", to)
			}
		}
		for d := a; ; d = (d + 1) % 7 {
			days[d] = true
			if d == b {
				break
			}
		}
	}
	return days, nil
}

// parseTimeRange parses "HH:MM-HH:MM" with 24:00 allowed as an end.
func parseTimeRange(f string) (int, int, error) {
	from, to, ok := strings.Cut(f, "-")
	if !ok {
		return 0, 0, fmt.Errorf("time range %q: want HH:MM-HH:MM", f)
	}
	start, err := parseClock(from)
	if err != nil {
		return 0, 0, err
	}
	end, err := parseClock(to)
	if err != nil {
		return 0, 0, err
	}
	if start == 24*60 {
		return 0, 0, fmt.Errorf("time range %q starts at 24:00", f)
	}
	if start == end {
		return 0, 0, fmt.Errorf("time range %q is empty", f)
	}
	return start, end, nil
}

func parseClock(s string) (int, error) {
	hs, ms, ok := strings.Cut(s, ":")
	h, err1 := strconv.Atoi(hs)
	m, err2 := strconv.Atoi(ms)
	if !ok || err1 != nil || err2 != nil || len(ms) != 2 || h < 0 || h > 24 || m < 0 || m > 59 || (h == 24 && m != 0) {
		return 0, fmt.Errorf("time %q: want HH:MM between 00:00 and 24:00", s)
	}
	return h*60 + m, nil
}

// Contains reports whether t falls inside the window, on the wall clock of
// the window's time zone.
func (w Window) Contains(t time.Time) bool {
	lt := t.In(w.loc)
	mins := lt.Hour()*60 + lt.Minute()
	day := lt.Weekday()
	if w.start < w.end {
		return w.days[day] && mins >= w.start && mins < w.end
	}
	// Wraps midnight: the evening part belongs to the day it starts on, the
	// early-morning part to the day before.
	return (w.days[day] && mins >= w.start) || (w.days[(day+6)%7] && mins < w.end)
}

// String returns the window as written.
func (w Window) String() string { return w.spec }

// MarshalText makes windows appear as written in JSON.
func (w Window) MarshalText() ([]byte, error) { return []byte(w.spec), nil }
