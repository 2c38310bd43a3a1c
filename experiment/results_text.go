package experiment

import (
	"fmt"
	"io"
	"math"
	"strings"
	"text/tabwriter"
)

// WriteText prints results as `ward experiment results NAME` shows them: warnings first,
// then users per branch with the SRM check, then one table per metric.
func (r Results) WriteText(w io.Writer) error {
	var b strings.Builder
	for _, warn := range r.Warnings {
		fmt.Fprintf(&b, "WARNING: %s\n", warn)
	}
	mode := "fixed-horizon"
	if r.Sequential {
		mode = "sequential (always valid)"
	}
	fmt.Fprintf(&b, "experiment %s (%s", r.Experiment, r.Status)
	if r.Winner != "" {
		fmt.Fprintf(&b, " on %s", r.Winner)
	}
	fmt.Fprintf(&b, "), %d users, %s, %s correction, %.0f%% confidence\n", r.Users, mode, r.Correction, 100*r.Confidence)
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "branch\tweight\tusers\tshare\texpected")
	for _, br := range r.Branches {
		fmt.Fprintf(tw, "%s\t%g\t%d\t%s\t%s\n", br.Name, br.Weight, br.Users, pct(br.Share), pct(br.ExpectedShare))
	}
	tw.Flush()
	fmt.Fprintf(&b, "sample ratio: chi-squared %s, p %s", num(r.SRM.ChiSquared), num(r.SRM.PValue))
	if r.SRM.Mismatch {
		b.WriteString("  MISMATCH")
	}
	if r.SRM.Note != "" {
		fmt.Fprintf(&b, " (%s)", r.SRM.Note)
	}
	b.WriteString("\n")
	for _, m := range r.Metrics {
		fmt.Fprintf(&b, "\n%s (%s, %s)\n", m.Metric, m.Kind, m.Test)
		tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "branch\tusers\tconverted\trate\tmean/user\tdifference [CI]\tlift [CI]\tp\tadjusted p")
		for _, br := range m.Branches {
			fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%s\t", br.Branch, br.Users, br.Converted, pct(br.ConversionRate), num(br.Mean))
			c := br.VsControl
			switch {
			case c == nil:
				fmt.Fprint(tw, "(control)\n")
			case c.Note != "":
				fmt.Fprintf(tw, "%s\n", c.Note)
			default:
				lo, hi, p := c.CILow, c.CIHigh, c.AdjustedPValue
				llo, lhi := c.LiftCILow, c.LiftCIHigh
				if r.Sequential {
					lo, hi, p = c.Sequential.CILow, c.Sequential.CIHigh, c.Sequential.AdjustedPValue
					llo, lhi = c.Sequential.LiftCILow, c.Sequential.LiftCIHigh
				}
				verdict := ""
				if c.Significant {
					verdict = " " + strings.ToUpper(c.Direction)
				}
				fmt.Fprintf(tw, "%s [%s, %s]\t%s [%s, %s]\t%s\t%s%s\n", num(c.Difference), num(lo), num(hi),
					pct(c.RelativeLift), pct(llo), pct(lhi), num(c.PValue), num(p), verdict)
			}
		}
		tw.Flush()
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func num(f Float) string {
	if !f.Defined() {
		return "-"
	}
	v := float64(f)
	if v != 0 && math.Abs(v) < 1e-3 {
		return fmt.Sprintf("%.2e", v)
	}
	return fmt.Sprintf("%.4g", v)
}

func pct(f Float) string {
	if !f.Defined() {
		return "-"
	}
	return fmt.Sprintf("%.2f%%", 100*float64(f))
}
