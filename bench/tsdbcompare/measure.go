package main

import (
	"bufio"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime/metrics"
	"runtime/pprof"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// heapSampler records the peak of the Go heap (bytes in heap objects, live
// or not yet swept) by sampling runtime/metrics, which does not stop the
// world, every few milliseconds.
type heapSampler struct {
	peak atomic.Uint64
	stop chan struct{}
	wg   sync.WaitGroup
}

const heapMetric = "/memory/classes/heap/objects:bytes"

func startHeapSampler(every time.Duration) *heapSampler {
	h := &heapSampler{stop: make(chan struct{})}
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		s := []metrics.Sample{{Name: heapMetric}}
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			metrics.Read(s)
			if v := s[0].Value.Uint64(); v > h.peak.Load() {
				h.peak.Store(v)
			}
			select {
			case <-h.stop:
				return
			case <-t.C:
			}
		}
	}()
	return h
}

// close stops sampling and returns the peak.
func (h *heapSampler) close() uint64 {
	close(h.stop)
	h.wg.Wait()
	return h.peak.Load()
}

// maxRSS returns the process' peak resident set size (VmHWM) in bytes.
func maxRSS() (uint64, error) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0, fmt.Errorf("read peak rss: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("parse %q: %w", line, err)
			}
			return kb << 10, nil
		}
	}
	return 0, fmt.Errorf("read peak rss: no VmHWM in /proc/self/status: %v", sc.Err())
}

// diskUsage is what du reports for a directory: blocks allocated (Bytes),
// plus the apparent size per kind of file for the report's details.
type diskUsage struct {
	Bytes    int64            `json:"bytes"`
	Apparent int64            `json:"apparent"`
	ByKind   map[string]int64 `json:"by_kind"`
	// WALAndCaches is the apparent size of write-ahead logs and saved
	// caches, which do not grow with the data kept: Pebble's *.log,
	// Prometheus' wal/ and chunks_head/, VictoriaMetrics' cache/.
	WALAndCaches int64 `json:"wal_and_caches"`
}

func du(dir string) (diskUsage, error) {
	u := diskUsage{ByKind: map[string]int64{}}
	err := filepath.WalkDir(dir, func(path string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := e.Info()
		if err != nil {
			return err
		}
		if st, ok := info.Sys().(*syscall.Stat_t); ok {
			u.Bytes += st.Blocks * 512
		}
		if e.IsDir() {
			return nil
		}
		u.Apparent += info.Size()
		kind := fileKind(dir, path)
		u.ByKind[kind] += info.Size()
		switch kind {
		case ".log", "wal/", "chunks_head/", "cache/":
			u.WALAndCaches += info.Size()
		}
		return nil
	})
	if err != nil {
		return u, fmt.Errorf("du %s: %w", dir, err)
	}
	return u, nil
}

// fileKind names a file by its top directory when that holds logs or
// caches, else by its extension, else by its top directory (Prometheus
// blocks, VictoriaMetrics parts).
func fileKind(root, path string) string {
	rel, err := filepath.Rel(root, path)
	if err != nil {
		return "other"
	}
	parts := strings.Split(rel, string(filepath.Separator))
	if len(parts) > 1 {
		switch parts[0] {
		case "wal", "chunks_head", "cache":
			return parts[0] + "/"
		}
	}
	if ext := filepath.Ext(path); ext != "" && len(ext) < 8 {
		return ext
	}
	if len(parts) > 1 {
		return parts[0] + "/"
	}
	return parts[0]
}

func (u diskUsage) String() string {
	kinds := make([]string, 0, len(u.ByKind))
	for k := range u.ByKind {
		kinds = append(kinds, k)
	}
	sort.Slice(kinds, func(i, j int) bool { return u.ByKind[kinds[i]] > u.ByKind[kinds[j]] })
	var b strings.Builder
	for i, k := range kinds {
		if i == 5 {
			break
		}
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s %.1f MiB", k, float64(u.ByKind[k])/(1<<20))
	}
	return b.String()
}

// profiler writes one CPU profile per phase when a directory is given.
type profiler struct {
	dir, engine string
	f           *os.File
}

func (p *profiler) start(phase string) error {
	if p.dir == "" {
		return nil
	}
	f, err := os.Create(filepath.Join(p.dir, p.engine+"-"+phase+".pprof"))
	if err != nil {
		return fmt.Errorf("create cpu profile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return fmt.Errorf("start cpu profile: %w", err)
	}
	p.f = f
	return nil
}

func (p *profiler) stop() error {
	if p.f == nil {
		return nil
	}
	pprof.StopCPUProfile()
	err := p.f.Close()
	p.f = nil
	return err
}

// timed runs fn and returns its wall time.
func timed(fn func() error) (time.Duration, error) {
	start := time.Now()
	err := fn()
	return time.Since(start), err
}

// median runs fn once to warm caches, then reps times, and returns the
// median wall time in milliseconds; the last run's result is kept by fn.
func median(reps int, fn func() error) (float64, error) {
	if err := fn(); err != nil {
		return 0, err
	}
	ds := make([]float64, 0, reps)
	for range reps {
		d, err := timed(fn)
		if err != nil {
			return 0, err
		}
		ds = append(ds, float64(d.Microseconds())/1000)
	}
	sort.Float64s(ds)
	return ds[len(ds)/2], nil
}
