package main

import (
	"context"
	"fmt"
	"net"
	"strings"
	"time"
)

// The load: counters over 1,000 names in datagrams of linesPerPacket lines.
const (
	linesPerPacket = 20
	names          = 1000
)

func packets() [][]byte {
	out := make([][]byte, names/linesPerPacket)
	for p := range out {
		var b strings.Builder
		for i := 0; i < linesPerPacket; i++ {
			if i > 0 {
				b.WriteByte('\n')
			}
			fmt.Fprintf(&b, "soak.c%d:1|c|#host:h%d", p*linesPerPacket+i, i%10)
		}
		out[p] = []byte(b.String())
	}
	return out
}

// measureMax sends flat out for d and returns the lines per second Ward received.
func measureMax(ctx context.Context, dm *daemon, d time.Duration) (float64, error) {
	before, err := dm.metric(`ward_ingest_lines_received_total{protocol="udp"}`)
	if err != nil {
		return 0, err
	}
	c, err := net.Dial("udp", dm.Statsd)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	ps := packets()
	start := time.Now()
	for i := 0; time.Since(start) < d && ctx.Err() == nil; i++ {
		_, _ = c.Write(ps[i%len(ps)])
	}
	elapsed := time.Since(start)
	// Let the queues drain, bounded.
	var after float64
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); {
		a, err := dm.metric(`ward_ingest_lines_received_total{protocol="udp"}`)
		if err == nil && a == after {
			break
		}
		after = a
		time.Sleep(300 * time.Millisecond)
	}
	if after <= before {
		return 0, fmt.Errorf("no lines received (%v before, %v after)", before, after)
	}
	return (after - before) / elapsed.Seconds(), nil
}

type loadResult struct{ sent int64 }

// sendAt sends rate lines per second until ctx is done, in ticks of 10 ms.
func sendAt(ctx context.Context, addr string, rate float64) loadResult {
	var r loadResult
	c, err := net.Dial("udp", addr)
	if err != nil {
		return r
	}
	defer c.Close()
	ps := packets()
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	start := time.Now()
	i := 0
	for {
		select {
		case <-ctx.Done():
			return r
		case <-t.C:
		}
		due := int64(rate * time.Since(start).Seconds())
		for r.sent+linesPerPacket <= due {
			if _, err := c.Write(ps[i%len(ps)]); err == nil {
				r.sent += linesPerPacket
			} else {
				r.sent += linesPerPacket // counted as sent: loss shows in what Ward received
			}
			i++
		}
	}
}
