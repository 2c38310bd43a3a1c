// Command udpsink is the bare receiver of the statsd benchmark: it reads
// datagrams from one UDP socket as fast as it can and only counts their
// lines, so that its limit is the machine's (the kernel's receive path and
// the load generator sharing the cores), not a server's. bench/statsd runs
// it beside Ward and the anchors as a reference ceiling: what any statsd
// server on this machine could at best accept.
//
//	udpsink -addr 127.0.0.1:8125 -http 127.0.0.1:8080
//
// GET /count on -http answers the lines counted so far. It reads as Ward
// does (recvmmsg batches of 32 on Linux, a 16 MiB receive buffer forced
// when allowed) but parses nothing and keeps no state per name.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"
	"time"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8125", "UDP address to read (loopback only)")
	web := flag.String("http", "127.0.0.1:8080", "address of the /count endpoint (loopback only)")
	flag.Parse()
	if err := run(*addr, *web); err != nil {
		fmt.Fprintln(os.Stderr, "udpsink:", err)
		os.Exit(1)
	}
}

// run serves until SIGINT or SIGTERM.
func run(addr, web string) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return runUntil(ctx, addr, web)
}

// runUntil serves until ctx ends or a listener fails.
func runUntil(ctx context.Context, addr, web string) error {
	for _, a := range []string{addr, web} {
		if err := loopbackOnly(a); err != nil {
			return err
		}
	}
	c, err := net.ListenPacket("udp", addr)
	if err != nil {
		return fmt.Errorf("listen udp %s: %w", addr, err)
	}
	uc := c.(*net.UDPConn)
	setReadBuffer(uc, 16<<20)
	var lines atomic.Int64
	mux := http.NewServeMux()
	mux.HandleFunc("GET /count", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, lines.Load())
	})
	srv := &http.Server{Addr: web, Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	httpErr := make(chan error, 1)
	go func() { httpErr <- srv.ListenAndServe() }()
	readErr := make(chan error, 1)
	go func() { readErr <- readLoop(uc, &lines) }()
	httpDone, readDone := false, false
	select {
	case <-ctx.Done():
	case err = <-httpErr:
		httpDone, err = true, fmt.Errorf("serve %s: %w", web, err)
	case err = <-readErr:
		readDone = true
		if err != nil {
			err = fmt.Errorf("read %s: %w", addr, err)
		}
	}
	uc.Close()
	srv.Close()
	// Both goroutines end once their listener is closed.
	if !readDone {
		<-readErr
	}
	if !httpDone {
		<-httpErr
	}
	return err
}

// countLines counts the lines of one datagram: newline-separated, a last
// line without a newline included, empty lines too (the load generator
// sends none).
func countLines(p []byte) int64 {
	n := int64(0)
	for _, c := range p {
		if c == '\n' {
			n++
		}
	}
	if len(p) > 0 && p[len(p)-1] != '\n' {
		n++
	}
	return n
}

// loopbackOnly refuses addresses beyond loopback: the benchmark runs on one
// machine.
func loopbackOnly(a string) error {
	host, _, err := net.SplitHostPort(a)
	if err != nil {
		return fmt.Errorf("address %q: %w", a, err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("address %q: %w", a, errNotLoopback)
	}
	return nil
}

var errNotLoopback = errors.New("not a loopback address")
