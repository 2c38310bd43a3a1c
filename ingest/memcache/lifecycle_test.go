package memcache

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"
)

func TestOptionsDefaults(t *testing.T) {
	var o Options
	o.EnsureDefaults()
	want := Options{Addr: DefaultAddr, MaxConns: DefaultMaxConns, MaxLine: DefaultMaxLine,
		MaxValue: DefaultMaxValue, UDPReaders: DefaultUDPReaders, Version: DefaultVersion}
	if o != want {
		t.Errorf("EnsureDefaults() = %+v, want %+v", o, want)
	}
	if err := o.Validate(); err != nil {
		t.Errorf("defaults do not validate: %v", err)
	}
}

func TestNewServerRefuses(t *testing.T) {
	c := newMemCounters()
	for _, tt := range []struct {
		name string
		opts Options
		c    Counters
		want string
	}{
		{"negative MaxConns", Options{Addr: "127.0.0.1:0", MaxConns: -1}, c, "MaxConns -1"},
		{"tiny MaxLine", Options{Addr: "127.0.0.1:0", MaxLine: 10}, c, "MaxLine 10"},
		{"negative MaxValue", Options{Addr: "127.0.0.1:0", MaxValue: -1}, c, "MaxValue -1"},
		{"negative UDPReaders", Options{Addr: "127.0.0.1:0", UDPReaders: -2}, c, "UDPReaders -2"},
		{"negative IdleTimeout", Options{Addr: "127.0.0.1:0", IdleTimeout: -time.Second}, c, "IdleTimeout -1s"},
		{"spaced Version", Options{Addr: "127.0.0.1:0", Version: "1 2"}, c, `Version "1 2"`},
		{"nil Counters", Options{Addr: "127.0.0.1:0"}, nil, "nil Counters"},
		{"no port", Options{Addr: "127.0.0.1"}, c, `listen on "127.0.0.1"`},
		{"bad host", Options{Addr: "256.0.0.1:0"}, c, "listen on tcp"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s, err := NewServer(tt.opts, tt.c, nil, nil)
			if err == nil {
				_ = s.Close()
				t.Fatalf("NewServer(%+v) succeeded, want an error mentioning %q", tt.opts, tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("NewServer(%+v) = %v, want it to mention %q", tt.opts, err, tt.want)
			}
		})
	}
}

// TestSamePort binds UDP on the port the kernel chose for TCP, and a
// taken port is reported.
func TestSamePort(t *testing.T) {
	ts := startServer(t, Options{})
	if ts.TCPAddr().Port != ts.UDPAddr().Port || ts.TCPAddr().Port == 0 {
		t.Errorf("TCP %v and UDP %v, want the same non-zero port", ts.TCPAddr(), ts.UDPAddr())
	}
	_, err := NewServer(Options{Addr: ts.TCPAddr().String()}, newMemCounters(), nil, nil)
	if err == nil || !strings.Contains(err.Error(), "listen on tcp") {
		t.Errorf("NewServer on a taken port = %v, want a listen error", err)
	}
}

// TestCloseWithoutRun gives the sockets back: the same port binds again.
func TestCloseWithoutRun(t *testing.T) {
	s, err := NewServer(Options{Addr: "127.0.0.1:0"}, newMemCounters(), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	addr := s.TCPAddr().String()
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	s2, err := NewServer(Options{Addr: addr}, newMemCounters(), nil, nil)
	if err != nil {
		t.Fatalf("rebinding %s after Close: %v", addr, err)
	}
	_ = s2.Close()
}

// TestCloseStopsRun ends Run without its context, and Run runs once.
func TestCloseStopsRun(t *testing.T) {
	s, err := NewServer(Options{Addr: "127.0.0.1:0"}, newMemCounters(), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Run(context.Background()) }()
	nc, err := net.Dial("tcp", s.TCPAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	_ = nc.SetDeadline(time.Now().Add(testTimeout))
	if _, err := fmt.Fprint(nc, "version\r\n"); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64)
	if n, err := nc.Read(buf); err != nil || string(buf[:n]) != "VERSION ward-dev\r\n" {
		t.Fatalf("version: %q, %v", buf[:n], err)
	}
	_ = s.Close()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run after Close = %v, want nil", err)
		}
	case <-time.After(testTimeout):
		t.Fatal("Run did not return after Close")
	}
	if err := s.Run(context.Background()); !errors.Is(err, ErrServerStarted) {
		t.Errorf("second Run = %v, want ErrServerStarted", err)
	}
}

// TestInternBounded keeps the per-session key cache bounded while
// answering for every key.
func TestInternBounded(t *testing.T) {
	c := newMemCounters()
	ss := newSession(socketlessServer(c))
	for i := range 3 * maxInterned {
		runInMemory(ss, fmt.Appendf(nil, "incr k%d 1\r\n", i))
		if len(ss.keys) > maxInterned {
			t.Fatalf("key cache holds %d keys, want at most %d", len(ss.keys), maxInterned)
		}
	}
	if len(c.vals) != 3*maxInterned {
		t.Errorf("%d counters, want %d", len(c.vals), 3*maxInterned)
	}
}
