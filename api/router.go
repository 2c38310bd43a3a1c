package api

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/VictoriaMetrics/metrics"
	"github.com/valyala/fasthttp"
)

// Access says who may call a route when Options.AuthToken is set.
type Access int

const (
	// AccessRead routes need the token only with Options.RequireAuthForReads.
	AccessRead Access = iota
	// AccessWrite routes change state and always need the token when one is set.
	AccessWrite
	// AccessPublic routes (health checks) never need the token.
	AccessPublic
)

// route is one registered handler. Its pattern is either a literal path or
// has "{name}" segments, and a final "{name...}" segment that takes the rest.
type route struct {
	method  string
	pattern string
	segs    []string // nil for a literal pattern
	access  Access
	h       fasthttp.RequestHandler

	requests sync.Map // status code (int) -> *metrics.Counter
	duration *metrics.PrometheusHistogram
}

// routeTable is immutable once published; Handle swaps in a copy, so lookups
// take no lock.
type routeTable struct {
	exact    map[string][]*route
	patterns []*route
}

type router struct {
	mu    sync.Mutex // serialises writers
	table atomic.Pointer[routeTable]
}

func (rt *router) add(r *route) error {
	if !strings.HasPrefix(r.pattern, "/") {
		return fmt.Errorf("api: route pattern %q does not start with /", r.pattern)
	}
	if strings.Contains(r.pattern, "{") {
		r.segs = strings.Split(r.pattern[1:], "/")
		for i, s := range r.segs {
			if !strings.HasPrefix(s, "{") {
				continue
			}
			if !strings.HasSuffix(s, "}") || len(s) < 3 {
				return fmt.Errorf("api: route pattern %q: bad segment %q", r.pattern, s)
			}
			if strings.HasSuffix(s, "...}") && i != len(r.segs)-1 {
				return fmt.Errorf("api: route pattern %q: %q must be the last segment", r.pattern, s)
			}
		}
	}
	rt.mu.Lock()
	defer rt.mu.Unlock()
	old := rt.table.Load()
	next := &routeTable{exact: map[string][]*route{}}
	if old != nil {
		for k, v := range old.exact {
			next.exact[k] = slices.Clone(v)
		}
		next.patterns = slices.Clone(old.patterns)
	}
	conflict := func(rs []*route) bool {
		return slices.ContainsFunc(rs, func(o *route) bool {
			return o.method == r.method && o.pattern == r.pattern
		})
	}
	if r.segs == nil {
		if conflict(next.exact[r.pattern]) {
			return fmt.Errorf("api: route %s %s registered twice", r.method, r.pattern)
		}
		next.exact[r.pattern] = append(next.exact[r.pattern], r)
	} else {
		if conflict(next.patterns) {
			return fmt.Errorf("api: route %s %s registered twice", r.method, r.pattern)
		}
		next.patterns = append(next.patterns, r)
	}
	rt.table.Store(next)
	return nil
}

// replace swaps the handler of the route registered for method and pattern, keeping
// its access class and metrics. Like add it publishes a copy, so a request being
// routed sees either the old handler or the new one.
func (rt *router) replace(method, pattern string, h fasthttp.RequestHandler) error {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	old := rt.table.Load()
	if old == nil {
		return fmt.Errorf("api: route %s %s is not registered", method, pattern)
	}
	next := &routeTable{exact: map[string][]*route{}, patterns: slices.Clone(old.patterns)}
	for k, v := range old.exact {
		next.exact[k] = slices.Clone(v)
	}
	swap := func(rs []*route) bool {
		for i, r := range rs {
			if r.method == method && r.pattern == pattern {
				rs[i] = &route{method: r.method, pattern: r.pattern, segs: r.segs, access: r.access, h: h, duration: r.duration}
				return true
			}
		}
		return false
	}
	if !swap(next.exact[pattern]) && !swap(next.patterns) {
		return fmt.Errorf("api: route %s %s is not registered", method, pattern)
	}
	rt.table.Store(next)
	return nil
}

// lookup finds the route for method and path. When the path is known but
// not for this method it returns nil and the methods that are allowed.
// Pattern parameters are stored in ctx's user values.
func (rt *router) lookup(ctx *fasthttp.RequestCtx, method, path string) (*route, []string) {
	t := rt.table.Load()
	if t == nil {
		return nil, nil
	}
	var allowed []string
	if rs, ok := t.exact[path]; ok {
		for _, r := range rs {
			if r.method == method {
				return r, nil
			}
			allowed = append(allowed, r.method)
		}
	}
	for _, r := range t.patterns {
		params, ok := matchSegments(r.segs, path)
		if !ok {
			continue
		}
		if r.method != method {
			allowed = append(allowed, r.method)
			continue
		}
		for i := 0; i+1 < len(params); i += 2 {
			ctx.SetUserValue(params[i], params[i+1])
		}
		return r, nil
	}
	return nil, allowed
}

// matchSegments matches path against pattern segments and returns the
// parameters as name, value pairs.
func matchSegments(segs []string, path string) ([]string, bool) {
	if !strings.HasPrefix(path, "/") {
		return nil, false
	}
	rest := path[1:]
	var params []string
	for i, s := range segs {
		if strings.HasSuffix(s, "...}") {
			if rest == "" {
				return nil, false
			}
			return append(params, s[1:len(s)-4], rest), true
		}
		part, tail, more := strings.Cut(rest, "/")
		if more == (i == len(segs)-1) {
			return nil, false // too many or too few segments
		}
		rest = tail
		if strings.HasPrefix(s, "{") {
			if part == "" {
				return nil, false
			}
			params = append(params, s[1:len(s)-1], part)
		} else if part != s {
			return nil, false
		}
	}
	return params, true
}

// PathParam returns the value of the "{name}" segment of the route that
// matched ctx's request, or "" when there is none.
func PathParam(ctx *fasthttp.RequestCtx, name string) string {
	v, _ := ctx.UserValue(name).(string)
	return v
}
