package console

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
	"time"
)

// Session lifetimes: a session ends DefaultSessionMaxAge after sign-in, or
// after DefaultSessionIdle without a request, whichever comes first.
const (
	DefaultSessionMaxAge = 12 * time.Hour
	DefaultSessionIdle   = 30 * time.Minute
)

// sessionPurpose labels the key derived from the keyring for sessions.
const sessionPurpose = "rotor console session v1"

// refreshEvery is how stale a session's last-seen time may get before the
// cookie is re-issued with a new one (so an active user is not signed out
// by the idle limit, without a new cookie on every request).
const refreshEvery = time.Minute

// session is what the session cookie carries, signed: no server-side
// state, so every replica holding the same keyring accepts it. It names
// the access key the user signed in with; every request checks again that
// the key exists and is Active.
type session struct {
	KeyID       string    // the keyring key the signature key is derived from
	AccessKeyID string    // who signed in
	Nonce       string    // random per sign-in; binds the CSRF token to this session
	Issued      time.Time // sign-in time (absolute limit)
	Seen        time.Time // last request (idle limit)
}

// errSession is every reason a session cookie is refused; the user is sent
// to the sign-in page, told only that the session ended.
var errSession = errors.New("console: session is invalid or has expired")

// keySource derives the signature key of sessions: id "" = the active key;
// false when the keyring no longer has that key.
type keySource func(id string) (string, []byte, bool)

func newNonce() (string, error) {
	var b [18]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b[:]), nil
}

// encode returns the cookie value: base64url(payload) "." base64url(mac),
// payload "v1|kek|akid|nonce|issued|seen" (Unix seconds).
func (s session) encode(keys keySource) (string, error) {
	id, key, ok := keys(s.KeyID)
	if !ok {
		return "", errSession
	}
	payload := strings.Join([]string{"v1", id, s.AccessKeyID, s.Nonce,
		strconv.FormatInt(s.Issued.Unix(), 10), strconv.FormatInt(s.Seen.Unix(), 10)}, "|")
	m := hmac.New(sha256.New, key)
	m.Write([]byte(payload))
	return base64.RawURLEncoding.EncodeToString([]byte(payload)) + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil)), nil
}

// decodeSession verifies a cookie value (signature in constant time, then
// both time limits at now) and returns its session.
func decodeSession(v string, keys keySource, now time.Time, maxAge, idle time.Duration) (session, error) {
	p64, m64, ok := strings.Cut(v, ".")
	if !ok || len(v) > 1024 {
		return session{}, errSession
	}
	payload, err1 := base64.RawURLEncoding.DecodeString(p64)
	mac, err2 := base64.RawURLEncoding.DecodeString(m64)
	if err1 != nil || err2 != nil {
		return session{}, errSession
	}
	f := strings.Split(string(payload), "|")
	if len(f) != 6 || f[0] != "v1" || f[1] == "" {
		return session{}, errSession
	}
	_, key, ok := keys(f[1])
	if !ok {
		return session{}, errSession
	}
	m := hmac.New(sha256.New, key)
	m.Write(payload)
	if !hmac.Equal(mac, m.Sum(nil)) {
		return session{}, errSession
	}
	issued, err1 := strconv.ParseInt(f[4], 10, 64)
	seen, err2 := strconv.ParseInt(f[5], 10, 64)
	if err1 != nil || err2 != nil {
		return session{}, errSession
	}
	s := session{KeyID: f[1], AccessKeyID: f[2], Nonce: f[3], Issued: time.Unix(issued, 0), Seen: time.Unix(seen, 0)}
	if now.Sub(s.Issued) >= maxAge || now.Sub(s.Seen) >= idle || s.Issued.After(now.Add(time.Minute)) {
		return session{}, errSession
	}
	return s, nil
}

// csrfToken is the session's CSRF token: a MAC of its nonce, so it is
// valid for this session only and needs no storage.
func (s session) csrfToken(keys keySource) string {
	_, key, ok := keys(s.KeyID)
	if !ok {
		return ""
	}
	m := hmac.New(sha256.New, key)
	m.Write([]byte("csrf|" + s.Nonce))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}
