package awsapi

import (
	"encoding/base64"
	"math"
	"strconv"
	"unicode/utf8"
)

// Hand-written JSON for the hot response. Each appendJSON method writes
// exactly the bytes encoding/json (with SetEscapeHTML(false)) writes for the
// same value, tags and all; TestAppendJSONMatchesEncodingJSON holds them to
// that.

// appendJSON encodes e as encoding/json encodes secretValueEntry: fields in
// declaration order, omitempty / omitzero honoured, SecretBinary in standard
// base64.
func (e secretValueEntry) appendJSON(b []byte) []byte {
	b = append(b, '{')
	n := len(b)
	field := func(b []byte, name string) []byte {
		if len(b) > n {
			b = append(b, ',')
		}
		b = append(b, '"')
		b = append(b, name...)
		return append(b, '"', ':')
	}
	if e.ARN != "" {
		b = appendJSONString(field(b, "ARN"), e.ARN)
	}
	if e.Name != "" {
		b = appendJSONString(field(b, "Name"), e.Name)
	}
	if e.VersionID != "" {
		b = appendJSONString(field(b, "VersionId"), e.VersionID)
	}
	if len(e.SecretBinary) > 0 {
		b = append(field(b, "SecretBinary"), '"')
		b = base64.StdEncoding.AppendEncode(b, e.SecretBinary)
		b = append(b, '"')
	}
	if e.SecretString != nil {
		b = appendJSONString(field(b, "SecretString"), *e.SecretString)
	}
	if len(e.VersionStages) > 0 {
		b = append(field(b, "VersionStages"), '[')
		for i, s := range e.VersionStages {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, s)
		}
		b = append(b, ']')
	}
	if !e.CreatedDate.IsZero() {
		b = e.CreatedDate.appendJSON(field(b, "CreatedDate"))
	}
	return append(b, '}')
}

// appendJSON appends t as MarshalJSON writes it.
func (t Timestamp) appendJSON(b []byte) []byte {
	ms := t.UnixMilli()
	if ms == math.MinInt64 { // cannot be negated; let MarshalJSON spell it
		out, _ := t.MarshalJSON()
		return append(b, out...)
	}
	if ms < 0 {
		b = append(b, '-')
		ms = -ms
	}
	sec, frac := ms/1000, ms%1000
	b = strconv.AppendInt(b, sec, 10)
	if frac == 0 {
		return b
	}
	b = append(b, '.', byte('0'+frac/100), byte('0'+frac/10%10), byte('0'+frac%10))
	for b[len(b)-1] == '0' { // frac != 0: a non-zero digit stops this
		b = b[:len(b)-1]
	}
	return b
}

// appendJSONString appends s as a JSON string the way encoding/json does
// without HTML escaping: '"', '\\' and control characters escaped (\b, \f,
// \n, \r, \t by name, others as \u00XX), invalid UTF-8 replaced by \ufffd,
// U+2028 and U+2029 escaped.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '\\', '"':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
