package experiment

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestDecodeEvents(t *testing.T) {
	evs, err := DecodeEvents([]byte(`{"events":[
		{"uid":"u1","metric":"login"},
		{"uid":"u1","metric":"revenue","value":1999,"time":"2026-03-02T10:00:00.5Z"},
		{"uid":"u2","metric":"order","value":0,"time":1772445600.25}
	]}`))
	if err != nil {
		t.Fatal(err)
	}
	want := []Event{
		{UID: "u1", Metric: "login", Value: 1},
		{UID: "u1", Metric: "revenue", Value: 1999, Time: time.Date(2026, 3, 2, 10, 0, 0, 5e8, time.UTC)},
		{UID: "u2", Metric: "order", Value: 0, Time: time.UnixMilli(1772445600250).UTC()},
	}
	if len(evs) != len(want) {
		t.Fatalf("got %d events, want %d", len(evs), len(want))
	}
	for i := range want {
		if evs[i].UID != want[i].UID || evs[i].Metric != want[i].Metric || evs[i].Value != want[i].Value || !evs[i].Time.Equal(want[i].Time) {
			t.Errorf("event %d: got %+v, want %+v", i, evs[i], want[i])
		}
	}
	if bare, err := DecodeEvents([]byte(` [{"uid":"u","metric":"m"}]`)); err != nil || len(bare) != 1 {
		t.Errorf("bare array: %v, %v", bare, err)
	}
	for _, tc := range []struct{ body, want string }{
		{`{"events":[{"uid":"","metric":"m"}]}`, "uid"},
		{`{"events":[{"uid":"u","metric":"a b"}]}`, "metric name"},
		{`{"events":[{"uid":"u","metric":"m","value":"3"}]}`, "value"},
		{`{"events":[{"uid":"u","metric":"m","time":"yesterday"}]}`, "RFC 3339"},
		{`{"events":[{"uid":"u","metric":"m","time":-5}]}`, "outside"},
		{`{"events":[{"uid":"u","metric":"m","time":1e300}]}`, "outside"},
		{`{"events":[{"uid":"u","metric":"m","value":1e300}]}`, "at most 1e15"},
		{`{"events":[{"uid":"u","metric":"m","colour":"red"}]}`, "unknown field"},
		{`{"events":[]} {}`, "trailing"},
		{`{"evts":[]}`, "unknown field"},
		{`[{"uid":"u\u0000v","metric":"m"}]`, "NUL"},
	} {
		_, err := DecodeEvents([]byte(tc.body))
		if err == nil || !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("DecodeEvents(%s) = %v, want ErrInvalid mentioning %q", tc.body, err, tc.want)
		}
	}
}

// FuzzDecodeEvents checks that any body either fails with ErrInvalid or decodes into
// events that validate and re-encode to the same events.
func FuzzDecodeEvents(f *testing.F) {
	f.Add([]byte(`{"events":[{"uid":"u1","metric":"login"},{"uid":"u1","metric":"revenue","value":1999,"time":"2026-03-02T10:00:00Z"}]}`))
	f.Add([]byte(`[{"uid":"u2","metric":"order","value":-1.5,"time":1772445600.25}]`))
	f.Add([]byte(`{"events":[{"uid":"\u00e9","metric":"a:b","time":null,"value":null}]}`))
	f.Add([]byte(`{"events":null}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, body []byte) {
		evs, err := DecodeEvents(body)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v does not wrap ErrInvalid", err)
			}
			return
		}
		for i := range evs {
			if err := evs[i].Validate(); err != nil {
				t.Fatalf("decoded event %d does not validate: %v", i, err)
			}
		}
		b, err := json.Marshal(map[string]any{"events": evs})
		if err != nil {
			t.Fatalf("marshal: %v", err)
		}
		back, err := DecodeEvents(b)
		if err != nil {
			t.Fatalf("re-decode of %s: %v", b, err)
		}
		for i := range evs {
			if back[i].UID != evs[i].UID || back[i].Metric != evs[i].Metric || back[i].Value != evs[i].Value || !back[i].Time.Equal(evs[i].Time) {
				t.Fatalf("round trip changed %+v into %+v", evs[i], back[i])
			}
		}
	})
}
