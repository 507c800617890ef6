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
// began. The cache holds at most 10,000 secrets. Lookups by partial ARN always
// go to the store.
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
// # Encryption
//
// KmsKeyId is accepted, stored and echoed as AWS does (omitted when it is the
// default key, "" or "alias/aws/secretsmanager"), but every value is sealed
// with the keyring's active key-encryption key whatever KmsKeyId says; the
// additional authenticated data binds each value to its secret ARN and
// version id (envelope.VersionAAD).
package manager
