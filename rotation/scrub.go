package rotation

import (
	"encoding/base64"
	"encoding/json"
	"net/url"
	"sort"
	"strings"
)

// Redacted replaces every secret value the Scrubber finds.
const Redacted = "[redacted]"

// minScrubLength is the shortest value scrubbed. Shorter JSON field values
// (ports, "true", engine names) would turn every message into noise and are
// not secrets by themselves; whole secret values are scrubbed at any length.
const minScrubLength = 4

// Scrubber removes known secret values from text. It is built from the
// values a run touched — the current, pending and master secrets — and
// removes each whole value and each JSON field value in it, also in their
// JSON-escaped, URL-encoded and base64 forms.
//
// The fields of AWS's database-secret shape that identify rather than
// authenticate — engine, host, port, username, dbname, masterarn, ssl —
// are kept (see Identifying), so an operator can still read which host
// and which user a failed step was about. Every other field, password
// included, is removed wherever it appears.
type Scrubber struct {
	needles []string // longest first, so a value is removed before its parts
}

// NewScrubber returns a Scrubber for values (each a SecretString, or a
// SecretBinary as a string).
func NewScrubber(values ...string) *Scrubber {
	set := map[string]bool{}
	add := func(v string, minLen int) {
		if len(v) < minLen {
			return
		}
		set[v] = true
		if b, err := json.Marshal(v); err == nil {
			set[string(b[1:len(b)-1])] = true
		}
		set[url.QueryEscape(v)] = true
		set[url.PathEscape(v)] = true
		set[base64.StdEncoding.EncodeToString([]byte(v))] = true
		set[base64.RawStdEncoding.EncodeToString([]byte(v))] = true
		set[base64.URLEncoding.EncodeToString([]byte(v))] = true
		set[base64.RawURLEncoding.EncodeToString([]byte(v))] = true
	}
	for _, v := range values {
		if v == "" {
			continue
		}
		add(v, 1)
		var doc any
		if json.Unmarshal([]byte(v), &doc) == nil {
			if obj, ok := doc.(map[string]any); ok {
				for k, field := range obj {
					if !Identifying[strings.ToLower(k)] {
						walkStrings(field, func(s string) { add(s, minScrubLength) })
					}
				}
			} else {
				walkStrings(doc, func(s string) { add(s, minScrubLength) })
			}
		}
	}
	delete(set, "")
	s := &Scrubber{}
	for n := range set {
		s.needles = append(s.needles, n)
	}
	sort.Slice(s.needles, func(i, j int) bool {
		if len(s.needles[i]) != len(s.needles[j]) {
			return len(s.needles[i]) > len(s.needles[j])
		}
		return s.needles[i] < s.needles[j]
	})
	return s
}

// Identifying lists the top-level keys (lower case) of a secret's JSON
// whose values a Scrubber keeps: they name the target, they do not unlock
// it. The whole secret value is still removed. An access key's id and
// identity (rotor-access-key) identify too: AWS shows key ids in logs;
// the secret access key is what unlocks.
var Identifying = map[string]bool{
	"engine": true, "host": true, "port": true, "username": true,
	"dbname": true, "masterarn": true, "ssl": true,
	"accesskeyid": true, "identity": true,
}

// walkStrings calls fn for every string value (not key) in a decoded JSON
// document, and for numbers as written.
func walkStrings(v any, fn func(string)) {
	switch x := v.(type) {
	case string:
		fn(x)
	case map[string]any:
		for _, e := range x {
			walkStrings(e, fn)
		}
	case []any:
		for _, e := range x {
			walkStrings(e, fn)
		}
	}
}

// Scrub returns s with every known value replaced by Redacted. A nil
// Scrubber returns s unchanged.
func (sc *Scrubber) Scrub(s string) string {
	if sc == nil {
		return s
	}
	for _, n := range sc.needles {
		if strings.Contains(s, n) {
			s = strings.ReplaceAll(s, n, Redacted)
		}
	}
	return s
}
