package rules

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// Key layout of alert states in the StateStore:
//
//	"alert\x00" file "\x00" group "\x00" rule-key "\x00" hex(label hash)
//
// and the value is the JSON of the instance. Only instances with something
// to remember are stored (a non-OK state, alerts being resolved, flap
// history); an instance that becomes quiet is deleted.
const stateKeyPrefix = "alert\x00"

func statePrefix(g *group, r *alertingRule) []byte {
	return []byte(stateKeyPrefix + g.file + "\x00" + g.spec.Name + "\x00" + r.key + "\x00")
}

func stateKey(g *group, r *alertingRule, h uint64) []byte {
	return strconv.AppendUint(statePrefix(g, r), h, 16)
}

// persisted adds the last value, which JSON cannot hold when it is NaN.
type persisted struct {
	*instance
	V *float64 `json:"value,omitempty"`
}

type storedState struct {
	key []byte
	in  *instance
}

// scanStates reads every stored alert state, by rule prefix.
func (m *Manager) scanStates() (map[string][]storedState, error) {
	out := map[string][]storedState{}
	if m.opts.Store == nil {
		return out, nil
	}
	err := m.opts.Store.Scan([]byte(stateKeyPrefix), func(k, v []byte) error {
		key := append([]byte(nil), k...)
		i := strings.LastIndexByte(string(k), 0)
		if i < 0 {
			return nil
		}
		in := &instance{}
		p := persisted{instance: in}
		if err := json.Unmarshal(v, &p); err != nil {
			// An undecodable state is dropped rather than blocking start-up.
			m.metrics.storeErrors.Inc()
			m.opts.Logger.Warn("rules: dropping undecodable alert state", "key", string(k), "err", err)
			in = nil
		} else if p.V != nil {
			in.Value, in.HasValue = *p.V, true
		}
		prefix := string(k[:i+1])
		out[prefix] = append(out[prefix], storedState{key: key, in: in})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("scan %q: %w", stateKeyPrefix, err)
	}
	return out, nil
}

// restore installs stored instances into a freshly loaded rule.
func restore(r *alertingRule, entries []storedState) {
	for _, e := range entries {
		if e.in == nil {
			continue
		}
		e.in.stored = true
		r.instances[e.in.Labels.Hash()] = e.in
	}
}

func (m *Manager) putState(g *group, r *alertingRule, h uint64, in *instance) bool {
	if m.opts.Store == nil {
		return true
	}
	p := persisted{instance: in}
	if in.HasValue {
		p.V = &in.Value
	}
	val, err := json.Marshal(p)
	if err == nil {
		err = m.opts.Store.Put(stateKey(g, r, h), val)
	}
	if err != nil {
		m.metrics.storeErrors.Inc()
		m.opts.Logger.Warn("rules: persist alert state", "rule", r.spec.Alert, "err", err)
		return false
	}
	return true
}

func (m *Manager) deleteState(g *group, r *alertingRule, h uint64) {
	if m.opts.Store == nil {
		return
	}
	if err := m.opts.Store.Delete(stateKey(g, r, h)); err != nil {
		m.metrics.storeErrors.Inc()
		m.opts.Logger.Warn("rules: delete alert state", "rule", r.spec.Alert, "err", err)
	}
}
