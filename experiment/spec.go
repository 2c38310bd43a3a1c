package experiment

import "github.com/wardmetrics/ward/experiment/spec"

// The definitions, the assignment hash and the wire types live in package spec, which
// imports nothing outside the standard library, so that experiment/client keeps apps
// light. They are aliased here so that the server's callers need one package.

type (
	// Definition is an experiment as users write it and as the API returns it.
	Definition = spec.Definition
	// Branch is one arm of an experiment; the first is control.
	Branch = spec.Branch
	// Metric declares an event metric the experiment is judged on.
	Metric = spec.Metric
	// Status says whether an experiment still randomises users.
	Status = spec.Status
	// Mode says who is randomised.
	Mode = spec.Mode
	// Kind says how a metric is judged.
	Kind = spec.Kind
	// Reason says why a user got the branch they got.
	Reason = spec.Reason
	// Assignment is the branch a user gets in one experiment.
	Assignment = spec.Assignment
	// Assigner assigns the users of one definition.
	Assigner = spec.Assigner
	// Event is one thing a user did.
	Event = spec.Event
	// ListResponse is the body of GET /api/v1/experiments.
	ListResponse = spec.ListResponse
	// AssignResponse is the body of GET /api/v1/experiments/{name}/assign.
	AssignResponse = spec.AssignResponse
	// AssignRequest is one item of a batch assignment.
	AssignRequest = spec.AssignRequest
	// AssignBatchRequest is the body of POST /api/v1/experiments/assign.
	AssignBatchRequest = spec.AssignBatchRequest
	// AssignBatchResponse answers AssignBatchRequest.
	AssignBatchResponse = spec.AssignBatchResponse
	// Exposure is a user's first sight of a branch, as clients report it.
	Exposure = spec.Exposure
	// ExposuresRequest is the body of POST /api/v1/experiments/exposures.
	ExposuresRequest = spec.ExposuresRequest
	// ExposuresResponse answers ExposuresRequest.
	ExposuresResponse = spec.ExposuresResponse
)

// Values of the aliased types; see package spec for their meaning.
const (
	StatusOpen         = spec.StatusOpen
	StatusClosed       = spec.StatusClosed
	ModeAll            = spec.ModeAll
	ModeQA             = spec.ModeQA
	KindConversion     = spec.KindConversion
	KindValue          = spec.KindValue
	KindRevenue        = spec.KindRevenue
	ReasonAssigned     = spec.ReasonAssigned
	ReasonSticky       = spec.ReasonSticky
	ReasonClosed       = spec.ReasonClosed
	ReasonInactive     = spec.ReasonInactive
	ReasonQAOnly       = spec.ReasonQAOnly
	ReasonNotInRollout = spec.ReasonNotInRollout
	ReasonUnknown      = spec.ReasonUnknown
	MaxBranches        = spec.MaxBranches
	MaxMetrics         = spec.MaxMetrics
)

// ErrInvalid marks a definition, patch, event or request that fails validation
// (spec.ErrInvalid: the same error, so errors.Is matches either).
var ErrInvalid = spec.ErrInvalid

// NewAssigner prepares a definition for assignment (spec.NewAssigner).
func NewAssigner(d Definition) *Assigner { return spec.NewAssigner(d) }

// Bucket maps a hash input to one of 10,000 buckets (spec.Bucket).
func Bucket(input string) uint32 { return spec.Bucket(input) }

// Bounds returns the cumulative bucket bounds of the branches (spec.Bounds).
func Bounds(branches []Branch) []uint32 { return spec.Bounds(branches) }

// IsQARole reports whether a role is randomised in QA mode (spec.IsQARole).
func IsQARole(role string) bool { return spec.IsQARole(role) }
