package rotor

import (
	"context"
	"time"
)

// Rotation steps, in the order they run. The strings are the exact values
// of the event's Step field that AWS sends and rotation functions compare.
const (
	StepCreate = "createSecret"
	StepSet    = "setSecret"
	StepTest   = "testSecret"
	StepFinish = "finishSecret"
)

// Steps lists the four steps of a rotation in order.
var Steps = []string{StepCreate, StepSet, StepTest, StepFinish}

// RotationScope is the whole scope of the temporary credentials a rotation
// function gets for rotating the secret secretARN, whose rotation is bound
// to the master secret masterARN ("" when it has none): on the secret
// itself, exactly what the four steps need (DescribeSecret, GetSecretValue,
// PutSecretValue, UpdateSecretVersionStage); on the master, only
// GetSecretValue and DescribeSecret; GetRandomPassword; nothing else, on
// nothing else.
//
// masterARN must be the master bound when rotation was configured, never
// one read from a value the function can write.
func RotationScope(secretARN, masterARN string) []Grant {
	scope := []Grant{{
		Actions: []string{"secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue",
			"secretsmanager:PutSecretValue", "secretsmanager:UpdateSecretVersionStage"},
		Resources: []string{secretARN},
	}}
	if masterARN != "" {
		scope = append(scope, Grant{
			Actions:   []string{"secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"},
			Resources: []string{masterARN},
		})
	}
	return append(scope, Grant{Actions: []string{"secretsmanager:GetRandomPassword"}, Resources: []string{""}})
}

// Run kinds.
const (
	// RunRotate runs the four steps on the AWSPENDING placeholder.
	RunRotate = "rotate"
	// RunTestOnly runs only testSecret against a temporary AWSPENDING copy
	// of the current value (RotateSecret with RotateImmediately=false).
	RunTestOnly = "test"
)

// Run states. A run is active while pending or running; every other state
// is final.
const (
	RunPending   = "pending"   // waiting for its next attempt
	RunRunning   = "running"   // a worker is executing it (a crash leaves it here; it resumes on start)
	RunSucceeded = "succeeded" // finishSecret done, AWSPENDING removed
	RunFailed    = "failed"    // attempts exhausted; labels left as AWS leaves them (a test-only run removes its temporary version)
	RunCancelled = "cancelled" // CancelRotateSecret
	RunAbandoned = "abandoned" // a manual new AWSCURRENT, or `rotor rotation abandon`
)

// RunRecord is one durable rotation run of a secret.
type RunRecord struct {
	ID          string
	SecretARN   string
	Region      string
	Token       string // the version id (ClientRequestToken) being rotated to
	Kind        string // RunRotate or RunTestOnly
	FunctionARN string
	Status      string
	Step        string // the step to run next (or running now)
	Attempt     int    // 1-based number of the current attempt
	MaxAttempts int
	NextAttempt time.Time // when a pending run may start its next attempt
	LastError   string    // scrubbed
	Created     time.Time
	Updated     time.Time
	Finished    time.Time // zero while active
	// Owner names the server process that claimed a running run ("" when
	// none does), and LeaseUntil is when that claim lapses unless renewed.
	// A running run whose lease has lapsed may be claimed by another server
	// (its holder was killed or cut off); a holder must not record a step
	// of a run it no longer owns. Both are kept as written by the store.
	Owner      string
	LeaseUntil time.Time
}

// RunCursor is a position in the order of Tx.LatestFailedRuns: a run's
// Created and ID.
type RunCursor struct {
	Created time.Time
	ID      string
}

// Active reports whether the run still has work to do.
func (r *RunRecord) Active() bool { return r.Status == RunPending || r.Status == RunRunning }

// RunSummary is what Tx.RunSummary reports about the stored rotation runs,
// for monitoring.
type RunSummary struct {
	// ByStatus is how many stored runs are in each state; a state without
	// runs is absent. Never nil.
	ByStatus map[string]int
	// OldestFailure is the Finished time of the oldest unresolved failed
	// run: a run in RunFailed such that no run of the same secret created
	// after it ended in RunSucceeded, RunCancelled or RunAbandoned. Zero
	// when there is none.
	OldestFailure time.Time
}

// StepRecord is the history of one invocation of one step.
type StepRecord struct {
	RunID    string
	Step     string
	Attempt  int
	Started  time.Time
	Duration time.Duration
	Outcome  string // "ok" or "error"
	Error    string // scrubbed
	Output   string // scrubbed and truncated output of the function
}

// RotateSecretInput is RotateSecret's request. Nil RotationRules and an
// empty RotationLambdaARN mean "keep the stored configuration"; a nil
// RotateImmediately means true, as on AWS.
type RotateSecretInput struct {
	SecretID           string
	ClientRequestToken string
	RotationLambdaARN  string
	RotationRules      *RotationRules
	RotateImmediately  *bool
}

// Rotator is the rotation part of the AWS API (RotateSecret and
// CancelRotateSecret), kept apart from SecretService so the wire layer can
// be served with or without a rotation engine.
type Rotator interface {
	// RotateSecret stores the configuration, enables rotation, creates the
	// empty AWSPENDING placeholder version keyed by the token and queues a
	// durable run, returning at once. EDENIED when the function does not
	// exist in the secret's region (nothing is saved); ESTATE when no
	// function is configured, or a previous rotation is not complete (that
	// run is re-driven).
	RotateSecret(ctx context.Context, in RotateSecretInput) (*VersionResult, error)
	// CancelRotateSecret disables rotation and stops an active run, leaving
	// the labels as AWS does; VersionID is the run's version.
	CancelRotateSecret(ctx context.Context, secretID string) (*VersionResult, error)
}

// RunFilter selects runs for RotationService.ListRotationRuns.
type RunFilter struct {
	SecretID string // "" = every secret of the caller's region
	Status   string // "" = any
	Limit    int    // 0 = 100
}

// RunHistory is one run with its step records, oldest step first.
type RunHistory struct {
	Run   RunRecord
	Steps []StepRecord
}

// RotationService is Rotor's own API for rotation runs (X-Amz-Target
// "rotor.<Op>"), authorized as "rotor:<Op>": of the built-in role
// documents only RoleAdmin's allows it.
type RotationService interface {
	// ListRotationRuns lists runs, newest first.
	ListRotationRuns(ctx context.Context, f RunFilter) ([]RunRecord, error)
	// RotationHistory returns the runs of one secret with their steps, newest first.
	RotationHistory(ctx context.Context, secretID string, limit int) ([]RunHistory, error)
	// AbandonRotation is the explicit clean-up after a failed or cancelled
	// rotation: it stops any active run and removes a stray AWSPENDING label
	// from a version that is not AWSCURRENT, so the next RotateSecret can start.
	AbandonRotation(ctx context.Context, secretID string) (*VersionResult, error)
}
