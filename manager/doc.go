// Package manager implements rotor.SecretService: every rule of the AWS
// Secrets Manager API (names and ARNs, versions and staging labels,
// ClientRequestToken idempotency, deletion windows, filters and pagination)
// lives here once, over a persistence-only rotor.Store, with values sealed
// through a Keyring before they reach the store.
//
// # Transactions and the read cache
//
// Every write happens in one Store.Update transaction; a method that returns
// an error has committed nothing. Reads of single secrets (GetSecretValue,
// DescribeSecret, ListSecretVersionIds, BatchGetSecretValue by id) are served
// from an in-memory cache of secret records and their versions, still sealed:
// values are decrypted on every read and never kept in plaintext. Each write
// invalidates the secret's entries after it commits, and a cache fill that
// started before an invalidation of the same secret is discarded, so a read
// never observes a state older than a write that returned before the read
// began. The cache is bounded in bytes (Config.CacheMaxBytes, by an estimate
// of each entry's memory) and evicts with CLOCK, keeping the secrets read
// since the last sweep. It holds each secret packed in one string (about
// 740 bytes with a 256-byte value), decoded per read: GetSecretValue decodes
// the record and the one version it returns. A miss reads the secret in one
// query when the Store implements rotor.SecretReader, in one View
// otherwise. Lookups by partial ARN always go to the store.
//
// # Authorization
//
// Every operation asks the Authorizer with the action
// "secretsmanager:<Operation>" and the secret's ARN once the secret is
// resolved, and never inside a store transaction. When the secret does not
// exist, the caller is first authorized against the ARN the request named
// (the id itself when it is an ARN, otherwise the partial ARN
// arn:aws:secretsmanager:<region>:<account>:secret:<name>): a caller denied
// there gets the denial, never ENOTFOUND, so a denied caller cannot probe
// which secrets exist.
//
// # Resource policies
//
// PutResourcePolicy stores a secret's resource policy on its record, the
// text exactly as sent, after package policy accepted it (and, with
// BlockPublicPolicy, found it not public for Config.Account). The cache
// keeps each cached secret's policy compiled next to it, so an Authorizer
// that evaluates resource policies gets it from Service.ResourcePolicy
// without parsing per request; a write invalidates it with the rest of the
// entry.
//
// # Encryption
//
// KmsKeyId is accepted, stored and echoed as AWS does (omitted when it is the
// default key, "" or "alias/aws/secretsmanager"), but every value is sealed
// with the keyring's active key-encryption key whatever KmsKeyId says; the
// additional authenticated data binds each value to its secret ARN and
// version id (envelope.VersionAAD).
//
// # Rotation
//
// The Service also implements rotor.Rotator (RotateSecret,
// CancelRotateSecret), rotor.RotationService (Rotor's own run history and
// AbandonRotation, authorized as "rotor:<Operation>"), and the two
// interfaces package rotation drives it through: rotation.Controller for
// the engine and rotation.Starter for the scheduler. Every rule about
// rotation labels and dates lives here, so a rotation obeys the same rules
// as a client calling the API:
//
//   - a secret has at most one active (pending or running) run, keyed by
//     the version it rotates to; its AWSPENDING placeholder is created empty
//     by RotateSecret and filled exactly once by the function;
//   - AWSPENDING on a version that is not AWSCURRENT means a rotation is not
//     complete: RotateSecret refuses with AWS's text and re-drives a failed
//     run; CancelRotateSecret and failures leave the label, as on AWS;
//   - a manual PutSecretValue or UpdateSecret that makes a new version
//     AWSCURRENT abandons the active run (AWS's RotationAbandoned); the
//     finishSecret move of AWSCURRENT by UpdateSecretVersionStage does not;
//   - RotateSecret binds the rotation to the master secret the AWSCURRENT
//     value's "masterarn" names, if the caller may read it; nothing else
//     changes the binding, and BoundMaster fails a run whose value names
//     another master (see binding.go);
//   - CompleteRun removes AWSPENDING from the run's version once the
//     function moved AWSCURRENT there, and records LastRotatedDate;
//   - NextRotationDate is a random time inside the next window of the
//     schedule (package rotation/schedule), recomputed when rules are
//     configured, when a rotation starts or succeeds, and after a manual
//     change under AutomaticallyAfterDays; without rules there is none.
//
// Config.OnRunQueued and Config.OnRunStopped tell the engine, after the
// commit, that a run became due or was stopped under it.
package manager
