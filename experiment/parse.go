package experiment

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"go.yaml.in/yaml/v3"
)

// definitionInput is what files and request bodies may contain. Rollout is a pointer so
// that leaving it out is an error rather than a silent 0; the output-only fields are
// accepted and ignored so that a fetched definition can be sent back unchanged.
type definitionInput struct {
	Name        string    `json:"name" yaml:"name"`
	Description string    `json:"description" yaml:"description"`
	Salt        string    `json:"salt" yaml:"salt"`
	Branches    []Branch  `json:"branches" yaml:"branches"`
	Rollout     *float64  `json:"rollout" yaml:"rollout"`
	Mode        Mode      `json:"mode" yaml:"mode"`
	Status      Status    `json:"status" yaml:"status"`
	Winner      string    `json:"winner" yaml:"winner"`
	Start       time.Time `json:"start" yaml:"start"`
	End         time.Time `json:"end" yaml:"end"`
	Metrics     []Metric  `json:"metrics" yaml:"metrics"`

	Bounds  []uint32  `json:"bounds" yaml:"bounds"`
	Version int64     `json:"version" yaml:"version"`
	Created time.Time `json:"created" yaml:"created"`
	Updated time.Time `json:"updated" yaml:"updated"`
}

func (in *definitionInput) definition() (Definition, error) {
	d := Definition{
		Name: in.Name, Description: in.Description, Salt: in.Salt,
		Branches: in.Branches, Mode: in.Mode, Status: in.Status, Winner: in.Winner,
		Start: in.Start, End: in.End, Metrics: in.Metrics,
	}
	if in.Rollout == nil {
		return d, fmt.Errorf("%w: experiment %q: rollout is required (a percentage from 0 to 100)", ErrInvalid, in.Name)
	}
	d.Rollout = *in.Rollout
	if err := d.Validate(); err != nil {
		return d, err
	}
	d.Normalize()
	return d, nil
}

// fileDocument is one YAML document of a definition file: either a list under
// "experiments" or a single definition at the top level.
type fileDocument struct {
	Experiments     []definitionInput `yaml:"experiments"`
	definitionInput `yaml:",inline"`
}

// ParseDefinitions parses YAML definition files (see README.md for the format): each
// document holds either `experiments: [...]` or one definition. Unknown fields are
// errors, definitions are validated and defaults filled in; duplicate names are errors.
func ParseDefinitions(data []byte) ([]Definition, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var defs []Definition
	names := map[string]bool{}
	for doc := 0; ; doc++ {
		var fd fileDocument
		err := dec.Decode(&fd)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%w: parse definitions: document %d: %w", ErrInvalid, doc, err)
		}
		inputs := fd.Experiments
		single := fd.definitionInput.Name != "" || fd.definitionInput.Branches != nil || fd.definitionInput.Rollout != nil
		switch {
		case single && len(inputs) > 0:
			return nil, fmt.Errorf("%w: parse definitions: document %d: has both \"experiments\" and top-level definition fields", ErrInvalid, doc)
		case single:
			inputs = []definitionInput{fd.definitionInput}
		}
		for i := range inputs {
			d, err := inputs[i].definition()
			if err != nil {
				return nil, fmt.Errorf("parse definitions: document %d: %w", doc, err)
			}
			if names[d.Name] {
				return nil, fmt.Errorf("%w: parse definitions: experiment %q defined twice", ErrInvalid, d.Name)
			}
			names[d.Name] = true
			defs = append(defs, d)
		}
	}
	return defs, nil
}

// LoadFiles reads and parses every file matching the globs, in order. An experiment
// defined in two files is an error.
func LoadFiles(globs ...string) ([]Definition, error) {
	var defs []Definition
	names := map[string]string{}
	for _, g := range globs {
		paths, err := filepath.Glob(g)
		if err != nil {
			return nil, fmt.Errorf("load experiment files %q: %w", g, err)
		}
		for _, p := range paths {
			data, err := os.ReadFile(p)
			if err != nil {
				return nil, fmt.Errorf("load experiment file: %w", err)
			}
			ds, err := ParseDefinitions(data)
			if err != nil {
				return nil, fmt.Errorf("load experiment file %s: %w", p, err)
			}
			for _, d := range ds {
				if prev, ok := names[d.Name]; ok {
					return nil, fmt.Errorf("%w: experiment %q defined in %s and %s", ErrInvalid, d.Name, prev, p)
				}
				names[d.Name] = p
			}
			defs = append(defs, ds...)
		}
	}
	return defs, nil
}

// DecodeDefinition decodes the JSON body of POST /api/v1/experiments: one definition,
// strict about unknown fields, validated, defaults filled in.
func DecodeDefinition(body []byte) (Definition, error) {
	var in definitionInput
	if err := decodeStrict(body, &in); err != nil {
		return Definition{}, fmt.Errorf("%w: decode definition: %w", ErrInvalid, err)
	}
	return in.definition()
}

// decodeStrict decodes exactly one JSON value and rejects unknown fields and trailing
// data, so that a typo in a field name is an error rather than a silent default.
func decodeStrict(body []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("trailing data after the JSON value")
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errors.New("trailing data after the JSON value")
	}
	return nil
}

func wrapInvalid(what string, err error) error {
	return fmt.Errorf("%w: %s: %w", ErrInvalid, what, err)
}
