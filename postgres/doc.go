// Package postgres implements rotor.Store on a PostgreSQL database with
// pgx (pgxpool), for any number of Rotor servers sharing one database.
//
// The store is persistence only: it keeps what the manager has already
// validated and encrypted, holds no business rules and never sees
// plaintext. The guarantees it does give are enforced by PostgreSQL
// itself (migrations/0001_init.sql), so they hold against every server and
// any other writer of the database:
//
//   - a staging label is on at most one version of a secret (the primary
//     key of stages is (secret_arn, stage));
//   - a stored value is written once (triggers refuse an UPDATE that
//     changes a stored ciphertext, with SQLSTATE RW001; filling a
//     placeholder and re-wrapping a data key are the only changes allowed);
//   - a secret has at most one active (pending or running) rotation run (a
//     partial unique index);
//   - deleting a secret, version, rotation run or identity removes what
//     hangs off it (foreign keys with ON DELETE CASCADE).
//
// Transactions. Update runs at READ COMMITTED after taking a
// transaction-level advisory lock that every Update of every server takes
// first, so write transactions are serialised cluster-wide without
// serialization failures (fn runs once), and commits with
// synchronous_commit on. View runs at REPEATABLE READ, READ ONLY: one
// snapshot. Statements use pgx's per-connection cache of prepared
// statements; the hot reads (Secret, SecretByName, Versions, Version,
// AccessKey) are one indexed statement each.
//
// Values. Times are BIGINT unix nanoseconds (exact, unlike timestamptz's
// microseconds); names, ARNs and other strings are TEXT COLLATE "C", so
// they sort byte-wise; sealed values are BYTEA. PostgreSQL's text cannot
// hold NUL or invalid UTF-8: the store refuses such a string with EINVALID
// naming the field rather than change it (see text.go for which fields the
// API lets a NUL reach), and stores rotation history text that comes from
// functions as BYTEA.
//
// Change feed. Store implements rotor.ChangeFeed with LISTEN/NOTIFY: each
// Update notifies, in its transaction, the secrets and auth data it wrote;
// Watch listens on a dedicated connection and reconnects after errors.
//
// Backup is not offered: the database is backed up with pg_dump or the
// PostgreSQL service's own backups, the keyring separately.
//
// The schema lives in numbered files under migrations/ (numbered apart from
// SQLite's), embedded in the binary and applied in order by Open under a
// session advisory lock, each in its own transaction and recorded in the
// migrations table, so several servers may start at once.
package postgres
