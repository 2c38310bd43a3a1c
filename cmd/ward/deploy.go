package main

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/wardmetrics/ward/deploy"
)

type deployCmd struct {
	Release  string   `required:"" help:"Release to deploy (the deploy's key)."`
	Canary   string   `required:"" help:"Shell command that starts the canary (WARD_RELEASE is set)."`
	Promote  string   `required:"" help:"Shell command that rolls the release out to every host."`
	Rollback string   `required:"" help:"Shell command that takes the release back."`
	Watch    duration `help:"How long the canary is watched before it may be promoted." default:"5m"`
	Poll     duration `help:"How often /guard is asked while watching." default:"10s"`

	CanarySelector   string   `help:"Label matchers of the canary's series (default release=\"<release>\")."`
	BaselineSelector string   `help:"Label matchers of the baseline's series (default release!=\"<release>\")."`
	Commits          []string `help:"Commits in the release."`
	Author           string   `help:"Who ships the release." env:"USER"`

	URL     string   `help:"Base URL of Ward's HTTP API." default:"http://127.0.0.1:8080" env:"WARD_URL"`
	Token   string   `help:"Bearer token (registering a deploy is a write)." env:"WARD_TOKEN"`
	Timeout duration `help:"Timeout of each request and command." default:"5m"`
}

// Run registers the deploy, starts the canary, watches the guard and then promotes or
// rolls back: exit 0 promoted, 1 rolled back, 2 on an error (after which the release is
// rolled back if the canary had started).
func (c *deployCmd) Run(ctx context.Context) error {
	g := guardClient{base: c.URL, token: c.Token, http: &http.Client{Timeout: time.Duration(c.Timeout)}}
	canarySel, baseSel := c.CanarySelector, c.BaselineSelector
	if canarySel == "" {
		canarySel = fmt.Sprintf("release=%q", c.Release)
	}
	if baseSel == "" {
		baseSel = fmt.Sprintf("release!=%q", c.Release)
	}
	reg := deploy.Deploy{Release: c.Release, Commits: c.Commits, Author: c.Author, Canary: canarySel, Baseline: baseSel}
	if err := g.call(ctx, http.MethodPost, "/api/v1/deploys", reg, nil); err != nil {
		return &exitError{code: exitCodeError, err: fmt.Errorf("register deploy %q: %w", c.Release, err)}
	}
	fmt.Fprintf(os.Stderr, "ward deploy: registered %s (canary {%s}, baseline {%s})\n", c.Release, canarySel, baseSel)
	if err := c.run(ctx, "canary", c.Canary); err != nil {
		return c.rollback(ctx, g, "canary command failed: "+err.Error(), exitCodeError)
	}

	deadline := time.Now().Add(time.Duration(c.Watch))
	var last deploy.Verdict
	for {
		v, err := g.verdict(ctx, c.Release)
		switch {
		case err != nil:
			fmt.Fprintf(os.Stderr, "ward deploy: %v\n", err)
		default:
			last = v
			c.progress(v, time.Until(deadline))
			if v.Decision == deploy.Rollback {
				printVerdict(os.Stdout, v)
				return c.rollback(ctx, g, "guard: "+v.Reason, exitCodeRollback)
			}
		}
		if !time.Now().Before(deadline) {
			break
		}
		select {
		case <-ctx.Done():
			return c.rollback(context.WithoutCancel(ctx), g, "interrupted", exitCodeError)
		case <-time.After(min(time.Duration(c.Poll), max(time.Until(deadline), time.Millisecond))):
		}
	}
	printVerdict(os.Stdout, last)
	if last.Decision != deploy.Promote {
		// A canary not proven good after the whole watch is not shipped.
		return c.rollback(ctx, g, fmt.Sprintf("no promote verdict after %s: %s %s", time.Duration(c.Watch), last.Decision, last.Reason), exitCodeRollback)
	}
	if err := c.setPhase(ctx, g, deploy.PhaseFull, "promoted: "+last.Reason); err != nil {
		return &exitError{code: exitCodeError, err: err}
	}
	if err := c.run(ctx, "promote", c.Promote); err != nil {
		return &exitError{code: exitCodeError, err: err}
	}
	if err := c.setPhase(ctx, g, deploy.PhaseDone, "promote command finished"); err != nil {
		return &exitError{code: exitCodeError, err: err}
	}
	fmt.Fprintf(os.Stderr, "ward deploy: %s promoted\n", c.Release)
	return nil
}

// progress prints one line per look: time left and how many metrics pass.
func (c *deployCmd) progress(v deploy.Verdict, left time.Duration) {
	pass := 0
	for _, m := range v.Metrics {
		if m.Verdict == deploy.Pass {
			pass++
		}
	}
	fmt.Fprintf(os.Stderr, "ward deploy: %s %s left, %d/%d metrics passing, score %.0f, %s (%s)\n",
		c.Release, max(left, 0).Round(time.Second), pass, len(v.Metrics), v.Score, v.Decision, v.Reason)
}

// rollback runs the rollback command and records the phase; the guard may already have
// done the latter, which is fine.
func (c *deployCmd) rollback(ctx context.Context, g guardClient, reason string, code int) error {
	fmt.Fprintf(os.Stderr, "ward deploy: rolling back %s: %s\n", c.Release, reason)
	var errs []string
	if err := c.run(ctx, "rollback", c.Rollback); err != nil {
		errs = append(errs, err.Error())
		code = exitCodeError
	}
	if err := c.setPhase(ctx, g, deploy.PhaseRolledBack, reason); err != nil {
		errs = append(errs, err.Error())
		code = exitCodeError
	}
	if len(errs) > 0 {
		return &exitError{code: code, err: fmt.Errorf("rollback of %s: %s", c.Release, strings.Join(errs, "; "))}
	}
	return &exitError{code: code, err: fmt.Errorf("%s rolled back: %s", c.Release, reason)}
}

func (c *deployCmd) setPhase(ctx context.Context, g guardClient, p deploy.Phase, reason string) error {
	err := g.call(ctx, http.MethodPost, "/api/v1/deploys/"+url.PathEscape(c.Release)+"/phase", map[string]string{"phase": string(p), "reason": reason}, nil)
	if err != nil {
		return fmt.Errorf("set phase %s of %s: %w", p, c.Release, err)
	}
	return nil
}

// run runs one of the user's shell commands with WARD_RELEASE set, its output passed
// through.
func (c *deployCmd) run(ctx context.Context, what, command string) error {
	ctx, cancel := context.WithTimeout(ctx, time.Duration(c.Timeout))
	defer cancel()
	cmd := exec.CommandContext(ctx, "/bin/sh", "-c", command)
	cmd.Env = append(os.Environ(), "WARD_RELEASE="+c.Release, "WARD_PHASE="+what)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s command %q: %w", what, command, err)
	}
	return nil
}
