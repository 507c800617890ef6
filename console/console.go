package console

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"embed"
	"encoding/hex"
	"errors"
	"html/template"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/rotorhq/rotor"
)

// Prefix is the path the console is served under.
const Prefix = "/console/"

// cookieName is the session cookie's name.
const cookieName = "rotor_console"

// DefaultStuckAfter is how long a running run may go without progress
// before the needs-attention page lists it as stuck.
const DefaultStuckAfter = 15 * time.Minute

// securityHeaders are set on every response of the console.
var securityHeaders = map[string]string{
	"Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
		"form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
	"X-Content-Type-Options": "nosniff",
	"Referrer-Policy":        "no-referrer",
	"X-Frame-Options":        "DENY",
}

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Secrets is what the console needs of the secrets service
// (*manager.Service implements it): the API's operations, the label
// history, and Allowed to decide which buttons to offer.
type Secrets interface {
	rotor.SecretService
	rotor.Rotator
	rotor.RotationService
	StageHistory(ctx context.Context, secretID string, limit int) ([]rotor.StageEvent, error)
	LatestFailedRuns(ctx context.Context, nextToken string, limit int) ([]rotor.RunRecord, string, error)
	Allowed(ctx context.Context, action, secretID string) error
}

// Authenticator checks sign-ins and sessions' keys (*auth.Service
// implements it).
type Authenticator interface {
	VerifySecret(ctx context.Context, accessKeyID, secret string) (rotor.Principal, error)
	ActivePrincipal(ctx context.Context, accessKeyID string) (rotor.Principal, error)
}

// Config wires a Handler.
type Config struct {
	Secrets Secrets
	Admin   rotor.AdminService
	Auth    Authenticator
	// SessionKey derives the key that signs sessions from the keyring
	// (envelope.Keyring.DeriveKey with a fixed purpose): id "" = the
	// active key.
	SessionKey func(id, purpose string) (string, []byte, bool)
	// Regions are the regions served, the first the default.
	Regions []string
	// Audit, when set, receives the record of every reveal (and sign-in).
	Audit  rotor.Auditor
	Logger *slog.Logger // nil = discard

	SessionMaxAge time.Duration // 0 = DefaultSessionMaxAge
	SessionIdle   time.Duration // 0 = DefaultSessionIdle
	StuckAfter    time.Duration // 0 = DefaultStuckAfter
	Now           func() time.Time

	// Failed sign-ins allowed at once per source address and per access
	// key id, and the time to earn one more (see throttle.go); 0 = the
	// Default values.
	SignInBurstPerAddress int
	SignInEveryPerAddress time.Duration
	SignInBurstPerKey     int
	SignInEveryPerKey     time.Duration
}

// Handler serves the console under Prefix. It is safe for concurrent use.
type Handler struct {
	cfg       Config
	keys      keySource
	throttle  signInThrottle
	signedOut revocations
	pages     map[string]*template.Template
	static    http.Handler
	mux       *http.ServeMux
}

// New returns the console over cfg. Secrets, Admin, Auth, SessionKey and
// at least one region are required.
func New(cfg Config) (*Handler, error) {
	if cfg.Secrets == nil || cfg.Admin == nil || cfg.Auth == nil || cfg.SessionKey == nil || len(cfg.Regions) == 0 {
		return nil, errors.New("console: Secrets, Admin, Auth, SessionKey and Regions are required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.SessionMaxAge <= 0 {
		cfg.SessionMaxAge = DefaultSessionMaxAge
	}
	if cfg.SessionIdle <= 0 {
		cfg.SessionIdle = DefaultSessionIdle
	}
	if cfg.StuckAfter <= 0 {
		cfg.StuckAfter = DefaultStuckAfter
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.SignInBurstPerAddress <= 0 {
		cfg.SignInBurstPerAddress = DefaultSignInBurstPerAddress
	}
	if cfg.SignInEveryPerAddress <= 0 {
		cfg.SignInEveryPerAddress = DefaultSignInEveryPerAddress
	}
	if cfg.SignInBurstPerKey <= 0 {
		cfg.SignInBurstPerKey = DefaultSignInBurstPerKey
	}
	if cfg.SignInEveryPerKey <= 0 {
		cfg.SignInEveryPerKey = DefaultSignInEveryPerKey
	}
	h := &Handler{cfg: cfg, keys: func(id string) (string, []byte, bool) { return cfg.SessionKey(id, sessionPurpose) },
		throttle: signInThrottle{byAddr: newLimiter(cfg.SignInBurstPerAddress, cfg.SignInEveryPerAddress),
			byKey: newLimiter(cfg.SignInBurstPerKey, cfg.SignInEveryPerKey)}}
	var err error
	if h.pages, err = parsePages(); err != nil {
		return nil, err
	}
	sub, err := fs.Sub(staticFS, "static")
	if err != nil {
		return nil, err
	}
	h.static = http.StripPrefix(Prefix+"static/", http.FileServerFS(sub))
	m := http.NewServeMux()
	m.HandleFunc("GET "+Prefix+"{$}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, Prefix+"secrets", http.StatusSeeOther)
	})
	m.HandleFunc("GET "+Prefix+"static/", h.serveStatic)
	m.HandleFunc("GET "+Prefix+"signin", h.signInPage)
	m.HandleFunc("POST "+Prefix+"signin", h.signIn)
	m.HandleFunc("POST "+Prefix+"signout", h.withSession(h.signOut))
	m.HandleFunc("GET "+Prefix+"secrets", h.withSession(h.secretsPage))
	m.HandleFunc("GET "+Prefix+"secret", h.withSession(h.secretPage))
	m.HandleFunc("POST "+Prefix+"secret/reveal", h.withSession(h.reveal))
	m.HandleFunc("POST "+Prefix+"secret/rotate", h.withSession(h.rotate))
	m.HandleFunc("POST "+Prefix+"secret/cancel", h.withSession(h.cancel))
	m.HandleFunc("POST "+Prefix+"secret/abandon", h.withSession(h.abandon))
	m.HandleFunc("GET "+Prefix+"attention", h.withSession(h.attentionPage))
	m.HandleFunc("GET "+Prefix+"identities", h.withSession(h.identitiesPage))
	m.HandleFunc("POST "+Prefix+"identities/key/create", h.withSession(h.createKey))
	m.HandleFunc("POST "+Prefix+"identities/key/status", h.withSession(h.keyStatus))
	m.HandleFunc("POST "+Prefix+"identities/key/delete", h.withSession(h.deleteKey))
	h.mux = m
	return h, nil
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	for k, v := range securityHeaders {
		w.Header().Set(k, v)
	}
	if !strings.HasPrefix(r.URL.Path, Prefix+"static/") {
		w.Header().Set("Cache-Control", "no-store")
	}
	if r.Method == http.MethodPost {
		r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
		if !sameOrigin(r) {
			h.fail(w, r, nil, http.StatusForbidden, "This request came from another site and was refused.")
			return
		}
	}
	h.mux.ServeHTTP(w, r)
}

func (h *Handler) serveStatic(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-cache")
	h.static.ServeHTTP(w, r)
}

// sameOrigin refuses cross-site POSTs. Sec-Fetch-Site, which browsers set
// and pages cannot, decides when present: it must be same-origin.
// Otherwise Origin, when present, must name this host. (Under
// Referrer-Policy: no-referrer, Chromium sends "Origin: null" even for a
// same-origin form, so Origin alone cannot decide when Sec-Fetch-Site is
// there; "null" without Sec-Fetch-Site is refused.)
func sameOrigin(r *http.Request) bool {
	if s := r.Header.Get("Sec-Fetch-Site"); s != "" {
		return s == "same-origin"
	}
	if o := r.Header.Get("Origin"); o != "" {
		u, err := url.Parse(o)
		if err != nil || u.Host != r.Host {
			return false
		}
	}
	return true
}

// request is one signed-in request.
type request struct {
	w      http.ResponseWriter
	r      *http.Request
	ctx    context.Context // carries the rotor.Caller
	sess   session
	p      rotor.Principal
	region string
	csrf   string
	flash  string // a message from the redirect that led here
	reqID  string
	rawUA  string
	srcIP  string
}

// withSession runs fn for a request with a valid session whose key is
// still Active, with the caller in the context; others are sent to the
// sign-in page (GET) or refused (POST). POSTs must carry the session's
// CSRF token.
func (h *Handler) withSession(fn func(*request)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		now := h.cfg.Now()
		c, err := r.Cookie(cookieName)
		var s session
		if err == nil {
			s, err = decodeSession(c.Value, h.keys, now, h.cfg.SessionMaxAge, h.cfg.SessionIdle)
		}
		if err == nil && h.signedOut.revoked(s.Nonce) {
			err = errSession
		}
		var p rotor.Principal
		if err == nil {
			p, err = h.cfg.Auth.ActivePrincipal(r.Context(), s.AccessKeyID)
		}
		if err != nil {
			to := Prefix + "signin"
			if c != nil { // a session there was: say it ended
				h.clearCookie(w, r)
				to += "?ended=1"
			}
			if r.Method == http.MethodGet {
				http.Redirect(w, r, to, http.StatusSeeOther)
				return
			}
			h.fail(w, r, nil, http.StatusUnauthorized, "Your session has ended. Sign in again.")
			return
		}
		csrf := s.csrfToken(h.keys)
		if r.Method == http.MethodPost {
			if err := r.ParseForm(); err != nil {
				h.fail(w, r, nil, http.StatusBadRequest, "The form could not be read.")
				return
			}
			if got := r.PostForm.Get("csrf"); got == "" || !constantEqual(got, csrf) {
				h.fail(w, r, nil, http.StatusForbidden, "The form's security token is missing or wrong. Reload the page and try again.")
				return
			}
		}
		if now.Sub(s.Seen) >= refreshEvery {
			s.Seen = now
			h.setCookie(w, r, s)
		}
		region := r.FormValue("region")
		if region == "" || !slices.Contains(h.cfg.Regions, region) {
			region = h.cfg.Regions[0]
		}
		reqID := newRequestID()
		ip := remoteIP(r.RemoteAddr)
		ctx := rotor.NewContext(r.Context(), rotor.Caller{Principal: p, Region: region, RequestID: reqID,
			SourceIP: ip, SecureTransport: r.TLS != nil})
		fn(&request{w: w, r: r, ctx: ctx, sess: s, p: p, region: region, csrf: csrf, flash: r.FormValue("msg"),
			reqID: reqID, rawUA: r.Header.Get("User-Agent"), srcIP: ip})
	}
}

func (h *Handler) setCookie(w http.ResponseWriter, r *http.Request, s session) {
	v, err := s.encode(h.keys)
	if err != nil {
		return
	}
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: v, Path: Prefix, HttpOnly: true, Secure: r.TLS != nil,
		SameSite: http.SameSiteStrictMode, MaxAge: int(h.cfg.SessionMaxAge / time.Second)})
}

func (h *Handler) clearCookie(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: "", Path: Prefix, HttpOnly: true, Secure: r.TLS != nil,
		SameSite: http.SameSiteStrictMode, MaxAge: -1})
}

// constantEqual compares two tokens in constant time.
func constantEqual(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

func newRequestID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	x := hex.EncodeToString(b[:])
	return x[0:8] + "-" + x[8:12] + "-" + x[12:16] + "-" + x[16:20] + "-" + x[20:]
}

func remoteIP(addr string) string {
	if host, _, err := net.SplitHostPort(addr); err == nil {
		return host
	}
	return addr
}
