package deploy

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/wardmetrics/ward/stats"
)

// Decision is the guard's answer for a release.
type Decision string

// The decisions: promote (200), roll back (409), or wait for more data (503).
const (
	Promote  Decision = "promote"
	Rollback Decision = "rollback"
	Wait     Decision = "wait"
)

// SRMCheck is the sample-ratio-mismatch check of the canary's traffic share.
type SRMCheck struct {
	CanaryTraffic   Num    `json:"canary_traffic"`
	BaselineTraffic Num    `json:"baseline_traffic"`
	ExpectedShare   Num    `json:"expected_share"`
	ObservedShare   Num    `json:"observed_share"`
	PValue          Num    `json:"p_value"`
	Mismatch        bool   `json:"mismatch"`
	Reason          string `json:"reason,omitempty"`
}

// Verdict is the guard's judgement of a release at one time.
type Verdict struct {
	Release  string   `json:"release"`
	Phase    Phase    `json:"phase"`
	Decision Decision `json:"decision"`
	Reason   string   `json:"reason"`
	// Score is Kayenta's: the weighted share of passing metrics per group, 0-100,
	// with inconclusive metrics counted as not passing. PassScore and MarginalScore
	// are the thresholds it was held to.
	Score         float64        `json:"score"`
	PassScore     float64        `json:"pass_score"`
	MarginalScore float64        `json:"marginal_score"`
	At            time.Time      `json:"at"`
	Start         time.Time      `json:"start"`
	Window        string         `json:"window"`
	SRM           *SRMCheck      `json:"srm,omitempty"`
	Metrics       []MetricResult `json:"metrics"`
	// RetryAfter is when to ask again, in seconds, for a wait.
	RetryAfter int `json:"retry_after,omitempty"`
}

// Decide turns provisional metric results into verdicts and the release's decision.
// Critical metrics are judged alone at 1-confidence; the others share a Holm
// correction. A critical failure rolls back; a critical metric without enough data, or
// a sample-ratio mismatch, forbids promotion; otherwise the Kayenta score decides:
// promote at or above passScore, roll back when even counting every inconclusive
// metric as passing the score is below marginalScore, and wait in between.
func Decide(results []MetricResult, srm *SRMCheck, confidence, passScore, marginalScore float64) (Decision, float64, string) {
	alpha := 1 - confidence
	var idx []int
	var ps []float64
	for i := range results {
		r := &results[i]
		if r.Verdict == Inconclusive {
			continue
		}
		if r.Critical {
			r.AdjustedPValue = r.PValue
			continue
		}
		idx = append(idx, i)
		ps = append(ps, float64(r.PValue))
	}
	for j, adj := range stats.Holm(ps) {
		results[idx[j]].AdjustedPValue = Num(adj)
	}
	var critFail, critWait, failed []string
	for i := range results {
		r := &results[i]
		if r.Verdict == Inconclusive {
			if r.Critical {
				critWait = append(critWait, r.Name)
			}
			continue
		}
		if float64(r.AdjustedPValue) < alpha && r.material {
			r.Verdict = Fail
			r.Reason = fmt.Sprintf("%s %s beyond tolerance, p=%.3g < %.3g", r.EffectName, direction(r.Bad), float64(r.AdjustedPValue), alpha)
			failed = append(failed, r.Name)
			if r.Critical {
				critFail = append(critFail, r.Name)
			}
			continue
		}
		r.Verdict = Pass
		switch {
		case float64(r.AdjustedPValue) < alpha:
			r.Reason = "significant but within tolerance or in the harmless direction"
		default:
			r.Reason = fmt.Sprintf("no significant change, p=%.3g", float64(r.AdjustedPValue))
		}
	}
	score, optimistic := scores(results)
	switch {
	case len(critFail) > 0:
		return Rollback, score, "critical metric failed: " + strings.Join(critFail, ", ")
	case srm != nil && srm.Mismatch:
		return Wait, score, "sample ratio mismatch: the canary's traffic share is not what its hosts predict; no comparison is trusted"
	case len(results) == 0:
		return Wait, score, "no guard metrics configured"
	case optimistic < marginalScore:
		return Rollback, score, fmt.Sprintf("score %.0f below marginal %.0f even if every inconclusive metric passed; failed: %s", optimistic, marginalScore, strings.Join(failed, ", "))
	case len(critWait) > 0:
		return Wait, score, "critical metric without enough data: " + strings.Join(critWait, ", ")
	case score >= passScore:
		return Promote, score, fmt.Sprintf("score %.0f >= %.0f", score, passScore)
	}
	if len(failed) == 0 {
		return Wait, score, fmt.Sprintf("score %.0f below pass %.0f: metrics without enough data", score, passScore)
	}
	return Wait, score, fmt.Sprintf("score %.0f between marginal %.0f and pass %.0f (failed: %s)", score, marginalScore, passScore, strings.Join(failed, ", "))
}

func direction(bad Direction) string {
	switch bad {
	case BadUp:
		return "up"
	case BadDown:
		return "down"
	}
	return "changed"
}

// scores returns Kayenta's score with inconclusive metrics counted as not passing,
// and the optimistic score with them counted as passing.
func scores(results []MetricResult) (score, optimistic float64) {
	type group struct{ n, pass, notFail int }
	groups := map[string]*group{}
	weights := map[string]float64{}
	for _, r := range results {
		g := groups[r.Group]
		if g == nil {
			g = &group{}
			groups[r.Group] = g
		}
		g.n++
		if r.Verdict == Pass {
			g.pass++
		}
		if r.Verdict != Fail {
			g.notFail++
		}
		weights[r.Group] = math.Max(weights[r.Group], r.Weight)
	}
	names := make([]string, 0, len(groups))
	for n := range groups {
		names = append(names, n)
	}
	sort.Strings(names)
	var total float64
	for _, n := range names {
		g, w := groups[n], weights[n]
		total += w
		score += w * float64(g.pass) / float64(g.n)
		optimistic += w * float64(g.notFail) / float64(g.n)
	}
	if total == 0 {
		return 0, 100
	}
	return 100 * score / total, 100 * optimistic / total
}
