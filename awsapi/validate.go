package awsapi

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/rotorhq/rotor"
)

// redacted stands for a sensitive value nested inside a value echoed in a
// validation message (the AWS SDKs print sensitive members the same way).
const redacted = "*** Sensitive Data Redacted ***"

// secretNameMembers are the members whose value must also be a valid secret
// name (rotor.ValidSecretName). The model gives NameType only a length; the
// character rule is AWS's own, reported with rotor.InvalidNameMessage.
var secretNameMembers = map[memberRef]bool{{"CreateSecretRequest", "Name"}: true}

// secretIDShape is the model's shape of every SecretId member (and of the
// items of BatchGetSecretValue's SecretIdList, and of Rotor's own operations
// that take one). A value of it must also be a valid secret id
// (rotor.ValidSecretID), or the request is refused with
// rotor.InvalidNameMessage, as AWS refuses it, before anything is looked up
// or authorised: an id that cannot name a secret never reaches the service.
const secretIDShape = "SecretIdType"

// memberRef names one member of a structure shape.
type memberRef struct{ shape, member string }

// decodeInput parses body as a JSON object and checks it against the input
// shape in.
//
// It returns the input reduced to the members the shape declares (unknown
// members and nulls dropped, integers normalised), re-encoded as JSON, ready
// to be unmarshalled into a wire struct. Because only the declared members
// survive, Go's case-insensitive field matching can never smuggle an
// unvalidated member (say "secretid") into the wire struct.
//
// Errors: a SerializationException *apiError when the body is not a JSON
// object or a member has the wrong JSON type (the message names the member,
// never its value); a *rotor.Error with code EVALIDATION when a string in
// it is not Unicode text (invalid UTF-8, or an unpaired surrogate escape,
// which decoding would silently replace with U+FFFD: see checkUnicode), and
// when the input breaks the model's constraints, worded as AWS words it.
func decodeInput(in *shape, body []byte) ([]byte, error) {
	var raw any = map[string]any{}
	if len(bytes.TrimSpace(body)) != 0 {
		d := json.NewDecoder(bytes.NewReader(body))
		d.UseNumber()
		if err := d.Decode(&raw); err != nil {
			return nil, serializationError("The request body is not valid JSON.")
		}
		if _, err := d.Token(); err != io.EOF {
			return nil, serializationError("The request body is not valid JSON: unexpected data after the top-level value.")
		}
	}
	if _, ok := raw.(map[string]any); !ok {
		return nil, serializationError("The request body must be a JSON object.")
	}
	if err := checkUnicode(body); err != nil {
		return nil, err
	}
	if in == nil {
		return []byte("{}"), nil
	}
	var w walker
	clean, err := w.walk(in, "", raw)
	if err != nil {
		return nil, err
	}
	if len(w.errs) > 0 {
		n := "1 validation error detected: "
		if len(w.errs) > 1 {
			n = strconv.Itoa(len(w.errs)) + " validation errors detected: "
		}
		return nil, &rotor.Error{Code: rotor.EVALIDATION, Message: n + strings.Join(w.errs, "; ")}
	}
	if w.invalidName {
		return nil, &rotor.Error{Code: rotor.EVALIDATION, Message: rotor.InvalidNameMessage}
	}
	b, err := json.Marshal(clean)
	if err != nil {
		return nil, fmt.Errorf("re-encode validated input: %w", err)
	}
	return b, nil
}

// walker walks a decoded JSON value along a shape, collecting constraint
// violations in errs. A JSON type mismatch stops the walk at once.
type walker struct {
	errs        []string
	invalidName bool
}

// walk checks v (decoded with UseNumber) against s at path and returns the
// cleaned value.
func (w *walker) walk(s *shape, path string, v any) (any, error) {
	switch s.Type {
	case "structure":
		m, ok := v.(map[string]any)
		if !ok {
			return nil, typeError(path, "a JSON object")
		}
		out := make(map[string]any, len(s.Members))
		for _, mem := range s.Members {
			p := joinPath(path, lowerFirst(mem.Name))
			mv, present := m[mem.Name]
			if !present || mv == nil { // AWS JSON treats null as absent
				if s.Required[mem.Name] {
					w.errs = append(w.errs, fmt.Sprintf("Value null at '%s' failed to satisfy constraint: Member must not be null", p))
				}
				continue
			}
			cv, err := w.walk(mem.Shape, p, mv)
			if err != nil {
				return nil, err
			}
			if str, ok := cv.(string); ok && secretNameMembers[memberRef{s.Name, mem.Name}] && !rotor.ValidSecretName(str) {
				w.invalidName = true
			}
			out[mem.Name] = cv
		}
		return out, nil

	case "list":
		a, ok := v.([]any)
		if !ok {
			return nil, typeError(path, "a JSON array")
		}
		w.length(s, path, v, int64(len(a)))
		out := make([]any, 0, len(a))
		for i, item := range a {
			p := fmt.Sprintf("%s.%d.member", path, i+1)
			if item == nil {
				return nil, serializationError(fmt.Sprintf("Null value in list '%s'.", p))
			}
			cv, err := w.walk(s.Member, p, item)
			if err != nil {
				return nil, err
			}
			out = append(out, cv)
		}
		return out, nil

	case "map":
		m, ok := v.(map[string]any)
		if !ok {
			return nil, typeError(path, "a JSON object")
		}
		w.length(s, path, v, int64(len(m)))
		out := make(map[string]any, len(m))
		for _, k := range sortedKeys(m) {
			if _, err := w.walk(s.Key, path+".key", k); err != nil {
				return nil, err
			}
			p := path + "." + k + ".value"
			if m[k] == nil {
				return nil, serializationError(fmt.Sprintf("Null value in map '%s'.", p))
			}
			cv, err := w.walk(s.Value, p, m[k])
			if err != nil {
				return nil, err
			}
			out[k] = cv
		}
		return out, nil

	case "string":
		str, ok := v.(string)
		if !ok {
			return nil, typeError(path, "a string")
		}
		w.checkString(s, str, path, "")
		return str, nil

	case "blob":
		str, ok := v.(string)
		if !ok {
			return nil, typeError(path, "a base64-encoded string")
		}
		b, err := base64.StdEncoding.DecodeString(str)
		if err != nil {
			return nil, serializationError(fmt.Sprintf("Value at '%s' is not valid base64.", path))
		}
		w.length(s, path, v, int64(len(b)))
		return str, nil

	case "boolean":
		b, ok := v.(bool)
		if !ok {
			return nil, typeError(path, "a boolean")
		}
		return b, nil

	case "integer", "long":
		n, ok := v.(json.Number)
		if !ok {
			return nil, typeError(path, "a number")
		}
		bits := 64
		if s.Type == "integer" {
			bits = 32
		}
		i, err := strconv.ParseInt(n.String(), 10, bits)
		if err != nil {
			return nil, serializationError(fmt.Sprintf("Value at '%s' must be a whole number that fits in %d bits.", path, bits))
		}
		if s.Min != nil && i < *s.Min {
			w.fail(s, path, v, "Member must have value greater than or equal to "+strconv.FormatInt(*s.Min, 10))
		}
		if s.Max != nil && i > *s.Max {
			w.fail(s, path, v, "Member must have value less than or equal to "+strconv.FormatInt(*s.Max, 10))
		}
		return i, nil

	case "timestamp", "float", "double":
		n, ok := v.(json.Number)
		if !ok {
			return nil, typeError(path, "a number")
		}
		if _, err := strconv.ParseFloat(n.String(), 64); err != nil {
			return nil, serializationError(fmt.Sprintf("Value at '%s' is not a valid number.", path))
		}
		return n, nil
	}
	return nil, fmt.Errorf("awsapi: shape %s has unsupported type %q", s.Name, s.Type)
}

// checkString checks str against the string shape s: length in runes,
// pattern, enum, and the secret-id rule for secretIDShape. The value's path is path when member is "", else member
// (a model member name) inside the structure at path; it is only computed
// for a violation, so a valid value costs no allocation.
func (w *walker) checkString(s *shape, str, path, member string) {
	at := func() string {
		if member == "" {
			return path
		}
		return joinPath(path, lowerFirst(member))
	}
	if s.Min != nil || s.Max != nil {
		n := int64(utf8.RuneCountInString(str))
		if s.Min != nil && n < *s.Min {
			w.failString(s, at(), str, "Member must have length greater than or equal to "+strconv.FormatInt(*s.Min, 10))
		}
		if s.Max != nil && n > *s.Max {
			w.failString(s, at(), str, "Member must have length less than or equal to "+strconv.FormatInt(*s.Max, 10))
		}
	}
	if s.Pattern != nil && !s.Pattern.MatchString(str) {
		w.failString(s, at(), str, "Member must satisfy regular expression pattern: "+s.Pattern.String())
	}
	if len(s.Enum) > 0 && !slices.Contains(s.Enum, str) {
		w.failString(s, at(), str, "Member must satisfy enum value set: ["+strings.Join(s.Enum, ", ")+"]")
	}
	if s.Name == secretIDShape && !rotor.ValidSecretID(str) {
		w.invalidName = true
	}
}

// failString is fail for a string value, which renders as itself.
func (w *walker) failString(s *shape, path, str, constraint string) {
	if s.Sensitive {
		w.errs = append(w.errs, fmt.Sprintf("Value at '%s' failed to satisfy constraint: %s", path, constraint))
		return
	}
	w.errs = append(w.errs, fmt.Sprintf("Value '%s' at '%s' failed to satisfy constraint: %s", str, path, constraint))
}

// length checks n against the shape's length bounds.
func (w *walker) length(s *shape, path string, v any, n int64) {
	if s.Min != nil && n < *s.Min {
		w.fail(s, path, v, "Member must have length greater than or equal to "+strconv.FormatInt(*s.Min, 10))
	}
	if s.Max != nil && n > *s.Max {
		w.fail(s, path, v, "Member must have length less than or equal to "+strconv.FormatInt(*s.Max, 10))
	}
}

// fail records one violated constraint in AWS's words. A sensitive value is
// never echoed: "Value at 'secretString' failed to satisfy ...".
func (w *walker) fail(s *shape, path string, v any, constraint string) {
	if s.Sensitive {
		w.errs = append(w.errs, fmt.Sprintf("Value at '%s' failed to satisfy constraint: %s", path, constraint))
		return
	}
	w.errs = append(w.errs, fmt.Sprintf("Value '%s' at '%s' failed to satisfy constraint: %s", render(s, v), path, constraint))
}

// render formats v for a validation message: lists as [a, b], structures as
// {Member=value, ...} in model order, sensitive parts redacted. It accepts
// values of any JSON type, including ones that do not match s.
func render(s *shape, v any) string {
	if s != nil && s.Sensitive {
		return redacted
	}
	switch t := v.(type) {
	case string:
		return t
	case json.Number:
		return t.String()
	case bool:
		return strconv.FormatBool(t)
	case []any:
		var el *shape
		if s != nil {
			el = s.Member
		}
		parts := make([]string, len(t))
		for i, item := range t {
			parts[i] = render(el, item)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case map[string]any:
		var parts []string
		if s != nil && s.Type == "structure" {
			for _, m := range s.Members {
				if mv, ok := t[m.Name]; ok && mv != nil {
					parts = append(parts, m.Name+"="+render(m.Shape, mv))
				}
			}
		} else {
			var val *shape
			if s != nil {
				val = s.Value
			}
			for _, k := range sortedKeys(t) {
				parts = append(parts, k+"="+render(val, t[k]))
			}
		}
		return "{" + strings.Join(parts, ", ") + "}"
	case nil:
		return "null"
	}
	return fmt.Sprint(v)
}

// typeError is the SerializationException for a member whose JSON type does
// not match the model. It names the member and never the value.
func typeError(path, want string) error {
	if path == "" {
		return serializationError("The request body must be a JSON object.")
	}
	return serializationError(fmt.Sprintf("Value at '%s' must be %s.", path, want))
}

// joinPath appends a member to a validation path.
func joinPath(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

// lowerFirst turns a model member name into AWS's validation path spelling
// (SecretIdList -> secretIdList).
func lowerFirst(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	return string(unicode.ToLower(r)) + s[n:]
}
