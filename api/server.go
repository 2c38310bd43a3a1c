// Package api is Ward's HTTP server: the Prometheus-compatible query API
// (so Grafana, promtool and Prometheus API clients work unchanged), statsd
// ingest over HTTP, health checks and /metrics. Later features mount their
// routes with Server.Handle. It is the only package besides ui that uses
// fasthttp, and it reads storage only through the storage.Queryable and
// functions given in Options.
package api

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/valyala/fasthttp"
)

// ErrServing is returned by Serve when the server already serves.
var ErrServing = errors.New("api: server is already serving")

// Server serves Ward's HTTP API. Build it with New, mount extra routes with
// Handle, then run it with Serve.
type Server struct {
	opts    Options
	engine  *promql.Engine
	parser  parser.Parser
	routes  router
	slots   chan struct{}
	m       *serverMetrics
	handler fasthttp.RequestHandler
	http    *fasthttp.Server
	started time.Time
	bufs    sync.Pool // *[]byte response buffers
	serving atomic.Bool
	// tokenSum is the SHA-256 of Options.AuthToken.
	tokenSum [sha256.Size]byte

	// baseCtx parents every query; cancelling it aborts the queries still
	// running when a graceful shutdown runs out of time.
	baseCtx    context.Context
	cancelBase context.CancelFunc
}

// New builds a server with the Prometheus API and health routes mounted.
// It starts nothing.
func New(opts Options) (*Server, error) {
	opts = opts.EnsureDefaults()
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	s := &Server{
		opts:     opts,
		engine:   newEngine(opts),
		parser:   parser.NewParser(parser.Options{}),
		slots:    make(chan struct{}, opts.MaxConcurrent),
		m:        newServerMetrics(opts.Metrics, opts.MaxConcurrent),
		started:  time.Now().UTC(),
		tokenSum: sha256.Sum256([]byte(opts.AuthToken)),
	}
	s.baseCtx, s.cancelBase = context.WithCancel(context.Background())
	s.handler = s.serveHTTP
	if !opts.DisableCompression {
		s.handler = fasthttp.CompressHandlerLevel(s.handler, fasthttp.CompressBestSpeed)
	}
	s.http = &fasthttp.Server{
		Handler:            s.handler,
		Name:               "ward",
		Logger:             fasthttpLogger{opts.Logger},
		ReadBufferSize:     opts.MaxHeaderBytes,
		MaxRequestBodySize: opts.MaxBodyBytes,
		ReadTimeout:        opts.ReadTimeout,
		// A response is written after its query: leave the query its timeout.
		WriteTimeout:    opts.Timeout + defaultWriteTimeoutPadding,
		IdleTimeout:     opts.IdleTimeout,
		CloseOnShutdown: true,
		ErrorHandler:    requestErrorHandler,
		// fasthttp's worker-pool janitor looks for the stop signal only
		// between sleeps of this length: keep it short so that no goroutine
		// outlives Serve by more than a moment.
		MaxIdleWorkerDuration: time.Second,
	}
	if err := s.mountDefaults(); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *Server) mountDefaults() error {
	type r struct {
		methods string
		path    string
		access  Access
		h       fasthttp.RequestHandler
	}
	routes := []r{
		{"GET POST", "/api/v1/query", AccessRead, s.handleQuery},
		{"GET POST", "/api/v1/query_range", AccessRead, s.handleQueryRange},
		{"GET POST", "/api/v1/series", AccessRead, s.handleSeries},
		{"GET POST", "/api/v1/labels", AccessRead, s.handleLabelNames},
		{"GET", "/api/v1/label/{name}/values", AccessRead, s.handleLabelValues},
		{"GET", "/api/v1/metadata", AccessRead, s.handleMetadata},
		{"GET POST", "/api/v1/query_exemplars", AccessRead, s.handleExemplars},
		{"GET POST", "/api/v1/format_query", AccessRead, s.handleFormatQuery},
		{"GET", "/api/v1/status/buildinfo", AccessRead, s.handleBuildInfo},
		{"GET", "/api/v1/status/runtimeinfo", AccessRead, s.handleRuntimeInfo},
		{"GET", "/api/v1/status/config", AccessRead, s.handleConfig},
		{"GET", "/api/v1/status/flags", AccessRead, s.handleFlags},
		{"GET", "/metrics", AccessRead, s.handleMetrics},
		{"GET HEAD", "/-/healthy", AccessPublic, s.handleHealthy},
		{"GET HEAD", "/-/ready", AccessPublic, s.handleReady},
	}
	if s.opts.IngestStatsd != nil {
		routes = append(routes, r{"POST", "/api/v1/statsd", AccessWrite, s.handleStatsd})
	}
	if s.opts.IngestErrors != nil {
		routes = append(routes, r{"GET", "/api/v1/ingest/errors", AccessRead, s.handleIngestErrors})
	}
	for _, rt := range routes {
		for _, m := range strings.Fields(rt.methods) {
			if err := s.handle(m, rt.path, rt.access, rt.h); err != nil {
				return err
			}
		}
	}
	return nil
}

// Handle mounts h for method and path. GET and HEAD routes are reads; any
// other method changes state and needs Options.AuthToken when one is set.
// A path may hold "{name}" segments and end with "{name...}"; PathParam
// reads them. Handle panics on a malformed or duplicate route, as
// http.ServeMux does. h must not keep ctx after it returns.
func (s *Server) Handle(method, path string, h fasthttp.RequestHandler) {
	access := AccessWrite
	if method == fasthttp.MethodGet || method == fasthttp.MethodHead {
		access = AccessRead
	}
	s.HandleAccess(method, path, access, h)
}

// HandleAccess is Handle with an explicit access class, for reads over POST
// and for public endpoints.
func (s *Server) HandleAccess(method, path string, access Access, h fasthttp.RequestHandler) {
	if err := s.handle(method, path, access, h); err != nil {
		panic(err)
	}
}

func (s *Server) handle(method, path string, access Access, h fasthttp.RequestHandler) error {
	if method == "" || h == nil {
		return fmt.Errorf("api: route %q needs a method and a handler", path)
	}
	r := &route{method: method, pattern: path, access: access, h: h}
	if err := s.routes.add(r); err != nil {
		return err
	}
	s.m.instrumentRoute(r)
	return nil
}

// Handler returns the server's request handler (routing, auth, metrics and
// compression), for serving it with another fasthttp.Server.
func (s *Server) Handler() fasthttp.RequestHandler { return s.handler }

// Serve answers requests on ln until ctx is cancelled, then shuts down:
// it stops accepting, lets in-flight requests finish for
// Options.ShutdownTimeout, cancels the queries still running and waits for
// them. It closes ln. A server serves once.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	if !s.serving.CompareAndSwap(false, true) {
		return ErrServing
	}
	errc := make(chan error, 1)
	go func() { errc <- s.http.Serve(ln) }()

	select {
	case err := <-errc:
		s.cancelBase()
		if err != nil {
			return fmt.Errorf("api: serve %s: %w", ln.Addr(), err)
		}
		return nil
	case <-ctx.Done():
	}
	grace, cancel := context.WithTimeout(context.Background(), s.opts.ShutdownTimeout)
	err := s.http.ShutdownWithContext(grace)
	cancel()
	if err != nil {
		// Out of patience: abort running queries, then wait for the handlers
		// to notice, which they do at the engine's next cancellation check.
		s.cancelBase()
		final, cancel := context.WithTimeout(context.Background(), s.opts.ShutdownTimeout)
		err = s.http.ShutdownWithContext(final)
		cancel()
	}
	s.cancelBase()
	serveErr := <-errc
	if err != nil {
		return fmt.Errorf("api: shut down %s: %w", ln.Addr(), err)
	}
	if serveErr != nil && !errors.Is(serveErr, net.ErrClosed) {
		return fmt.Errorf("api: serve %s: %w", ln.Addr(), serveErr)
	}
	return nil
}

// serveHTTP routes one request through auth and metrics to its handler.
func (s *Server) serveHTTP(ctx *fasthttp.RequestCtx) {
	began := time.Now()
	r, allowed := s.routes.lookup(ctx, string(ctx.Method()), string(ctx.Path()))
	if r == nil {
		s.notRouted(ctx, allowed)
		s.m.observeUnrouted(ctx)
		return
	}
	defer func() {
		if p := recover(); p != nil {
			s.m.panics.Inc()
			s.opts.Logger.Error("api: handler panicked", "method", r.method, "path", r.pattern, "panic", p)
			ctx.ResetBody()
			respondError(ctx, &apiError{ErrInternal, fmt.Errorf("internal error handling %s %s", r.method, r.pattern)})
		}
		s.m.observe(r, ctx.Response.StatusCode(), began)
	}()
	if !s.authorized(ctx, r.access) {
		s.m.authFailures.Inc()
		ctx.Response.Header.Set("WWW-Authenticate", `Bearer realm="ward"`)
		respondError(ctx, &apiError{ErrUnauthorized, errors.New("missing or wrong bearer token")})
		return
	}
	r.h(ctx)
}

func (s *Server) notRouted(ctx *fasthttp.RequestCtx, allowed []string) {
	if len(allowed) > 0 {
		ctx.Response.Header.Set("Allow", strings.Join(allowed, ", "))
		ctx.SetStatusCode(fasthttp.StatusMethodNotAllowed)
		ctx.SetBodyString("405 method not allowed\n")
		return
	}
	if strings.HasPrefix(string(ctx.Path()), "/api/") {
		respondError(ctx, &apiError{ErrNotFound, fmt.Errorf("unknown API endpoint %s", ctx.Path())})
		return
	}
	ctx.SetStatusCode(fasthttp.StatusNotFound)
	ctx.SetBodyString("404 page not found\n")
}

// authorized checks the bearer token in constant time.
func (s *Server) authorized(ctx *fasthttp.RequestCtx, access Access) bool {
	if s.opts.AuthToken == "" || access == AccessPublic ||
		(access == AccessRead && !s.opts.RequireAuthForReads) {
		return true
	}
	const prefix = "Bearer "
	h := ctx.Request.Header.Peek(fasthttp.HeaderAuthorization)
	if len(h) < len(prefix) || !strings.EqualFold(string(h[:len(prefix)]), prefix) {
		return false
	}
	// Comparing digests keeps the token's length out of the timing too.
	got := sha256.Sum256(h[len(prefix):])
	return subtle.ConstantTimeCompare(got[:], s.tokenSum[:]) == 1
}

func (s *Server) getBuf() *[]byte {
	if b, ok := s.bufs.Get().(*[]byte); ok {
		return b
	}
	b := make([]byte, 0, 4096)
	return &b
}

// maxPooledBuf keeps one huge range result from pinning its memory.
const maxPooledBuf = 4 << 20

func (s *Server) putBuf(b *[]byte) {
	if cap(*b) > maxPooledBuf {
		return
	}
	*b = (*b)[:0]
	s.bufs.Put(b)
}

// requestErrorHandler answers requests fasthttp could not read, with the
// status codes net/http would use.
func requestErrorHandler(ctx *fasthttp.RequestCtx, err error) {
	var (
		small  *fasthttp.ErrSmallBuffer
		netErr net.Error
	)
	switch {
	case errors.Is(err, fasthttp.ErrBodyTooLarge):
		ctx.Error("request body too large", fasthttp.StatusRequestEntityTooLarge)
	case errors.As(err, &small):
		ctx.Error("request header too large", fasthttp.StatusRequestHeaderFieldsTooLarge)
	case errors.As(err, &netErr) && netErr.Timeout():
		ctx.Error("request timeout", fasthttp.StatusRequestTimeout)
	default:
		ctx.Error("malformed request: "+err.Error(), fasthttp.StatusBadRequest)
	}
}

// fasthttpLogger sends fasthttp's own messages to slog.
type fasthttpLogger struct{ l *slog.Logger }

func (f fasthttpLogger) Printf(format string, args ...any) {
	f.l.Warn("fasthttp: " + fmt.Sprintf(format, args...))
}
