package notify

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/url"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
	"go.yaml.in/yaml/v3"
)

// Receiver types.
const (
	// TypeWebhook posts Alertmanager's webhook payload (version 4) to a URL.
	TypeWebhook = "webhook"
	// TypeAlertmanager posts alerts to an Alertmanager's /api/v2/alerts.
	TypeAlertmanager = "alertmanager"
)

// Defaults applied by EnsureDefaults; they follow Alertmanager's where one exists.
const (
	DefaultRepeatInterval = 4 * time.Hour
	DefaultTimeout        = 10 * time.Second
	DefaultQueueSize      = 256
	DefaultMinBackoff     = time.Second
	DefaultMaxBackoff     = time.Minute
	DefaultRetryFor       = 5 * time.Minute
	// maxAlertmanagerBatch is how many alerts one POST to Alertmanager carries
	// at most (Prometheus' notifier uses the same batch size).
	maxAlertmanagerBatch = 256
)

// Config is the `notify:` section of Ward's configuration file.
type Config struct {
	// Receivers lists where alerts go. An alert is sent to every receiver
	// whose matchers it satisfies.
	Receivers []ReceiverConfig `yaml:"receivers"`
}

// ReceiverConfig configures one destination.
type ReceiverConfig struct {
	// Name identifies the receiver in payloads ("receiver"), metrics and the
	// persisted notification log. Required and unique.
	Name string `yaml:"name"`
	// Type is "webhook" or "alertmanager".
	Type string `yaml:"type"`
	// URL is the webhook URL, or the Alertmanager base URL
	// (http://host:9093; /api/v2/alerts is appended unless already there).
	URL string `yaml:"url"`
	// Headers are added to every request (for example Authorization).
	Headers map[string]string `yaml:"headers,omitempty"`
	// Matchers select the alerts this receiver gets, in PromQL matcher
	// syntax (`severity="critical"`, `team=~"pay.*"`). Empty: every alert.
	Matchers []string `yaml:"matchers,omitempty"`
	// GroupBy lists the labels that group alerts into one webhook
	// notification (default [alertname]; ["..."] groups by all labels).
	GroupBy []string `yaml:"group_by,omitempty"`
	// SendResolved sends notifications about resolved alerts (default true).
	SendResolved *bool `yaml:"send_resolved,omitempty"`
	// RepeatInterval re-sends a webhook notification for a group that still
	// fires and has not changed (default 4h).
	RepeatInterval model.Duration `yaml:"repeat_interval,omitempty"`
	// MaxAlerts caps the alerts in one webhook payload; the rest are
	// counted in truncatedAlerts (0: no cap).
	MaxAlerts int `yaml:"max_alerts,omitempty"`
	// Timeout bounds one HTTP attempt (default 10s).
	Timeout model.Duration `yaml:"timeout,omitempty"`
	// QueueSize bounds the notifications waiting for this receiver
	// (default 256); when full, new ones are dropped and counted.
	QueueSize int `yaml:"queue_size,omitempty"`
	// MinBackoff and MaxBackoff bound the exponential backoff between
	// attempts (defaults 1s and 1m).
	MinBackoff model.Duration `yaml:"min_backoff,omitempty"`
	MaxBackoff model.Duration `yaml:"max_backoff,omitempty"`
	// RetryFor is how long a notification is retried before it is given up
	// (default 5m); a later evaluation sends the group again.
	RetryFor model.Duration `yaml:"retry_for,omitempty"`
}

// ParseConfig decodes a notify section from YAML, rejecting unknown fields,
// and applies defaults and validation.
func ParseConfig(data []byte) (Config, error) {
	var c Config
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	// An empty document (io.EOF) is the zero Config: no receivers.
	if err := dec.Decode(&c); err != nil && !errors.Is(err, io.EOF) {
		return Config{}, fmt.Errorf("notify: parse config: %w", err)
	}
	c.EnsureDefaults()
	if err := c.Validate(); err != nil {
		return Config{}, err
	}
	return c, nil
}

// EnsureDefaults fills unset fields with their defaults.
func (c *Config) EnsureDefaults() {
	for i := range c.Receivers {
		c.Receivers[i].ensureDefaults()
	}
}

func (r *ReceiverConfig) ensureDefaults() {
	if len(r.GroupBy) == 0 {
		r.GroupBy = []string{labels.AlertName}
	}
	if r.SendResolved == nil {
		t := true
		r.SendResolved = &t
	}
	setDur := func(d *model.Duration, def time.Duration) {
		if *d <= 0 {
			*d = model.Duration(def)
		}
	}
	setDur(&r.RepeatInterval, DefaultRepeatInterval)
	setDur(&r.Timeout, DefaultTimeout)
	setDur(&r.MinBackoff, DefaultMinBackoff)
	setDur(&r.MaxBackoff, DefaultMaxBackoff)
	setDur(&r.RetryFor, DefaultRetryFor)
	if r.QueueSize <= 0 {
		r.QueueSize = DefaultQueueSize
	}
}

// Validate reports every configuration error at once.
func (c *Config) Validate() error {
	var errs []error
	seen := map[string]bool{}
	for i, r := range c.Receivers {
		if r.Name == "" {
			errs = append(errs, fmt.Errorf("notify: receiver %d: name is required", i))
		} else if seen[r.Name] {
			errs = append(errs, fmt.Errorf("notify: receiver %q: duplicate name", r.Name))
		}
		seen[r.Name] = true
		if r.Type != TypeWebhook && r.Type != TypeAlertmanager {
			errs = append(errs, fmt.Errorf("notify: receiver %q: type %q is not %q or %q", r.Name, r.Type, TypeWebhook, TypeAlertmanager))
		}
		if u, err := url.Parse(r.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, fmt.Errorf("notify: receiver %q: url %q is not an http(s) URL", r.Name, r.URL))
		}
		if _, err := parseMatchers(r.Matchers); err != nil {
			errs = append(errs, fmt.Errorf("notify: receiver %q: %w", r.Name, err))
		}
		if r.MaxAlerts < 0 {
			errs = append(errs, fmt.Errorf("notify: receiver %q: max_alerts %d is negative", r.Name, r.MaxAlerts))
		}
		if r.MinBackoff > r.MaxBackoff && r.MaxBackoff > 0 {
			errs = append(errs, fmt.Errorf("notify: receiver %q: min_backoff %s exceeds max_backoff %s", r.Name, r.MinBackoff, r.MaxBackoff))
		}
	}
	return errors.Join(errs...)
}

// parseMatchers parses PromQL-style matchers such as `severity="critical"`.
func parseMatchers(ss []string) ([]*labels.Matcher, error) {
	p := parser.NewParser(parser.Options{})
	var out []*labels.Matcher
	for _, s := range ss {
		ms, err := p.ParseMetricSelector("{" + s + "}")
		if err != nil {
			return nil, fmt.Errorf("parse matcher %q: %w", s, err)
		}
		out = append(out, ms...)
	}
	return out, nil
}
