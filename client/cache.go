package client

import (
	"container/list"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"golang.org/x/sync/singleflight"

	"github.com/rotorhq/rotor"
)

// API is the part of the Secrets Manager client a Cache uses.
// *secretsmanager.Client implements it, against Rotor or AWS alike.
type API interface {
	DescribeSecret(ctx context.Context, in *secretsmanager.DescribeSecretInput, optFns ...func(*secretsmanager.Options)) (*secretsmanager.DescribeSecretOutput, error)
	GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, optFns ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
}

var _ API = (*secretsmanager.Client)(nil)

// UserAgentKey is added to the User-Agent of every request the cache sends,
// so a server can tell cache traffic apart.
const UserAgentKey = "rotor-client-cache"

// Value is one version of a secret. Exactly one of SecretString and
// SecretBinary is set. It is the caller's copy: changing it does not change
// the cache. Its String, GoString and slog LogValue methods never show the
// value.
type Value struct {
	ARN          string
	Name         string
	VersionID    string
	SecretString *string
	SecretBinary []byte
	// VersionStages are the labels the version carried in the description
	// the value was read under, sorted.
	VersionStages []string
	CreatedDate   time.Time
}

// String describes v without its value.
func (v Value) String() string {
	kind := "string"
	if v.SecretString == nil {
		kind = "binary"
	}
	return fmt.Sprintf("secret %s version %s (%s value, stages %v)", v.Name, v.VersionID, kind, v.VersionStages)
}

// GoString is String, so that %#v does not show the value either.
func (v Value) GoString() string { return v.String() }

// LogValue makes slog log v without its value.
func (v Value) LogValue() slog.Value { return slog.StringValue(v.String()) }

// Stats are a Cache's counters since New. All are monotonic.
type Stats struct {
	// DescribeSecretCalls and GetSecretValueCalls count the requests sent
	// to the server, failed ones included.
	DescribeSecretCalls uint64
	GetSecretValueCalls uint64
	// Hits counts reads answered without a request; Misses reads that
	// needed one (or joined one in flight).
	Hits   uint64
	Misses uint64
	// StaleServed counts reads answered with a cached value because the
	// refresh failed or is in error back-off.
	StaleServed uint64
	// RefreshErrors counts failed refreshes (DescribeSecret or the
	// GetSecretValue of a refresh), "secret not found" answers excluded.
	RefreshErrors uint64
	// Evictions counts secrets dropped to stay within the size bound.
	Evictions uint64
}

// Cache is a read-through cache of secret values; see the package
// documentation for its behaviour. It is safe for concurrent use. Create it
// with New.
type Cache struct {
	api     API
	cfg     config
	optFns  []func(*secretsmanager.Options)
	flights singleflight.Group

	mu     sync.Mutex
	lru    *list.List // of *entry, most recently used first
	items  map[string]*entry
	serial uint64

	describes, gets, hits, misses, stale, refreshErrors, evictions atomic.Uint64
}

// entry is the cache's knowledge of one secret.
type entry struct {
	id   string
	key  string        // singleflight key prefix, unique per entry
	elem *list.Element // in Cache.lru; guarded by Cache.mu

	mu          sync.Mutex
	arn, name   string
	described   bool
	gen         uint64 // successful refreshes
	describedAt time.Time
	expires     time.Time
	stages      map[string]string // label -> version id, from the last description
	empty       map[string]bool   // versions of that description found without a value
	versions    map[string]*list.Element
	vlru        *list.List      // of *version, most recently used first
	want        map[string]bool // labels read successfully, prefetched on refresh
	lastErr     error
	failures    int
	retryAt     time.Time
}

// version is one immutable secret value.
type version struct {
	id, arn, name string
	str           *string
	bin           []byte
	created       time.Time
}

// New returns a Cache reading through api (normally a
// *secretsmanager.Client; it must not be nil).
func New(api API, opts ...Option) *Cache {
	cfg := defaultConfig()
	for _, o := range opts {
		o(&cfg)
	}
	return &Cache{
		api: api,
		cfg: cfg,
		optFns: []func(*secretsmanager.Options){func(o *secretsmanager.Options) {
			o.APIOptions = append(o.APIOptions, awsmiddleware.AddUserAgentKey(UserAgentKey))
		}},
		lru:   list.New(),
		items: make(map[string]*entry),
	}
}

// GetSecretValue returns the version of secret secretID that carries the
// staging label AWSCURRENT (or the one chosen with WithStage or
// WithVersionID). It answers from the cache while the secret's description
// is fresh; otherwise it refreshes first (one refresh per secret in flight
// for all callers). If the refresh fails, the last value read for that
// label is returned (stale-on-error) and the failure is recorded, except
// when the secret no longer exists.
//
// Errors wrap ErrSecretNotFound, ErrStageNotFound, ErrVersionNotFound or
// ErrInvalidSecretID (empty id), or the SDK's error when the server could
// not be asked and nothing is cached, or ctx's error.
func (c *Cache) GetSecretValue(ctx context.Context, secretID string, opts ...GetOption) (*Value, error) {
	g := getConfig{stage: rotor.StageCurrent, maxAge: -1}
	for _, o := range opts {
		o(&g)
	}
	if secretID == "" {
		return nil, wrap(ErrInvalidSecretID, secretID, "", nil)
	}
	if g.stage == "" {
		g.stage = rotor.StageCurrent
	}
	e := c.entry(secretID)
	if g.versionID != "" {
		return c.byVersion(ctx, e, g.versionID)
	}
	return c.byStage(ctx, e, g.stage, g.maxAge)
}

// GetSecretString is GetSecretValue for a string secret: it returns
// SecretString, or an error wrapping ErrBinary when the value is binary
// (and GetSecretValue's errors).
func (c *Cache) GetSecretString(ctx context.Context, secretID string, opts ...GetOption) (string, error) {
	v, err := c.GetSecretValue(ctx, secretID, opts...)
	if err != nil {
		return "", err
	}
	if v.SecretString == nil {
		return "", wrap(ErrBinary, secretID, "version "+v.VersionID, nil)
	}
	return *v.SecretString, nil
}

// GetSecretBinary is GetSecretValue for a binary secret: it returns
// SecretBinary, or an error wrapping ErrString when the value is a string
// (and GetSecretValue's errors).
func (c *Cache) GetSecretBinary(ctx context.Context, secretID string, opts ...GetOption) ([]byte, error) {
	v, err := c.GetSecretValue(ctx, secretID, opts...)
	if err != nil {
		return nil, err
	}
	if v.SecretBinary == nil {
		return nil, wrap(ErrString, secretID, "version "+v.VersionID, nil)
	}
	return v.SecretBinary, nil
}

// Refresh refreshes secret secretID now, ignoring its TTL and any error
// back-off: one DescribeSecret, then GetSecretValue for each version that
// now carries a label read before (AWSCURRENT at least) and is not cached.
// A refresh already in flight for the secret is joined instead. On failure
// the cached values stay and are served stale; the error (wrapping
// ErrSecretNotFound when the secret no longer exists, else the SDK's error)
// is returned and recorded as for any refresh.
func (c *Cache) Refresh(ctx context.Context, secretID string) error {
	if secretID == "" {
		return wrap(ErrInvalidSecretID, secretID, "", nil)
	}
	e := c.entry(secretID)
	return c.refresh(ctx, e, rotor.StageCurrent, true, 0)
}

// LastError returns the error of the last refresh of secretID if that
// refresh failed, and nil if it succeeded or the secret is not cached. It
// is meant for health checks: a non-nil result while reads succeed means
// they are being served stale.
func (c *Cache) LastError(secretID string) error {
	c.mu.Lock()
	e := c.items[secretID]
	c.mu.Unlock()
	if e == nil {
		return nil
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.lastErr
}

// Len returns how many secrets the cache holds.
func (c *Cache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lru.Len()
}

// Stats returns a snapshot of the cache's counters.
func (c *Cache) Stats() Stats {
	return Stats{
		DescribeSecretCalls: c.describes.Load(),
		GetSecretValueCalls: c.gets.Load(),
		Hits:                c.hits.Load(),
		Misses:              c.misses.Load(),
		StaleServed:         c.stale.Load(),
		RefreshErrors:       c.refreshErrors.Load(),
		Evictions:           c.evictions.Load(),
	}
}

// entry returns the entry of id, creating it (and evicting the least
// recently used entries beyond the bound) if needed, and marks it used.
func (c *Cache) entry(id string) *entry {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.items[id]; ok {
		c.lru.MoveToFront(e.elem)
		return e
	}
	c.serial++
	e := &entry{
		id:       id,
		key:      strconv.FormatUint(c.serial, 10) + "\x00" + id,
		versions: make(map[string]*list.Element),
		vlru:     list.New(),
		want:     make(map[string]bool),
	}
	e.elem = c.lru.PushFront(e)
	c.items[id] = e
	for c.lru.Len() > c.cfg.maxSecrets {
		old := c.lru.Remove(c.lru.Back()).(*entry)
		delete(c.items, old.id)
		c.evictions.Add(1)
	}
	return e
}

// byStage reads the version carrying stage.
func (c *Cache) byStage(ctx context.Context, e *entry, stage string, maxAge time.Duration) (*Value, error) {
	now := c.cfg.now()
	e.mu.Lock()
	if e.freshLocked(now, maxAge) {
		v, err, ok := e.resolveLocked(stage)
		e.mu.Unlock()
		if ok {
			c.hits.Add(1)
			return v, err
		}
		c.misses.Add(1)
		return c.fetchStage(ctx, e, stage)
	}
	if e.lastErr != nil && now.Before(e.retryAt) {
		// In error back-off: no request; serve what we have.
		v, rerr, ok := e.resolveLocked(stage)
		lastErr := e.lastErr
		e.mu.Unlock()
		if ok && rerr == nil {
			c.stale.Add(1)
			return v, nil
		}
		return nil, lastErr
	}
	gen := e.gen
	e.mu.Unlock()

	c.misses.Add(1)
	if err := c.refresh(ctx, e, stage, false, gen); err != nil {
		if errors.Is(err, ErrSecretNotFound) || ctx.Err() != nil {
			return nil, err
		}
		e.mu.Lock()
		v, rerr, ok := e.resolveLocked(stage)
		e.mu.Unlock()
		if ok && rerr == nil {
			c.stale.Add(1)
			return v, nil
		}
		return nil, err
	}
	e.mu.Lock()
	v, err, ok := e.resolveLocked(stage)
	e.mu.Unlock()
	if ok {
		return v, err
	}
	// The refresh was another caller's and did not fetch this label's
	// version (or it was evicted since): fetch it now.
	return c.fetchStage(ctx, e, stage)
}

// fetchStage fetches the version that the current description says
// carries stage, then answers from the cache.
func (c *Cache) fetchStage(ctx context.Context, e *entry, stage string) (*Value, error) {
	e.mu.Lock()
	vid, ok := e.stages[stage]
	e.mu.Unlock()
	if !ok {
		return nil, wrap(ErrStageNotFound, e.id, "stage "+stage, nil)
	}
	ver, err := c.fetchVersion(ctx, e, vid)
	e.mu.Lock()
	defer e.mu.Unlock()
	if err != nil {
		if !errors.Is(err, ErrVersionNotFound) {
			return nil, err
		}
		if e.stages[stage] == vid {
			// A version without a value: the placeholder of a rotation
			// that has not run createSecret yet. Remember it until the
			// next refresh.
			e.empty[vid] = true
		}
		return nil, wrap(ErrStageNotFound, e.id, "stage "+stage, sdkNotFound(err))
	}
	e.want[stage] = true
	return e.valueLocked(ver), nil
}

// byVersion reads a version by id.
func (c *Cache) byVersion(ctx context.Context, e *entry, vid string) (*Value, error) {
	e.mu.Lock()
	if el, ok := e.versions[vid]; ok {
		e.vlru.MoveToFront(el)
		v := e.valueLocked(el.Value.(*version))
		e.mu.Unlock()
		c.hits.Add(1)
		return v, nil
	}
	e.mu.Unlock()
	c.misses.Add(1)
	ver, err := c.fetchVersion(ctx, e, vid)
	if err != nil {
		return nil, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.valueLocked(ver), nil
}

// detached runs f with a context that carries ctx's values but not its
// cancellation, bounded by the fetch timeout: the work is shared by every
// caller waiting on it.
func (c *Cache) detached(ctx context.Context, f func(context.Context) (any, error)) func() (any, error) {
	return func() (any, error) {
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.cfg.fetchTimeout)
		defer cancel()
		return f(fctx)
	}
}

// wait waits for a shared flight or for ctx.
func wait(ctx context.Context, ch <-chan singleflight.Result, secretID string) (any, error) {
	select {
	case r := <-ch:
		return r.Val, r.Err
	case <-ctx.Done():
		return nil, fmt.Errorf("client: secret %q: %w", secretID, ctx.Err())
	}
}

// fetchVersion returns version vid, from the cache or with one
// GetSecretValue shared by concurrent callers, and caches it.
func (c *Cache) fetchVersion(ctx context.Context, e *entry, vid string) (*version, error) {
	ch := c.flights.DoChan(e.key+"\x00v\x00"+vid, c.detached(ctx, func(ctx context.Context) (any, error) {
		e.mu.Lock()
		if el, ok := e.versions[vid]; ok {
			e.mu.Unlock()
			return el.Value.(*version), nil
		}
		ref := e.arn
		if ref == "" {
			ref = e.id
		}
		e.mu.Unlock()
		ver, err := c.getVersion(ctx, e.id, ref, vid)
		if err != nil {
			return nil, err
		}
		e.mu.Lock()
		e.putVersionLocked(ver, c.cfg.maxVersions)
		e.mu.Unlock()
		return ver, nil
	}))
	v, err := wait(ctx, ch, e.id)
	if err != nil {
		return nil, err
	}
	return v.(*version), nil
}

// getVersion sends GetSecretValue(SecretId=ref, VersionId=vid).
func (c *Cache) getVersion(ctx context.Context, id, ref, vid string) (*version, error) {
	c.gets.Add(1)
	out, err := c.api.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{
		SecretId: aws.String(ref), VersionId: aws.String(vid),
	}, c.optFns...)
	if err != nil {
		if isNotFound(err) {
			return nil, wrap(ErrVersionNotFound, id, "version "+vid, err)
		}
		return nil, fmt.Errorf("client: secret %q: get version %s: %w", id, vid, err)
	}
	if out.SecretString == nil && out.SecretBinary == nil {
		return nil, wrap(ErrVersionNotFound, id, "version "+vid+" (no value)", nil)
	}
	ver := &version{id: vid, arn: aws.ToString(out.ARN), name: aws.ToString(out.Name), bin: out.SecretBinary}
	if out.SecretString != nil {
		s := *out.SecretString
		ver.str = &s
		ver.bin = nil
	}
	if out.CreatedDate != nil {
		ver.created = *out.CreatedDate
	}
	return ver, nil
}

// refresh runs (or joins) the refresh of e. Unless force is set, a refresh
// that finds e already refreshed since the caller saw generation gen does
// nothing.
func (c *Cache) refresh(ctx context.Context, e *entry, stage string, force bool, gen uint64) error {
	ch := c.flights.DoChan(e.key, c.detached(ctx, func(ctx context.Context) (any, error) {
		if !force {
			e.mu.Lock()
			done := e.gen != gen
			e.mu.Unlock()
			if done {
				return nil, nil
			}
		}
		return nil, c.doRefresh(ctx, e, stage)
	}))
	_, err := wait(ctx, ch, e.id)
	return err
}

// doRefresh describes the secret, fetches the missing versions of the
// labels in use, and commits both at once, so a failure leaves the previous
// description (and stale values) intact.
func (c *Cache) doRefresh(ctx context.Context, e *entry, stage string) error {
	e.mu.Lock()
	want := []string{stage}
	for s := range e.want {
		if s != stage {
			want = append(want, s)
		}
	}
	e.mu.Unlock()

	c.describes.Add(1)
	out, err := c.api.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String(e.id)}, c.optFns...)
	if err != nil {
		if isNotFound(err) {
			err = wrap(ErrSecretNotFound, e.id, "", err)
			now := c.cfg.now()
			e.mu.Lock()
			e.forgetLocked()
			e.backoffLocked(now, err, c.cfg)
			e.mu.Unlock()
			c.cfg.log.Debug("rotor client: secret not found", "secret", e.id)
			return err
		}
		return c.fail(e, fmt.Errorf("client: secret %q: describe: %w", e.id, err))
	}

	stages := make(map[string]string)
	for vid, labels := range out.VersionIdsToStages {
		for _, l := range labels {
			stages[l] = vid
		}
	}
	ref := aws.ToString(out.ARN)
	if ref == "" {
		ref = e.id
	}
	empty := make(map[string]bool)
	var fetched []*version
	for _, st := range want {
		vid, ok := stages[st]
		if !ok || empty[vid] || slices.ContainsFunc(fetched, func(v *version) bool { return v.id == vid }) {
			continue
		}
		e.mu.Lock()
		_, have := e.versions[vid]
		e.mu.Unlock()
		if have {
			continue
		}
		ver, err := c.getVersion(ctx, e.id, ref, vid)
		if errors.Is(err, ErrVersionNotFound) {
			empty[vid] = true
			continue
		}
		if err != nil {
			return c.fail(e, err)
		}
		fetched = append(fetched, ver)
	}

	now := c.cfg.now()
	e.mu.Lock()
	defer e.mu.Unlock()
	e.arn, e.name = aws.ToString(out.ARN), aws.ToString(out.Name)
	e.stages, e.empty = stages, empty
	for _, v := range fetched {
		e.putVersionLocked(v, c.cfg.maxVersions)
	}
	e.described = true
	e.gen++
	e.describedAt = now
	e.expires = now.Add(c.nextTTL())
	e.lastErr, e.failures, e.retryAt = nil, 0, time.Time{}
	return nil
}

// fail records a failed refresh of e and returns err.
func (c *Cache) fail(e *entry, err error) error {
	now := c.cfg.now()
	e.mu.Lock()
	e.backoffLocked(now, err, c.cfg)
	n, retry, stale := e.failures, e.retryAt.Sub(now), e.described
	e.mu.Unlock()
	c.refreshErrors.Add(1)
	c.cfg.log.Warn("rotor client: secret refresh failed",
		"secret", e.id, "consecutive_failures", n, "retry_in", retry, "serving_stale", stale, "err", err)
	return err
}

// nextTTL picks the lifetime of a new description at random in [TTL/2, TTL).
func (c *Cache) nextTTL() time.Duration {
	ttl := c.cfg.ttl
	if ttl <= 1 {
		return max(ttl, 0)
	}
	return ttl/2 + rand.N(ttl-ttl/2)
}

// freshLocked reports whether e's description may be used at now.
func (e *entry) freshLocked(now time.Time, maxAge time.Duration) bool {
	if !e.described {
		return false
	}
	if maxAge >= 0 {
		return now.Sub(e.describedAt) < maxAge
	}
	return now.Before(e.expires)
}

// resolveLocked answers a read of stage from the description and the cached
// versions: ok is false when the answer needs a request.
func (e *entry) resolveLocked(stage string) (v *Value, err error, ok bool) {
	if !e.described {
		return nil, nil, false
	}
	vid, found := e.stages[stage]
	if !found || e.empty[vid] {
		return nil, wrap(ErrStageNotFound, e.id, "stage "+stage, nil), true
	}
	el, cached := e.versions[vid]
	if !cached {
		return nil, nil, false
	}
	e.vlru.MoveToFront(el)
	e.want[stage] = true
	return e.valueLocked(el.Value.(*version)), nil, true
}

// valueLocked returns the caller's copy of ver.
func (e *entry) valueLocked(ver *version) *Value {
	v := &Value{ARN: ver.arn, Name: ver.name, VersionID: ver.id, CreatedDate: ver.created}
	if ver.str != nil {
		s := *ver.str
		v.SecretString = &s
	} else {
		v.SecretBinary = slices.Clone(ver.bin)
	}
	for label, vid := range e.stages {
		if vid == ver.id {
			v.VersionStages = append(v.VersionStages, label)
		}
	}
	slices.Sort(v.VersionStages)
	return v
}

// putVersionLocked caches ver, evicting the least recently used versions
// beyond limit.
func (e *entry) putVersionLocked(ver *version, limit int) {
	if el, ok := e.versions[ver.id]; ok {
		e.vlru.MoveToFront(el)
		return
	}
	e.versions[ver.id] = e.vlru.PushFront(ver)
	for e.vlru.Len() > limit {
		old := e.vlru.Remove(e.vlru.Back()).(*version)
		delete(e.versions, old.id)
	}
}

// forgetLocked drops everything known about a secret that no longer exists.
func (e *entry) forgetLocked() {
	e.described = false
	e.arn, e.name = "", ""
	e.stages, e.empty = nil, nil
	e.versions = make(map[string]*list.Element)
	e.vlru.Init()
}

// backoffLocked records a failed refresh and schedules the next attempt.
func (e *entry) backoffLocked(now time.Time, err error, cfg config) {
	e.failures++
	e.lastErr = err
	d := cfg.backoff
	for i := 1; i < e.failures && d < cfg.maxBackoff; i++ {
		d *= 2
	}
	e.retryAt = now.Add(min(d, cfg.maxBackoff))
}
