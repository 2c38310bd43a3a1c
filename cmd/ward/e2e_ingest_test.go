package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestIngestEndToEnd is the ingest issue's acceptance test: every protocol's increments
// arrive exactly, malformed lines are counted and listed while the good lines beside
// them count, and a restart continues the totals.
func TestIngestEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	data := t.TempDir()
	w := startWard(t, data)

	// 100,000 increments over UDP in packets of 20 lines, with malformed lines mixed in.
	// Flow control by polling Ward's own received-lines counter keeps the test free of
	// kernel drops without depending on speed.
	udp, err := net.Dial("udp", w.statsd)
	if err != nil {
		t.Fatal(err)
	}
	defer udp.Close()
	const packets, perPacket = 5000, 20
	sentLines := 0
	badLines := 0
	for p := 0; p < packets; p++ {
		var b strings.Builder
		for i := 0; i < perPacket; i++ {
			if i > 0 {
				b.WriteByte('\n')
			}
			b.WriteString("e2e.udp:1|c|#src:test")
		}
		if p%500 == 0 {
			b.WriteString("\ne2e.udp:notanumber|c\nno separator here")
			badLines += 2
			sentLines += 2
		}
		sentLines += perPacket
		if _, err := udp.Write([]byte(b.String())); err != nil {
			t.Fatal(err)
		}
		if p%250 == 249 {
			want := float64(sentLines)
			waitFor(t, 30*time.Second, "udp lines received", func() (bool, string) {
				got := w.selfMetric(`ward_ingest_lines_received_total{protocol="udp"}`)
				return got >= want, fmt.Sprintf("%v of %v", got, want)
			})
		}
	}

	// 1,000 over statsd TCP.
	tcp, err := net.Dial("tcp", w.statsd)
	if err != nil {
		t.Fatal(err)
	}
	var tb strings.Builder
	for i := 0; i < 1000; i++ {
		tb.WriteString("e2e.tcp:1|c\n")
	}
	if _, err := io.WriteString(tcp, tb.String()); err != nil {
		t.Fatal(err)
	}
	tcp.Close()

	// 1,000 memcached incr over TCP, each reply checked.
	mc := dialMemcache(t, w.memcache)
	for i := 1; i <= 1000; i++ {
		fmt.Fprintf(mc.c, "incr e2e.mc 1\r\n")
		if got := mc.line(t); got != strconv.Itoa(i) {
			t.Fatalf("incr %d: reply %q", i, got)
		}
	}

	// 1,000 memcached incr over UDP, one request per datagram, each reply awaited.
	mu, err := net.Dial("udp", w.memcache)
	if err != nil {
		t.Fatal(err)
	}
	defer mu.Close()
	buf := make([]byte, 2048)
	for i := 1; i <= 1000; i++ {
		if err := memcacheUDP(mu, uint16(i), "incr e2e.mcudp 1\r\n"); err != nil {
			t.Fatal(err)
		}
		_ = mu.SetReadDeadline(time.Now().Add(10 * time.Second))
		n, err := mu.Read(buf)
		if err != nil {
			t.Fatalf("udp incr %d: %v", i, err)
		}
		if got := strings.TrimSpace(string(buf[8:n])); got != strconv.Itoa(i) {
			t.Fatalf("udp incr %d: reply %q", i, got)
		}
	}

	// 1,000 lines over HTTP in 4 posts, each with one malformed line.
	for p := 0; p < 4; p++ {
		body := strings.Repeat("e2e.http:1|c\n", 250) + "e2e.http:1|zz\n"
		resp, err := http.Post("http://"+w.http+"/api/v1/statsd", "text/plain", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		var env struct {
			Data struct {
				Accepted int `json:"accepted"`
				Rejected int `json:"rejected"`
				Errors   []struct {
					Line   int    `json:"line"`
					Reason string `json:"reason"`
				} `json:"errors"`
			} `json:"data"`
		}
		err = json.NewDecoder(resp.Body).Decode(&env)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		if env.Data.Accepted != 250 || env.Data.Rejected != 1 || len(env.Data.Errors) != 1 || env.Data.Errors[0].Line != 251 {
			t.Fatalf("POST /api/v1/statsd: %+v", env.Data)
		}
	}

	// Exact totals through memcached get (including what is not flushed yet)...
	waitFor(t, 30*time.Second, "totals in get", func() (bool, string) {
		got := map[string]string{}
		for _, k := range []string{"e2e.tcp", "e2e.mc", "e2e.mcudp", "e2e.http"} {
			got[k] = mc.get(t, k)
		}
		ok := got["e2e.tcp"] == "1000" && got["e2e.mc"] == "1000" && got["e2e.mcudp"] == "1000" && got["e2e.http"] == "1000"
		return ok, fmt.Sprint(got)
	})
	// ...and through the query API once flushed.
	w.waitValue(`e2e_udp{src="test"}`, 100000)
	w.waitValue(`e2e_tcp`, 1000)
	w.waitValue(`e2e_mc`, 1000)
	w.waitValue(`e2e_mcudp`, 1000)
	w.waitValue(`e2e_http`, 1000)
	if got := w.selfMetric(`ward_ingest_lines_accepted_total{protocol="udp"}`); got != packets*perPacket {
		t.Errorf("udp lines accepted = %v, want %v", got, packets*perPacket)
	}
	if got := w.selfMetric(`ward_memcache_commands_total{cmd="incr"}`); got != 2000 {
		t.Errorf("memcache incr commands = %v, want 2000", got)
	}

	// Malformed lines are counted by reason and listed.
	var rejected float64
	for _, r := range []string{"bad_value", "missing_value", "unknown_type", "bad_type", "missing_type"} {
		rejected += w.selfMetric(fmt.Sprintf(`ward_ingest_rejected_lines_total{reason=%q}`, r))
	}
	if rejected < float64(badLines+4) {
		t.Errorf("rejected lines counted = %v, want at least %d", rejected, badLines+4)
	}
	resp, err := http.Get("http://" + w.http + "/api/v1/ingest/errors")
	if err != nil {
		t.Fatal(err)
	}
	errBody, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(errBody), "notanumber") || !strings.Contains(string(errBody), "e2e.http:1|zz") {
		t.Errorf("/api/v1/ingest/errors does not list the malformed lines: %s", errBody)
	}

	// A clean stop flushes; a restart continues every counter from its total.
	w.stop()
	w.start()
	w.waitValue(`e2e_udp{src="test"}`, 100000)
	mc = dialMemcache(t, w.memcache)
	fmt.Fprintf(mc.c, "incr e2e.mc 5\r\n")
	if got := mc.line(t); got != "1005" {
		t.Fatalf("incr after restart: %q, want 1005", got)
	}
	if _, err := w.statsdUDP("e2e.udp:1|c|#src:test"); err != nil {
		t.Fatal(err)
	}
	w.waitValue(`e2e_udp{src="test"}`, 100001)
	w.waitValue(`e2e_mc`, 1005)
	w.stop()
}

func (w *ward) statsdUDP(lines ...string) (int, error) {
	c, err := net.Dial("udp", w.statsd)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	return c.Write([]byte(strings.Join(lines, "\n")))
}
