package daemon

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"syscall"
	"testing"

	"github.com/VictoriaMetrics/metrics"

	"github.com/wardmetrics/ward/ingest"
)

type failingSink struct{ err error }

func (f *failingSink) Write(context.Context, *ingest.Batch) error { return f.err }

func TestStorageHealth(t *testing.T) {
	var logs bytes.Buffer
	set := metrics.NewSet()
	h := newStorageHealth(slog.New(slog.NewTextHandler(&logs, nil)), set)
	inner := &failingSink{}
	s := healthSink{next: inner, health: h}
	gauge := func() string {
		var b bytes.Buffer
		set.WritePrometheus(&b)
		return b.String()
	}

	if err := s.Write(context.Background(), &ingest.Batch{}); err != nil || h.ready() != nil {
		t.Fatalf("healthy flush: write %v, ready %v", err, h.ready())
	}
	inner.err = syscall.ENOSPC
	for i := 0; i < 3; i++ {
		if err := s.Write(context.Background(), &ingest.Batch{}); !errors.Is(err, syscall.ENOSPC) {
			t.Fatalf("write: %v, want ENOSPC passed on", err)
		}
	}
	err := h.ready()
	if !errors.Is(err, syscall.ENOSPC) || !strings.Contains(err.Error(), "storage writes failing since") {
		t.Fatalf("ready while failing: %v", err)
	}
	if !strings.Contains(gauge(), "ward_storage_write_failing 1") {
		t.Errorf("gauge while failing:\n%s", gauge())
	}
	if n := strings.Count(logs.String(), "storage writes failing"); n != 1 {
		t.Errorf("%d failure log lines for one run of failures, want 1:\n%s", n, logs.String())
	}

	inner.err = nil
	if err := s.Write(context.Background(), &ingest.Batch{}); err != nil || h.ready() != nil {
		t.Fatalf("after recovery: write %v, ready %v", err, h.ready())
	}
	if !strings.Contains(logs.String(), "storage writes recovered") {
		t.Errorf("no recovery log line:\n%s", logs.String())
	}
	if !strings.Contains(gauge(), "ward_storage_write_failing 0") {
		t.Errorf("gauge after recovery:\n%s", gauge())
	}
}

// TestStorageHealthRefusing: /-/ready also fails while storage refuses writes when no
// flush has failed (a flush with nothing to write never reaches the check).
func TestStorageHealthRefusing(t *testing.T) {
	h := newStorageHealth(slog.New(slog.DiscardHandler), metrics.NewSet())
	var refusing error
	h.refused = func() error { return refusing }
	if err := h.ready(); err != nil {
		t.Fatalf("ready: %v", err)
	}
	refusing = fmt.Errorf("tsdb: write refused: %w", syscall.ENOSPC)
	if err := h.ready(); !errors.Is(err, syscall.ENOSPC) || !strings.Contains(err.Error(), "storage refusing writes") {
		t.Fatalf("ready while storage refuses writes: %v", err)
	}
	refusing = nil
	if err := h.ready(); err != nil {
		t.Fatalf("ready after: %v", err)
	}
}
