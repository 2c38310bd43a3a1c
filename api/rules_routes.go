package api

import (
	"fmt"

	"github.com/valyala/fasthttp"
)

// RulesSource is what the rules endpoints read and reload; the rules manager satisfies
// it through a small adapter in the daemon, so that api does not depend on rules' types.
type RulesSource interface {
	// Rules returns the data of /api/v1/rules (Prometheus' shape).
	Rules() any
	// Alerts returns the data of /api/v1/alerts (Prometheus' shape).
	Alerts() any
	// Checks returns the rows of /api/v1/checks (Ward's Nagios-like board).
	Checks() any
	// Reload re-reads the rule files; on error the old rules keep running.
	Reload() error
}

// MountRules serves the rule and alert APIs: GET /api/v1/rules, /api/v1/alerts and
// /api/v1/checks (as Grafana and Prometheus clients expect), and POST /-/reload, which
// changes state and so needs the token when one is set.
func (s *Server) MountRules(r RulesSource) {
	s.Handle(fasthttp.MethodGet, "/api/v1/rules", func(ctx *fasthttp.RequestCtx) { respondJSON(ctx, r.Rules()) })
	s.Handle(fasthttp.MethodGet, "/api/v1/alerts", func(ctx *fasthttp.RequestCtx) { respondJSON(ctx, r.Alerts()) })
	s.Handle(fasthttp.MethodGet, "/api/v1/checks", func(ctx *fasthttp.RequestCtx) { respondJSON(ctx, r.Checks()) })
	s.Handle(fasthttp.MethodPost, "/-/reload", func(ctx *fasthttp.RequestCtx) {
		if err := r.Reload(); err != nil {
			respondError(ctx, &apiError{ErrBadData, fmt.Errorf("reload rules: %w", err)})
			return
		}
		respondJSON(ctx, map[string]string{"reloaded": "ok"})
	})
}
