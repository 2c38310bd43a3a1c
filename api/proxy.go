package api

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/valyala/fasthttp"
)

// DefaultProxyMaxResponseBytes bounds one proxied answer: a range query over many
// series can be large, but an answer past this would not fit a browser or Grafana.
const DefaultProxyMaxResponseBytes = 256 << 20

// ProxyOptions configure Server.ProxyQueries. The zero value of each field means its
// default.
type ProxyOptions struct {
	// Timeout bounds one proxied request, waiting for a query slot included
	// (default Options.Timeout). The remote applies its own limits on top.
	Timeout time.Duration
	// MaxResponseBytes bounds the body read from the remote (default
	// DefaultProxyMaxResponseBytes); a longer answer is refused with 422.
	MaxResponseBytes int64
	// HTTPClient sends the requests; nil means a client of its own, whose idle
	// connections are closed when Serve returns. Its Timeout, if any, applies
	// besides Timeout.
	HTTPClient *http.Client
}

// proxiedReads are the read endpoints that ProxyQueries serves from the remote: the
// ones that read samples or series. Metadata, format_query and the status pages
// stay local.
var proxiedReads = []struct{ methods, path string }{
	{"GET POST", "/api/v1/query"},
	{"GET POST", "/api/v1/query_range"},
	{"GET POST", "/api/v1/series"},
	{"GET POST", "/api/v1/labels"},
	{"GET", "/api/v1/label/{name}/values"},
}

// queryProxy forwards Prometheus API reads to a remote endpoint.
type queryProxy struct {
	s       *Server
	base    *url.URL
	hc      *http.Client
	timeout time.Duration
	max     int64
}

// ProxyQueries serves /api/v1/query, query_range, series, labels and
// label/<name>/values from the Prometheus-compatible endpoint at baseURL (the URL
// under which its /api/v1/query answers, as for `--query-url`) instead of
// Options.Queryable: for a node that writes its samples only to a cluster TSDB, the
// cluster is where they are. The request's parameters go unchanged to the remote's
// same path, and its status code, content type and body come back unchanged, so the
// answers are exactly the remote's. A remote that cannot be reached is answered with
// 503 and errorType "unavailable". Proxied requests share MaxConcurrent's slots with
// local queries. Call it before Serve.
func (s *Server) ProxyQueries(baseURL string, o ProxyOptions) error {
	u, err := url.Parse(baseURL)
	if err != nil {
		return fmt.Errorf("api: proxy URL %q: %w", baseURL, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("api: proxy URL %q: want http(s)://host[:port][/path]", baseURL)
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	u.RawQuery, u.Fragment = "", ""
	if o.Timeout <= 0 {
		o.Timeout = s.opts.Timeout
	}
	if o.MaxResponseBytes <= 0 {
		o.MaxResponseBytes = DefaultProxyMaxResponseBytes
	}
	hc := o.HTTPClient
	if hc == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		hc = &http.Client{Transport: tr}
		// The kept-alive connections to the remote end with the server: Serve
		// cancels baseCtx once the last request has been answered.
		context.AfterFunc(s.baseCtx, tr.CloseIdleConnections)
	}
	p := &queryProxy{s: s, base: u, hc: hc, timeout: o.Timeout, max: o.MaxResponseBytes}
	for _, r := range proxiedReads {
		for _, m := range strings.Fields(r.methods) {
			if err := s.routes.replace(m, r.path, p.serve); err != nil {
				return err
			}
		}
	}
	return nil
}

// target is the remote URL of the request: the base URL's path joined with the
// request's path (the label name escaped again), and the request's query string.
func (p *queryProxy) target(rc *fasthttp.RequestCtx) string {
	path := string(rc.Path()) // a literal route's pattern
	if name := PathParam(rc, "name"); name != "" {
		path = "/api/v1/label/" + url.PathEscape(name) + "/values"
	}
	u := *p.base
	u.RawPath = p.base.EscapedPath() + path
	u.Path, _ = url.PathUnescape(u.RawPath) // both parts are valid escapings
	u.RawQuery = string(rc.URI().QueryString())
	return u.String()
}

func (p *queryProxy) serve(rc *fasthttp.RequestCtx) {
	ctx, cancel := context.WithTimeout(p.s.baseCtx, p.timeout)
	defer cancel()
	release, err := p.s.acquire(ctx)
	if err != nil {
		respondError(rc, queryError(err))
		return
	}
	defer release()

	method := string(rc.Method())
	var body io.Reader
	if method == fasthttp.MethodPost {
		// The body belongs to the request buffer: it is read before serve returns.
		body = strings.NewReader(string(rc.PostBody()))
	}
	target := p.target(rc)
	req, err := http.NewRequestWithContext(ctx, method, target, body)
	if err != nil {
		respondError(rc, &apiError{ErrInternal, fmt.Errorf("proxy %s: %w", rc.Path(), err)})
		return
	}
	if ct := rc.Request.Header.ContentType(); method == fasthttp.MethodPost && len(ct) > 0 {
		req.Header.Set("Content-Type", string(ct))
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "ward/"+p.s.opts.Version)

	resp, err := p.hc.Do(req)
	if err != nil {
		respondError(rc, p.transportError(rc, err))
		return
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, p.max+1))
	if err != nil {
		respondError(rc, p.transportError(rc, err))
		return
	}
	if int64(len(b)) > p.max {
		respondError(rc, &apiError{ErrExecution, fmt.Errorf("remote answer to %s is larger than %d bytes: narrow the query", rc.Path(), p.max)})
		return
	}
	if ct := resp.Header.Get("Content-Type"); ct != "" {
		rc.Response.Header.SetContentType(ct)
	}
	rc.SetStatusCode(resp.StatusCode)
	rc.SetBody(b)
}

// transportError classifies a failure to reach the remote or to read its answer. The
// remote's address is named, not the full URL, which may carry credentials.
func (p *queryProxy) transportError(rc *fasthttp.RequestCtx, err error) *apiError {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err // drop the URL, which may hold credentials
	}
	err = fmt.Errorf("remote %s for %s: %w", p.base.Host, rc.Path(), err)
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return &apiError{ErrTimeout, err}
	case errors.Is(err, context.Canceled):
		return &apiError{ErrCanceled, err}
	}
	return &apiError{ErrUnavailable, err}
}
