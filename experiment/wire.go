package experiment

// The request and response bodies of the HTTP routes (README.md, "HTTP API") that only
// the server uses; those clients share are in package spec. The api package wraps
// responses in Ward's envelope {"status":"success","data":...}.

// ShowResponse is the body of GET /api/v1/experiments/{name}.
type ShowResponse struct {
	Experiment Definition `json:"experiment"`
	History    []Change   `json:"history"`
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
