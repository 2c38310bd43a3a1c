package api

import (
	"os"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/valyala/fasthttp"
)

// metadataEntry is one element of /api/v1/metadata, shaped as Prometheus'
// model/metadata.Metadata.
type metadataEntry struct {
	Type string `json:"type"`
	Help string `json:"help"`
	Unit string `json:"unit"`
}

func (s *Server) handleMetadata(ctx *fasthttp.RequestCtx) {
	f := formOf(ctx)
	limit, limitPerMetric := -1, -1
	if v := f.value("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			respondError(ctx, badData("limit must be a number"))
			return
		}
		limit = n
	}
	if v := f.value("limit_per_metric"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			respondError(ctx, badData("limit_per_metric must be a number"))
			return
		}
		limitPerMetric = n
	}
	metric := f.value("metric")

	var all []Metadata
	if s.opts.Metadata != nil {
		all = s.opts.Metadata()
	}
	byName := map[string][]metadataEntry{}
	for _, m := range all {
		if metric != "" && m.MetricFamily != metric {
			continue
		}
		e := metadataEntry{Type: m.Type, Help: m.Help, Unit: m.Unit}
		cur := byName[m.MetricFamily]
		if slices.Contains(cur, e) || (limitPerMetric > 0 && len(cur) >= limitPerMetric) {
			continue
		}
		byName[m.MetricFamily] = append(cur, e)
	}
	// Prometheus stops at limit families in map order; sorting makes which
	// families survive a limit stable.
	if limit >= 0 && len(byName) > limit {
		names := make([]string, 0, len(byName))
		for n := range byName {
			names = append(names, n)
		}
		slices.Sort(names)
		for _, n := range names[limit:] {
			delete(byName, n)
		}
	}
	respondJSON(ctx, byName)
}

// BuildInfo is the data of /api/v1/status/buildinfo, shaped as Prometheus'.
type BuildInfo struct {
	Version   string `json:"version"`
	Revision  string `json:"revision"`
	Branch    string `json:"branch"`
	BuildUser string `json:"buildUser"`
	BuildDate string `json:"buildDate"`
	GoVersion string `json:"goVersion"`
}

func (s *Server) handleBuildInfo(ctx *fasthttp.RequestCtx) {
	respondJSON(ctx, BuildInfo{
		Version:   s.opts.Version,
		Revision:  s.opts.Revision,
		Branch:    s.opts.Branch,
		BuildUser: s.opts.BuildUser,
		BuildDate: s.opts.BuildDate,
		GoVersion: runtime.Version(),
	})
}

// runtimeInfo mirrors Prometheus' RuntimeInfo, minus the fields that have no
// meaning for Ward hard-wired to their healthy values.
type runtimeInfo struct {
	StartTime           time.Time `json:"startTime"`
	CWD                 string    `json:"CWD"`
	Hostname            string    `json:"hostname"`
	ServerTime          time.Time `json:"serverTime"`
	ReloadConfigSuccess bool      `json:"reloadConfigSuccess"`
	LastConfigTime      time.Time `json:"lastConfigTime"`
	CorruptionCount     int64     `json:"corruptionCount"`
	GoroutineCount      int       `json:"goroutineCount"`
	GOMAXPROCS          int       `json:"GOMAXPROCS"`
	GOMEMLIMIT          int64     `json:"GOMEMLIMIT"`
	GOGC                string    `json:"GOGC"`
	GODEBUG             string    `json:"GODEBUG"`
	StorageRetention    string    `json:"storageRetention"`
}

func (s *Server) handleRuntimeInfo(ctx *fasthttp.RequestCtx) {
	cwd, _ := os.Getwd()
	host, _ := os.Hostname()
	respondJSON(ctx, runtimeInfo{
		StartTime:           s.started,
		CWD:                 cwd,
		Hostname:            host,
		ServerTime:          time.Now().UTC(),
		ReloadConfigSuccess: true,
		LastConfigTime:      s.started,
		GoroutineCount:      runtime.NumGoroutine(),
		GOMAXPROCS:          runtime.GOMAXPROCS(0),
		GOMEMLIMIT:          debug.SetMemoryLimit(-1),
		GOGC:                os.Getenv("GOGC"),
		GODEBUG:             os.Getenv("GODEBUG"),
		StorageRetention:    s.opts.StorageRetention,
	})
}

func (s *Server) handleConfig(ctx *fasthttp.RequestCtx) {
	var y string
	if s.opts.ConfigYAML != nil {
		y = s.opts.ConfigYAML()
	}
	respondJSON(ctx, map[string]string{"yaml": y})
}

func (s *Server) handleFlags(ctx *fasthttp.RequestCtx) {
	respondJSON(ctx, map[string]string{})
}

// handleExemplars validates like Prometheus and answers an empty list:
// statsd carries no exemplars.
func (s *Server) handleExemplars(ctx *fasthttp.RequestCtx) {
	f := formOf(ctx)
	start, err := f.time("start", minTime)
	if err != nil {
		respondError(ctx, err)
		return
	}
	end, err := f.time("end", maxTime)
	if err != nil {
		respondError(ctx, err)
		return
	}
	if end.Before(start) {
		respondError(ctx, badData("end timestamp must not be before start timestamp"))
		return
	}
	if _, perr := s.parser.ParseExpr(f.value("query")); perr != nil {
		respondError(ctx, &apiError{ErrBadData, perr})
		return
	}
	writeJSON(ctx, []byte(`{"status":"success","data":[]}`))
}

func (s *Server) handleFormatQuery(ctx *fasthttp.RequestCtx) {
	expr, err := s.parser.ParseExpr(formOf(ctx).value("query"))
	if err != nil {
		respondError(ctx, invalidParam("query", err))
		return
	}
	respondJSON(ctx, expr.Pretty(0))
}

func (s *Server) handleHealthy(ctx *fasthttp.RequestCtx) {
	ctx.SetContentType("text/plain; charset=utf-8")
	ctx.SetBodyString("Ward is Healthy.\n")
}

func (s *Server) handleReady(ctx *fasthttp.RequestCtx) {
	ctx.SetContentType("text/plain; charset=utf-8")
	if s.opts.Ready != nil {
		if err := s.opts.Ready(); err != nil {
			ctx.SetStatusCode(fasthttp.StatusServiceUnavailable)
			ctx.SetBodyString("Ward is not ready: " + err.Error() + "\n")
			return
		}
	}
	ctx.SetBodyString("Ward is Ready.\n")
}

func (s *Server) handleMetrics(ctx *fasthttp.RequestCtx) {
	ctx.SetContentType("text/plain; version=0.0.4; charset=utf-8")
	s.opts.Metrics.WritePrometheus(ctx)
	metrics.WriteProcessMetrics(ctx)
}

func (s *Server) handleStatsd(ctx *fasthttp.RequestCtx) {
	respondJSON(ctx, s.opts.IngestStatsd(ctx.PostBody()))
}

func (s *Server) handleIngestErrors(ctx *fasthttp.RequestCtx) {
	respondJSON(ctx, s.opts.IngestErrors())
}
