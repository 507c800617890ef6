// Package sqlite implements rotor.Store on a single SQLite file, with the
// pure-Go driver modernc.org/sqlite (so CGO_ENABLED=0 builds work).
//
// The store is persistence only: it keeps what the manager has already
// validated and encrypted, holds no business rules and never sees plaintext.
// The guarantees it does give are enforced by the schema itself, not by Go
// code, so they hold against any writer of the file:
//
//   - a staging label is on at most one version of a secret (the primary key
//     of the stages table is (sid, stage): versions, labels and label
//     history are keyed by the secret's integer sid, migration 0017);
//   - a stored value is written once (a trigger aborts any UPDATE that
//     changes a non-NULL ciphertext);
//   - a secret has at most one active (pending or running) rotation run
//     (a partial unique index on rotation_runs);
//   - deleting a secret, version, rotation run or identity removes what
//     hangs off it, a secret's runs and their steps included (foreign keys
//     with ON DELETE CASCADE, on connections with foreign keys on, as the
//     store's are);
//   - a secret's versions are one range of the versions table's rowid
//     (vkey = sid << 32 | seq, migration 0015; its sid column is vkey >> 32)
//     and each version row's labels column says what stages says (triggers
//     refuse a vkey outside its secret's range or of a secret that does not
//     exist, a change of sid or vkey, and keep labels);
//   - a sid is never given again, not even a deleted secret's (sid_floor,
//     migration 0017), so rows a writer with foreign keys off left behind
//     never become another secret's.
//
// The database runs in WAL mode with synchronous=FULL, so a write is
// acknowledged only after a durable commit. One writer connection serves
// Update (transactions begin with BEGIN IMMEDIATE and are serialised);
// concurrent Updates share a transaction and its one fsync (group commit:
// each but the first of a batch runs in its own savepoint, so a failing one
// rolls back only its own work; see commit.go), and the writer keeps its
// statements prepared. The writer's connection uses the VFS of walvfs.go,
// which writes a commit's WAL frames with one write(2) per 128 KiB instead
// of two a frame, always before they can be read or counted. A pool of
// read-only connections serves View, each View reading one consistent
// snapshot while writes continue, and ReadSecret (rotor.SecretReader), which
// reads one secret with its tags, versions and labels in one statement and
// one result row, without a transaction: the name index, the secret's row
// and its versions' rowid range, few pages (see read.go).
//
// The schema lives in numbered files under migrations/, embedded in the
// binary and applied in order by Open, each in its own transaction and
// recorded in the migrations table.
package sqlite
