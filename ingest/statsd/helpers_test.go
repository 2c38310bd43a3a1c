package statsd

import (
	"strconv"
	"testing"

	"github.com/wardmetrics/ward/ingest"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func parseFloatRef(s string) (float64, error) { return strconv.ParseFloat(s, 64) }

// nextLineOf is nextLine with a simple line's result written into l as
// ParseLine would have, so that tests compare one form.
func nextLineOf(p []byte, l *Line, opt ParseOptions, kh ingest.KeyHasher) (int, []byte, ingest.Reason) {
	var sm ingest.Simple
	n, ln, r, simple := nextLine(p, l, &sm, opt, kh)
	if simple {
		l.reset()
		l.Name, l.NameHash, l.Kind, l.Delta = sm.Name, sm.NameHash, sm.Kind, sm.Delta
		l.Values = append(l.Values, sm.Value)
	}
	return n, ln, r
}
