package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// startWardWide starts Ward with its HTTP server listening on every interface (0.0.0.0)
// while the test only ever connects to 127.0.0.1 on the same port.
func startWardWide(t *testing.T, dataDir string, extra ...string) *ward {
	t.Helper()
	port := freePort(t)
	w := &ward{
		t:        t,
		dataDir:  dataDir,
		http:     fmt.Sprintf("127.0.0.1:%d", port),
		statsd:   fmt.Sprintf("127.0.0.1:%d", freePort(t)),
		memcache: fmt.Sprintf("127.0.0.1:%d", freePort(t)),
		// The later --http wins: the listener binds every interface.
		extra: append([]string{"--http", fmt.Sprintf("0.0.0.0:%d", port)}, extra...),
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
	if l := w.log.String(); !strings.Contains(l, fmt.Sprintf("addr=[::]:%d", port)) && !strings.Contains(l, fmt.Sprintf("addr=0.0.0.0:%d", port)) {
		t.Fatalf("ward does not listen on every interface:\n%s", l)
	}
	return w
}

// do sends one request to Ward with an optional bearer token and returns the status
// and body.
func (w *ward) do(t *testing.T, method, path, token, body string) (int, string, http.Header) {
	t.Helper()
	req, err := http.NewRequest(method, "http://"+w.http+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != "" && strings.HasPrefix(body, "{") {
		req.Header.Set("Content-Type", "application/json")
	}
	c := http.Client{Timeout: 30 * time.Second}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

// TestSecurityRefusesWideListenWithoutToken: a daemon reachable beyond loopback must not
// accept writes from anyone, so it refuses to start unless told --insecure.
func TestSecurityRefusesWideListenWithoutToken(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	dir := t.TempDir()
	cmd := exec.Command(wardBinary(t), "serve", "--data", filepath.Join(dir, "data"),
		"--http", fmt.Sprintf("0.0.0.0:%d", freePort(t)), "--statsd", "", "--memcache", "")
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("ward serve on 0.0.0.0 without a token started and exited 0:\n%s", out)
	}
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() == 0 {
		t.Fatalf("want a non-zero exit, got %v", err)
	}
	if !strings.Contains(string(out), "beyond loopback") || !strings.Contains(string(out), "--auth-token-file") {
		t.Errorf("refusal does not say why and what to do:\n%s", out)
	}

	// --insecure accepts it, and writes then need no token.
	w := startWardWide(t, filepath.Join(dir, "data2"), "--insecure")
	if st, body, _ := w.do(t, "POST", "/api/v1/statsd", "", "sec.open:1|c\n"); st != 200 {
		t.Errorf("insecure POST /api/v1/statsd: %d %s", st, body)
	}
	w.stop()
}

// TestSecurityToken: with --auth-token-file every mutating endpoint answers 401 without
// the token (or with a wrong one) and works with it; reads stay open unless
// --auth-reads; bodies are bounded; no CORS; no path traversal; memcached cannot delete.
func TestSecurityToken(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	dir := t.TempDir()
	const token = "s3cret-token-for-e2e"
	tokenFile := filepath.Join(dir, "token")
	writeFile(t, tokenFile, token+"\n")
	w := startWardWide(t, filepath.Join(dir, "data"), "--auth-token-file", tokenFile)

	// Create the experiment the PATCH below changes (itself a write).
	expBody := `{"name":"sec","branches":[{"name":"control","weight":50},{"name":"b","weight":50}],"rollout":100,"metrics":[{"name":"order"}]}`
	writes := []struct{ method, path, body string }{
		{"POST", "/api/v1/experiments", expBody},
		{"POST", "/api/v1/statsd", "sec.count:1|c\n"},
		{"POST", "/-/reload", ""},
		{"POST", "/api/v1/deploys", `{"release":"v1","canary":"release=\"v1\"","baseline":"release=\"v0\""}`},
		{"PATCH", "/api/v1/experiments/sec", `{"rollout":50}`},
		{"PUT", "/api/v1/dashboards/secdash", `{"id":"secdash","title":"Sec","panels":[{"title":"p","expr":"up"}]}`},
		{"DELETE", "/api/v1/dashboards/secdash", ""},
		{"POST", "/api/v1/events", `{"events":[{"uid":"u1","metric":"order","value":1}]}`},
	}
	for _, wr := range writes {
		for _, bad := range []string{"", "wrong-token"} {
			if st, body, _ := w.do(t, wr.method, wr.path, bad, wr.body); st != 401 {
				t.Errorf("%s %s with token %q: %d %s, want 401", wr.method, wr.path, bad, st, body)
			}
		}
		st, body, _ := w.do(t, wr.method, wr.path, token, wr.body)
		if st < 200 || st > 299 {
			t.Errorf("%s %s with the token: %d %s, want 2xx", wr.method, wr.path, st, body)
		}
	}
	w.waitValue("sec_count", 1) // only the authorised POST counted

	// Reads are open without --auth-reads; probes are always open.
	if st, body, _ := w.do(t, "GET", "/api/v1/query?query=sec_count", "", ""); st != 200 {
		t.Errorf("read without token: %d %s", st, body)
	}

	// No CORS headers, not even for a preflight or a request with an Origin.
	req, _ := http.NewRequest("OPTIONS", "http://"+w.http+"/api/v1/query", nil)
	req.Header.Set("Origin", "http://evil.example")
	req.Header.Set("Access-Control-Request-Method", "POST")
	for _, r := range []*http.Request{req, mustReq(t, "GET", "http://"+w.http+"/api/v1/query?query=1", "http://evil.example")} {
		resp, err := http.DefaultClient.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		for k := range resp.Header {
			if strings.HasPrefix(strings.ToLower(k), "access-control-") {
				t.Errorf("%s %s answers CORS header %s: %v", r.Method, r.URL.Path, k, resp.Header[k])
			}
		}
	}

	// A body beyond the limit (8 MiB) is refused before it is read whole.
	big := strings.Repeat("sec.big:1|c\n", (9<<20)/12)
	if st, _ := rawStatus(t, w.http, "POST /api/v1/statsd HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "+token+
		fmt.Sprintf("\r\nContent-Length: %d\r\n\r\n", len(big)), big); st != 413 {
		t.Errorf("9 MiB body: status %d, want 413", st)
	}
	// A header block beyond its limit is refused too.
	if st, _ := rawStatus(t, w.http, "GET /api/v1/query?query=1 HTTP/1.1\r\nHost: x\r\nX-Big: "+strings.Repeat("a", 128<<10)+"\r\n\r\n", ""); st < 400 && st != 0 {
		t.Errorf("128 KiB header: status %d, want an error or a closed connection", st)
	}

	// The UI's file server never leaves its embedded files.
	for _, p := range []string{
		"/static/../../etc/passwd",
		"/static/%2e%2e/%2e%2e/etc/passwd",
		"/static/..%2f..%2f..%2fetc%2fpasswd",
		"/static/%252e%252e/%252e%252e/etc/passwd",
		"/static/....//....//etc/passwd",
		"/static/..\\..\\etc\\passwd",
		"/static//etc/passwd",
	} {
		st, body := rawStatus(t, w.http, "GET "+p+" HTTP/1.1\r\nHost: x\r\n\r\n", "")
		if (st != 404 && st != 400) || strings.Contains(body, "root:") {
			t.Errorf("GET %s: %d (want 404 or 400), body %.80q", p, st, body)
		}
	}

	// memcached: delete and flush_all are refused and the data stays.
	mc := dialMemcache(t, w.memcache)
	fmt.Fprintf(mc.c, "incr sec.mc 7\r\n")
	if got := mc.line(t); got != "7" {
		t.Fatalf("incr: %q", got)
	}
	for _, cmd := range []string{"delete sec.mc", "flush_all", "flush_all 0"} {
		fmt.Fprintf(mc.c, "%s\r\n", cmd)
		if got := mc.line(t); !strings.HasPrefix(got, "CLIENT_ERROR") && !strings.HasPrefix(got, "SERVER_ERROR") && got != "ERROR" {
			t.Errorf("%s: %q, want a refusal", cmd, got)
		}
	}
	if got := mc.get(t, "sec.mc"); got != "7" {
		t.Errorf("after delete/flush_all, get sec.mc = %q, want 7", got)
	}
	w.stop()

	// --auth-reads protects reads as well; the probes stay public for orchestrators.
	w = startWardWide(t, filepath.Join(dir, "data"), "--auth-token-file", tokenFile, "--auth-reads")
	for _, p := range []string{"/api/v1/query?query=sec_count", "/api/v1/labels", "/metrics", "/api/v1/experiments", "/api/v1/alerts"} {
		if st, body, _ := w.do(t, "GET", p, "", ""); st != 401 {
			t.Errorf("--auth-reads: GET %s without token: %d %.100s, want 401", p, st, body)
		}
		if st, body, _ := w.do(t, "GET", p, token, ""); st != 200 {
			t.Errorf("--auth-reads: GET %s with token: %d %.100s", p, st, body)
		}
	}
	for _, p := range []string{"/-/healthy", "/-/ready"} {
		if st, _, _ := w.do(t, "GET", p, "", ""); st != 200 {
			t.Errorf("--auth-reads: %s: %d, want 200", p, st)
		}
	}
	w.stop()
}

func mustReq(t *testing.T, method, url, origin string) *http.Request {
	t.Helper()
	r, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	r.Header.Set("Origin", origin)
	return r
}

// rawStatus writes a request byte for byte (no client-side path cleaning) and returns
// the response's status code (0 when the server closed without answering) and body.
func rawStatus(t *testing.T, addr, head, body string) (int, string) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(30 * time.Second))
	go func() {
		// The server may answer and close before the body is sent: ignore write errors.
		_, _ = io.WriteString(c, head)
		_, _ = io.WriteString(c, body)
	}()
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	_, _ = io.CopyN(&b, resp.Body, 1<<16)
	return resp.StatusCode, b.String()
}
