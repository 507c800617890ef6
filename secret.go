package rotor

import (
	"context"
	"time"
)

// Well-known staging labels.
const (
	StageCurrent  = "AWSCURRENT"
	StagePrevious = "AWSPREVIOUS"
	StagePending  = "AWSPENDING"
)

// Limits from the AWS model and quotas.
const (
	MaxSecretValueBytes = 65536 // SecretString characters or SecretBinary bytes
	MaxStagesPerSecret  = 20    // distinct staging labels across all versions of a secret
	MaxNameLength       = 512   // Name in requests
	MinRecoveryDays     = 7
	MaxRecoveryDays     = 30
	DefaultRecoveryDays = 30
	// DeprecatedVersionsKept is how many unlabeled versions may exist before
	// the oldest ones are pruned (never younger than the configured minimum age,
	// 24 h by default).
	DeprecatedVersionsKept = 100
)

// Tag is a key/value pair on a secret. Keys are case-sensitive.
type Tag struct {
	Key   string
	Value string
}

// RotationRules is a secret's rotation schedule as AWS models it. The zero
// value means "manual rotation only".
type RotationRules struct {
	AutomaticallyAfterDays int64  // 0 = unset
	Duration               string // e.g. "3h"; "" = default window
	ScheduleExpression     string // rate(...) or cron(...); "" = unset
}

// RotationConfig is what DescribeSecret shows about rotation.
type RotationConfig struct {
	// Configured is false until rotation was ever configured; then Enabled
	// is always reported (true after RotateSecret, false after CancelRotateSecret).
	Configured bool
	Enabled    bool
	LambdaARN  string
	Rules      RotationRules
	// MasterARN is Rotor's own, not shown on the wire: the full ARN of the
	// master secret rotation is bound to ("" for none). RotateSecret binds
	// the secret that the AWSCURRENT value's "masterarn" names when it is
	// called; nothing else changes it. Rotation credentials may read this
	// secret and no other master.
	MasterARN string
	// Identity is Rotor's own, not shown on the wire: the Rotor identity
	// whose access keys the rotation may manage ("" for none). RotateSecret
	// binds the AWSCURRENT value's "identity" when its caller may perform
	// rotor:CreateAccessKey, and unbinds it when a caller who may not
	// finds another identity there; nothing else changes it. The built-in
	// function rotor-access-key acts on this identity only.
	Identity string
}

// Value is a secret value: exactly one of String or Binary is set. A
// non-nil Binary holds raw bytes (base64 is a wire concern).
type Value struct {
	String *string
	Binary []byte
}

// IsZero reports whether neither String nor Binary is set.
func (v Value) IsZero() bool { return v.String == nil && v.Binary == nil }

// Equal reports whether two values are byte-for-byte the same, including
// their kind (a string never equals a binary with the same bytes).
func (v Value) Equal(o Value) bool {
	if (v.String == nil) != (o.String == nil) || (v.Binary == nil) != (o.Binary == nil) {
		return false
	}
	if v.String != nil {
		return *v.String == *o.String
	}
	return string(v.Binary) == string(o.Binary)
}

// SecretRef names a secret in responses that carry only ARN and Name.
type SecretRef struct {
	ARN  string
	Name string
}

// PutResourcePolicyInput is PutResourcePolicy's request.
type PutResourcePolicyInput struct {
	SecretID string
	// ResourcePolicy is the policy document, stored exactly as given.
	ResourcePolicy string
	// BlockPublicPolicy refuses a policy that grants access outside the
	// account (EPUBLICPOLICY). AWS's default is false.
	BlockPublicPolicy bool
}

// ResourcePolicy is GetResourcePolicy's result: the secret and its
// resource policy document as stored, Policy "" when it has none.
type ResourcePolicy struct {
	ARN    string
	Name   string
	Policy string
}

// ValidateResourcePolicyInput is ValidateResourcePolicy's request; SecretID
// is optional.
type ValidateResourcePolicyInput struct {
	SecretID       string
	ResourcePolicy string
}

// PolicyValidation is ValidateResourcePolicy's result: Passed is false when
// any finding is an error (the policy would be refused with
// BlockPublicPolicy, or does not do what it seems to); Errors lists every
// finding, warnings included.
type PolicyValidation struct {
	Passed bool
	Errors []PolicyValidationError
}

// PolicyValidationError is one finding of ValidateResourcePolicy: Check
// names the check (CheckName), Message describes the problem.
type PolicyValidationError struct {
	Check   string
	Message string
}

// SecretValue is the result of reading one version (GetSecretValue and the
// entries of BatchGetSecretValue).
type SecretValue struct {
	ARN         string
	Name        string
	VersionID   string
	Value       Value
	Stages      []string // sorted
	CreatedDate time.Time
}

// SecretDescription is DescribeSecret's result and one ListSecrets entry.
// Zero times and empty strings mean "omit".
type SecretDescription struct {
	ARN              string
	Name             string
	Type             string
	Description      string
	KmsKeyID         string // "" when the default key is used
	Rotation         RotationConfig
	LastRotatedDate  time.Time
	LastChangedDate  time.Time
	LastAccessedDate time.Time // truncated to the UTC day
	DeletedDate      time.Time
	NextRotationDate time.Time
	CreatedDate      time.Time
	OwningService    string
	PrimaryRegion    string
	// Tags is nil when the secret was never tagged and empty (non-nil) when
	// it was tagged and every tag was removed, as AWS reports it.
	Tags []Tag
	// VersionStages maps each labelled version id to its sorted labels.
	VersionStages map[string][]string
}

// VersionEntry is one row of ListSecretVersionIds.
type VersionEntry struct {
	VersionID        string
	Stages           []string // empty for a deprecated version
	LastAccessedDate time.Time
	CreatedDate      time.Time
	KmsKeyIDs        []string
}

// Filter is one ListSecrets / BatchGetSecretValue filter. Key is one of the
// FilterKey* constants; a value starting with '!' negates it.
type Filter struct {
	Key    string
	Values []string
}

// Filter keys.
const (
	FilterName          = "name"
	FilterDescription   = "description"
	FilterTagKey        = "tag-key"
	FilterTagValue      = "tag-value"
	FilterPrimaryRegion = "primary-region"
	FilterOwningService = "owning-service"
	FilterAll           = "all"
)

// ListSecrets sort keys and orders.
const (
	SortByCreatedDate      = "created-date"
	SortByLastAccessedDate = "last-accessed-date"
	SortByLastChangedDate  = "last-changed-date"
	SortByName             = "name"
	SortAsc                = "asc"
	SortDesc               = "desc"
)

// Values of ListSecretsInput.Rotation and SecretQuery.Rotation: only the
// secrets whose automatic rotation is enabled, or only those whose is not.
const (
	RotationOn  = "on"
	RotationOff = "off"
)

// CreateSecretInput is CreateSecret's request. Value may be zero (a secret
// without a version).
type CreateSecretInput struct {
	Name               string
	ClientRequestToken string
	Description        string
	KmsKeyID           string
	Value              Value
	Tags               []Tag
	Type               string
}

// VersionResult is the result of an operation that may create a version:
// VersionID is "" when none was created.
type VersionResult struct {
	ARN       string
	Name      string
	VersionID string
	Stages    []string // PutSecretValue only
}

// GetSecretValueInput selects one version by id, by label, or both.
// Neither set means AWSCURRENT.
type GetSecretValueInput struct {
	SecretID     string
	VersionID    string
	VersionStage string
}

// BatchGetSecretValueInput names secrets either by id list or by filters.
type BatchGetSecretValueInput struct {
	SecretIDs  []string
	Filters    []Filter
	MaxResults int // 0 = default
	NextToken  string
}

// BatchError is a per-secret failure inside BatchGetSecretValue.
type BatchError struct {
	SecretID string
	Code     string // a rotor error code
	Message  string
}

// BatchGetSecretValueOutput carries the values found and per-secret errors.
type BatchGetSecretValueOutput struct {
	Values    []SecretValue
	Errors    []BatchError
	NextToken string
}

// PutSecretValueInput creates a new version (or fills a rotation placeholder).
// Stages nil means ["AWSCURRENT"].
type PutSecretValueInput struct {
	SecretID           string
	ClientRequestToken string
	Value              Value
	Stages             []string
	RotationToken      string
}

// UpdateSecretInput changes metadata and/or adds a version that becomes
// AWSCURRENT. Nil pointers mean "leave unchanged"; a non-nil empty KmsKeyID
// switches back to the default key.
type UpdateSecretInput struct {
	SecretID           string
	ClientRequestToken string
	Description        *string
	KmsKeyID           *string
	Value              Value
	Type               *string
}

// UpdateSecretVersionStageInput moves or removes one label.
type UpdateSecretVersionStageInput struct {
	SecretID            string
	VersionStage        string
	MoveToVersionID     string
	RemoveFromVersionID string
}

// ListSecretsInput is ListSecrets' request.
type ListSecretsInput struct {
	IncludePlannedDeletion bool
	MaxResults             int // 0 = default (100)
	NextToken              string
	Filters                []Filter
	SortBy                 string // "" = created-date
	SortOrder              string // "" = asc
	// Rotation is Rotor's own filter, not part of the AWS API (the web
	// console uses it): RotationOn or RotationOff keeps only the secrets
	// whose rotation is enabled or not; "" keeps all.
	Rotation string
}

// ListSecretsOutput is one page of ListSecrets.
type ListSecretsOutput struct {
	Secrets   []SecretDescription
	NextToken string
}

// ListSecretVersionIdsInput is ListSecretVersionIds' request.
type ListSecretVersionIdsInput struct {
	SecretID          string
	MaxResults        int
	NextToken         string
	IncludeDeprecated bool
}

// ListSecretVersionIdsOutput is one page of versions, newest first.
type ListSecretVersionIdsOutput struct {
	ARN       string
	Name      string
	Versions  []VersionEntry
	NextToken string
}

// DeleteSecretInput schedules deletion or deletes at once. RecoveryWindowDays
// 0 means "not given" (default 30).
type DeleteSecretInput struct {
	SecretID           string
	RecoveryWindowDays int64
	ForceDelete        bool
}

// DeleteSecretOutput says when the secret will be (or was) deleted.
type DeleteSecretOutput struct {
	ARN          string
	Name         string
	DeletionDate time.Time
}

// PasswordSpec is GetRandomPassword's request, with the pointers of the
// wire already resolved to AWS's defaults (see DefaultPasswordSpec).
type PasswordSpec struct {
	Length                  int64
	ExcludeCharacters       string
	ExcludeNumbers          bool
	ExcludePunctuation      bool
	ExcludeUppercase        bool
	ExcludeLowercase        bool
	IncludeSpace            bool
	RequireEachIncludedType bool
}

// DefaultPasswordSpec returns AWS's defaults: 32 characters from all four
// classes, at least one of each, no space.
func DefaultPasswordSpec() PasswordSpec {
	return PasswordSpec{Length: 32, RequireEachIncludedType: true}
}

// SecretService is the AWS Secrets Manager API in domain terms. Every method
// acts in the region of the Caller found in ctx (see NewContext) and asks the
// Authorizer before it reads or changes a secret.
//
// Errors are *Error values: ENOTFOUND for an unknown secret, version or
// label; ESTATE for a secret scheduled for deletion (except where AWS allows
// it) and other wrong-state requests; EINVALID or EVALIDATION for bad input;
// EEXISTS for name and token conflicts; ELIMIT for quotas; EDENIED when the
// caller may not act; EINTERNAL for faults. A method that returns an error has
// changed nothing stored.
type SecretService interface {
	CreateSecret(ctx context.Context, in CreateSecretInput) (*VersionResult, error)
	GetSecretValue(ctx context.Context, in GetSecretValueInput) (*SecretValue, error)
	BatchGetSecretValue(ctx context.Context, in BatchGetSecretValueInput) (*BatchGetSecretValueOutput, error)
	PutSecretValue(ctx context.Context, in PutSecretValueInput) (*VersionResult, error)
	UpdateSecret(ctx context.Context, in UpdateSecretInput) (*VersionResult, error)
	UpdateSecretVersionStage(ctx context.Context, in UpdateSecretVersionStageInput) (*SecretRef, error)
	DescribeSecret(ctx context.Context, secretID string) (*SecretDescription, error)
	ListSecrets(ctx context.Context, in ListSecretsInput) (*ListSecretsOutput, error)
	ListSecretVersionIds(ctx context.Context, in ListSecretVersionIdsInput) (*ListSecretVersionIdsOutput, error)
	DeleteSecret(ctx context.Context, in DeleteSecretInput) (*DeleteSecretOutput, error)
	RestoreSecret(ctx context.Context, secretID string) (*SecretRef, error)
	TagResource(ctx context.Context, secretID string, tags []Tag) error
	UntagResource(ctx context.Context, secretID string, keys []string) error
	GetRandomPassword(ctx context.Context, spec PasswordSpec) (string, error)
	PutResourcePolicy(ctx context.Context, in PutResourcePolicyInput) (*SecretRef, error)
	GetResourcePolicy(ctx context.Context, secretID string) (*ResourcePolicy, error)
	DeleteResourcePolicy(ctx context.Context, secretID string) (*SecretRef, error)
	ValidateResourcePolicy(ctx context.Context, in ValidateResourcePolicyInput) (*PolicyValidation, error)
}
