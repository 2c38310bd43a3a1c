package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/util/annotations"
	"github.com/valyala/fasthttp"
)

// ErrorType is the "errorType" of a Prometheus API error response.
type ErrorType string

// The error types of the Prometheus HTTP API.
const (
	ErrBadData     ErrorType = "bad_data"
	ErrExecution   ErrorType = "execution"
	ErrTimeout     ErrorType = "timeout"
	ErrCanceled    ErrorType = "canceled"
	ErrInternal    ErrorType = "internal"
	ErrUnavailable ErrorType = "unavailable"
	ErrNotFound    ErrorType = "not_found"
	// ErrUnauthorized is Ward's: the Prometheus API has no authentication.
	ErrUnauthorized ErrorType = "unauthorized"
)

// statusClientClosedConnection is nginx's code for a client that went away,
// which Prometheus answers for cancelled queries.
const statusClientClosedConnection = 499

// StatusCode is the HTTP status Prometheus answers for an error type.
func (t ErrorType) StatusCode() int {
	switch t {
	case ErrBadData:
		return http.StatusBadRequest
	case ErrExecution:
		return http.StatusUnprocessableEntity
	case ErrCanceled:
		return statusClientClosedConnection
	case ErrTimeout, ErrUnavailable:
		return http.StatusServiceUnavailable
	case ErrNotFound:
		return http.StatusNotFound
	case ErrUnauthorized:
		return http.StatusUnauthorized
	default:
		return http.StatusInternalServerError
	}
}

// apiError is an error answered with Prometheus' error envelope.
type apiError struct {
	typ ErrorType
	err error
}

func (e *apiError) Error() string { return string(e.typ) + ": " + e.err.Error() }

func badData(format string, args ...any) *apiError {
	return &apiError{ErrBadData, fmt.Errorf(format, args...)}
}

func invalidParam(name string, err error) *apiError {
	return &apiError{ErrBadData, fmt.Errorf("invalid parameter %q: %w", name, err)}
}

// queryError classifies an error of the PromQL engine or the storage as
// Prometheus does (web/api/v1 returnAPIError).
func queryError(err error) *apiError {
	var (
		eqc promql.ErrQueryCanceled
		eqt promql.ErrQueryTimeout
		es  promql.ErrStorage
	)
	switch {
	case errors.As(err, &eqc):
		return &apiError{ErrCanceled, err}
	case errors.As(err, &eqt):
		return &apiError{ErrTimeout, err}
	case errors.As(err, &es):
		return &apiError{ErrInternal, err}
	case errors.Is(err, context.DeadlineExceeded):
		return &apiError{ErrTimeout, err}
	case errors.Is(err, context.Canceled):
		return &apiError{ErrCanceled, err}
	}
	return &apiError{ErrExecution, err}
}

// respondError writes Prometheus' error envelope.
func respondError(ctx *fasthttp.RequestCtx, e *apiError) {
	b := make([]byte, 0, 128)
	b = append(b, `{"status":"error","errorType":`...)
	b = appendJSONString(b, string(e.typ))
	b = append(b, `,"error":`...)
	b = appendJSONString(b, e.err.Error())
	b = append(b, '}')
	ctx.Response.Header.SetContentType("application/json")
	ctx.SetStatusCode(e.typ.StatusCode())
	ctx.SetBody(b)
}

// beginSuccess and finishSuccess frame a success response:
// {"status":"success","data":...,"warnings":[...],"infos":[...]}. The
// caller appends the data in between, so that large results are encoded
// straight into one buffer.
func beginSuccess(b []byte) []byte {
	return append(b, `{"status":"success","data":`...)
}

func finishSuccess(b []byte, warnings annotations.Annotations, query string) []byte {
	warns, infos := warnings.AsStrings(query, 10, 10)
	b = appendStringsField(b, "warnings", warns)
	b = appendStringsField(b, "infos", infos)
	return append(b, '}')
}

func appendStringsField(b []byte, name string, ss []string) []byte {
	if len(ss) == 0 {
		return b
	}
	b = append(b, `,"`...)
	b = append(b, name...)
	b = append(b, `":`...)
	return appendStringArray(b, ss)
}

// respondJSON answers data marshaled with encoding/json in the success
// envelope.
func respondJSON(ctx *fasthttp.RequestCtx, data any) {
	raw, err := json.Marshal(data)
	if err != nil {
		respondError(ctx, &apiError{ErrInternal, fmt.Errorf("encode response: %w", err)})
		return
	}
	b := make([]byte, 0, len(raw)+32)
	b = beginSuccess(b)
	b = append(b, raw...)
	b = append(b, '}')
	writeJSON(ctx, b)
}

func writeJSON(ctx *fasthttp.RequestCtx, b []byte) {
	ctx.Response.Header.SetContentType("application/json")
	ctx.SetStatusCode(http.StatusOK)
	ctx.SetBody(b)
}
