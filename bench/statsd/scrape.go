package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// errNoSeries says a series is not (yet) in a scrape. Servers create
// their counters lazily, so the caller may read it as zero.
var errNoSeries = errors.New("series not in scrape")

// promValue returns the value of the series written exactly as series
// (name plus labels as the server prints them, e.g.
// `x_total{type="counter"}`) in a Prometheus text exposition.
func promValue(text []byte, series string) (float64, error) {
	sc := bufio.NewScanner(bytes.NewReader(text))
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		line := sc.Text()
		rest, ok := strings.CutPrefix(line, series)
		if !ok || len(rest) == 0 || rest[0] != ' ' {
			continue
		}
		f := strings.Fields(rest)
		v, err := strconv.ParseFloat(f[0], 64)
		if err != nil {
			return 0, fmt.Errorf("value of %s in %q: %w", series, line, err)
		}
		return v, nil
	}
	if err := sc.Err(); err != nil {
		return 0, fmt.Errorf("read exposition: %w", err)
	}
	return 0, fmt.Errorf("%s: %w", series, errNoSeries)
}

// scrapeCounter fetches url and returns the series' value, zero when it is
// absent.
func scrapeCounter(ctx context.Context, url, series string) (int64, error) {
	body, err := httpGet(ctx, url)
	if err != nil {
		return 0, err
	}
	v, err := promValue(body, series)
	if errors.Is(err, errNoSeries) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("scrape %s: %w", url, err)
	}
	return int64(v), nil
}

// httpGet returns the body of a 200 response.
func httpGet(ctx context.Context, url string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, fmt.Errorf("request %s: %w", url, err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("get %s: %w", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", url, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("get %s: status %s", url, resp.Status)
	}
	return body, nil
}

var (
	etsyReceived = regexp.MustCompile(`'statsd\.metrics_received': (\d+)`)
	etsyBad      = regexp.MustCompile(`'statsd\.bad_lines_seen': (\d+)`)
)

// etsyAccepted reads the lines Etsy statsd accepted from the output of its
// management console's `counters` command: metrics_received counts every
// non-empty line, bad_lines_seen the rejected ones.
func etsyAccepted(out []byte) (int64, error) {
	r := etsyReceived.FindSubmatch(out)
	b := etsyBad.FindSubmatch(out)
	if r == nil || b == nil {
		return 0, fmt.Errorf("no statsd.metrics_received or statsd.bad_lines_seen in the counters output (%d bytes)", len(out))
	}
	nr, err := strconv.ParseInt(string(r[1]), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("metrics_received %q: %w", r[1], err)
	}
	nb, err := strconv.ParseInt(string(b[1]), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("bad_lines_seen %q: %w", b[1], err)
	}
	return nr - nb, nil
}

// etsyCommand sends one command to Etsy statsd's management console and
// returns its answer, read until it ends with end ("END\n\n" for most
// commands).
func etsyCommand(ctx context.Context, addr, cmd, end string) ([]byte, error) {
	d := net.Dialer{Timeout: 2 * time.Second}
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("dial etsy statsd console %s: %w", addr, err)
	}
	defer c.Close()
	if err := c.SetDeadline(time.Now().Add(10 * time.Second)); err != nil {
		return nil, fmt.Errorf("set deadline on %s: %w", addr, err)
	}
	if _, err := io.WriteString(c, cmd+"\n"); err != nil {
		return nil, fmt.Errorf("send %q to %s: %w", cmd, addr, err)
	}
	var out []byte
	buf := make([]byte, 64*1024)
	for !bytes.HasSuffix(out, []byte(end)) {
		n, err := c.Read(buf)
		out = append(out, buf[:n]...)
		if err != nil {
			return out, fmt.Errorf("read answer to %q from %s: %w", cmd, addr, err)
		}
	}
	_, _ = io.WriteString(c, "quit\n")
	return out, nil
}
