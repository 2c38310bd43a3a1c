package stream

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// The wire protocol is JSON text frames.
//
// Client to server:
//
//	{"op":"subscribe","expr":"rate(http_requests_total[1m])"}
//	{"op":"unsubscribe","expr":"rate(http_requests_total[1m])"}
//	{"op":"checks"}      // receive the alert board now and at every change
//
// Server to client:
//
//	{"type":"hello"}
//	{"type":"points","expr":"...","t":1700000000000,"series":[{"metric":{...},"t":...,"v":"1.5"}]}
//	{"type":"error","expr":"...","error":"..."}
//	{"type":"checks","checks":[...rows of /api/v1/checks...]}
//
// Results are keyed by expression, not by client, so that one evaluation is
// encoded once and the same bytes go to every subscriber.

// request is a client's message.
type request struct {
	Op   string `json:"op"`
	Expr string `json:"expr"`
}

// maxExprLen bounds one subscribed expression.
const maxExprLen = 4096

// parseRequest decodes and validates one client message.
func parseRequest(b []byte) (request, error) {
	var r request
	if err := json.Unmarshal(b, &r); err != nil {
		return r, fmt.Errorf("decode request %.64q: %w", b, err)
	}
	switch r.Op {
	case "subscribe", "unsubscribe":
		if strings.TrimSpace(r.Expr) == "" {
			return r, fmt.Errorf("%s: empty expression", r.Op)
		}
		if len(r.Expr) > maxExprLen {
			return r, fmt.Errorf("%s: expression of %d bytes, the maximum is %d", r.Op, len(r.Expr), maxExprLen)
		}
	case "checks":
	default:
		return r, fmt.Errorf("unknown op %q (want subscribe, unsubscribe or checks)", r.Op)
	}
	return r, nil
}

type pointsMsg struct {
	Type   string        `json:"type"`
	Expr   string        `json:"expr"`
	T      int64         `json:"t"`
	Series []seriesPoint `json:"series"`
}

type seriesPoint struct {
	Metric map[string]string `json:"metric"`
	T      int64             `json:"t"`
	V      jsonFloat         `json:"v"`
}

type errorMsg struct {
	Type  string `json:"type"`
	Expr  string `json:"expr,omitempty"`
	Error string `json:"error"`
}

type checksMsg struct {
	Type   string `json:"type"`
	Checks any    `json:"checks"`
}

// jsonFloat encodes as a string, as the Prometheus API does, so that NaN and
// infinities survive JSON.
type jsonFloat float64

func (f jsonFloat) MarshalJSON() ([]byte, error) {
	v := float64(f)
	var s string
	switch {
	case math.IsNaN(v):
		s = "NaN"
	case math.IsInf(v, 1):
		s = "+Inf"
	case math.IsInf(v, -1):
		s = "-Inf"
	default:
		s = strconv.FormatFloat(v, 'f', -1, 64)
	}
	return []byte(`"` + s + `"`), nil
}
