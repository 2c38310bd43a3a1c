package statsd

import (
	"strconv"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func parseFloatRef(s string) (float64, error) { return strconv.ParseFloat(s, 64) }
