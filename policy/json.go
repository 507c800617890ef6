package policy

import (
	"encoding/json"
	"errors"
	"io"
	"strings"
)

// object is a decoded JSON object that remembers its keys' order (so errors
// name the first offender deterministically) and refuses duplicate keys.
type object struct {
	keys []string
	vals map[string]any
}

// decodeJSON decodes doc into nested *object, []any, string, json.Number,
// bool and nil values. It refuses duplicate keys in an object and anything
// after the first value.
func decodeJSON(doc string) (any, error) {
	dec := json.NewDecoder(strings.NewReader(doc))
	dec.UseNumber()
	v, err := decodeValue(dec, 0)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errSyntax
	}
	return v, nil
}

// maxDepth bounds nesting; a policy never needs more than five levels.
const maxDepth = 16

func decodeValue(dec *json.Decoder, depth int) (any, error) {
	if depth > maxDepth {
		return nil, errSyntax
	}
	tok, err := dec.Token()
	if err != nil {
		return nil, errSyntax
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			o := &object{vals: map[string]any{}}
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return nil, errSyntax
				}
				k, ok := kt.(string)
				if !ok {
					return nil, errSyntax
				}
				if _, dup := o.vals[k]; dup {
					return nil, errSyntax
				}
				v, err := decodeValue(dec, depth+1)
				if err != nil {
					return nil, err
				}
				o.keys = append(o.keys, k)
				o.vals[k] = v
			}
			if _, err := dec.Token(); err != nil {
				return nil, errSyntax
			}
			return o, nil
		case '[':
			arr := []any{}
			for dec.More() {
				v, err := decodeValue(dec, depth+1)
				if err != nil {
					return nil, err
				}
				arr = append(arr, v)
			}
			if _, err := dec.Token(); err != nil {
				return nil, errSyntax
			}
			return arr, nil
		}
		return nil, errSyntax
	default:
		return tok, nil
	}
}

// stringList returns v as a list of strings: a string alone or an array of
// strings. It fails on anything else, including an empty array.
func stringList(v any) ([]string, bool) {
	switch t := v.(type) {
	case string:
		return []string{t}, true
	case []any:
		if len(t) == 0 {
			return nil, false
		}
		out := make([]string, 0, len(t))
		for _, e := range t {
			s, ok := e.(string)
			if !ok {
				return nil, false
			}
			out = append(out, s)
		}
		return out, true
	}
	return nil, false
}

// scalarList is stringList for condition values, which AWS also accepts as
// JSON numbers and booleans (kept as their literal text).
func scalarList(v any) ([]string, bool) {
	scalar := func(e any) (string, bool) {
		switch t := e.(type) {
		case string:
			return t, true
		case json.Number:
			return t.String(), true
		case bool:
			if t {
				return "true", true
			}
			return "false", true
		}
		return "", false
	}
	if arr, ok := v.([]any); ok {
		if len(arr) == 0 {
			return nil, false
		}
		out := make([]string, 0, len(arr))
		for _, e := range arr {
			s, ok := scalar(e)
			if !ok {
				return nil, false
			}
			out = append(out, s)
		}
		return out, true
	}
	s, ok := scalar(v)
	if !ok {
		return nil, false
	}
	return []string{s}, true
}
