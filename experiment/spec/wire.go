package spec

import (
	"fmt"
	"math"
	"time"
)

// The request and response bodies of the HTTP routes that clients use (README.md of
// package experiment, "HTTP API"). Ward wraps responses in its envelope
// {"status":"success","data":...}.

// ListResponse is the body of GET /api/v1/experiments.
type ListResponse struct {
	// Generation changes whenever any definition changes.
	Generation  int64        `json:"generation"`
	Experiments []Definition `json:"experiments"`
}

// AssignResponse is the body of GET /api/v1/experiments/{name}/assign?uid=U&role=R and
// one item of a batch answer.
type AssignResponse struct {
	Experiment string `json:"experiment"`
	UID        string `json:"uid"`
	Assignment
	// Error is set, in batch answers only, when this item failed.
	Error string `json:"error,omitempty"`
}

// AssignRequest is one item of a batch assignment.
type AssignRequest struct {
	Experiment string `json:"experiment"`
	UID        string `json:"uid"`
	Role       string `json:"role,omitempty"`
}

// AssignBatchRequest is the body of POST /api/v1/experiments/assign.
type AssignBatchRequest struct {
	Assignments []AssignRequest `json:"assignments"`
}

// AssignBatchResponse answers AssignBatchRequest, item for item.
type AssignBatchResponse struct {
	Assignments []AssignResponse `json:"assignments"`
}

// Exposure is a user's first sight of a branch, as clients report it.
type Exposure struct {
	Experiment string `json:"experiment"`
	UID        string `json:"uid"`
	Branch     string `json:"branch"`
	// Time is when the user was exposed; zero (or later than the server's clock) means
	// the time the server receives it.
	Time time.Time `json:"time,omitzero"`
}

// ExposuresRequest is the body of POST /api/v1/experiments/exposures.
type ExposuresRequest struct {
	Exposures []Exposure `json:"exposures"`
}

// ExposuresResponse answers ExposuresRequest.
type ExposuresResponse struct {
	Recorded   int `json:"recorded"`
	Duplicates int `json:"duplicates"`
	Rejected   int `json:"rejected"`
	// Corrections are users recorded before on another branch than the one sent: the
	// client should stick to the recorded one.
	Corrections []Exposure `json:"corrections,omitempty"`
	// Errors are the first few rejection reasons.
	Errors []string `json:"errors,omitempty"`
}

// Event is one thing a user did: a login, an order, revenue in cents.
type Event struct {
	UID    string  `json:"uid"`
	Metric string  `json:"metric"`
	Value  float64 `json:"value"`
	// Time is when it happened; zero means when the server receives it.
	Time time.Time `json:"time,omitzero"`
}

// MaxEventSeconds bounds event times to years 1970 to 5138, which also keeps their
// milliseconds inside int64.
const MaxEventSeconds = 1e11

// Validate checks an event's uid, metric name, value and time.
func (ev *Event) Validate() error {
	if err := CheckUID(ev.UID); err != nil {
		return err
	}
	if err := CheckMetricName(ev.Metric); err != nil {
		return err
	}
	if math.IsNaN(ev.Value) || math.IsInf(ev.Value, 0) || math.Abs(ev.Value) > 1e15 {
		return fmt.Errorf("value %v of %q must be finite and at most 1e15 in size", ev.Value, ev.Metric)
	}
	if !ev.Time.IsZero() && (ev.Time.Unix() < 0 || ev.Time.Unix() > MaxEventSeconds) {
		return fmt.Errorf("time %s is outside 1970 to 5138", ev.Time.Format(time.RFC3339))
	}
	return nil
}
