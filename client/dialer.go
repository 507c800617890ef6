package client

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rotorhq/rotor"
)

// Defaults of a Dialer: at most 5 logins within 10 seconds, waiting 0.5 s,
// 1 s, 2 s, ... (each with jitter, at most 4 s) when there are no new
// credentials to try, and trying AWSPENDING on a refusal.
const (
	DefaultMaxAttempts   = 5
	DefaultRetryBudget   = 10 * time.Second
	DefaultRetryDelay    = 500 * time.Millisecond
	DefaultMaxRetryDelay = 4 * time.Second
)

type dialConfig struct {
	attempts        int
	budget          time.Duration
	delay, maxDelay time.Duration
	pending         bool
}

// DialOption configures a Dialer (and the connectors built on one).
type DialOption func(*dialConfig)

// WithMaxAttempts bounds the logins one Dial makes (default
// DefaultMaxAttempts; values < 1 mean 1, i.e. no retry).
func WithMaxAttempts(n int) DialOption { return func(c *dialConfig) { c.attempts = max(n, 1) } }

// WithRetryBudget bounds the time one Dial spends retrying refused logins
// (default DefaultRetryBudget): it does not start a wait that would end
// after the budget. The context's deadline, if sooner, also applies.
func WithRetryBudget(d time.Duration) DialOption {
	return func(c *dialConfig) { c.budget = max(d, 0) }
}

// WithRetryDelay sets the exponential back-off between refused logins when
// there are no new credentials to try: the n-th wait is about first*2^n,
// at most maxDelay, with jitter (a uniform random point in its upper
// half). Defaults DefaultRetryDelay and DefaultMaxRetryDelay.
func WithRetryDelay(first, maxDelay time.Duration) DialOption {
	return func(c *dialConfig) { c.delay, c.maxDelay = max(first, 0), max(maxDelay, 0) }
}

// WithPending sets whether a refused login tries the credentials of the
// AWSPENDING version before waiting (default true). During a single-user
// rotation the database accepts the pending password before AWSCURRENT
// moves to it, so this makes the rotation invisible to new connections.
func WithPending(on bool) DialOption { return func(c *dialConfig) { c.pending = on } }

// DialStats are a Dialer's counters since NewDialer. All are monotonic.
type DialStats struct {
	// Attempts counts logins tried; Logins those that succeeded, of which
	// PendingLogins used the AWSPENDING version.
	Attempts      uint64
	Logins        uint64
	PendingLogins uint64
	// AuthFailures counts raw authentication failures: every login the
	// database refused as bad credentials, including those a retry hid.
	AuthFailures uint64
	// Waits counts back-off waits between refused logins.
	Waits uint64
	// Refused counts Dial calls that gave up because every login was
	// refused within the budget.
	Refused uint64
	// OtherErrors counts Dial calls that failed for any other reason; that
	// error is returned untouched, without a retry.
	OtherErrors uint64
}

// Dialer logs in to a database with the credentials held in a secret in
// AWS's database JSON shape, retrying refused logins as AWS advises for the
// window of a single-user rotation. It is safe for concurrent use; create
// it with NewDialer. The connectors in pgsecret, mysqlsecret and
// redissecret are built on it.
type Dialer struct {
	cache    *Cache
	secretID string
	isAuth   func(error) bool
	cfg      dialConfig

	mu sync.Mutex
	// lastGood is the version id of the last successful login when that
	// login used the AWSPENDING version (not yet AWSCURRENT); "" when it
	// used AWSCURRENT. Only then is AWSPENDING worth asking the cache for:
	// asking for it once makes the cache fetch it on every refresh.
	lastGood string

	attempts, logins, pendingLogins, authFailures, waits, refused, otherErrors atomic.Uint64
}

// NewDialer returns a Dialer for secret secretID read through cache.
// isAuthFailure reports whether a login error means "wrong credentials"
// (e.g. PostgreSQL SQLSTATE 28P01); only those are retried.
func NewDialer(cache *Cache, secretID string, isAuthFailure func(error) bool, opts ...DialOption) *Dialer {
	cfg := dialConfig{
		attempts: DefaultMaxAttempts, budget: DefaultRetryBudget,
		delay: DefaultRetryDelay, maxDelay: DefaultMaxRetryDelay, pending: true,
	}
	for _, o := range opts {
		o(&cfg)
	}
	return &Dialer{cache: cache, secretID: secretID, isAuth: isAuthFailure, cfg: cfg}
}

// SecretID returns the id of the secret the Dialer reads.
func (d *Dialer) SecretID() string { return d.secretID }

// Budget returns the retry budget (see WithRetryBudget).
func (d *Dialer) Budget() time.Duration { return d.cfg.budget }

// Stats returns a snapshot of the Dialer's counters.
func (d *Dialer) Stats() DialStats {
	return DialStats{
		Attempts: d.attempts.Load(), Logins: d.logins.Load(), PendingLogins: d.pendingLogins.Load(),
		AuthFailures: d.authFailures.Load(), Waits: d.waits.Load(), Refused: d.refused.Load(),
		OtherErrors: d.otherErrors.Load(),
	}
}

// Credentials returns the credentials the next Dial would try first: the
// AWSCURRENT version, or the AWSPENDING version when the last successful
// login used it and it still carries that label. It reads through the cache
// (errors as Cache.GetDBSecret).
func (d *Dialer) Credentials(ctx context.Context) (*DBSecret, error) {
	cur, err := d.cache.GetDBSecret(ctx, d.secretID)
	if err != nil {
		return nil, err
	}
	d.mu.Lock()
	lg := d.lastGood
	d.mu.Unlock()
	if d.cfg.pending && lg != "" && lg != cur.VersionID {
		if p, err := d.cache.GetDBSecret(ctx, d.secretID, WithStage(rotor.StagePending)); err == nil && p.VersionID == lg {
			return p, nil
		}
	}
	return cur, nil
}

// Dial calls login with the secret's credentials until it succeeds:
//
//  1. it tries Credentials (normally AWSCURRENT from the cache);
//  2. when login fails with an error isAuthFailure accepts, it refreshes
//     the secret (Cache.Refresh) and tries, at once, AWSCURRENT if that is
//     a version not yet tried, else AWSPENDING if enabled and not yet tried;
//  3. when there is nothing new to try it waits (exponential back-off with
//     jitter), refreshes again and tries the best candidate again;
//
// within the attempt and time budget. Any other login error is returned
// untouched at once. When the budget runs out it returns an error wrapping
// ErrLoginRefused and the last login error; when ctx ends during a wait,
// ctx's error and the last login error. Errors reading the secret before
// the first login are returned as the Cache returns them; a failed refresh
// between attempts is logged and the cached credentials are used.
func (d *Dialer) Dial(ctx context.Context, login func(ctx context.Context, s *DBSecret) error) error {
	start := time.Now()
	cand, err := d.Credentials(ctx)
	if err != nil {
		d.otherErrors.Add(1)
		return err
	}
	failed := make(map[string]bool)
	var lastErr error
	waits := 0
	attempt := 0
	for {
		attempt++
		d.attempts.Add(1)
		err := login(ctx, cand)
		if err == nil {
			d.succeeded(cand)
			return nil
		}
		if !d.isAuth(err) {
			d.otherErrors.Add(1)
			return err
		}
		d.authFailures.Add(1)
		lastErr = err
		failed[cand.VersionID] = true
		d.cache.cfg.log.Info("rotor client: database refused the secret's credentials",
			"secret", d.secretID, "version", cand.VersionID, "stages", cand.VersionStages, "attempt", attempt)
		if attempt >= d.cfg.attempts {
			break
		}
		next, isNew := d.next(ctx, failed)
		if !isNew {
			delay := d.delay(waits)
			if time.Since(start)+delay > d.cfg.budget {
				break
			}
			t := time.NewTimer(delay)
			select {
			case <-ctx.Done():
				t.Stop()
				d.refused.Add(1)
				return fmt.Errorf("client: secret %q: login refused, gave up waiting: %w (last refusal: %w)", d.secretID, ctx.Err(), lastErr)
			case <-t.C:
			}
			waits++
			d.waits.Add(1)
			next, _ = d.next(ctx, failed)
		}
		if next != nil {
			cand = next
		}
	}
	d.refused.Add(1)
	return fmt.Errorf("client: secret %q: %d logins refused within %v: %w: %w",
		d.secretID, attempt, d.cfg.budget, ErrLoginRefused, lastErr)
}

// succeeded records a successful login with s.
func (d *Dialer) succeeded(s *DBSecret) {
	d.logins.Add(1)
	good := ""
	if slices.Contains(s.VersionStages, rotor.StagePending) && !slices.Contains(s.VersionStages, rotor.StageCurrent) {
		d.pendingLogins.Add(1)
		good = s.VersionID
	}
	d.mu.Lock()
	d.lastGood = good
	d.mu.Unlock()
}

// next refreshes the secret and picks the credentials to try next: a
// version not tried yet (isNew), or else AWSCURRENT again.
func (d *Dialer) next(ctx context.Context, failed map[string]bool) (s *DBSecret, isNew bool) {
	if err := d.cache.Refresh(ctx, d.secretID); err != nil && !errors.Is(err, ErrSecretNotFound) {
		d.cache.cfg.log.Warn("rotor client: refreshing the secret after a refused login failed; using the cached credentials",
			"secret", d.secretID, "err", err)
	}
	cur, err := d.cache.GetDBSecret(ctx, d.secretID)
	if err == nil && !failed[cur.VersionID] {
		return cur, true
	}
	if d.cfg.pending {
		if p, perr := d.cache.GetDBSecret(ctx, d.secretID, WithStage(rotor.StagePending)); perr == nil && !failed[p.VersionID] {
			return p, true
		}
	}
	if err != nil {
		return nil, false
	}
	return cur, false
}

// delay returns the n-th (0-based) back-off wait, with jitter.
func (d *Dialer) delay(n int) time.Duration {
	w := d.cfg.delay
	for i := 0; i < n && w < d.cfg.maxDelay; i++ {
		w *= 2
	}
	w = min(w, d.cfg.maxDelay)
	if w < 2 {
		return w
	}
	return w/2 + rand.N(w-w/2)
}
