package wardproc

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestFreePortTakesTCPAndUDP(t *testing.T) {
	p, err := FreePort()
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
	if err != nil {
		t.Fatalf("TCP on the free port %d: %v", p, err)
	}
	defer l.Close()
	u, err := net.ListenPacket("udp", fmt.Sprintf("127.0.0.1:%d", p))
	if err != nil {
		t.Fatalf("UDP on the free port %d: %v", p, err)
	}
	u.Close()
}

func TestStartReportsAMissingBinary(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "no-such-ward")
	_, err := Start(bin, t.TempDir(), time.Second, os.Stderr)
	if err == nil || !strings.Contains(err.Error(), bin) {
		t.Fatalf("Start(%s) = %v, want an error naming the binary", bin, err)
	}
}

func TestStartReportsAnEarlyExit(t *testing.T) {
	// /bin/false exits at once: Start must say so instead of waiting for readiness.
	if _, err := os.Stat("/bin/false"); err != nil {
		t.Skip("no /bin/false")
	}
	_, err := Start("/bin/false", t.TempDir(), time.Second, os.Stderr)
	if err == nil || !strings.Contains(err.Error(), "exited at start") {
		t.Fatalf("Start(/bin/false) = %v, want an early exit", err)
	}
}
