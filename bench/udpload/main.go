// Command udpload sends statsd lines over UDP at a fixed rate to a server on
// this machine, for throughput and loss measurements:
//
//	udpload -addr 127.0.0.1:8125 -rate 400000 -duration 10s -lines 20 -names 10000
//
// It sends -rate lines per second for -duration, in datagrams of -lines
// lines, cycling over -names distinct counter names ("<prefix>.<i>:1|c"),
// from -senders sockets, and prints what it sent. The sum of all counters
// after a run equals sent_lines when nothing was lost. Only loopback
// targets are accepted.
//
// Datagrams go out in sendmmsg batches. With -gso (Linux), each message of
// a batch carries up to 64 datagrams that the kernel splits (UDP
// generic segmentation offload): the receiver still gets one datagram per
// packet, but the sender makes far fewer trips through the stack, which is
// what limits the generator at one line per datagram. GSO needs datagrams
// of one length, so -gso implies -pad (names zero-padded to one width).
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"strconv"
	"sync"
	"time"

	"golang.org/x/net/ipv4"
)

type config struct {
	addr     string
	rate     float64
	duration time.Duration
	lines    int
	names    int
	senders  int
	prefix   string
	typ      string
	batch    int
	pad      bool
	gso      bool
	jsonOut  bool
}

// result is what one run sent.
type result struct {
	SentLines   int64   `json:"sent_lines"`
	SentPackets int64   `json:"sent_packets"`
	Errors      int64   `json:"errors"`
	Seconds     float64 `json:"seconds"`
	LinesPerSec float64 `json:"lines_per_sec"`
}

func main() {
	var c config
	flag.StringVar(&c.addr, "addr", "127.0.0.1:8125", "statsd UDP address (loopback only)")
	flag.Float64Var(&c.rate, "rate", 100000, "lines per second, all senders together")
	flag.DurationVar(&c.duration, "duration", 10*time.Second, "how long to send")
	flag.IntVar(&c.lines, "lines", 20, "lines per datagram")
	flag.IntVar(&c.names, "names", 10000, "distinct metric names")
	flag.IntVar(&c.senders, "senders", 1, "sending sockets, each with its own goroutine")
	flag.StringVar(&c.prefix, "prefix", "load", "metric name prefix")
	flag.StringVar(&c.typ, "type", "c", "statsd type of the lines (c, g, ms, h, d)")
	flag.IntVar(&c.batch, "batch", 32, "datagrams per sendmmsg call at most")
	flag.BoolVar(&c.pad, "pad", false, "zero-pad the name numbers to one width (load.0042), so that all datagrams have one length")
	flag.BoolVar(&c.gso, "gso", false, "send with UDP GSO, up to 64 datagrams per message (Linux; implies -pad)")
	flag.BoolVar(&c.jsonOut, "json", false, "print the result as JSON")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	res, err := run(ctx, c)
	if err != nil {
		fmt.Fprintln(os.Stderr, "udpload:", err)
		os.Exit(1)
	}
	if c.jsonOut {
		json.NewEncoder(os.Stdout).Encode(res)
		return
	}
	fmt.Printf("sent_lines=%d sent_packets=%d errors=%d seconds=%.3f lines_per_sec=%.0f\n",
		res.SentLines, res.SentPackets, res.Errors, res.Seconds, res.LinesPerSec)
}

func run(ctx context.Context, c config) (result, error) {
	if c.rate <= 0 || c.lines <= 0 || c.names <= 0 || c.senders <= 0 || c.duration <= 0 || c.batch <= 0 {
		return result{}, errors.New("rate, lines, names, senders, duration and batch must be positive")
	}
	ua, err := net.ResolveUDPAddr("udp", c.addr)
	if err != nil {
		return result{}, fmt.Errorf("resolve %s: %w", c.addr, err)
	}
	if !ua.IP.IsLoopback() {
		return result{}, fmt.Errorf("%s is not a loopback address: load is only sent to this machine", c.addr)
	}
	if c.gso {
		c.pad = true
	}
	pkts := buildPackets(c)
	ctx, cancel := context.WithTimeout(ctx, c.duration)
	defer cancel()
	var wg sync.WaitGroup
	results := make([]result, c.senders)
	errs := make([]error, c.senders)
	start := time.Now()
	for i := range c.senders {
		wg.Go(func() {
			results[i], errs[i] = send(ctx, ua, pkts, i, c)
		})
	}
	wg.Wait()
	var total result
	for i, r := range results {
		if errs[i] != nil {
			return total, errs[i]
		}
		total.SentLines += r.SentLines
		total.SentPackets += r.SentPackets
		total.Errors += r.Errors
	}
	total.Seconds = time.Since(start).Seconds()
	total.LinesPerSec = float64(total.SentLines) / total.Seconds
	return total, nil
}

// buildPackets lays out every name once, c.lines per datagram, so that the
// names are spread evenly whatever the rate.
func buildPackets(c config) [][]byte {
	n := (c.names + c.lines - 1) / c.lines
	pkts := make([][]byte, n)
	width := 0
	if c.pad {
		width = len(strconv.Itoa(c.names - 1))
	}
	j := 0
	for i := range pkts {
		var p []byte
		for k := range c.lines {
			if k > 0 {
				p = append(p, '\n')
			}
			p = append(p, c.prefix...)
			p = append(p, '.')
			num := strconv.Itoa(j % c.names)
			for range width - len(num) {
				p = append(p, '0')
			}
			p = append(p, num...)
			p = append(p, ":1|"...)
			p = append(p, c.typ...)
			j++
		}
		pkts[i] = p
	}
	return pkts
}

// send paces one socket at c.rate/c.senders lines per second: every pass
// it sends what is due by now, in sendmmsg batches, and sleeps briefly when
// caught up.
func send(ctx context.Context, ua *net.UDPAddr, pkts [][]byte, id int, c config) (result, error) {
	conn, err := net.DialUDP("udp", nil, ua)
	if err != nil {
		return result{}, fmt.Errorf("dial %s: %w", ua, err)
	}
	defer conn.Close()
	if c.gso {
		return sendGSO(ctx, conn, pkts, id, c)
	}
	pc := ipv4.NewPacketConn(conn)
	msgs := make([]ipv4.Message, c.batch)
	rate := c.rate / float64(c.senders)
	var r result
	var attempted int64 // lines sent or failed: what the pace is measured on
	next := id * len(pkts) / c.senders
	start := time.Now()
	for ctx.Err() == nil {
		due := int64(rate*time.Since(start).Seconds()) - attempted
		if due < int64(c.lines) {
			time.Sleep(100 * time.Microsecond)
			continue
		}
		n := min(int(due)/c.lines, c.batch)
		for i := range n {
			msgs[i].Buffers = [][]byte{pkts[next]}
			next++
			if next == len(pkts) {
				next = 0
			}
		}
		sent, err := pc.WriteBatch(msgs[:n], 0)
		if err != nil {
			// ECONNREFUSED and the like: the server is not there (yet);
			// count it and keep the pace.
			r.Errors++
			attempted += int64(n * c.lines)
			continue
		}
		attempted += int64(sent * c.lines)
		r.SentPackets += int64(sent)
		r.SentLines += int64(sent * c.lines)
	}
	return r, nil
}
