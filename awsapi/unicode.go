package awsapi

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/rotorhq/rotor"
)

// Strings that are not Unicode text.
//
// encoding/json decodes a string holding invalid UTF-8, or a \uD800-\uDFFF
// escape that is not half of a surrogate pair, by putting U+FFFD in its
// place: a request carrying such a SecretString would store a different
// secret from the one sent. Rotor never alters a value, so decodeInput
// refuses such a request with ValidationException naming the member, before
// the request reaches the service. The fast path (parseFlat) never sees one:
// it hands any body with an escape or invalid UTF-8 to decodeInput.

// invalidUnicodeConstraint is the constraint reported for such a string.
const invalidUnicodeConstraint = "Member must contain only valid Unicode characters (UTF-8, no unpaired surrogate escapes)"

// checkUnicode returns a ValidationException *rotor.Error naming the first
// string (member value or member name) of the JSON text body that is not
// Unicode text, or nil when there is none. body must be valid JSON. It
// costs one utf8.Valid pass, and a scan for "\u" escapes, unless the body
// is suspect.
func checkUnicode(body []byte) error {
	if utf8.Valid(body) && !mayHaveSurrogateEscape(body) {
		return nil
	}
	path, bad := invalidStringPath(body)
	if !bad {
		return nil
	}
	if path == "" {
		return &rotor.Error{Code: rotor.EVALIDATION,
			Message: "1 validation error detected: The request body contains a member name that is not valid Unicode"}
	}
	return &rotor.Error{Code: rotor.EVALIDATION,
		Message: "1 validation error detected: Value at '" + path + "' failed to satisfy constraint: " + invalidUnicodeConstraint}
}

// mayHaveSurrogateEscape reports whether b contains \uD8.. through \uDF..
// in either case. It ignores whether the backslash is itself escaped, so it
// may report true for a body without one, never false for a body with one.
func mayHaveSurrogateEscape(b []byte) bool {
	for {
		i := bytes.Index(b, []byte(`\u`))
		if i < 0 || i+4 > len(b) {
			return false
		}
		if c, d := b[i+2], b[i+3]; (c == 'd' || c == 'D') && (d >= '8' && d <= '9' || d >= 'a' && d <= 'f' || d >= 'A' && d <= 'F') {
			return true
		}
		b = b[i+2:]
	}
}

// jsonFrame is an open JSON object or array during invalidStringPath.
type jsonFrame struct {
	object  bool
	wantKey bool   // object: the next string is a member name
	key     string // object: the current member's name
	n       int    // array: the index of the current item
}

// invalidStringPath walks the tokens of the JSON text body and returns the
// validation path (AWS spelling: "tags.1.member.key") of the first string
// that is not Unicode text, with bad set. For a member name that is not, it
// returns the path of the enclosing value ("" at the top level). It reports
// bad false for a body it cannot tokenize.
func invalidStringPath(body []byte) (path string, bad bool) {
	d := json.NewDecoder(bytes.NewReader(body))
	d.UseNumber()
	var stack []jsonFrame
	afterValue := func() {
		if len(stack) == 0 {
			return
		}
		if f := &stack[len(stack)-1]; f.object {
			f.wantKey = true
		} else {
			f.n++
		}
	}
	prev := int64(0)
	for {
		tok, err := d.Token()
		if err != nil {
			return "", false
		}
		off := d.InputOffset()
		raw := body[prev:off]
		prev = off
		switch t := tok.(type) {
		case json.Delim:
			switch t {
			case '{':
				stack = append(stack, jsonFrame{object: true, wantKey: true})
			case '[':
				stack = append(stack, jsonFrame{})
			default:
				stack = stack[:len(stack)-1]
				afterValue()
			}
		case string:
			isKey := len(stack) > 0 && stack[len(stack)-1].object && stack[len(stack)-1].wantKey
			if !unicodeText(raw) {
				if isKey {
					return framePath(stack[:len(stack)-1], true), true
				}
				return framePath(stack, false), true
			}
			if isKey {
				f := &stack[len(stack)-1]
				f.key, f.wantKey = t, false
			} else {
				afterValue()
			}
		default:
			afterValue()
		}
	}
}

// framePath renders the path of the current value of the open frames. With
// enclosing set, the last frame is the parent of a member name, not a value
// holder, so its pending member is left out.
func framePath(stack []jsonFrame, enclosing bool) string {
	var b strings.Builder
	for i, f := range stack {
		if f.object {
			if enclosing && i == len(stack)-1 {
				break
			}
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			b.WriteString(lowerFirst(f.key))
		} else {
			b.WriteString("." + strconv.Itoa(f.n+1) + ".member")
		}
	}
	return b.String()
}

// unicodeText reports whether the JSON string token at the end of raw
// (which may start with white space, ':' or ',' before its opening quote)
// is valid UTF-8 and every \uD800-\uDFFF escape in it is half of a high-low
// surrogate pair.
func unicodeText(raw []byte) bool {
	q := bytes.IndexByte(raw, '"')
	if q < 0 || len(raw) < q+2 {
		return true // not a string token; the decoder has vouched for it
	}
	s := raw[q+1 : len(raw)-1]
	if !utf8.Valid(s) {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' {
			continue
		}
		i++
		if i >= len(s) || s[i] != 'u' {
			continue
		}
		r := hex4(s[i+1:])
		i += 4
		switch {
		case r >= 0xDC00 && r <= 0xDFFF:
			return false // low surrogate without a high one
		case r >= 0xD800 && r <= 0xDBFF:
			if i+6 >= len(s) || s[i+1] != '\\' || s[i+2] != 'u' {
				return false
			}
			if lo := hex4(s[i+3:]); lo < 0xDC00 || lo > 0xDFFF {
				return false
			}
			i += 6
		}
	}
	return true
}

// hex4 decodes the four hex digits at the start of b (the decoder has
// checked they are there), or returns -1.
func hex4(b []byte) int {
	if len(b) < 4 {
		return -1
	}
	n, err := strconv.ParseUint(string(b[:4]), 16, 16)
	if err != nil {
		return -1
	}
	return int(n)
}
