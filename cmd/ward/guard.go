package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/wardmetrics/ward/deploy"
)

// Exit statuses of `ward guard`, so a deploy script can branch on the verdict.
const (
	exitCodePromote  = 0
	exitCodeRollback = 1
	exitCodeError    = 2
	exitCodeWait     = 3
)

type guardCmd struct {
	Release string   `required:"" help:"Release to judge."`
	URL     string   `help:"Base URL of Ward's HTTP API." default:"http://127.0.0.1:8080" env:"WARD_URL"`
	Token   string   `help:"Bearer token, when reads are protected." env:"WARD_TOKEN"`
	JSON    bool     `help:"Print the verdict as JSON instead of a table."`
	Timeout duration `help:"Request timeout." default:"1m"`
}

// Run prints the guard's verdict and exits 0 promote, 1 rollback, 3 wait (2 on error).
func (c *guardCmd) Run(ctx context.Context) error {
	g := guardClient{base: c.URL, token: c.Token, http: &http.Client{Timeout: time.Duration(c.Timeout)}}
	v, err := g.verdict(ctx, c.Release)
	if err != nil {
		return &exitError{code: exitCodeError, err: err}
	}
	if c.JSON {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(v); err != nil {
			return err
		}
	} else {
		printVerdict(os.Stdout, v)
	}
	switch v.Decision {
	case deploy.Promote:
		return nil
	case deploy.Rollback:
		return &exitError{code: exitCodeRollback}
	}
	return &exitError{code: exitCodeWait}
}

// guardClient calls Ward's deploy endpoints.
type guardClient struct {
	base, token string
	http        *http.Client
}

// verdict asks /guard; 200, 409 and 503 all carry a verdict.
func (g guardClient) verdict(ctx context.Context, release string) (deploy.Verdict, error) {
	var v deploy.Verdict
	status, body, err := g.do(ctx, http.MethodGet, "/guard?release="+url.QueryEscape(release), nil)
	if err != nil {
		return v, err
	}
	switch status {
	case http.StatusOK, http.StatusConflict, http.StatusServiceUnavailable:
	default:
		return v, fmt.Errorf("guard for release %q: status %d: %s", release, status, strings.TrimSpace(string(body)))
	}
	if err := json.Unmarshal(body, &v); err != nil {
		return v, fmt.Errorf("decode verdict for release %q: %w", release, err)
	}
	if v.Decision == "" {
		return v, fmt.Errorf("guard for release %q: status %d without a decision: %s", release, status, body)
	}
	return v, nil
}

// call sends a JSON request to an enveloped API endpoint and decodes its data into out.
func (g guardClient) call(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = strings.NewReader(string(b))
	}
	status, raw, err := g.do(ctx, method, path, body)
	if err != nil {
		return err
	}
	var env struct {
		Status string          `json:"status"`
		Data   json.RawMessage `json:"data"`
		Error  string          `json:"error"`
	}
	if err := json.Unmarshal(raw, &env); err != nil {
		return fmt.Errorf("%s %s: status %d: %s", method, path, status, strings.TrimSpace(string(raw)))
	}
	if env.Status != "success" {
		return fmt.Errorf("%s %s: status %d: %s", method, path, status, env.Error)
	}
	if out != nil {
		return json.Unmarshal(env.Data, out)
	}
	return nil
}

func (g guardClient) do(ctx context.Context, method, path string, body io.Reader) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(g.base, "/")+path, body)
	if err != nil {
		return 0, nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if g.token != "" {
		req.Header.Set("Authorization", "Bearer "+g.token)
	}
	resp, err := g.http.Do(req)
	if err != nil {
		return 0, nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return 0, nil, fmt.Errorf("%s %s: read answer: %w", method, path, err)
	}
	return resp.StatusCode, b, nil
}

// printVerdict writes the verdict table: the decision and, per metric, the values and
// the test behind its verdict.
func printVerdict(w io.Writer, v deploy.Verdict) {
	fmt.Fprintf(w, "release %s (%s): %s, score %.0f (pass %.0f, marginal %.0f) over %s\n  %s\n",
		v.Release, v.Phase, strings.ToUpper(string(v.Decision)), v.Score, v.PassScore, v.MarginalScore, v.Window, v.Reason)
	if v.SRM != nil {
		fmt.Fprintf(w, "  traffic share: observed %s, expected %s, SRM p=%s mismatch=%v %s\n",
			fmtNum(v.SRM.ObservedShare), fmtNum(v.SRM.ExpectedShare), fmtNum(v.SRM.PValue), v.SRM.Mismatch, v.SRM.Reason)
	}
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "METRIC\tVERDICT\tCANARY\tBASELINE\tEFFECT\tP-VALUE\tTEST\tREASON")
	for _, m := range v.Metrics {
		name := m.Name
		if m.Critical {
			name += " (critical)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s (n=%d)\t%s (n=%d)\t%s %s [%s, %s]\t%s\t%s\t%s\n", name, m.Verdict,
			fmtNum(m.Canary), m.CanaryN, fmtNum(m.Baseline), m.BaselineN,
			m.EffectName, fmtNum(m.Effect), fmtNum(m.EffectLo), fmtNum(m.EffectHi), fmtNum(m.AdjustedPValue), m.Test, m.Reason)
	}
	_ = tw.Flush()
}

func fmtNum(n deploy.Num) string {
	b, _ := n.MarshalJSON()
	s := strings.Trim(string(b), `"`)
	if s == "null" {
		return "-"
	}
	var f float64
	if _, err := fmt.Sscan(s, &f); err == nil {
		return fmt.Sprintf("%.4g", f)
	}
	return s
}
