package builtin

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
)

// object is a JSON object as written: its members in their original order,
// each value's bytes exactly as they were, so that a strategy changes the
// fields it owns and nothing else of a user's secret — not the precision
// of a big number, not the escaping of <, > and &, not the key order.
type object struct {
	src     string
	members []member
}

// member is one key of an object; start and end delimit its value in src.
type member struct {
	key        string
	start, end int
}

// errNotObject and errDuplicateKey are parseObjectExact's refusals.
var (
	errNotObject    = errors.New("not a JSON object")
	errDuplicateKey = errors.New("duplicate key")
)

// parseObjectExact parses s as one JSON object. It refuses anything else
// (errNotObject) and an object with a key twice (errDuplicateKey, naming
// the key), whose meaning depends on the reader.
func parseObjectExact(s string) (*object, error) {
	dec := json.NewDecoder(strings.NewReader(s))
	tok, err := dec.Token()
	if d, ok := tok.(json.Delim); err != nil || !ok || d != '{' {
		return nil, errNotObject
	}
	o := &object{src: s}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		key, ok := tok.(string)
		if err != nil || !ok {
			return nil, errNotObject
		}
		if seen[key] {
			return nil, fmt.Errorf("%w %q", errDuplicateKey, key)
		}
		seen[key] = true
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, errNotObject
		}
		end := int(dec.InputOffset())
		o.members = append(o.members, member{key: key, start: end - len(raw), end: end})
	}
	if tok, err := dec.Token(); err != nil || tok != json.Delim('}') {
		return nil, errNotObject
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errNotObject // something after the object
	}
	return o, nil
}

// field is a value a strategy sets.
type field struct {
	key   string
	value any
}

// with returns o's text with the values of fields' keys replaced (encoded
// without HTML escaping), the keys o lacks appended in the order given, and
// every other byte as it was.
func (o *object) with(fields ...field) (string, error) {
	type edit struct {
		start, end int
		text       string
	}
	var edits []edit // at most one per member, never overlapping
	var added []string
	for _, f := range fields {
		v, err := marshalCompact(f.value)
		if err != nil {
			return "", fmt.Errorf("encode %q: %w", f.key, err)
		}
		found := false
		for _, m := range o.members {
			if m.key == f.key {
				edits, found = append(edits, edit{m.start, m.end, string(v)}), true
			}
		}
		if !found {
			k, err := marshalCompact(f.key)
			if err != nil {
				return "", fmt.Errorf("encode key %q: %w", f.key, err)
			}
			added = append(added, string(k)+":"+string(v))
		}
	}
	if len(added) > 0 {
		text := strings.Join(added, ",")
		if len(o.members) > 0 {
			text = "," + text
		}
		// After the last value (or the opening brace), before the space
		// and brace that close the object.
		at := strings.IndexByte(o.src, '{') + 1
		if n := len(o.members); n > 0 {
			at = o.members[n-1].end
		}
		edits = append(edits, edit{at, at, text})
	}
	var b bytes.Buffer
	pos := 0
	sort.Slice(edits, func(i, j int) bool { return edits[i].start < edits[j].start })
	for _, e := range edits {
		b.WriteString(o.src[pos:e.start])
		b.WriteString(e.text)
		pos = e.end
	}
	b.WriteString(o.src[pos:])
	return b.String(), nil
}
