package notify

import "testing"

// FuzzParseConfig checks that the notify section's parser never panics and
// that what it accepts is valid with defaults applied.
func FuzzParseConfig(f *testing.F) {
	f.Add([]byte("receivers:\n  - name: w\n    type: webhook\n    url: http://127.0.0.1:1/x\n    matchers: ['severity=\"critical\"']\n"))
	f.Add([]byte("receivers:\n  - name: am\n    type: alertmanager\n    url: http://am:9093\n    group_by: ['...']\n    repeat_interval: 1h\n"))
	f.Add([]byte("receivers: []\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ParseConfig(data)
		if err != nil {
			return
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("accepted an invalid config: %v", err)
		}
		for _, r := range c.Receivers {
			if r.SendResolved == nil || r.QueueSize <= 0 || r.RepeatInterval <= 0 || len(r.GroupBy) == 0 {
				t.Fatalf("defaults not applied: %+v", r)
			}
		}
	})
}
