package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/rotorhq/rotor"
)

// tx implements rotor.Tx on one database/sql transaction. Every statement
// runs under the context given to Update or View, so cancelling it
// interrupts the statement and rolls the transaction back.
type tx struct {
	ctx      context.Context
	tx       *sql.Tx
	reads    *stmtCache  // prepared preparedQueries of tx's database
	writes   *writeStmts // prepared write statements of an Update; nil in View
	writable bool
	// bound holds the prepared statements already bound to tx, so that
	// the Updates of one group-commit batch (which share tx, one at a
	// time) bind each once; nil in View.
	bound map[*sql.Stmt]*sql.Stmt

	// seen is the secret as the last secretWhere of this transaction read
	// it, for UpdateSecret to compare with without reading it again. Every
	// write (exec) forgets it, except those made through execKeep, which
	// touch neither the secrets table nor tags.
	seen *seenSecret

	// prefetch (PrefetchVersions) makes the next Secret or SecretByName
	// read the secret's versions with it, into fetched, which the next
	// Versions of that secret returns (once) unless a write came between.
	prefetch bool
	fetched  *fetchedVersions

	// sids are the sids of the secrets this transaction has read, created
	// or looked up, by ARN (see sid).
	sids map[string]int64
}

// fetchedVersions are the versions of the secret arn, read with it.
type fetchedVersions struct {
	arn string
	vs  []*rotor.VersionRecord
}

// PrefetchVersions asks that the next Secret or SecretByName of this
// transaction read the secret's versions too, in the same statement (the
// read query of ReadSecret), for a Versions of that secret that follows
// with no write in between: one statement, and one search of the secret,
// instead of two. The manager calls it (through an optional interface)
// before the lookup of a write that reads the versions next.
func (t *tx) PrefetchVersions() { t.prefetch = true }

// seenSecret is what UpdateSecret compares a new record with: the stored
// secret's secretArgs and tags.
type seenSecret struct {
	args []any
	tags []rotor.Tag
}

var _ rotor.Tx = (*tx)(nil)

// Nouns for error messages.
const (
	nounSecret    = "secret"
	nounVersion   = "version"
	nounLabel     = "staging label"
	nounTag       = "tag"
	nounIdentity  = "identity"
	nounAccessKey = "access key"
)

// exec runs a write statement; in a View it fails without touching the
// database. It forgets the secret seen last (t.seen).
func (t *tx) exec(noun, op, query string, args ...any) (sql.Result, error) {
	t.seen = nil
	return t.execKeep(noun, op, query, args...)
}

// execKeep is exec for a statement that changes neither the secrets table
// nor tags, not even through triggers or cascades: the secret seen last
// stays as read.
func (t *tx) execKeep(noun, op, query string, args ...any) (sql.Result, error) {
	t.fetched = nil // every write may change versions or labels
	if !t.writable {
		return nil, readOnly(op)
	}
	res, err := t.execContext(query, args...)
	if err != nil {
		return nil, storeError(ctxErr(t.ctx, err), noun, op)
	}
	return res, nil
}

// readOnly is the error of a write method called inside View.
func readOnly(op string) error {
	return &rotor.Error{Code: rotor.EINTERNAL, Message: "The database failed to complete the request.",
		Err: fmt.Errorf("%s: write in a read-only transaction", op)}
}

// execOne runs a write statement that must affect exactly one row; no row
// means ENOTFOUND.
func (t *tx) execOne(noun, op, query string, args ...any) error {
	res, err := t.exec(noun, op, query, args...)
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return storeError(err, noun, op)
	}
	if n == 0 {
		return notFound(noun, op)
	}
	return nil
}

// each runs query and calls row on each result row in turn, stopping at
// the first error. Errors, row's included, come back through storeError
// with noun and op; the rows are closed before each returns, so the
// caller may run its next statement at once.
func (t *tx) each(noun, op string, row func(scanner) error, query string, args ...any) error {
	rows, err := t.queryContext(query, args...)
	if err != nil {
		return storeError(ctxErr(t.ctx, err), noun, op)
	}
	defer rows.Close()
	for rows.Next() {
		if err := row(rows); err != nil {
			return storeError(err, noun, op)
		}
	}
	if err := rows.Err(); err != nil {
		return storeError(ctxErr(t.ctx, err), noun, op)
	}
	return nil
}

// queryAll returns scan's value of each row of query, in order; nil if
// there are none. Errors are those of each.
func queryAll[T any](t *tx, noun, op string, scan func(scanner) (T, error), query string, args ...any) ([]T, error) {
	var out []T
	err := t.each(noun, op, func(sc scanner) error {
		v, err := scan(sc)
		if err == nil {
			out = append(out, v)
		}
		return err
	}, query, args...)
	if err != nil {
		return nil, err
	}
	return out, nil
}

// queryOne returns scan's value of the first row query selects. Errors
// come back through storeError with noun and op: ENOTFOUND if it selects
// no row.
func queryOne[T any](t *tx, noun, op string, scan func(scanner) (T, error), query string, args ...any) (T, error) {
	v, err := scan(t.queryRowContext(query, args...))
	if err != nil {
		var zero T
		return zero, storeError(ctxErr(t.ctx, err), noun, op)
	}
	return v, nil
}

// scanString scans a row of one text column.
func scanString(sc scanner) (string, error) {
	var s string
	err := sc.Scan(&s)
	return s, err
}

// exists reports whether query (a SELECT 1 ...) returns a row.
func (t *tx) exists(noun, op, query string, args ...any) (bool, error) {
	var one int
	err := t.queryRowContext(query, args...).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, storeError(ctxErr(t.ctx, err), noun, op)
	}
	return true, nil
}

// mustExist returns ENOTFOUND unless query finds a row.
func (t *tx) mustExist(noun, op, query string, args ...any) error {
	ok, err := t.exists(noun, op, query, args...)
	if err == nil && !ok {
		err = notFound(noun, op)
	}
	return err
}

// secretExists returns ENOTFOUND unless the secret arn exists.
func (t *tx) secretExists(arn, op string) error {
	return t.mustExist(nounSecret, op, secretExistsQuery, arn)
}

// Prepared lookups (see preparedQueries).
const (
	secretExistsQuery  = `SELECT 1 FROM secrets WHERE arn = ?`
	versionExistsQuery = `SELECT 1 FROM versions WHERE sid = ? AND id = ?`
	sidQuery           = `SELECT sid FROM secrets WHERE arn = ?`
)

// sidOf is the sid of the secret whose ARN is the statement's next
// argument, NULL if there is none, for the statements that have no sid at
// hand (see sid).
const sidOf = `(` + sidQuery + `)`

// versionExists returns ENOTFOUND unless the secret sid has a version id.
func (t *tx) versionExists(sid int64, id, op string) error {
	return t.mustExist(nounVersion, op, versionExistsQuery, sid, id)
}

// sid returns the sid of the secret arn; ENOTFOUND (the noun's) if there
// is no such secret. Versions, labels and the label history are keyed by
// the secret's sid (migration 0017), and the store's callers name a
// secret by its ARN: a write that reads the secret first (as the manager's
// do) has the sid from that read, which secretWhere notes (as CreateSecret
// does the new secret's), and only a secret this transaction has not read
// costs a lookup. A noted sid stays right for the transaction: a secret's
// sid never changes (a trigger refuses it), DeleteSecret forgets it, and
// a failed statement undoes only itself.
func (t *tx) sid(noun, op, arn string) (int64, error) {
	if sid, ok := t.sids[arn]; ok {
		return sid, nil
	}
	var sid int64
	if err := t.queryRowContext(sidQuery, arn).Scan(&sid); err != nil {
		return 0, storeError(ctxErr(t.ctx, err), noun, op)
	}
	t.noteSid(arn, sid)
	return sid, nil
}

// writeSid is sid for a write method: in a View, it fails as the write
// would (without looking the secret up).
func (t *tx) writeSid(noun, op, arn string) (int64, error) {
	if !t.writable {
		return 0, readOnly(op)
	}
	return t.sid(noun, op, arn)
}

// noteSid records that the secret arn has sid.
func (t *tx) noteSid(arn string, sid int64) {
	if t.sids == nil {
		t.sids = map[string]int64{}
	}
	t.sids[arn] = sid
}

// identityExists returns ENOTFOUND unless the identity name exists.
func (t *tx) identityExists(name, op string) error {
	return t.mustExist(nounIdentity, op, `SELECT 1 FROM identities WHERE name = ?`, name)
}

// sqlLimit turns a limit where <= 0 means "no limit" into SQLite's.
func sqlLimit(limit int) int {
	if limit <= 0 {
		return -1
	}
	return limit
}

// Times are stored as unix nanoseconds, 0 for the zero time.

func toNanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromNanos(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

// blob returns b as a non-nil slice, so an empty value is stored as an empty
// BLOB rather than NULL (which means "no value").
func blob(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// Secrets.

const secretColumns = `arn, region, name, description, kms_key_id, type, tags_ever_set,
	rotation_configured, rotation_enabled, rotation_lambda_arn, rotation_after_days,
	rotation_duration, rotation_schedule_expression, rotation_master_arn,
	created_date, last_changed_date, last_accessed_date, last_rotated_date,
	next_rotation_date, deleted_date, purge_date, owning_service, primary_region,
	rotation_identity, resource_policy`

// secretPlaceholders has one "?" per column of secretColumns.
var secretPlaceholders = strings.TrimSuffix(strings.Repeat("?, ", strings.Count(secretColumns, ",")+1), ", ")

// secretArgs returns the values of secretColumns for s, in order.
func secretArgs(s *rotor.SecretRecord) []any {
	r := s.Rotation
	return []any{s.ARN, s.Region, s.Name, s.Description, s.KmsKeyID, s.Type, s.TagsEverSet,
		r.Configured, r.Enabled, r.LambdaARN, r.Rules.AutomaticallyAfterDays,
		r.Rules.Duration, r.Rules.ScheduleExpression, r.MasterARN,
		toNanos(s.CreatedDate), toNanos(s.LastChangedDate), toNanos(s.LastAccessedDate), toNanos(s.LastRotatedDate),
		toNanos(s.NextRotationDate), toNanos(s.DeletedDate), toNanos(s.PurgeDate), s.OwningService, s.PrimaryRegion,
		r.Identity, s.ResourcePolicy}
}

type scanner interface{ Scan(dest ...any) error }

func scanSecret(sc scanner) (*rotor.SecretRecord, error) { return scanSecretWith(sc) }

// scanSecretWith scans a row of secretColumns followed by the columns
// scanned into extra.
func scanSecretWith(sc scanner, extra ...any) (*rotor.SecretRecord, error) {
	var s rotor.SecretRecord
	var created, changed, accessed, rotated, next, deleted, purge int64
	r := &s.Rotation
	err := sc.Scan(append([]any{&s.ARN, &s.Region, &s.Name, &s.Description, &s.KmsKeyID, &s.Type, &s.TagsEverSet,
		&r.Configured, &r.Enabled, &r.LambdaARN, &r.Rules.AutomaticallyAfterDays,
		&r.Rules.Duration, &r.Rules.ScheduleExpression, &r.MasterARN,
		&created, &changed, &accessed, &rotated, &next, &deleted, &purge, &s.OwningService, &s.PrimaryRegion,
		&r.Identity, &s.ResourcePolicy}, extra...)...)
	if err != nil {
		return nil, err
	}
	s.CreatedDate, s.LastChangedDate, s.LastAccessedDate = fromNanos(created), fromNanos(changed), fromNanos(accessed)
	s.LastRotatedDate, s.NextRotationDate = fromNanos(rotated), fromNanos(next)
	s.DeletedDate, s.PurgeDate = fromNanos(deleted), fromNanos(purge)
	return &s, nil
}

// Single-secret reads: the secret's row and its tags, each encoded into
// one column as ReadSecret's are (readQuery: the secret's fields, and the
// tags when tag_text says it has some), so a secret with its tags is one
// indexed read of one prepared statement and one row of few columns (the
// driver's cost of a row grows with its columns); and the secret's sid,
// which the transaction notes for its statements keyed by it (see sid).
var (
	secretWithTags    = `SELECT ` + secretColumn + `, ` + tagsColumn + `, s.sid FROM secrets s WHERE `
	secretByARNQuery  = secretWithTags + `s.arn = ?`
	secretByNameQuery = secretWithTags + `s.region = ? AND s.name = ?`

	// The same with the secret's versions (readQuery's versions column)
	// before the sid, for PrefetchVersions; withVersions maps each
	// single-secret read to its counterpart.
	secretWithVersions        = `SELECT ` + secretColumn + `, ` + tagsColumn + `, ` + versionsColumn + `, s.sid FROM secrets s WHERE `
	secretVersionsByARNQuery  = secretWithVersions + `s.arn = ?`
	secretVersionsByNameQuery = secretWithVersions + `s.region = ? AND s.name = ?`
	withVersions              = map[string]string{secretByARNQuery: secretVersionsByARNQuery, secretByNameQuery: secretVersionsByNameQuery}
)

// secretWhere returns the one secret selected by query (secretByARNQuery
// or secretByNameQuery), with its tags.
func (t *tx) secretWhere(op, query string, args ...any) (*rotor.SecretRecord, error) {
	var secret, tags, versions any
	var sid int64
	dest := []any{&secret, &tags, &sid}
	prefetched := t.prefetch
	if prefetched {
		t.prefetch, t.fetched = false, nil
		query = withVersions[query]
		dest = []any{&secret, &tags, &versions, &sid}
	}
	if err := t.queryRowContext(query, args...).Scan(dest...); errors.Is(err, sql.ErrNoRows) {
		return nil, notFound(nounSecret, op)
	} else if err != nil {
		return nil, storeError(ctxErr(t.ctx, err), nounSecret, op)
	}
	s, err := decodeSecret(secret)
	if err == nil {
		s.Tags, err = decodeTags(tags)
	}
	if err == nil && prefetched {
		var vs []*rotor.VersionRecord
		if vs, err = decodeVersions(versions); err == nil {
			t.fetched = &fetchedVersions{arn: s.ARN, vs: vs}
		}
	}
	if err != nil {
		return nil, storeError(err, nounSecret, op)
	}
	if t.writable {
		t.seen = &seenSecret{args: secretArgs(s), tags: slices.Clone(s.Tags)}
	}
	t.noteSid(s.ARN, sid)
	return s, nil
}

// tags returns the tags of the secrets selected by where (on the tags
// table, alias-free), grouped by secret ARN, in position order.
func (t *tx) tags(op, where string, args ...any) (map[string][]rotor.Tag, error) {
	m := map[string][]rotor.Tag{}
	err := t.each(nounTag, op, func(sc scanner) error {
		var arn string
		var tag rotor.Tag
		if err := sc.Scan(&arn, &tag.Key, &tag.Value); err != nil {
			return err
		}
		m[arn] = append(m[arn], tag)
		return nil
	}, `SELECT secret_arn, key, value FROM tags `+where+` ORDER BY secret_arn, position`, args...)
	if err != nil {
		return nil, err
	}
	return m, nil
}

// Secret returns the secret with this exact ARN, with its tags in the order
// they were added; ENOTFOUND if there is none.
func (t *tx) Secret(arn string) (*rotor.SecretRecord, error) {
	return t.secretWhere("secret", secretByARNQuery, arn)
}

// SecretByName returns the secret named name in region, whatever its
// deletion state; ENOTFOUND if there is none.
func (t *tx) SecretByName(region, name string) (*rotor.SecretRecord, error) {
	return t.secretWhere("secret by name", secretByNameQuery, region, name)
}

// Secrets returns every secret in region, oldest (CreatedDate) first, ties
// in insertion order; an empty slice for a region without secrets.
func (t *tx) Secrets(region string) ([]*rotor.SecretRecord, error) {
	const op = "secrets"
	out, err := queryAll(t, nounSecret, op, scanSecret,
		`SELECT `+secretColumns+` FROM secrets WHERE region = ? ORDER BY created_date, rowid`, region)
	if err != nil {
		return nil, err
	}
	tags, err := t.tags(op, `WHERE secret_arn IN (SELECT arn FROM secrets WHERE region = ?)`, region)
	if err != nil {
		return nil, err
	}
	for _, s := range out {
		s.Tags = tags[s.ARN]
	}
	return out, nil
}

// Regions returns the secret count of every region that has secrets.
func (t *tx) Regions() (map[string]int, error) {
	type count struct {
		region string
		n      int
	}
	rows, err := queryAll(t, nounSecret, "regions", func(sc scanner) (count, error) {
		var c count
		err := sc.Scan(&c.region, &c.n)
		return c, err
	}, `SELECT region, COUNT(*) FROM secrets GROUP BY region`)
	if err != nil {
		return nil, err
	}
	out := make(map[string]int, len(rows))
	for _, c := range rows {
		out[c.region] = c.n
	}
	return out, nil
}

// PurgeDue returns the ARNs of secrets with a non-zero PurgeDate that is not
// after now, earliest purge date first.
func (t *tx) PurgeDue(now time.Time) ([]string, error) {
	return queryAll(t, nounSecret, "purge due", scanString,
		`SELECT arn FROM secrets WHERE purge_date <> 0 AND purge_date <= ? ORDER BY purge_date, arn`, toNanos(now))
}

// CreateSecret inserts s with its tags; EEXISTS if s.ARN, or s.Name in
// s.Region, is taken, or if two tags share a key.
func (t *tx) CreateSecret(s *rotor.SecretRecord) error {
	const op = "create secret"
	if !t.writable {
		return readOnly(op)
	}
	t.seen, t.fetched = nil, nil // as exec
	var sid int64
	if err := t.queryRowContext(createSecretQuery, append(secretArgs(s), tagText(s.Tags))...).Scan(&sid); err != nil {
		return storeError(ctxErr(t.ctx, err), nounSecret, op)
	}
	t.noteSid(s.ARN, sid)
	return t.insertTags(op, s.ARN, s.Tags)
}

// createSecretQuery inserts a secret with its tag_text (see tagText) and
// the next sid, which the trigger secrets_sid_assign would otherwise set
// with a second write of the row, and returns the sid. The next sid is
// above every live one and every deleted one (sid_floor): a sid is never
// given again (migration 0017).
var createSecretQuery = `INSERT INTO secrets (` + secretColumns + `, tag_text, sid) VALUES (` + secretPlaceholders +
	`, ?, (SELECT max(COALESCE(MAX(sid), 0), COALESCE((SELECT sid FROM sid_floor WHERE id = 1), 0)) + 1 FROM secrets)) RETURNING sid`

// insertTags inserts the rows of the tags of secret arn; the caller
// records them in its tag_text column.
func (t *tx) insertTags(op, arn string, tags []rotor.Tag) error {
	for i, tag := range tags {
		if _, err := t.exec(nounTag, op, `INSERT INTO tags (secret_arn, position, key, value) VALUES (?, ?, ?, ?)`,
			arn, i, tag.Key, tag.Value); err != nil {
			return err
		}
	}
	return nil
}

// UpdateSecret replaces every field of the secret s.ARN (its ARN aside)
// and its tags; ENOTFOUND if there is no such secret, EEXISTS if the new
// name is taken in the region or two tags share a key.
//
// It writes only what changed: the stored row is read first (unless this
// transaction read it last and has not written the secrets or tags since:
// t.seen), and the
// UPDATE sets only the columns whose value differs (an UPDATE rewrites the
// entry of every index on a column it sets, equal or not: the secrets
// table has seven), and the tags are rewritten only if they differ.
func (t *tx) UpdateSecret(s *rotor.SecretRecord) error {
	const op = "update secret"
	if !t.writable {
		return readOnly(op)
	}
	seen := t.seen
	if seen == nil || seen.args[0] != s.ARN {
		if _, err := t.secretWhere(op, secretByARNQuery, s.ARN); err != nil {
			return err
		}
		seen = t.seen
	}
	was, now := seen.args, secretArgs(s)
	var set strings.Builder
	var args []any
	for i := 1; i < len(now); i++ { // [0] is arn
		if now[i] != was[i] {
			if set.Len() > 0 {
				set.WriteString(", ")
			}
			set.WriteString(secretColumnNames[i] + " = ?")
			args = append(args, now[i])
		}
	}
	tagsChanged := !slices.Equal(seen.tags, s.Tags)
	if tagsChanged {
		if set.Len() > 0 {
			set.WriteString(", ")
		}
		set.WriteString("tag_text = ?")
		args = append(args, tagText(s.Tags))
	}
	if set.Len() > 0 {
		if err := t.execOne(nounSecret, op, `UPDATE secrets SET `+set.String()+` WHERE arn = ?`, append(args, s.ARN)...); err != nil {
			return err
		}
	}
	if !tagsChanged {
		return nil
	}
	if _, err := t.exec(nounTag, op, `DELETE FROM tags WHERE secret_arn = ?`, s.ARN); err != nil {
		return err
	}
	return t.insertTags(op, s.ARN, s.Tags)
}

// secretColumnNames are the names of secretColumns, in order.
var secretColumnNames = func() []string {
	cols := strings.Split(secretColumns, ",")
	for i, c := range cols {
		cols[i] = strings.TrimSpace(c)
	}
	return cols
}()

// DeleteSecret removes the secret with its versions, labels, tags,
// rotation runs and their steps (all by cascade); ENOTFOUND if there is no
// such secret.
func (t *tx) DeleteSecret(arn string) error {
	delete(t.sids, arn) // a secret created again with this ARN may take another sid
	return t.execOne(nounSecret, "delete secret", `DELETE FROM secrets WHERE arn = ?`, arn)
}

// Versions.

const versionColumns = `id, kek_id, wrapped_key, ciphertext, ciphertext IS NULL, is_binary, kms_key_id,
	created_date, last_accessed_date`

func scanVersion(sc scanner) (*rotor.VersionRecord, error) {
	var v rotor.VersionRecord
	var kek sql.NullString
	var wrapped, ciphertext []byte
	var placeholder bool
	var created, accessed int64
	if err := sc.Scan(&v.ID, &kek, &wrapped, &ciphertext, &placeholder, &v.Binary, &v.KmsKeyID, &created, &accessed); err != nil {
		return nil, err
	}
	if !placeholder {
		v.Value = &rotor.Sealed{KeyID: kek.String, WrappedKey: blob(wrapped), Ciphertext: blob(ciphertext)}
	}
	v.CreatedDate, v.LastAccessedDate = fromNanos(created), fromNanos(accessed)
	return &v, nil
}

// Versions returns every version of the secret with its sorted labels,
// oldest (CreatedDate) first, ties in insertion order; ENOTFOUND if the
// secret does not exist.
//
// It is one indexed read of one row, as ReadSecret's (read.go): the
// secret's row by ARN and its versions' rowid range, each version with
// its labels column (migration 0015), encoded into one column that
// decodeVersions parses and orders.
func (t *tx) Versions(arn string) ([]*rotor.VersionRecord, error) {
	const op = "versions"
	if f := t.fetched; f != nil {
		t.fetched = nil // the records are the caller's: returned once
		if f.arn == arn {
			return f.vs, nil
		}
	}
	var enc any
	if err := t.queryRowContext(versionsQuery, arn).Scan(&enc); errors.Is(err, sql.ErrNoRows) {
		return nil, notFound(nounSecret, op)
	} else if err != nil {
		return nil, storeError(ctxErr(t.ctx, err), nounVersion, op)
	}
	vs, err := decodeVersions(enc)
	if err != nil {
		return nil, storeError(err, nounVersion, op)
	}
	return vs, nil
}

// versionsQuery selects the versions of a secret (by ARN) as the versions
// column of a read query (readQuery): NULL for a secret without versions,
// no row for a missing secret.
var versionsQuery = `SELECT ` + versionsColumn + ` FROM secrets s WHERE s.arn = ?`

// Version returns one version with its sorted labels; ENOTFOUND if the
// secret has no version id.
func (t *tx) Version(arn, id string) (*rotor.VersionRecord, error) {
	const op = "version"
	sid, err := t.sid(nounVersion, op, arn)
	if err != nil {
		return nil, err
	}
	return queryOne(t, nounVersion, op, func(sc scanner) (*rotor.VersionRecord, error) {
		var labels string
		v, err := scanVersion(suffixScanner{sc, &labels})
		if err == nil {
			v.Stages, err = decodeLabels(labels)
		}
		return v, err
	}, versionQuery, sid, id)
}

// versionQuery is Version's (sid, version id): the version with its
// labels column (migration 0015).
const versionQuery = `SELECT ` + versionColumns + `, labels FROM versions WHERE sid = ? AND id = ?`

// suffixScanner scans the columns of sc into the destinations given, then
// one more into last.
type suffixScanner struct {
	sc   scanner
	last *string
}

func (p suffixScanner) Scan(dest ...any) error {
	return p.sc.Scan(append(dest, p.last)...)
}

// CreateVersion inserts v (v.Stages is ignored; see SetStage). A nil
// v.Value makes a placeholder that FillVersion fills later. ENOTFOUND if
// the secret does not exist, EEXISTS if it already has a version v.ID.
func (t *tx) CreateVersion(arn string, v *rotor.VersionRecord) error {
	const op = "create version"
	var kek, wrapped, ciphertext any // NULL for a placeholder
	if v.Value != nil {
		kek, wrapped, ciphertext = v.Value.KeyID, blob(v.Value.WrappedKey), blob(v.Value.Ciphertext)
	}
	sid, err := t.writeSid(nounSecret, op, arn)
	if err != nil {
		return err
	}
	_, err = t.execKeep(nounVersion, op, createVersionQuery,
		sid, v.ID, kek, wrapped, ciphertext, v.Binary, v.KmsKeyID, toNanos(v.CreatedDate), toNanos(v.LastAccessedDate))
	return err
}

// orMissing returns err, or ENOTFOUND if err is not nil and query (a
// SELECT 1 lookup of a row err's statement needed) finds no row: a write
// that needs an existing row checks for it only once it failed (SetStage
// of a missing version fails on a foreign key), which keeps a lookup out
// of every write that succeeds.
func (t *tx) orMissing(err error, noun, op, query string, args ...any) error {
	if err == nil || !t.writable {
		return err
	}
	if merr := t.mustExist(noun, op, query, args...); merr != nil {
		return merr
	}
	return err
}

// createVersionQuery inserts a version with the next key of its secret's
// range (migration 0015): sid << 32 | seq, seq one more than the largest
// the secret's versions have (1 for the first), so the keys grow in
// insertion order. A seq past 32 bits leaves the range, which the trigger
// versions_vkey_in_range refuses. Its arguments are the secret's sid, then
// the version's columns.
const createVersionQuery = `INSERT INTO versions
	(vkey, sid, id, kek_id, wrapped_key, ciphertext, is_binary, kms_key_id, created_date, last_accessed_date)
	VALUES (COALESCE((SELECT v.vkey FROM versions v
			WHERE v.vkey BETWEEN ?1 << 32 AND (?1 << 32) + 4294967295 ORDER BY v.vkey DESC LIMIT 1),
			?1 << 32) + 1,
		?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)`

// FillVersion stores the value of placeholder version id exactly once.
// ENOTFOUND if there is no such version, ESTATE if it already has a value.
func (t *tx) FillVersion(arn, id string, value rotor.Sealed, binary bool) error {
	const op = "fill version"
	sid, err := t.writeSid(nounVersion, op, arn)
	if err != nil {
		return err
	}
	res, err := t.exec(nounVersion, op, fillVersionQuery, value.KeyID, blob(value.WrappedKey), blob(value.Ciphertext), binary, sid, id)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return storeError(err, nounVersion, op)
	} else if n == 1 {
		return nil
	}
	if err := t.versionExists(sid, id, op); err != nil {
		return err
	}
	return rotor.Errorf(rotor.ESTATE, "The version already has a value; a stored value is written once.")
}

// fillVersionQuery stores a placeholder's value (key id, wrapped key,
// ciphertext, binary, secret sid, version id).
const fillVersionQuery = `UPDATE versions SET kek_id = ?, wrapped_key = ?, ciphertext = ?, is_binary = ?
	WHERE sid = ? AND id = ? AND ciphertext IS NULL`

// DeleteVersions removes the versions ids of the secret with their labels.
// ENOTFOUND, deleting nothing, if the secret does not exist or any id is
// not one of its versions. Duplicate ids are allowed; no ids is a no-op.
func (t *tx) DeleteVersions(arn string, ids []string) error {
	const op = "delete versions"
	sid, err := t.writeSid(nounSecret, op, arn)
	if err != nil {
		return err
	}
	seen := map[string]bool{}
	for _, id := range ids {
		if seen[id] {
			continue
		}
		seen[id] = true
		if err := t.versionExists(sid, id, op); err != nil {
			return err
		}
	}
	for id := range seen {
		if err := t.execOne(nounVersion, op, deleteVersionQuery, sid, id); err != nil {
			return err
		}
	}
	return nil
}

// deleteVersionQuery deletes a version (secret sid, version id) and, by
// cascade, its labels.
const deleteVersionQuery = `DELETE FROM versions WHERE sid = ? AND id = ?`

// SetStage attaches label stage to version id, moving it off whichever
// other version of the secret had it, in one statement whose conflict
// target is the stages primary key (sid, stage). ENOTFOUND if the
// version does not exist.
func (t *tx) SetStage(arn, stage, id string) error {
	const op = "set stage"
	sid, err := t.writeSid(nounVersion, op, arn)
	if err != nil {
		return err
	}
	_, err = t.execKeep(nounLabel, op, setStageQuery, sid, stage, id)
	return t.orMissing(err, nounVersion, op, versionExistsQuery, sid, id)
}

// The statements of SetStage and RemoveStage (secret sid, label, and
// SetStage's version id).
const (
	setStageQuery = `INSERT INTO stages (sid, stage, version_id) VALUES (?, ?, ?)
		ON CONFLICT (sid, stage) DO UPDATE SET version_id = excluded.version_id`
	removeStageQuery = `DELETE FROM stages WHERE sid = ? AND stage = ?`
)

// RemoveStage detaches label stage from whichever version of the secret
// carries it; a label that is on no version is left as it is (no error).
// ENOTFOUND if the secret does not exist.
func (t *tx) RemoveStage(arn, stage string) error {
	const op = "remove stage"
	sid, err := t.writeSid(nounSecret, op, arn)
	if err != nil {
		return err
	}
	_, err = t.execKeep(nounLabel, op, removeStageQuery, sid, stage)
	return err
}

// SetLastAccessed sets the LastAccessedDate of version id and of its
// secret to day unless later already (see rotor.Tx); ENOTFOUND if the
// version does not exist.
func (t *tx) SetLastAccessed(arn, id string, day time.Time) error {
	const op = "set last accessed"
	sid, err := t.writeSid(nounVersion, op, arn)
	if err != nil {
		return err
	}
	if err := t.execOne(nounVersion, op, versionAccessedQuery, toNanos(day), sid, id); err != nil {
		return err
	}
	return t.execOne(nounSecret, op, `UPDATE secrets SET last_accessed_date = max(coalesce(last_accessed_date, 0), ?) WHERE arn = ?`, toNanos(day), arn)
}

// versionAccessedQuery is SetLastAccessed's write of the version (day,
// secret sid, version id).
const versionAccessedQuery = `UPDATE versions SET last_accessed_date = max(coalesce(last_accessed_date, 0), ?)
	WHERE sid = ? AND id = ?`

// Identities and access keys.

// CreateIdentity inserts i; EEXISTS if the name is taken.
func (t *tx) CreateIdentity(i *rotor.IdentityRecord) error {
	_, err := t.exec(nounIdentity, "create identity", `INSERT INTO identities (name, role, policy, created_date) VALUES (?, ?, ?, ?)`,
		i.Name, string(i.Role), i.Policy, toNanos(i.CreatedDate))
	return err
}

func scanIdentity(sc scanner) (*rotor.IdentityRecord, error) {
	var i rotor.IdentityRecord
	var role string
	var created int64
	if err := sc.Scan(&i.Name, &role, &i.Policy, &created); err != nil {
		return nil, err
	}
	i.Role, i.CreatedDate = rotor.Role(role), fromNanos(created)
	return &i, nil
}

// Identity returns the identity name; ENOTFOUND if there is none.
func (t *tx) Identity(name string) (*rotor.IdentityRecord, error) {
	return queryOne(t, nounIdentity, "identity", scanIdentity, `SELECT name, role, policy, created_date FROM identities WHERE name = ?`, name)
}

// Identities returns every identity, sorted by name.
func (t *tx) Identities() ([]*rotor.IdentityRecord, error) {
	return queryAll(t, nounIdentity, "identities", scanIdentity, `SELECT name, role, policy, created_date FROM identities ORDER BY name`)
}

// DeleteIdentity removes the identity and (by cascade) its access keys;
// ENOTFOUND if there is no such identity.
func (t *tx) DeleteIdentity(name string) error {
	return t.execOne(nounIdentity, "delete identity", `DELETE FROM identities WHERE name = ?`, name)
}

// SetIdentityPolicy replaces the inline policy of identity name; ENOTFOUND
// if there is no such identity.
func (t *tx) SetIdentityPolicy(name, doc string) error {
	return t.execOne(nounIdentity, "set identity policy", `UPDATE identities SET policy = ? WHERE name = ?`, doc, name)
}

// CreateAccessKey inserts k; ENOTFOUND if its identity does not exist,
// EEXISTS if its id is taken.
func (t *tx) CreateAccessKey(k *rotor.AccessKeyRecord) error {
	const op = "create access key"
	if err := t.identityExists(k.Identity, op); err != nil {
		return err
	}
	_, err := t.exec(nounAccessKey, op, `INSERT INTO access_keys
		(id, identity, status, kek_id, wrapped_key, ciphertext, created_date) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		k.AccessKeyID, k.Identity, k.Status, k.Secret.KeyID, blob(k.Secret.WrappedKey), blob(k.Secret.Ciphertext),
		toNanos(k.CreatedDate))
	return err
}

const accessKeyColumns = `id, identity, status, kek_id, wrapped_key, ciphertext, created_date`

func scanAccessKey(sc scanner) (*rotor.AccessKeyRecord, error) {
	var k rotor.AccessKeyRecord
	var created int64
	if err := sc.Scan(&k.AccessKeyID, &k.Identity, &k.Status, &k.Secret.KeyID, &k.Secret.WrappedKey,
		&k.Secret.Ciphertext, &created); err != nil {
		return nil, err
	}
	k.Secret.WrappedKey, k.Secret.Ciphertext = blob(k.Secret.WrappedKey), blob(k.Secret.Ciphertext)
	k.CreatedDate = fromNanos(created)
	return &k, nil
}

// AccessKey returns the access key id; ENOTFOUND if there is none.
func (t *tx) AccessKey(id string) (*rotor.AccessKeyRecord, error) {
	return queryOne(t, nounAccessKey, "access key", scanAccessKey, `SELECT `+accessKeyColumns+` FROM access_keys WHERE id = ?`, id)
}

// AccessKeys returns the access keys of identity, or of every identity
// when identity is "", oldest first (ties by id). ENOTFOUND if a named
// identity does not exist.
func (t *tx) AccessKeys(identity string) ([]*rotor.AccessKeyRecord, error) {
	const op = "access keys"
	q := `SELECT ` + accessKeyColumns + ` FROM access_keys`
	var args []any
	if identity != "" {
		if err := t.identityExists(identity, op); err != nil {
			return nil, err
		}
		q += ` WHERE identity = ?`
		args = append(args, identity)
	}
	return queryAll(t, nounAccessKey, op, scanAccessKey, q+` ORDER BY created_date, id`, args...)
}

// SetAccessKeyStatus sets the status of access key id; ENOTFOUND if there
// is no such key.
func (t *tx) SetAccessKeyStatus(id, status string) error {
	return t.execOne(nounAccessKey, "set access key status", `UPDATE access_keys SET status = ? WHERE id = ?`, status, id)
}

// DeleteAccessKey removes access key id; ENOTFOUND if there is no such key.
func (t *tx) DeleteAccessKey(id string) error {
	return t.execOne(nounAccessKey, "delete access key", `DELETE FROM access_keys WHERE id = ?`, id)
}

// Sealed values.

// SealedByKey returns up to limit stored values (version values first,
// in storage order, then access-key secrets) whose data key is wrapped by
// keyID; limit <= 0 means no limit. Placeholders have no value and are
// never returned. Each part is read in the order of the kek_id index, so
// a small limit reads that many rows, not every value under the key (the
// server's start reads one per key: at 1,000,000 secrets a sort of them
// all took seconds).
func (t *tx) SealedByKey(keyID string, limit int) ([]rotor.SealedRef, error) {
	const op = "sealed by key"
	refs, err := queryAll(t, nounVersion, op, scanSealedRef, sealedVersionsQuery, rotor.SealedVersion, keyID, sqlLimit(limit))
	if err != nil || limit > 0 && len(refs) >= limit {
		return refs, err
	}
	keys, err := queryAll(t, nounAccessKey, op, scanSealedRef, sealedAccessKeysQuery, rotor.SealedAccessKey, keyID,
		sqlLimit(limit-len(refs)))
	return append(refs, keys...), err
}

// SealedByKey's queries (kind, key id, limit), in kek_id index order (a
// version's secret ARN by its sid, migration 0017: CROSS JOIN keeps the
// versions the outer loop).
const (
	sealedVersionsQuery = `SELECT ?, s.arn, v.id, v.kek_id, v.wrapped_key, v.ciphertext
		FROM versions v CROSS JOIN secrets s ON s.sid = v.sid
		WHERE v.kek_id = ? AND v.ciphertext IS NOT NULL ORDER BY v.vkey LIMIT ?`
	sealedAccessKeysQuery = `SELECT ?, '', id, kek_id, wrapped_key, ciphertext
		FROM access_keys WHERE kek_id = ? ORDER BY rowid LIMIT ?`
)

func scanSealedRef(sc scanner) (rotor.SealedRef, error) {
	var r rotor.SealedRef
	if err := sc.Scan(&r.Kind, &r.SecretARN, &r.ID, &r.Sealed.KeyID, &r.Sealed.WrappedKey, &r.Sealed.Ciphertext); err != nil {
		return r, err
	}
	r.Sealed.WrappedKey, r.Sealed.Ciphertext = blob(r.Sealed.WrappedKey), blob(r.Sealed.Ciphertext)
	return r, nil
}

// CountSealedByKey counts the stored values (version values and
// access-key secrets) whose data key is wrapped by keyID.
func (t *tx) CountSealedByKey(keyID string) (int, error) {
	var n int
	err := t.queryRowContext(`SELECT
		(SELECT COUNT(*) FROM versions WHERE kek_id = ? AND ciphertext IS NOT NULL) +
		(SELECT COUNT(*) FROM access_keys WHERE kek_id = ?)`, keyID, keyID).Scan(&n)
	if err != nil {
		return 0, storeError(ctxErr(t.ctx, err), nounVersion, "count sealed by key")
	}
	return n, nil
}

// KeyIDsInUse returns the distinct key-encryption key ids of stored
// values and access keys, sorted. Both columns are indexed.
func (t *tx) KeyIDsInUse() ([]string, error) {
	rows, err := t.queryContext(`SELECT kek_id FROM versions WHERE kek_id IS NOT NULL
		UNION SELECT kek_id FROM access_keys ORDER BY 1`)
	if err != nil {
		return nil, storeError(ctxErr(t.ctx, err), nounVersion, "key ids in use")
	}
	defer rows.Close()
	ids := []string{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, storeError(ctxErr(t.ctx, err), nounVersion, "key ids in use")
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		return nil, storeError(ctxErr(t.ctx, err), nounVersion, "key ids in use")
	}
	return ids, nil
}

// ReplaceSealed sets the key id and wrapped data key of the value ref
// points at to those of s, after re-wrapping. The ciphertext itself is
// written once, so s.Ciphertext must equal the stored ciphertext byte for
// byte: ESTATE otherwise (and for a placeholder, which has no value yet).
// ENOTFOUND if the version or access key does not exist; EINTERNAL for an
// unknown ref.Kind.
func (t *tx) ReplaceSealed(ref rotor.SealedRef, s rotor.Sealed) error {
	const op = "replace sealed"
	var noun, sel, upd string
	var key []any
	switch ref.Kind {
	case rotor.SealedVersion:
		noun, key = nounVersion, []any{ref.SecretARN, ref.ID}
		sel, upd = replaceSealedVersionQueries[0], replaceSealedVersionQueries[1]
	case rotor.SealedAccessKey:
		noun, key = nounAccessKey, []any{ref.ID}
		sel = `SELECT ciphertext, ciphertext IS NULL FROM access_keys WHERE id = ?`
		upd = `UPDATE access_keys SET kek_id = ?, wrapped_key = ? WHERE id = ?`
	default:
		return &rotor.Error{Code: rotor.EINTERNAL, Message: "The database failed to complete the request.",
			Err: fmt.Errorf("%s: unknown kind %q", op, ref.Kind)}
	}
	if !t.writable {
		return readOnly(op)
	}
	var stored []byte
	var placeholder bool
	if err := t.queryRowContext(sel, key...).Scan(&stored, &placeholder); err != nil {
		return storeError(ctxErr(t.ctx, err), noun, op)
	}
	if placeholder || !bytes.Equal(stored, s.Ciphertext) {
		return rotor.Errorf(rotor.ESTATE, "The stored value cannot be replaced: its ciphertext is written once and only its data key may be re-wrapped.")
	}
	return t.execOne(noun, op, upd, append([]any{s.KeyID, blob(s.WrappedKey)}, key...)...)
}

// replaceSealedVersionQueries are ReplaceSealed's read (secret ARN,
// version id) and write (key id, wrapped key, secret ARN, version id) of
// a version's value.
var replaceSealedVersionQueries = [2]string{
	`SELECT ciphertext, ciphertext IS NULL FROM versions WHERE sid = ` + sidOf + ` AND id = ?`,
	`UPDATE versions SET kek_id = ?, wrapped_key = ? WHERE sid = ` + sidOf + ` AND id = ?`,
}

// Label history.

// AddStageEvents appends evs to the label history of secret arn, numbering
// them after its last event; ENOTFOUND if the secret does not exist.
func (t *tx) AddStageEvents(arn string, evs []rotor.StageEvent) error {
	const op = "add stage events"
	if !t.writable {
		return readOnly(op)
	}
	sid, err := t.sid(nounSecret, op, arn)
	if err != nil {
		return err
	}
	for _, ev := range evs {
		if _, err := t.execKeep(nounLabel, op, addStageEventQuery, sid, ev.Stage, ev.VersionID, toNanos(ev.Time)); err != nil {
			return err
		}
	}
	return nil
}

// addStageEventQuery appends one event (secret sid, stage, version_id,
// at) to the label history, numbered one past the secret's last (a
// search of the primary key's prefix, migrations 0016 and 0017). The
// number is a scalar subquery of a VALUES row, not an INSERT ... SELECT:
// one that reads the table it inserts into goes through a temporary table
// first.
const addStageEventQuery = `INSERT INTO stage_history (sid, n, stage, version_id, at)
	VALUES (?1, (SELECT COALESCE(MAX(n), 0) + 1 FROM stage_history WHERE sid = ?1), ?2, ?3, ?4)`

// stageHistoryQuery selects the newest events of a secret's label
// history (secret sid, limit), newest first.
const stageHistoryQuery = `SELECT stage, version_id, at FROM stage_history WHERE sid = ? ORDER BY n DESC LIMIT ?`

// StageHistory returns the newest limit events (all when limit < 1) of the
// label history of secret arn, oldest first; ENOTFOUND if the secret does
// not exist.
func (t *tx) StageHistory(arn string, limit int) ([]rotor.StageEvent, error) {
	const op = "stage history"
	sid, err := t.sid(nounSecret, op, arn)
	if err != nil {
		return nil, err
	}
	if limit < 1 {
		limit = -1 // SQLite: no limit
	}
	evs, err := queryAll(t, nounLabel, op, func(sc scanner) (rotor.StageEvent, error) {
		var ev rotor.StageEvent
		var at int64
		if err := sc.Scan(&ev.Stage, &ev.VersionID, &at); err != nil {
			return ev, err
		}
		ev.Time = fromNanos(at)
		return ev, nil
	}, stageHistoryQuery, sid, limit)
	if err != nil {
		return nil, err
	}
	slices.Reverse(evs)
	return evs, nil
}
