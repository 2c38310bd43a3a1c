package main

import (
	"context"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/wardmetrics/ward/ingest"
	"github.com/wardmetrics/ward/ingest/statsd"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type nopSink struct{}

func (nopSink) Write(context.Context, *ingest.Batch) error { return nil }

// TestSendsWhatItReports runs the generator against a real statsd server at
// a modest rate and expects the server to accept exactly the lines reported
// sent, spread over the names.
func TestSendsWhatItReports(t *testing.T) {
	agg, err := ingest.NewAggregator(ingest.Options{}, nopSink{}, metrics.NewSet())
	if err != nil {
		t.Fatal(err)
	}
	srv, err := statsd.NewServer(statsd.ServerOptions{Addr: "127.0.0.1:0"}, agg, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	defer func() {
		cancel()
		<-done
	}()
	res, err := run(context.Background(), config{
		addr: srv.UDPAddr().String(), rate: 20000, duration: 300 * time.Millisecond,
		lines: 20, names: 50, senders: 2, prefix: "ul", typ: "c", batch: 8,
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.SentLines == 0 || res.SentLines%20 != 0 || res.Errors != 0 {
		t.Fatalf("result %+v", res)
	}
	pc := agg.Protocol("udp")
	deadline := time.Now().Add(20 * time.Second)
	for int64(pc.LinesAccepted.Get()) < res.SentLines && time.Now().Before(deadline) {
		time.Sleep(2 * time.Millisecond)
	}
	var sum float64
	for i := range 50 {
		v, _ := agg.Get("ul." + strconv.Itoa(i))
		sum += v
	}
	if int64(sum) != res.SentLines {
		t.Fatalf("server counted %v, generator sent %d", sum, res.SentLines)
	}
	// With GSO the kernel splits each message into datagrams of one line:
	// the server must see every line, under zero-padded names.
	if runtime.GOOS == "linux" {
		before := int64(pc.LinesAccepted.Get())
		res, err := run(context.Background(), config{
			addr: srv.UDPAddr().String(), rate: 20000, duration: 300 * time.Millisecond,
			lines: 1, names: 50, senders: 1, prefix: "ug", typ: "c", batch: 4, gso: true,
		})
		if err != nil {
			t.Fatal(err)
		}
		if res.SentLines == 0 || res.SentPackets != res.SentLines || res.Errors != 0 {
			t.Fatalf("gso result %+v", res)
		}
		for int64(pc.LinesAccepted.Get())-before < res.SentLines && time.Now().Before(deadline) {
			time.Sleep(2 * time.Millisecond)
		}
		var sum float64
		for i := range 50 {
			v, _ := agg.Get(fmt.Sprintf("ug.%02d", i))
			sum += v
		}
		if int64(sum) != res.SentLines {
			t.Fatalf("gso: server counted %v under ug.00..ug.49, generator sent %d", sum, res.SentLines)
		}
	}
	if _, err := run(context.Background(), config{addr: "10.1.2.3:8125", rate: 1, duration: time.Millisecond, lines: 1, names: 1, senders: 1, batch: 1}); err == nil ||
		!strings.Contains(err.Error(), "loopback") {
		t.Fatalf("non-loopback target: %v", err)
	}
}
