package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/wardmetrics/ward/api/client"
)

type queryCmd struct {
	Expr    string   `arg:"" help:"PromQL expression, e.g. 'sum(rate(shop_revenue[5m]))'."`
	URL     string   `help:"Base URL of Ward's (or any Prometheus) HTTP API." default:"http://127.0.0.1:8080" env:"WARD_URL"`
	Time    string   `help:"Evaluation time of an instant query (RFC 3339 or Unix seconds; default now)."`
	Range   duration `help:"Run a range query over this duration ending at --time (e.g. 1h)."`
	Step    duration `help:"Resolution step of a range query." default:"1m"`
	Format  string   `help:"Output format." enum:"table,csv,json" default:"table"`
	Token   string   `help:"Bearer token, when reads are protected." env:"WARD_TOKEN"`
	Timeout duration `help:"Request timeout." default:"2m"`
}

func (c *queryCmd) Run(ctx context.Context) error {
	cl, err := client.New(c.URL, client.Options{Token: c.Token})
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, time.Duration(c.Timeout))
	defer cancel()
	at := time.Now()
	if c.Time != "" {
		if at, err = parseTime(c.Time); err != nil {
			return err
		}
	}
	var res *client.Result
	if c.Range > 0 {
		res, err = cl.QueryRange(ctx, c.Expr, at.Add(-time.Duration(c.Range)), at, time.Duration(c.Step))
	} else {
		res, err = cl.Query(ctx, c.Expr, at)
	}
	if err != nil {
		return err
	}
	switch c.Format {
	case "csv":
		return client.FormatCSV(os.Stdout, res)
	case "json":
		return client.FormatJSON(os.Stdout, res)
	default:
		return client.FormatTable(os.Stdout, res)
	}
}

// parseTime accepts RFC 3339 or Unix seconds (with a fraction), as the Prometheus API does.
func parseTime(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	var f float64
	if _, err := fmt.Sscanf(s, "%g", &f); err == nil {
		sec := int64(f)
		return time.Unix(sec, int64((f-float64(sec))*1e9)), nil
	}
	return time.Time{}, fmt.Errorf("parse time %q: want RFC 3339 or Unix seconds", s)
}
