package statsd

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/wardmetrics/ward/ingest"
)

var fuzzSeeds = []string{
	"shop.revenue:499|c", "logins:1|c|@0.1", "db.connections:42|g", "db.connections:+3|g",
	"db.connections:-1|g", "api.latency:320|ms", "api.latency:12|h", "checkout.time:3.2|d",
	"users.online:u123|s", "req:1|c|#host:web01,release:r124", "api.latency:1:2:3|ms",
	"req:1|c|T1700000000", "req:1|c|c:abc|e:x|card:low|zz", "legacy:1|c:2|ms:3|g",
	"_e{5,4}:title|text|#a:b", "_sc|check|1|#a", "req:1e400|c", "req:|c", ":1|c", "req:1|c|@0",
	"a:1|c|#:v", "a:1|c|#a:b|#c:d", "x:0x1p-2|c", "le:1|ms|#le:2,__name__:x",
}

func FuzzParseLine(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s), false)
	}
	agg, err := ingest.NewAggregator(ingest.Options{}, discardSink{}, metrics.NewSet())
	if err != nil {
		f.Fatal(err)
	}
	kh := agg.NameHasher()
	f.Fuzz(func(t *testing.T, line []byte, dog bool) {
		opt := ParseOptions{DogStatsDGauges: dog}
		var l Line
		r := ParseLine(line, &l, opt)
		if len(line) > 0 && bytes.IndexByte(line, '\n') < 0 && !bytes.HasSuffix(line, []byte{'\r'}) {
			// The packet parser agrees with ParseLine on the same line.
			var pl Line
			pkt := append(append([]byte{}, line...), "\nnext:1|c"...)
			pl.NameHash = 1 // a stale hash from an earlier line must not survive
			n, ln, pr := nextLineOf(pkt, &pl, opt, kh)
			if n != len(line) || !bytes.Equal(ln, line) || pr != r || (r == ingest.OK && !sameLine(&l, &pl)) {
				t.Fatalf("%q: nextLine = %d %q %v %+v; ParseLine = %v %+v", line, n, ln, pr, pl, r, l)
			}
			if pr == ingest.OK && pl.NameHash != 0 && pl.NameHash != kh.Bytes(pl.Name) {
				t.Fatalf("%q: nextLine hashed name %q to %x, NameHasher gives %x", line, pl.Name, pl.NameHash, kh.Bytes(pl.Name))
			}
		}
		for steps := 0; ; steps++ {
			if r != ingest.OK {
				if r.String() == "unknown" || r.String() == "ok" {
					t.Fatalf("%q: reason %d has no name", line, r)
				}
				return
			}
			checkLine(t, line, &l)
			if len(l.More) == 0 {
				return
			}
			if steps > len(line) {
				t.Fatalf("%q: chain does not end", line)
			}
			r = ParseMore(&l, opt)
		}
	})
}

func sameLine(a, b *Line) bool {
	return bytes.Equal(a.Name, b.Name) && bytes.Equal(a.Tags, b.Tags) && a.Kind == b.Kind &&
		slices.Equal(a.Values, b.Values) && bytes.Equal(a.Member, b.Member) && a.Rate == b.Rate &&
		a.T == b.T && a.Delta == b.Delta && a.Ignored == b.Ignored && bytes.Equal(a.More, b.More)
}

func checkLine(t *testing.T, line []byte, l *Line) {
	t.Helper()
	switch l.Kind {
	case ingest.KindEvent, ingest.KindServiceCheck:
		return
	case ingest.KindCounter, ingest.KindGauge, ingest.KindHistogram:
		if len(l.Values) == 0 {
			t.Fatalf("%q: accepted without values", line)
		}
		for _, v := range l.Values {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				t.Fatalf("%q: value %v", line, v)
			}
		}
		if l.Kind == ingest.KindGauge && len(l.Values) != 1 {
			t.Fatalf("%q: gauge with %d values", line, len(l.Values))
		}
	case ingest.KindSet:
		if len(l.Member) == 0 {
			t.Fatalf("%q: set without member", line)
		}
	default:
		t.Fatalf("%q: accepted with kind %v", line, l.Kind)
	}
	if len(l.Name) == 0 || bytes.ContainsAny(l.Name, ":|") {
		t.Fatalf("%q: name %q", line, l.Name)
	}
	if !(l.Rate > 0 && l.Rate <= 1) {
		t.Fatalf("%q: rate %v", line, l.Rate)
	}
	if bytes.IndexByte(l.Tags, '|') >= 0 {
		t.Fatalf("%q: tags %q hold a field separator", line, l.Tags)
	}
}

func FuzzHandleBody(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s + "\n" + s + "\r\n\nbad line\n"))
	}
	f.Add([]byte("a:1|c\nb:2|g\n\xff\xfe:1|c\n"))
	f.Fuzz(func(t *testing.T, body []byte) {
		sink := &collect{}
		// One fixed clock, so that both aggregators below flush at one time.
		opts := ingest.Options{MaxSeries: 1000, Now: func() time.Time { return time.Unix(1_700_000_000, 0) }}
		a, err := ingest.NewAggregator(opts, sink, metrics.NewSet())
		if err != nil {
			t.Fatal(err)
		}
		res := HandleBody(a, body)
		nonEmpty := 0
		for ln := range bytes.SplitSeq(body, []byte{'\n'}) {
			if len(bytes.TrimSuffix(ln, []byte{'\r'})) > 0 {
				nonEmpty++
			}
		}
		if res.Accepted+res.Rejected != nonEmpty {
			t.Fatalf("accepted %d + rejected %d != %d non-empty lines", res.Accepted, res.Rejected, nonEmpty)
		}
		if len(res.Errors) > maxBodyErrors || len(res.Errors) > res.Rejected {
			t.Fatalf("%d errors listed for %d rejected", len(res.Errors), res.Rejected)
		}
		for i, e := range res.Errors {
			if e.Line < 1 || (i > 0 && e.Line <= res.Errors[i-1].Line) {
				t.Fatalf("error line numbers %+v", res.Errors)
			}
		}
		if got := len(a.Rejects()); got != min(res.Rejected, 100) {
			t.Fatalf("rejects ring holds %d, want %d", got, min(res.Rejected, 100))
		}
		if err := a.Flush(context.Background()); err != nil {
			t.Fatal(err)
		}
		b := sink.batches[0]
		// The same lines applied one by one through ParseLine and Add, the
		// path that does not batch, end in the same state.
		refSink := &collect{}
		ref, err := ingest.NewAggregator(opts, refSink, metrics.NewSet())
		if err != nil {
			t.Fatal(err)
		}
		rh := newHandler(ref, "http", ParseOptions{})
		for ln := range bytes.SplitSeq(body, []byte{'\n'}) {
			if ln = trimCR(ln); len(ln) > 0 {
				rh.apply(ln, ParseLine(ln, &rh.line, rh.opt))
			}
		}
		if err := ref.Flush(context.Background()); err != nil {
			t.Fatal(err)
		}
		if rh.accepted != res.Accepted || !sameSamples(b.Samples, refSink.batches[0].Samples) {
			t.Fatalf("batched: %d accepted, %v; line by line: %d accepted, %v",
				res.Accepted, b.Samples, rh.accepted, refSink.batches[0].Samples)
		}
		fams := map[string]bool{}
		for _, m := range b.Metadata {
			fams[m.Name] = true
		}
		for _, s := range b.Samples {
			name := s.Labels.Get("__name__")
			base := name
			for _, suf := range []string{"_bucket", "_count", "_sum"} {
				if trimmed, ok := bytes.CutSuffix([]byte(name), []byte(suf)); ok && fams[string(trimmed)] {
					base = string(trimmed)
				}
			}
			if !fams[base] {
				t.Fatalf("sample %v has no metadata (families %v)", s.Labels, fams)
			}
		}
	})
}

// sameSamples compares two flushes' samples (labels, time and value bits)
// as multisets.
func sameSamples(a, b []ingest.Sample) bool {
	key := func(ss []ingest.Sample) []string {
		out := make([]string, len(ss))
		for i, s := range ss {
			out[i] = fmt.Sprintf("%s@%d=%x", s.Labels.String(), s.T, math.Float64bits(s.V))
		}
		slices.Sort(out)
		return out
	}
	return slices.Equal(key(a), key(b))
}

type collect struct{ batches []*ingest.Batch }

func (c *collect) Write(_ context.Context, b *ingest.Batch) error {
	c.batches = append(c.batches, b)
	return nil
}
