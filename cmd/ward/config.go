package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/alecthomas/kong"
	"go.yaml.in/yaml/v3"
)

// yamlLoader reads a YAML config file whose keys are flag names (`flush-interval: 10s`,
// `rules: ["/etc/ward/*.yml"]`) and hands it to kong's JSON resolver, so the config file
// and the flags can never disagree about what a setting is called.
func yamlLoader(r io.Reader) (kong.Resolver, error) {
	raw, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	var m map[string]any
	if err := yaml.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("parse config YAML: %w", err)
	}
	// kong's JSON resolver looks a flag up as its name with '-' made '_'
	// ("flush_interval") or camel-cased, never as written on the command line: key
	// the settings that way so that `flush-interval: 10s` is found.
	flat := make(map[string]any, len(m))
	for k, v := range m {
		flat[strings.ReplaceAll(k, "-", "_")] = v
	}
	js, err := json.Marshal(flat)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return kong.JSON(bytes.NewReader(js))
}
