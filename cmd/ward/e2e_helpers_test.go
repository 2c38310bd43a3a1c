package main

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The end-to-end tests run the real binary, built once per test run, against real
// sockets on loopback and a real data directory.
var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

func wardBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "ward-e2e-bin")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "ward")
		// Without -race: the daemon must keep up with the load these tests send; the
		// race detector runs over every package's own tests.
		cmd := exec.Command("go", "build", "-o", binPath, ".")
		out, err := cmd.CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// freePort finds a port free for both TCP and UDP on 127.0.0.1 (statsd and memcache use
// one number for both).
func freePort(t *testing.T) int {
	t.Helper()
	for i := 0; i < 50; i++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		u, err := net.ListenPacket("udp", fmt.Sprintf("127.0.0.1:%d", port))
		l.Close()
		if err != nil {
			continue
		}
		u.Close()
		return port
	}
	t.Fatal("no free port")
	return 0
}

// ward is one running `ward serve`.
type ward struct {
	t        *testing.T
	cmd      *exec.Cmd
	dataDir  string
	http     string
	statsd   string
	memcache string
	log      *syncBuffer
	done     chan error
	extra    []string
}

type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func startWard(t *testing.T, dataDir string, extra ...string) *ward {
	t.Helper()
	w := &ward{
		t:        t,
		dataDir:  dataDir,
		http:     fmt.Sprintf("127.0.0.1:%d", freePort(t)),
		statsd:   fmt.Sprintf("127.0.0.1:%d", freePort(t)),
		memcache: fmt.Sprintf("127.0.0.1:%d", freePort(t)),
		extra:    extra,
	}
	w.start()
	t.Cleanup(func() {
		if w.cmd != nil && w.cmd.ProcessState == nil {
			_ = w.cmd.Process.Kill()
			<-w.done
		}
		if t.Failed() {
			t.Logf("ward log:\n%s", w.log.String())
		}
	})
	return w
}

func (w *ward) start() {
	t := w.t
	t.Helper()
	args := append([]string{"serve", "--data", w.dataDir, "--http", w.http, "--statsd", w.statsd,
		"--memcache", w.memcache, "--flush-interval", "1s", "--log-level", "debug"}, w.extra...)
	w.cmd = exec.Command(wardBinary(t), args...)
	w.log, w.done = startAndWait(t, w.cmd, "ward", "http://"+w.http+"/-/ready")
}

// startAndWait starts cmd with its output in a buffer, waits in the background for it to
// exit, and polls healthURL until it answers 200 (failing the test if cmd exits first).
func startAndWait(t *testing.T, cmd *exec.Cmd, name, healthURL string) (*syncBuffer, chan error) {
	t.Helper()
	log := &syncBuffer{}
	cmd.Stdout = log
	cmd.Stderr = log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	waitFor(t, 60*time.Second, name+" ready", func() (bool, string) {
		select {
		case err := <-done:
			done <- err // keep it for the owner's stop or cleanup
			t.Fatalf("%s exited early: %v\n%s", name, err, log.String())
		default:
		}
		resp, err := http.Get(healthURL)
		if err != nil {
			return false, err.Error()
		}
		resp.Body.Close()
		return resp.StatusCode == 200, resp.Status
	})
	return log, done
}

// stop sends SIGTERM and waits for a clean exit.
func (w *ward) stop() {
	w.t.Helper()
	if err := w.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		w.t.Fatal(err)
	}
	select {
	case err := <-w.done:
		if err != nil {
			w.t.Fatalf("ward exited with %v after SIGTERM\n%s", err, w.log.String())
		}
	case <-time.After(60 * time.Second):
		w.t.Fatalf("ward did not exit within 60s of SIGTERM\n%s", w.log.String())
	}
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, d time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(d)
	last := ""
	for {
		ok, info := cond()
		if ok {
			return
		}
		last = info
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s (last: %s)", d, what, last)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// promResult is the data of a Prometheus API query response.
type promResult struct {
	ResultType string `json:"resultType"`
	Result     []struct {
		Metric map[string]string `json:"metric"`
		Value  [2]any            `json:"value"`
		Values [][2]any          `json:"values"`
	} `json:"result"`
}

func (w *ward) query(expr string) (promResult, error) {
	return w.get("/api/v1/query", "query", expr)
}

// get calls a Prometheus API endpoint with key/value parameters and decodes its data.
func (w *ward) get(path string, kv ...string) (promResult, error) {
	var r promResult
	q := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		q.Set(kv[i], kv[i+1])
	}
	resp, err := http.Get("http://" + w.http + path + "?" + q.Encode())
	if err != nil {
		return r, err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var env struct {
		Status string     `json:"status"`
		Data   promResult `json:"data"`
		Error  string     `json:"error"`
	}
	if err := json.Unmarshal(body, &env); err != nil {
		return r, fmt.Errorf("decode %s: %w", body, err)
	}
	if env.Status != "success" {
		return r, fmt.Errorf("%s %v: %s", path, kv, env.Error)
	}
	return env.Data, nil
}

// scalar runs expr and returns the value of its single result (false when empty).
func (w *ward) scalar(expr string) (float64, bool, error) {
	r, err := w.query(expr)
	if err != nil {
		return 0, false, err
	}
	if len(r.Result) == 0 {
		return 0, false, nil
	}
	if len(r.Result) > 1 {
		return 0, false, fmt.Errorf("%s: %d results", expr, len(r.Result))
	}
	s, _ := r.Result[0].Value[1].(string)
	v, err := strconv.ParseFloat(s, 64)
	return v, true, err
}

// waitValue polls expr until it equals want.
func (w *ward) waitValue(expr string, want float64) {
	w.t.Helper()
	waitFor(w.t, 30*time.Second, expr, func() (bool, string) {
		v, ok, err := w.scalar(expr)
		if err != nil {
			return false, err.Error()
		}
		return ok && v == want, fmt.Sprintf("got %v (present %v), want %v", v, ok, want)
	})
}

// selfMetric reads one line of Ward's own /metrics.
func (w *ward) selfMetric(name string) float64 {
	w.t.Helper()
	resp, err := http.Get("http://" + w.http + "/metrics")
	if err != nil {
		w.t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	re := regexp.MustCompile(`^` + regexp.QuoteMeta(name) + ` (\S+)$`)
	for sc.Scan() {
		if m := re.FindStringSubmatch(sc.Text()); m != nil {
			v, _ := strconv.ParseFloat(m[1], 64)
			return v
		}
	}
	return 0
}

// memcacheTCP sends commands over one memcached text-protocol connection and returns the
// reply lines, reading until each command's reply is complete.
type mcConn struct {
	c net.Conn
	r *bufio.Reader
}

func dialMemcache(t *testing.T, addr string) *mcConn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetDeadline(time.Now().Add(60 * time.Second))
	return &mcConn{c: c, r: bufio.NewReader(c)}
}

func (m *mcConn) line(t *testing.T) string {
	t.Helper()
	s, err := m.r.ReadString('\n')
	if err != nil {
		t.Fatalf("memcache read: %v", err)
	}
	return strings.TrimRight(s, "\r\n")
}

// get returns the value memcached's get answers for key ("" when END comes first).
func (m *mcConn) get(t *testing.T, key string) string {
	t.Helper()
	fmt.Fprintf(m.c, "get %s\r\n", key)
	l := m.line(t)
	if l == "END" {
		return ""
	}
	v := m.line(t)
	if end := m.line(t); end != "END" {
		t.Fatalf("get %s: want END, got %q", key, end)
	}
	_ = l
	return v
}

// memcacheUDP sends one request over UDP with memcached's 8-byte frame header.
func memcacheUDP(conn net.Conn, id uint16, payload string) error {
	b := make([]byte, 8+len(payload))
	binary.BigEndian.PutUint16(b[0:], id)
	binary.BigEndian.PutUint16(b[2:], 0)
	binary.BigEndian.PutUint16(b[4:], 1)
	copy(b[8:], payload)
	_, err := conn.Write(b)
	return err
}
