package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestCountLines(t *testing.T) {
	for _, c := range []struct {
		in   string
		want int64
	}{
		{"", 0},
		{"a:1|c", 1},
		{"a:1|c\n", 1},
		{"a:1|c\nb:2|c", 2},
		{"a:1|c\nb:2|c\n", 2},
		{"\n", 1},
	} {
		if got := countLines([]byte(c.in)); got != c.want {
			t.Errorf("countLines(%q) = %d, want %d", c.in, got, c.want)
		}
	}
}

// TestSinkCounts sends datagrams over loopback and polls /count until every
// line is counted.
func TestSinkCounts(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	uc := pc.(*net.UDPConn)
	var lines atomic.Int64
	done := make(chan error, 1)
	go func() { done <- readLoop(uc, &lines) }()
	out, err := net.Dial("udp", uc.LocalAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	for i := range 100 {
		msg := "a:1|c\nb:1|c"
		if i%2 == 0 {
			msg += "\n"
		}
		if _, err := out.Write([]byte(msg)); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for lines.Load() < 200 {
		if time.Now().After(deadline) {
			t.Fatalf("counted %d lines, want 200", lines.Load())
		}
		time.Sleep(5 * time.Millisecond)
	}
	if n := lines.Load(); n != 200 {
		t.Fatalf("counted %d lines, want 200", n)
	}
	uc.Close()
	if err := <-done; err != nil {
		t.Fatalf("readLoop after close: %v", err)
	}
}

// TestRunServesCount runs the whole command on free ports and reads /count.
func TestRunServesCount(t *testing.T) {
	ports := make([]string, 2)
	for i := range ports {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ports[i] = l.Addr().String()
		l.Close()
	}
	if err := run("192.0.2.1:1", ports[1]); err == nil || !strings.Contains(err.Error(), "loopback") {
		t.Fatalf("run with a non-loopback address: %v, want a loopback error", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	errc := make(chan error, 1)
	go func() { errc <- runUntil(ctx, ports[0], ports[1]) }()
	out, err := net.Dial("udp", ports[0])
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		out.Write([]byte("x:1|c\n"))
		n, err := getCount("http://" + ports[1] + "/count")
		if err == nil && n > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no line counted: %d, %v", n, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	if err := <-errc; err != nil {
		t.Fatalf("run: %v", err)
	}
}

func getCount(url string) (int64, error) {
	resp, err := http.Get(url)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, err
	}
	return strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
}
