package manager

import (
	"context"
	"crypto/rand"
	"errors"
	"log/slog"
	mrand "math/rand/v2"
	"strings"
	"sync"
	"time"

	"github.com/rotorhq/rotor"
	"github.com/rotorhq/rotor/envelope"
	"github.com/rotorhq/rotor/rotation"
	"github.com/rotorhq/rotor/rotation/lambda"
)

// Keyring is what the manager needs of envelope.Keyring: seal a value under
// the active key-encryption key, and open a sealed value. aad binds the
// value to its secret ARN and version id (envelope.VersionAAD). Neither
// method may modify or retain aad: the Service shares it between calls.
type Keyring interface {
	Seal(plaintext, aad []byte) (rotor.Sealed, error)
	Open(s rotor.Sealed, aad []byte) ([]byte, error)
}

// Config holds the Service's dependencies and settings.
type Config struct {
	Store      rotor.Store      // required
	Keyring    Keyring          // required
	Authorizer rotor.Authorizer // required
	// Account is the 12-digit account id used in ARNs.
	Account string
	// Now returns the current time; nil means time.Now. Every time the
	// service records is converted to UTC.
	Now func() time.Time
	// PruneMinAge is the age below which an unlabeled version is never
	// pruned; 0 means 24 hours.
	PruneMinAge time.Duration
	// AccessFlushInterval bounds how long a first read of the day waits
	// before its LastAccessedDate is written (batched with others); 0 means
	// DefaultAccessFlushInterval. A crash loses at most that interval's
	// access dates.
	AccessFlushInterval time.Duration
	// Logger receives operational messages (never values); nil discards them.
	Logger *slog.Logger

	// Functions resolves a rotation function's Lambda ARN as seen from a
	// region (a *rotation.Registry). Nil means rotation is unavailable:
	// RotateSecret and StartScheduledRotation answer ESTATE.
	Functions FunctionLookup
	// MaxAttempts is how many attempts a rotation run gets before it fails;
	// 0 means 5.
	MaxAttempts int
	// OnRunQueued, when set, is called after a commit that made a run due
	// (wire it to rotation.Engine.Wake).
	OnRunQueued func()
	// OnRunStopped, when set, is called with the run's id after a commit
	// that cancelled or abandoned an active run (wire it to
	// rotation.Engine.Cancel).
	OnRunStopped func(runID string)
	// OfferRun, when set, is asked for room in a running engine before a
	// transaction that may create a run (RotateSecret, a scheduled start):
	// with a Handoff the run is created already claimed by that engine
	// and handed to it after the commit (Handoff.Take), so it starts
	// without a claim of its own; nil means no room, and the run is
	// created pending. Engine.Offer implements it.
	OfferRun func() *rotation.Handoff
	// CacheMaxBytes bounds the read cache of sealed records by their
	// estimated memory; 0 means DefaultCacheMaxBytes(), negative disables
	// the cache.
	CacheMaxBytes int64
	// CacheMaxAge, when positive, bounds how long a cached secret is served
	// after it was read from the store. Set it when other servers write to
	// the same store: their writes reach this cache only through
	// InvalidateSecret calls (a change feed), and this bounds how stale a
	// read can be when such a call is lost. 0 means no bound.
	CacheMaxAge time.Duration
	// Rand picks the start time inside a rotation window; nil means a
	// generator seeded from crypto/rand. The Service serialises its use.
	Rand *mrand.Rand
}

// FunctionLookup resolves a rotation function's Lambda ARN in a region; it
// is what the Service needs of *rotation.Registry. Its errors are returned
// to clients unchanged (EDENIED, AccessDeniedException, for a function that
// does not exist in the region).
type FunctionLookup interface {
	Lookup(region, arn string) (lambda.Function, error)
}

// Service implements rotor.SecretService over a rotor.Store. It is safe for
// concurrent use. See the package documentation for its transactions, cache
// and authorization.
type Service struct {
	store       rotor.Store
	keyring     Keyring
	authz       rotor.Authorizer
	account     string
	nowFn       func() time.Time
	pruneMinAge time.Duration
	log         *slog.Logger
	cache       *cache

	functions    FunctionLookup
	maxAttempts  int
	onRunQueued  func()
	offerFn      func() *rotation.Handoff
	onRunStopped func(runID string)
	randMu       sync.Mutex
	rand         *mrand.Rand

	// accessed remembers, per secret ARN and version id, the last UTC day
	// LastAccessedDate was written, so a version is written at most once a
	// day by this process.
	accessMu sync.Mutex
	accessed map[string]time.Time
	// accessPending holds the access dates noted but not yet written, and
	// accessTimer the write that bounds their wait (see access.go).
	accessPending map[string]accessNote
	accessTimer   *time.Timer
	accessFlush   time.Duration
	// accessFlushQueued is set while a flush started for a full batch
	// has not yet taken it.
	accessFlushQueued bool
	// flushMu runs FlushAccessDates one at a time.
	flushMu sync.Mutex
}

var (
	_ rotor.SecretService   = (*Service)(nil)
	_ rotor.Rotator         = (*Service)(nil)
	_ rotor.RotationService = (*Service)(nil)
	_ rotation.Controller   = (*Service)(nil)
	_ rotation.Starter      = (*Service)(nil)
	_ FunctionLookup        = (*rotation.Registry)(nil)
)

// defaultMaxAttempts is the number of attempts of a run when
// Config.MaxAttempts is 0.
const defaultMaxAttempts = 5

// accessedMax bounds the accessed map; it is reset when full (at worst one
// extra write per version).
const accessedMax = 100000

// defaultPruneMinAge is AWS's minimum age of a version it removes.
const defaultPruneMinAge = 24 * time.Hour

// New returns a Service. Store, Keyring and Authorizer are required: without
// them every method returns EINTERNAL.
func New(cfg Config) *Service {
	s := &Service{
		store:       cfg.Store,
		keyring:     cfg.Keyring,
		authz:       cfg.Authorizer,
		account:     cfg.Account,
		nowFn:       cfg.Now,
		pruneMinAge: cfg.PruneMinAge,
		log:         cfg.Logger,
		cache:       newCache(cfg.CacheMaxBytes),
		accessed:    map[string]time.Time{},
		accessFlush: cfg.AccessFlushInterval,

		functions:    cfg.Functions,
		maxAttempts:  cfg.MaxAttempts,
		onRunQueued:  cfg.OnRunQueued,
		offerFn:      cfg.OfferRun,
		onRunStopped: cfg.OnRunStopped,
		rand:         cfg.Rand,
	}
	if s.maxAttempts <= 0 {
		s.maxAttempts = defaultMaxAttempts
	}
	switch {
	case cfg.CacheMaxBytes == 0:
		s.cache.maxBytes = DefaultCacheMaxBytes()
	case cfg.CacheMaxBytes < 0:
		s.cache.maxBytes = 0
	}
	if cfg.CacheMaxAge > 0 {
		s.cache.maxAge = int64(cfg.CacheMaxAge)
	}
	if s.rand == nil {
		var seed [32]byte
		_, _ = rand.Read(seed[:]) // crypto/rand.Read never fails
		s.rand = mrand.New(mrand.NewChaCha8(seed))
	}
	if s.nowFn == nil {
		s.nowFn = time.Now
	}
	if s.pruneMinAge <= 0 {
		s.pruneMinAge = defaultPruneMinAge
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	return s
}

// InvalidateCache drops every cached record. Call it after anything changed
// the store behind the service's back (key re-wrapping, a restore, changes
// another server made that a change feed may have lost).
func (s *Service) InvalidateCache() { s.cache.clear() }

// InvalidateSecret drops what the cache holds of the secret arn, and keeps
// reads already in flight from caching what they loaded of it. Call it when
// another server sharing the store changed that secret (rotor.ChangeFeed);
// this service's own writes invalidate without it.
func (s *Service) InvalidateSecret(arn string) { s.cache.invalidateARN(arn) }

// CacheStats is a snapshot of the secret cache's counters.
type CacheStats struct {
	Hits, Misses uint64 // lookups answered from the cache, and not, since start
	Entries      int    // secrets cached now
	Bytes        int64  // their estimated size (what cache.max_bytes bounds)
}

// CacheStats returns the cache's counters; cheap enough to call per scrape.
func (s *Service) CacheStats() CacheStats {
	return CacheStats{Hits: s.cache.hits.Load(), Misses: s.cache.misses.Load(), Entries: s.cache.size(), Bytes: s.cache.usage()}
}

func (s *Service) now() time.Time { return s.nowFn().UTC() }

// day truncates t to midnight UTC.
func day(t time.Time) time.Time {
	t = t.UTC()
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
}

// begin returns the caller of an operation; EINTERNAL when the context
// carries none or the service lacks a dependency.
func (s *Service) begin(ctx context.Context) (rotor.Caller, error) {
	if s.store == nil || s.keyring == nil || s.authz == nil {
		return rotor.Caller{}, internal("manager", errStoreMissing)
	}
	c, ok := rotor.CallerFrom(ctx)
	if !ok || c.Region == "" {
		return rotor.Caller{}, internal("manager", errors.New("no caller with a region in the context"))
	}
	return c, nil
}

// beginSecret is begin for an operation on the secret id: after begin's
// errors, EVALIDATION if id is not a valid SecretId.
func (s *Service) beginSecret(ctx context.Context, id string) (rotor.Caller, error) {
	c, err := s.begin(ctx)
	if err != nil {
		return rotor.Caller{}, err
	}
	if err := validateSecretID(id); err != nil {
		return rotor.Caller{}, err
	}
	return c, nil
}

// authorize asks the Authorizer about r, whose Action is fully named
// (actionGetSecretValue, actionListRotationRuns); its error is returned
// unchanged.
func (s *Service) authorize(ctx context.Context, c rotor.Caller, r rotor.AccessRequest) error {
	return s.authz.Authorize(ctx, c, r)
}

// authorizeSecret authorizes action on the existing secret rec, which the
// caller named id: its resource policy and tags take part.
func (s *Service) authorizeSecret(ctx context.Context, c rotor.Caller, action string, rec *rotor.SecretRecord, id string) error {
	return s.authz.Authorize(ctx, c, rotor.AccessRequest{Action: action, Resource: rec.ARN, Secret: rec, SecretID: id})
}

// authorizeNone authorizes an action that names no secret.
func (s *Service) authorizeNone(ctx context.Context, c rotor.Caller, action string) error {
	return s.authz.Authorize(ctx, c, rotor.AccessRequest{Action: action})
}

// requestedARN is the ARN a request names: the id itself when it is an ARN,
// otherwise the partial ARN of the name (no random suffix).
func (s *Service) requestedARN(region, id string) string {
	if _, ok := rotor.ParseARN(id); ok {
		return id
	}
	return rotor.ARN{Partition: "aws", Service: "secretsmanager", Region: region, Account: s.account,
		Resource: "secret:" + id}.String()
}

// notFound answers a request for a secret that does not exist: the denial
// if the caller may not perform action on the requested ARN, ENOTFOUND
// otherwise. action is fully named, as for authorize.
func (s *Service) notFound(ctx context.Context, c rotor.Caller, action, id string) error {
	return s.notFoundWith(ctx, c, rotor.AccessRequest{Action: action}, id)
}

// notFoundWith is notFound for the request r (Action set, and any request
// condition keys): no secret, so no resource policy and no resource tags,
// and the resource is the ARN the caller named.
func (s *Service) notFoundWith(ctx context.Context, c rotor.Caller, r rotor.AccessRequest, id string) error {
	r.Resource, r.Secret, r.SecretID = s.requestedARN(c.Region, id), nil, id
	if err := s.authorize(ctx, c, r); err != nil {
		return err
	}
	return errNotFound()
}

// suffixAlphabet is what the random ARN suffix is drawn from.
const suffixAlphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

// newSuffix returns rotor.ARNSuffixLength random letters and digits from
// crypto/rand, without modulo bias.
func newSuffix() string {
	out := make([]byte, 0, rotor.ARNSuffixLength)
	var b [16]byte
	for len(out) < rotor.ARNSuffixLength {
		_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
		for _, x := range b {
			if x < 248 && len(out) < rotor.ARNSuffixLength { // 248 = 4*62
				out = append(out, suffixAlphabet[int(x)%len(suffixAlphabet)])
			}
		}
	}
	return string(out)
}

// resolve finds the secret id names in region inside tx (aws-api.md §2.1):
// exact ARN, then exact name, then partial ARN (an ARN without the random
// suffix). Returns ENOTFOUND (errNotFound) or EINTERNAL.
func (s *Service) resolve(tx rotor.Tx, region, id string) (*rotor.SecretRecord, error) {
	a, isARN := rotor.ParseARN(id)
	if !isARN {
		// Names cannot contain ':', so an id that is not an ARN is a name.
		rec, err := tx.SecretByName(region, id)
		if isCode(err, rotor.ENOTFOUND) {
			return nil, errNotFound()
		} else if err != nil {
			return nil, internal("secret by name", err)
		}
		return rec, nil
	}
	rec, err := tx.Secret(id)
	switch {
	case err == nil && rec.Region == region:
		return rec, nil
	case err == nil:
		return nil, errNotFound()
	case !isCode(err, rotor.ENOTFOUND):
		return nil, internal("secret by arn", err)
	}
	if a.Partition != "aws" || a.Service != "secretsmanager" || a.Region != region || a.Account != s.account {
		return nil, errNotFound()
	}
	name, ok := rotor.SecretNameFromARN(a, false)
	if !ok {
		return nil, errNotFound()
	}
	rec, err = tx.SecretByName(region, name)
	if isCode(err, rotor.ENOTFOUND) {
		return nil, errNotFound()
	} else if err != nil {
		return nil, internal("secret by partial arn", err)
	}
	return rec, nil
}

// lookup returns the secret id names in region with its versions, from the
// cache or else from one store snapshot (which then fills the cache).
// Returns ENOTFOUND or EINTERNAL.
//
// A miss reads through the store's rotor.SecretReader when it has one and
// id is a name or a full ARN (one query), through View otherwise (and for
// a partial ARN, which only resolve handles).
func (s *Service) lookup(ctx context.Context, region, id string) (*packed, error) {
	if e := s.cache.get(region, id); e != nil {
		return e, nil
	}
	expires := s.cache.expiry() // before the snapshot: its age counts from here
	gen := s.cache.begin()
	defer s.cache.end()
	if rec, vs, ok, err := s.readSecret(ctx, region, id); err != nil {
		return nil, err
	} else if ok {
		e := newPacked(rec, vs)
		e.expires = expires
		s.cache.install(gen, e)
		return e, nil
	}
	var (
		e       *packed
		findErr error
	)
	err := s.store.View(ctx, func(tx rotor.Tx) error {
		rec, err := s.resolve(tx, region, id)
		if err != nil {
			findErr = err
			return err
		}
		vs, err := tx.Versions(rec.ARN)
		if err != nil {
			findErr = internal("versions", err)
			return findErr
		}
		e = newPacked(rec, vs)
		e.expires = expires
		return nil
	})
	if findErr != nil {
		return nil, findErr
	} else if err != nil {
		return nil, internal("view", err)
	}
	s.cache.install(gen, e)
	return e, nil
}

// readSecret reads the secret id names in region through the store's
// rotor.SecretReader (one query, no transaction): ok with the secret and
// its versions; ENOTFOUND or EINTERNAL. ok is false, with no error, when
// the store has no SecretReader or id may be a partial ARN, which only
// resolve (in a View) handles.
func (s *Service) readSecret(ctx context.Context, region, id string) (*rotor.SecretRecord, []*rotor.VersionRecord, bool, error) {
	r, ok := s.store.(rotor.SecretReader)
	if !ok {
		return nil, nil, false, nil
	}
	var (
		rec *rotor.SecretRecord
		vs  []*rotor.VersionRecord
		err error
	)
	arn := isARN(id)
	if arn {
		rec, vs, err = r.ReadSecretARN(ctx, id)
	} else {
		rec, vs, err = r.ReadSecret(ctx, region, id)
	}
	switch {
	case err == nil && rec.Region != region:
		return nil, nil, false, errNotFound()
	case err == nil:
		return rec, vs, true, nil
	case !isCode(err, rotor.ENOTFOUND):
		return nil, nil, false, internal("read secret", err)
	case !arn:
		return nil, nil, false, errNotFound()
	}
	return nil, nil, false, nil // not a full ARN: perhaps a partial one
}

// locate returns the record of the secret id names in region, from the
// cache or else from the store (through its rotor.SecretReader when it has
// one, as lookup does: one query instead of a View's transaction), without
// caching it (writers only need its ARN to authorize). Returns ENOTFOUND
// or EINTERNAL.
func (s *Service) locate(ctx context.Context, region, id string) (*rotor.SecretRecord, error) {
	if e := s.cache.get(region, id); e != nil {
		return e.record(), nil
	}
	if rec, _, ok, err := s.readSecret(ctx, region, id); err != nil {
		return nil, err
	} else if ok {
		return rec, nil
	}
	var (
		rec     *rotor.SecretRecord
		findErr error
	)
	err := s.store.View(ctx, func(tx rotor.Tx) error {
		rec, findErr = s.resolve(tx, region, id)
		return findErr
	})
	if findErr != nil {
		return nil, findErr
	} else if err != nil {
		return nil, internal("view", err)
	}
	return rec, nil
}

// errStoreMissing is the cause of EINTERNAL for a Service built without
// its dependencies.
var errStoreMissing = errors.New("store, keyring and authorizer are required")

// errRetry makes mutate start over: the id resolved to another secret
// inside the transaction than the one the caller was authorized for.
var errRetry = errors.New("secret changed between authorization and transaction")

// mutateAttempts bounds how often mutate starts over.
const mutateAttempts = 4

// mutate resolves id in the caller's region, authorizes action on the
// secret's ARN (outside any transaction), then runs fn in one write
// transaction on the secret as the transaction sees it. If id resolves to a
// different secret inside the transaction (deleted and re-created in
// between), it starts over. The secret's cache entries are invalidated after
// the transaction, whatever its outcome. fn's error is returned unchanged;
// store faults become EINTERNAL. Unknown secrets get notFound. action is
// fully named, as for authorize.
func (s *Service) mutate(ctx context.Context, c rotor.Caller, action, id string,
	fn func(tx rotor.Tx, rec *rotor.SecretRecord) error) error {
	return s.mutateWith(ctx, c, rotor.AccessRequest{Action: action}, id, fn)
}

// mutateWith is mutate for the request r: its Action and request condition
// keys (tags, version stage, rotation function) are given, the resource,
// secret and SecretId filled in.
func (s *Service) mutateWith(ctx context.Context, c rotor.Caller, r rotor.AccessRequest, id string,
	fn func(tx rotor.Tx, rec *rotor.SecretRecord) error) error {
	return s.mutateWithOpts(ctx, c, r, id, writeOpts{}, fn)
}

// writeOpts are the optional parts of a mutation (mutateWithOpts).
type writeOpts struct {
	// prepare, if not nil, is called with the secret found, once the
	// caller is authorized on it and before the write transaction begins:
	// work that depends on the secret only through what the transaction
	// checks again (its ARN) is done there rather than by the single
	// writer. It may run once per attempt.
	prepare func(found *rotor.SecretRecord)
	// versions says fn reads the secret's versions (Tx.Versions) first:
	// a Tx that can read them with the secret is asked to
	// (versionsPrefetcher).
	versions bool
}

// versionsPrefetcher is an optional interface of a rotor.Tx (the SQLite
// store's): PrefetchVersions makes the next secret lookup read the
// secret's versions too, for the Tx.Versions of that secret that follows.
type versionsPrefetcher interface{ PrefetchVersions() }

// mutateWithOpts is mutateWith with opts.
func (s *Service) mutateWithOpts(ctx context.Context, c rotor.Caller, r rotor.AccessRequest, id string,
	opts writeOpts, fn func(tx rotor.Tx, rec *rotor.SecretRecord) error) error {
	action := r.Action
	for range mutateAttempts {
		found, err := s.locate(ctx, c.Region, id)
		if isCode(err, rotor.ENOTFOUND) {
			return s.notFoundWith(ctx, c, r, id)
		} else if err != nil {
			return err
		}
		arn := found.ARN
		r.Resource, r.Secret, r.SecretID = arn, found, id
		if err := s.authorize(ctx, c, r); err != nil {
			return err
		}
		if opts.prepare != nil {
			opts.prepare(found)
		}
		var fnErr error
		err = s.store.Update(ctx, func(tx rotor.Tx) error {
			if p, ok := tx.(versionsPrefetcher); ok && opts.versions {
				p.PrefetchVersions()
			}
			rec, err := s.resolve(tx, c.Region, id)
			if err != nil {
				fnErr = err
				return err
			}
			if rec.ARN != arn {
				fnErr = errRetry
				return errRetry
			}
			if err := runStillActive(tx, c); err != nil {
				fnErr = err
				return err
			}
			if err := fn(tx, rec); err != nil {
				fnErr = err
				return err
			}
			return nil
		})
		s.cache.invalidate(arn, found.Region, found.Name)
		switch {
		case fnErr == errRetry:
			continue
		case fnErr != nil:
			return fnErr
		case err != nil:
			return internal("update", err)
		}
		return nil
	}
	return internal(action, errRetry)
}

// rotationIdentityPrefix starts the identity of a rotation run's
// credentials: "rotation/<run id>" (package rotation issues them).
const rotationIdentityPrefix = "rotation/"

// runStillActive refuses, inside the write's own transaction, a write made
// with a rotation run's credentials once that run is no longer active
// (succeeded, failed, cancelled or abandoned, possibly by another server):
// a function still between its steps when a PutSecretValue abandoned its
// run must not put AWSPENDING back. Other callers pass. Errors: ESTATE
// naming the run's state; EINTERNAL.
func runStillActive(tx rotor.Tx, c rotor.Caller) error {
	id, ok := strings.CutPrefix(c.Principal.Identity, rotationIdentityPrefix)
	if !ok || c.Principal.Role != rotor.RoleScoped {
		return nil
	}
	run, err := tx.Run(id)
	if isCode(err, rotor.ENOTFOUND) {
		return rotor.Errorf(rotor.ESTATE, "The rotation run %s no longer exists.", id)
	} else if err != nil {
		return internal("run", err)
	}
	if !run.Active() {
		return errRunNotActive(run)
	}
	return nil
}

// storeChanged stores rec as changed at now: its LastChangedDate is set to
// now. Store faults become EINTERNAL.
func storeChanged(tx rotor.Tx, rec *rotor.SecretRecord, now time.Time) error {
	rec.LastChangedDate = now
	if err := tx.UpdateSecret(rec); err != nil {
		return internal("update secret", err)
	}
	return nil
}

// seal encrypts v for version id of secret arn.
func (s *Service) seal(arn, id string, v rotor.Value) (rotor.Sealed, error) {
	pt := v.Binary
	if v.String != nil {
		pt = []byte(*v.String)
	}
	sealed, err := s.keyring.Seal(pt, envelope.VersionAAD(arn, id))
	if err != nil {
		return rotor.Sealed{}, &rotor.Error{Code: rotor.EENCRYPT, Message: msgEncrypt, Err: err}
	}
	return sealed, nil
}

// open decrypts version v of secret arn; v must have a value.
func (s *Service) open(arn string, v *rotor.VersionRecord) (rotor.Value, error) {
	pt, err := s.decrypt(v, envelope.VersionAAD(arn, v.ID))
	if err != nil {
		return rotor.Value{}, err
	}
	if v.Binary {
		return rotor.Value{Binary: binaryValue(pt)}, nil
	}
	str := string(pt)
	return rotor.Value{String: &str}, nil
}

// decrypt returns the plaintext of version v, which must have a value, given
// its associated data (envelope.VersionAAD of its secret ARN and id); aad is
// not modified. Returns EDECRYPT.
func (s *Service) decrypt(v *rotor.VersionRecord, aad []byte) ([]byte, error) {
	return s.decryptSealed(*v.Value, aad)
}

// decryptSealed is decrypt for a sealed value.
func (s *Service) decryptSealed(sealed rotor.Sealed, aad []byte) ([]byte, error) {
	pt, err := s.keyring.Open(sealed, aad)
	if err != nil {
		return nil, &rotor.Error{Code: rotor.EDECRYPT, Message: msgDecrypt, Err: err}
	}
	return pt, nil
}

// binaryValue is the Binary of a binary version whose plaintext is pt:
// never nil, so the value stays binary.
func binaryValue(pt []byte) []byte {
	if pt == nil {
		return []byte{}
	}
	return pt
}

// sameValue reports whether version v holds exactly value want (kind
// included), decrypting it. A placeholder holds no value.
func (s *Service) sameValue(arn string, v *rotor.VersionRecord, want rotor.Value) (bool, error) {
	if v.Value == nil {
		return false, nil
	}
	got, err := s.open(arn, v)
	if err != nil {
		return false, err
	}
	return got.Equal(want), nil
}
