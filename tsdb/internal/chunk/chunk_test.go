package chunk

import (
	"math"
	"math/rand/v2"
	"testing"
)

// randomSeries draws a series of one of several shapes, including the
// awkward ones: NaN payloads, infinities, -0, huge and tiny values,
// irregular and duplicate-free timestamps.
func randomSeries(r *rand.Rand, n int) ([]int64, []float64) {
	ts := make([]int64, n)
	vs := make([]float64, n)
	t := r.Int64N(1<<40) - 1<<39
	step := 1 + r.Int64N(60_000)
	jitter := r.IntN(3) == 0
	shape := r.IntN(9)
	v := float64(r.IntN(1000))
	for i := range ts {
		ts[i] = t
		d := step
		if jitter {
			d = 1 + r.Int64N(2*step)
		}
		t += d
		switch shape {
		case 0: // counter
			if r.IntN(2) == 0 {
				v += float64(r.IntN(100))
			}
		case 1: // 2-decimal walk
			v = math.Round((v+r.NormFloat64())*100) / 100
		case 2: // arbitrary floats
			v = r.NormFloat64() * math.Pow(10, float64(r.IntN(40)-20))
		case 3: // special values
			switch r.IntN(6) {
			case 0:
				v = math.NaN()
			case 1:
				v = math.Float64frombits(0x7ff0000000000002) // Prometheus stale marker
			case 2:
				v = math.Inf(r.IntN(2)*2 - 1)
			case 3:
				v = math.Copysign(0, -1)
			default:
				v = float64(r.IntN(10))
			}
		case 4: // constant
		case 5: // huge integers near the mantissa limit
			v = float64(r.Int64N(1<<53) - 1<<52)
		case 6: // 3 significant digits
			v = float64(100+r.IntN(900)) / math.Pow(10, float64(r.IntN(6)))
		case 7: // large negative decimals
			v = -float64(r.Int64N(1e12)) / 1000
		default: // mixed integer and fraction
			v = float64(r.IntN(1e6)) / float64(1+r.IntN(4)*10)
		}
		vs[i] = v
	}
	return ts, vs
}

func TestRawRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var enc Encoder
	var dec Decoder
	for iter := 0; iter < 3000; iter++ {
		n := 1 + r.IntN(800)
		if iter%10 == 0 {
			n = 1 + r.IntN(3)
		}
		ts, vs := randomSeries(r, n)
		base := ts[0] - r.Int64N(1000)
		b := enc.EncodeRaw(nil, base, ts, vs)
		gts, gvs, err := dec.DecodeRaw(b, base, nil, nil)
		if err != nil {
			t.Fatalf("iter %d: decode: %v", iter, err)
		}
		if len(gts) != n || len(gvs) != n {
			t.Fatalf("iter %d: got %d/%d samples, want %d", iter, len(gts), len(gvs), n)
		}
		for i := range ts {
			if gts[i] != ts[i] || math.Float64bits(gvs[i]) != math.Float64bits(vs[i]) {
				t.Fatalf("iter %d sample %d: got (%d, %v), want (%d, %v)", iter, i, gts[i], gvs[i], ts[i], vs[i])
			}
		}
	}
}

func TestStreamRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for iter := 0; iter < 1000; iter++ {
		ts, vs := randomSeries(r, 1+r.IntN(500))
		var s Stream
		for i := range ts {
			s.Append(ts[i], vs[i])
		}
		gts, gvs := s.Decode(nil, nil, math.MinInt64, math.MaxInt64)
		if len(gts) != len(ts) {
			t.Fatalf("iter %d: got %d samples, want %d", iter, len(gts), len(ts))
		}
		for i := range ts {
			if gts[i] != ts[i] || math.Float64bits(gvs[i]) != math.Float64bits(vs[i]) {
				t.Fatalf("iter %d sample %d: got (%d, %v), want (%d, %v)", iter, i, gts[i], gvs[i], ts[i], vs[i])
			}
		}
		// A sub-range decodes exactly the samples inside it.
		lo, hi := ts[len(ts)/3], ts[2*len(ts)/3]
		gts, _ = s.Decode(nil, nil, lo, hi)
		if want := 2*len(ts)/3 - len(ts)/3 + 1; len(gts) != want {
			t.Fatalf("iter %d: range decode got %d samples, want %d", iter, len(gts), want)
		}
	}
}

func TestDecimal(t *testing.T) {
	for _, c := range []struct {
		v  float64
		m  int64
		e  int
		ok bool
	}{
		{12.34, 1234, -2, true}, {0.0123, 123, -4, true}, {-5, -5, 0, true}, {1e15, 1e15, 0, true},
		{math.Nextafter(0.3, 1), 0, 0, false}, {math.NaN(), 0, 0, false}, {math.Copysign(0, -1), 0, 0, false},
		{math.Inf(1), 0, 0, false}, {1 << 60, 0, 0, false},
	} {
		m, e, ok := toDecimal(c.v)
		if ok != c.ok || (ok && (m != c.m || e != c.e)) {
			t.Errorf("toDecimal(%v) = %d, %d, %v; want %d, %d, %v", c.v, m, e, ok, c.m, c.e, c.ok)
		}
		if ok && math.Float64bits(fromDecimal(m, e)) != math.Float64bits(c.v) {
			t.Errorf("fromDecimal(%d, %d) = %v, want %v", m, e, fromDecimal(m, e), c.v)
		}
	}
}

func TestCorruptChunksFail(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	ts, vs := randomSeries(r, 300)
	b := EncodeRaw(nil, 0, ts, vs)
	for i := 0; i < len(b); i++ {
		// Truncations never panic; most are reported.
		_, _, _ = DecodeRaw(b[:i], 0, nil, nil)
	}
	if _, _, err := DecodeRaw(b[:2], 0, nil, nil); err == nil {
		t.Fatal("decoding a 2-byte chunk succeeded")
	}
}

func TestRollupRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	var enc Encoder
	var dec Decoder
	const res = 300_000
	for iter := 0; iter < 500; iter++ {
		ts, vs := randomSeries(r, 1+r.IntN(3000))
		base := ts[0] - ts[0]%(res*288)
		if ts[0] < 0 && ts[0]%(res*288) != 0 {
			base -= res * 288
		}
		var ps []Point
		var a Agg
		a.Reset(base)
		for i, t := range ts {
			start := t - (t-base)%res
			if start != a.P.Start {
				if p := a.Point(); p.Count > 0 {
					ps = append(ps, p)
				}
				a.Reset(start)
			}
			a.Add(t, vs[i])
		}
		if p := a.Point(); p.Count > 0 {
			ps = append(ps, p)
		}
		b := enc.EncodeRollup(nil, base, res, ps)
		got, err := dec.DecodeRollup(b, base, res, ColAll, nil)
		if err != nil {
			t.Fatalf("iter %d: %v", iter, err)
		}
		if len(got) != len(ps) {
			t.Fatalf("iter %d: %d points, want %d", iter, len(got), len(ps))
		}
		same := func(a, b float64) bool { return math.Float64bits(a) == math.Float64bits(b) }
		for i, p := range ps {
			g := got[i]
			if g.Start != p.Start || g.LastT != p.LastT || g.Count != p.Count || !same(g.Sum, p.Sum) || !same(g.Min, p.Min) || !same(g.Max, p.Max) || !same(g.Last, p.Last) {
				t.Fatalf("iter %d point %d: got %+v, want %+v", iter, i, g, p)
			}
		}
		// Only "last" requested: last is right, the rest are left zero.
		got, err = dec.DecodeRollup(b, base, res, ColLast, got[:0])
		if err != nil || (len(got) > 0 && !same(got[0].Last, ps[0].Last)) {
			t.Fatalf("iter %d: last-only decode: %v", iter, err)
		}
	}
}

func TestAggExactSum(t *testing.T) {
	var a Agg
	a.Reset(0)
	a.Add(1, 0.1)
	a.Add(2, 0.2)
	if p := a.Point(); p.Sum != 0.3 || p.Count != 2 || p.Min != 0.1 || p.Max != 0.2 || p.Last != 0.2 || p.LastT != 2 {
		t.Fatalf("point = %+v", p)
	}
	a.Add(3, math.NaN())
	if p := a.Point(); p.Count != 2 {
		t.Fatalf("NaN counted: %+v", p)
	}
}

// TestStreamWindowsFromMarks decodes windows of streams long enough to hold
// several marks, starting before, at, between and after them, and checks
// each against the samples appended: a windowed read starts at a mark, so
// the mark's saved state must continue the stream exactly.
func TestStreamWindowsFromMarks(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for iter := 0; iter < 300; iter++ {
		ts, vs := randomSeries(r, 1+r.IntN(6*streamMarkEvery))
		if iter%10 == 0 {
			for i := range vs {
				vs[i] = 42 // constant: marks without an XOR window
			}
		}
		var s Stream
		for i := range ts {
			s.Append(ts[i], vs[i])
		}
		if want := len(ts) / streamMarkEvery; len(s.marks) != want {
			t.Fatalf("iter %d: %d marks for %d samples, want %d", iter, len(s.marks), len(ts), want)
		}
		windows := [][2]int64{{ts[0], ts[len(ts)-1]}, {ts[len(ts)-1] + 1, math.MaxInt64}, {math.MinInt64, ts[0] - 1}}
		for k := 0; k < 20; k++ {
			a, b := r.IntN(len(ts)), r.IntN(len(ts))
			if a > b {
				a, b = b, a
			}
			lo, hi := ts[a], ts[b]
			switch r.IntN(4) {
			case 0: // start just after a mark's sample
				if m := r.IntN(len(s.marks) + 1); m > 0 {
					lo = s.marks[m-1].t(&s) + 1
				}
			case 1: // start on a mark's sample
				if m := r.IntN(len(s.marks) + 1); m > 0 {
					lo = s.marks[m-1].t(&s)
				}
			case 2: // open-ended
				hi = math.MaxInt64
			}
			windows = append(windows, [2]int64{lo, hi})
		}
		for _, w := range windows {
			gts, gvs := s.Decode([]int64{-1}, []float64{-1}, w[0], w[1])
			var wts []int64
			var wvs []float64
			for i := range ts {
				if ts[i] >= w[0] && ts[i] <= w[1] {
					wts, wvs = append(wts, ts[i]), append(wvs, vs[i])
				}
			}
			if len(gts) != len(wts)+1 || gts[0] != -1 {
				t.Fatalf("iter %d window %v: got %d samples, want %d (after the one already there)", iter, w, len(gts)-1, len(wts))
			}
			for i := range wts {
				if gts[i+1] != wts[i] || math.Float64bits(gvs[i+1]) != math.Float64bits(wvs[i]) {
					t.Fatalf("iter %d window %v sample %d: got (%d, %v), want (%d, %v)", iter, w, i, gts[i+1], gvs[i+1], wts[i], wvs[i])
				}
			}
		}
	}
}

// BenchmarkStreamWindow decodes the last 5 minutes of a 2h head stream at
// 10 s (what an instant query reads of each series) and the whole stream.
func BenchmarkStreamWindow(b *testing.B) {
	var s Stream
	r := rand.New(rand.NewPCG(1, 2))
	v := 100.0
	for i := range 720 {
		v += float64(r.IntN(5))
		s.Append(int64(i)*10_000, v)
	}
	var ts []int64
	var vs []float64
	var scratch []byte
	for _, c := range []struct {
		name string
		mint int64
	}{{"whole", 0}, {"last_5m", 690 * 10_000}} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				ts, vs, scratch = s.DecodeBuf(ts[:0], vs[:0], c.mint, math.MaxInt64, scratch)
			}
		})
	}
}

// TestStreamMarksStopWhenStateDoesNotFit appends a gap too long for a
// mark's 32-bit delta: marks stop there, and windows after it still decode
// exactly (from the last mark before the gap).
func TestStreamMarksStopWhenStateDoesNotFit(t *testing.T) {
	var s Stream
	var ts []int64
	tm := int64(1_000_000)
	for i := range 5 * streamMarkEvery {
		if i == 2*streamMarkEvery-1 {
			tm += math.MaxInt32 + 1 // the mark's own sample after a long gap
		}
		ts = append(ts, tm)
		s.Append(tm, float64(i))
		tm += 10_000
	}
	if len(s.marks) != 1 {
		t.Fatalf("%d marks, want 1: the second mark's delta does not fit", len(s.marks))
	}
	for _, from := range []int{0, streamMarkEvery, 2 * streamMarkEvery, 4*streamMarkEvery + 7} {
		got, gvs := s.Decode(nil, nil, ts[from], math.MaxInt64)
		if len(got) != len(ts)-from || got[0] != ts[from] || gvs[0] != float64(from) || got[len(got)-1] != ts[len(ts)-1] {
			t.Fatalf("from sample %d: got %d samples starting (%d, %v), want %d starting %d", from, len(got), got[0], gvs[0], len(ts)-from, ts[from])
		}
	}
}
