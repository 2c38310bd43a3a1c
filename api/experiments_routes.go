package api

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/valyala/fasthttp"

	"github.com/wardmetrics/ward/experiment"
)

// MountExperiments serves the experiment system: definitions and their history,
// assignment (single and batch), exposures, events and results. Writes need the token
// when one is set; assignment is a read even though a first assignment records an
// exposure, because apps call it on every page view.
func (s *Server) MountExperiments(m *experiment.Manager) {
	s.Handle(fasthttp.MethodGet, "/api/v1/experiments", func(ctx *fasthttp.RequestCtx) {
		respondJSON(ctx, m.List())
	})
	s.Handle(fasthttp.MethodPost, "/api/v1/experiments", func(ctx *fasthttp.RequestCtx) {
		d, err := experiment.DecodeDefinition(ctx.PostBody())
		if err != nil {
			respondExperimentError(ctx, err)
			return
		}
		out, err := m.Create(d, who(ctx))
		if err != nil {
			respondExperimentError(ctx, err)
			return
		}
		respondJSON(ctx, out)
	})
	s.Handle(fasthttp.MethodGet, "/api/v1/experiments/{name}", func(ctx *fasthttp.RequestCtx) {
		out, err := m.Get(PathParam(ctx, "name"))
		if err != nil {
			respondExperimentError(ctx, err)
			return
		}
		respondJSON(ctx, out)
	})
	s.Handle(fasthttp.MethodPatch, "/api/v1/experiments/{name}", func(ctx *fasthttp.RequestCtx) {
		p, err := experiment.DecodePatch(ctx.PostBody())
		if err != nil {
			respondExperimentError(ctx, err)
			return
		}
		out, err := m.Update(PathParam(ctx, "name"), p, who(ctx))
		if err != nil {
			respondExperimentError(ctx, err)
			return
		}
		respondJSON(ctx, out)
	})
	s.Handle(fasthttp.MethodGet, "/api/v1/experiments/{name}/assign", func(ctx *fasthttp.RequestCtx) {
		args := ctx.QueryArgs()
		out, err := m.Assign(PathParam(ctx, "name"), string(args.Peek("uid")), string(args.Peek("role")))
		if err != nil {
			respondExperimentError(ctx, err)
			return
		}
		respondJSON(ctx, out)
	})
	s.HandleAccess(fasthttp.MethodPost, "/api/v1/experiments/assign", AccessRead, func(ctx *fasthttp.RequestCtx) {
		req, err := experiment.DecodeAssignBatch(ctx.PostBody())
		if err != nil {
			respondExperimentError(ctx, err)
			return
		}
		out, err := m.AssignBatch(req)
		if err != nil {
			respondExperimentError(ctx, err)
			return
		}
		respondJSON(ctx, out)
	})
	s.Handle(fasthttp.MethodPost, "/api/v1/experiments/exposures", func(ctx *fasthttp.RequestCtx) {
		req, err := experiment.DecodeExposures(ctx.PostBody())
		if err != nil {
			respondExperimentError(ctx, err)
			return
		}
		out, err := m.RecordExposures(req)
		if err != nil {
			respondExperimentError(ctx, err)
			return
		}
		respondJSON(ctx, out)
	})
	s.Handle(fasthttp.MethodPost, "/api/v1/events", func(ctx *fasthttp.RequestCtx) {
		evs, err := experiment.DecodeEvents(ctx.PostBody())
		if err != nil {
			respondExperimentError(ctx, err)
			return
		}
		out, err := m.RecordEvents(evs)
		if err != nil {
			respondExperimentError(ctx, err)
			return
		}
		respondJSON(ctx, out)
	})
	s.Handle(fasthttp.MethodGet, "/api/v1/experiments/{name}/results", func(ctx *fasthttp.RequestCtx) {
		args := ctx.QueryArgs()
		o, err := experiment.ParseResultsOptions(func(k string) string { return string(args.Peek(k)) })
		if err != nil {
			respondExperimentError(ctx, err)
			return
		}
		out, err := m.Results(PathParam(ctx, "name"), o)
		if err != nil {
			respondExperimentError(ctx, err)
			return
		}
		respondJSON(ctx, out)
	})
}

// who names the author of a change for the experiment's history: the remote address
// (the token is not a name, and must never be stored).
func who(ctx *fasthttp.RequestCtx) string {
	if u := ctx.Request.Header.Peek("X-Ward-User"); len(u) > 0 && len(u) <= 64 {
		return string(u) + "@" + ctx.RemoteIP().String()
	}
	return ctx.RemoteIP().String()
}

func respondExperimentError(ctx *fasthttp.RequestCtx, err error) {
	switch {
	case errors.Is(err, experiment.ErrNotFound):
		respondError(ctx, &apiError{ErrNotFound, err})
	case errors.Is(err, experiment.ErrExists):
		// 409 has no Prometheus error type; answer it in the same envelope.
		ctx.Response.Header.SetContentType("application/json")
		ctx.SetStatusCode(http.StatusConflict)
		ctx.SetBodyString(fmt.Sprintf(`{"status":"error","errorType":"conflict","error":%q}`, err.Error()))
	case errors.Is(err, experiment.ErrInvalid):
		respondError(ctx, &apiError{ErrBadData, err})
	default:
		respondError(ctx, &apiError{ErrInternal, err})
	}
}
