package rotor

import (
	"context"
	"time"
)

// Sealed is an encrypted value as stored: the ciphertext under a fresh data
// key, and that data key wrapped by the key-encryption key KeyID. The store
// never sees plaintext. Package envelope produces and opens it.
type Sealed struct {
	KeyID      string // id of the key-encryption key that wraps WrappedKey
	WrappedKey []byte
	Ciphertext []byte
}

// SecretRecord is a secret's stored metadata.
type SecretRecord struct {
	ARN         string
	Region      string
	Name        string
	Description string
	KmsKeyID    string // as the client gave it; "" = default key
	Type        string
	Tags        []Tag // in the order they were added
	TagsEverSet bool  // DescribeSecret shows Tags: [] once a secret was ever tagged
	Rotation    RotationConfig
	// ResourcePolicy is the secret's resource-based policy document exactly
	// as the client sent it (PutResourcePolicy), never re-encoded; "" when
	// the secret has none.
	ResourcePolicy string

	CreatedDate      time.Time
	LastChangedDate  time.Time
	LastAccessedDate time.Time // day granularity
	LastRotatedDate  time.Time
	NextRotationDate time.Time
	DeletedDate      time.Time // zero unless scheduled for deletion: when it was deleted
	PurgeDate        time.Time // zero unless scheduled for deletion: when it will be purged

	OwningService string
	PrimaryRegion string
}

// VersionRecord is one stored version of a secret.
type VersionRecord struct {
	ID string
	// Value is nil for a rotation placeholder that has not been filled yet.
	Value            *Sealed
	Binary           bool   // Value holds SecretBinary rather than SecretString
	KmsKeyID         string // the secret's KmsKeyID when the version was created
	Stages           []string
	CreatedDate      time.Time
	LastAccessedDate time.Time // day granularity
}

// AccessKeyRecord is a stored access key; its secret is sealed like a value.
type AccessKeyRecord struct {
	AccessKeyID string
	Identity    string
	Status      string
	Secret      Sealed
	CreatedDate time.Time
}

// IdentityRecord is a stored identity.
type IdentityRecord struct {
	Name string
	// Role attaches a built-in identity policy (RoleNone: none).
	Role Role
	// Policy is the identity's own inline identity policy document, as the
	// client wrote it ("" for none).
	Policy      string
	CreatedDate time.Time
}

// StageEvent is one entry of a secret's label history (Tx.StageHistory):
// at Time, label Stage moved onto version VersionID, or, when VersionID is
// "", was removed from whichever version carried it. The history is only
// ever appended to; a store keeps each event exactly as given.
type StageEvent struct {
	Stage     string
	VersionID string // "" = the label was removed
	Time      time.Time
}

// SealedRef points at one stored Sealed value, for re-wrapping data keys
// under a new key-encryption key.
type SealedRef struct {
	Kind string // SealedVersion or SealedAccessKey
	// For SealedVersion: the secret ARN and version id; for SealedAccessKey:
	// the access key id in ID.
	SecretARN string
	ID        string
	Sealed    Sealed
}

// SealedRef kinds.
const (
	SealedVersion   = "version"
	SealedAccessKey = "access_key"
)

// SecretQuery selects one page of secrets of a region for Tx.ListSecrets.
// The store evaluates it exactly as described here; the manager turns the
// AWS ListSecrets filters into it (and evaluates the word filters,
// description and all, itself).
type SecretQuery struct {
	Region string
	// IncludeDeleted includes secrets scheduled for deletion (a non-zero
	// DeletedDate); otherwise they are left out.
	IncludeDeleted bool
	// Filters must all match (AND); see PrefixFilter.
	Filters []PrefixFilter
	// Contains must all hold too (AND); see ContainsFilter.
	Contains []ContainsFilter
	// Rotation, when not "", keeps only the secrets whose
	// Rotation.Enabled is true (RotationOn) or false (RotationOff); any
	// other value is EINVALID. With SortByName, a page is one range scan
	// of an index however few secrets match.
	Rotation string
	// SortBy is one of the SortBy* constants. Secrets are ordered by that
	// key, then by ARN (byte-wise), ascending, or both descending when
	// Desc. A zero time sorts before every time after 1970 (every time the
	// service records); names and ARNs compare byte-wise.
	SortBy string
	Desc   bool
	// After, when not nil, is an exclusive keyset cursor: only secrets
	// strictly after that position in the order are returned. The position
	// need not be that of a secret that still exists.
	After *SecretCursor
	// Limit is the largest number of secrets returned (at least 1).
	Limit int
}

// SecretCursor is a position in a SecretQuery order: the sort key (Time for
// the date keys, Name for SortByName; the other is ignored) and the ARN.
type SecretCursor struct {
	Time time.Time
	Name string
	ARN  string
}

// PrefixFilter is one filter of a SecretQuery: it matches a secret when at
// least one of Values does (OR). Key is one of FilterName, FilterTagKey,
// FilterTagValue, FilterPrimaryRegion or FilterOwningService; the word
// filters (FilterDescription, FilterAll) are not store filters.
type PrefixFilter struct {
	Key    string
	Values []PrefixValue
}

// ContainsFilter narrows a listing for a filter the store does not
// evaluate (the manager's word filters) with a condition the matching
// secrets meet. It holds when, for at least one element of AnyOf, each of
// that element's strings occurs in some value of one of Fields (not
// necessarily the same value for each string), ASCII letters compared
// case-insensitively and every other byte exactly. Fields are among
// FilterName, FilterDescription, FilterTagKey (every tag key) and
// FilterTagValue (every tag value). An empty AnyOf, or an element without
// strings, holds for every secret.
type ContainsFilter struct {
	Fields []string
	AnyOf  [][]string
}

// PrefixValue matches a secret when some attribute value of the filter's
// key starts with Prefix (a case-sensitive, byte-wise prefix; "" is a
// prefix of every value), or, when Negate, when none does. The attribute
// values are: the name; every tag key; every tag value; the primary region,
// or the secret's own region when PrimaryRegion is ""; the owning service
// when not "" (none otherwise). So a negated tag-key value matches an
// untagged secret, and a negated owning-service value a secret without one.
type PrefixValue struct {
	Prefix string
	Negate bool
}

// Store persists what the manager has already validated and encrypted. It
// holds no business rules. All access happens inside a transaction.
type Store interface {
	// Update runs fn in a write transaction. The transaction commits, with a
	// durable sync, only if fn returns nil; otherwise nothing fn did is kept.
	// Write transactions are serialised. Update returns only once fn's work
	// is durable; a backend may make several concurrent Updates durable with
	// one sync (group commit), but each fn's work is kept or rolled back on
	// its own, and fn is called at most once.
	Update(ctx context.Context, fn func(Tx) error) error
	// View runs fn in a read-only transaction that sees one consistent snapshot.
	View(ctx context.Context, fn func(Tx) error) error
	// Backup writes a consistent snapshot to path (which must not exist)
	// while the store stays in use.
	Backup(ctx context.Context, path string) error
	Close() error
}

// SecretReader is an optional interface of a Store: one secret with its
// versions, read from one consistent snapshot at the cost of one indexed
// query instead of a transaction of several. The manager reads through it,
// when its Store implements it, the secrets its cache misses, and falls
// back to View otherwise; storetest checks it on the stores that implement
// it.
type SecretReader interface {
	// ReadSecret returns what one View would return from
	// Tx.SecretByName(region, name) and from Tx.Versions of that secret:
	// the record with its tags, and every version with its sorted labels,
	// oldest first (nil for none). ENOTFOUND if there is no such secret;
	// EINTERNAL otherwise. The results are the caller's to keep.
	ReadSecret(ctx context.Context, region, name string) (*SecretRecord, []*VersionRecord, error)
	// ReadSecretARN is ReadSecret for Tx.Secret(arn): the secret with
	// this exact ARN.
	ReadSecretARN(ctx context.Context, arn string) (*SecretRecord, []*VersionRecord, error)
}

// SecretScanner is an optional interface of a Store: every secret with
// its versions, in batches, for filling a cache when a server starts
// (manager.Service.PreloadCache). Stores without it are not pre-read.
type SecretScanner interface {
	// ScanSecrets returns up to limit secrets whose ARN sorts after
	// after (byte order; "" = from the first), in ARN order, each as
	// SecretReader.ReadSecretARN would return it, all read from one
	// snapshot. Fewer than limit means no secret follows. EINVALID for
	// limit < 1; EINTERNAL otherwise. The results are the caller's.
	ScanSecrets(ctx context.Context, after string, limit int) ([]ScannedSecret, error)
}

// ScannedSecret is one secret returned by SecretScanner.ScanSecrets.
type ScannedSecret struct {
	Record   *SecretRecord
	Versions []*VersionRecord
}

// Tx is one transaction. Methods return *Error values: ENOTFOUND when the
// named row does not exist, EEXISTS on a uniqueness conflict, ESTATE when a
// row is not in the state the call requires, EINTERNAL otherwise. Slices
// returned are the caller's to keep.
type Tx interface {
	// Secret returns the secret with this exact ARN.
	Secret(arn string) (*SecretRecord, error)
	// SecretByName returns the secret (live or scheduled for deletion) with
	// this exact name in region.
	SecretByName(region, name string) (*SecretRecord, error)
	// Secrets returns every secret in region, oldest first.
	Secrets(region string) ([]*SecretRecord, error)
	// Regions returns every region that holds at least one secret (live or
	// scheduled for deletion) with how many it holds; an empty, non-nil map
	// for a store without secrets.
	Regions() (map[string]int, error)
	// ListSecrets returns, with their tags, up to q.Limit secrets of
	// q.Region matching q, in q's order, starting after q.After; see
	// SecretQuery for the exact rules. EINVALID for a query it cannot run
	// (an unknown sort or filter key, a Limit below 1).
	ListSecrets(q SecretQuery) ([]*SecretRecord, error)
	// PurgeDue returns the ARNs of secrets whose PurgeDate is not after t.
	PurgeDue(t time.Time) ([]string, error)
	// CreateSecret inserts s; EEXISTS if its ARN, or its name in its region, is taken.
	CreateSecret(s *SecretRecord) error
	// UpdateSecret replaces the metadata (tags included) of the secret s.ARN.
	UpdateSecret(s *SecretRecord) error
	// DeleteSecret removes the secret with every version, label and tag.
	DeleteSecret(arn string) error

	// Versions returns every version of the secret with its labels, oldest first.
	Versions(arn string) ([]*VersionRecord, error)
	// VersionsOf returns the versions of each secret in arns, as Versions
	// would return them; a secret that does not exist or has no version is
	// absent from the map.
	VersionsOf(arns []string) (map[string][]*VersionRecord, error)
	// Version returns one version with its labels.
	Version(arn, id string) (*VersionRecord, error)
	// CreateVersion inserts v (its Stages are ignored; see SetStage);
	// EEXISTS if the id is taken for this secret.
	CreateVersion(arn string, v *VersionRecord) error
	// FillVersion stores the value of a placeholder version exactly once;
	// ESTATE if the version already has a value.
	FillVersion(arn, id string, value Sealed, binary bool) error
	// DeleteVersions removes versions (and their labels).
	DeleteVersions(arn string, ids []string) error
	// SetStage attaches label stage to version id, detaching it from any
	// other version of the secret: a label is on at most one version, and
	// the store enforces that with its own constraint.
	SetStage(arn, stage, id string) error
	// RemoveStage detaches label stage from whatever version carries it.
	RemoveStage(arn, stage string) error
	// SetLastAccessed records the day a version (and its secret) was
	// read: each date becomes day unless it is already later (servers
	// sharing a store write their notes in any order), so it never goes
	// back; ENOTFOUND if the version does not exist.
	SetLastAccessed(arn, id string, day time.Time) error
	// AddStageEvents appends events, in order, to the secret's label
	// history (see StageEvent); ENOTFOUND if the secret does not exist. It
	// does not move any label: the manager calls it in the transaction that
	// moves them (SetStage, RemoveStage), with the times it recorded.
	AddStageEvents(arn string, evs []StageEvent) error
	// StageHistory returns the newest limit events of the secret's label
	// history (limit < 1: all), oldest first, in the order they were added
	// (events with equal times keep that order); ENOTFOUND if the secret
	// does not exist. DeleteSecret removes the history with the secret;
	// DeleteVersions keeps the events that name the deleted versions.
	StageHistory(arn string, limit int) ([]StageEvent, error)

	CreateIdentity(i *IdentityRecord) error
	Identity(name string) (*IdentityRecord, error)
	Identities() ([]*IdentityRecord, error)
	// DeleteIdentity removes the identity and its access keys.
	DeleteIdentity(name string) error
	// SetIdentityPolicy replaces the inline policy document of identity name
	// ("" removes it); ENOTFOUND if there is no such identity.
	SetIdentityPolicy(name, doc string) error
	CreateAccessKey(k *AccessKeyRecord) error
	AccessKey(id string) (*AccessKeyRecord, error)
	// AccessKeys returns the keys of one identity, or of all identities when identity is "".
	AccessKeys(identity string) ([]*AccessKeyRecord, error)
	SetAccessKeyStatus(id, status string) error
	DeleteAccessKey(id string) error

	// SealedByKey returns up to limit stored values whose data key is
	// wrapped by key-encryption key keyID.
	SealedByKey(keyID string, limit int) ([]SealedRef, error)
	// CountSealedByKey counts stored values wrapped by keyID.
	CountSealedByKey(keyID string) (int, error)
	// ReplaceSealed rewrites one stored value (after re-wrapping its data key).
	ReplaceSealed(ref SealedRef, s Sealed) error
	// KeyIDsInUse returns the distinct ids of the key-encryption keys that
	// wrap any stored value (versions and access keys), sorted.
	KeyIDsInUse() ([]string, error)

	// CreateRun inserts a run. EEXISTS if the secret already has an active
	// (pending or running) run: the store allows one active run per secret,
	// by its own constraint.
	CreateRun(r *RunRecord) error
	// Run returns one run.
	Run(id string) (*RunRecord, error)
	// ActiveRun returns the secret's pending or running run; ENOTFOUND if none.
	ActiveRun(secretARN string) (*RunRecord, error)
	// UpdateRun replaces every field of run r.ID.
	UpdateRun(r *RunRecord) error
	// DueRuns returns up to limit pending runs whose NextAttempt is not
	// after t, earliest first.
	DueRuns(t time.Time, limit int) ([]*RunRecord, error)
	// ExpiredRuns returns up to limit running runs whose LeaseUntil is not
	// after t (a zero LeaseUntil has always lapsed), earliest LeaseUntil
	// first: runs whose holder stopped renewing its claim, which another
	// server may claim. limit <= 0 means no limit.
	ExpiredRuns(t time.Time, limit int) ([]*RunRecord, error)
	// RunsWithStatus returns every run in one state (RunRunning at start-up).
	RunsWithStatus(status string) ([]*RunRecord, error)
	// Runs returns runs newest first: of one secret when secretARN is not
	// "", else of one region; of one status when status is not ""; at most
	// limit.
	Runs(region, secretARN, status string, limit int) ([]*RunRecord, error)
	// LatestFailedRuns returns the failed runs of region that are the
	// latest run of their secret (no run of the secret has a later
	// Created, or the same Created and a greater ID), newest Created
	// first, ties greater ID first; only those strictly after the
	// position after in that order when it is not nil; at most limit,
	// which must be at least 1 (else EINVALID). A backend reads a page
	// from an index of the region's failed runs, and each run's later
	// runs through the index of its secret's runs: the cost does not grow
	// with the number of other runs or secrets.
	LatestFailedRuns(region string, after *RunCursor, limit int) ([]*RunRecord, error)
	// AddStep appends a step record to its run's history.
	AddStep(s *StepRecord) error
	// Steps returns a run's step records, oldest first.
	Steps(runID string) ([]*StepRecord, error)
	// RunSummary counts the stored runs by state and finds the oldest
	// unresolved failure (see RunSummary), in every region. It is meant to
	// be called on each metrics scrape: a backend answers it from indexes,
	// without reading the runs' rows.
	RunSummary() (*RunSummary, error)
	// DueRotations returns the ARNs of secrets (any region) with rotation
	// enabled, not scheduled for deletion, whose NextRotationDate is set and
	// not after t, and that have no active run.
	DueRotations(t time.Time) ([]string, error)

	// AcquireLease takes or renews the named lease for owner until until,
	// and reports whether owner holds it now: true when no one held it,
	// when owner already held it (until then replaces the old expiry, even
	// if earlier), or when its holder's expiry is not after now (it
	// lapsed); false, changing nothing, while another owner holds it past
	// now. Servers sharing a store use it so that one of them does a
	// cluster-wide chore at a time (the rotation scheduler's scan).
	// EINVALID for an empty name or owner.
	AcquireLease(name, owner string, now, until time.Time) (bool, error)
}
