package rules

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"
	"go.yaml.in/yaml/v3"
)

// NoData says what a rule's instances become when their series are missing
// or stale.
type NoData string

// No-data behaviours.
const (
	// NoDataOK treats missing data as "condition false", Prometheus' semantics.
	NoDataOK NoData = "ok"
	// NoDataUnknown puts the instance in UNKNOWN.
	NoDataUnknown NoData = "unknown"
	// NoDataCritical puts the instance in CRITICAL.
	NoDataCritical NoData = "critical"
)

// File is a parsed, validated rule file.
type File struct {
	Path   string
	Groups []GroupSpec
}

// GroupSpec is a rule group as written.
type GroupSpec struct {
	Name     string
	Interval time.Duration // 0: the manager's default
	// QueryOffset delays the evaluation timestamp (nil: none).
	QueryOffset time.Duration
	Limit       int
	Labels      map[string]string
	Rules       []RuleSpec
	Line        int
}

// RuleSpec is a recording or alerting rule as written, Ward's extensions
// included.
type RuleSpec struct {
	Record        string
	Alert         string
	Expr          string
	For           time.Duration
	KeepFiringFor time.Duration
	Labels        map[string]string
	Annotations   map[string]string

	// Warn, Crit and Clear are Nagios-style thresholds on the expression's
	// value; Clear adds hysteresis on the way back to OK.
	Warn, Crit, Clear *Threshold
	// Active lists time windows outside which the rule is not evaluated.
	Active []Window
	// NoData is the behaviour for missing series (default ok).
	NoData NoData
	// FlapDetection holds notifications while the check flaps; FlapStart and
	// FlapStop are the percent state-change thresholds.
	FlapDetection       bool
	FlapStart, FlapStop float64

	Line int
	// dataExpr is the expression whose series stand for "data present":
	// the expression itself for threshold rules, the compared side for a
	// plain rule with a no_data behaviour.
	dataExpr string
}

// Name is the rule's alert or record name.
func (r *RuleSpec) Name() string {
	if r.Alert != "" {
		return r.Alert
	}
	return r.Record
}

// HasThresholds reports whether the rule uses warn/crit levels.
func (r *RuleSpec) HasThresholds() bool { return r.Warn != nil || r.Crit != nil }

// NumRules counts the rules of the file.
func (f *File) NumRules() int {
	n := 0
	for _, g := range f.Groups {
		n += len(g.Rules)
	}
	return n
}

// ParseFile reads and parses one rule file.
func ParseFile(path string) (*File, []error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, []error{&Error{File: path, Err: err}}
	}
	return Parse(path, b)
}

// CheckFiles validates rule files like `promtool check rules`; it returns
// every error found, each with file:line.
func CheckFiles(paths ...string) []error {
	var errs []error
	for _, p := range paths {
		_, fe := ParseFile(p)
		errs = append(errs, fe...)
	}
	return errs
}

// Parse parses and validates a rule file's content: the Prometheus part with
// Prometheus' own validation (model/rulefmt), Ward's extensions with
// Ward's. Unknown fields are errors. name is used in error messages.
func Parse(name string, content []byte) (*File, []error) {
	p := &fileParser{file: name}
	p.promql = p.promqlParser()
	f := p.parse(content)
	if len(p.errs) > 0 {
		return nil, p.errs
	}
	return f, nil
}

type fileParser struct {
	file   string
	promql parser.Parser
	errs   []error
	group  string
	rule   string
}

// promqlParser is the PromQL parser rules are validated with, configured as
// Prometheus' defaults.
func (p *fileParser) promqlParser() parser.Parser {
	return parser.NewParser(parser.Options{})
}

func (p *fileParser) errorf(n *yaml.Node, format string, args ...any) {
	e := &Error{File: p.file, Group: p.group, Rule: p.rule, Err: fmt.Errorf(format, args...)}
	if n != nil {
		e.Line, e.Column = n.Line, n.Column
	}
	p.errs = append(p.errs, e)
}

var yamlLine = regexp.MustCompile(`line (\d+)`)

func (p *fileParser) parse(content []byte) *File {
	f := &File{Path: p.file}
	dec := yaml.NewDecoder(bytes.NewReader(content))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return f
		}
		e := &Error{File: p.file, Err: err}
		if m := yamlLine.FindStringSubmatch(err.Error()); m != nil {
			e.Line, _ = strconv.Atoi(m[1])
		}
		p.errs = append(p.errs, e)
		return nil
	}
	var second yaml.Node
	if err := dec.Decode(&second); !errors.Is(err, io.EOF) {
		// Prometheus ignores later documents with a warning; silently
		// dropping rules is worse than refusing the file.
		p.errorf(&second, "more than one YAML document; only one is supported")
		return nil
	}
	if len(doc.Content) == 0 {
		return f
	}
	root := doc.Content[0]
	if isNull(root) {
		return f
	}
	if root.Kind != yaml.MappingNode {
		p.errorf(root, "want a mapping with a groups list")
		return nil
	}
	seen := map[string]bool{}
	p.fields(root, func(key string, k, v *yaml.Node) {
		if key == "guard" {
			// The deploy guard's rollback rules share the file; package deploy
			// parses and validates them.
			return
		}
		if key != "groups" {
			p.errorf(k, "unknown field %q", key)
			return
		}
		if isNull(v) {
			return
		}
		if v.Kind != yaml.SequenceNode {
			p.errorf(v, "groups: want a list")
			return
		}
		for _, gn := range v.Content {
			g, ok := p.parseGroup(gn)
			if !ok {
				continue
			}
			if g.Name != "" && seen[g.Name] {
				p.group = ""
				p.errorf(gn, "group name %q is repeated in the same file", g.Name)
			}
			seen[g.Name] = true
			f.Groups = append(f.Groups, g)
		}
	})
	return f
}

// fields calls fn for each key of mapping n, reporting repeated keys.
func (p *fileParser) fields(n *yaml.Node, fn func(key string, k, v *yaml.Node)) {
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			p.errorf(k, "want a field name")
			continue
		}
		if seen[k.Value] {
			p.errorf(k, "field %q set twice", k.Value)
			continue
		}
		seen[k.Value] = true
		fn(k.Value, k, v)
	}
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.Tag == "!!null"
}

func (p *fileParser) parseGroup(n *yaml.Node) (GroupSpec, bool) {
	p.group, p.rule = "", ""
	g := GroupSpec{Line: n.Line}
	if n.Kind != yaml.MappingNode {
		p.errorf(n, "group: want a mapping")
		return g, false
	}
	// The name first, so that errors in the group can say which group.
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == "name" {
			g.Name, _ = p.str(n.Content[i+1])
			p.group = g.Name
		}
	}
	var rules []*yaml.Node
	p.fields(n, func(key string, k, v *yaml.Node) {
		switch key {
		case "name":
			if g.Name == "" {
				p.errorf(v, "group name must not be empty")
			}
		case "interval":
			g.Interval = p.duration(v, key)
			if g.Interval < 0 {
				p.errorf(v, "interval must be positive")
			}
		case "query_offset":
			g.QueryOffset = p.duration(v, key)
		case "limit":
			g.Limit = p.int(v, key)
			if g.Limit < 0 {
				p.errorf(v, "limit must not be negative")
			}
		case "labels":
			g.Labels = p.stringMap(v, key)
			p.checkLabels(v, g.Labels)
		case "rules":
			if isNull(v) {
				return
			}
			if v.Kind != yaml.SequenceNode {
				p.errorf(v, "rules: want a list")
				return
			}
			rules = v.Content
		default:
			p.errorf(k, "unknown field %q in group", key)
		}
	})
	if g.Name == "" && !hasKey(n, "name") {
		p.errorf(n, "group name must not be empty")
	}
	names := map[string]int{}
	for _, rn := range rules {
		r, ok := p.parseRule(rn)
		if !ok {
			continue
		}
		names[r.Name()]++
		g.Rules = append(g.Rules, r)
	}
	p.rule = ""
	return g, true
}

func hasKey(n *yaml.Node, key string) bool {
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return true
		}
	}
	return false
}

func (p *fileParser) checkLabels(n *yaml.Node, ls map[string]string) {
	for k, v := range ls {
		if !model.UTF8Validation.IsValidLabelName(k) || k == model.MetricNameLabel {
			p.errorf(n, "invalid label name: %s", k)
		}
		if !model.LabelValue(v).IsValid() {
			p.errorf(n, "invalid label value: %s", v)
		}
	}
}

// Scalar accessors. Each reports a positioned error and returns the zero
// value when the node has the wrong shape.

func (p *fileParser) str(n *yaml.Node) (string, bool) {
	if isNull(n) {
		return "", true
	}
	if n.Kind != yaml.ScalarNode {
		return "", false
	}
	return n.Value, true
}

func (p *fileParser) scalar(n *yaml.Node, field string) string {
	s, ok := p.str(n)
	if !ok {
		p.errorf(n, "%s: want a single value", field)
	}
	return s
}

func (p *fileParser) duration(n *yaml.Node, field string) time.Duration {
	s := p.scalar(n, field)
	if s == "" {
		return 0
	}
	d, err := model.ParseDuration(s)
	if err != nil {
		p.errorf(n, "%s: %w", field, err)
	}
	return time.Duration(d)
}

func (p *fileParser) int(n *yaml.Node, field string) int {
	s := p.scalar(n, field)
	if s == "" {
		return 0
	}
	v, err := strconv.Atoi(s)
	if err != nil {
		p.errorf(n, "%s: %q is not an integer", field, s)
	}
	return v
}

func (p *fileParser) float(n *yaml.Node, field string) float64 {
	s := p.scalar(n, field)
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		p.errorf(n, "%s: %q is not a number", field, s)
	}
	return v
}

func (p *fileParser) bool(n *yaml.Node, field string) bool {
	s := p.scalar(n, field)
	v, err := strconv.ParseBool(s)
	if err != nil {
		p.errorf(n, "%s: %q is not true or false", field, s)
	}
	return v
}

func (p *fileParser) stringMap(n *yaml.Node, field string) map[string]string {
	if isNull(n) {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		p.errorf(n, "%s: want a mapping", field)
		return nil
	}
	m := map[string]string{}
	p.fields(n, func(key string, _, v *yaml.Node) {
		m[key] = p.scalar(v, field+"."+key)
	})
	return m
}

func (p *fileParser) stringList(n *yaml.Node, field string) []*yaml.Node {
	switch {
	case isNull(n):
		return nil
	case n.Kind == yaml.ScalarNode:
		return []*yaml.Node{n}
	case n.Kind == yaml.SequenceNode:
		return n.Content
	}
	p.errorf(n, "%s: want a string or a list of strings", field)
	return nil
}

// promError converts one of rulefmt's errors, whose message may start with
// "line:column: ", into a positioned Error; without a position it falls back
// to the rule's line.
var promPos = regexp.MustCompile(`^(\d+):(\d+): (?:(\d+):(\d+): )?`)

func (p *fileParser) promError(we error, n *yaml.Node) {
	msg := we.Error()
	e := &Error{File: p.file, Group: p.group, Rule: p.rule, Line: n.Line, Column: n.Column}
	if m := promPos.FindStringSubmatch(msg); m != nil {
		msg = msg[len(m[0]):]
		for _, pair := range [][2]string{{m[1], m[2]}, {m[3], m[4]}} {
			if l, _ := strconv.Atoi(pair[0]); l > 0 {
				e.Line = l
				e.Column, _ = strconv.Atoi(pair[1])
				break
			}
		}
	}
	e.Err = errors.New(msg)
	p.errs = append(p.errs, e)
}

// validateStandard runs Prometheus' own rule validation on the standard part.
func (p *fileParser) validateStandard(r *RuleSpec, record, alert, expr, rule *yaml.Node) {
	pr := rulefmt.Rule{
		Record:        r.Record,
		Alert:         r.Alert,
		Expr:          r.Expr,
		For:           model.Duration(r.For),
		KeepFiringFor: model.Duration(r.KeepFiringFor),
		Labels:        r.Labels,
		Annotations:   r.Annotations,
	}
	node := rulefmt.RuleNode{Record: *record, Alert: *alert, Expr: *expr}
	for _, we := range pr.Validate(node, model.UTF8Validation, p.promql) {
		p.promError(&we, rule)
	}
}

// labelsOf turns a map into sorted labels.
func labelsOf(m map[string]string) labels.Labels {
	if len(m) == 0 {
		return labels.EmptyLabels()
	}
	return labels.FromMap(m)
}
