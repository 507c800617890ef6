package postgres

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/rotorhq/rotor"
)

// tx implements rotor.Tx on one PostgreSQL transaction. Every statement
// runs under the context given to Update or View, so cancelling it cancels
// the running statement on the server.
//
// PostgreSQL aborts a transaction at its first failed statement, so the
// methods find the expected outcomes (a missing row, a taken key, a row in
// the wrong state) without one: inserts use ON CONFLICT DO NOTHING or
// INSERT ... SELECT ... WHERE EXISTS and count the rows, updates carry
// their preconditions in the WHERE clause, and only when nothing was
// written does a second query tell the caller why. A statement that fails
// all the same is recorded in broken; from then on every method returns
// EINTERNAL and the transaction cannot commit.
type tx struct {
	ctx      context.Context
	conn     *pgx.Conn
	writable bool
	broken   error   // the failure that aborted the transaction
	changes  changes // what an Update wrote, for the change feed
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

// usable returns EINTERNAL once a statement has aborted the transaction.
func (t *tx) usable(op string) error {
	if t.broken != nil {
		return internalError(op, fmt.Errorf("the transaction was aborted by an earlier failed statement: %w", t.broken))
	}
	return nil
}

// writing returns the error of a write method that must not run: inside
// View, or after the transaction was aborted.
func (t *tx) writing(op string) error {
	if !t.writable {
		return internalError(op, fmt.Errorf("write in a read-only transaction"))
	}
	return t.usable(op)
}

// failed records err, from a statement, as what aborted the transaction
// and returns it mapped by storeError.
func (t *tx) failed(err error, noun, op string) error {
	if t.broken == nil {
		t.broken = err
	}
	return storeError(ctxErr(t.ctx, err), noun, op)
}

// exec runs a write statement and returns the number of rows it affected;
// in a View it fails without touching the database.
func (t *tx) exec(noun, op, query string, args ...any) (int64, error) {
	if err := t.writing(op); err != nil {
		return 0, err
	}
	tag, err := t.conn.Exec(t.ctx, query, args...)
	if err != nil {
		return 0, t.failed(err, noun, op)
	}
	return tag.RowsAffected(), nil
}

// execOne runs a write statement that must affect a row; none means
// ENOTFOUND.
func (t *tx) execOne(noun, op, query string, args ...any) error {
	n, err := t.exec(noun, op, query, args...)
	if err == nil && n == 0 {
		err = notFound(noun, op)
	}
	return err
}

// each runs query and calls row on each result row in turn, stopping at
// the first error. The rows are closed before it returns.
func (t *tx) each(noun, op string, row func(pgx.Rows) error, query string, args ...any) error {
	if err := t.usable(op); err != nil {
		return err
	}
	rows, err := t.conn.Query(t.ctx, query, args...)
	if err != nil {
		return t.failed(err, noun, op)
	}
	defer rows.Close()
	for rows.Next() {
		if err := row(rows); err != nil {
			rows.Close()
			if rerr := rows.Err(); rerr != nil {
				return t.failed(rerr, noun, op)
			}
			return storeError(err, noun, op)
		}
	}
	if err := rows.Err(); err != nil {
		return t.failed(err, noun, op)
	}
	return nil
}

// queryAll returns scan's value of each row of query, in order; an empty
// (non-nil) slice if there are none.
func queryAll[T any](t *tx, noun, op string, scan func(pgx.Rows) (T, error), query string, args ...any) ([]T, error) {
	out := []T{}
	err := t.each(noun, op, func(r pgx.Rows) error {
		v, err := scan(r)
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

// queryOne returns scan's value of the first row query selects; ENOTFOUND
// if it selects none.
func queryOne[T any](t *tx, noun, op string, scan func(pgx.Rows) (T, error), query string, args ...any) (T, error) {
	var v T
	found := false
	err := t.each(noun, op, func(r pgx.Rows) error {
		if found {
			return nil
		}
		var err error
		v, err = scan(r)
		found = err == nil
		return err
	}, query, args...)
	if err == nil && !found {
		err = notFound(noun, op)
	}
	if err != nil {
		var zero T
		return zero, err
	}
	return v, nil
}

func scanString(r pgx.Rows) (string, error) {
	var s string
	err := r.Scan(&s)
	return s, err
}

func scanInt(r pgx.Rows) (int64, error) {
	var n int64
	err := r.Scan(&n)
	return n, err
}

func scanBool(r pgx.Rows) (bool, error) {
	var b bool
	err := r.Scan(&b)
	return b, err
}

// exists reports whether query (a SELECT 1 ...) returns a row.
func (t *tx) exists(noun, op, query string, args ...any) (bool, error) {
	found := false
	err := t.each(noun, op, func(pgx.Rows) error { found = true; return nil }, query, args...)
	return found, err
}

// Lookups of one row by key.
const (
	secretExistsQuery   = `SELECT 1 FROM secrets WHERE arn = $1`
	versionExistsQuery  = `SELECT 1 FROM versions WHERE secret_arn = $1 AND id = $2`
	identityExistsQuery = `SELECT 1 FROM identities WHERE name = $1`
	runExistsQuery      = `SELECT 1 FROM rotation_runs WHERE id = $1`
)

// sqlLimit turns a limit where <= 0 means "no limit" into a LIMIT
// parameter (NULL: no limit).
func sqlLimit(limit int) any {
	if limit <= 0 {
		return nil
	}
	return int64(limit)
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

// blob returns b as a non-nil slice, so an empty value is stored as an
// empty bytea rather than NULL (which means "no value").
func blob(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// prefixed qualifies each column of a comma-separated list with p.
func prefixed(p, cols string) string {
	parts := strings.Split(cols, ",")
	for i, c := range parts {
		parts[i] = p + strings.TrimSpace(c)
	}
	return strings.Join(parts, ", ")
}

// placeholders returns "$from, $from+1, ..." for n parameters, each cast
// to the type in types when one is given (INSERT ... SELECT needs them).
func placeholders(from int, types ...string) string {
	var b strings.Builder
	for i, typ := range types {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "$%d", from+i)
		if typ != "" {
			b.WriteString("::" + typ)
		}
	}
	return b.String()
}

// Secrets.

const secretColumns = `arn, region, name, description, kms_key_id, type, tags_ever_set,
	rotation_configured, rotation_enabled, rotation_lambda_arn, rotation_after_days,
	rotation_duration, rotation_schedule_expression, rotation_master_arn,
	created_date, last_changed_date, last_accessed_date, last_rotated_date,
	next_rotation_date, deleted_date, purge_date, owning_service, primary_region,
	rotation_identity, resource_policy`

// secretPlaceholders has one parameter per column of secretColumns.
var secretPlaceholders = placeholders(1, make([]string, strings.Count(secretColumns, ",")+1)...)

// secretSelect selects secretColumns of secrets aliased s, then the keys
// and the values of its tags in position order, as two arrays: a secret
// with its tags is one indexed read.
var secretSelect = `SELECT ` + prefixed("s.", secretColumns) + `,
	ARRAY(SELECT t.key FROM tags t WHERE t.secret_arn = s.arn ORDER BY t.position),
	ARRAY(SELECT t.value FROM tags t WHERE t.secret_arn = s.arn ORDER BY t.position)
	FROM secrets s `

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

// checkSecret returns EINVALID if a string of s cannot be stored as text,
// and EEXISTS if two of its tags share a key (as the tags table's unique
// key would).
func checkSecret(s *rotor.SecretRecord) error {
	r := s.Rotation
	fs := []field{{"secret ARN", s.ARN}, {"region", s.Region}, {"secret name", s.Name},
		{"description", s.Description}, {"KMS key id", s.KmsKeyID}, {"secret type", s.Type},
		{"rotation function ARN", r.LambdaARN}, {"rotation window duration", r.Rules.Duration},
		{"rotation schedule expression", r.Rules.ScheduleExpression}, {"rotation master secret ARN", r.MasterARN},
		{"rotation identity", r.Identity}, {"owning service", s.OwningService}, {"primary region", s.PrimaryRegion},
		{"resource policy", s.ResourcePolicy}}
	for _, tag := range s.Tags {
		fs = append(fs, field{"tag key", tag.Key}, field{"tag value", tag.Value})
	}
	if err := checkText(fs...); err != nil {
		return err
	}
	seen := make(map[string]bool, len(s.Tags))
	for _, tag := range s.Tags {
		if seen[tag.Key] {
			return exists(nounTag, "check tags")
		}
		seen[tag.Key] = true
	}
	return nil
}

// scanSecret scans a row of secretSelect.
func scanSecret(r pgx.Rows) (*rotor.SecretRecord, error) {
	var s rotor.SecretRecord
	var created, changed, accessed, rotated, next, deleted, purge int64
	var keys, values []string
	rot := &s.Rotation
	err := r.Scan(&s.ARN, &s.Region, &s.Name, &s.Description, &s.KmsKeyID, &s.Type, &s.TagsEverSet,
		&rot.Configured, &rot.Enabled, &rot.LambdaARN, &rot.Rules.AutomaticallyAfterDays,
		&rot.Rules.Duration, &rot.Rules.ScheduleExpression, &rot.MasterARN,
		&created, &changed, &accessed, &rotated, &next, &deleted, &purge, &s.OwningService, &s.PrimaryRegion,
		&rot.Identity, &s.ResourcePolicy, &keys, &values)
	if err != nil {
		return nil, err
	}
	if len(keys) != len(values) {
		return nil, fmt.Errorf("secret %s: %d tag keys but %d values", s.ARN, len(keys), len(values))
	}
	if len(keys) > 0 {
		s.Tags = make([]rotor.Tag, len(keys))
		for i := range keys {
			s.Tags[i] = rotor.Tag{Key: keys[i], Value: values[i]}
		}
	}
	s.CreatedDate, s.LastChangedDate, s.LastAccessedDate = fromNanos(created), fromNanos(changed), fromNanos(accessed)
	s.LastRotatedDate, s.NextRotationDate = fromNanos(rotated), fromNanos(next)
	s.DeletedDate, s.PurgeDate = fromNanos(deleted), fromNanos(purge)
	return &s, nil
}

// Hot reads, one indexed statement each.
var (
	secretByARNQuery  = secretSelect + `WHERE s.arn = $1`
	secretByNameQuery = secretSelect + `WHERE s.region = $1 AND s.name = $2`
)

// Secret returns the secret with this exact ARN, with its tags in the order
// they were added; ENOTFOUND if there is none.
func (t *tx) Secret(arn string) (*rotor.SecretRecord, error) {
	const op = "secret"
	if !textOK(arn) {
		return nil, notFound(nounSecret, op)
	}
	return queryOne(t, nounSecret, op, scanSecret, secretByARNQuery, arn)
}

// SecretByName returns the secret named name in region, whatever its
// deletion state; ENOTFOUND if there is none.
func (t *tx) SecretByName(region, name string) (*rotor.SecretRecord, error) {
	const op = "secret by name"
	if !allText(region, name) {
		return nil, notFound(nounSecret, op)
	}
	return queryOne(t, nounSecret, op, scanSecret, secretByNameQuery, region, name)
}

// Secrets returns every secret in region, oldest (CreatedDate) first, ties
// in insertion order; an empty slice for a region without secrets.
func (t *tx) Secrets(region string) ([]*rotor.SecretRecord, error) {
	if !textOK(region) {
		return []*rotor.SecretRecord{}, nil
	}
	return queryAll(t, nounSecret, "secrets", scanSecret, secretSelect+`WHERE s.region = $1 ORDER BY s.created_date, s.seq`, region)
}

// Regions returns the secret count of every region that has secrets.
func (t *tx) Regions() (map[string]int, error) {
	out := map[string]int{}
	err := t.each(nounSecret, "regions", func(r pgx.Rows) error {
		var region string
		var n int64
		if err := r.Scan(&region, &n); err != nil {
			return err
		}
		out[region] = int(n)
		return nil
	}, `SELECT region, COUNT(*) FROM secrets GROUP BY region`)
	if err != nil {
		return nil, err
	}
	return out, nil
}

// PurgeDue returns the ARNs of secrets with a non-zero PurgeDate that is not
// after now, earliest purge date first.
func (t *tx) PurgeDue(now time.Time) ([]string, error) {
	return queryAll(t, nounSecret, "purge due", scanString,
		`SELECT arn FROM secrets WHERE purge_date <> 0 AND purge_date <= $1 ORDER BY purge_date, arn`, toNanos(now))
}

// CreateSecret inserts s with its tags; EEXISTS if s.ARN, or s.Name in
// s.Region, is taken, or if two tags share a key; EINVALID if a string of
// s cannot be stored (see checkText).
func (t *tx) CreateSecret(s *rotor.SecretRecord) error {
	const op = "create secret"
	if err := t.writing(op); err != nil {
		return err
	}
	if err := checkSecret(s); err != nil {
		return err
	}
	n, err := t.exec(nounSecret, op, `INSERT INTO secrets (`+secretColumns+`) VALUES (`+secretPlaceholders+`)
		ON CONFLICT DO NOTHING`, secretArgs(s)...)
	if err != nil {
		return err
	}
	if n == 0 {
		return exists(nounSecret, op)
	}
	if len(s.Tags) > 0 {
		if _, err := t.exec(nounTag, op, insertTagsQuery, s.ARN, tagKeys(s.Tags), tagValues(s.Tags)); err != nil {
			return err
		}
	}
	t.changes.secret(s.ARN)
	return nil
}

// insertTagsQuery inserts the tags of secret $1 (keys $2, values $3) in
// order.
const insertTagsQuery = `INSERT INTO tags (secret_arn, position, key, value)
	SELECT $1, x.o - 1, x.k, x.v FROM unnest($2::text[], $3::text[]) WITH ORDINALITY AS x (k, v, o)`

// replaceTagsQuery replaces the tags of secret $1 with keys $2, values $3,
// in one statement: the INSERT reads a count of the DELETE's rows, so it
// runs after it, and rows deleted by the transaction do not conflict.
const replaceTagsQuery = `WITH d AS (DELETE FROM tags WHERE secret_arn = $1 RETURNING 1),
	c AS (SELECT count(*) AS n FROM d)
	INSERT INTO tags (secret_arn, position, key, value)
	SELECT $1, x.o - 1, x.k, x.v FROM c, unnest($2::text[], $3::text[]) WITH ORDINALITY AS x (k, v, o)`

func tagKeys(tags []rotor.Tag) []string {
	out := make([]string, len(tags))
	for i, t := range tags {
		out[i] = t.Key
	}
	return out
}

func tagValues(tags []rotor.Tag) []string {
	out := make([]string, len(tags))
	for i, t := range tags {
		out[i] = t.Value
	}
	return out
}

// UpdateSecret replaces every field of the secret s.ARN (its ARN aside)
// and its tags; ENOTFOUND if there is no such secret, EEXISTS if the new
// name is taken in the region or two tags share a key, EINVALID if a
// string cannot be stored.
func (t *tx) UpdateSecret(s *rotor.SecretRecord) error {
	const op = "update secret"
	if err := t.writing(op); err != nil {
		return err
	}
	if err := checkSecret(s); err != nil {
		return err
	}
	cols := strings.Split(secretColumns, ",")
	set := make([]string, 0, len(cols)-1)
	for i, c := range cols[1:] { // cols[0] is arn, $1
		set = append(set, fmt.Sprintf("%s = $%d", strings.TrimSpace(c), i+2))
	}
	n, err := t.exec(nounSecret, op, `UPDATE secrets SET `+strings.Join(set, ", ")+` WHERE arn = $1
		AND NOT EXISTS (SELECT 1 FROM secrets o WHERE o.region = $2 AND o.name = $3 AND o.arn <> $1)`, secretArgs(s)...)
	if err != nil {
		return err
	}
	if n == 0 {
		found, err := t.exists(nounSecret, op, secretExistsQuery, s.ARN)
		switch {
		case err != nil:
			return err
		case found:
			return exists(nounSecret, op)
		}
		return notFound(nounSecret, op)
	}
	if _, err := t.exec(nounTag, op, replaceTagsQuery, s.ARN, tagKeys(s.Tags), tagValues(s.Tags)); err != nil {
		return err
	}
	t.changes.secret(s.ARN)
	return nil
}

// DeleteSecret removes the secret with its versions, labels, tags,
// rotation runs and their steps (all by cascade); ENOTFOUND if there is no
// such secret.
func (t *tx) DeleteSecret(arn string) error {
	const op = "delete secret"
	if err := t.writing(op); err != nil {
		return err
	}
	if !textOK(arn) {
		return notFound(nounSecret, op)
	}
	if err := t.execOne(nounSecret, op, `DELETE FROM secrets WHERE arn = $1`, arn); err != nil {
		return err
	}
	t.changes.secret(arn)
	return nil
}

// Versions.

// versionColumns selects a version of versions aliased v with its labels,
// sorted, as an array.
const versionColumns = `v.id, v.kek_id, v.wrapped_key, v.ciphertext, v.ciphertext IS NULL, v.is_binary, v.kms_key_id,
	v.created_date, v.last_accessed_date,
	ARRAY(SELECT st.stage FROM stages st WHERE st.secret_arn = v.secret_arn AND st.version_id = v.id ORDER BY st.stage)`

func scanVersion(r pgx.Rows) (*rotor.VersionRecord, error) {
	return scanVersionWith(r)
}

// scanVersionWith scans the columns scanned into first, then a row of
// versionColumns.
func scanVersionWith(r pgx.Rows, first ...any) (*rotor.VersionRecord, error) {
	var v rotor.VersionRecord
	var kek *string
	var wrapped, ciphertext []byte
	var placeholder bool
	var created, accessed int64
	var stages []string
	if err := r.Scan(append(first, &v.ID, &kek, &wrapped, &ciphertext, &placeholder, &v.Binary, &v.KmsKeyID,
		&created, &accessed, &stages)...); err != nil {
		return nil, err
	}
	if !placeholder {
		v.Value = &rotor.Sealed{WrappedKey: blob(wrapped), Ciphertext: blob(ciphertext)}
		if kek != nil {
			v.Value.KeyID = *kek
		}
	}
	if len(stages) > 0 {
		v.Stages = stages
	}
	v.CreatedDate, v.LastAccessedDate = fromNanos(created), fromNanos(accessed)
	return &v, nil
}

// versionsQuery selects a secret's versions with their labels, for
// Versions: the secret's row joined with its versions, so that a secret
// without versions gives one row of NULLs and a missing secret none.
var versionsQuery = `SELECT v.id IS NULL, COALESCE(v.id, ''), v.kek_id, v.wrapped_key, v.ciphertext, v.ciphertext IS NULL,
	COALESCE(v.is_binary, FALSE), COALESCE(v.kms_key_id, ''), COALESCE(v.created_date, 0), COALESCE(v.last_accessed_date, 0),
	ARRAY(SELECT st.stage FROM stages st WHERE st.secret_arn = v.secret_arn AND st.version_id = v.id ORDER BY st.stage)
	FROM secrets s LEFT JOIN versions v ON v.secret_arn = s.arn
	WHERE s.arn = $1
	ORDER BY v.created_date, v.seq`

// Versions returns every version of the secret with its sorted labels,
// oldest (CreatedDate) first, ties in insertion order; ENOTFOUND if the
// secret does not exist. It is one indexed statement.
func (t *tx) Versions(arn string) ([]*rotor.VersionRecord, error) {
	const op = "versions"
	if !textOK(arn) {
		return nil, notFound(nounSecret, op)
	}
	found := false
	out := []*rotor.VersionRecord{}
	err := t.each(nounVersion, op, func(r pgx.Rows) error {
		found = true
		var none bool
		v, err := scanVersionWith(r, &none)
		if err == nil && !none {
			out = append(out, v)
		}
		return err
	}, versionsQuery, arn)
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, notFound(nounSecret, op)
	}
	return out, nil
}

// versionQuery selects one version with its labels.
const versionQuery = `SELECT ` + versionColumns + ` FROM versions v WHERE v.secret_arn = $1 AND v.id = $2`

// Version returns one version with its sorted labels; ENOTFOUND if the
// secret has no version id. It is one indexed statement.
func (t *tx) Version(arn, id string) (*rotor.VersionRecord, error) {
	const op = "version"
	if !allText(arn, id) {
		return nil, notFound(nounVersion, op)
	}
	return queryOne(t, nounVersion, op, scanVersion, versionQuery, arn, id)
}

// CreateVersion inserts v (v.Stages is ignored; see SetStage). A nil
// v.Value makes a placeholder that FillVersion fills later. ENOTFOUND if
// the secret does not exist, EEXISTS if it already has a version v.ID,
// EINVALID if the id, KMS key id or key-encryption key id cannot be
// stored.
func (t *tx) CreateVersion(arn string, v *rotor.VersionRecord) error {
	const op = "create version"
	if err := t.writing(op); err != nil {
		return err
	}
	fs := []field{{"version id", v.ID}, {"KMS key id", v.KmsKeyID}}
	var kek, wrapped, ciphertext any // NULL for a placeholder
	if v.Value != nil {
		fs = append(fs, field{"key-encryption key id", v.Value.KeyID})
		kek, wrapped, ciphertext = v.Value.KeyID, blob(v.Value.WrappedKey), blob(v.Value.Ciphertext)
	}
	if err := checkText(fs...); err != nil {
		return err
	}
	if !textOK(arn) {
		return notFound(nounSecret, op)
	}
	n, err := t.exec(nounVersion, op, `INSERT INTO versions
		(secret_arn, id, kek_id, wrapped_key, ciphertext, is_binary, kms_key_id, created_date, last_accessed_date)
		SELECT `+placeholders(1, "text", "text", "text", "bytea", "bytea", "boolean", "text", "bigint", "bigint")+`
		WHERE EXISTS (SELECT 1 FROM secrets WHERE arn = $1)
		ON CONFLICT DO NOTHING`,
		arn, v.ID, kek, wrapped, ciphertext, v.Binary, v.KmsKeyID, toNanos(v.CreatedDate), toNanos(v.LastAccessedDate))
	if err != nil {
		return err
	}
	if n == 0 {
		found, err := t.exists(nounSecret, op, secretExistsQuery, arn)
		switch {
		case err != nil:
			return err
		case found:
			return exists(nounVersion, op)
		}
		return notFound(nounSecret, op)
	}
	t.changes.secret(arn)
	return nil
}

// FillVersion stores the value of placeholder version id exactly once.
// ENOTFOUND if there is no such version, ESTATE if it already has a value.
func (t *tx) FillVersion(arn, id string, value rotor.Sealed, binary bool) error {
	const op = "fill version"
	if err := t.writing(op); err != nil {
		return err
	}
	if err := checkText(field{"key-encryption key id", value.KeyID}); err != nil {
		return err
	}
	if !allText(arn, id) {
		return notFound(nounVersion, op)
	}
	n, err := t.exec(nounVersion, op, `UPDATE versions SET kek_id = $3, wrapped_key = $4, ciphertext = $5, is_binary = $6
		WHERE secret_arn = $1 AND id = $2 AND ciphertext IS NULL`,
		arn, id, value.KeyID, blob(value.WrappedKey), blob(value.Ciphertext), binary)
	if err != nil {
		return err
	}
	if n == 0 {
		found, err := t.exists(nounVersion, op, versionExistsQuery, arn, id)
		switch {
		case err != nil:
			return err
		case !found:
			return notFound(nounVersion, op)
		}
		return rotor.Errorf(rotor.ESTATE, "The version already has a value; a stored value is written once.")
	}
	t.changes.secret(arn)
	return nil
}

// DeleteVersions removes the versions ids of the secret with their labels.
// ENOTFOUND, deleting nothing, if the secret does not exist or any id is
// not one of its versions. Duplicate ids are allowed; no ids is a no-op.
func (t *tx) DeleteVersions(arn string, ids []string) error {
	const op = "delete versions"
	if err := t.writing(op); err != nil {
		return err
	}
	if !textOK(arn) {
		return notFound(nounSecret, op)
	}
	distinct := slices.Clone(ids)
	slices.Sort(distinct)
	distinct = slices.Compact(distinct)
	if !allText(distinct...) {
		return notFound(nounVersion, op)
	}
	var secretFound bool
	var present int64
	err := t.each(nounVersion, op, func(r pgx.Rows) error { return r.Scan(&secretFound, &present) },
		`SELECT EXISTS (SELECT 1 FROM secrets WHERE arn = $1),
			(SELECT count(*) FROM versions WHERE secret_arn = $1 AND id = ANY ($2::text[]))`, arn, distinct)
	switch {
	case err != nil:
		return err
	case !secretFound:
		return notFound(nounSecret, op)
	case present != int64(len(distinct)):
		return notFound(nounVersion, op)
	case len(distinct) == 0:
		return nil
	}
	if _, err := t.exec(nounVersion, op, `DELETE FROM versions WHERE secret_arn = $1 AND id = ANY ($2::text[])`, arn, distinct); err != nil {
		return err
	}
	t.changes.secret(arn)
	return nil
}

// SetStage attaches label stage to version id, moving it off whichever
// other version of the secret had it, in one statement whose conflict
// target is the stages primary key (secret_arn, stage). ENOTFOUND if the
// version does not exist; EINVALID if the label cannot be stored.
func (t *tx) SetStage(arn, stage, id string) error {
	const op = "set stage"
	if err := t.writing(op); err != nil {
		return err
	}
	if err := checkText(field{"staging label", stage}); err != nil {
		return err
	}
	if !allText(arn, id) {
		return notFound(nounVersion, op)
	}
	if err := t.execOne(nounVersion, op, `INSERT INTO stages (secret_arn, stage, version_id)
		SELECT $1::text, $2::text, $3::text WHERE EXISTS (SELECT 1 FROM versions WHERE secret_arn = $1 AND id = $3)
		ON CONFLICT (secret_arn, stage) DO UPDATE SET version_id = excluded.version_id`, arn, stage, id); err != nil {
		return err
	}
	t.changes.secret(arn)
	return nil
}

// RemoveStage detaches label stage from whichever version of the secret
// carries it; a label that is on no version is left as it is (no error).
// ENOTFOUND if the secret does not exist.
func (t *tx) RemoveStage(arn, stage string) error {
	const op = "remove stage"
	if err := t.writing(op); err != nil {
		return err
	}
	if !textOK(arn) {
		return notFound(nounSecret, op)
	}
	query, args := `WITH d AS (DELETE FROM stages WHERE secret_arn = $1 AND stage = $2)
		SELECT 1 FROM secrets WHERE arn = $1`, []any{arn, stage}
	if !textOK(stage) { // no version carries it
		query, args = secretExistsQuery, []any{arn}
	}
	found, err := t.exists(nounLabel, op, query, args...)
	switch {
	case err != nil:
		return err
	case !found:
		return notFound(nounSecret, op)
	}
	t.changes.secret(arn)
	return nil
}

// SetLastAccessed sets the LastAccessedDate of version id and of its
// secret to day unless later already (see rotor.Tx), in one statement;
// ENOTFOUND if the version does not exist.
func (t *tx) SetLastAccessed(arn, id string, day time.Time) error {
	const op = "set last accessed"
	if err := t.writing(op); err != nil {
		return err
	}
	if !allText(arn, id) {
		return notFound(nounVersion, op)
	}
	if err := t.execOne(nounVersion, op, `WITH v AS (
			UPDATE versions SET last_accessed_date = GREATEST(last_accessed_date, $3) WHERE secret_arn = $1 AND id = $2 RETURNING 1)
		UPDATE secrets SET last_accessed_date = GREATEST(last_accessed_date, $3) WHERE arn = $1 AND EXISTS (SELECT 1 FROM v)`,
		arn, id, toNanos(day)); err != nil {
		return err
	}
	return nil // not announced: see rotor.Change.SecretARN
}
