package experiment

import (
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/wardmetrics/ward/stats"
)

// SignificanceResult is the answer of the quick calculator behind
// `ward experiment significance --control 64630/148266 --treatment 66903/150702`.
type SignificanceResult struct {
	Test       string  `json:"test"`
	Control    Rate    `json:"control"`
	Treatment  Rate    `json:"treatment"`
	Statistic  Float   `json:"statistic"`
	PValue     Float   `json:"p_value"`
	Difference Float   `json:"difference"`
	CILow      Float   `json:"ci_low"`
	CIHigh     Float   `json:"ci_high"`
	Confidence float64 `json:"confidence"`
	// RelativeLift is treatment/control - 1 with its delta-method interval.
	RelativeLift Float `json:"relative_lift"`
	LiftCILow    Float `json:"lift_ci_low"`
	LiftCIHigh   Float `json:"lift_ci_high"`
	Significant  bool  `json:"significant"`
	// RuleOfThumb is the slide's check, printed beside the exact test.
	RuleOfThumb RuleOfThumb `json:"rule_of_thumb"`
}

// Rate is conversions among users.
type Rate struct {
	Conversions int64 `json:"conversions"`
	Users       int64 `json:"users"`
	Rate        Float `json:"rate"`
}

// RuleOfThumb is "significant when D² > N" for a 50/50 split, with N the total of both
// conversion counts and D half their difference: the chi-squared test of a 50/50 split
// at X² = 4D²/N > 4, about 95.45% confidence.
type RuleOfThumb struct {
	N           int64   `json:"n"`
	D           float64 `json:"d"`
	DSquared    float64 `json:"d_squared"`
	Significant bool    `json:"significant"`
	Confidence  float64 `json:"confidence"`
	// Note warns when the users are not split 50/50, which the rule assumes.
	Note string `json:"note,omitempty"`
}

// Significance compares two conversion rates with the two-sided two-proportion z-test
// (pooled standard error for the test, unpooled for the 95% interval) and adds the
// rule of thumb.
func Significance(controlConv, controlN, treatConv, treatN int64) (SignificanceResult, error) {
	pc := stats.Proportion{Successes: controlConv, Trials: controlN}
	pt := stats.Proportion{Successes: treatConv, Trials: treatN}
	r, err := stats.TwoProportionZTest(pc, pt, stats.Options{Confidence: 0.95})
	if err != nil {
		return SignificanceResult{}, fmt.Errorf("significance of %d/%d against %d/%d: %w", treatConv, treatN, controlConv, controlN, err)
	}
	rule := stats.DSquaredRule(treatConv, controlConv)
	out := SignificanceResult{
		Test:       "two-proportion z-test, two-sided (pooled standard error; unpooled 95% interval)",
		Control:    Rate{Conversions: controlConv, Users: controlN, Rate: Float(r.ControlRate)},
		Treatment:  Rate{Conversions: treatConv, Users: treatN, Rate: Float(r.TreatmentRate)},
		Statistic:  Float(r.Statistic),
		PValue:     Float(r.PValue),
		Difference: Float(r.Estimate), CILow: Float(r.CI.Lo), CIHigh: Float(r.CI.Hi),
		Confidence:   r.Confidence,
		RelativeLift: Float(r.Lift.Estimate), LiftCILow: Float(r.Lift.CI.Lo), LiftCIHigh: Float(r.Lift.CI.Hi),
		Significant: r.PValue < 0.05,
		RuleOfThumb: RuleOfThumb{
			N: int64(rule.N), D: rule.D, DSquared: rule.D * rule.D,
			Significant: rule.Significant, Confidence: stats.DSquaredRuleConfidence,
		},
	}
	if share := float64(treatN) / float64(treatN+controlN); math.Abs(share-0.5) > 0.005 {
		out.RuleOfThumb.Note = fmt.Sprintf("the rule assumes a 50/50 split of users; treatment has %.1f%%", 100*share)
	}
	return out, nil
}

// ParseFraction parses "conversions/users", e.g. "64630/148266".
func ParseFraction(s string) (conv, users int64, err error) {
	a, b, ok := strings.Cut(strings.TrimSpace(s), "/")
	if !ok {
		return 0, 0, fmt.Errorf("%w: %q: want conversions/users, e.g. 64630/148266", ErrInvalid, s)
	}
	if conv, err = strconv.ParseInt(strings.TrimSpace(a), 10, 64); err != nil {
		return 0, 0, fmt.Errorf("%w: conversions in %q: %w", ErrInvalid, s, err)
	}
	if users, err = strconv.ParseInt(strings.TrimSpace(b), 10, 64); err != nil {
		return 0, 0, fmt.Errorf("%w: users in %q: %w", ErrInvalid, s, err)
	}
	if conv < 0 || users <= 0 || conv > users {
		return 0, 0, fmt.Errorf("%w: %q: need 0 <= conversions <= users and users > 0", ErrInvalid, s)
	}
	return conv, users, nil
}

// WriteText prints the result as `ward experiment significance` shows it.
func (r SignificanceResult) WriteText(w io.Writer) error {
	verdict := func(b bool) string {
		if b {
			return "significant"
		}
		return "not significant"
	}
	rule := r.RuleOfThumb
	var b strings.Builder
	fmt.Fprintf(&b, "control    %d/%d = %.4f%%\n", r.Control.Conversions, r.Control.Users, 100*float64(r.Control.Rate))
	fmt.Fprintf(&b, "treatment  %d/%d = %.4f%%\n", r.Treatment.Conversions, r.Treatment.Users, 100*float64(r.Treatment.Rate))
	fmt.Fprintf(&b, "test       %s\n", r.Test)
	fmt.Fprintf(&b, "z          %.4f\n", float64(r.Statistic))
	fmt.Fprintf(&b, "p-value    %.6f  (%s at 0.05)\n", float64(r.PValue), verdict(r.Significant))
	fmt.Fprintf(&b, "difference %+.4f%%  %.0f%% CI [%+.4f%%, %+.4f%%]\n", 100*float64(r.Difference), 100*r.Confidence, 100*float64(r.CILow), 100*float64(r.CIHigh))
	fmt.Fprintf(&b, "lift       %+.2f%%  %.0f%% CI [%+.2f%%, %+.2f%%]\n", 100*float64(r.RelativeLift), 100*r.Confidence, 100*float64(r.LiftCILow), 100*float64(r.LiftCIHigh))
	fmt.Fprintf(&b, "rule of thumb (50/50 split): N = %d, D = %.1f, D² = %.0f %s N → %s (about %.2f%% confidence)\n",
		rule.N, rule.D, rule.DSquared, map[bool]string{true: ">", false: "<="}[rule.Significant], verdict(rule.Significant), 100*rule.Confidence)
	if rule.Note != "" {
		fmt.Fprintf(&b, "           note: %s\n", rule.Note)
	}
	_, err := io.WriteString(w, b.String())
	return err
}
