package spec

import (
	"crypto/sha256"
	"encoding/binary"
	"math"
	"strings"
	"time"
)

// Reason says why a user got the branch they got.
type Reason string

// Reasons of an Assignment. Only ReasonAssigned and ReasonSticky are recorded.
const (
	// ReasonAssigned: randomised by the branch hash.
	ReasonAssigned Reason = "assigned"
	// ReasonSticky: the user was exposed before; their first branch is kept even if the
	// weights changed since.
	ReasonSticky Reason = "sticky"
	// ReasonClosed: the experiment is closed; everyone gets the winner.
	ReasonClosed Reason = "closed"
	// ReasonInactive: outside the start/end window; everyone gets control.
	ReasonInactive Reason = "inactive"
	// ReasonQAOnly: QA mode and the user's role is neither qa nor admin.
	ReasonQAOnly Reason = "qa_only"
	// ReasonNotInRollout: the rollout hash put the user outside the rollout percentage.
	ReasonNotInRollout Reason = "not_in_rollout"
	// ReasonUnknown: no experiment of that name (clients answer an empty branch).
	ReasonUnknown Reason = "unknown_experiment"
)

// Assignment is the branch a user gets in one experiment.
type Assignment struct {
	Branch string `json:"branch"`
	// Index is the branch's position in the definition (0 is control), -1 if unknown.
	Index int `json:"-"`
	// Record says whether this assignment is an exposure to record.
	Record bool   `json:"recorded"`
	Reason Reason `json:"reason"`
}

// Bucket maps a hash input to one of 10,000 buckets: the first 8 bytes of its SHA-256
// digest read as a big-endian unsigned integer, modulo 10,000 (README.md, "Assignment").
func Bucket(input string) uint32 {
	sum := sha256.Sum256([]byte(input))
	return uint32(binary.BigEndian.Uint64(sum[:8]) % bucketCount)
}

// RolloutBucket is the bucket deciding whether uid is inside the rollout:
// Bucket(salt + ".rollout." + uid).
func RolloutBucket(salt, uid string) uint32 { return Bucket(salt + ".rollout." + uid) }

// BranchBucket is the bucket choosing uid's branch: Bucket(salt + ".branch." + uid).
// Its input differs from the rollout's, so the two decisions are independent and
// raising the rollout never moves anyone between branches.
func BranchBucket(salt, uid string) uint32 { return Bucket(salt + ".branch." + uid) }

// Bounds returns the cumulative upper bucket bound of each branch: with total the sum
// of the weights and cum_i the sum of the first i+1 weights, both summed left to right
// in float64, bound_i = floor(cum_i * 10000 / total), and the last bound is 10000.
// A user whose branch bucket is b gets the first branch with b < bound_i.
func Bounds(branches []Branch) []uint32 {
	if len(branches) == 0 {
		return nil
	}
	var total float64
	for _, b := range branches {
		total += b.Weight
	}
	out := make([]uint32, len(branches))
	var cum float64
	for i, b := range branches {
		cum += b.Weight
		v := math.Floor(cum * bucketCount / total)
		if !(v >= 0) { // NaN or negative: invalid weights, caught by Validate
			v = 0
		}
		out[i] = uint32(min(v, bucketCount))
	}
	out[len(out)-1] = bucketCount
	return out
}

// RolloutBasisPoints converts a rollout percentage to buckets: round(rollout * 100),
// halves away from zero, clamped to 0..10000. A user is in the rollout when their
// rollout bucket is below it.
func RolloutBasisPoints(rollout float64) uint32 {
	v := math.Round(rollout * 100)
	if !(v > 0) {
		return 0
	}
	return uint32(min(v, bucketCount))
}

// Assigner assigns the users of one definition. It is immutable and safe for
// concurrent use; the server and experiment/client both assign through it, so they
// agree by construction.
type Assigner struct {
	def           Definition
	rolloutPrefix []byte // salt + ".rollout."
	branchPrefix  []byte // salt + ".branch."
	bounds        []uint32
	rolloutBP     uint32
	winner        int
	start, end    int64 // unix ms; 0 means unbounded
}

// NewAssigner prepares a definition for assignment. The definition should be valid;
// defaults (salt, mode, status) are filled in the copy the Assigner keeps.
func NewAssigner(d Definition) *Assigner {
	d = d.Clone()
	d.Normalize()
	a := &Assigner{
		def:           d,
		rolloutPrefix: []byte(d.Salt + ".rollout."),
		branchPrefix:  []byte(d.Salt + ".branch."),
		bounds:        d.Bounds,
		rolloutBP:     RolloutBasisPoints(d.Rollout),
		winner:        max(d.BranchIndex(d.Winner), 0),
	}
	if !d.Start.IsZero() {
		a.start = d.Start.UnixMilli()
	}
	if !d.End.IsZero() {
		a.end = d.End.UnixMilli()
	}
	return a
}

// Definition returns a copy of the normalized definition.
func (a *Assigner) Definition() Definition { return a.def.Clone() }

// BranchName returns the name of branch i, or "" when i is out of range.
func (a *Assigner) BranchName(i int) string {
	if i < 0 || i >= len(a.def.Branches) {
		return ""
	}
	return a.def.Branches[i].Name
}

// BranchIndex returns the position of the named branch, or -1.
func (a *Assigner) BranchIndex(name string) int { return a.def.BranchIndex(name) }

// NeedsClock reports whether Assign depends on the time, that is whether the definition
// has a start or an end; callers on a hot path may pass a zero time otherwise.
func (a *Assigner) NeedsClock() bool { return a.start != 0 || a.end != 0 }

// Closed reports whether the experiment is closed on a winner.
func (a *Assigner) Closed() bool { return a.def.Status == StatusClosed }

// Window returns the active window in Unix milliseconds; 0 means unbounded.
func (a *Assigner) Window() (start, end int64) { return a.start, a.end }

// Tracks reports whether events of the metric count toward the experiment.
func (a *Assigner) Tracks(metric string) bool {
	_, ok := a.def.MetricKind(metric)
	return ok
}

// Salt is the definition's salt.
func (a *Assigner) Salt() string { return a.def.Salt }

// Name is the experiment's name.
func (a *Assigner) Name() string { return a.def.Name }

// Assign decides uid's branch at time now, in the order documented in README.md:
// closed, inactive window, QA mode, rollout, then the branch hash. It never records
// anything itself: callers record when Record is true.
func (a *Assigner) Assign(uid, role string, now time.Time) Assignment {
	if as, enter := a.Gate(uid, role, now); !enter {
		return as
	}
	return a.Randomise(uid)
}

// Gate applies the steps before the branch hash (closed, window, QA mode, rollout).
// When enter is false, as is the user's assignment; when true, the user is randomised:
// callers that remember users (sticky assignments) look them up before paying for
// Randomise's hash.
func (a *Assigner) Gate(uid, role string, now time.Time) (as Assignment, enter bool) {
	if len(a.bounds) == 0 { // an invalid definition without branches: nothing to give
		return Assignment{Index: -1, Reason: ReasonUnknown}, false
	}
	if a.def.Status == StatusClosed {
		return Assignment{Branch: a.def.Branches[a.winner].Name, Index: a.winner, Reason: ReasonClosed}, false
	}
	if a.start != 0 || a.end != 0 {
		ms := now.UnixMilli()
		if (a.start != 0 && ms < a.start) || (a.end != 0 && ms >= a.end) {
			return a.control(ReasonInactive), false
		}
	}
	if a.def.Mode == ModeQA && !IsQARole(role) {
		return a.control(ReasonQAOnly), false
	}
	if a.rolloutBP < bucketCount {
		// Below 100% only: at 100% every bucket is inside, so the hash is skipped.
		if a.rolloutBP == 0 || uint32(hash64(a.rolloutPrefix, uid)%bucketCount) >= a.rolloutBP {
			return a.control(ReasonNotInRollout), false
		}
	}
	return Assignment{}, true
}

// Randomise returns the branch the hash gives uid, for a user who passed Gate.
func (a *Assigner) Randomise(uid string) Assignment {
	i := a.branchOf(uint32(hash64(a.branchPrefix, uid) % bucketCount))
	return Assignment{Branch: a.def.Branches[i].Name, Index: i, Record: true, Reason: ReasonAssigned}
}

// IsQARole reports whether role is randomised in QA mode: "qa" or "admin", in any case.
func IsQARole(role string) bool {
	return strings.EqualFold(role, "qa") || strings.EqualFold(role, "admin")
}

func (a *Assigner) control(r Reason) Assignment {
	return Assignment{Branch: a.def.Branches[0].Name, Index: 0, Reason: r}
}

func (a *Assigner) branchOf(bucket uint32) int {
	for i, b := range a.bounds {
		if bucket < b {
			return i
		}
	}
	return len(a.bounds) - 1
}

// hash64 is the first 8 bytes, big-endian, of SHA-256(prefix + uid). The input is built
// in a stack buffer so that assigning allocates nothing for ordinary ids.
func hash64(prefix []byte, uid string) uint64 {
	var buf [256]byte
	b := append(buf[:0], prefix...)
	b = append(b, uid...)
	sum := sha256.Sum256(b)
	return binary.BigEndian.Uint64(sum[:8])
}
