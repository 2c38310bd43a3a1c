package rules

import (
	"strings"

	"github.com/prometheus/prometheus/promql/parser"
	"go.yaml.in/yaml/v3"
)

// severityLabel is set by Ward on alerts whose level it decides.
const severityLabel = "severity"

func (p *fileParser) parseRule(n *yaml.Node) (RuleSpec, bool) {
	r := RuleSpec{Line: n.Line, NoData: NoDataOK}
	p.rule = ""
	if n.Kind != yaml.MappingNode {
		p.errorf(n, "rule: want a mapping")
		return r, false
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		switch n.Content[i].Value {
		case "alert", "record":
			if s, _ := p.str(n.Content[i+1]); s != "" {
				p.rule = s
			}
		}
	}
	empty := &yaml.Node{}
	record, alert, expr := empty, empty, empty
	ext := map[string]*yaml.Node{}
	p.fields(n, func(key string, k, v *yaml.Node) {
		switch key {
		case "record":
			r.Record, record = p.scalar(v, key), v
		case "alert":
			r.Alert, alert = p.scalar(v, key), v
		case "expr":
			r.Expr, expr = p.scalar(v, key), v
		case "for":
			r.For = p.duration(v, key)
		case "keep_firing_for":
			r.KeepFiringFor = p.duration(v, key)
		case "labels":
			r.Labels = p.stringMap(v, key)
		case "annotations":
			r.Annotations = p.stringMap(v, key)
		case "warn", "crit", "clear", "active", "no_data", "flap_detection", "flap_start", "flap_stop":
			ext[key] = v
		default:
			p.errorf(k, "unknown field %q in rule", key)
		}
	})
	p.validateStandard(&r, record, alert, expr, n)
	p.parseExtensions(&r, n, ext)
	return r, true
}

// parseExtensions parses and validates Ward's fields of rule r.
func (p *fileParser) parseExtensions(r *RuleSpec, n *yaml.Node, ext map[string]*yaml.Node) {
	if len(ext) == 0 {
		return
	}
	if r.Alert == "" {
		for key, v := range ext {
			p.errorf(v, "%s: only alerting rules take Ward's extensions", key)
		}
		return
	}
	threshold := func(key string) *Threshold {
		v, ok := ext[key]
		if !ok {
			return nil
		}
		t, err := ParseThreshold(p.scalar(v, key))
		if err != nil {
			p.errorf(v, "%s: %w (quote it: a YAML value starting with > is a folded block)", key, err)
			return nil
		}
		return &t
	}
	r.Warn, r.Crit, r.Clear = threshold("warn"), threshold("crit"), threshold("clear")
	if v, ok := ext["clear"]; ok && !r.HasThresholds() {
		p.errorf(v, "clear: needs warn or crit")
	}
	if r.HasThresholds() {
		if _, ok := r.Labels[severityLabel]; ok {
			p.errorf(n, "labels.severity: Ward sets severity on rules with warn/crit thresholds")
		}
		r.dataExpr = r.Expr
	}
	if v, ok := ext["active"]; ok {
		for _, wn := range p.stringList(v, "active") {
			w, err := ParseWindow(p.scalar(wn, "active"))
			if err != nil {
				p.errorf(wn, "active: %w", err)
				continue
			}
			r.Active = append(r.Active, w)
		}
	}
	if v, ok := ext["no_data"]; ok {
		switch nd := NoData(strings.ToLower(p.scalar(v, "no_data"))); nd {
		case NoDataOK, NoDataUnknown, NoDataCritical:
			r.NoData = nd
		default:
			p.errorf(v, "no_data: %q is not ok, unknown or critical", nd)
		}
		if r.NoData != NoDataOK && !r.HasThresholds() {
			de, ok := dataExpr(p.promql, r.Expr)
			if !ok {
				p.errorf(v, "no_data: a rule without warn/crit needs an expression of the form <data> <comparison> <threshold> so that Ward can tell missing data from a false condition")
			}
			r.dataExpr = de
		}
	}
	if v, ok := ext["flap_detection"]; ok {
		r.FlapDetection = p.bool(v, "flap_detection")
	}
	r.FlapStart, r.FlapStop = defaultFlapHigh, defaultFlapLow
	for _, key := range []string{"flap_start", "flap_stop"} {
		v, ok := ext[key]
		if !ok {
			continue
		}
		if !r.FlapDetection {
			p.errorf(v, "%s: needs flap_detection: true", key)
		}
		f := p.float(v, key)
		if f <= 0 || f > 100 {
			p.errorf(v, "%s: %v is not a percentage in (0, 100]", key, f)
		}
		if key == "flap_start" {
			r.FlapStart = f
		} else {
			r.FlapStop = f
		}
	}
	if r.FlapDetection && r.FlapStop >= r.FlapStart {
		p.errorf(n, "flap_stop %v must be below flap_start %v", r.FlapStop, r.FlapStart)
	}
}

// dataExpr returns the vector side of a top-level filtering comparison
// ("rate(x[5m]) < 10" gives "rate(x[5m])"): its series are the data whose
// absence no_data is about.
func dataExpr(p parser.Parser, expr string) (string, bool) {
	e, err := p.ParseExpr(expr)
	if err != nil {
		return "", false
	}
	for {
		pe, ok := e.(*parser.ParenExpr)
		if !ok {
			break
		}
		e = pe.Expr
	}
	be, ok := e.(*parser.BinaryExpr)
	if !ok || !be.Op.IsComparisonOperator() || be.ReturnBool {
		return "", false
	}
	for _, side := range []parser.Expr{be.LHS, be.RHS} {
		if side.Type() == parser.ValueTypeVector {
			return side.String(), true
		}
	}
	return "", false
}
