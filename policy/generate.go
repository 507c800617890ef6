package policy

import (
	"bytes"
	"encoding/json"
	"strings"
)

// Statement is one statement of a generated policy. Principal maps a
// principal type (only "AWS" is accepted) to principals; Condition maps an
// operator to keys to values. Empty fields are left out of the document.
type Statement struct {
	Sid       string                         `json:"Sid,omitempty"`
	Effect    string                         `json:"Effect"`
	Principal map[string][]string            `json:"Principal,omitempty"`
	Action    []string                       `json:"Action"`
	Resource  []string                       `json:"Resource"`
	Condition map[string]map[string][]string `json:"Condition,omitempty"`
}

// Generate builds a Version 2012-10-17 document of the given kind from
// statements and parses it, so what it returns is exactly what a stored
// document would give; String returns the document. The JSON is
// deterministic (map keys sorted) and does not escape <, > or &. Errors are
// Parse's.
func Generate(kind Kind, statements ...Statement) (*Policy, error) {
	doc := struct {
		Version   string      `json:"Version"`
		Statement []Statement `json:"Statement"`
	}{Version2012, statements}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(doc); err != nil {
		return nil, err
	}
	return Parse(strings.TrimSuffix(b.String(), "\n"), kind)
}
