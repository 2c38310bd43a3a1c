package statsd

import (
	"context"
	"fmt"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/wardmetrics/ward/ingest"
)

type discardSink struct{}

func (discardSink) Write(context.Context, *ingest.Batch) error { return nil }

// threadCPU is the CPU time of the calling thread.
func threadCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(rusageThread, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// packets builds n packets of k lines each over names distinct names.
func packets(n, k, names int, line func(i int) string) [][]byte {
	out := make([][]byte, n)
	j := 0
	for i := range out {
		var p []byte
		for range k {
			p = append(p, line(j%names)...)
			p = append(p, '\n')
			j++
		}
		out[i] = p
	}
	return out
}

func benchAggregator(b *testing.B) *ingest.Aggregator {
	a, err := ingest.NewAggregator(ingest.Options{}, discardSink{}, metrics.NewSet())
	if err != nil {
		b.Fatal(err)
	}
	return a
}

// BenchmarkParseAggregate measures parse and aggregate on one goroutine
// over packets of 20 lines, with 100 names (hot in cache) and 10,000 names
// (the UDP benchmark's spread), reporting lines per second of wall time and
// per second of the thread's CPU time.
func BenchmarkParseAggregate(b *testing.B) {
	for _, names := range []int{100, 10000} {
		benchParseAggregate(b, names)
	}
}

func benchParseAggregate(b *testing.B, names int) {
	for _, bc := range []struct {
		name string
		line func(i int) string
	}{
		{"counter", func(i int) string { return fmt.Sprintf("shop.revenue.%d:499|c", i) }},
		{"counter_tags", func(i int) string { return fmt.Sprintf("api.requests.%d:1|c|@0.5|#host:web01,route:/checkout", i) }},
		{"gauge", func(i int) string { return fmt.Sprintf("db.connections.%d:+3|g", i) }},
		{"timer", func(i int) string { return fmt.Sprintf("api.latency.%d:320.5|ms", i) }},
		{"set", func(i int) string { return fmt.Sprintf("users.online.%d:u%d|s", i%100, i) }},
	} {
		b.Run(fmt.Sprintf("%s/names=%d", bc.name, names), func(b *testing.B) {
			a := benchAggregator(b)
			h := newHandler(a, "bench", ParseOptions{})
			ps := packets(500, 20, names, bc.line)
			for _, p := range ps { // create the series: steady state is what is measured
				h.datagram(p, false)
			}
			// The goroutine keeps its thread so that the thread's CPU time
			// measures it alone: on a shared machine wall time also counts
			// the time other processes held the core.
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			i := 0
			measureLines(b, 20, func() {
				h.datagram(ps[i], false)
				if i++; i == len(ps) {
					i = 0
					h.publish()
				}
			})
		})
	}
}

// BenchmarkReadBatchOneLine applies reads of 32 datagrams of one counter
// line each over 10,000 names, the shape of most statsd traffic: what the
// UDP reader does per recvmmsg call once the kernel has copied the
// datagrams out.
func BenchmarkReadBatchOneLine(b *testing.B) {
	const names, perRead = 10000, 32
	a := benchAggregator(b)
	h := newHandler(a, "bench", ParseOptions{})
	reads := make([]*packetBatch, names/perRead)
	for r := range reads {
		pb := newPacketBatch(perRead, 64)
		for i := range perRead {
			// Spread each read's names over the table, as a busy sender's are.
			n := copy(pb.bufs[i], fmt.Sprintf("load.%04d:1|c", (i*len(reads)+r)%names))
			pb.lens[i] = n
		}
		pb.n = perRead
		reads[r] = pb
	}
	for _, pb := range reads { // create the series: steady state is what is measured
		h.batch(pb, 16384)
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	i := 0
	measureLines(b, perRead, func() {
		h.batch(reads[i], 16384)
		if i++; i == len(reads) {
			i = 0
			h.publish()
		}
	})
}

// measureLines runs op, which applies lines lines, in the benchmark loop
// and reports lines per second of wall time and of the thread's CPU time
// (the caller locks the goroutine to its thread).
func measureLines(b *testing.B, lines int, op func()) {
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := threadCPU()
	n := 0
	for b.Loop() {
		op()
		n += lines
	}
	cpu := threadCPU() - cpu0
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "lines/s")
	if cpu > 0 {
		b.ReportMetric(float64(n)/cpu.Seconds(), "lines/cpu-s")
	}
}
