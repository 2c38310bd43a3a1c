package experiment

import (
	"fmt"
	"time"

	"github.com/wardmetrics/ward/experiment/spec"
)

// MaxBatch bounds the items of one batch request (assignments, exposures, events), so
// that one request cannot hold an experiment's lock for long.
const MaxBatch = 100_000

// Assign returns uid's branch in the named experiment and records the first exposure.
// A user exposed before keeps their first branch (ReasonSticky) even if the weights
// changed since; closed experiments, the inactive window, QA mode and the rollout come
// first and record nothing (README.md, "Assignment").
func (m *Manager) Assign(name, uid, role string) (AssignResponse, error) {
	if err := spec.CheckUID(uid); err != nil {
		return AssignResponse{}, err
	}
	e, err := m.lookup(name)
	if err != nil {
		return AssignResponse{}, err
	}
	now := m.opts.Now()
	as, err := m.assign(e, uid, role, now, m.uidHash(uid))
	if err != nil {
		return AssignResponse{}, err
	}
	return AssignResponse{Experiment: name, UID: uid, Assignment: as}, nil
}

func (m *Manager) assign(e *experiment, uid, role string, now time.Time, h uint64) (Assignment, error) {
	a := e.asg.Load()
	as, enter := a.Gate(uid, role, now)
	if !enter {
		m.met.assigned(as.Reason)
		return as, nil
	}
	// Returning users are looked up before hashing: their first branch wins anyway.
	e.mu.RLock()
	idx, seen := e.index[h]
	var br uint8
	if seen {
		br = e.branch[idx]
	}
	e.mu.RUnlock()
	if !seen {
		as = a.Randomise(uid)
		var err error
		br, seen, err = m.recordExposure(e, uid, h, now.UnixMilli(), uint8(as.Index))
		if err != nil {
			// The user is exposed in memory and gets the branch: failing the request
			// would show them something else than what results will count. The failure
			// is counted (ward_experiment_store_errors_total) and logged.
			m.logStoreError(err)
		}
	}
	if seen {
		as = Assignment{Branch: a.BranchName(int(br)), Index: int(br), Record: true, Reason: ReasonSticky}
	}
	m.met.assigned(as.Reason)
	return as, nil
}

// recordExposure records a first exposure unless another request recorded one first;
// it returns the user's branch and whether the user had been exposed already.
//
// Memory is claimed under the lock and the store written after it is released, so that
// concurrent first exposures reach the store together and share its commits and syncs.
// Each user's key is written once, so the writes need no ordering. If the write fails
// the user stays exposed in memory and the error is returned: after a restart such a
// user would be assigned afresh.
func (m *Manager) recordExposure(e *experiment, uid string, h uint64, ms int64, br uint8) (uint8, bool, error) {
	e.mu.Lock()
	if idx, ok := e.index[h]; ok {
		b := e.branch[idx]
		e.mu.Unlock()
		return b, true, nil
	}
	e.addUser(h, ms, br)
	e.mu.Unlock()
	m.met.exposures.Inc()
	if err := m.commit([]kv{{exposureKey(e.name, uid), encodeExposure(ms, br)}}); err != nil {
		return br, false, fmt.Errorf("experiment %q: record exposure of %q: %w", e.name, spec.TruncateForError(uid), err)
	}
	return br, false, nil
}

// AssignBatch assigns many (experiment, uid, role) triples; each item answers on its
// own, with an error text instead of failing the batch.
func (m *Manager) AssignBatch(req AssignBatchRequest) (AssignBatchResponse, error) {
	if len(req.Assignments) > MaxBatch {
		return AssignBatchResponse{}, fmt.Errorf("%w: %d assignments in one batch, at most %d", ErrInvalid, len(req.Assignments), MaxBatch)
	}
	out := AssignBatchResponse{Assignments: make([]AssignResponse, len(req.Assignments))}
	for i, it := range req.Assignments {
		r, err := m.Assign(it.Experiment, it.UID, it.Role)
		if err != nil {
			r = AssignResponse{Experiment: it.Experiment, UID: it.UID, Error: err.Error()}
			r.Index = -1
		}
		out.Assignments[i] = r
	}
	return out, nil
}

// RecordExposures records exposures that clients assigned in-process (experiment/client).
// The client's branch is recorded as sent, because it is what the user saw, even if the
// server would now compute another (the client's definitions may be a refresh behind).
// A user exposed before keeps their first branch; when the client's differs, the
// response lists a correction so that the client sticks to the recorded one.
// Exposures to closed or unknown experiments, unknown branches or outside the window
// are rejected and counted.
func (m *Manager) RecordExposures(req ExposuresRequest) (ExposuresResponse, error) {
	if len(req.Exposures) > MaxBatch {
		return ExposuresResponse{}, fmt.Errorf("%w: %d exposures in one batch, at most %d", ErrInvalid, len(req.Exposures), MaxBatch)
	}
	now := m.opts.Now()
	var resp ExposuresResponse
	for _, x := range req.Exposures {
		br, err := m.recordClientExposure(x, now)
		switch {
		case err != nil:
			resp.Rejected++
			if len(resp.Errors) < 10 {
				resp.Errors = append(resp.Errors, err.Error())
			}
		case br == "":
			resp.Recorded++
		case br == x.Branch:
			resp.Duplicates++
		default:
			resp.Duplicates++
			resp.Corrections = append(resp.Corrections, Exposure{Experiment: x.Experiment, UID: x.UID, Branch: br})
		}
	}
	m.met.clientExposuresRejected.Add(resp.Rejected)
	return resp, nil
}

// recordClientExposure returns "" when it recorded a new exposure, or the branch the
// user was recorded on before.
func (m *Manager) recordClientExposure(x Exposure, now time.Time) (string, error) {
	if err := spec.CheckUID(x.UID); err != nil {
		return "", err
	}
	e, err := m.lookup(x.Experiment)
	if err != nil {
		return "", err
	}
	a := e.asg.Load()
	bi := a.BranchIndex(x.Branch)
	if bi < 0 {
		return "", fmt.Errorf("%w: experiment %q has no branch %q", ErrInvalid, x.Experiment, x.Branch)
	}
	if a.Closed() {
		return "", fmt.Errorf("%w: experiment %q is closed", ErrInvalid, x.Experiment)
	}
	t := x.Time
	if t.IsZero() || t.After(now) {
		t = now // a client clock ahead of ours must not put exposures after later events
	}
	ms := t.UnixMilli()
	if start, end := a.Window(); (start != 0 && ms < start) || (end != 0 && ms >= end) {
		return "", fmt.Errorf("%w: exposure of %q at %s is outside experiment %q's window", ErrInvalid, x.UID, t.UTC().Format(time.RFC3339), x.Experiment)
	}
	br, seen, err := m.recordExposure(e, x.UID, m.uidHash(x.UID), ms, uint8(bi))
	if err != nil {
		m.logStoreError(err) // recorded in memory all the same, as in assign
	}
	if !seen {
		return "", nil
	}
	name := a.BranchName(int(br))
	if name == "" {
		return "", fmt.Errorf("experiment %q: stored branch %d of %q out of range", x.Experiment, br, x.UID)
	}
	return name, nil
}
