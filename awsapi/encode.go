package awsapi

import (
	"encoding/base64"
	"math"
	"strconv"

	"github.com/rotorhq/rotor/internal/jsonstr"
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
// without HTML escaping (see jsonstr.Append).
func appendJSONString(b []byte, s string) []byte { return jsonstr.Append(b, s) }
