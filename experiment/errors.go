package experiment

import "errors"

// Sentinel errors besides ErrInvalid, so that callers (the HTTP API) can map failures
// to status codes with errors.Is.
var (
	// ErrNotFound marks a request naming an experiment that does not exist.
	ErrNotFound = errors.New("experiment: not found")
	// ErrExists marks the creation of an experiment whose name is taken.
	ErrExists = errors.New("experiment: already exists")
)
