package policy

import "strings"

// Context supplies the values of condition keys for one request. Keys are
// passed in canonical form: all lower-case, including the tag key in
// "aws:resourcetag/<key>" (condition key names are case-insensitive in IAM;
// the caller matches tag keys without regard to case). ok is false when the
// request has no value for key. Value is called only for the keys listed in
// Keys(), only when a statement needs them; the evaluator never modifies or
// keeps the returned slice. A nil Context has no values.
type Context interface {
	Value(key string) (values []string, ok bool)
}

// keys are the condition keys Rotor supplies, in canonical form. Entries
// ending in "/" are prefixes completed by a tag key. A policy may name any
// key, but a key not listed here never has a value: as in AWS, a condition
// on an unknown key is evaluated as if the request lacked it (so only the
// negated operators and ...IfExists can be true), and Validate reports it.
//
// Single-valued: aws:sourceip (an IPv4 or IPv6 address), aws:currenttime
// (ISO 8601, e.g. "2026-12-03T09:40:46Z"), aws:securetransport ("true" or
// "false"), aws:principalarn, aws:username, secretsmanager:name,
// secretsmanager:secretid (the SecretId the caller sent, ARN or name),
// secretsmanager:versionid, secretsmanager:resource/allowrotationlambdaarn,
// secretsmanager:rotationlambdaarn, and the tag keys (one value each).
// Multivalued: aws:tagkeys, secretsmanager:versionstage.
var keys = []string{
	"aws:sourceip",
	"aws:currenttime",
	"aws:securetransport",
	"aws:principalarn",
	"aws:username",
	"aws:resourcetag/",
	"aws:requesttag/",
	"aws:tagkeys",
	"secretsmanager:resourcetag/",
	"secretsmanager:name",
	"secretsmanager:secretid",
	"secretsmanager:versionstage",
	"secretsmanager:versionid",
	"secretsmanager:resource/allowrotationlambdaarn",
	"secretsmanager:rotationlambdaarn",
}

// Keys returns the condition keys Rotor supplies (see keys above), for a
// Context implementation to check it serves them all. Entries ending in "/"
// are prefixes completed by a tag key.
func Keys() []string { return append([]string(nil), keys...) }

// knownKey reports whether key (canonical form) is one of keys.
func knownKey(key string) bool {
	for _, k := range keys {
		if strings.HasSuffix(k, "/") {
			if len(key) > len(k) && strings.HasPrefix(key, k) {
				return true
			}
		} else if key == k {
			return true
		}
	}
	return false
}

// MapContext is a Context backed by a map from canonical key to values,
// for tests and simple callers.
type MapContext map[string][]string

// Value implements Context.
func (m MapContext) Value(key string) ([]string, bool) {
	v, ok := m[key]
	return v, ok
}

// keyTypes gives the type of the keys whose values have one, for Validate:
// a non-string operator of another family can never match them. Tag keys
// take any operator; string operators fit every key.
var keyTypes = map[string]opKind{
	"aws:sourceip":        opIP,
	"aws:currenttime":     opDate,
	"aws:securetransport": opBool,
	"aws:principalarn":    opARN,
	"secretsmanager:resource/allowrotationlambdaarn": opARN,
	"secretsmanager:rotationlambdaarn":               opARN,
}

// operatorFits reports whether an operator of family op can match key.
func operatorFits(op opKind, key string) bool {
	if op == opNull {
		return true
	}
	typ, typed := keyTypes[key]
	switch op {
	case opIP, opDate, opBool, opNumeric, opBinary:
		return typed && typ == op || !typed && isTagKey(key)
	case opARN:
		return typed && typ == opARN || !typed && isTagKey(key)
	}
	// String operators compare the text, which every key has.
	return true
}

func isTagKey(key string) bool {
	return strings.HasPrefix(key, "aws:resourcetag/") || strings.HasPrefix(key, "aws:requesttag/") ||
		strings.HasPrefix(key, "secretsmanager:resourcetag/")
}
