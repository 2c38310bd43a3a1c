package main

import (
	"math"
	"os"
	"strings"
	"testing"
	"time"
)

func TestParseStatCPU(t *testing.T) {
	// A command name with spaces and a parenthesis, as the kernel writes it.
	stat := "4242 (ward (serve) x) S 1 4242 4242 0 -1 4194560 1234 0 0 0 731 269 0 0 20 0 12 0 99 1 2 3\n"
	got, err := parseStatCPU(stat)
	if err != nil || got != 731+269 {
		t.Fatalf("parseStatCPU = %d, %v; want 1000", got, err)
	}
	for _, bad := range []string{"", "4242 ward S 1", "4242 (ward) S 1 2 3", "4242 (ward) S 1 4242 4242 0 -1 4194560 1234 0 0 0 x 269 0"} {
		if _, err := parseStatCPU(bad); err == nil {
			t.Errorf("parseStatCPU(%q) accepted", bad)
		}
	}
	// This process's own stat parses, and its CPU time does not go backwards.
	a, err := procCPU(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if b, err := procCPU(os.Getpid()); err != nil || b < a {
		t.Fatalf("cpu time %v then %v (%v)", a, b, err)
	}
}

func TestPercentile(t *testing.T) {
	xs := make([]float64, 0, 100)
	for i := 100; i >= 1; i-- {
		xs = append(xs, float64(i))
	}
	for _, tc := range []struct{ p, want float64 }{{50, 50}, {99, 99}, {100, 100}, {1, 1}, {0.1, 1}} {
		if got := percentile(xs, tc.p); got != tc.want {
			t.Errorf("p%v of 1..100 = %v, want %v", tc.p, got, tc.want)
		}
	}
	if got := percentile([]float64{7}, 99); got != 7 {
		t.Errorf("p99 of one value = %v", got)
	}
	if !math.IsNaN(percentile(nil, 99)) {
		t.Error("p99 of nothing is not NaN")
	}
}

func TestPushTime(t *testing.T) {
	for _, tc := range []struct {
		msg  string
		t    int64
		okay bool
	}{
		{`{"type":"points","expr":"sum by (host) (rate(x[1m]))","t":1700000000123,"series":[]}`, 1700000000123, true},
		{`{"type":"points","expr":"x{a=\"\\\",\\\"t\\\":5\"}","t":42,"series":[]}`, 42, true},
		{`{"type":"hello"}`, 0, false},
		{`{"type":"error","expr":"x","error":"bad"}`, 0, false},
		{`{"type":"points","expr":"x","t":"soon"}`, 0, false},
	} {
		got, ok := pushTime([]byte(tc.msg))
		if got != tc.t || ok != tc.okay {
			t.Errorf("pushTime(%s) = %d, %v; want %d, %v", tc.msg, got, ok, tc.t, tc.okay)
		}
	}
}

func TestUpdateResults(t *testing.T) {
	doc := strings.Join([]string{
		"## Components",
		"```",
		"bench: stream_500_clients_10_subscriptions_hub_cpu_percent_of_core ward=6.3",
		"bench: stream_500_clients_push_latency_p99_ms ward=127",
		"bench: ui_first_page_load_kb ward=53 target=300",
		"```",
		"- Stream: `go test -bench BenchmarkPush500Clients ./api/stream/` (500 websocket",
		"  clients in a child process).",
		"- UI: the browser test.",
		"",
	}, "\n")
	lines := result{Wall: 10 * time.Second, CPU: 2500 * time.Millisecond, P99Ms: 87.4}.benchLines()
	if lines[0] != cpuLine+" ward=25.0" || lines[1] != latencyLine+" ward=87" {
		t.Fatalf("bench lines %q", lines)
	}
	note := notePrefix + " `go run ./bench/wsload`\n  second line."
	got, err := updateResults(doc, lines, note)
	if err != nil {
		t.Fatal(err)
	}
	want := strings.Join([]string{
		"## Components",
		"```",
		"bench: stream_500_clients_10_subscriptions_hub_cpu_percent_of_core ward=6.3",
		"bench: stream_500_clients_push_latency_p99_ms ward=127",
		cpuLine + " ward=25.0",
		latencyLine + " ward=87",
		"bench: ui_first_page_load_kb ward=53 target=300",
		"```",
		"- Stream: `go test -bench BenchmarkPush500Clients ./api/stream/` (500 websocket",
		"  clients in a child process).",
		notePrefix + " `go run ./bench/wsload`",
		"  second line.",
		"- UI: the browser test.",
		"",
	}, "\n")
	if got != want {
		t.Fatalf("first update:\n%s\nwant:\n%s", got, want)
	}
	// A second run replaces its lines and its note in place.
	lines2 := result{Wall: 10 * time.Second, CPU: time.Second, P99Ms: 12}.benchLines()
	again, err := updateResults(got, lines2, notePrefix+" new.")
	if err != nil {
		t.Fatal(err)
	}
	want2 := strings.NewReplacer(cpuLine+" ward=25.0", cpuLine+" ward=10.0", latencyLine+" ward=87", latencyLine+" ward=12",
		notePrefix+" `go run ./bench/wsload`\n  second line.", notePrefix+" new.").Replace(want)
	if again != want2 {
		t.Fatalf("second update:\n%s\nwant:\n%s", again, want2)
	}
	if _, err := updateResults("no stream section\n", lines, note); err == nil {
		t.Error("a file without the stream section was accepted")
	}
}
