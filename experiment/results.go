package experiment

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/wardmetrics/ward/stats"
)

// Correction names a multiple-comparison correction across branches × metrics.
type Correction string

const (
	// CorrectionHolm controls the family-wise error rate (the default).
	CorrectionHolm Correction = "holm"
	// CorrectionBH controls the false discovery rate (Benjamini-Hochberg).
	CorrectionBH Correction = "bh"
	// CorrectionNone reports raw p-values as adjusted ones.
	CorrectionNone Correction = "none"
)

// ResultsOptions select how results are judged. The zero value is 95% confidence, Holm's
// correction and fixed-horizon tests.
type ResultsOptions struct {
	// Confidence of intervals and 1 - alpha of the tests; 0 means 0.95.
	Confidence float64
	Correction Correction
	// Sequential judges significance by always-valid p-values and confidence
	// sequences, which stay valid however often results are looked at. Both kinds are
	// always reported; this chooses which one Significant follows.
	Sequential bool
	// TuningSampleSize is the total users at which confidence sequences are tightest;
	// 0 means the stats package's default.
	TuningSampleSize float64
}

// ParseResultsOptions reads the query parameters of GET .../results: confidence,
// correction (holm, bh, none), sequential (true/false/1/0) and tuning (users). get
// returns a parameter's value or "".
func ParseResultsOptions(get func(string) string) (ResultsOptions, error) {
	var o ResultsOptions
	var err error
	if s := get("confidence"); s != "" {
		if o.Confidence, err = strconv.ParseFloat(s, 64); err != nil {
			return o, fmt.Errorf("%w: confidence %q: %w", ErrInvalid, s, err)
		}
	}
	o.Correction = Correction(get("correction"))
	if s := get("sequential"); s != "" {
		if o.Sequential, err = strconv.ParseBool(s); err != nil {
			return o, fmt.Errorf("%w: sequential %q: %w", ErrInvalid, s, err)
		}
	}
	if s := get("tuning"); s != "" {
		if o.TuningSampleSize, err = strconv.ParseFloat(s, 64); err != nil {
			return o, fmt.Errorf("%w: tuning %q: %w", ErrInvalid, s, err)
		}
	}
	return o.resolve()
}

func (o ResultsOptions) resolve() (ResultsOptions, error) {
	if o.Confidence == 0 {
		o.Confidence = 0.95
	}
	if !(o.Confidence > 0 && o.Confidence < 1) {
		return o, fmt.Errorf("%w: confidence %v outside (0, 1)", ErrInvalid, o.Confidence)
	}
	switch o.Correction {
	case "":
		o.Correction = CorrectionHolm
	case CorrectionHolm, CorrectionBH, CorrectionNone:
	default:
		return o, fmt.Errorf("%w: correction %q: want holm, bh or none", ErrInvalid, o.Correction)
	}
	if !(o.TuningSampleSize >= 0) || math.IsInf(o.TuningSampleSize, 0) {
		return o, fmt.Errorf("%w: tuning sample size %v", ErrInvalid, o.TuningSampleSize)
	}
	return o, nil
}

// Results is the body of GET /api/v1/experiments/{name}/results.
type Results struct {
	Experiment string      `json:"experiment"`
	Status     Status      `json:"status"`
	Winner     string      `json:"winner,omitempty"`
	Control    string      `json:"control"`
	Computed   time.Time   `json:"computed"`
	Confidence float64     `json:"confidence"`
	Correction Correction  `json:"correction"`
	Sequential bool        `json:"sequential"`
	Users      int64       `json:"users"`
	Branches   []BranchRow `json:"branches"`
	SRM        SRMCheck    `json:"srm"`
	Metrics    []MetricRow `json:"metrics"`
	// Warnings are what a reader must not miss: a sample-ratio mismatch first.
	Warnings []string `json:"warnings,omitempty"`
}

// BranchRow is a branch's exposed users against what its weights predict.
type BranchRow struct {
	Name   string  `json:"name"`
	Weight float64 `json:"weight"`
	// ExpectedShare is the share the weights predict, averaged over weight changes by
	// when each user was exposed.
	ExpectedShare Float `json:"expected_share"`
	Users         int64 `json:"users"`
	Share         Float `json:"share"`
}

// SRMCheck is the sample-ratio-mismatch check: a chi-squared goodness-of-fit test of
// users per branch against the weights. A mismatch (p < 0.001) means assignment or
// logging is broken and no comparison can be trusted.
type SRMCheck struct {
	Method     string `json:"method,omitempty"`
	ChiSquared Float  `json:"chi_squared"`
	DF         int    `json:"df"`
	PValue     Float  `json:"p_value"`
	Mismatch   bool   `json:"mismatch"`
	Note       string `json:"note,omitempty"`
}

// MetricRow is one metric's per-branch figures and comparisons.
type MetricRow struct {
	Metric string `json:"metric"`
	Kind   Kind   `json:"kind"`
	// Test is the fixed-horizon test used for the comparisons.
	Test     string      `json:"test"`
	Branches []BranchRes `json:"branches"`
}

// BranchRes is one branch's figures for one metric. Per-user figures count every
// exposed user, with zero for users without events.
type BranchRes struct {
	Branch         string `json:"branch"`
	Users          int64  `json:"users"`
	Converted      int64  `json:"converted"`
	ConversionRate Float  `json:"conversion_rate"`
	Events         int64  `json:"events"`
	Sum            Float  `json:"sum"`
	Mean           Float  `json:"mean"`
	Variance       Float  `json:"variance"`
	// RevenuePerUser is set for revenue metrics (it equals Mean), for the ROI.
	RevenuePerUser *Float `json:"revenue_per_user,omitempty"`
	// VsControl is absent for control itself.
	VsControl *Comparison `json:"vs_control,omitempty"`
}

// Comparison is a branch against control on one metric.
type Comparison struct {
	Test string `json:"test"`
	// Difference is treatment - control: of conversion rates for conversion metrics, of
	// means per user otherwise; CI is its confidence interval.
	Difference Float `json:"difference"`
	CILow      Float `json:"ci_low"`
	CIHigh     Float `json:"ci_high"`
	// RelativeLift is treatment/control - 1 with its delta-method interval.
	RelativeLift Float `json:"relative_lift"`
	LiftCILow    Float `json:"lift_ci_low"`
	LiftCIHigh   Float `json:"lift_ci_high"`
	Statistic    Float `json:"statistic"`
	DF           Float `json:"df,omitempty"`
	PValue       Float `json:"p_value"`
	// AdjustedPValue is PValue after the correction across branches × metrics.
	AdjustedPValue Float `json:"adjusted_p_value"`
	// Sequential is the always-valid counterpart.
	Sequential SequentialRes `json:"sequential"`
	// Significant follows the adjusted p-value of the mode chosen (fixed or sequential).
	Significant bool `json:"significant"`
	// Direction is "increase" or "decrease" when significant, "none" otherwise.
	Direction string `json:"direction"`
	// Note says why there is no test (too little data), when there is none.
	Note string `json:"note,omitempty"`
}

// SequentialRes is an always-valid p-value and confidence sequence at this look.
type SequentialRes struct {
	CILow          Float `json:"ci_low"`
	CIHigh         Float `json:"ci_high"`
	LiftCILow      Float `json:"lift_ci_low"`
	LiftCIHigh     Float `json:"lift_ci_high"`
	PValue         Float `json:"p_value"`
	AdjustedPValue Float `json:"adjusted_p_value"`
}

// branchAgg is one branch's sufficient statistics for one metric.
type branchAgg struct {
	sum       stats.Summary
	converted int64
	events    int64
}

// metricSnapshot is what Results copies under the experiment's lock.
type metricSnapshot struct {
	name string
	kind Kind
	aggs []branchAgg
}

// Results computes the experiment's results now. The per-user arrays are scanned once
// per metric under a read lock; the statistics run after it is released.
func (m *Manager) Results(name string, opts ResultsOptions) (Results, error) {
	opts, err := opts.resolve()
	if err != nil {
		return Results{}, err
	}
	e, err := m.lookup(name)
	if err != nil {
		return Results{}, err
	}
	e.mu.RLock()
	d := e.def.Clone()
	users := append([]int64(nil), e.branchUsers...)
	expected := e.expectedShares()
	snaps := make([]metricSnapshot, 0, len(d.Metrics)+len(e.order))
	add := func(name string, kind Kind) {
		ms := metricSnapshot{name: name, kind: kind, aggs: make([]branchAgg, len(d.Branches))}
		if mt := e.metrics[name]; mt != nil {
			aggregate(ms.aggs, e.branch, mt)
		}
		for b := range ms.aggs {
			ms.aggs[b].sum.N = users[b]
		}
		snaps = append(snaps, ms)
	}
	if len(d.Metrics) > 0 {
		for _, mt := range d.Metrics {
			add(mt.Name, mt.Kind)
		}
	} else {
		// By name, so that the order does not depend on which event came first (nor
		// change across a restart, which reloads metrics in key order).
		names := make([]string, 0, len(e.order))
		for _, mt := range e.order {
			names = append(names, mt.name)
		}
		slices.Sort(names)
		for _, n := range names {
			add(n, KindConversion)
		}
	}
	e.mu.RUnlock()

	r := Results{
		Experiment: d.Name, Status: d.Status, Winner: d.Winner, Control: d.Control(),
		Computed: m.opts.Now().UTC(), Confidence: opts.Confidence, Correction: opts.Correction,
		Sequential: opts.Sequential, Metrics: []MetricRow{},
	}
	for _, u := range users {
		r.Users += u
	}
	for b, br := range d.Branches {
		row := BranchRow{Name: br.Name, Weight: br.Weight, ExpectedShare: Float(expected[b]), Users: users[b], Share: Float(math.NaN())}
		if r.Users > 0 {
			row.Share = Float(float64(users[b]) / float64(r.Users))
		}
		r.Branches = append(r.Branches, row)
	}
	r.SRM = srmCheck(users, expected, d.Branches)
	if r.SRM.Mismatch {
		r.Warnings = append(r.Warnings, fmt.Sprintf("SAMPLE RATIO MISMATCH: users per branch do not fit the weights (chi-squared %.2f, p = %.3g < 0.001); assignment or exposure logging is broken and these results cannot be trusted", float64(r.SRM.ChiSquared), float64(r.SRM.PValue)))
	}
	for _, s := range snaps {
		r.Metrics = append(r.Metrics, metricRow(s, d, opts))
	}
	correct(&r, opts)
	return r, nil
}

// aggregate sums one metric's per-user totals by branch. Users without events add
// nothing but their count, which the caller sets from the exposures.
func aggregate(aggs []branchAgg, branch []uint8, mt *metricState) {
	n := min(len(mt.sum), len(branch))
	sums, counts := mt.sum[:n], mt.count[:n]
	for i, c := range counts {
		if c == 0 {
			continue
		}
		b := branch[i]
		if int(b) >= len(aggs) {
			continue
		}
		v := sums[i]
		a := &aggs[b]
		a.sum.Sum += v
		a.sum.SumSquares += v * v
		a.converted++
		a.events += int64(c)
	}
}

func srmCheck(users []int64, expected []float64, branches []Branch) SRMCheck {
	var obs []int64
	var w []float64
	var total int64
	for b, u := range users {
		total += u
		if expected[b] > 0 {
			obs, w = append(obs, u), append(w, expected[b])
		} else if u > 0 {
			return SRMCheck{ChiSquared: Float(math.Inf(1)), PValue: 0, Mismatch: true,
				Note: fmt.Sprintf("branch %q has weight 0 but %d users", branches[b].Name, u)}
		}
	}
	if total == 0 || len(obs) < 2 {
		return SRMCheck{ChiSquared: Float(math.NaN()), PValue: Float(math.NaN()), Note: "no users yet"}
	}
	res, err := stats.SampleRatioMismatch(obs, w)
	if err != nil {
		return SRMCheck{ChiSquared: Float(math.NaN()), PValue: Float(math.NaN()), Note: err.Error()}
	}
	return SRMCheck{Method: res.Method, ChiSquared: Float(res.ChiSquared), DF: res.DF, PValue: Float(res.PValue), Mismatch: res.Mismatch()}
}

func metricRow(s metricSnapshot, d Definition, opts ResultsOptions) MetricRow {
	row := MetricRow{Metric: s.name, Kind: s.kind, Test: testName(s.kind)}
	for b, a := range s.aggs {
		br := BranchRes{
			Branch: d.Branches[b].Name, Users: a.sum.N, Converted: a.converted, Events: a.events,
			Sum: Float(a.sum.Sum), Mean: Float(math.NaN()), ConversionRate: Float(math.NaN()),
			Variance: Float(a.sum.Variance()),
		}
		if a.sum.N > 0 {
			br.Mean = Float(a.sum.Mean())
			br.ConversionRate = Float(float64(a.converted) / float64(a.sum.N))
		}
		if s.kind == KindRevenue {
			rpu := br.Mean
			br.RevenuePerUser = &rpu
		}
		if b > 0 {
			c := compare(s.kind, s.aggs[0], a, opts)
			br.VsControl = &c
		}
		row.Branches = append(row.Branches, br)
	}
	return row
}

func testName(k Kind) string {
	if k == KindConversion {
		return "two-proportion z-test"
	}
	return "Welch's t-test"
}

func nan() Float { return Float(math.NaN()) }

// compare runs the fixed-horizon and the sequential test of treatment against control.
func compare(kind Kind, control, treat branchAgg, opts ResultsOptions) Comparison {
	c := Comparison{
		Test: testName(kind), Difference: nan(), CILow: nan(), CIHigh: nan(), RelativeLift: nan(),
		LiftCILow: nan(), LiftCIHigh: nan(), Statistic: nan(), PValue: nan(), AdjustedPValue: nan(),
		Direction: "none",
		Sequential: SequentialRes{CILow: nan(), CIHigh: nan(), LiftCILow: nan(), LiftCIHigh: nan(),
			PValue: nan(), AdjustedPValue: nan()},
	}
	so := stats.Options{Confidence: opts.Confidence}
	qo := stats.SequentialOptions{Confidence: opts.Confidence, TuningSampleSize: opts.TuningSampleSize}
	var (
		res  stats.Result
		lift stats.Lift
		seq  stats.SequentialResult
		err  error
		serr error
	)
	if kind == KindConversion {
		pc := stats.Proportion{Successes: control.converted, Trials: control.sum.N}
		pt := stats.Proportion{Successes: treat.converted, Trials: treat.sum.N}
		var r stats.TwoProportionResult
		r, err = stats.TwoProportionZTest(pc, pt, so)
		res, lift = r.Result, r.Lift
		seq, serr = stats.SequentialTwoProportion(pc, pt, qo)
	} else {
		var r stats.WelchResult
		r, err = stats.WelchTTest(control.sum, treat.sum, so)
		res, lift = r.Result, r.Lift
		if err == nil {
			c.DF = Float(r.DF)
		}
		seq, serr = stats.SequentialWelch(control.sum, treat.sum, qo)
	}
	if err != nil {
		c.Note = noteOf(err)
		return c
	}
	c.Difference, c.CILow, c.CIHigh = Float(res.Estimate), Float(res.CI.Lo), Float(res.CI.Hi)
	c.RelativeLift, c.LiftCILow, c.LiftCIHigh = Float(lift.Estimate), Float(lift.CI.Lo), Float(lift.CI.Hi)
	c.Statistic, c.PValue = Float(res.Statistic), Float(res.PValue)
	if serr == nil {
		c.Sequential = SequentialRes{
			CILow: Float(seq.CI.Lo), CIHigh: Float(seq.CI.Hi),
			LiftCILow: Float(seq.Lift.CI.Lo), LiftCIHigh: Float(seq.Lift.CI.Hi),
			PValue: Float(seq.PValue), AdjustedPValue: nan(),
		}
	}
	return c
}

func noteOf(err error) string {
	if errors.Is(err, stats.ErrNoData) {
		return "not enough data to test: " + err.Error()
	}
	return err.Error()
}

// correct adjusts the p-values of every comparison across branches × metrics, then
// decides significance by the chosen mode.
func correct(r *Results, opts ResultsOptions) {
	var fixed, seq []float64
	var cs []*Comparison
	for mi := range r.Metrics {
		for bi := range r.Metrics[mi].Branches {
			if c := r.Metrics[mi].Branches[bi].VsControl; c != nil {
				cs = append(cs, c)
				fixed = append(fixed, float64(c.PValue))
				seq = append(seq, float64(c.Sequential.PValue))
			}
		}
	}
	adjust := func(p []float64) []float64 {
		switch opts.Correction {
		case CorrectionBH:
			return stats.BenjaminiHochberg(p)
		case CorrectionNone:
			return p
		}
		return stats.Holm(p)
	}
	fa, sa := adjust(fixed), adjust(seq)
	alpha := 1 - opts.Confidence
	for i, c := range cs {
		c.AdjustedPValue, c.Sequential.AdjustedPValue = Float(fa[i]), Float(sa[i])
		p := fa[i]
		if opts.Sequential {
			p = sa[i]
		}
		c.Significant = p < alpha // NaN (no test) is never significant
		switch {
		case c.Significant && c.Difference > 0:
			c.Direction = "increase"
		case c.Significant && c.Difference < 0:
			c.Direction = "decrease"
		}
	}
}
