package awsapi

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
)

// modelJSON is the botocore model of AWS Secrets Manager (2017-10-17),
// vendored verbatim. Request validation is driven by it, so the rules the
// server enforces cannot drift from the ones the SDKs are generated from.
//
//go:embed model/secretsmanager-service-2.json
var modelJSON []byte

// shape is one resolved shape of a service model: the subset of the botocore
// shape that request validation needs.
type shape struct {
	Name      string
	Type      string          // structure, list, map, string, blob, boolean, integer, long, timestamp, ...
	Members   []member        // structure members, in model order
	Required  map[string]bool // structure members that must be present
	Member    *shape          // list element
	Key       *shape          // map key
	Value     *shape          // map value
	Min, Max  *int64          // length (string, blob, list, map) or value (integer, long) bounds
	Pattern   *regexp.Regexp  // Smithy pattern: not implicitly anchored
	Enum      []string
	Sensitive bool // never echo the value in messages
}

// member is one named member of a structure shape.
type member struct {
	Name  string
	Shape *shape
}

// serviceModel is a resolved model: its operations' input shapes by
// operation name.
type serviceModel struct {
	TargetPrefix string
	Inputs       map[string]*shape // nil value: the operation has no input shape
	Shapes       map[string]*shape // every shape by name
}

// secretsManagerModel is the embedded Secrets Manager model, resolved once at
// initialisation (patterns compiled); a malformed model is a build defect
// and panics.
var secretsManagerModel = mustLoadModel(modelJSON)

type rawRef struct {
	Shape string `json:"shape"`
}

type rawShape struct {
	Type      string         `json:"type"`
	Members   orderedMembers `json:"members"`
	Required  []string       `json:"required"`
	Member    *rawRef        `json:"member"`
	Key       *rawRef        `json:"key"`
	Value     *rawRef        `json:"value"`
	Min       *json.Number   `json:"min"`
	Max       *json.Number   `json:"max"`
	Pattern   *string        `json:"pattern"`
	Enum      []string       `json:"enum"`
	Sensitive bool           `json:"sensitive"`
}

type rawModel struct {
	Metadata struct {
		TargetPrefix string `json:"targetPrefix"`
	} `json:"metadata"`
	Operations map[string]struct {
		Input *rawRef `json:"input"`
	} `json:"operations"`
	Shapes map[string]rawShape `json:"shapes"`
}

// orderedMembers keeps a structure's members in the order the model lists
// them, so validation errors come out in a stable, model-defined order.
type orderedMembers []struct {
	Name  string
	Shape string
}

func (o *orderedMembers) UnmarshalJSON(b []byte) error {
	d := json.NewDecoder(bytes.NewReader(b))
	if t, err := d.Token(); err != nil {
		return err
	} else if t != json.Delim('{') {
		return fmt.Errorf("members: want an object")
	}
	for d.More() {
		t, err := d.Token()
		if err != nil {
			return err
		}
		name, _ := t.(string)
		var ref rawRef
		if err := d.Decode(&ref); err != nil {
			return fmt.Errorf("member %s: %w", name, err)
		}
		*o = append(*o, struct {
			Name  string
			Shape string
		}{name, ref.Shape})
	}
	_, err := d.Token()
	return err
}

// loadModel parses a botocore service model and resolves its shapes.
func loadModel(b []byte) (*serviceModel, error) {
	var raw rawModel
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, fmt.Errorf("parse model: %w", err)
	}
	shapes := make(map[string]*shape, len(raw.Shapes))
	for name := range raw.Shapes {
		shapes[name] = &shape{Name: name}
	}
	ref := func(owner string, r *rawRef) (*shape, error) {
		if r == nil {
			return nil, fmt.Errorf("shape %s: missing reference", owner)
		}
		s, ok := shapes[r.Shape]
		if !ok {
			return nil, fmt.Errorf("shape %s: unknown shape %q", owner, r.Shape)
		}
		return s, nil
	}
	bound := func(owner string, n *json.Number) (*int64, error) {
		if n == nil {
			return nil, nil
		}
		v, err := strconv.ParseInt(n.String(), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("shape %s: bound %s: %w", owner, n, err)
		}
		return &v, nil
	}
	for name, rs := range raw.Shapes {
		s := shapes[name]
		s.Type, s.Enum, s.Sensitive = rs.Type, rs.Enum, rs.Sensitive
		var err error
		if s.Min, err = bound(name, rs.Min); err != nil {
			return nil, err
		}
		if s.Max, err = bound(name, rs.Max); err != nil {
			return nil, err
		}
		if rs.Pattern != nil {
			if s.Pattern, err = regexp.Compile(*rs.Pattern); err != nil {
				return nil, fmt.Errorf("shape %s: pattern: %w", name, err)
			}
		}
		switch rs.Type {
		case "structure":
			s.Required = make(map[string]bool, len(rs.Required))
			for _, r := range rs.Required {
				s.Required[r] = true
			}
			for _, m := range rs.Members {
				ms, err := ref(name, &rawRef{Shape: m.Shape})
				if err != nil {
					return nil, err
				}
				s.Members = append(s.Members, member{Name: m.Name, Shape: ms})
			}
			for r := range s.Required {
				if s.member(r) == nil {
					return nil, fmt.Errorf("shape %s: required member %s does not exist", name, r)
				}
			}
		case "list":
			if s.Member, err = ref(name, rs.Member); err != nil {
				return nil, err
			}
		case "map":
			if s.Key, err = ref(name, rs.Key); err != nil {
				return nil, err
			}
			if s.Value, err = ref(name, rs.Value); err != nil {
				return nil, err
			}
		}
	}
	m := &serviceModel{TargetPrefix: raw.Metadata.TargetPrefix, Inputs: make(map[string]*shape, len(raw.Operations)), Shapes: shapes}
	for op, o := range raw.Operations {
		if o.Input == nil {
			m.Inputs[op] = nil
			continue
		}
		in, err := ref(op, o.Input)
		if err != nil {
			return nil, err
		}
		if in.Type != "structure" {
			return nil, fmt.Errorf("operation %s: input %s is not a structure", op, in.Name)
		}
		m.Inputs[op] = in
	}
	return m, nil
}

func mustLoadModel(b []byte) *serviceModel {
	m, err := loadModel(b)
	if err != nil {
		panic("awsapi: embedded model: " + err.Error())
	}
	return m
}

// member returns the structure member called name, or nil.
func (s *shape) member(name string) *shape {
	for _, m := range s.Members {
		if m.Name == name {
			return m.Shape
		}
	}
	return nil
}
