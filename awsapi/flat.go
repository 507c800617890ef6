package awsapi

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/rotorhq/rotor"
)

// The flat fast path.
//
// Most read requests (GetSecretValue, DescribeSecret, ...) are a JSON object
// of a few plain strings: {"SecretId":"prod/db"}. For those, validateInput
// skips the generic path (decode into map[string]any, walk, re-encode, decode
// into the wire struct) and checks the strings in place. It takes only
// bodies whose decoding is beyond doubt (an object of known members with
// plain string values), checks the model's constraints with the same code
// and words as the generic path, and hands every other body to the generic
// path, so the answer to any request is the same either way;
// FuzzValidateInputFlat checks that.

// maxFlatMembers bounds the members of a shape the fast path handles.
const maxFlatMembers = 8

// flatInput is an input decoded by the fast path: the value of each present
// member of shape, by member index.
type flatInput struct {
	shape   *shape
	values  [maxFlatMembers]string
	present [maxFlatMembers]bool
}

// input is an operation's validated input: the generic path's cleaned JSON
// (see decodeInput), or, when isFlat is set, the fast path's values.
type input struct {
	raw    []byte
	isFlat bool
	flat   flatInput
}

// validateInput is decodeInput with the fast path: same errors, same
// validated input.
func validateInput(in *shape, body []byte) (input, error) {
	if isFlatShape(in) {
		if f, ok := parseFlat(in, body); ok {
			if err := f.validate(); err != nil {
				return input{}, err
			}
			return input{isFlat: true, flat: f}, nil
		}
	}
	b, err := decodeInput(in, body)
	return input{raw: b}, err
}

// isFlatShape reports whether s is a structure of at most maxFlatMembers
// members, all strings.
func isFlatShape(s *shape) bool {
	if s == nil || s.Type != "structure" || len(s.Members) > maxFlatMembers {
		return false
	}
	for _, m := range s.Members {
		if m.Shape.Type != "string" {
			return false
		}
	}
	return true
}

// parseFlat parses body as a JSON object whose members are each a member of
// s, at most once, with a string value that has no escape sequence, no
// control character and only valid UTF-8, surrounded by JSON white space
// alone. It reports false for any other body, which the generic path must
// then handle (it may still be valid: escapes, unknown members, nulls).
func parseFlat(s *shape, body []byte) (flatInput, bool) {
	f := flatInput{shape: s}
	var start, end [maxFlatMembers]int
	i := skipSpace(body, 0)
	if i == len(body) || body[i] != '{' {
		return f, false
	}
	i = skipSpace(body, i+1)
	if i < len(body) && body[i] == '}' {
		i++
	} else {
		for {
			ks, ke, ok := scanString(body, i)
			if !ok {
				return f, false
			}
			m := -1
			for j, mem := range s.Members {
				if mem.Name == string(body[ks:ke]) { // no allocation
					m = j
					break
				}
			}
			if m < 0 || f.present[m] {
				return f, false
			}
			i = skipSpace(body, ke+1)
			if i == len(body) || body[i] != ':' {
				return f, false
			}
			vs, ve, ok := scanString(body, skipSpace(body, i+1))
			if !ok {
				return f, false
			}
			f.present[m], start[m], end[m] = true, vs, ve
			i = skipSpace(body, ve+1)
			if i == len(body) {
				return f, false
			}
			if body[i] == '}' {
				i++
				break
			}
			if body[i] != ',' {
				return f, false
			}
			i = skipSpace(body, i+1)
		}
	}
	if skipSpace(body, i) != len(body) {
		return f, false
	}
	// One conversion for all values; each is a substring of it.
	lo, hi := len(body), 0
	for m := range s.Members {
		if f.present[m] {
			lo, hi = min(lo, start[m]), max(hi, end[m])
		}
	}
	if lo < hi {
		all := string(body[lo:hi])
		for m := range s.Members {
			if f.present[m] {
				f.values[m] = all[start[m]-lo : end[m]-lo]
			}
		}
	}
	return f, true
}

// skipSpace returns the index of the first byte at or after i that is not
// JSON white space.
func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// scanString scans the JSON string starting at b[i] and returns the bounds
// of its contents (closing quote at b[end]). It reports false unless the
// string is plain: no backslash, no control character, valid UTF-8.
func scanString(b []byte, i int) (start, end int, ok bool) {
	if i >= len(b) || b[i] != '"' {
		return 0, 0, false
	}
	start = i + 1
	ascii := true
	for j := start; j < len(b); j++ {
		switch c := b[j]; {
		case c == '"':
			if !ascii && !utf8.Valid(b[start:j]) {
				return 0, 0, false
			}
			return start, j, true
		case c == '\\' || c < 0x20:
			return 0, 0, false
		case c >= utf8.RuneSelf:
			ascii = false
		}
	}
	return 0, 0, false
}

// validate applies the model's constraints exactly as decodeInput's walk
// does for a structure of strings: members in model order, required ones
// present, each value checked; then the secret-name rule.
func (f *flatInput) validate() error {
	var w walker
	s := f.shape
	for m, mem := range s.Members {
		if !f.present[m] {
			if s.Required[mem.Name] {
				w.errs = append(w.errs, fmt.Sprintf("Value null at '%s' failed to satisfy constraint: Member must not be null", lowerFirst(mem.Name)))
			}
			continue
		}
		w.checkString(mem.Shape, f.values[m], "", mem.Name)
		if secretNameMembers[memberRef{s.Name, mem.Name}] && !rotor.ValidSecretName(f.values[m]) {
			w.invalidName = true
		}
	}
	if len(w.errs) > 0 {
		n := "1 validation error detected: "
		if len(w.errs) > 1 {
			n = strconv.Itoa(len(w.errs)) + " validation errors detected: "
		}
		return &rotor.Error{Code: rotor.EVALIDATION, Message: n + strings.Join(w.errs, "; ")}
	}
	if w.invalidName {
		return &rotor.Error{Code: rotor.EVALIDATION, Message: rotor.InvalidNameMessage}
	}
	return nil
}

// toJSON returns the input as decodeInput would have returned it: the present
// members as a JSON object.
func (f *flatInput) toJSON() ([]byte, error) {
	m := make(map[string]any, len(f.shape.Members))
	for i, mem := range f.shape.Members {
		if f.present[i] {
			m[mem.Name] = f.values[i]
		}
	}
	b, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("re-encode validated input: %w", err)
	}
	return b, nil
}

// stringFields maps the JSON names of a wire struct's string and *string
// fields to their indexes: only names that json.Unmarshal would match
// exactly and unambiguously to that field.
type stringFields map[string]int

// stringFieldsOf returns the stringFields of T (none when T is not a struct).
func stringFieldsOf[T any]() stringFields {
	t := reflect.TypeFor[T]()
	fields := stringFields{}
	if t.Kind() != reflect.Struct {
		return fields
	}
	seen := map[string]int{}
	for i := range t.NumField() {
		sf := t.Field(i)
		if !sf.IsExported() || sf.Anonymous {
			continue
		}
		tag := sf.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if name == "" {
			name = sf.Name
		}
		seen[name]++
		plain := alnum(name) && !slices.Contains(strings.Split(opts, ","), "string")
		if ft := sf.Type; plain && (ft == stringType || ft.Kind() == reflect.Pointer && ft.Elem() == stringType) {
			fields[name] = i
		}
	}
	for name, n := range seen {
		if n > 1 {
			delete(fields, name) // json.Unmarshal would ignore an ambiguous name
		}
	}
	return fields
}

var stringType = reflect.TypeFor[string]()

// alnum reports whether s is a non-empty run of ASCII letters and digits.
func alnum(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9') {
			return false
		}
	}
	return s != ""
}

// set stores f's values in the struct v points to, as json.Unmarshal of
// f.toJSON() would. It reports false, changing nothing, when a present
// member has no field in fields.
func (fields stringFields) set(v any, f *flatInput) bool {
	return fields.setWith(v, f, new([maxFlatMembers]string))
}

// setWith is set with the strings that *string fields point to kept in
// strs (by member index), instead of one allocation each.
func (fields stringFields) setWith(v any, f *flatInput, strs *[maxFlatMembers]string) bool {
	for m, mem := range f.shape.Members {
		if _, ok := fields[mem.Name]; f.present[m] && !ok {
			return false
		}
	}
	rv := reflect.ValueOf(v).Elem()
	for m, mem := range f.shape.Members {
		if !f.present[m] {
			continue
		}
		fv := rv.Field(fields[mem.Name])
		if fv.Kind() == reflect.String {
			fv.SetString(f.values[m])
			continue
		}
		strs[m] = f.values[m]
		fv.Set(reflect.ValueOf(&strs[m]))
	}
	return true
}
