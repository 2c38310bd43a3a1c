// Command ward is Ward's single binary: the daemon (`ward serve`) and the tools around it
// (`ward send`, `ward query`, `ward rules check`, ...). It only parses flags into each
// package's Options and maps errors to exit codes; the work lives in the packages.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	_ "time/tzdata" // rule windows name time zones; not every host has /usr/share/zoneinfo

	"github.com/alecthomas/kong"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// exitError carries a specific exit status out of a command (for example `ward guard`,
// whose status tells a deployer what to do).
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

type cli struct {
	Config kong.ConfigFlag `help:"YAML file with settings (keys are flag names, e.g. 'http: 127.0.0.1:8080')." type:"existingfile" placeholder:"FILE"`

	Serve      serveCmd      `cmd:"" help:"Run the daemon: ingest, storage, query API, rules, UI."`
	Send       sendCmd       `cmd:"" help:"Send statsd lines (arguments or stdin) over UDP, TCP or HTTP."`
	Query      queryCmd      `cmd:"" help:"Run a PromQL query against a Ward (or any Prometheus) HTTP API."`
	Import     importCmd     `cmd:"" help:"Backfill OpenMetrics or CSV files into a data directory."`
	Rules      rulesCmd      `cmd:"" help:"Work with rule files."`
	Experiment experimentCmd `cmd:"" help:"Define, change and judge A/B experiments."`
	Guard      guardCmd      `cmd:"" help:"Print the deploy guard's verdict on a release; exit 0 promote, 1 rollback, 3 wait."`
	Deploy     deployCmd     `cmd:"" help:"Register a release, run its canary, watch the guard, then promote or roll back."`
	Version    versionCmd    `cmd:"" help:"Print the version."`
}

type versionCmd struct{}

func (versionCmd) Run() error {
	fmt.Println("ward", version)
	return nil
}

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	var c cli
	parser, err := kong.New(&c,
		kong.Name("ward"),
		kong.Description("Ward: metrics, alerting, deploy guard and experiments in one daemon."),
		kong.UsageOnError(),
		kong.Configuration(yamlLoader),
	)
	if err != nil {
		fmt.Fprintln(os.Stderr, "ward:", err)
		return 2
	}
	kctx, err := parser.Parse(args)
	if err != nil {
		fmt.Fprintln(os.Stderr, "ward:", err)
		return 2
	}
	c.Serve.configFile = string(c.Config)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	kctx.BindTo(ctx, (*context.Context)(nil))
	if err := kctx.Run(); err != nil {
		var ee *exitError
		if errors.As(err, &ee) {
			if ee.err != nil {
				fmt.Fprintln(os.Stderr, "ward:", ee.err)
			}
			return ee.code
		}
		fmt.Fprintln(os.Stderr, "ward:", err)
		return 2
	}
	return 0
}
