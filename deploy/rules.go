package deploy

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/promql/parser"
	"go.yaml.in/yaml/v3"
)

// Kind says how a metric's values are compared.
type Kind string

// The kinds of watched metrics.
const (
	// KindCount is a count of events over the window (errors, registrations): the
	// expression's values are summed into one count per side and compared with an
	// exposure share.
	KindCount Kind = "count"
	// KindSamples is a gauge or latency read once per step (load, p99): every
	// point of every series is one sample of its side.
	KindSamples Kind = "samples"
)

// Comparison says what the release is compared against.
type Comparison string

// The comparisons.
const (
	// CanaryVsBaseline compares the canary's hosts with the baseline's in the same
	// window.
	CanaryVsBaseline Comparison = "canary_vs_baseline"
	// BeforeAfter compares the time since the deploy with as long a time before it.
	BeforeAfter Comparison = "before_after"
	// WeekOverWeek compares the time since the deploy with the same time a week ago.
	WeekOverWeek Comparison = "week_over_week"
)

// Normalize says how a count is made fair between sides of different size.
type Normalize string

// The normalisations of counts compared canary against baseline.
const (
	// PerHost uses the canary's share of hosts, counted by Guard.Hosts.
	PerHost Normalize = "host"
	// PerRequest uses the canary's share of requests, from the metric's Exposure.
	PerRequest Normalize = "request"
)

// Direction is the way a metric must not move.
type Direction string

// The directions.
const (
	BadUp   Direction = "up"
	BadDown Direction = "down"
	BadBoth Direction = "both"
)

// Metric is one watched metric of the guard.
type Metric struct {
	// Name identifies the metric in verdicts.
	Name string `yaml:"name"`
	// Expr is PromQL with $selector (the side's label matchers, with a leading
	// comma when spliced after other matchers is up to the author), $window (the
	// time since the deploy, as a PromQL duration) and $step substituted.
	Expr string `yaml:"expr"`
	// Kind is count or samples; zero means count.
	Kind Kind `yaml:"kind"`
	// Compare is the comparison; zero means canary_vs_baseline.
	Compare Comparison `yaml:"compare"`
	// Normalize is host or request for counts compared canary against baseline;
	// zero means host.
	Normalize Normalize `yaml:"normalize"`
	// Exposure is the PromQL (templated like Expr) for each side's exposure when
	// Normalize is request, e.g. sum(increase(requests_total{$selector}[$window])).
	Exposure string `yaml:"exposure"`
	// Bad is the direction that fails the release: up, down or both; zero means up.
	Bad Direction `yaml:"bad"`
	// Tolerance is the relative change allowed even when significant (0.1 = 10%).
	Tolerance float64 `yaml:"tolerance"`
	// MinData is the least evidence to judge: events (A+B) for counts, samples per
	// side for samples. Zero means 10 samples, or 1 event.
	MinData float64 `yaml:"min_data"`
	// Critical metrics fail the release alone and are judged without correction.
	Critical bool `yaml:"critical"`
	// Group and Weight place the metric in the Kayenta-style score; zero weight
	// means 1 and an empty group the metric's own name.
	Group  string  `yaml:"group"`
	Weight float64 `yaml:"weight"`
	// Step spaces the samples of KindSamples and is substituted for $step; zero
	// means the spec's Step. Samples should not overlap (a rate over [1m] wants
	// step 1m), or they are not independent and the rank test is too eager.
	Step time.Duration `yaml:"step"`
	// Selector restricts before/after comparisons (substituted for $selector);
	// empty means the whole cluster.
	Selector string `yaml:"selector"`
}

// Action is what the guard does when it rolls a release back: a webhook receiving the
// verdict as JSON and/or a shell command with WARD_RELEASE and WARD_REASON set.
type Action struct {
	Webhook string        `yaml:"webhook"`
	Command string        `yaml:"command"`
	Timeout time.Duration `yaml:"timeout"`
}

// Spec is a `guard:` section: settings and the watched metrics.
type Spec struct {
	// Interval is how often canaries are judged; zero means one minute.
	Interval time.Duration `yaml:"interval"`
	// Step is the spacing of samples for KindSamples; zero means Interval.
	Step time.Duration `yaml:"step"`
	// Confidence is 1-alpha of every test; zero means 0.95.
	Confidence float64 `yaml:"confidence"`
	// Hosts counts the hosts of a side for per-host shares; zero means
	// count(count by (host) ({__name__=~".+", $selector})).
	Hosts string `yaml:"hosts"`
	// Traffic is each side's request count for the sample-ratio-mismatch check;
	// empty skips the check.
	Traffic string `yaml:"traffic"`
	// PassScore and MarginalScore are Kayenta's thresholds; zero means 95 and 75.
	PassScore     float64 `yaml:"pass_score"`
	MarginalScore float64 `yaml:"marginal_score"`
	// Rollback is the action run when the continuous guard rolls back.
	Rollback Action `yaml:"rollback"`
	// Metrics are the watched metrics.
	Metrics []Metric `yaml:"metrics"`
}

// DefaultHosts is the default Spec.Hosts expression.
const DefaultHosts = `count(count by (host) ({__name__=~".+", $selector}))`

// ensureDefaults fills zero fields.
func (s *Spec) ensureDefaults() {
	if s.Interval <= 0 {
		s.Interval = time.Minute
	}
	if s.Step <= 0 {
		s.Step = s.Interval
	}
	if s.Confidence == 0 {
		s.Confidence = 0.95
	}
	if s.Hosts == "" {
		s.Hosts = DefaultHosts
	}
	if s.PassScore == 0 {
		s.PassScore = 95
	}
	if s.MarginalScore == 0 {
		s.MarginalScore = 75
	}
	if s.Rollback.Timeout <= 0 {
		s.Rollback.Timeout = 30 * time.Second
	}
	for i := range s.Metrics {
		m := &s.Metrics[i]
		if m.Kind == "" {
			m.Kind = KindCount
		}
		if m.Compare == "" {
			m.Compare = CanaryVsBaseline
		}
		if m.Normalize == "" {
			m.Normalize = PerHost
		}
		if m.Bad == "" {
			m.Bad = BadUp
		}
		if m.Step <= 0 {
			m.Step = s.Step
		}
		if m.Weight == 0 {
			m.Weight = 1
		}
		if m.Group == "" {
			m.Group = m.Name
		}
		if m.MinData == 0 {
			if m.Kind == KindSamples {
				m.MinData = 10
			} else {
				m.MinData = 1
			}
		}
	}
}

// validate reports every problem of the spec.
func (s *Spec) validate() error {
	var errs []error
	if s.Confidence <= 0 || s.Confidence >= 1 {
		errs = append(errs, fmt.Errorf("confidence %v outside (0, 1)", s.Confidence))
	}
	if s.MarginalScore > s.PassScore {
		errs = append(errs, fmt.Errorf("marginal_score %v above pass_score %v", s.MarginalScore, s.PassScore))
	}
	for _, e := range []struct{ field, expr string }{{"hosts", s.Hosts}, {"traffic", s.Traffic}} {
		if e.expr != "" {
			if err := checkTemplate(e.expr); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", e.field, err))
			}
		}
	}
	seen := map[string]bool{}
	for i, m := range s.Metrics {
		where := fmt.Sprintf("metric %d (%q)", i, m.Name)
		switch {
		case m.Name == "":
			errs = append(errs, fmt.Errorf("%s: name is empty", where))
		case seen[m.Name]:
			errs = append(errs, fmt.Errorf("%s: name used twice", where))
		}
		seen[m.Name] = true
		if err := checkTemplate(m.Expr); err != nil {
			errs = append(errs, fmt.Errorf("%s: expr: %w", where, err))
		}
		if m.Kind != KindCount && m.Kind != KindSamples {
			errs = append(errs, fmt.Errorf("%s: kind %q (want count or samples)", where, m.Kind))
		}
		switch m.Compare {
		case CanaryVsBaseline, BeforeAfter, WeekOverWeek:
		default:
			errs = append(errs, fmt.Errorf("%s: compare %q (want canary_vs_baseline, before_after or week_over_week)", where, m.Compare))
		}
		switch m.Normalize {
		case PerHost:
		case PerRequest:
			if err := checkTemplate(m.Exposure); err != nil {
				errs = append(errs, fmt.Errorf("%s: normalize request needs exposure: %w", where, err))
			}
		default:
			errs = append(errs, fmt.Errorf("%s: normalize %q (want host or request)", where, m.Normalize))
		}
		if m.Bad != BadUp && m.Bad != BadDown && m.Bad != BadBoth {
			errs = append(errs, fmt.Errorf("%s: bad %q (want up, down or both)", where, m.Bad))
		}
		if m.Tolerance < 0 || m.Weight < 0 || m.MinData < 0 {
			errs = append(errs, fmt.Errorf("%s: tolerance, weight and min_data must not be negative", where))
		}
	}
	return errors.Join(errs...)
}

// checkTemplate parses an expression with its placeholders filled in.
func checkTemplate(expr string) error {
	if strings.TrimSpace(expr) == "" {
		return errors.New("expression is empty")
	}
	q := expand(expr, `host="x"`, time.Minute, time.Minute)
	if _, err := parser.NewParser(parser.Options{}).ParseExpr(q); err != nil {
		return fmt.Errorf("%q: %w", expr, err)
	}
	return nil
}

// expand substitutes the placeholders of an expression.
func expand(expr, selector string, window, step time.Duration) string {
	return strings.NewReplacer(
		"$selector", selector,
		"$window", promDuration(window),
		"$step", promDuration(step),
	).Replace(expr)
}

// promDuration spells d as a PromQL duration, at least one second.
func promDuration(d time.Duration) string {
	if d < time.Second {
		d = time.Second
	}
	return model.Duration(d.Truncate(time.Second)).String()
}

// ParseSpec reads the `guard:` section of a rule file's content. A file without one
// gives a nil spec and no error.
func ParseSpec(name string, content []byte) (*Spec, error) {
	var doc struct {
		Guard yaml.Node `yaml:"guard"`
	}
	if err := yaml.Unmarshal(content, &doc); err != nil {
		return nil, fmt.Errorf("parse %s: %w", name, err)
	}
	if doc.Guard.Kind == 0 || doc.Guard.Tag == "!!null" {
		return nil, nil
	}
	raw, err := yaml.Marshal(&doc.Guard)
	if err != nil {
		return nil, fmt.Errorf("parse %s: guard section: %w", name, err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	var s Spec
	if err := dec.Decode(&s); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("parse %s: guard section: %w", name, err)
	}
	s.ensureDefaults()
	if err := s.validate(); err != nil {
		return nil, fmt.Errorf("%s: guard section: %w", name, err)
	}
	return &s, nil
}

// LoadSpec reads the guard sections of rule files and merges them: the metrics of every
// file, the settings of the first file that has a section. No section anywhere gives
// a spec with no metrics, which judges nothing.
func LoadSpec(paths ...string) (*Spec, error) {
	var out *Spec
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("read rule file: %w", err)
		}
		s, err := ParseSpec(p, b)
		if err != nil {
			return nil, err
		}
		if s == nil {
			continue
		}
		if out == nil {
			out = s
			continue
		}
		out.Metrics = append(out.Metrics, s.Metrics...)
	}
	if out == nil {
		out = &Spec{}
		out.ensureDefaults()
	}
	if err := out.validate(); err != nil {
		return nil, fmt.Errorf("guard sections of %v: %w", paths, err)
	}
	return out, nil
}
