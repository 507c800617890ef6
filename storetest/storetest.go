// Package storetest is the conformance suite for rotor.Store. Every backend
// (sqlite now, postgres later) runs it from its own tests:
//
//	func TestStore(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) rotor.Store { ... })
//	}
//
// The suite tests the contract in rotor.Store and rotor.Tx, not any one
// backend: error codes, round-trips of every field, ordering, cascades, the
// write-once rule for stored values, the one-version-per-label rule,
// rollback, snapshot isolation, context cancellation and serialised writes
// under concurrency. It also pins down the points the interface comments
// leave open, which every backend must agree on:
//
//   - times round-trip exactly (to the nanosecond) and come back in UTC;
//     the zero time round-trips as the zero time;
//   - Versions and Version return a secret's labels sorted; CreateVersion
//     ignores VersionRecord.Stages;
//   - Versions, and DeleteVersions, return ENOTFOUND for an unknown secret;
//     DeleteVersions with an unknown id deletes nothing and returns ENOTFOUND;
//   - RemoveStage of a label that is on no version is not an error; SetStage
//     and RemoveStage return ENOTFOUND for an unknown secret (and SetStage
//     for an unknown version);
//   - UpdateSecret, DeleteSecret, DeleteIdentity, SetAccessKeyStatus and
//     DeleteAccessKey return ENOTFOUND for an unknown row;
//   - AccessKeys returns ENOTFOUND for an unknown identity;
//   - ReplaceSealed returns ESTATE when the new ciphertext differs from the
//     stored one or the version is a placeholder, ENOTFOUND for an unknown row;
//   - CreateRun returns ENOTFOUND for an unknown secret and EEXISTS for a
//     taken id or a second active run of a secret; a run in a final state
//     may be inserted beside an active one; UpdateRun returns ENOTFOUND for
//     an unknown run and EEXISTS when it would make a second run active;
//   - DueRuns orders by NextAttempt, then Created, and treats a zero
//     NextAttempt as due; ExpiredRuns returns running runs only, by
//     LeaseUntil, then Created, a zero LeaseUntil having lapsed;
//   - AcquireLease lets an owner renew (or shorten) its own lease, refuses
//     another owner until the expiry is not after now, returns EINVALID for
//     an empty name or owner, and of owners racing for a free lease exactly
//     one gets it; RunsWithStatus returns oldest Created first;
//     Runs returns newest Created first and ignores region when secretARN
//     is given; limit <= 0 means no limit; no match is an empty result,
//     not an error;
//   - Steps returns steps in the order AddStep added them, and ENOTFOUND
//     (as does AddStep) for an unknown run;
//   - DeleteSecret deletes the secret's runs and their steps;
//   - RunSummary returns an empty, non-nil ByStatus for a store without
//     runs; a failed run is resolved only by a run of its secret created
//     after it (not before) that succeeded, was cancelled or abandoned;
//   - KeyIDsInUse returns an empty (non-nil) slice for an empty store and
//     ignores placeholders;
//   - ListSecrets orders by the sort key, then the ARN, byte-wise, with a
//     zero time before every other; its cursor is exclusive and need not
//     name an existing secret; it returns an empty slice, not nil, when
//     nothing matches, and EINVALID for an unknown sort or filter key, a
//     filter without values, or a Limit below 1; VersionsOf leaves out
//     unknown secrets and secrets without versions;
//   - a write inside View fails and changes nothing;
//   - concurrent Updates are isolated even when a backend groups them into
//     one commit: each returns only after its own work is visible, and one
//     that fails (its own error, a constraint violation, a panic) rolls back
//     only its own work;
//   - Regions counts secrets scheduled for deletion and returns an empty,
//     non-nil map for a store without secrets;
//   - Backup refuses an existing path with EINVALID; a backend run with
//     BackupRefused (a database server's, backed up with the server's own
//     tools) refuses every path with EINVALID and writes nothing;
//   - a Store that implements the optional rotor.SecretReader returns
//     exactly what one View of SecretByName (or Secret) and Versions
//     would, from one snapshot; the SecretReader tests skip other stores;
//   - a Store that implements the optional rotor.SecretScanner returns
//     every secret once, in ARN byte order, in batches, each as a View
//     would; the test skips other stores.
//
// Every expected error is checked in a transaction of its own whose fn
// returns it, because some databases (PostgreSQL) cannot continue a
// transaction after a failed statement.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rotorhq/rotor"
)

// Option changes what Run expects of a backend.
type Option func(*options)

type options struct {
	backupRefused bool
}

// BackupRefused is for a backend whose Backup never writes a file (a
// database server's, backed up with the server's own tools): Run then
// checks that Backup refuses every path with EINVALID, leaves an existing
// file alone and creates none, instead of checking that it writes a
// snapshot.
func BackupRefused() Option { return func(o *options) { o.backupRefused = true } }

// Run runs the conformance suite; open must return a new, empty store for
// each subtest and arrange its cleanup (Close) with t.Cleanup.
func Run(t *testing.T, open func(t *testing.T) rotor.Store, opts ...Option) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	backup := testStoreBackup
	if o.backupRefused {
		backup = testStoreBackupRefused
	}
	tests := []struct {
		name string
		fn   func(t *testing.T, s rotor.Store)
	}{
		{"Secret/CreateAndFind", testSecretCreateAndFind},
		{"Secret/ErrExists", testSecretErrExists},
		{"Secret/ListByRegion", testSecretListByRegion},
		{"Secret/Regions", testSecretRegions},
		{"Secret/UpdateRoundTrip", testSecretUpdateRoundTrip},
		{"Secret/UpdateErrors", testSecretUpdateErrors},
		{"Secret/DeleteCascades", testSecretDeleteCascades},
		{"Secret/PurgeDue", testSecretPurgeDue},
		{"Secret/ResourcePolicyByteExact", testSecretResourcePolicyByteExact},
		{"Version/RoundTrip", testVersionRoundTrip},
		{"Version/CreateErrors", testVersionCreateErrors},
		{"Version/FillOnce", testVersionFillOnce},
		{"Version/SetLastAccessed", testVersionSetLastAccessed},
		{"Version/DeleteVersions", testVersionDeleteVersions},
		{"Stage/SetMoves", testStageSetMoves},
		{"Stage/Remove", testStageRemove},
		{"Stage/History", testStageHistory},
		{"Identity/CRUD", testIdentityCRUD},
		{"Identity/Policy", testIdentityPolicy},
		{"AccessKey/CRUD", testAccessKeyCRUD},
		{"AccessKey/DeleteIdentityCascades", testAccessKeyDeleteIdentityCascades},
		{"Sealed/ByKey", testSealedByKey},
		{"Sealed/KeyIDsInUse", testKeyIDsInUse},
		{"Sealed/Replace", testSealedReplace},
		{"Sealed/ReplaceRefused", testSealedReplaceRefused},
		{"Tx/RollbackOnError", testTxRollbackOnError},
		{"Tx/RollbackOnPanic", testTxRollbackOnPanic},
		{"Tx/ViewIsolation", testTxViewIsolation},
		{"Tx/ViewSnapshot", testTxViewSnapshot},
		{"Tx/ViewReadOnly", testTxViewReadOnly},
		{"Tx/ContextCanceled", testTxContextCanceled},
		{"Tx/ReturnedSlicesOwned", testTxReturnedSlicesOwned},
		{"Tx/Concurrency", testTxConcurrency},
		{"Tx/ConcurrentUpdatesIsolated", testTxConcurrentUpdatesIsolated},
		{"Tx/UpdateAfterFailedBatchMate", testTxUpdateAfterFailedBatchMate},
		{"Store/Backup", backup},
		{"Run/RoundTrip", testRunRoundTrip},
		{"Run/OneActivePerSecret", testRunOneActivePerSecret},
		{"Run/DueRuns", testRunDueRuns},
		{"Run/RunsWithStatus", testRunRunsWithStatus},
		{"Run/Runs", testRunRuns},
		{"Run/LatestFailedRuns", testLatestFailedRuns},
		{"Run/Steps", testRunSteps},
		{"Run/DeleteSecretCascades", testRunDeleteSecretCascades},
		{"Run/DueRotations", testRunDueRotations},
		{"Run/ConcurrentCreate", testRunConcurrentCreate},
		{"Run/Summary", testRunSummary},
		{"Run/ExpiredRuns", testRunExpiredRuns},
		{"Lease/Acquire", testLeaseAcquire},
		{"Lease/Concurrent", testLeaseConcurrent},
		{"SecretReader/SameAsView", testReaderSameAsView},
		{"SecretReader/Snapshot", testReaderSnapshot},
		{"SecretScanner/Walk", testScannerWalk},
	}
	runTests(t, open, append(tests, listTests...))
}

// listTests are the tests of Tx.ListSecrets.
var listTests = []struct {
	name string
	fn   func(t *testing.T, s rotor.Store)
}{
	{"ListSecrets/Order", testListSecretsOrder},
	{"ListSecrets/CreatedTies", testListSecretsCreatedTies},
	{"ListSecrets/Rotation", testListSecretsRotation},
	{"ListSecrets/Filters", testListSecretsFilters},
	{"ListSecrets/Contains", testListSecretsContains},
	{"ListSecrets/TagsUpdated", testListSecretsTagsUpdated},
	{"ListSecrets/CursorStable", testListSecretsCursorStable},
	{"ListSecrets/Errors", testListSecretsErrors},
	{"ListSecrets/VersionsOf", testVersionsOf},
}

// RunLists runs only the Tx.ListSecrets tests of the suite, for a backend
// that has several ways to run a listing (query plans) to test each.
func RunLists(t *testing.T, open func(t *testing.T) rotor.Store) {
	runTests(t, open, listTests)
}

func runTests(t *testing.T, open func(t *testing.T) rotor.Store, tests []struct {
	name string
	fn   func(t *testing.T, s rotor.Store)
}) {
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := open(t)
			if s == nil {
				t.Fatal("open returned a nil Store")
			}
			tc.fn(t, s)
		})
	}
}

// Fixtures.

const (
	account = "123456789012"
	region1 = "us-east-1"
	region2 = "eu-west-1"
)

// base is the suite's reference time: nanosecond precision and deliberately
// not UTC, so the tests see that times round-trip exactly and return in UTC.
var base = time.Date(2025, 3, 4, 5, 6, 7, 891011121, time.FixedZone("UTC+1", 3600))

// at returns base plus n seconds.
func at(n int) time.Time { return base.Add(time.Duration(n) * time.Second) }

// secret returns a minimal secret record in region named name.
func secret(region, name string, created time.Time) *rotor.SecretRecord {
	suffix := fmt.Sprintf("%06x", len(name)*7919+len(region))
	suffix = suffix[len(suffix)-6:]
	return &rotor.SecretRecord{
		ARN:         rotor.SecretARN(region, account, name, suffix),
		Region:      region,
		Name:        name,
		CreatedDate: created,
	}
}

// fullSecret returns a secret record with every field set to a non-zero value
// derived from tag.
func fullSecret(region, name, tag string, n int) *rotor.SecretRecord {
	s := secret(region, name, at(n))
	s.Description = "description " + tag
	s.KmsKeyID = "alias/" + tag
	s.Type = "type-" + tag
	s.Tags = []rotor.Tag{{Key: "zeta-" + tag, Value: "1"}, {Key: "alpha-" + tag, Value: ""}, {Key: "Mid-" + tag, Value: "3"}}
	s.TagsEverSet = true
	s.Rotation = rotor.RotationConfig{
		Configured: true,
		Enabled:    true,
		LambdaARN:  rotor.LambdaARN(region, account, "rotate-"+tag),
		MasterARN:  rotor.SecretARN(region, account, "master-"+tag, "MaStEr"),
		Identity:   "identity-" + tag,
		Rules: rotor.RotationRules{
			AutomaticallyAfterDays: int64(n + 1),
			Duration:               "3h",
			ScheduleExpression:     "rate(" + fmt.Sprint(n+2) + " days)",
		},
	}
	s.LastChangedDate = at(n + 1)
	s.LastAccessedDate = at(n + 2)
	s.LastRotatedDate = at(n + 3)
	s.NextRotationDate = at(n + 4)
	s.DeletedDate = at(n + 5)
	s.PurgeDate = at(n + 6)
	s.OwningService = "service-" + tag
	s.PrimaryRegion = region
	s.ResourcePolicy = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` +
		account + `:user/` + tag + `"},"Action":"secretsmanager:GetSecretValue","Resource":"*"}]}`
	return s
}

// sealed returns a distinct sealed value under key-encryption key kek.
func sealed(kek, tag string) *rotor.Sealed {
	return &rotor.Sealed{KeyID: kek, WrappedKey: []byte("wrapped\x00" + tag), Ciphertext: []byte("ciphertext\xff" + tag)}
}

// Transaction helpers.

// update runs fn in an Update that must succeed.
func update(t *testing.T, s rotor.Store, fn func(tx rotor.Tx) error) {
	t.Helper()
	if err := s.Update(context.Background(), fn); err != nil {
		t.Fatalf("Update: %v", err)
	}
}

// view runs fn in a View that must succeed.
func view(t *testing.T, s rotor.Store, fn func(tx rotor.Tx) error) {
	t.Helper()
	if err := s.View(context.Background(), fn); err != nil {
		t.Fatalf("View: %v", err)
	}
}

// wantCode fails t unless err is a *rotor.Error with code.
func wantCode(t *testing.T, what string, err error, code string) {
	t.Helper()
	var re *rotor.Error
	if err == nil {
		t.Errorf("%s: err = nil, want code %s", what, code)
	} else if !errors.As(err, &re) {
		t.Errorf("%s: err = %v (%T), want a *rotor.Error with code %s", what, err, err, code)
	} else if re.Code != code {
		t.Errorf("%s: code = %s (%v), want %s", what, re.Code, err, code)
	}
}

// updateCode runs fn in its own Update and checks that it fails with code.
func updateCode(t *testing.T, s rotor.Store, what, code string, fn func(tx rotor.Tx) error) {
	t.Helper()
	wantCode(t, what, s.Update(context.Background(), fn), code)
}

// viewCode runs fn in its own View and checks that it fails with code.
func viewCode(t *testing.T, s rotor.Store, what, code string, fn func(tx rotor.Tx) error) {
	t.Helper()
	wantCode(t, what, s.View(context.Background(), fn), code)
}

// createSecrets creates the secrets in one Update.
func createSecrets(t *testing.T, s rotor.Store, secrets ...*rotor.SecretRecord) {
	t.Helper()
	update(t, s, func(tx rotor.Tx) error {
		for _, sec := range secrets {
			if err := tx.CreateSecret(sec); err != nil {
				return fmt.Errorf("CreateSecret(%s): %w", sec.Name, err)
			}
		}
		return nil
	})
}

// getSecret reads the secret arn, which must exist.
func getSecret(t *testing.T, s rotor.Store, arn string) *rotor.SecretRecord {
	t.Helper()
	var got *rotor.SecretRecord
	view(t, s, func(tx rotor.Tx) (err error) {
		got, err = tx.Secret(arn)
		return err
	})
	return got
}

// getVersions reads the versions of arn, which must exist.
func getVersions(t *testing.T, s rotor.Store, arn string) []*rotor.VersionRecord {
	t.Helper()
	var got []*rotor.VersionRecord
	view(t, s, func(tx rotor.Tx) (err error) {
		got, err = tx.Versions(arn)
		return err
	})
	return got
}

// Comparison. Records are normalised before comparing so that equal values
// with different representations (nil and empty slices, time locations and
// monotonic readings) compare equal.

func normTime(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return time.Unix(0, t.UnixNano()).UTC()
}

func normBytes(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

func normSecret(s *rotor.SecretRecord) rotor.SecretRecord {
	c := *s
	if len(c.Tags) == 0 {
		c.Tags = nil
	}
	for _, p := range []*time.Time{&c.CreatedDate, &c.LastChangedDate, &c.LastAccessedDate, &c.LastRotatedDate,
		&c.NextRotationDate, &c.DeletedDate, &c.PurgeDate} {
		*p = normTime(*p)
	}
	return c
}

func normSealed(s rotor.Sealed) rotor.Sealed {
	return rotor.Sealed{KeyID: s.KeyID, WrappedKey: normBytes(s.WrappedKey), Ciphertext: normBytes(s.Ciphertext)}
}

func normVersion(v *rotor.VersionRecord) rotor.VersionRecord {
	c := *v
	if c.Value != nil {
		n := normSealed(*c.Value)
		c.Value = &n
	}
	if len(c.Stages) == 0 {
		c.Stages = nil
	}
	c.CreatedDate, c.LastAccessedDate = normTime(c.CreatedDate), normTime(c.LastAccessedDate)
	return c
}

func normAccessKey(k *rotor.AccessKeyRecord) rotor.AccessKeyRecord {
	c := *k
	c.Secret = normSealed(c.Secret)
	c.CreatedDate = normTime(c.CreatedDate)
	return c
}

func normIdentity(i *rotor.IdentityRecord) rotor.IdentityRecord {
	c := *i
	c.CreatedDate = normTime(c.CreatedDate)
	return c
}

func sameSecret(t *testing.T, what string, got, want *rotor.SecretRecord) {
	t.Helper()
	if got == nil {
		t.Errorf("%s = nil, want %+v", what, *want)
		return
	}
	if g, w := normSecret(got), normSecret(want); !reflect.DeepEqual(g, w) {
		t.Errorf("%s =\n\t%+v\nwant\n\t%+v", what, g, w)
	}
	checkUTC(t, what, got.CreatedDate, got.LastChangedDate, got.LastAccessedDate, got.LastRotatedDate,
		got.NextRotationDate, got.DeletedDate, got.PurgeDate)
}

func sameVersion(t *testing.T, what string, got, want *rotor.VersionRecord) {
	t.Helper()
	if got == nil {
		t.Errorf("%s = nil, want %s", what, fmtVersion(normVersion(want)))
		return
	}
	if g, w := normVersion(got), normVersion(want); !reflect.DeepEqual(g, w) {
		t.Errorf("%s =\n\t%s\nwant\n\t%s", what, fmtVersion(g), fmtVersion(w))
	}
	checkUTC(t, what, got.CreatedDate, got.LastAccessedDate)
}

func fmtVersion(v rotor.VersionRecord) string {
	val := "<nil>"
	if v.Value != nil {
		val = fmt.Sprintf("%+v", *v.Value)
	}
	return fmt.Sprintf("{ID:%s Value:%s Binary:%v KmsKeyID:%q Stages:%q CreatedDate:%v LastAccessedDate:%v}",
		v.ID, val, v.Binary, v.KmsKeyID, v.Stages, v.CreatedDate, v.LastAccessedDate)
}

// checkUTC fails t if a non-zero time is not in UTC.
func checkUTC(t *testing.T, what string, times ...time.Time) {
	t.Helper()
	for _, tm := range times {
		if !tm.IsZero() && tm.Location() != time.UTC {
			t.Errorf("%s: time %v is in %v, want UTC", what, tm, tm.Location())
		}
	}
}

// versionIDs returns the ids of vs in order.
func versionIDs(vs []*rotor.VersionRecord) []string {
	ids := make([]string, len(vs))
	for i, v := range vs {
		ids[i] = v.ID
	}
	return ids
}

// stageMap returns label -> version ids carrying it, from vs.
func stageMap(vs []*rotor.VersionRecord) map[string][]string {
	m := map[string][]string{}
	for _, v := range vs {
		for _, st := range v.Stages {
			m[st] = append(m[st], v.ID)
		}
	}
	return m
}

// checkLabelsUnique returns an error naming any label that is on more than
// one version.
func checkLabelsUnique(vs []*rotor.VersionRecord) error {
	var bad []string
	for st, ids := range stageMap(vs) {
		if len(ids) > 1 {
			bad = append(bad, fmt.Sprintf("%s on %v", st, ids))
		}
	}
	if len(bad) > 0 {
		slices.Sort(bad)
		return fmt.Errorf("labels on more than one version: %s", strings.Join(bad, "; "))
	}
	return nil
}
