package experiment

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

func near(t *testing.T, what string, got Float, want float64) {
	t.Helper()
	if math.Abs(float64(got)-want) > 1e-6*math.Max(1, math.Abs(want)) {
		t.Errorf("%s = %.12g, want %.12g (±1e-6)", what, float64(got), want)
	}
}

// TestResultsReferenceValues builds a small experiment user by user and checks every
// figure against R 4.x, which computed them from the same per-user vectors:
//
//	ci <- 0:199; conv_c <- ci %% 4 == 0
//	rev_c <- ifelse(conv_c, (ci %% 7)*100+250 + (ci %% 3)*50, 0)
//	ti <- 0:219; conv_t <- ti %% 20 < 7
//	rev_t <- ifelse(conv_t, (ti %% 11)*90+300, 0)
//	p <- prop.test(c(sum(conv_t), sum(conv_c)), c(220, 200), correct=FALSE)
//	w <- t.test(rev_t, rev_c)                         # Welch
//	p.adjust(c(p$p.value, w$p.value), "holm")
//	chisq.test(c(200, 220), p=c(.5, .5))              # SRM
func TestResultsReferenceValues(t *testing.T) {
	e := newEnv(t)
	d := fiftyFifty("ref")
	d.Metrics = []Metric{{Name: "order"}, {Name: "revenue", Kind: KindRevenue}}
	e.create(d)
	var xs []Exposure
	var evs []Event
	for i := range 200 {
		uid := fmt.Sprint("c", i)
		xs = append(xs, Exposure{Experiment: "ref", UID: uid, Branch: "control"})
		if i%4 == 0 {
			evs = append(evs, Event{UID: uid, Metric: "order", Value: 1},
				Event{UID: uid, Metric: "revenue", Value: float64((i%7)*100 + 250)},
				Event{UID: uid, Metric: "revenue", Value: float64((i % 3) * 50)})
		}
	}
	for i := range 220 {
		uid := fmt.Sprint("t", i)
		xs = append(xs, Exposure{Experiment: "ref", UID: uid, Branch: "treatment"})
		if i%20 < 7 {
			evs = append(evs, Event{UID: uid, Metric: "order", Value: 1},
				Event{UID: uid, Metric: "revenue", Value: float64((i%11)*90 + 300)})
		}
	}
	if r, err := e.m.RecordExposures(ExposuresRequest{Exposures: xs}); err != nil || r.Recorded != 420 {
		t.Fatalf("exposures: %+v, %v", r, err)
	}
	e.clock.Advance(time.Second)
	e.events(evs...)

	r := e.results("ref", ResultsOptions{})
	order, rev := r.Metrics[0], r.Metrics[1]
	if order.Branches[0].Converted != 50 || order.Branches[1].Converted != 77 {
		t.Errorf("converted %d and %d, want 50 and 77", order.Branches[0].Converted, order.Branches[1].Converted)
	}
	oc := order.Branches[1].VsControl
	near(t, "z", oc.Statistic, 2.22851372303953)
	near(t, "conversion p", oc.PValue, 0.0258462772575249)
	near(t, "conversion CI low", oc.CILow, 0.0129725026872103)
	near(t, "conversion CI high", oc.CIHigh, 0.18702749731279)
	near(t, "conversion difference", oc.Difference, 77.0/220-50.0/200)
	near(t, "conversion lift", oc.RelativeLift, (77.0/220)/(50.0/200)-1)

	near(t, "control mean", rev.Branches[0].Mean, 148.25)
	near(t, "treatment mean", rev.Branches[1].Mean, 262.5)
	near(t, "control variance", rev.Branches[0].Variance, 77069.7864321608)
	near(t, "treatment variance", rev.Branches[1].Variance, 157032.534246575)
	near(t, "revenue per user", *rev.Branches[1].RevenuePerUser, 262.5)
	rc := rev.Branches[1].VsControl
	near(t, "t", rc.Statistic, 3.4461251860323)
	near(t, "df", rc.DF, 393.179178535375)
	near(t, "welch p", rc.PValue, 0.000630016811496459)
	near(t, "welch CI low", rc.CILow, 49.0703276335451)
	near(t, "welch CI high", rc.CIHigh, 179.429672366455)
	near(t, "holm order", oc.AdjustedPValue, 0.0258462772575249)
	near(t, "holm revenue", rc.AdjustedPValue, 0.00126003362299292)
	if !oc.Significant || !rc.Significant || oc.Direction != "increase" {
		t.Errorf("significance: order %v (%s), revenue %v", oc.Significant, oc.Direction, rc.Significant)
	}
	near(t, "SRM chi-squared", r.SRM.ChiSquared, 0.952380952380952)
	near(t, "SRM p", r.SRM.PValue, 0.329113985978608)
	if r.SRM.Mismatch || len(r.Warnings) != 0 {
		t.Errorf("SRM flagged: %+v %v", r.SRM, r.Warnings)
	}
	// The sequential interval is wider than the fixed one (it holds at every look).
	if !(rc.Sequential.CILow < rc.CILow && rc.Sequential.CIHigh > rc.CIHigh) {
		t.Errorf("confidence sequence [%v, %v] is not wider than the interval [%v, %v]", rc.Sequential.CILow, rc.Sequential.CIHigh, rc.CILow, rc.CIHigh)
	}
	// In sequential mode the borderline conversion result no longer counts as a win.
	seq := e.results("ref", ResultsOptions{Sequential: true})
	if c := seq.Metrics[0].Branches[1].VsControl; c.Significant {
		t.Errorf("sequential mode calls conversion p=%v (always-valid %v) significant", c.PValue, c.Sequential.AdjustedPValue)
	}
	// Benjamini-Hochberg, from p.adjust(..., "BH").
	bh := e.results("ref", ResultsOptions{Correction: CorrectionBH})
	near(t, "BH revenue", bh.Metrics[1].Branches[1].VsControl.AdjustedPValue, 0.00126003362299292)
}

// The IMVU screenshot: control 64630/148266, treatment 66903/150702, "P-value 0.000010".
func TestSignificanceIMVU(t *testing.T) {
	c, n, err := ParseFraction("64630/148266")
	if err != nil {
		t.Fatal(err)
	}
	r, err := Significance(c, n, 66903, 150702)
	if err != nil {
		t.Fatal(err)
	}
	// R: prop.test(c(66903, 64630), c(150702, 148266), correct=FALSE)
	if math.Abs(float64(r.PValue)-0.000010) > 0.0000005 {
		t.Errorf("p-value %.7f, want 0.000010 as on the screenshot", float64(r.PValue))
	}
	if !r.Significant || !r.RuleOfThumb.Significant || r.RuleOfThumb.N != 131533 || r.RuleOfThumb.D != 1136.5 {
		t.Errorf("result %+v", r)
	}
	var b bytes.Buffer
	if err := r.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"two-proportion z-test", "p-value    0.000010", "D² = 1291632 > N", "95% CI"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, b.String())
		}
	}
	for _, bad := range []string{"12", "1/0", "5/3", "-1/4", "a/b"} {
		if _, _, err := ParseFraction(bad); err == nil {
			t.Errorf("ParseFraction(%q) accepted", bad)
		}
	}
}

// simulate exposes n users through Assign and sends their events: conversion with the
// branch's probability, and revenue for converters.
func simulate(t *testing.T, e *env, name string, n int, seed uint64, conv [2]float64, revenue [2]float64) {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	var evs []Event
	for i := range n {
		uid := fmt.Sprintf("%s-%d", name, i)
		a := e.assign(name, uid, "")
		if !a.Record {
			continue
		}
		if rng.Float64() < conv[a.Index] {
			evs = append(evs, Event{UID: uid, Metric: "order", Value: 1},
				Event{UID: uid, Metric: "revenue", Value: math.Round(revenue[a.Index] * (0.5 + rng.Float64()))})
		}
		if len(evs) >= 5000 {
			e.events(evs...)
			evs = evs[:0]
		}
	}
	e.events(evs...)
}

// End to end in the package: users are assigned, events sent, results read. A treatment
// converting at 12% against 10% is a significant increase; an A/A test is not.
func TestEndToEndSignificance(t *testing.T) {
	e := newEnv(t)
	for _, name := range []string{"better", "same"} {
		d := fiftyFifty(name)
		d.Metrics = []Metric{{Name: "order"}, {Name: "revenue", Kind: KindRevenue}}
		e.create(d)
	}
	e.clock.Advance(time.Second)
	simulate(t, e, "better", 20_000, 1, [2]float64{0.10, 0.12}, [2]float64{2000, 2000})
	simulate(t, e, "same", 20_000, 2, [2]float64{0.10, 0.10}, [2]float64{2000, 2000})

	for _, sequential := range []bool{false, true} {
		better := e.results("better", ResultsOptions{Sequential: sequential})
		c := better.Metrics[0].Branches[1].VsControl
		if !c.Significant || c.Direction != "increase" || !(c.CILow > 0) {
			t.Errorf("sequential=%v: 12%% vs 10%% not a significant increase: %+v", sequential, c)
		}
		if rl := float64(c.RelativeLift); rl < 0.1 || rl > 0.3 {
			t.Errorf("relative lift %.3f, want about 0.2", rl)
		}
		same := e.results("same", ResultsOptions{Sequential: sequential})
		for _, m := range same.Metrics {
			if c := m.Branches[1].VsControl; c.Significant {
				t.Errorf("sequential=%v: A/A test significant on %s: %+v", sequential, m.Metric, c)
			}
		}
		if better.SRM.Mismatch || same.SRM.Mismatch {
			t.Errorf("SRM flagged on a fair split: %+v %+v", better.SRM, same.SRM)
		}
	}
}

// A broken exposure log (treatment's exposures lost) trips the SRM check loudly.
func TestSRMWarning(t *testing.T) {
	e := newEnv(t)
	e.create(fiftyFifty("srm"))
	var xs []Exposure
	for i := range 1000 {
		br := "control"
		if i%10 < 4 { // 40/60 where 50/50 was configured
			br = "treatment"
		}
		xs = append(xs, Exposure{Experiment: "srm", UID: fmt.Sprint("u", i), Branch: br})
	}
	if _, err := e.m.RecordExposures(ExposuresRequest{Exposures: xs}); err != nil {
		t.Fatal(err)
	}
	r := e.results("srm", ResultsOptions{})
	// chisq.test(c(600, 400), p = c(.5, .5)): X-squared = 40, p-value = 2.539629e-10
	near(t, "chi-squared", r.SRM.ChiSquared, 40)
	if !r.SRM.Mismatch || len(r.Warnings) == 0 || !strings.Contains(r.Warnings[0], "SAMPLE RATIO MISMATCH") {
		t.Errorf("no loud SRM warning: %+v %v", r.SRM, r.Warnings)
	}
}

// Results with no users or no variance encode as JSON (undefined figures as null).
func TestResultsJSONWithoutData(t *testing.T) {
	e := newEnv(t)
	d := fiftyFifty("empty")
	d.Metrics = []Metric{{Name: "order"}, {Name: "revenue", Kind: KindValue}}
	e.create(d)
	r := e.results("empty", ResultsOptions{})
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatalf("marshal empty results: %v", err)
	}
	if !strings.Contains(string(b), `"mean":null`) || !strings.Contains(string(b), "not enough data") {
		t.Errorf("empty results: %s", b)
	}
	e.assign("empty", "u1", "")
	if _, err := json.Marshal(e.results("empty", ResultsOptions{})); err != nil {
		t.Errorf("marshal one-user results: %v", err)
	}
	var back Results
	if err := json.Unmarshal(b, &back); err != nil || !math.IsNaN(float64(back.Metrics[0].Branches[0].Mean)) {
		t.Errorf("decoding null as NaN: %v, mean %v", err, back.Metrics[0].Branches[0].Mean)
	}
}

func TestParseResultsOptions(t *testing.T) {
	q := map[string]string{"confidence": "0.9", "correction": "bh", "sequential": "1", "tuning": "20000"}
	o, err := ParseResultsOptions(func(k string) string { return q[k] })
	if err != nil || o.Confidence != 0.9 || o.Correction != CorrectionBH || !o.Sequential || o.TuningSampleSize != 20000 {
		t.Errorf("parsed %+v, %v", o, err)
	}
	for _, bad := range []map[string]string{{"confidence": "1.5"}, {"correction": "bonferroni"}, {"sequential": "maybe"}, {"tuning": "-1"}} {
		if _, err := ParseResultsOptions(func(k string) string { return bad[k] }); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
}

func TestResultsText(t *testing.T) {
	e := newEnv(t)
	d := fiftyFifty("text")
	d.Metrics = []Metric{{Name: "order"}, {Name: "revenue", Kind: KindRevenue}}
	e.create(d)
	e.clock.Advance(time.Second)
	simulate(t, e, "text", 4000, 3, [2]float64{0.10, 0.20}, [2]float64{1000, 1000})
	var b bytes.Buffer
	if err := e.results("text", ResultsOptions{}).WriteText(&b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{"experiment text (open), 4000 users", "sample ratio: chi-squared", "order (conversion, two-proportion z-test)",
		"revenue (revenue, Welch's t-test)", "(control)", "INCREASE"} {
		if !strings.Contains(out, want) {
			t.Errorf("text lacks %q:\n%s", want, out)
		}
	}
	t.Log("\n" + out)
}
