package deploy

import (
	"time"

	"github.com/prometheus/prometheus/promql/parser"
)

// graphQueries gives the range-query-ready PromQL of one metric's two sides, for
// graphs of the canary against its baseline (MetricResult.CanaryQuery and
// BaselineQuery). The verdict reads one number per side over the whole window; a graph
// wants a value at every step, so $window becomes the guard interval, at least a
// minute (a count over [$window] turns into events per interval; a shorter range may
// hold too few samples for increase or rate), and $step stays the metric's step.
//
// Counts are wrapped in sum(...): the evaluator adds up every element of the result,
// so the graph shows the number it judged. Samples stay as they are: every series is a
// source of samples. Before/after comparisons have no baseline selector: the baseline is
// the same expression shifted back with `offset` into the window it is compared with
// (as long as the deploy's age for before_after, a week for week_over_week), so at
// each instant after the deploy the two lines show now and then.
func graphQueries(m Metric, d Deploy, window, interval time.Duration) (canary, baseline string) {
	step, span := m.Step, max(interval, time.Minute)
	side := func(selector string) string {
		q := expand(m.Expr, selector, span, step)
		if m.Kind != KindSamples {
			q = "sum(" + q + ")"
		}
		return q
	}
	if m.Compare == CanaryVsBaseline {
		return side(d.Canary), side(d.Baseline)
	}
	canary = side(m.Selector)
	shift := max(window.Truncate(time.Second), time.Second)
	if m.Compare == WeekOverWeek {
		shift = week
	}
	return canary, withOffset(canary, shift)
}

// withOffset shifts every selector of expr back by shift (offsets add to any the
// expression has). PromQL puts offsets on selectors, not on whole expressions, so the
// expression is parsed and printed again. An expression that does not parse (the spec
// validated, so it should) gives "": no baseline graph rather than a wrong one.
func withOffset(expr string, shift time.Duration) string {
	e, err := parser.NewParser(parser.Options{}).ParseExpr(expr)
	if err != nil {
		return ""
	}
	var walk func(n parser.Node)
	walk = func(n parser.Node) {
		switch n := n.(type) {
		case *parser.VectorSelector:
			n.OriginalOffset += shift
			return
		case *parser.SubqueryExpr:
			// The subquery's own offset moves everything inside it.
			n.OriginalOffset += shift
			return
		}
		for c := range parser.ChildrenIter(n) {
			walk(c)
		}
	}
	walk(e)
	return e.String()
}
