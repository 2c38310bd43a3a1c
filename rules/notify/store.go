package notify

import (
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/prometheus/common/model"
)

// Store is the small key-value interface the notifier persists its
// notification log in; tsdb's *KV satisfies it.
type Store interface {
	Get(key []byte) ([]byte, bool, error)
	Put(key, val []byte) error
	Delete(key []byte) error
	Scan(prefix []byte, fn func(k, v []byte) error) error
}

// logPrefix starts every notification-log key: prefix, receiver, NUL, group key.
const logPrefix = "nflog\x00"

func logKey(receiver, groupKey string) []byte {
	return []byte(logPrefix + receiver + "\x00" + groupKey)
}

// logEntry records the last successful notification of a group, like an
// entry of Alertmanager's notification log.
type logEntry struct {
	Firing   []model.Fingerprint `json:"firing"`
	Resolved []model.Fingerprint `json:"resolved"`
	At       time.Time           `json:"at"`
}

func (e *logEntry) hasFiring(fp model.Fingerprint) bool {
	_, ok := slices.BinarySearch(e.Firing, fp)
	return ok
}

func (e *logEntry) hasResolved(fp model.Fingerprint) bool {
	_, ok := slices.BinarySearch(e.Resolved, fp)
	return ok
}

// needsUpdate is Alertmanager's DedupStage decision: notify when something
// new fires, when everything previously notified as firing has resolved, when
// new resolutions are to be sent, or when the repeat interval has passed.
func needsUpdate(e *logEntry, firing, resolved []model.Fingerprint, sendResolved bool, repeat time.Duration, now time.Time) bool {
	if e == nil {
		return len(firing) > 0
	}
	for _, fp := range firing {
		if !e.hasFiring(fp) {
			return true
		}
	}
	if len(firing) == 0 {
		// Alerts that fired and resolved between two notifications were never
		// announced, so there is nothing to say about them.
		return len(e.Firing) > 0
	}
	if sendResolved {
		for _, fp := range resolved {
			if !e.hasResolved(fp) {
				return true
			}
		}
	}
	return e.At.Before(now.Add(-repeat))
}

func encodeEntry(e *logEntry) ([]byte, error) {
	return json.Marshal(e)
}

func decodeEntry(key, val []byte) (*logEntry, error) {
	var e logEntry
	if err := json.Unmarshal(val, &e); err != nil {
		return nil, fmt.Errorf("notify: decode log entry %q: %w", key, err)
	}
	slices.Sort(e.Firing)
	slices.Sort(e.Resolved)
	return &e, nil
}
