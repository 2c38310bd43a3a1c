package chunk

import (
	"math"
	"math/rand/v2"
	"testing"
)

func seedChunks(f *testing.F) {
	r := rand.New(rand.NewPCG(9, 10))
	for i := 0; i < 20; i++ {
		ts, vs := randomSeries(r, 1+r.IntN(200))
		f.Add(EncodeRaw(nil, ts[0], ts, vs), ts[0])
	}
	f.Add([]byte{}, int64(0))
	f.Add([]byte{0, 1, 0}, int64(0))
}

// FuzzDecodeChunk feeds arbitrary bytes to the raw chunk decoder: it must
// never panic or allocate without bound, and whatever it accepts must
// re-encode to a chunk that decodes to the same samples.
func FuzzDecodeChunk(f *testing.F) {
	seedChunks(f)
	f.Fuzz(func(t *testing.T, data []byte, base int64) {
		var d Decoder
		ts, vs, err := d.DecodeRaw(data, base, nil, nil)
		if err != nil {
			return
		}
		if len(ts) != len(vs) || len(ts) == 0 {
			t.Fatalf("decoded %d timestamps and %d values", len(ts), len(vs))
		}
		for i := 1; i < len(ts); i++ {
			if ts[i] <= ts[i-1] {
				// Regular timestamps may overflow on garbage; only check
				// what the encoder accepts.
				return
			}
		}
		b := EncodeRaw(nil, base, ts, vs)
		ts2, vs2, err := d.DecodeRaw(b, base, nil, nil)
		if err != nil {
			t.Fatalf("re-encoded chunk does not decode: %v", err)
		}
		for i := range ts {
			if ts2[i] != ts[i] || math.Float64bits(vs2[i]) != math.Float64bits(vs[i]) {
				t.Fatalf("sample %d: (%d, %v) became (%d, %v)", i, ts[i], vs[i], ts2[i], vs2[i])
			}
		}
	})
}

// FuzzDecodeRollup does the same for rollup chunks.
func FuzzDecodeRollup(f *testing.F) {
	r := rand.New(rand.NewPCG(11, 12))
	var enc Encoder
	for i := 0; i < 10; i++ {
		var ps []Point
		start := int64(0)
		for j := 0; j < 1+r.IntN(50); j++ {
			start += 300_000 * (1 + r.Int64N(3))
			v := float64(r.IntN(1000)) / 10
			ps = append(ps, Point{Start: start, LastT: start + 290_000, Count: 30, Sum: v * 30, Min: v - 1, Max: v + 1, Last: v})
		}
		f.Add(enc.EncodeRollup(nil, 0, 300_000, ps))
	}
	f.Add([]byte{0})
	f.Fuzz(func(t *testing.T, data []byte) {
		var d Decoder
		_, _ = d.DecodeRollup(data, 0, 300_000, ColAll, nil)
		_, _ = d.DecodeRollup(data, 0, 300_000, ColLast, nil)
	})
}

// FuzzIntStream checks that integer streams round-trip for any input.
func FuzzIntStream(f *testing.F) {
	f.Add([]byte{1, 2, 3, 4, 5, 6, 7, 8, 9})
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, 0, 0, 0, 0, 0, 0, 0, 0x80})
	f.Fuzz(func(t *testing.T, data []byte) {
		var xs []int64
		for len(data) >= 8 {
			var x int64
			for i := 0; i < 8; i++ {
				x = x<<8 | int64(data[i])
			}
			xs = append(xs, x)
			data = data[8:]
		}
		for _, b := range data {
			xs = append(xs, int64(int8(b)))
		}
		if len(xs) == 0 {
			return
		}
		var sc intScratch
		b := encodeInts(nil, xs, &sc)
		out := make([]int64, len(xs))
		used, _, err := decodeInts(b, out, nil, &huffTable{})
		if err != nil {
			t.Fatalf("decode %v: %v", xs, err)
		}
		if used != len(b) {
			t.Fatalf("used %d of %d bytes", used, len(b))
		}
		for i := range xs {
			if out[i] != xs[i] {
				t.Fatalf("value %d: %d became %d", i, xs[i], out[i])
			}
		}
	})
}
