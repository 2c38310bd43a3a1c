package experiment

import "time"

// The request and response bodies of the HTTP routes (README.md, "HTTP API"). The api
// package wraps responses in Ward's envelope {"status":"success","data":...}.

// ListResponse is the body of GET /api/v1/experiments.
type ListResponse struct {
	// Generation changes whenever any definition changes.
	Generation  int64        `json:"generation"`
	Experiments []Definition `json:"experiments"`
}

// ShowResponse is the body of GET /api/v1/experiments/{name}.
type ShowResponse struct {
	Experiment Definition `json:"experiment"`
	History    []Change   `json:"history"`
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

// DecodeExposures decodes the body of POST /api/v1/experiments/exposures strictly.
func DecodeExposures(body []byte) (ExposuresRequest, error) {
	var r ExposuresRequest
	if err := decodeStrict(body, &r); err != nil {
		return ExposuresRequest{}, wrapInvalid("decode exposures", err)
	}
	return r, nil
}

// DecodeAssignBatch decodes the body of POST /api/v1/experiments/assign strictly.
func DecodeAssignBatch(body []byte) (AssignBatchRequest, error) {
	var r AssignBatchRequest
	if err := decodeStrict(body, &r); err != nil {
		return AssignBatchRequest{}, wrapInvalid("decode assignments", err)
	}
	return r, nil
}
