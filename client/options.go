package client

import (
	"io"
	"log/slog"
	"time"
)

// Defaults of a Cache.
const (
	// DefaultTTL is how long a secret's description (which version carries
	// which staging label) is trusted before DescribeSecret is called
	// again; each refresh picks the next one at random in [TTL/2, TTL).
	DefaultTTL = 5 * time.Minute
	// DefaultMaxSecrets is how many secrets a Cache holds before it evicts
	// the least recently used one.
	DefaultMaxSecrets = 1024
	// DefaultMaxVersions is how many version values a Cache keeps per
	// secret (least recently used out first).
	DefaultMaxVersions = 10
	// DefaultErrorBackoff is the wait after the first failed refresh of a
	// secret; it doubles with each further failure up to
	// DefaultMaxErrorBackoff.
	DefaultErrorBackoff = time.Second
	// DefaultMaxErrorBackoff bounds the wait between failed refreshes.
	DefaultMaxErrorBackoff = 30 * time.Second
	// DefaultFetchTimeout bounds one refresh (its DescribeSecret and
	// GetSecretValue requests, SDK retries included).
	DefaultFetchTimeout = 30 * time.Second
)

type config struct {
	ttl          time.Duration
	maxSecrets   int
	maxVersions  int
	backoff      time.Duration
	maxBackoff   time.Duration
	fetchTimeout time.Duration
	now          func() time.Time
	log          *slog.Logger
}

func defaultConfig() config {
	return config{
		ttl:          DefaultTTL,
		maxSecrets:   DefaultMaxSecrets,
		maxVersions:  DefaultMaxVersions,
		backoff:      DefaultErrorBackoff,
		maxBackoff:   DefaultMaxErrorBackoff,
		fetchTimeout: DefaultFetchTimeout,
		now:          time.Now,
		log:          slog.Default(),
	}
}

// Option configures a Cache (see New).
type Option func(*config)

// WithTTL sets how long a secret's description is trusted (default
// DefaultTTL). Each refresh schedules the next one at a random point in
// [ttl/2, ttl). A ttl <= 0 makes every read call DescribeSecret (version
// values are still cached, since versions never change).
func WithTTL(ttl time.Duration) Option { return func(c *config) { c.ttl = ttl } }

// WithMaxSecrets bounds how many secrets the cache holds (default
// DefaultMaxSecrets; values < 1 mean 1). Beyond it the least recently used
// secret is evicted.
func WithMaxSecrets(n int) Option { return func(c *config) { c.maxSecrets = max(n, 1) } }

// WithMaxVersions bounds how many version values are kept per secret
// (default DefaultMaxVersions; values < 1 mean 1).
func WithMaxVersions(n int) Option { return func(c *config) { c.maxVersions = max(n, 1) } }

// WithErrorBackoff sets the wait after a failed refresh: first, doubling
// with each consecutive failure, never more than maxWait (defaults
// DefaultErrorBackoff and DefaultMaxErrorBackoff). While it lasts, reads of
// that secret are answered from the cache (or with the last error) without
// a request. Negative values mean 0 (no back-off).
func WithErrorBackoff(first, maxWait time.Duration) Option {
	return func(c *config) { c.backoff, c.maxBackoff = max(first, 0), max(maxWait, 0) }
}

// WithFetchTimeout bounds one refresh (default DefaultFetchTimeout). A
// refresh is shared by every caller waiting for it, so it does not stop
// when one of them gives up; this timeout stops it.
func WithFetchTimeout(d time.Duration) Option {
	return func(c *config) {
		if d > 0 {
			c.fetchTimeout = d
		}
	}
}

// WithNow sets the clock the cache uses for TTLs and back-off (default
// time.Now). Tests use it to move time forward.
func WithNow(now func() time.Time) Option {
	return func(c *config) {
		if now != nil {
			c.now = now
		}
	}
}

// WithLogger sets where refresh failures are logged (default
// slog.Default(); nil discards). Log records name the secret and the error,
// never a value.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) {
		if l == nil {
			l = slog.New(slog.NewTextHandler(io.Discard, nil))
		}
		c.log = l
	}
}

type getConfig struct {
	stage     string
	versionID string
	maxAge    time.Duration // < 0: use the cache's TTL
}

// GetOption selects what a read returns and how fresh it must be.
type GetOption func(*getConfig)

// WithStage reads the version carrying the staging label stage (default
// AWSCURRENT).
func WithStage(stage string) GetOption { return func(g *getConfig) { g.stage = stage } }

// WithVersionID reads the version with this VersionId; any WithStage is
// then ignored. Versions never change, so a cached one is returned without
// a request however old the secret's description is.
func WithVersionID(id string) GetOption { return func(g *getConfig) { g.versionID = id } }

// WithMaxAge overrides the TTL for this read: the secret's description is
// refreshed first unless it was fetched less than d ago. d <= 0 always
// refreshes (still subject to the error back-off).
func WithMaxAge(d time.Duration) GetOption {
	return func(g *getConfig) { g.maxAge = max(d, 0) }
}
