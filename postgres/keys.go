package postgres

import (
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/rotorhq/rotor"
)

// Identities, access keys and sealed values. Every write here changes auth
// data (or, for a re-wrapped version value, a secret) and is recorded for
// the change feed.

// CreateIdentity inserts i; EEXISTS if the name is taken, EINVALID if a
// string cannot be stored.
func (t *tx) CreateIdentity(i *rotor.IdentityRecord) error {
	const op = "create identity"
	if err := t.writing(op); err != nil {
		return err
	}
	if err := checkText(field{"identity name", i.Name}, field{"role", string(i.Role)}, field{"identity policy", i.Policy}); err != nil {
		return err
	}
	n, err := t.exec(nounIdentity, op, `INSERT INTO identities (name, role, policy, created_date) VALUES ($1, $2, $3, $4)
		ON CONFLICT DO NOTHING`, i.Name, string(i.Role), i.Policy, toNanos(i.CreatedDate))
	if err != nil {
		return err
	}
	if n == 0 {
		return exists(nounIdentity, op)
	}
	t.changes.authChanged()
	return nil
}

const identityColumns = `name, role, policy, created_date`

func scanIdentity(r pgx.Rows) (*rotor.IdentityRecord, error) {
	var i rotor.IdentityRecord
	var role string
	var created int64
	if err := r.Scan(&i.Name, &role, &i.Policy, &created); err != nil {
		return nil, err
	}
	i.Role, i.CreatedDate = rotor.Role(role), fromNanos(created)
	return &i, nil
}

// Identity returns the identity name; ENOTFOUND if there is none.
func (t *tx) Identity(name string) (*rotor.IdentityRecord, error) {
	const op = "identity"
	if !textOK(name) {
		return nil, notFound(nounIdentity, op)
	}
	return queryOne(t, nounIdentity, op, scanIdentity, `SELECT `+identityColumns+` FROM identities WHERE name = $1`, name)
}

// Identities returns every identity, sorted by name (byte-wise).
func (t *tx) Identities() ([]*rotor.IdentityRecord, error) {
	return queryAll(t, nounIdentity, "identities", scanIdentity, `SELECT `+identityColumns+` FROM identities ORDER BY name`)
}

// DeleteIdentity removes the identity and (by cascade) its access keys;
// ENOTFOUND if there is no such identity.
func (t *tx) DeleteIdentity(name string) error {
	const op = "delete identity"
	if err := t.writing(op); err != nil {
		return err
	}
	if !textOK(name) {
		return notFound(nounIdentity, op)
	}
	if err := t.execOne(nounIdentity, op, `DELETE FROM identities WHERE name = $1`, name); err != nil {
		return err
	}
	t.changes.authChanged()
	return nil
}

// SetIdentityPolicy replaces the inline policy of identity name; ENOTFOUND
// if there is no such identity, EINVALID if doc cannot be stored.
func (t *tx) SetIdentityPolicy(name, doc string) error {
	const op = "set identity policy"
	if err := t.writing(op); err != nil {
		return err
	}
	if err := checkText(field{"identity policy", doc}); err != nil {
		return err
	}
	if !textOK(name) {
		return notFound(nounIdentity, op)
	}
	if err := t.execOne(nounIdentity, op, `UPDATE identities SET policy = $2 WHERE name = $1`, name, doc); err != nil {
		return err
	}
	t.changes.authChanged()
	return nil
}

// CreateAccessKey inserts k; ENOTFOUND if its identity does not exist,
// EEXISTS if its id is taken, EINVALID if a string cannot be stored.
func (t *tx) CreateAccessKey(k *rotor.AccessKeyRecord) error {
	const op = "create access key"
	if err := t.writing(op); err != nil {
		return err
	}
	if err := checkText(field{"access key id", k.AccessKeyID}, field{"access key status", k.Status},
		field{"key-encryption key id", k.Secret.KeyID}); err != nil {
		return err
	}
	if !textOK(k.Identity) {
		return notFound(nounIdentity, op)
	}
	n, err := t.exec(nounAccessKey, op, `INSERT INTO access_keys
		(id, identity, status, kek_id, wrapped_key, ciphertext, created_date)
		SELECT `+placeholders(1, "text", "text", "text", "text", "bytea", "bytea", "bigint")+`
		WHERE EXISTS (SELECT 1 FROM identities WHERE name = $2)
		ON CONFLICT DO NOTHING`,
		k.AccessKeyID, k.Identity, k.Status, k.Secret.KeyID, blob(k.Secret.WrappedKey), blob(k.Secret.Ciphertext),
		toNanos(k.CreatedDate))
	if err != nil {
		return err
	}
	if n == 0 {
		found, err := t.exists(nounIdentity, op, identityExistsQuery, k.Identity)
		switch {
		case err != nil:
			return err
		case found:
			return exists(nounAccessKey, op)
		}
		return notFound(nounIdentity, op)
	}
	t.changes.authChanged()
	return nil
}

const accessKeyColumns = `id, identity, status, kek_id, wrapped_key, ciphertext, created_date`

func scanAccessKey(r pgx.Rows) (*rotor.AccessKeyRecord, error) {
	var k rotor.AccessKeyRecord
	var created int64
	if err := r.Scan(&k.AccessKeyID, &k.Identity, &k.Status, &k.Secret.KeyID, &k.Secret.WrappedKey,
		&k.Secret.Ciphertext, &created); err != nil {
		return nil, err
	}
	k.Secret.WrappedKey, k.Secret.Ciphertext = blob(k.Secret.WrappedKey), blob(k.Secret.Ciphertext)
	k.CreatedDate = fromNanos(created)
	return &k, nil
}

// accessKeyQuery is the lookup of every authenticated request that misses
// the key cache: one primary-key read.
const accessKeyQuery = `SELECT ` + accessKeyColumns + ` FROM access_keys WHERE id = $1`

// AccessKey returns the access key id; ENOTFOUND if there is none.
func (t *tx) AccessKey(id string) (*rotor.AccessKeyRecord, error) {
	const op = "access key"
	if !textOK(id) {
		return nil, notFound(nounAccessKey, op)
	}
	return queryOne(t, nounAccessKey, op, scanAccessKey, accessKeyQuery, id)
}

// AccessKeys returns the access keys of identity, or of every identity
// when identity is "", oldest first (ties by id). ENOTFOUND if a named
// identity does not exist.
func (t *tx) AccessKeys(identity string) ([]*rotor.AccessKeyRecord, error) {
	const op = "access keys"
	if identity == "" {
		return queryAll(t, nounAccessKey, op, scanAccessKey, `SELECT `+accessKeyColumns+` FROM access_keys ORDER BY created_date, id`)
	}
	if !textOK(identity) {
		return nil, notFound(nounIdentity, op)
	}
	found, err := t.exists(nounIdentity, op, identityExistsQuery, identity)
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, notFound(nounIdentity, op)
	}
	return queryAll(t, nounAccessKey, op, scanAccessKey,
		`SELECT `+accessKeyColumns+` FROM access_keys WHERE identity = $1 ORDER BY created_date, id`, identity)
}

// SetAccessKeyStatus sets the status of access key id; ENOTFOUND if there
// is no such key.
func (t *tx) SetAccessKeyStatus(id, status string) error {
	const op = "set access key status"
	if err := t.writing(op); err != nil {
		return err
	}
	if err := checkText(field{"access key status", status}); err != nil {
		return err
	}
	if !textOK(id) {
		return notFound(nounAccessKey, op)
	}
	if err := t.execOne(nounAccessKey, op, `UPDATE access_keys SET status = $2 WHERE id = $1`, id, status); err != nil {
		return err
	}
	t.changes.authChanged()
	return nil
}

// DeleteAccessKey removes access key id; ENOTFOUND if there is no such key.
func (t *tx) DeleteAccessKey(id string) error {
	const op = "delete access key"
	if err := t.writing(op); err != nil {
		return err
	}
	if !textOK(id) {
		return notFound(nounAccessKey, op)
	}
	if err := t.execOne(nounAccessKey, op, `DELETE FROM access_keys WHERE id = $1`, id); err != nil {
		return err
	}
	t.changes.authChanged()
	return nil
}

// Sealed values.

// SealedByKey returns up to limit stored values (version values first,
// then access-key secrets, each part in no set order) whose data key is
// wrapped by keyID; limit <= 0 means no limit. Placeholders have no value
// and are never returned. Neither part is sorted, so a small limit stops
// the kek_id index scan early instead of sorting every value under the
// key (the server's start reads one per key).
func (t *tx) SealedByKey(keyID string, limit int) ([]rotor.SealedRef, error) {
	if !textOK(keyID) {
		return []rotor.SealedRef{}, nil
	}
	const op = "sealed by key"
	refs, err := queryAll(t, nounVersion, op, scanSealedRef, `SELECT '`+rotor.SealedVersion+`', secret_arn, id, kek_id, wrapped_key, ciphertext
		FROM versions WHERE kek_id = $1 AND ciphertext IS NOT NULL LIMIT $2`, keyID, sqlLimit(limit))
	if err != nil || limit > 0 && len(refs) >= limit {
		return refs, err
	}
	keys, err := queryAll(t, nounAccessKey, op, scanSealedRef, `SELECT '`+rotor.SealedAccessKey+`', '', id, kek_id, wrapped_key, ciphertext
		FROM access_keys WHERE kek_id = $1 LIMIT $2`, keyID, sqlLimit(limit-len(refs)))
	return append(refs, keys...), err
}

func scanSealedRef(r pgx.Rows) (rotor.SealedRef, error) {
	var ref rotor.SealedRef
	if err := r.Scan(&ref.Kind, &ref.SecretARN, &ref.ID, &ref.Sealed.KeyID, &ref.Sealed.WrappedKey, &ref.Sealed.Ciphertext); err != nil {
		return ref, err
	}
	ref.Sealed.WrappedKey, ref.Sealed.Ciphertext = blob(ref.Sealed.WrappedKey), blob(ref.Sealed.Ciphertext)
	return ref, nil
}

// CountSealedByKey counts the stored values (version values and
// access-key secrets) whose data key is wrapped by keyID.
func (t *tx) CountSealedByKey(keyID string) (int, error) {
	if !textOK(keyID) {
		return 0, nil
	}
	n, err := queryOne(t, nounVersion, "count sealed by key", scanInt, `SELECT
		(SELECT count(*) FROM versions WHERE kek_id = $1 AND ciphertext IS NOT NULL) +
		(SELECT count(*) FROM access_keys WHERE kek_id = $1)`, keyID)
	return int(n), err
}

// KeyIDsInUse returns the distinct key-encryption key ids of stored values
// and access keys, sorted byte-wise; an empty slice when there are none.
// Both columns are indexed.
func (t *tx) KeyIDsInUse() ([]string, error) {
	return queryAll(t, nounVersion, "key ids in use", scanString, `SELECT kek_id FROM versions WHERE kek_id IS NOT NULL
		UNION SELECT kek_id FROM access_keys ORDER BY 1`)
}

// ReplaceSealed sets the key id and wrapped data key of the value ref
// points at to those of s, after re-wrapping. The ciphertext itself is
// written once, so s.Ciphertext must equal the stored ciphertext byte for
// byte: ESTATE otherwise (and for a placeholder, which has no value yet).
// ENOTFOUND if the version or access key does not exist; EINTERNAL for an
// unknown ref.Kind.
func (t *tx) ReplaceSealed(ref rotor.SealedRef, s rotor.Sealed) error {
	const op = "replace sealed"
	var noun, where string
	var key []any
	switch ref.Kind {
	case rotor.SealedVersion:
		noun, where, key = nounVersion, `secret_arn = $1 AND id = $2`, []any{ref.SecretARN, ref.ID}
	case rotor.SealedAccessKey:
		noun, where, key = nounAccessKey, `id = $1`, []any{ref.ID}
	default:
		return internalError(op, fmt.Errorf("unknown kind %q", ref.Kind))
	}
	if err := t.writing(op); err != nil {
		return err
	}
	if err := checkText(field{"key-encryption key id", s.KeyID}); err != nil {
		return err
	}
	if !allText(ref.SecretARN, ref.ID) {
		return notFound(noun, op)
	}
	table := "versions"
	if ref.Kind == rotor.SealedAccessKey {
		table = "access_keys"
	}
	n := len(key)
	changed, err := t.exec(noun, op, fmt.Sprintf(`UPDATE %s SET kek_id = $%d, wrapped_key = $%d WHERE %s AND ciphertext = $%d`,
		table, n+1, n+2, where, n+3), append(key, s.KeyID, blob(s.WrappedKey), blob(s.Ciphertext))...)
	if err != nil {
		return err
	}
	if changed == 0 {
		found, err := t.exists(noun, op, `SELECT 1 FROM `+table+` WHERE `+where, key...)
		switch {
		case err != nil:
			return err
		case !found:
			return notFound(noun, op)
		}
		return rotor.Errorf(rotor.ESTATE, "The stored value cannot be replaced: its ciphertext is written once and only its data key may be re-wrapped.")
	}
	if ref.Kind == rotor.SealedVersion {
		t.changes.secret(ref.SecretARN)
	} else {
		t.changes.authChanged()
	}
	return nil
}
