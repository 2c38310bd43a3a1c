package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

func httpGet(addr, path string, timeout time.Duration) (int, []byte, error) {
	c := http.Client{Timeout: timeout}
	resp, err := c.Get("http://" + addr + path)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

// metric reads one line of Ward's /metrics.
func (d *daemon) metric(name string) (float64, error) {
	st, b, err := httpGet(d.HTTP, "/metrics", 10*time.Second)
	if err != nil {
		return 0, err
	}
	if st != 200 {
		return 0, fmt.Errorf("/metrics: status %d", st)
	}
	sc := bufio.NewScanner(strings.NewReader(string(b)))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			return strconv.ParseFloat(v, 64)
		}
	}
	return 0, nil
}

func (d *daemon) goroutines() (int, error) {
	v, err := d.metric("go_goroutines")
	return int(v), err
}

func (d *daemon) rssKB() (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", d.PID()))
	if err != nil {
		return 0, err
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			return strconv.ParseInt(strings.Fields(v)[0], 10, 64)
		}
	}
	return 0, fmt.Errorf("no VmRSS in /proc/%d/status", d.PID())
}

type sample struct {
	at         time.Duration
	rssKB      int64
	goroutines int
	queryMs    float64
}

func (d *daemon) sample(queryMs float64) (sample, error) {
	rss, err := d.rssKB()
	if err != nil {
		return sample{}, err
	}
	g, err := d.goroutines()
	if err != nil {
		return sample{}, err
	}
	return sample{rssKB: rss, goroutines: g, queryMs: queryMs}, nil
}

// querier runs a dashboard's worth of queries every second and keeps their latencies.
type querier struct {
	addr string
	mu   sync.Mutex
	lat  []float64 // since the last takeLatency
	n    int
	errs int
}

func newQuerier(addr string) *querier { return &querier{addr: addr} }

var soakQueries = []string{
	"/api/v1/query?query=" + url.QueryEscape(`sum(rate(soak_c1[1m]))`),
	"/api/v1/query?query=" + url.QueryEscape(`topk(5, sum by (host) ({__name__=~"soak_c1.."}))`),
}

func (q *querier) run(ctx context.Context) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		now := time.Now().Unix()
		paths := append(slices.Clone(soakQueries), fmt.Sprintf("/api/v1/query_range?query=%s&start=%d&end=%d&step=15",
			url.QueryEscape(`sum(rate(soak_c2[1m]))`), now-600, now))
		for _, p := range paths {
			start := time.Now()
			st, body, err := httpGet(q.addr, p, 30*time.Second)
			ms := float64(time.Since(start).Microseconds()) / 1000
			q.mu.Lock()
			q.n++
			if err != nil || st != 200 {
				q.errs++
				if q.errs <= 5 {
					fmt.Fprintf(os.Stderr, "soak: query %s: %d %v %.200s\n", p, st, err, body)
				}
			} else {
				q.lat = append(q.lat, ms)
			}
			q.mu.Unlock()
		}
	}
}

// takeLatency returns the median latency since the last call.
func (q *querier) takeLatency() float64 {
	q.mu.Lock()
	defer q.mu.Unlock()
	l := q.lat
	q.lat = nil
	if len(l) == 0 {
		return 0
	}
	slices.Sort(l)
	return l[len(l)/2]
}

func (q *querier) errors() int { q.mu.Lock(); defer q.mu.Unlock(); return q.errs }
func (q *querier) count() int  { q.mu.Lock(); defer q.mu.Unlock(); return q.n }
