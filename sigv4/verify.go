package sigv4

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/rotorhq/rotor"
)

// defaultMaxSkew is the clock window AWS allows between a request's time and
// the server's: a request may be at most this much older or newer than now.
const defaultMaxSkew = 15 * time.Minute

// Verifier checks signatures. The zero value is ready to use, and a Verifier
// is safe for concurrent use by many goroutines; it must not be copied after
// first use.
//
// A Verifier caches derived signing keys (at most 1024 of them), so a warm
// request computes one HMAC instead of five. Entries are keyed by a SHA-256 hash of the secret key together with
// the scope's date, region and service, so a changed secret never reuses a
// key derived from the old one.
type Verifier struct {
	Now     func() time.Time // nil means time.Now
	MaxSkew time.Duration    // 0 means 15 minutes

	keys keyCache
}

// Verify checks that a was computed over r (whose complete body is body)
// with secretKey. Only the headers listed in a.SignedHeaders take part; the
// payload hash is always computed from body. The signature comparison is
// constant-time.
//
// Errors (*rotor.Error), all with code EAUTHSIGNATURE:
//   - "host" is not among the signed headers;
//   - a.Time is more than MaxSkew before or after Now ("Signature expired:
//     ... is now earlier than ..." / "Signature not yet current: ... is
//     still later than ...", in AWS's wording);
//   - an X-Amz-Content-Sha256 header is present and differs from the
//     SHA-256 of body;
//   - a header named in a.SignedHeaders is absent from r;
//   - the signature does not match ("The request signature we calculated
//     does not match the signature you provided. ...").
//
// Messages never contain secretKey, derived keys or signatures.
func (v *Verifier) Verify(r *http.Request, body []byte, a Authorization, secretKey string) error {
	if !slices.Contains(a.SignedHeaders, "host") {
		return sigError("'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.")
	}
	if err := v.checkTime(a.Time); err != nil {
		return err
	}

	sum := sha256.Sum256(body)
	var payloadHash [2 * sha256.Size]byte
	hex.Encode(payloadHash[:], sum[:])
	if claimed := r.Header.Values("X-Amz-Content-Sha256"); len(claimed) > 0 {
		if len(claimed) > 1 || !strings.EqualFold(strings.TrimSpace(claimed[0]), string(payloadHash[:])) {
			return sigError("The provided 'x-amz-content-sha256' header does not match what was computed.")
		}
	}

	canonical, err := canonicalRequest(r, a.SignedHeaders, payloadHash[:])
	if err != nil {
		return err
	}
	crSum := sha256.Sum256(canonical)
	var crHash [2 * sha256.Size]byte
	hex.Encode(crHash[:], crSum[:])

	mac := hmac.New(sha256.New, v.keys.get(secretKey, a.Date, a.Region, a.Service))
	mac.Write([]byte(algorithm + "\n"))
	mac.Write(a.Time.UTC().AppendFormat(make([]byte, 0, len(isoLayout)), isoLayout))
	mac.Write([]byte("\n" + a.Date + "/" + a.Region + "/" + a.Service + "/" + scopeTerminator + "\n"))
	mac.Write(crHash[:])
	computed := mac.Sum(nil)

	var given [sha256.Size]byte
	if len(a.Signature) != hex.EncodedLen(len(given)) {
		return errMismatch()
	}
	if _, err := hex.Decode(given[:], []byte(a.Signature)); err != nil {
		return errMismatch()
	}
	if !hmac.Equal(computed, given[:]) {
		return errMismatch()
	}
	return nil
}

// checkTime returns EAUTHSIGNATURE when t lies outside ±MaxSkew of Now.
func (v *Verifier) checkTime(t time.Time) error {
	now := time.Now
	if v.Now != nil {
		now = v.Now
	}
	skew := v.MaxSkew
	if skew <= 0 {
		skew = defaultMaxSkew
	}
	n := now().UTC()
	t = t.UTC()
	if earliest := n.Add(-skew); t.Before(earliest) {
		return sigError(fmt.Sprintf("Signature expired: %s is now earlier than %s (%s - %s.)",
			t.Format(isoLayout), earliest.Format(isoLayout), n.Format(isoLayout), skewText(skew)))
	}
	if latest := n.Add(skew); t.After(latest) {
		return sigError(fmt.Sprintf("Signature not yet current: %s is still later than %s (%s + %s.)",
			t.Format(isoLayout), latest.Format(isoLayout), n.Format(isoLayout), skewText(skew)))
	}
	return nil
}

// skewText renders d the way AWS does in clock-window messages ("15 min").
func skewText(d time.Duration) string {
	if d%time.Minute == 0 {
		return strconv.FormatInt(int64(d/time.Minute), 10) + " min"
	}
	return d.String()
}

// canonicalRequest builds the SigV4 canonical request of r over the given
// signed headers and hex payload hash:
//
//	METHOD\nURI\nQUERY\nname:value\n...\n\nname;name;...\nPAYLOADHASH
//
// It returns EAUTHSIGNATURE when a signed header is absent from r.
func canonicalRequest(r *http.Request, signed []string, payloadHash []byte) ([]byte, error) {
	u := r.URL
	if u == nil {
		u = &url.URL{}
	}
	b := make([]byte, 0, 512)
	b = append(b, r.Method...)
	b = append(b, '\n')
	b = appendEscapedPath(b, uriPath(u))
	b = append(b, '\n')
	b = appendCanonicalQuery(b, u.RawQuery)
	b = append(b, '\n')
	for _, name := range signed {
		values, ok := headerValues(r, name)
		if !ok {
			return nil, sigError(fmt.Sprintf("Header '%s' is listed in SignedHeaders but is missing from the request.", echo(name)))
		}
		b = append(b, name...)
		b = append(b, ':')
		for i, v := range values {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, strings.TrimSpace(stripExcessSpaces(v))...)
		}
		b = append(b, '\n')
	}
	b = append(b, '\n')
	for i, name := range signed {
		if i > 0 {
			b = append(b, ';')
		}
		b = append(b, name...)
	}
	b = append(b, '\n')
	b = append(b, payloadHash...)
	return b, nil
}

// headerValues returns the values of the lower-case header name as the
// client signed them. Go's server moves Host out of the header map into
// r.Host, and Content-Length may be known only as r.ContentLength.
func headerValues(r *http.Request, name string) ([]string, bool) {
	switch name {
	case "host":
		host := r.Host
		if host == "" && r.URL != nil {
			host = r.URL.Host
		}
		if host == "" {
			host = r.Header.Get("Host")
		}
		return []string{host}, host != ""
	case "content-length":
		if v := r.Header.Values("Content-Length"); len(v) > 0 {
			return v, true
		}
		if r.ContentLength > 0 {
			return []string{strconv.FormatInt(r.ContentLength, 10)}, true
		}
		return nil, false
	}
	if v := r.Header.Values(name); len(v) > 0 {
		return v, true
	}
	// A header map built by hand (not by Go's server) may hold a key that is
	// not in canonical form.
	if v := r.Header[name]; len(v) > 0 {
		return v, true
	}
	return nil, false
}

// uriPath returns the escaped path of u as the client sent it, "/" when
// empty. Like aws-sdk-go-v2, it honours an opaque "//host/path" URL.
func uriPath(u *url.URL) string {
	var p string
	if u.Opaque != "" {
		opaque, _, _ := strings.Cut(u.Opaque, "?")
		opaque = strings.TrimPrefix(opaque, "//")
		if i := strings.IndexByte(opaque, '/'); i >= 0 {
			p = opaque[i:]
		}
	} else {
		p = u.EscapedPath()
	}
	if p == "" {
		return "/"
	}
	return p
}

// appendEscapedPath appends p with every byte other than an RFC 3986
// unreserved character or '/' percent-encoded. Applied to the already
// escaped path, this is the double encoding every AWS SDK uses for services
// other than S3 ("/" stays "/", "%2F" becomes "%252F").
func appendEscapedPath(b []byte, p string) []byte {
	const upperHex = "0123456789ABCDEF"
	for i := 0; i < len(p); i++ {
		c := p[i]
		if isUnreserved(c) || c == '/' {
			b = append(b, c)
		} else {
			b = append(b, '%', upperHex[c>>4], upperHex[c&15])
		}
	}
	return b
}

// isUnreserved reports whether c is an RFC 3986 unreserved character.
func isUnreserved(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' ||
		c == '-' || c == '.' || c == '_' || c == '~'
}

// appendCanonicalQuery appends the canonical form of a raw query string:
// parameters RFC 3986-encoded, sorted by key and then by value, an empty
// value written as "key=". Pairs that do not parse are dropped, as
// url.URL.Query (which the SDK signer uses) drops them.
func appendCanonicalQuery(b []byte, rawQuery string) []byte {
	if rawQuery == "" {
		return b
	}
	values, _ := url.ParseQuery(rawQuery)
	type param struct{ key, value string }
	params := make([]param, 0, len(values))
	for k, vs := range values {
		ek := queryEscape(k)
		for _, v := range vs {
			params = append(params, param{ek, queryEscape(v)})
		}
	}
	slices.SortFunc(params, func(x, y param) int {
		if c := strings.Compare(x.key, y.key); c != 0 {
			return c
		}
		return strings.Compare(x.value, y.value)
	})
	for i, p := range params {
		if i > 0 {
			b = append(b, '&')
		}
		b = append(b, p.key...)
		b = append(b, '=')
		b = append(b, p.value...)
	}
	return b
}

// queryEscape encodes s per RFC 3986 (space as %20, not '+').
func queryEscape(s string) string {
	return strings.ReplaceAll(url.QueryEscape(s), "+", "%20")
}

// stripExcessSpaces trims leading and trailing spaces from s and collapses
// each inner run of spaces into one.
func stripExcessSpaces(s string) string {
	s = strings.Trim(s, " ")
	if !strings.Contains(s, "  ") {
		return s
	}
	var sb strings.Builder
	sb.Grow(len(s))
	space := false
	for i := 0; i < len(s); i++ {
		if s[i] == ' ' {
			if space {
				continue
			}
			space = true
		} else {
			space = false
		}
		sb.WriteByte(s[i])
	}
	return sb.String()
}

// sigError returns an EAUTHSIGNATURE error with msg.
func sigError(msg string) *rotor.Error {
	return &rotor.Error{Code: rotor.EAUTHSIGNATURE, Message: msg}
}

// errMismatch is the error for a signature that does not match.
func errMismatch() *rotor.Error {
	return sigError("The request signature we calculated does not match the signature you provided. " +
		"Check your AWS Secret Access Key and signing method. Consult the service documentation for details.")
}
