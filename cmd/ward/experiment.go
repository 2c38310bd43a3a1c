package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/wardmetrics/ward/experiment"
)

// experimentCmd manages experiments through Ward's HTTP API; `significance` is an
// offline calculator.
type experimentCmd struct {
	URL   string `help:"Base URL of Ward's HTTP API." default:"http://127.0.0.1:8080" env:"WARD_URL"`
	Token string `help:"Bearer token for changes." env:"WARD_TOKEN"`
	User  string `help:"Your name, recorded in the experiment's history." env:"USER"`

	Create       expCreateCmd       `cmd:"" help:"Create (or update) experiments from a YAML definition file."`
	List         expListCmd         `cmd:"" help:"List experiments."`
	Show         expShowCmd         `cmd:"" help:"Show an experiment and its change history."`
	Set          expSetCmd          `cmd:"" help:"Change rollout, mode or weights of an experiment."`
	Close        expCloseCmd        `cmd:"" help:"Close an experiment on a winning branch: everyone gets it."`
	Results      expResultsCmd      `cmd:"" help:"Print an experiment's results."`
	Significance expSignificanceCmd `cmd:"" help:"Significance calculator: --control CONV/USERS --treatment CONV/USERS."`
}

type expCreateCmd struct {
	File string `arg:"" type:"existingfile" help:"YAML file with one or more definitions."`
}

func (c *expCreateCmd) Run(ctx context.Context, p *experimentCmd) error {
	raw, err := os.ReadFile(c.File)
	if err != nil {
		return fmt.Errorf("read %s: %w", c.File, err)
	}
	defs, err := experiment.ParseDefinitions(raw)
	if err != nil {
		return fmt.Errorf("%s: %w", c.File, err)
	}
	for _, d := range defs {
		body, _ := json.Marshal(d)
		var out json.RawMessage
		err := p.call(ctx, http.MethodPost, "/api/v1/experiments", body, &out)
		if err != nil && strings.Contains(err.Error(), "409") {
			fmt.Printf("%s exists already; use 'ward experiment set' to change it\n", d.Name)
			continue
		}
		if err != nil {
			return err
		}
		fmt.Printf("created %s\n", d.Name)
	}
	return nil
}

type expListCmd struct{}

func (expListCmd) Run(ctx context.Context, p *experimentCmd) error {
	var out experiment.ListResponse
	if err := p.call(ctx, http.MethodGet, "/api/v1/experiments", nil, &out); err != nil {
		return err
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tSTATUS\tMODE\tROLLOUT\tBRANCHES")
	for _, d := range out.Experiments {
		var br []string
		for _, b := range d.Branches {
			br = append(br, fmt.Sprintf("%s:%g", b.Name, b.Weight))
		}
		status := string(d.Status)
		if d.Winner != "" {
			status += " on " + d.Winner
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%g%%\t%s\n", d.Name, status, d.Mode, d.Rollout, strings.Join(br, " "))
	}
	return tw.Flush()
}

type expShowCmd struct {
	Name string `arg:""`
}

func (c *expShowCmd) Run(ctx context.Context, p *experimentCmd) error {
	var out json.RawMessage
	if err := p.call(ctx, http.MethodGet, "/api/v1/experiments/"+url.PathEscape(c.Name), nil, &out); err != nil {
		return err
	}
	var pretty bytes.Buffer
	_ = json.Indent(&pretty, out, "", "  ")
	fmt.Println(pretty.String())
	return nil
}

type expSetCmd struct {
	Name    string             `arg:""`
	Rollout *float64           `help:"Share of users in the experiment, in percent."`
	Mode    string             `help:"'qa' (only qa/admin users are randomised) or 'all'."`
	Weights map[string]float64 `help:"New branch weights, e.g. control=50,treatment=50."`
	Open    bool               `help:"Reopen a closed experiment."`
}

func (c *expSetCmd) Run(ctx context.Context, p *experimentCmd) error {
	patch := map[string]any{}
	if c.Rollout != nil {
		patch["rollout"] = *c.Rollout
	}
	if c.Mode != "" {
		patch["mode"] = c.Mode
	}
	if len(c.Weights) > 0 {
		patch["weights"] = c.Weights
	}
	if c.Open {
		patch["status"] = "open"
	}
	if len(patch) == 0 {
		return fmt.Errorf("experiment set %s: nothing to change (give --rollout, --mode, --weights or --open)", c.Name)
	}
	return p.patch(ctx, c.Name, patch)
}

type expCloseCmd struct {
	Name   string `arg:""`
	Winner string `arg:"" help:"The branch everyone gets from now on."`
}

func (c *expCloseCmd) Run(ctx context.Context, p *experimentCmd) error {
	return p.patch(ctx, c.Name, map[string]any{"status": "closed", "winner": c.Winner})
}

type expResultsCmd struct {
	Name       string `arg:""`
	Sequential bool   `help:"Always-valid (sequential) p-values and intervals, safe to look at every day."`
	Correction string `help:"Multiple-comparison correction." enum:"holm,bh,none" default:"holm"`
	JSON       bool   `help:"Print the JSON answer."`
}

func (c *expResultsCmd) Run(ctx context.Context, p *experimentCmd) error {
	q := url.Values{"correction": {c.Correction}}
	if c.Sequential {
		q.Set("sequential", "true")
	}
	var raw json.RawMessage
	if err := p.call(ctx, http.MethodGet, "/api/v1/experiments/"+url.PathEscape(c.Name)+"/results?"+q.Encode(), nil, &raw); err != nil {
		return err
	}
	if c.JSON {
		var pretty bytes.Buffer
		_ = json.Indent(&pretty, raw, "", "  ")
		fmt.Println(pretty.String())
		return nil
	}
	var res experiment.Results
	if err := json.Unmarshal(raw, &res); err != nil {
		return fmt.Errorf("decode results: %w", err)
	}
	return res.WriteText(os.Stdout)
}

type expSignificanceCmd struct {
	Control   string `required:"" help:"Control conversions/users, e.g. 64630/148266."`
	Treatment string `required:"" help:"Treatment conversions/users, e.g. 66903/150702."`
}

func (c *expSignificanceCmd) Run() error {
	cc, cn, err := experiment.ParseFraction(c.Control)
	if err != nil {
		return fmt.Errorf("--control: %w", err)
	}
	tc, tn, err := experiment.ParseFraction(c.Treatment)
	if err != nil {
		return fmt.Errorf("--treatment: %w", err)
	}
	r, err := experiment.Significance(cc, cn, tc, tn)
	if err != nil {
		return err
	}
	return r.WriteText(os.Stdout)
}

func (p *experimentCmd) patch(ctx context.Context, name string, patch map[string]any) error {
	body, _ := json.Marshal(patch)
	var out experiment.Definition
	if err := p.call(ctx, http.MethodPatch, "/api/v1/experiments/"+url.PathEscape(name), body, &out); err != nil {
		return err
	}
	fmt.Printf("%s: status %s, mode %s, rollout %g%%\n", out.Name, out.Status, out.Mode, out.Rollout)
	return nil
}

// call sends one request and decodes the data of the API's success envelope into out.
func (p *experimentCmd) call(ctx context.Context, method, path string, body []byte, out any) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	u := strings.TrimRight(p.URL, "/") + path
	req, err := http.NewRequestWithContext(ctx, method, u, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("build request %s %s: %w", method, u, err)
	}
	req.Header.Set("Content-Type", "application/json")
	if p.Token != "" {
		req.Header.Set("Authorization", "Bearer "+p.Token)
	}
	if p.User != "" {
		req.Header.Set("X-Ward-User", p.User)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, u, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return fmt.Errorf("read answer of %s %s: %w", method, u, err)
	}
	var env struct {
		Status string          `json:"status"`
		Data   json.RawMessage `json:"data"`
		Error  string          `json:"error"`
	}
	if err := json.Unmarshal(raw, &env); err != nil {
		return fmt.Errorf("%s %s: %s: %s", method, u, resp.Status, bytes.TrimSpace(raw))
	}
	if env.Status != "success" {
		return fmt.Errorf("%s %s: %s: %s", method, u, strconv.Itoa(resp.StatusCode), env.Error)
	}
	return json.Unmarshal(env.Data, out)
}
