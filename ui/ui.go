// Package ui is Ward's web app: plain HTML, CSS and JavaScript embedded in the
// binary with go:embed (no build step, no Node.js to build or run Ward), the
// handler that serves it at /, and the dashboards API the app saves into.
// Charts use uPlot, vendored into static/vendor from the version pinned in
// package-lock.json (`make ui-vendor`).
package ui

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"mime"
	"path"
	"strings"

	"github.com/valyala/fasthttp"

	"github.com/wardmetrics/ward/api"
)

//go:embed static
var files embed.FS

// Router is where the UI mounts its routes; *api.Server is one.
type Router interface {
	HandleAccess(method, path string, access api.Access, h fasthttp.RequestHandler)
}

// asset is one embedded file, ready to serve.
type asset struct {
	body  []byte
	ctype string
	etag  string
}

// UI serves the embedded app.
type UI struct {
	assets map[string]asset // by path under static/, e.g. "js/app.js"
}

// New loads the embedded files. It fails only if the binary was built without
// them.
func New() (*UI, error) {
	u := &UI{assets: map[string]asset{}}
	err := fs.WalkDir(files, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := files.ReadFile(p)
		if err != nil {
			return fmt.Errorf("read embedded %s: %w", p, err)
		}
		sum := sha256.Sum256(b)
		ctype := mime.TypeByExtension(path.Ext(p))
		if ctype == "" {
			ctype = "text/plain; charset=utf-8"
		}
		u.assets[strings.TrimPrefix(p, "static/")] = asset{body: b, ctype: ctype, etag: `"` + hex.EncodeToString(sum[:8]) + `"`}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("ui: load embedded files: %w", err)
	}
	if _, ok := u.assets["index.html"]; !ok {
		return nil, fmt.Errorf("ui: embedded files lack index.html")
	}
	return u, nil
}

// Mount serves the app at / and its files under /static/. They are public:
// the page holds no data, and the API calls it makes carry their own auth.
func (u *UI) Mount(r Router) {
	for _, m := range []string{fasthttp.MethodGet, fasthttp.MethodHead} {
		r.HandleAccess(m, "/", api.AccessPublic, u.serveIndex)
		r.HandleAccess(m, "/static/{file...}", api.AccessPublic, u.serveStatic)
	}
}

func (u *UI) serveIndex(ctx *fasthttp.RequestCtx) { u.serve(ctx, "index.html") }

func (u *UI) serveStatic(ctx *fasthttp.RequestCtx) { u.serve(ctx, api.PathParam(ctx, "file")) }

// contentSecurityPolicy keeps the page to its own scripts and its own API.
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; " +
	"img-src 'self' data:; connect-src 'self' ws: wss:; frame-ancestors 'none'"

func (u *UI) serve(ctx *fasthttp.RequestCtx, name string) {
	a, ok := u.assets[name]
	if !ok {
		ctx.Error("404 page not found\n", fasthttp.StatusNotFound)
		return
	}
	h := &ctx.Response.Header
	h.Set("ETag", a.etag)
	// Revalidate every time: the files change with the binary, and a 304 costs
	// a round trip of a few hundred bytes.
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Content-Type-Options", "nosniff")
	if name == "index.html" {
		h.Set("Content-Security-Policy", contentSecurityPolicy)
	}
	if string(ctx.Request.Header.Peek("If-None-Match")) == a.etag {
		ctx.SetStatusCode(fasthttp.StatusNotModified)
		return
	}
	ctx.SetContentType(a.ctype)
	ctx.SetBody(a.body)
}
