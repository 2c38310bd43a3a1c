package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

// Engine names, as they appear in the bench lines.
const (
	engWard = "ward"
	engProm = "prometheus"
	engVM   = "victoriametrics"
	// engWardNoSync is Ward with Options.Sync = SyncNone, append phase
	// only: the peers do not fsync each batch either.
	engWardNoSync = "ward-nosync"
	// engWardYear is Ward on the year-long data set (rollup queries).
	engWardYear = "ward-year"
)

// spec tells a child process what to run. The parent writes it as JSON and
// passes its path, so that each engine runs in a process of its own and its
// peak memory is its own.
type spec struct {
	Engine     string  `json:"engine"`
	Data       dataset `json:"data"`
	Dir        string  `json:"dir"`
	Result     string  `json:"result"`
	Reps       int     `json:"reps"`
	Query      string  `json:"query"`
	ProfileDir string  `json:"profile_dir,omitempty"`
	WardSync   string  `json:"ward_sync"`
	// AppendOnly stops after the append and finalize phases.
	AppendOnly bool `json:"append_only"`
	// Year shapes the ward-year run.
	Year yearSpec `json:"year"`
}

// yearSpec is the long data set for rollup queries: a few hosts (50 series
// each) over many days, generated on the fly (its append speed is not a
// reported figure).
type yearSpec struct {
	Hosts      int           `json:"hosts"`
	Step       time.Duration `json:"step"`
	Days       int           `json:"days"`
	RecentDays int           `json:"recent_days"`
	Query      string        `json:"query"`
	RecentQ    string        `json:"recent_query"`
}

// queryResult is one timed query and a digest of its answer, so that the
// parent can check that Ward and Prometheus answered the same.
type queryResult struct {
	Ms     float64  `json:"ms"`
	Series int      `json:"series"`
	Points checksum `json:"points"`
}

// result is what a child reports.
type result struct {
	Engine          string                 `json:"engine"`
	Appended        int64                  `json:"appended"`
	AppendSeconds   float64                `json:"append_seconds"`
	FinalizeSeconds float64                `json:"finalize_seconds"`
	Disk            diskUsage              `json:"disk"`
	OpenSeconds     float64                `json:"open_seconds"`
	Read            checksum               `json:"read"`
	ReadSeconds     float64                `json:"read_seconds"`
	PeakHeap        uint64                 `json:"peak_heap"`
	PeakRSS         uint64                 `json:"peak_rss"`
	Queries         map[string]queryResult `json:"queries,omitempty"`
	Extra           map[string]float64     `json:"extra,omitempty"`
	Notes           []string               `json:"notes,omitempty"`
}

func (r *result) note(format string, args ...any) {
	r.Notes = append(r.Notes, fmt.Sprintf(format, args...))
}

// runChild runs the program itself as a child for sp and returns its result.
// The child's stderr (engine logs, progress) passes through.
func runChild(ctx context.Context, sp spec) (result, error) {
	var res result
	self, err := os.Executable()
	if err != nil {
		return res, fmt.Errorf("find own executable: %w", err)
	}
	specFile := filepath.Join(filepath.Dir(sp.Result), sp.Engine+"-spec.json")
	b, err := json.Marshal(sp)
	if err != nil {
		return res, err
	}
	if err := os.WriteFile(specFile, b, 0o644); err != nil {
		return res, fmt.Errorf("write child spec: %w", err)
	}
	cmd := exec.CommandContext(ctx, self, "-child", specFile)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return res, fmt.Errorf("child %s: %w", sp.Engine, err)
	}
	b, err = os.ReadFile(sp.Result)
	if err != nil {
		return res, fmt.Errorf("read result of child %s: %w", sp.Engine, err)
	}
	if err := json.Unmarshal(b, &res); err != nil {
		return res, fmt.Errorf("decode result of child %s: %w", sp.Engine, err)
	}
	return res, nil
}

// childMain is the child's side: run the engine named in the spec file and
// write the result file.
func childMain(specFile string) error {
	b, err := os.ReadFile(specFile)
	if err != nil {
		return fmt.Errorf("read spec: %w", err)
	}
	var sp spec
	if err := json.Unmarshal(b, &sp); err != nil {
		return fmt.Errorf("decode spec %s: %w", specFile, err)
	}
	heap := startHeapSampler(10 * time.Millisecond)
	var res result
	switch sp.Engine {
	case engWard:
		res, err = runDay(sp, &wardEngine{sync: sp.WardSync})
	case engProm:
		res, err = runDay(sp, &promEngine{})
	case engVM:
		res, err = runDay(sp, &vmEngine{})
	case engWardNoSync:
		sp.AppendOnly = true
		res, err = runDay(sp, &wardEngine{sync: "none"})
	case engWardYear:
		res, err = runYear(sp)
	default:
		err = fmt.Errorf("unknown engine %q", sp.Engine)
	}
	res.PeakHeap = heap.close()
	if err != nil {
		return fmt.Errorf("%s: %w", sp.Engine, err)
	}
	if res.PeakRSS, err = maxRSS(); err != nil {
		return err
	}
	res.Engine = sp.Engine
	if b, err = json.MarshalIndent(res, "", "  "); err != nil {
		return err
	}
	return os.WriteFile(sp.Result, b, 0o644)
}

// logf reports progress on stderr: runs take minutes.
func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "tsdbcompare: "+format+"\n", args...)
}
