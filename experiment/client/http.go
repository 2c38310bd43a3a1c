package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"net/http"

	"github.com/wardmetrics/ward/experiment/spec"
)

// Paths of Ward's experiment routes (experiment/README.md, "HTTP API").
const (
	PathExperiments = "/api/v1/experiments"
	PathExposures   = "/api/v1/experiments/exposures"
	PathEvents      = "/api/v1/events"
)

// maxResponse bounds what the client reads from Ward.
const maxResponse = 64 << 20

// Refresh fetches the definitions now and swaps them in. Users remembered for an
// experiment stay remembered across refreshes.
func (c *Client) Refresh(ctx context.Context) error {
	var list spec.ListResponse
	if err := c.do(ctx, http.MethodGet, PathExperiments, nil, &list); err != nil {
		c.refreshErrors.Add(1)
		return fmt.Errorf("experiment client: refresh definitions: %w", err)
	}
	c.refreshes.Add(1)
	old := c.defs.Load()
	if list.Generation == old.generation {
		return nil
	}
	next := &defSet{generation: list.Generation, byName: make(map[string]*entry, len(list.Experiments))}
	for _, d := range list.Experiments {
		if err := d.Validate(); err != nil {
			c.opts.Logger.Warn("experiment client: skipping invalid definition", "experiment", d.Name, "err", err)
			continue
		}
		asg := spec.NewAssigner(d)
		e := &entry{asg: asg, clock: asg.NeedsClock()}
		if prev := old.byName[d.Name]; prev != nil && prev.asg.Salt() == asg.Salt() {
			e.sticky = prev.sticky
		} else {
			e.sticky = newStickySet(c.opts.MaxSticky)
		}
		next.byName[d.Name] = e
	}
	c.defs.Store(next)
	return nil
}

// flush sends queued exposures and events in batches; with all it keeps going until the
// queue is empty, otherwise it sends what is queued now once.
func (c *Client) flush(ctx context.Context, all bool) error {
	for {
		xs := c.queue.takeExposures(c.opts.BatchSize)
		if len(xs) > 0 {
			if err := c.sendExposures(ctx, xs); err != nil {
				c.sendErrors.Add(1)
				c.queue.requeueExposures(xs)
				return err
			}
		}
		evs := c.queue.takeEvents(c.opts.BatchSize)
		if len(evs) > 0 {
			if err := c.do(ctx, http.MethodPost, PathEvents, map[string]any{"events": evs}, nil); err != nil {
				c.sendErrors.Add(1)
				c.queue.requeueEvents(evs)
				return fmt.Errorf("experiment client: send %d events: %w", len(evs), err)
			}
			c.queue.sent(0, len(evs))
		}
		nx, nev := c.queue.pending()
		if len(xs)+len(evs) == 0 || (nx+nev == 0) || (!all && len(xs) < c.opts.BatchSize && len(evs) < c.opts.BatchSize) {
			return nil
		}
	}
}

func (c *Client) sendExposures(ctx context.Context, xs []spec.Exposure) error {
	var resp spec.ExposuresResponse
	if err := c.do(ctx, http.MethodPost, PathExposures, spec.ExposuresRequest{Exposures: xs}, &resp); err != nil {
		return fmt.Errorf("experiment client: send %d exposures: %w", len(xs), err)
	}
	c.queue.sent(len(xs), 0)
	set := c.defs.Load()
	for _, x := range resp.Corrections {
		e := set.byName[x.Experiment]
		if e == nil {
			continue
		}
		if i := e.asg.BranchIndex(x.Branch); i >= 0 {
			e.sticky.set(maphash.String(c.seed, x.UID), uint8(i))
			c.corrections.Add(1)
		}
	}
	if resp.Rejected > 0 {
		c.opts.Logger.Warn("experiment client: exposures rejected", "count", resp.Rejected, "errors", resp.Errors)
	}
	return nil
}

// envelope is Ward's response wrapper; bare bodies are accepted too.
type envelope struct {
	Status    string          `json:"status"`
	Data      json.RawMessage `json:"data"`
	ErrorType string          `json:"errorType"`
	Error     string          `json:"error"`
}

// do sends a JSON request and decodes the (possibly enveloped) JSON answer into out.
func (c *Client) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("encode %s %s: %w", method, path, err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.opts.URL+path, body)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.opts.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.opts.Token)
	}
	resp, err := c.opts.HTTPClient.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		return fmt.Errorf("%s %s: read response: %w", method, path, err)
	}
	var env envelope
	_ = json.Unmarshal(raw, &env) // not an envelope: handled below
	if resp.StatusCode/100 != 2 {
		msg := env.Error
		if msg == "" {
			msg = string(bytes.TrimSpace(raw[:min(len(raw), 512)]))
		}
		return fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, msg)
	}
	if out == nil {
		return nil
	}
	data := raw
	switch env.Status {
	case "success":
		data = env.Data
	case "":
	default:
		return fmt.Errorf("%s %s: status %q: %s", method, path, env.Status, env.Error)
	}
	if len(data) == 0 {
		return errors.New(method + " " + path + ": empty response")
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("%s %s: decode response: %w", method, path, err)
	}
	return nil
}
