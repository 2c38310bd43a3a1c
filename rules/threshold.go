package rules

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Threshold is a comparison such as "< 0.95" applied to a rule's value.
type Threshold struct {
	Op    string  `json:"op"`
	Value float64 `json:"value"`
}

// thresholdOps is ordered so that two-character operators are tried first.
var thresholdOps = []string{"<=", ">=", "==", "!=", "<", ">"}

// ParseThreshold parses "<op> <number>" with op one of < <= > >= == !=.
func ParseThreshold(s string) (Threshold, error) {
	t := strings.TrimSpace(s)
	for _, op := range thresholdOps {
		rest, ok := strings.CutPrefix(t, op)
		if !ok {
			continue
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(rest), 64)
		if err != nil || math.IsNaN(v) {
			return Threshold{}, fmt.Errorf("threshold %q: %q is not a number", s, strings.TrimSpace(rest))
		}
		return Threshold{Op: op, Value: v}, nil
	}
	return Threshold{}, fmt.Errorf("threshold %q: want an operator (<, <=, >, >=, ==, !=) and a number, as in \"< 0.95\"", s)
}

// Match reports whether v satisfies the threshold. NaN never matches.
func (t Threshold) Match(v float64) bool {
	switch t.Op {
	case "<":
		return v < t.Value
	case "<=":
		return v <= t.Value
	case ">":
		return v > t.Value
	case ">=":
		return v >= t.Value
	case "==":
		return v == t.Value
	case "!=":
		return !math.IsNaN(v) && v != t.Value
	}
	return false
}

// String formats the threshold as it is written in rule files.
func (t Threshold) String() string {
	return t.Op + " " + formatValue(t.Value)
}

func formatValue(v float64) string {
	return strconv.FormatFloat(v, 'g', 6, 64)
}
