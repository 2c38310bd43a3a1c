package main

import (
	"fmt"
	"os"

	"github.com/wardmetrics/ward/rules"
)

type rulesCmd struct {
	Check rulesCheckCmd `cmd:"" help:"Validate rule files like 'promtool check rules'; exits non-zero on errors."`
}

type rulesCheckCmd struct {
	Files []string `arg:"" help:"Rule files." type:"path"`
}

func (c *rulesCheckCmd) Run() error {
	failed := 0
	for _, f := range c.Files {
		fmt.Printf("Checking %s\n", f)
		file, errs := rules.ParseFile(f)
		if len(errs) > 0 {
			failed++
			fmt.Fprintf(os.Stderr, "  FAILED:\n")
			for _, err := range errs {
				fmt.Fprintf(os.Stderr, "%s\n", err)
			}
			continue
		}
		fmt.Printf("  SUCCESS: %d rules found\n", file.NumRules())
	}
	if failed > 0 {
		return &exitError{code: 1, err: fmt.Errorf("%d of %d rule files have errors", failed, len(c.Files))}
	}
	return nil
}
