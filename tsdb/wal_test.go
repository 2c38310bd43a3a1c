package tsdb

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestWALRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 1))
	for iter := 0; iter < 200; iter++ {
		var ss []refSample
		for i := 0; i < r.IntN(300); i++ {
			v := r.NormFloat64() * 1e6
			if r.IntN(5) == 0 {
				v = math.Float64frombits(0x7ff0000000000002)
			}
			ss = append(ss, refSample{SeriesRef(r.Uint32()), r.Int64() >> r.IntN(64), v})
		}
		got, err := decodeWAL(encodeWAL(nil, ss), nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(ss) {
			t.Fatalf("%d samples, want %d", len(got), len(ss))
		}
		for i := range ss {
			if got[i].ref != ss[i].ref || got[i].t != ss[i].t || math.Float64bits(got[i].v) != math.Float64bits(ss[i].v) {
				t.Fatalf("sample %d: %+v, want %+v", i, got[i], ss[i])
			}
		}
	}
}

// FuzzDecodeWAL: arbitrary records never panic, and what decodes
// re-encodes to an equivalent record.
func FuzzDecodeWAL(f *testing.F) {
	f.Add(encodeWAL(nil, []refSample{{1, 1000, 1.5}, {2, 1000, math.NaN()}, {0, 990, -3}}))
	f.Add([]byte{walVersion, 0, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		ss, err := decodeWAL(data, nil)
		if err != nil {
			return
		}
		again, err := decodeWAL(encodeWAL(nil, ss), nil)
		if err != nil || len(again) != len(ss) {
			t.Fatalf("re-encoded record: %d samples, %v", len(again), err)
		}
		for i := range ss {
			if again[i].ref != ss[i].ref || again[i].t != ss[i].t || math.Float64bits(again[i].v) != math.Float64bits(ss[i].v) {
				t.Fatalf("sample %d changed", i)
			}
		}
	})
}
