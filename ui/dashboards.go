package ui

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/valyala/fasthttp"

	"github.com/wardmetrics/ward/api"
)

// Store is where dashboards are saved; the daemon gives a namespace of the
// storage engine's key-value store (tsdb.KV satisfies it).
type Store interface {
	Get(key []byte) ([]byte, bool, error)
	Put(key, val []byte) error
	Delete(key []byte) error
	Scan(prefix []byte, fn func(k, v []byte) error) error
}

// Dashboard is a saved set of graphs.
type Dashboard struct {
	ID     string  `json:"id"`
	Title  string  `json:"title"`
	Panels []Panel `json:"panels"`
	// Builtin marks a dashboard Ward ships. Saving one under its id stores a
	// copy that replaces it; deleting that copy brings the shipped one back.
	Builtin bool `json:"builtin,omitempty"`
}

// Panel is one graph of a dashboard.
type Panel struct {
	Title string `json:"title"`
	Expr  string `json:"expr"`
	Unit  string `json:"unit,omitempty"`
}

// Limits of a dashboard, so that one PUT cannot store megabytes.
const (
	maxPanels   = 64
	maxTitleLen = 200
	maxExprLen  = 4096
	maxBodySize = 256 << 10
)

var validID = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,63}$`)

const dashboardPrefix = "d/"

// decodeDashboard parses and validates a dashboard saved under id.
func decodeDashboard(id string, b []byte) (Dashboard, error) {
	var d Dashboard
	if !validID.MatchString(id) {
		return d, fmt.Errorf("dashboard id %q: want 1-64 of a-z, 0-9, _ and -, starting with a letter or digit", id)
	}
	if len(b) > maxBodySize {
		return d, fmt.Errorf("dashboard %s: %d bytes, the maximum is %d", id, len(b), maxBodySize)
	}
	if err := json.Unmarshal(b, &d); err != nil {
		return d, fmt.Errorf("dashboard %s: decode JSON: %w", id, err)
	}
	d.ID, d.Builtin = id, false
	d.Title = strings.TrimSpace(d.Title)
	if d.Title == "" || len(d.Title) > maxTitleLen {
		return d, fmt.Errorf("dashboard %s: title must have 1 to %d bytes", id, maxTitleLen)
	}
	if len(d.Panels) > maxPanels {
		return d, fmt.Errorf("dashboard %s: %d panels, the maximum is %d", id, len(d.Panels), maxPanels)
	}
	for i, p := range d.Panels {
		if strings.TrimSpace(p.Expr) == "" || len(p.Expr) > maxExprLen {
			return d, fmt.Errorf("dashboard %s: panel %d: expression must have 1 to %d bytes", id, i+1, maxExprLen)
		}
		if len(p.Title) > maxTitleLen || len(p.Unit) > maxTitleLen {
			return d, fmt.Errorf("dashboard %s: panel %d: title or unit longer than %d bytes", id, i+1, maxTitleLen)
		}
	}
	if d.Panels == nil {
		d.Panels = []Panel{}
	}
	return d, nil
}

// Dashboards serves /api/v1/dashboards over a Store.
type Dashboards struct {
	store Store
}

// NewDashboards returns the dashboards API over s.
func NewDashboards(s Store) *Dashboards { return &Dashboards{store: s} }

// Mount serves GET /api/v1/dashboards (all, shipped ones included),
// GET, PUT and DELETE /api/v1/dashboards/{id}.
func (d *Dashboards) Mount(r Router) {
	r.HandleAccess(fasthttp.MethodGet, "/api/v1/dashboards", api.AccessRead, d.list)
	r.HandleAccess(fasthttp.MethodGet, "/api/v1/dashboards/{id}", api.AccessRead, d.get)
	r.HandleAccess(fasthttp.MethodPut, "/api/v1/dashboards/{id}", api.AccessWrite, d.put)
	r.HandleAccess(fasthttp.MethodDelete, "/api/v1/dashboards/{id}", api.AccessWrite, d.delete)
}

// All returns the saved dashboards and the shipped ones not replaced, by title.
func (d *Dashboards) All() ([]Dashboard, error) {
	var out []Dashboard
	seen := map[string]bool{}
	err := d.store.Scan([]byte(dashboardPrefix), func(k, v []byte) error {
		id := strings.TrimPrefix(string(k), dashboardPrefix)
		db, err := decodeDashboard(id, v)
		if err != nil {
			return fmt.Errorf("stored %w", err)
		}
		seen[id] = true
		out = append(out, db)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list dashboards: %w", err)
	}
	for _, b := range Builtin() {
		if !seen[b.ID] {
			out = append(out, b)
		}
	}
	slices.SortFunc(out, func(a, b Dashboard) int { return strings.Compare(a.Title, b.Title) })
	return out, nil
}

// errNoDashboard is returned by Get for an unknown id.
var errNoDashboard = errors.New("ui: no such dashboard")

// Get returns the dashboard id, saved or shipped.
func (d *Dashboards) Get(id string) (Dashboard, error) {
	v, ok, err := d.store.Get([]byte(dashboardPrefix + id))
	if err != nil {
		return Dashboard{}, fmt.Errorf("read dashboard %s: %w", id, err)
	}
	if ok {
		return decodeDashboard(id, v)
	}
	for _, b := range Builtin() {
		if b.ID == id {
			return b, nil
		}
	}
	return Dashboard{}, fmt.Errorf("dashboard %q: %w", id, errNoDashboard)
}

func (d *Dashboards) list(ctx *fasthttp.RequestCtx) {
	all, err := d.All()
	if err != nil {
		respond(ctx, fasthttp.StatusInternalServerError, nil, err)
		return
	}
	respond(ctx, fasthttp.StatusOK, all, nil)
}

func (d *Dashboards) get(ctx *fasthttp.RequestCtx) {
	db, err := d.Get(api.PathParam(ctx, "id"))
	switch {
	case errors.Is(err, errNoDashboard):
		respond(ctx, fasthttp.StatusNotFound, nil, err)
	case err != nil:
		respond(ctx, fasthttp.StatusInternalServerError, nil, err)
	default:
		respond(ctx, fasthttp.StatusOK, db, nil)
	}
}

func (d *Dashboards) put(ctx *fasthttp.RequestCtx) {
	id := api.PathParam(ctx, "id")
	db, err := decodeDashboard(id, ctx.PostBody())
	if err != nil {
		respond(ctx, fasthttp.StatusBadRequest, nil, err)
		return
	}
	b, err := json.Marshal(db)
	if err == nil {
		err = d.store.Put([]byte(dashboardPrefix+id), b)
	}
	if err != nil {
		respond(ctx, fasthttp.StatusInternalServerError, nil, fmt.Errorf("save dashboard %s: %w", id, err))
		return
	}
	respond(ctx, fasthttp.StatusOK, db, nil)
}

func (d *Dashboards) delete(ctx *fasthttp.RequestCtx) {
	id := api.PathParam(ctx, "id")
	if !validID.MatchString(id) {
		respond(ctx, fasthttp.StatusBadRequest, nil, fmt.Errorf("dashboard id %q is not valid", id))
		return
	}
	if err := d.store.Delete([]byte(dashboardPrefix + id)); err != nil {
		respond(ctx, fasthttp.StatusInternalServerError, nil, fmt.Errorf("delete dashboard %s: %w", id, err))
		return
	}
	respond(ctx, fasthttp.StatusOK, map[string]string{"deleted": id}, nil)
}

// respond writes the API's envelope: {"status":"success","data":...} or
// {"status":"error","errorType":...,"error":...}.
func respond(ctx *fasthttp.RequestCtx, code int, data any, err error) {
	ctx.SetContentType("application/json")
	ctx.SetStatusCode(code)
	var env any
	if err != nil {
		typ := "internal"
		switch code {
		case fasthttp.StatusBadRequest:
			typ = "bad_data"
		case fasthttp.StatusNotFound:
			typ = "not_found"
		}
		env = map[string]string{"status": "error", "errorType": typ, "error": err.Error()}
	} else {
		env = map[string]any{"status": "success", "data": data}
	}
	b, merr := json.Marshal(env)
	if merr != nil {
		ctx.SetStatusCode(fasthttp.StatusInternalServerError)
		b = []byte(`{"status":"error","errorType":"internal","error":"encode response"}`)
	}
	ctx.SetBody(b)
}
