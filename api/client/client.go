// Package client is a small Go client of Ward's Prometheus-compatible query
// API (and of any Prometheus server): instant and range queries with their
// results parsed, label names and values, and the table, CSV and JSON
// renderings `ward query` prints.
package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// maxResponseBytes bounds how much of a response the client reads.
const maxResponseBytes = 1 << 30

// Options configures a Client. The zero value works.
type Options struct {
	// HTTPClient sends the requests; nil means a client with a 5-minute
	// timeout. Contexts passed to the methods bound each call further.
	HTTPClient *http.Client
	// Token, when set, is sent as "Authorization: Bearer <token>".
	Token string
}

// Client calls one server's HTTP API. It is safe for concurrent use.
type Client struct {
	base  *url.URL
	hc    *http.Client
	token string
}

// New returns a client of the server at baseURL ("http://127.0.0.1:8080").
func New(baseURL string, opts Options) (*Client, error) {
	u, err := url.Parse(baseURL)
	if err != nil {
		return nil, fmt.Errorf("client: parse server URL %q: %w", baseURL, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("client: server URL %q: scheme must be http or https", baseURL)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("client: server URL %q has no host", baseURL)
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	hc := opts.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 5 * time.Minute}
	}
	return &Client{base: u, hc: hc, token: opts.Token}, nil
}

// Error is an error the server answered. Type is the API's errorType
// ("bad_data", "execution", "timeout", ...), empty when the server did not
// answer with the API's envelope.
type Error struct {
	StatusCode int
	Type       string
	Msg        string
}

func (e *Error) Error() string {
	if e.Type == "" {
		return fmt.Sprintf("server answered %d: %s", e.StatusCode, e.Msg)
	}
	return fmt.Sprintf("%s (%d): %s", e.Type, e.StatusCode, e.Msg)
}

// envelope is the API's response wrapper.
type envelope struct {
	Status    string          `json:"status"`
	Data      json.RawMessage `json:"data"`
	ErrorType string          `json:"errorType"`
	Error     string          `json:"error"`
	Warnings  []string        `json:"warnings"`
	Infos     []string        `json:"infos"`
}

// Query evaluates expr at t; a zero t means the server's now.
func (c *Client) Query(ctx context.Context, expr string, t time.Time) (*Result, error) {
	form := url.Values{"query": {expr}}
	if !t.IsZero() {
		form.Set("time", formatTime(t))
	}
	env, err := c.call(ctx, http.MethodPost, "/api/v1/query", form)
	if err != nil {
		return nil, fmt.Errorf("query %q: %w", expr, err)
	}
	return parseResult(env)
}

// QueryRange evaluates expr at every step from start to end.
func (c *Client) QueryRange(ctx context.Context, expr string, start, end time.Time, step time.Duration) (*Result, error) {
	form := url.Values{
		"query": {expr},
		"start": {formatTime(start)},
		"end":   {formatTime(end)},
		"step":  {strconv.FormatFloat(step.Seconds(), 'f', -1, 64)},
	}
	env, err := c.call(ctx, http.MethodPost, "/api/v1/query_range", form)
	if err != nil {
		return nil, fmt.Errorf("query %q from %s to %s every %s: %w", expr, start.Format(time.RFC3339), end.Format(time.RFC3339), step, err)
	}
	return parseResult(env)
}

// LabelNames lists label names, of the series matching any of match if given.
func (c *Client) LabelNames(ctx context.Context, match ...string) ([]string, error) {
	env, err := c.call(ctx, http.MethodGet, "/api/v1/labels", url.Values{"match[]": match})
	if err != nil {
		return nil, fmt.Errorf("label names: %w", err)
	}
	var names []string
	if err := json.Unmarshal(env.Data, &names); err != nil {
		return nil, fmt.Errorf("label names: decode %s: %w", env.Data, err)
	}
	return names, nil
}

// LabelValues lists the values of label name ("__name__" for metric names),
// of the series matching any of match if given.
func (c *Client) LabelValues(ctx context.Context, name string, match ...string) ([]string, error) {
	env, err := c.call(ctx, http.MethodGet, "/api/v1/label/"+url.PathEscape(name)+"/values", url.Values{"match[]": match})
	if err != nil {
		return nil, fmt.Errorf("values of label %q: %w", name, err)
	}
	var values []string
	if err := json.Unmarshal(env.Data, &values); err != nil {
		return nil, fmt.Errorf("values of label %q: decode %s: %w", name, env.Data, err)
	}
	return values, nil
}

// call sends params as a form (POST) or URL query (GET) and unwraps the
// envelope, turning error answers into *Error.
func (c *Client) call(ctx context.Context, method, path string, params url.Values) (*envelope, error) {
	u := *c.base
	u.Path += path
	var body io.Reader
	if method == http.MethodGet {
		u.RawQuery = params.Encode()
	} else {
		body = strings.NewReader(params.Encode())
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), body)
	if err != nil {
		return nil, fmt.Errorf("build request: %w", err)
	}
	if method != http.MethodGet {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	req.Header.Set("Accept", "application/json")
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
	if err != nil {
		return nil, fmt.Errorf("read response of %s: %w", u.Redacted(), err)
	}
	var env envelope
	if jerr := json.Unmarshal(raw, &env); jerr != nil || env.Status == "" {
		if resp.StatusCode != http.StatusOK {
			return nil, &Error{StatusCode: resp.StatusCode, Msg: strings.TrimSpace(string(raw))}
		}
		return nil, fmt.Errorf("response of %s is not the API's JSON: %q", u.Redacted(), truncate(raw, 200))
	}
	if env.Status != "success" {
		return nil, &Error{StatusCode: resp.StatusCode, Type: env.ErrorType, Msg: env.Error}
	}
	return &env, nil
}

// formatTime writes Unix seconds with millisecond precision.
func formatTime(t time.Time) string {
	return strconv.FormatFloat(float64(t.UnixMilli())/1000, 'f', -1, 64)
}

func truncate(b []byte, n int) string {
	if len(b) > n {
		return string(b[:n]) + "..."
	}
	return string(b)
}

// IsErrorType reports whether err is an *Error of type typ.
func IsErrorType(err error, typ string) bool {
	var e *Error
	return errors.As(err, &e) && e.Type == typ
}
