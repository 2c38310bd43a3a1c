package main

import (
	"bufio"
	"context"
	"errors"
	"net"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// fakeServer is a server that takes up to capacity lines per second; the
// generator sends at most genMax.
func fakeServer(capacity, genMax float64, calls *[]float64) measureFunc {
	return func(_ context.Context, rate float64) (step, error) {
		*calls = append(*calls, rate)
		sent := min(rate, genMax) * 6
		acc := sent
		if rate > capacity {
			acc = capacity * 6
		}
		return step{Offered: rate, Sent: int64(sent), Seconds: 6, Accepted: int64(acc), Drained: int64(acc)}, nil
	}
}

func TestSearch(t *testing.T) {
	plan := searchPlan{Start: 25000, MaxSteps: 9, Precision: 1.1, MaxLoss: 0.001, MinRate: 1000}
	for _, tc := range []struct {
		name             string
		capacity, genMax float64
		wantLo, wantHi   float64 // the best accepted rate lies in [wantLo, wantHi]
		wantGenLimited   bool
		wantNone         bool
	}{
		{name: "above the start", capacity: 130000, genMax: 1e9, wantLo: 130000 / 1.1, wantHi: 130000},
		{name: "below the start", capacity: 9000, genMax: 1e9, wantLo: 9000 / 1.1, wantHi: 9000},
		{name: "exactly the start", capacity: 25000, genMax: 1e9, wantLo: 25000, wantHi: 25000},
		{name: "generator-limited", capacity: 1e9, genMax: 150000, wantLo: 150000, wantHi: 150000, wantGenLimited: true},
		{name: "nothing passes", capacity: 10, genMax: 1e9, wantNone: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var calls []float64
			o, err := search(context.Background(), plan, fakeServer(tc.capacity, tc.genMax, &calls))
			if err != nil {
				t.Fatal(err)
			}
			if len(o.Steps) > plan.MaxSteps || len(o.Steps) != len(calls) {
				t.Fatalf("%d steps, %d calls, at most %d allowed", len(o.Steps), len(calls), plan.MaxSteps)
			}
			b, ok := o.best()
			if tc.wantNone {
				if ok {
					t.Fatalf("best %+v, want none (rates %v)", b, calls)
				}
				return
			}
			if !ok {
				t.Fatalf("no passing step (rates %v)", calls)
			}
			if got := b.acceptedRate(); got < tc.wantLo || got > tc.wantHi {
				t.Fatalf("best accepted rate %.0f, want in [%.0f, %.0f] (rates %v)", got, tc.wantLo, tc.wantHi, calls)
			}
			if o.GenLimited != tc.wantGenLimited {
				t.Fatalf("generator-limited %v, want %v", o.GenLimited, tc.wantGenLimited)
			}
			if !tc.wantGenLimited {
				if o.FirstFail < 0 || o.Steps[o.FirstFail].Offered <= tc.capacity {
					t.Fatalf("first failing step %d of %v should be above the capacity %.0f", o.FirstFail, calls, tc.capacity)
				}
			}
		})
	}
}

func TestSearchStopsOnError(t *testing.T) {
	boom := errors.New("server died")
	n := 0
	_, err := search(context.Background(), searchPlan{Start: 1000, MaxSteps: 9, Precision: 1.1, MaxLoss: 0.001},
		func(context.Context, float64) (step, error) {
			n++
			if n == 2 {
				return step{}, boom
			}
			return step{Offered: 1000, Sent: 1000, Seconds: 1, Accepted: 1000}, nil
		})
	if !errors.Is(err, boom) || n != 2 {
		t.Fatalf("err %v after %d calls, want %v after 2", err, n, boom)
	}
}

func TestStepLoss(t *testing.T) {
	s := step{Offered: 1000, Sent: 10000, Seconds: 10, Accepted: 9995, Drained: 10000}
	if !s.pass(0.001) || s.genLimited() {
		t.Fatalf("%+v: loss %.4f should pass, not generator-limited", s, s.loss())
	}
	s.Accepted = 9989 // 0.11% late: fails although nothing was dropped
	if s.pass(0.001) || s.drainedLoss() != 0 {
		t.Fatalf("%+v: loss %.4f should fail with nothing dropped", s, s.loss())
	}
	if (step{Offered: 1000}).pass(0.001) {
		t.Fatal("a step that sent nothing passed")
	}
	if !(step{Offered: 1000, Sent: 9000, Seconds: 10, Accepted: 9000}).genLimited() {
		t.Fatal("90% of the offered rate is not generator-limited")
	}
}

func TestPromValue(t *testing.T) {
	text := []byte(`# HELP statsd_exporter_events_total The total number of StatsD events seen.
# TYPE statsd_exporter_events_total counter
statsd_exporter_events_total{type="counter"} 1.2345678e+07
statsd_exporter_events_total{type="gauge"} 3
ward_ingest_lines_accepted_total{protocol="udp6"} 99
ward_ingest_lines_accepted_total{protocol="udp"} 760341
`)
	for series, want := range map[string]float64{
		`statsd_exporter_events_total{type="counter"}`:     12345678,
		`ward_ingest_lines_accepted_total{protocol="udp"}`: 760341,
	} {
		got, err := promValue(text, series)
		if err != nil || got != want {
			t.Errorf("%s = %v, %v; want %v", series, got, err, want)
		}
	}
	if _, err := promValue(text, `ward_ingest_lines_accepted_total{protocol="tcp"}`); !errors.Is(err, errNoSeries) {
		t.Errorf("absent series: %v, want errNoSeries", err)
	}
	if _, err := promValue([]byte("x_total{a=\"b\"} NaNx\n"), `x_total{a="b"}`); err == nil {
		t.Error("a malformed value parsed")
	}
}

// etsyCounters is what Etsy statsd 0.9.0's console answers to `counters`
// after `a.b:1|c`, `bad line` and `c:2|c`.
const etsyCounters = `{
  'statsd.bad_lines_seen': 1,
  'statsd.packets_received': 3,
  'statsd.metrics_received': 3,
  'a.b': 1,
  c: 2
}
END

`

func TestEtsyAccepted(t *testing.T) {
	n, err := etsyAccepted([]byte(etsyCounters))
	if err != nil || n != 2 {
		t.Fatalf("accepted %d, %v; want 2", n, err)
	}
	if _, err := etsyAccepted([]byte("{}\nEND\n\n")); err == nil {
		t.Fatal("counters without statsd.metrics_received gave no error")
	}
}

// TestEtsyCommand talks to a fake management console on a real socket
// that answers in pieces, as a busy node process does.
func TestEtsyCommand(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			cmd, _ := bufio.NewReader(c).ReadString('\n')
			switch strings.TrimSpace(cmd) {
			case "counters":
				for rest := etsyCounters; rest != ""; {
					n := min(7, len(rest))
					c.Write([]byte(rest[:n]))
					rest = rest[n:]
				}
			case "health":
				c.Write([]byte("health: up\n"))
			}
			c.Close()
		}
	}()
	defer func() {
		l.Close()
		<-done
	}()
	out, err := etsyCommand(context.Background(), l.Addr().String(), "counters", "END\n\n")
	if err != nil {
		t.Fatal(err)
	}
	if n, err := etsyAccepted(out); err != nil || n != 2 {
		t.Fatalf("accepted %d, %v; want 2", n, err)
	}
	if _, err := etsyCommand(context.Background(), l.Addr().String(), "health", "health: up\n"); err != nil {
		t.Fatal(err)
	}
	// A console that hangs up without the end marker is an error.
	if _, err := etsyCommand(context.Background(), l.Addr().String(), "nonsense", "END\n\n"); err == nil {
		t.Fatal("no error for an answer without END")
	}
}

func TestParseMicro(t *testing.T) {
	out := []byte(`goos: linux
goarch: amd64
pkg: github.com/wardmetrics/ward/ingest/statsd
cpu: AMD EPYC
BenchmarkParseAggregate/counter/names=100-2         	  200000	      1000 ns/op	  20000000 lines/s	  21000000 lines/cpu-s	       0 B/op	       0 allocs/op
BenchmarkParseAggregate/counter/names=10000-2       	  100000	      1500 ns/op	  13000000 lines/s	  15000000 lines/cpu-s	       0 B/op	       0 allocs/op
BenchmarkParseAggregate/counter/names=10000-2       	  100000	      1400 ns/op	  14000000 lines/s	  17000000 lines/cpu-s	       0 B/op	       0 allocs/op
BenchmarkParseAggregate/counter/names=10000-2       	  100000	      1300 ns/op	  15000000 lines/s	  16000000 lines/cpu-s	       0 B/op	       0 allocs/op
PASS
ok  	github.com/wardmetrics/ward/ingest/statsd	12.3s
`)
	got := parseMicro(out)
	if len(got) != 2 || got[0].Name != "counter/names=100" || got[1].Name != microFigure {
		t.Fatalf("parsed %+v", got)
	}
	if m := got[1]; m.LinesPerS != 14e6 || m.LinesPerCPU != 16e6 || m.oneCore() != 16e6 || m.AllocsOp != 0 {
		t.Fatalf("medians %+v", m)
	}
}

func TestBenchLines(t *testing.T) {
	pass := func(rate float64) outcome {
		return outcome{Steps: []step{{Offered: rate, Sent: int64(rate) * 6, Seconds: 6, Accepted: int64(rate) * 6}}, Best: 0, FirstFail: -1}
	}
	r := &report{
		shapes: []int{1, 20},
		servers: []serverRun{
			{name: nameWard, outcomes: map[int]outcome{1: pass(300000), 20: pass(2400000)}},
			{name: nameExporter, outcomes: map[int]outcome{1: pass(50000), 20: pass(400000)}},
			{name: nameEtsy, outcomes: map[int]outcome{1: {Best: -1, FirstFail: -1}, 20: pass(60000)}},
			// The bare receiver is reported but never the anchor.
			{name: nameBare, reference: true, outcomes: map[int]outcome{1: pass(600000), 20: pass(4800000)}},
		},
		micro: []microResult{{Name: microFigure, LinesPerS: 1e7, LinesPerCPU: 2.5e7}},
	}
	want := []string{
		"bench: udp_lines_per_sec_1_per_packet ward=300000 statsd_exporter=50000 etsy_statsd=NA bare_receiver=600000 ratio=6.00",
		"bench: udp_lines_per_sec_1_per_packet_share_of_bare_receiver ward=0.50 target=0.50",
		"bench: udp_lines_per_sec_20_per_packet ward=2400000 statsd_exporter=400000 etsy_statsd=60000 bare_receiver=4800000 ratio=6.00",
		"bench: udp_lines_per_sec_20_per_packet_share_of_bare_receiver ward=0.50 target=0.50",
		"bench: parse_aggregate_lines_per_sec_one_core ward=25000000 target=20000000",
	}
	if got := r.benchLines(); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	r.servers[1].err = errors.New("install failed")
	r.servers[2].err = errors.New("install failed")
	if got := r.benchLines()[0]; !strings.HasSuffix(got, "statsd_exporter=NA etsy_statsd=NA bare_receiver=600000 ratio=NA") {
		t.Fatalf("without anchors: %s", got)
	}
	sec := r.section()
	if !strings.HasPrefix(sec, sectionHeading+"\n") || !strings.Contains(sec, want[0][:40]) || !strings.Contains(sec, "install failed") {
		t.Fatalf("section:\n%s", sec)
	}
}

func TestReplaceSection(t *testing.T) {
	mine := sectionHeading + "\n\nnew figures\n"
	other := "## Storage (tsdbcompare)\n\nstorage figures\n"
	for _, tc := range []struct{ name, doc, want string }{
		{"new file", "", resultsHeader + "\n" + mine},
		{"appended after another section", resultsHeader + "\n" + other, resultsHeader + "\n" + other + "\n" + mine},
		{"replaced in the middle", "# R\n\n" + sectionHeading + "\n\nold\nfigures\n\n" + other,
			"# R\n\n" + mine + "\n" + other},
		{"replaced at the end", "# R\n\n" + other + "\n" + sectionHeading + "\n\nold\n", "# R\n\n" + other + "\n" + mine},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := replaceSection(tc.doc, mine)
			if got != tc.want {
				t.Fatalf("got\n%q\nwant\n%q", got, tc.want)
			}
			if again := replaceSection(got, mine); again != got {
				t.Fatalf("not idempotent:\n%q", again)
			}
		})
	}
}

func TestParseShapesAndServers(t *testing.T) {
	if s, err := parseShapes("1, 20"); err != nil || len(s) != 2 || s[0] != 1 || s[1] != 20 {
		t.Fatalf("parseShapes: %v %v", s, err)
	}
	if _, err := parseShapes("1,x"); err == nil {
		t.Fatal("parseShapes accepted x")
	}
	ks, err := selectKinds("etsy_statsd,ward")
	if err != nil || len(ks) != 2 || ks[0].name != nameWard || ks[1].name != nameEtsy {
		t.Fatalf("selectKinds: %v", err)
	}
	if _, err := selectKinds("ward,collectd"); err == nil {
		t.Fatal("selectKinds accepted collectd")
	}
}
