package sigv4

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/rotorhq/rotor"
)

// algorithm is the only signing algorithm accepted in the Authorization
// header.
const algorithm = "AWS4-HMAC-SHA256"

// scopeTerminator ends every SigV4 credential scope.
const scopeTerminator = "aws4_request"

const (
	isoLayout  = "20060102T150405Z" // X-Amz-Date, ISO 8601 basic format
	dateLayout = "20060102"         // credential scope date
)

// maxEcho bounds how much of a client-supplied value is quoted back in an
// error message.
const maxEcho = 64

// Authorization is a parsed Authorization header plus the request time.
type Authorization struct {
	AccessKeyID   string
	Date          string    // yyyymmdd from the credential scope
	Region        string    // region from the credential scope, as sent
	Service       string    // service from the credential scope, as sent
	SignedHeaders []string  // lower-case, in the order given
	Signature     string    // lower-case hex, 64 digits
	Time          time.Time // from X-Amz-Date (or Date) header, UTC
	SecurityToken string    // X-Amz-Security-Token header, "" if absent
}

// ParseRequest reads the Authorization, X-Amz-Date/Date and
// X-Amz-Security-Token headers of r. It checks syntax only: it neither looks
// at the clock nor verifies the signature (see Verifier.Verify).
//
// Errors (*rotor.Error):
//   - EAUTHMISSING when r has no Authorization header at all
//     ("Missing Authentication Token");
//   - EAUTHINCOMPLETE when the header is repeated or malformed, names an
//     algorithm other than AWS4-HMAC-SHA256, lacks a Credential, SignedHeaders
//     or Signature part (AWS's combined "Authorization header requires ..."
//     message, which also names a missing X-Amz-Date/Date header), has a
//     credential that is not <key>/<yyyymmdd>/<region>/<service>/aws4_request,
//     an empty signed-header name or a signature that is not 64 hex digits;
//     when X-Amz-Date (or, without it, Date) is missing or unparsable; and
//     when the credential scope date differs from the request day.
//
// Messages never quote the header itself, so they cannot leak the signature.
func ParseRequest(r *http.Request) (Authorization, error) {
	values := r.Header["Authorization"] // canonical key: as Header.Values, without the check
	if len(values) == 0 {
		return Authorization{}, rotor.Errorf(rotor.EAUTHMISSING, "Missing Authentication Token")
	}
	if len(values) > 1 {
		return Authorization{}, incomplete("Authorization header must appear only once.")
	}
	header := strings.TrimSpace(values[0])
	if header == "" {
		return Authorization{}, incomplete("Authorization header is empty.")
	}

	alg, rest, _ := strings.Cut(header, " ")
	if alg != algorithm {
		return Authorization{}, incomplete("Unsupported Authorization algorithm: only '" + algorithm + "' is supported.")
	}

	params, err := parseParams(rest)
	if err != nil {
		return Authorization{}, err
	}

	// Missing parts are reported together, in the order and wording AWS
	// uses.
	var missing []string
	if params.credential == "" {
		missing = append(missing, "Authorization header requires 'Credential' parameter.")
	}
	if params.signature == "" {
		missing = append(missing, "Authorization header requires 'Signature' parameter.")
	}
	if params.signedHeaders == "" {
		missing = append(missing, "Authorization header requires 'SignedHeaders' parameter.")
	}
	amzDate := headerFirst(r.Header, "X-Amz-Date")
	httpDate := headerFirst(r.Header, "Date")
	if amzDate == "" && httpDate == "" {
		missing = append(missing, "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.")
	}
	if len(missing) > 0 {
		return Authorization{}, incomplete(strings.Join(missing, " "))
	}

	var a Authorization
	if err := parseCredential(params.credential, &a); err != nil {
		return Authorization{}, err
	}
	if a.SignedHeaders, err = parseSignedHeaders(params.signedHeaders); err != nil {
		return Authorization{}, err
	}
	if a.Signature, err = parseSignature(params.signature); err != nil {
		return Authorization{}, err
	}
	if a.Time, err = parseTime(amzDate, httpDate); err != nil {
		return Authorization{}, err
	}
	var dayBuf [len(dateLayout)]byte
	if day := appendScopeDate(dayBuf[:0], a.Time); string(day) != a.Date {
		// string(day): passing day itself would move dayBuf to the heap on
		// every request.
		return Authorization{}, incomplete(fmt.Sprintf(
			"Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '%s' != '%s', from '%s'.",
			a.Date, string(day), a.Time.Format(isoLayout)))
	}
	a.SecurityToken = headerFirst(r.Header, "X-Amz-Security-Token")
	return a, nil
}

// headerFirst is h.Get(key) for a key already in canonical form.
func headerFirst(h http.Header, key string) string {
	if v := h[key]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// authParams holds the raw key=value parts of an Authorization header.
type authParams struct {
	credential, signedHeaders, signature string
}

// parseParams splits "Credential=..., SignedHeaders=..., Signature=..." into
// its parts. Parts are separated by commas with optional spaces; empty parts
// and unknown keys are ignored; a known key given twice is an error.
func parseParams(s string) (authParams, error) {
	var p authParams
	var seen [3]bool // Credential, SignedHeaders, Signature
	for part := range strings.SplitSeq(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		key, value, ok := strings.Cut(part, "=")
		if !ok {
			return authParams{}, incomplete("Authorization header contains a part that is not a valid key=value pair (missing equal-sign).")
		}
		key = strings.TrimSpace(key)
		var dst *string
		var i int
		switch key {
		case "Credential":
			dst, i = &p.credential, 0
		case "SignedHeaders":
			dst, i = &p.signedHeaders, 1
		case "Signature":
			dst, i = &p.signature, 2
		default:
			continue
		}
		if seen[i] {
			return authParams{}, incomplete(fmt.Sprintf("Authorization header contains the '%s' parameter more than once.", key))
		}
		seen[i] = true
		*dst = strings.TrimSpace(value)
	}
	return p, nil
}

// parseCredential fills the access key and scope fields of a from
// "<key>/<yyyymmdd>/<region>/<service>/aws4_request".
func parseCredential(s string, a *Authorization) error {
	var parts [5]string
	if strings.Count(s, "/") != len(parts)-1 {
		return incomplete("Authorization header 'Credential' parameter must have the form <access-key-id>/<yyyymmdd>/<region>/<service>/aws4_request.")
	}
	rest := s
	for i := range len(parts) - 1 {
		parts[i], rest, _ = strings.Cut(rest, "/")
	}
	parts[len(parts)-1] = rest
	for i, name := range [...]string{"access key id", "date", "region", "service", "terminator"} {
		if parts[i] == "" {
			return incomplete(fmt.Sprintf("Authorization header 'Credential' parameter has an empty %s.", name))
		}
	}
	if parts[4] != scopeTerminator {
		return incomplete(fmt.Sprintf("Credential should be scoped with a valid terminator: '%s', not '%s'.", scopeTerminator, echo(parts[4])))
	}
	if !isDigits(parts[1]) || len(parts[1]) != len(dateLayout) {
		return incomplete(fmt.Sprintf("Credential should be scoped to a date in YYYYMMDD format, not '%s'.", echo(parts[1])))
	}
	if !validScopeDate(parts[1]) {
		return incomplete(fmt.Sprintf("Credential should be scoped to a date in YYYYMMDD format, not '%s'.", echo(parts[1])))
	}
	a.AccessKeyID, a.Date, a.Region, a.Service = parts[0], parts[1], parts[2], parts[3]
	return nil
}

// parseSignedHeaders splits "h1;h2;..." and lower-cases every name.
func parseSignedHeaders(s string) ([]string, error) {
	names := strings.Split(s, ";")
	lower := !hasUpper(s) // as SDKs send them: then ToLower would change nothing
	for i, name := range names {
		if name == "" {
			return nil, incomplete("Authorization header 'SignedHeaders' parameter contains an empty header name.")
		}
		if !lower {
			names[i] = strings.ToLower(name)
		}
	}
	return names, nil
}

// hasUpper reports whether s has a byte that strings.ToLower changes: an
// ASCII upper-case letter or any non-ASCII byte.
func hasUpper(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; 'A' <= c && c <= 'Z' || c >= 0x80 {
			return true
		}
	}
	return false
}

// parseSignature checks that s is a hex-encoded SHA-256 HMAC and returns it
// lower-cased.
func parseSignature(s string) (string, error) {
	var sig [32]byte
	if !decodeHex(sig[:], s) {
		return "", incomplete("Authorization header 'Signature' parameter must be 64 hexadecimal digits.")
	}
	if hasUpper(s) {
		s = strings.ToLower(s)
	}
	return s, nil
}

// parseTime reads the request time from X-Amz-Date or, only when that is
// absent, from Date.
func parseTime(amzDate, httpDate string) (time.Time, error) {
	if amzDate != "" {
		if t, ok := parseISOBasic(amzDate); ok {
			return t, nil
		}
		t, err := time.Parse(isoLayout, amzDate)
		var buf [len(isoLayout)]byte
		if err != nil || string(t.AppendFormat(buf[:0], isoLayout)) != amzDate {
			return time.Time{}, incomplete(fmt.Sprintf(
				"Date must be in ISO-8601 'basic format'. Got '%s'. See http://en.wikipedia.org/wiki/ISO_8601", echo(amzDate)))
		}
		return t.UTC(), nil
	}
	t, err := http.ParseTime(httpDate)
	if err != nil {
		return time.Time{}, incomplete(fmt.Sprintf("Date header must be an HTTP date such as 'Thu, 11 Jun 2020 14:14:39 GMT'. Got '%s'.", echo(httpDate)))
	}
	return t.UTC(), nil
}

// incomplete returns an EAUTHINCOMPLETE error with msg.
func incomplete(msg string) *rotor.Error {
	return &rotor.Error{Code: rotor.EAUTHINCOMPLETE, Message: msg}
}

// echo shortens a client-supplied value before it is quoted in a message.
func echo(s string) string {
	if len(s) <= maxEcho {
		return strings.ToValidUTF8(s, "?")
	}
	return strings.ToValidUTF8(s[:maxEcho], "?") + "..."
}

// isDigits reports whether s is non-empty and all ASCII digits.
func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
