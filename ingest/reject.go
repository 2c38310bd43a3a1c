package ingest

import (
	"sync"
	"time"
	"unicode/utf8"
)

// Reason says why a line was rejected. The zero value means accepted.
type Reason uint8

// The reasons a line is rejected. Their strings are the values of the
// reason label of ward_ingest_rejected_lines_total and are stable.
const (
	OK Reason = iota
	ReasonEmptyName
	ReasonMissingValue
	ReasonMissingType
	ReasonBadType
	ReasonBadValue
	ReasonBadSampleRate
	ReasonBadTimestamp
	ReasonBadTags
	ReasonBadEvent
	ReasonLineTooLong
	ReasonPacketTooLarge
	ReasonNameTooLong
	ReasonTagTooLong
	ReasonTooManyTags
	ReasonTypeConflict
	ReasonSeriesLimit
	ReasonSeriesPerNameLimit
	numReasons
)

var reasonNames = [numReasons]string{
	OK:                       "ok",
	ReasonEmptyName:          "empty_name",
	ReasonMissingValue:       "missing_value",
	ReasonMissingType:        "missing_type",
	ReasonBadType:            "bad_type",
	ReasonBadValue:           "bad_value",
	ReasonBadSampleRate:      "bad_sample_rate",
	ReasonBadTimestamp:       "bad_timestamp",
	ReasonBadTags:            "bad_tags",
	ReasonBadEvent:           "bad_event",
	ReasonLineTooLong:        "line_too_long",
	ReasonPacketTooLarge:     "packet_too_large",
	ReasonNameTooLong:        "name_too_long",
	ReasonTagTooLong:         "tag_too_long",
	ReasonTooManyTags:        "too_many_tags",
	ReasonTypeConflict:       "type_conflict",
	ReasonSeriesLimit:        "series_limit",
	ReasonSeriesPerNameLimit: "series_per_name_limit",
}

// String returns the reason's label value, e.g. "bad_value".
func (r Reason) String() string {
	if r < numReasons {
		return reasonNames[r]
	}
	return "unknown"
}

// Reject is one rejected line, as listed by GET /api/v1/ingest/errors.
type Reject struct {
	Time     time.Time `json:"time"`
	Protocol string    `json:"protocol"`
	Line     string    `json:"line"`
	Reason   string    `json:"reason"`
}

// rejectRingSize is how many rejected lines are kept; maxRejectLine bounds
// the bytes kept of each so that a flood of huge bad lines costs no memory.
const (
	rejectRingSize = 100
	maxRejectLine  = 512
)

// rejectRing keeps the last rejectRingSize rejects. Recording takes a lock,
// which is fine: only bad lines pay for it.
type rejectRing struct {
	mu   sync.Mutex
	buf  [rejectRingSize]Reject
	next int
	full bool
}

func (r *rejectRing) add(rj Reject) {
	r.mu.Lock()
	r.buf[r.next] = rj
	r.next++
	if r.next == rejectRingSize {
		r.next = 0
		r.full = true
	}
	r.mu.Unlock()
}

// list returns the kept rejects, oldest first.
func (r *rejectRing) list() []Reject {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []Reject
	if r.full {
		out = make([]Reject, 0, rejectRingSize)
		out = append(out, r.buf[r.next:]...)
	} else {
		out = make([]Reject, 0, r.next)
	}
	return append(out, r.buf[:r.next]...)
}

// clipLine copies at most maxRejectLine bytes of line into a valid UTF-8
// string, so that the JSON listing stays readable whatever was sent.
func clipLine(line []byte) string {
	if len(line) > maxRejectLine {
		line = line[:maxRejectLine]
	}
	if utf8.Valid(line) {
		return string(line)
	}
	return string([]rune(string(line)))
}
