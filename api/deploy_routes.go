package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/valyala/fasthttp"
)

// DeploySource is what the deploy endpoints and /guard read and change; the daemon
// adapts the deploy guard to it, so that api does not depend on deploy's types.
// Errors may implement HTTPStatus() int (400, 404 or 409) to choose the answer.
type DeploySource interface {
	// Register stores the deploy in body (JSON) and returns it.
	Register(body []byte) (any, error)
	// Deploys returns every deploy.
	Deploys() (any, error)
	// SetPhase changes a release's phase from body ({"phase":..., "reason":...}).
	SetPhase(release string, body []byte) (any, error)
	// Annotations returns the deploys overlapping [start, end].
	Annotations(start, end time.Time) (any, error)
	// Guard judges a release: the HTTP status (200 promote, 409 rollback, 503 wait),
	// the seconds for Retry-After (0 for none) and the verdict.
	Guard(ctx context.Context, release string) (status, retryAfter int, verdict any, err error)
}

// MountDeploys serves the deploy APIs: POST and GET /api/v1/deploys, POST
// /api/v1/deploys/{release}/phase, GET /api/v1/annotations?start=&end= (default: the last
// 24 hours) in the Prometheus envelope, and GET /guard?release=R, whose raw JSON verdict
// and status code (200, 409, or 503 with Retry-After) let `curl -f` and rollout
// controllers act on it. /guard?release=R&status=200 always answers 200, for callers
// such as Argo Rollouts' web provider that read the decision from the body.
func (s *Server) MountDeploys(d DeploySource) {
	s.Handle(fasthttp.MethodPost, "/api/v1/deploys", func(ctx *fasthttp.RequestCtx) {
		respondDeploy(ctx)(d.Register(ctx.PostBody()))
	})
	s.Handle(fasthttp.MethodGet, "/api/v1/deploys", func(ctx *fasthttp.RequestCtx) {
		respondDeploy(ctx)(d.Deploys())
	})
	s.Handle(fasthttp.MethodPost, "/api/v1/deploys/{release}/phase", func(ctx *fasthttp.RequestCtx) {
		respondDeploy(ctx)(d.SetPhase(PathParam(ctx, "release"), ctx.PostBody()))
	})
	s.Handle(fasthttp.MethodGet, "/api/v1/annotations", func(ctx *fasthttp.RequestCtx) {
		end := time.Now()
		start := end.Add(-24 * time.Hour)
		for _, p := range []struct {
			name string
			t    *time.Time
		}{{"start", &start}, {"end", &end}} {
			if v := ctx.QueryArgs().Peek(p.name); len(v) > 0 {
				t, err := ParseTime(string(v))
				if err != nil {
					respondError(ctx, invalidParam(p.name, err))
					return
				}
				*p.t = t
			}
		}
		if end.Before(start) {
			respondError(ctx, badData("end %s is before start %s", end.Format(time.RFC3339), start.Format(time.RFC3339)))
			return
		}
		respondDeploy(ctx)(d.Annotations(start, end))
	})
	s.Handle(fasthttp.MethodGet, "/guard", func(ctx *fasthttp.RequestCtx) {
		release := string(ctx.QueryArgs().Peek("release"))
		if release == "" {
			guardJSON(ctx, http.StatusBadRequest, map[string]string{"decision": "error", "error": "missing parameter release"})
			return
		}
		qctx, cancel := context.WithTimeout(s.baseCtx, s.opts.Timeout)
		defer cancel()
		status, retry, v, err := d.Guard(qctx, release)
		if err != nil {
			guardJSON(ctx, errorStatus(err), map[string]string{"decision": "error", "error": err.Error()})
			return
		}
		if retry > 0 {
			ctx.Response.Header.Set("Retry-After", strconv.Itoa(retry))
		}
		if string(ctx.QueryArgs().Peek("status")) == "200" {
			status = http.StatusOK
		}
		guardJSON(ctx, status, v)
	})
}

// respondDeploy answers a DeploySource call in the Prometheus envelope.
func respondDeploy(ctx *fasthttp.RequestCtx) func(any, error) {
	return func(v any, err error) {
		if err == nil {
			respondJSON(ctx, v)
			return
		}
		switch st := errorStatus(err); st {
		case http.StatusBadRequest:
			respondError(ctx, &apiError{ErrBadData, err})
		case http.StatusNotFound:
			respondError(ctx, &apiError{ErrNotFound, err})
		case http.StatusConflict:
			respondError(ctx, &apiError{ErrorType("conflict"), err})
			ctx.SetStatusCode(http.StatusConflict)
		default:
			respondError(ctx, &apiError{ErrInternal, err})
		}
	}
}

func errorStatus(err error) int {
	var se interface{ HTTPStatus() int }
	if errors.As(err, &se) {
		return se.HTTPStatus()
	}
	return http.StatusInternalServerError
}

func guardJSON(ctx *fasthttp.RequestCtx, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, fmt.Appendf(nil, `{"decision":"error","error":%q}`, err.Error())
	}
	ctx.Response.Header.SetContentType("application/json")
	ctx.SetStatusCode(status)
	ctx.SetBody(b)
}
