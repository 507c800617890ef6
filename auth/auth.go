package auth

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/rotorhq/rotor"
	"github.com/rotorhq/rotor/envelope"
	"github.com/rotorhq/rotor/policy"
	"github.com/rotorhq/rotor/sigv4"
)

// MaxClockSkew is how far a request's signing time may be from the server's
// clock, as AWS allows.
const MaxClockSkew = 15 * time.Minute

// expiredRetention is how long an expired temporary key is remembered so
// that it answers "expired" rather than "invalid"; after that it is
// forgotten (and answers "invalid").
const expiredRetention = time.Hour

// AWS's texts for authentication failures.
const (
	msgInvalidToken = "The security token included in the request is invalid."
	msgExpiredToken = "The security token included in the request is expired"
)

// Config configures a Service.
type Config struct {
	// Store holds identities and access keys (secrets sealed).
	Store rotor.Store
	// Keyring seals and opens access-key secrets.
	Keyring *envelope.Keyring
	// Regions lists the regions served; a request whose credential scope
	// names another region is refused. Empty means every region is served.
	Regions []string
	// Now returns the current time; nil means time.Now. It decides both the
	// expiry of temporary credentials and the clock-skew check of signatures,
	// and is aws:CurrentTime in policies.
	Now func() time.Time
	// Account is the 12-digit account id in principals' ARNs; "" means
	// DefaultAccount.
	Account string
	// CacheMaxAge, when positive, bounds how long a long-term access key
	// (with its identity's role and policies) is used from the cache after
	// it was read from the store. Set it when other servers change the same
	// store: their changes reach this cache only through InvalidateCache
	// (a change feed), and this bounds how long a deactivated key or a
	// narrowed policy keeps working here when such a call is lost.
	CacheMaxAge time.Duration
}

// DefaultAccount is the account id when Config.Account is empty (the
// server's default account_id).
const DefaultAccount = "000000000000"

// Service authenticates requests, authorizes principals, manages identities
// and access keys, and issues temporary credentials. It is safe for
// concurrent use. Its identity and key management methods check nothing
// about who calls them: package admin authorizes its callers first.
type Service struct {
	store    rotor.Store
	keyring  *envelope.Keyring
	regions  map[string]bool
	now      func() time.Time
	verifier *sigv4.Verifier
	account  string
	compiled compiledCache
	maxAge   time.Duration // Config.CacheMaxAge

	mu sync.RWMutex
	// keys caches long-term keys by access key id. gen counts
	// invalidations: a key loaded from the store is cached only if no
	// invalidation happened while it was being loaded, so a load that raced
	// a change never resurrects the old state.
	keys  map[string]cachedKey
	gen   uint64
	temps map[string]*tempKey
}

// cachedKey is a long-term access key as Authenticate needs it.
type cachedKey struct {
	secret    string
	principal rotor.Principal
	active    bool
	// loaded is when the load began (monotonic), for Config.CacheMaxAge.
	loaded time.Time
}

// tempKey is one set of temporary credentials; principal.Expires is when it
// stops working.
type tempKey struct {
	secret    string
	token     string
	principal rotor.Principal
}

var _ rotor.Authorizer = (*Service)(nil)

// New returns a Service over cfg. The caches start empty.
func New(cfg Config) *Service {
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	var regions map[string]bool
	if len(cfg.Regions) > 0 {
		regions = make(map[string]bool, len(cfg.Regions))
		for _, r := range cfg.Regions {
			regions[r] = true
		}
	}
	account := cfg.Account
	if account == "" {
		account = DefaultAccount
	}
	return &Service{
		account:  account,
		maxAge:   cfg.CacheMaxAge,
		store:    cfg.Store,
		keyring:  cfg.Keyring,
		regions:  regions,
		now:      now,
		verifier: &sigv4.Verifier{Now: now, MaxSkew: MaxClockSkew},
		keys:     make(map[string]cachedKey),
		temps:    make(map[string]*tempKey),
	}
}

// Authenticate verifies the SigV4 signature of r, whose body has already
// been read into body, and returns who signed it with the region and
// service of the credential scope. It implements awsapi.Authenticator.
//
// Errors (all *rotor.Error):
//   - those of sigv4.ParseRequest for a missing or malformed signature
//     (EAUTHMISSING, EAUTHINCOMPLETE, ...);
//   - EAUTHSIGNATURE "Credential should be scoped to a valid region, not
//     '<region>'." when the region is not served;
//   - EAUTHUNKNOWN "The security token included in the request is invalid."
//     for an unknown or inactive access key, a temporary key whose session
//     token is missing or wrong, or a long-term key sent with a session
//     token;
//   - EAUTHEXPIRED "The security token included in the request is expired"
//     for a temporary key whose time-to-live has passed;
//   - those of sigv4.Verifier.Verify (EAUTHSIGNATURE for a wrong signature
//     or a signing time outside the clock-skew window);
//   - EINTERNAL when the store cannot be read or a stored secret cannot be
//     decrypted.
//
// Once a long-term key is cached, Authenticate reads nothing from the store
// and decrypts nothing.
func (s *Service) Authenticate(r *http.Request, body []byte) (rotor.Authentication, error) {
	a, err := sigv4.ParseRequest(r)
	if err != nil {
		return rotor.Authentication{}, err
	}
	if s.regions != nil && !s.regions[a.Region] {
		return rotor.Authentication{}, rotor.Errorf(rotor.EAUTHSIGNATURE,
			"Credential should be scoped to a valid region, not '%s'.", a.Region)
	}
	var secret string
	var p rotor.Principal
	if strings.HasPrefix(a.AccessKeyID, TemporaryPrefix) {
		secret, p, err = s.temporary(a)
	} else {
		secret, p, err = s.longTerm(r, a)
	}
	if err != nil {
		return rotor.Authentication{}, err
	}
	if err := s.verifier.Verify(r, body, a, secret); err != nil {
		return rotor.Authentication{}, err
	}
	return rotor.Authentication{Principal: p, Region: a.Region, Service: a.Service}, nil
}

// longTerm returns the secret and principal of the stored key a names,
// from the cache or, on a miss, from the store.
func (s *Service) longTerm(r *http.Request, a sigv4.Authorization) (string, rotor.Principal, error) {
	if a.SecurityToken != "" {
		// A long-term key never has a session token; one sent with it
		// means the client holds something we did not issue.
		return "", rotor.Principal{}, rotor.Errorf(rotor.EAUTHUNKNOWN, msgInvalidToken)
	}
	return s.longTermKey(r.Context(), a.AccessKeyID)
}

// longTermKey returns the secret and principal of the stored long-term
// key id when it exists and is Active, from the cache or, on a miss, from
// the store; EAUTHUNKNOWN otherwise.
func (s *Service) longTermKey(ctx context.Context, id string) (string, rotor.Principal, error) {
	if !validLongTermID(id) {
		// Not a key this server could have issued: no need to ask the store.
		return "", rotor.Principal{}, rotor.Errorf(rotor.EAUTHUNKNOWN, msgInvalidToken)
	}
	s.mu.RLock()
	k, ok := s.keys[id]
	gen := s.gen
	s.mu.RUnlock()
	if ok && s.maxAge > 0 && time.Since(k.loaded) >= s.maxAge {
		ok = false // too old to trust: the store may have changed under it
	}
	if !ok {
		var err error
		if k, err = s.load(ctx, id); err != nil {
			return "", rotor.Principal{}, err
		}
		s.mu.Lock()
		if s.gen == gen {
			s.keys[id] = k
		}
		s.mu.Unlock()
	}
	if !k.active {
		return "", rotor.Principal{}, rotor.Errorf(rotor.EAUTHUNKNOWN, msgInvalidToken)
	}
	return k.secret, k.principal, nil
}

// load reads access key id and its identity from the store and decrypts
// the key's secret. A secret that cannot be decrypted is read once more:
// a key-encryption key may have been retired between reading a value
// wrapped by it and opening it, after the value was re-wrapped.
func (s *Service) load(ctx context.Context, id string) (cachedKey, error) {
	k, err := s.loadOnce(ctx, id)
	if errors.Is(err, errDecrypt) {
		k, err = s.loadOnce(ctx, id)
	}
	return k, err
}

// errDecrypt marks a stored secret that could not be decrypted.
var errDecrypt = errors.New("access key secret cannot be decrypted")

func (s *Service) loadOnce(ctx context.Context, id string) (cachedKey, error) {
	loaded := time.Now()
	var rec *rotor.AccessKeyRecord
	var ident *rotor.IdentityRecord
	err := s.store.View(ctx, func(tx rotor.Tx) error {
		var err error
		if rec, err = tx.AccessKey(id); err != nil {
			return err
		}
		ident, err = tx.Identity(rec.Identity)
		return err
	})
	if rotor.ErrorCode(err) == rotor.ENOTFOUND {
		return cachedKey{}, rotor.Errorf(rotor.EAUTHUNKNOWN, msgInvalidToken)
	} else if err != nil {
		return cachedKey{}, fmt.Errorf("read access key %s: %w", id, err)
	}
	plain, err := s.keyring.Open(rec.Secret, envelope.AccessKeyAAD(id))
	if err != nil {
		return cachedKey{}, &rotor.Error{Code: rotor.EINTERNAL,
			Message: "The secret of the access key could not be decrypted.",
			Err:     fmt.Errorf("%w: access key %s: %w", errDecrypt, id, err)}
	}
	pols, err := identityPolicies(ident)
	if err != nil {
		return cachedKey{}, &rotor.Error{Code: rotor.EINTERNAL, Message: "An error occurred on the server side.",
			Err: fmt.Errorf("identity %s: %w", ident.Name, err)}
	}
	return cachedKey{
		secret: string(plain),
		principal: rotor.Principal{Identity: ident.Name, AccessKeyID: id, Role: ident.Role,
			ARN: UserARN(s.account, ident.Name), Policies: pols},
		active: rec.Status == rotor.KeyActive,
		loaded: loaded,
	}, nil
}

// identityPolicies compiles the identity policies of ident: its role's
// built-in document, then its inline policy. An inline policy that no longer
// compiles is an error (the identity is refused), never skipped: skipping
// it could drop a Deny.
func identityPolicies(ident *rotor.IdentityRecord) ([]*policy.Policy, error) {
	builtin := RolePolicies(ident.Role)
	if ident.Policy == "" {
		if builtin == nil {
			return []*policy.Policy{}, nil // no rights, not "the role's"
		}
		return builtin, nil
	}
	p, err := policy.Parse(ident.Policy, policy.Identity)
	if err != nil {
		return nil, fmt.Errorf("compile inline policy: %w", err)
	}
	return append(slices.Clip(builtin), p), nil
}

// temporary returns the secret and principal of the temporary key a names
// after checking its session token (in constant time) and its expiry.
func (s *Service) temporary(a sigv4.Authorization) (string, rotor.Principal, error) {
	s.mu.RLock()
	t := s.temps[a.AccessKeyID]
	s.mu.RUnlock()
	if t == nil || subtle.ConstantTimeCompare([]byte(a.SecurityToken), []byte(t.token)) != 1 {
		return "", rotor.Principal{}, rotor.Errorf(rotor.EAUTHUNKNOWN, msgInvalidToken)
	}
	if !s.now().Before(t.principal.Expires) {
		return "", rotor.Principal{}, rotor.Errorf(rotor.EAUTHEXPIRED, msgExpiredToken)
	}
	p := t.principal
	p.Scope = cloneScope(p.Scope)
	return t.secret, p, nil
}

// Temporary returns the principal the live temporary credentials
// accessKeyID authenticate as — Scope compiled into Policies, ARN set —
// so an in-process caller (a built-in rotation function) acts as exactly
// the principal its run's credentials are, without compiling the scope
// again on every authorization. False for unknown or revoked credentials.
func (s *Service) Temporary(accessKeyID string) (rotor.Principal, bool) {
	s.mu.RLock()
	t := s.temps[accessKeyID]
	s.mu.RUnlock()
	if t == nil {
		return rotor.Principal{}, false
	}
	p := t.principal
	p.Scope = cloneScope(p.Scope)
	return p, true
}

// InvalidateCache drops every cached long-term key, and keeps loads in
// flight from caching what they read. Call it when another server sharing
// the store changed identities, access keys or identity policies
// (rotor.ChangeFeed); this service's own changes invalidate without it.
// Temporary credentials live in this process alone and are kept.
func (s *Service) InvalidateCache() {
	s.invalidate(func(string, cachedKey) bool { return true })
}

// invalidate drops the cached long-term keys for which drop returns true
// and makes loads in flight not cache their (possibly stale) result.
func (s *Service) invalidate(drop func(id string, k cachedKey) bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.gen++
	for id, k := range s.keys {
		if drop(id, k) {
			delete(s.keys, id)
		}
	}
}

// IssueTemporary mints credentials that authenticate as p (its AccessKeyID
// and Expires are replaced) until ttl has passed or Revoke is called. p may
// have any role; a RoleScoped principal may do exactly what p.Scope
// allows (only a RoleScoped principal may have a Scope). The
// credentials live in this process's memory only (they are never stored
// and do not survive a restart); the access key id starts with "ASIA", and
// every request must carry sessionToken in X-Amz-Security-Token.
//
// Returns EINVALID when ttl is not positive, p.Role is not a known role,
// p.Identity is empty or p has a Scope without being RoleScoped (a scope
// never narrows a long-term role), EINTERNAL when the system's random
// source fails.
func (s *Service) IssueTemporary(p rotor.Principal, ttl time.Duration) (accessKeyID, secretKey, sessionToken string, err error) {
	if ttl <= 0 {
		return "", "", "", rotor.Errorf(rotor.EINVALID, "The lifetime of temporary credentials must be positive.")
	}
	if p.Role != rotor.RoleAdmin && p.Role != rotor.RoleReadOnly && p.Role != rotor.RoleScoped {
		return "", "", "", rotor.Errorf(rotor.EINVALID, "Role %q is not a valid role.", p.Role)
	}
	if p.Identity == "" {
		return "", "", "", rotor.Errorf(rotor.EINVALID, "Temporary credentials need an identity name.")
	}
	if len(p.Scope) > 0 && p.Role != rotor.RoleScoped {
		return "", "", "", rotor.Errorf(rotor.EINVALID, "Only temporary credentials of role %q may have a scope; role %q has its own.", rotor.RoleScoped, p.Role)
	}
	if secretKey, err = newSecret(secretKeyBytes); err != nil {
		return "", "", "", internal(err)
	}
	if sessionToken, err = newSessionToken(); err != nil {
		return "", "", "", internal(err)
	}
	now := s.now()
	p.Expires = now.Add(ttl)
	p.Scope = cloneScope(p.Scope)
	if p.Role == rotor.RoleScoped {
		// The scope becomes an identity policy, evaluated by the same
		// Decide as every other, with the secret's resource policy.
		sp, err := ScopePolicy(p.Scope)
		if err != nil {
			return "", "", "", internal(fmt.Errorf("scope policy: %w", err))
		}
		p.Policies = []*policy.Policy{sp}
	}
	if p.ARN == "" {
		p.ARN = s.principalARN(p)
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	for id, t := range s.temps {
		if now.Sub(t.principal.Expires) > expiredRetention {
			delete(s.temps, id)
		}
	}
	for {
		if accessKeyID, err = newAccessKeyID(TemporaryPrefix); err != nil {
			return "", "", "", internal(err)
		}
		if s.temps[accessKeyID] == nil {
			break
		}
	}
	p.AccessKeyID = accessKeyID
	s.temps[accessKeyID] = &tempKey{secret: secretKey, token: sessionToken, principal: p}
	return accessKeyID, secretKey, sessionToken, nil
}

// cloneScope returns a deep copy of scope, so no caller shares the slices
// a stored principal is authorized by.
func cloneScope(scope []rotor.Grant) []rotor.Grant {
	if scope == nil {
		return nil
	}
	out := make([]rotor.Grant, len(scope))
	for i, g := range scope {
		out[i] = rotor.Grant{Actions: slices.Clone(g.Actions), Resources: slices.Clone(g.Resources)}
	}
	return out
}

// Revoke ends the temporary credentials with this access key id at once:
// the next request signed with them is refused as unknown. It does nothing
// for an unknown id or a long-term key (use UpdateAccessKey or
// DeleteAccessKey for those).
func (s *Service) Revoke(accessKeyID string) {
	s.mu.Lock()
	delete(s.temps, accessKeyID)
	s.mu.Unlock()
}

// revokeIdentity ends every temporary credential issued for identity.
func (s *Service) revokeIdentity(identity string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, t := range s.temps {
		if t.principal.Identity == identity {
			delete(s.temps, id)
		}
	}
}

// internal wraps an unexpected failure as an EINTERNAL *rotor.Error with a
// generic message, keeping the cause for logs. An error that already is a
// *rotor.Error is returned as is.
func internal(err error) error {
	var e *rotor.Error
	if errors.As(err, &e) {
		return err
	}
	return &rotor.Error{Code: rotor.EINTERNAL, Message: "An error occurred on the server side.", Err: err}
}
