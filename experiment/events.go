package experiment

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/wardmetrics/ward/experiment/spec"
)

// EventsResponse answers POST /api/v1/events.
type EventsResponse struct {
	Received int `json:"received"`
	// Counted is the number of (event, experiment) pairs added to a user's totals.
	Counted int `json:"counted"`
	// Ignored is the number of events no experiment counted: their user was not exposed
	// to any open experiment tracking the metric, or not yet at the event's time.
	Ignored int `json:"ignored"`
}

// eventInput is the wire form of an event: value defaults to 1 (a login is an event of
// value 1), time is RFC 3339 text or Unix seconds.
type eventInput struct {
	UID    string          `json:"uid"`
	Metric string          `json:"metric"`
	Value  *float64        `json:"value"`
	Time   json.RawMessage `json:"time"`
}

// DecodeEvents decodes the body of POST /api/v1/events: {"events":[{uid, metric, value,
// time}, ...]} or the bare array. Every event is validated; the first invalid one fails
// the batch with its index, so that a client bug is noticed rather than half-counted.
func DecodeEvents(body []byte) ([]Event, error) {
	var ins []eventInput
	trimmed := bytes.TrimLeft(body, " \t\r\n")
	if len(trimmed) > 0 && trimmed[0] == '[' {
		if err := decodeStrict(body, &ins); err != nil {
			return nil, wrapInvalid("decode events", err)
		}
	} else {
		var wrap struct {
			Events []eventInput `json:"events"`
		}
		if err := decodeStrict(body, &wrap); err != nil {
			return nil, wrapInvalid("decode events", err)
		}
		ins = wrap.Events
	}
	if len(ins) > MaxBatch {
		return nil, fmt.Errorf("%w: %d events in one batch, at most %d", ErrInvalid, len(ins), MaxBatch)
	}
	out := make([]Event, len(ins))
	for i := range ins {
		ev, err := ins[i].event()
		if err != nil {
			return nil, fmt.Errorf("%w: event %d: %w", ErrInvalid, i, err)
		}
		out[i] = ev
	}
	return out, nil
}

func (in *eventInput) event() (Event, error) {
	ev := Event{UID: in.UID, Metric: in.Metric, Value: 1}
	if in.Value != nil {
		ev.Value = *in.Value
	}
	t, err := parseEventTime(in.Time)
	if err != nil {
		return Event{}, err
	}
	ev.Time = t
	return ev, ev.Validate()
}

func parseEventTime(raw json.RawMessage) (time.Time, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return time.Time{}, nil
	}
	if raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return time.Time{}, fmt.Errorf("time: %w", err)
		}
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return time.Time{}, fmt.Errorf("time %q: want RFC 3339 or Unix seconds: %w", s, err)
		}
		return t.UTC(), nil
	}
	var sec float64
	if err := json.Unmarshal(raw, &sec); err != nil {
		return time.Time{}, fmt.Errorf("time %s: want RFC 3339 or Unix seconds: %w", raw, err)
	}
	if !(sec >= 0 && sec <= spec.MaxEventSeconds) {
		return time.Time{}, fmt.Errorf("time %s: Unix seconds outside 0 to %g", raw, float64(spec.MaxEventSeconds))
	}
	return time.UnixMilli(int64(math.Round(sec * 1000))).UTC(), nil
}

// stageKey and stageVal accumulate one batch's additions to each user's totals, so
// that a user with many events in a batch is written once.
type stageKey struct {
	metric string
	idx    int32
}

type stageVal struct {
	uid   string
	sum   float64
	count uint32
}

// RecordEvents adds events to the per-user totals of every open experiment that tracks
// their metric and exposed their user at or before the event's time (README.md,
// "Events"). Events before exposure, of users never exposed, after an experiment's end
// or once it is closed are not counted.
func (m *Manager) RecordEvents(events []Event) (EventsResponse, error) {
	if len(events) > MaxBatch {
		return EventsResponse{}, fmt.Errorf("%w: %d events in one batch, at most %d", ErrInvalid, len(events), MaxBatch)
	}
	for i := range events {
		if err := events[i].Validate(); err != nil {
			return EventsResponse{}, fmt.Errorf("%w: event %d: %w", ErrInvalid, i, err)
		}
	}
	now := m.opts.Now().UnixMilli()
	ms := make([]int64, len(events))
	hs := make([]uint64, len(events))
	for i := range events {
		ms[i] = now
		if t := events[i].Time; !t.IsZero() {
			ms[i] = min(t.UnixMilli(), now)
		}
		hs[i] = m.uidHash(events[i].UID)
	}
	counted := make([]bool, len(events))
	resp := EventsResponse{Received: len(events)}
	var errs []error
	for _, e := range m.snapshot() {
		n, err := m.recordExperimentEvents(e, events, ms, hs, counted)
		resp.Counted += n
		if err != nil {
			errs = append(errs, err)
		}
	}
	for _, c := range counted {
		if !c {
			resp.Ignored++
		}
	}
	m.met.eventsReceived.Add(resp.Received)
	m.met.eventsCounted.Add(resp.Counted)
	m.met.eventsIgnored.Add(resp.Ignored)
	return resp, errors.Join(errs...)
}

func (m *Manager) recordExperimentEvents(e *experiment, events []Event, ms []int64, hs []uint64, counted []bool) (int, error) {
	a := e.asg.Load()
	if a.Closed() {
		return 0, nil
	}
	_, end := a.Window()
	e.writeMu.Lock()
	defer e.writeMu.Unlock()
	e.mu.Lock()
	staged := map[stageKey]*stageVal{}
	var hits []int
	for i := range events {
		if end != 0 && ms[i] >= end {
			continue
		}
		if !a.Tracks(events[i].Metric) {
			continue
		}
		idx, ok := e.index[hs[i]]
		if !ok || ms[i] < e.exposed[idx] {
			continue
		}
		if e.metric(events[i].Metric) == nil {
			continue // MaxMetrics reached
		}
		k := stageKey{events[i].Metric, idx}
		v := staged[k]
		if v == nil {
			v = &stageVal{uid: events[i].UID}
			staged[k] = v
		}
		v.sum += events[i].Value
		v.count++
		hits = append(hits, i)
	}
	writes := make([]kv, 0, len(staged))
	for k, v := range staged {
		mt := e.metrics[k.metric]
		mt.add(k.idx, e.branch[k.idx], v.sum, v.count)
		sum, count := mt.totals(k.idx)
		writes = append(writes, kv{totalsKey(e.name, k.metric, v.uid), encodeTotals(sum, uint64(count))})
	}
	if len(staged) > 0 {
		e.dirty = true
	}
	e.mu.Unlock()
	for _, i := range hits {
		counted[i] = true
	}
	// Memory is ahead of the store until this returns; if it fails, the totals of these
	// users are behind after a restart by this batch, and the caller gets the error.
	if err := m.commit(writes); err != nil {
		return len(hits), fmt.Errorf("experiment %q: record events: %w", e.name, err)
	}
	return len(hits), nil
}
