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
	"sync"
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
// request computes one HMAC instead of five. Entries are keyed by a SHA-256
// hash of the secret key together with the scope's date, region and service,
// so a changed secret never reuses a key derived from the old one. Each entry
// keeps a pool of reset HMAC states for its key, and Verify takes its
// buffers from a pool, so a warm Verify allocates nothing; nothing derived
// from one request (canonical request, string to sign, signature) is kept
// for the next.
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
//   - a header that chooses what the request does, when it was made or
//     whose session it uses is present but not signed (see mustSign), so a
//     captured request cannot be re-targeted, re-dated or given another
//     token ("'X-Amz-Target' must be a 'SignedHeader' in the AWS
//     Authorization.", worded as AWS words the rule for Host);
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
	if err := checkMustSign(r, a.SignedHeaders); err != nil {
		return err
	}
	if err := v.checkTime(a.Time); err != nil {
		return err
	}

	sum := sha256.Sum256(body)
	var payloadHash [2 * sha256.Size]byte
	hex.Encode(payloadHash[:], sum[:])
	if claimed := r.Header["X-Amz-Content-Sha256"]; len(claimed) > 0 {
		if len(claimed) > 1 || !strings.EqualFold(strings.TrimSpace(claimed[0]), string(payloadHash[:])) {
			return sigError("The provided 'x-amz-content-sha256' header does not match what was computed.")
		}
	}

	s := getScratch()
	defer putScratch(s)
	canonical, err := appendCanonicalRequest(s.buf[:0], r, a.SignedHeaders, payloadHash[:])
	if err != nil {
		return err
	}
	s.buf = canonical // keep the grown buffer for the next request
	crSum := sha256.Sum256(canonical)
	var crHash [2 * sha256.Size]byte
	hex.Encode(crHash[:], crSum[:])

	// The string to sign reuses the buffer: the canonical request is hashed.
	sts := append(s.buf[:0], algorithm+"\n"...)
	sts = appendISOBasic(sts, a.Time.UTC())
	sts = append(sts, '\n')
	sts = append(sts, a.Date...)
	sts = append(sts, '/')
	sts = append(sts, a.Region...)
	sts = append(sts, '/')
	sts = append(sts, a.Service...)
	sts = append(sts, "/"+scopeTerminator+"\n"...)
	sts = append(sts, crHash[:]...)
	s.buf = sts
	computed := v.keys.entry(secretKey, a.Date, a.Region, a.Service).sum(s.mac[:0], sts)

	var given [sha256.Size]byte
	if !decodeHex(given[:], a.Signature) {
		return errMismatch()
	}
	if !hmac.Equal(computed, given[:]) {
		return errMismatch()
	}
	return nil
}

// mustSign are the headers that must be among the signed headers whenever
// the request carries them: X-Amz-Target names the operation, X-Amz-Date
// (or, only without it, Date) gives the time the clock window checks, and
// X-Amz-Security-Token names the session. The AWS SDKs and the AWS CLI sign
// all of them: botocore and aws-sdk-js sign every header outside a short
// list of hop-by-hop ones, aws-sdk-go-v2 every header but User-Agent,
// X-Amzn-Trace-Id, Expect and Transfer-Encoding.
// Each entry also has its name's canonical key (see headerValues), so the
// check need not build it for every request.
var mustSign = [...]struct{ name, key, message string }{
	{"x-amz-target", "X-Amz-Target", "'X-Amz-Target' must be a 'SignedHeader' in the AWS Authorization."},
	{"x-amz-date", "X-Amz-Date", "'X-Amz-Date' must be a 'SignedHeader' in the AWS Authorization."},
	{"date", "Date", "'Date' must be a 'SignedHeader' in the AWS Authorization."},
	{"x-amz-security-token", "X-Amz-Security-Token", "'X-Amz-Security-Token' must be a 'SignedHeader' in the AWS Authorization."},
}

// checkMustSign returns EAUTHSIGNATURE for the first header of mustSign that
// r carries but signed does not list. Date counts only without X-Amz-Date,
// as only then does it give the request time.
func checkMustSign(r *http.Request, signed []string) error {
	hasAmzDate := hasHeader(r.Header, "X-Amz-Date", "x-amz-date")
	for _, h := range mustSign {
		if h.name == "date" && hasAmzDate {
			continue
		}
		if hasHeader(r.Header, h.key, h.name) && !slices.Contains(signed, h.name) {
			return sigError(h.message)
		}
	}
	return nil
}

// hasHeader reports whether headerValues(h, name) is not empty, given
// key, name's canonical key.
func hasHeader(h http.Header, key, name string) bool {
	return len(h[key]) > 0 || len(h[name]) > 0
}

// scratch holds the buffers of one Verify call. They are pooled, so a warm
// Verify allocates nothing for the canonical request, the string to sign or
// the computed signature.
type scratch struct {
	buf []byte
	mac [sha256.Size]byte
}

// maxPooledScratch bounds the buffer kept in the pool: a request with
// unusually large signed headers does not pin its buffer forever.
const maxPooledScratch = 16 << 10

var scratchPool = sync.Pool{New: func() any { return &scratch{buf: make([]byte, 0, 1024)} }}

func getScratch() *scratch { return scratchPool.Get().(*scratch) }

func putScratch(s *scratch) {
	if cap(s.buf) > maxPooledScratch {
		return
	}
	s.buf = s.buf[:0]
	s.mac = [sha256.Size]byte{}
	scratchPool.Put(s)
}

// decodeHex decodes the hex string s into dst, which must be exactly
// len(s)/2 bytes long; it reports false for any other length or a byte that
// is not a hex digit. It allocates nothing.
func decodeHex(dst []byte, s string) bool {
	if len(s) != 2*len(dst) {
		return false
	}
	for i := range dst {
		hi, lo := hexValue[s[2*i]], hexValue[s[2*i+1]]
		if hi|lo == notHex {
			return false
		}
		dst[i] = hi<<4 | lo
	}
	return true
}

// notHex marks a byte that is not a hex digit in hexValue; OR-ed with any
// digit's value (0-15) it stays notHex.
const notHex = 0xff

// hexValue maps each byte to its value as a hex digit, or notHex.
var hexValue = func() (t [256]byte) {
	for c := range t {
		switch {
		case '0' <= c && c <= '9':
			t[c] = byte(c - '0')
		case 'a' <= c && c <= 'f':
			t[c] = byte(c - 'a' + 10)
		case 'A' <= c && c <= 'F':
			t[c] = byte(c - 'A' + 10)
		default:
			t[c] = notHex
		}
	}
	return t
}()

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

// appendCanonicalRequest appends to b the SigV4 canonical request of r over
// the given signed headers and hex payload hash:
//
//	METHOD\nURI\nQUERY\nname:value\n...\n\nname;name;...\nPAYLOADHASH
//
// It returns EAUTHSIGNATURE when a signed header is absent from r.
func appendCanonicalRequest(b []byte, r *http.Request, signed []string, payloadHash []byte) ([]byte, error) {
	u := r.URL
	if u == nil {
		u = &url.URL{}
	}
	b = append(b, r.Method...)
	b = append(b, '\n')
	b = appendEscapedPath(b, uriPath(u))
	b = append(b, '\n')
	b = appendCanonicalQuery(b, u.RawQuery)
	b = append(b, '\n')
	for _, name := range signed {
		b = append(b, name...)
		b = append(b, ':')
		var ok bool
		if b, ok = appendHeaderValues(b, r, name); !ok {
			return nil, sigError(fmt.Sprintf("Header '%s' is listed in SignedHeaders but is missing from the request.", echo(name)))
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

// appendHeaderValues appends the canonical value of the lower-case header
// name as the client signed it: its values, each trimmed with inner runs of
// spaces collapsed, joined by commas. It reports false when r lacks the
// header. Go's server moves Host out of the header map into r.Host, and
// Content-Length may be known only as r.ContentLength.
func appendHeaderValues(b []byte, r *http.Request, name string) ([]byte, bool) {
	switch name {
	case "host":
		host := r.Host
		if host == "" && r.URL != nil {
			host = r.URL.Host
		}
		if host == "" {
			host = r.Header.Get("Host")
		}
		if host == "" {
			return b, false
		}
		return appendTrimmedValue(b, host), true
	case "content-length":
		if v := r.Header.Values("Content-Length"); len(v) > 0 {
			return appendJoinedValues(b, v), true
		}
		if r.ContentLength > 0 {
			return strconv.AppendInt(b, r.ContentLength, 10), true
		}
		return b, false
	}
	if v := headerValues(r.Header, name); len(v) > 0 {
		return appendJoinedValues(b, v), true
	}
	return b, false
}

// headerValues returns the values of header name (lower-case) in h: under
// its canonical key, or else under name itself, as a header map built by
// hand (not by Go's server) may hold a key that is not in canonical form.
func headerValues(h http.Header, name string) []string {
	var buf [64]byte
	if key, ok := appendCanonicalKey(buf[:0], name); ok {
		if v := h[string(key)]; len(v) > 0 { // this conversion does not allocate
			return v
		}
	} else if v := h.Values(name); len(v) > 0 {
		return v
	}
	return h[name]
}

// appendCanonicalKey appends the canonical MIME form of a header name made
// only of ASCII letters, digits and '-' ("x-amz-date" -> "X-Amz-Date"), the
// form textproto.CanonicalMIMEHeaderKey gives such a name. It reports false,
// leaving the work to textproto, for an empty name or any other byte.
func appendCanonicalKey(b []byte, name string) ([]byte, bool) {
	if name == "" {
		return b, false
	}
	upper := true
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case 'a' <= c && c <= 'z':
			if upper {
				c -= 'a' - 'A'
			}
		case 'A' <= c && c <= 'Z':
			if !upper {
				c += 'a' - 'A'
			}
		case '0' <= c && c <= '9', c == '-':
		default:
			return b, false
		}
		b = append(b, c)
		upper = c == '-'
	}
	return b, true
}

// appendJoinedValues appends values, each trimmed with inner runs of spaces
// collapsed, joined by commas.
func appendJoinedValues(b []byte, values []string) []byte {
	for i, v := range values {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendTrimmedValue(b, v)
	}
	return b
}

// appendTrimmedValue appends one header value as SigV4 canonicalises it:
// leading and trailing spaces dropped, inner runs of spaces collapsed into
// one, then any other leading and trailing white space (as strings.TrimSpace
// defines it) dropped.
func appendTrimmedValue(b []byte, v string) []byte {
	return append(b, strings.TrimSpace(stripExcessSpaces(v))...)
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
