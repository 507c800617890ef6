package sqlite

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/rotorhq/rotor"
)

var _ rotor.SecretReader = (*Store)(nil)

// ReadSecret returns the secret named name in region with its tags, and
// its versions with their sorted labels, oldest first, from one snapshot;
// ENOTFOUND if there is none. See readSecret.
func (s *Store) ReadSecret(ctx context.Context, region, name string) (*rotor.SecretRecord, []*rotor.VersionRecord, error) {
	return s.readSecret(ctx, readByNameQuery, "read secret", region, name)
}

// ReadSecretARN is ReadSecret for the secret with this exact ARN.
func (s *Store) ReadSecretARN(ctx context.Context, arn string) (*rotor.SecretRecord, []*rotor.VersionRecord, error) {
	return s.readSecret(ctx, readByARNQuery, "read secret by arn", arn)
}

// The read queries select one secret with its tags and its versions in
// one statement, so they need no transaction: a statement reads one
// snapshot. The result is one row of three text columns of fields: the
// secret (secretColumns), its tags (position, key, value for each; NULL for
// none) and its versions (readVersionFields for each; NULL for none).
// Every result column costs the driver calls into SQLite, each of which
// takes the connection's mutex, and column name and type lookups per
// statement: measured at 1,000,000 secrets, one row of three columns costs
// less than one of 27 (the secret's columns, tags and versions), which
// cost less than the UNION ALL of a row per kind padded to 26 columns
// before it. The tags and versions are sorted in Go: an ORDER BY in
// group_concat costs a temporary B-tree per call.
//
// A field is its length in bytes, ':', and its bytes: concat(octet_length(x),
// ':', x), binary-safe for text and blobs, integers in decimal; a NULL is
// ':' alone, which no value encodes to.
//
// The tags are not searched for a secret whose tag_text says it has none.
// The versions are the range of versions' rowid (vkey) that the secret's
// sid owns, with their labels on their rows (migration 0015); the sid
// test (not indexed: the unary +) only guards that range.
// TestReadQueryPlan checks the plan.
const readVersionFields = `id, kek_id, wrapped_key, ciphertext, is_binary, kms_key_id, created_date, last_accessed_date, labels, vkey`

// The read queries, by name in a region and by ARN.
var (
	readByNameQuery = readQuery("s.region = ? AND s.name = ?")
	readByARNQuery  = readQuery("s.arn = ?")
)

// The read query's three columns, on the secrets table aliased s; the
// single-secret reads of a transaction (tx.go: secretWithTags,
// versionsQuery) select some of them the same way.
var (
	secretColumn = encodeFields("s.", secretColumns)
	tagsColumn   = `CASE WHEN s.tag_text <> '' THEN (SELECT group_concat(` + encodeFields("t.", "position, key, value") + `, '')
		FROM tags t WHERE t.secret_arn = s.arn) END`
	versionsColumn = `(SELECT group_concat(` + encodeFields("v.", readVersionFields) + `, '')
		FROM versions v WHERE v.vkey BETWEEN s.sid << 32 AND (s.sid << 32) + 4294967295 AND +v.sid = s.sid)`
)

// readQuery returns the read query of the secret selected by where (on
// the secrets table aliased s).
func readQuery(where string) string {
	return `SELECT ` + secretColumn + ` AS secret, ` + tagsColumn + ` AS tags, ` + versionsColumn + ` AS versions
	FROM secrets s WHERE ` + where
}

// encodeFields returns the SQL of the concatenated fields (see
// readQuery) of the comma-separated columns cols, each qualified by p.
func encodeFields(p, cols string) string {
	parts := strings.Split(cols, ",")
	for i, c := range parts {
		c = p + strings.TrimSpace(c)
		parts[i] = "octet_length(" + c + "), ':', " + c
	}
	return "concat(" + strings.Join(parts, ", ") + ")"
}

// readSecret runs one of the read queries with args on a reader
// connection, prepared when the store opened (preparedQueries).
//
// The statement runs under a context without ctx's cancellation: it
// searches a few pages, and a cancellable context costs the driver a
// goroutine per statement. ctx is checked before it starts.
func (s *Store) readSecret(ctx context.Context, query, op string, args ...any) (*rotor.SecretRecord, []*rotor.VersionRecord, error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, storeError(err, nounSecret, op)
	}
	st := s.readerStmts.get(query)
	rows, err := st.QueryContext(context.WithoutCancel(ctx), args...)
	if err != nil {
		return nil, nil, storeError(err, nounSecret, op)
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return nil, nil, storeError(err, nounSecret, op)
		}
		return nil, nil, notFound(nounSecret, op)
	}
	var secret, tags, versions any
	if err := rows.Scan(&secret, &tags, &versions); err != nil {
		return nil, nil, storeError(err, nounSecret, op)
	}
	rec, vs, err := decodeRead(secret, tags, versions)
	if err != nil {
		return nil, nil, storeError(err, nounSecret, op)
	}
	return rec, vs, nil
}

// decodeRead returns the secret and versions of the three columns of a
// read query's row.
func decodeRead(secret, tags, versions any) (*rotor.SecretRecord, []*rotor.VersionRecord, error) {
	rec, err := decodeSecret(secret)
	if err != nil {
		return nil, nil, err
	}
	if rec.Tags, err = decodeTags(tags); err != nil {
		return nil, nil, err
	}
	vs, err := decodeVersions(versions)
	if err != nil {
		return nil, nil, err
	}
	return rec, vs, nil
}

// decodeSecret returns the secret of a secret column.
func decodeSecret(v any) (*rotor.SecretRecord, error) {
	f, err := column(v)
	if err != nil {
		return nil, err
	}
	rec, err := scanSecret(f)
	if err == nil && f.s != "" {
		err = fmt.Errorf("malformed read column: %d bytes after the secret", len(f.s))
	}
	return rec, err
}

// fields reads the fields of an encoded column (see readQuery) in order.
type fields struct {
	s   string
	err error
}

// more reports whether fields remain and no error occurred.
func (f *fields) more() bool { return f.err == nil && f.s != "" }

// next returns the next field; ok is false for a NULL. At the end or on
// malformed input it records an error and returns "".
func (f *fields) next() (v string, ok bool) {
	if f.err != nil {
		return "", false
	}
	i := strings.IndexByte(f.s, ':')
	if i < 0 {
		f.err = fmt.Errorf("malformed read column: %d bytes without a field", len(f.s))
		return "", false
	}
	if i == 0 {
		f.s = f.s[1:]
		return "", false
	}
	n, err := strconv.Atoi(f.s[:i])
	if err != nil || n < 0 || n > len(f.s)-i-1 {
		f.err = fmt.Errorf("malformed read column: bad field length %q", f.s[:i])
		return "", false
	}
	v, f.s = f.s[i+1:i+1+n], f.s[i+1+n:]
	return v, true
}

// str returns the next field, which must not be NULL.
func (f *fields) str() string {
	v, ok := f.next()
	if !ok && f.err == nil {
		f.err = fmt.Errorf("malformed read column: unexpected NULL")
	}
	return v
}

// int returns the next field as an integer.
func (f *fields) int() int64 {
	v := f.str()
	if f.err != nil {
		return 0
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		f.err = fmt.Errorf("malformed read column: %w", err)
	}
	return n
}

// Scan reads the next len(dest) fields into dest, as database/sql's Scan
// would for the types scanSecret uses.
func (f *fields) Scan(dest ...any) error {
	for _, d := range dest {
		switch d := d.(type) {
		case *string:
			*d = f.str()
		case *int64:
			*d = f.int()
		case *bool:
			*d = f.int() != 0
		default:
			return fmt.Errorf("scan into %T", d)
		}
	}
	return f.err
}

// column returns the fields of an encoded column's value: a string, or
// nil (SQL NULL) for none.
func column(v any) (*fields, error) {
	switch v := v.(type) {
	case nil:
		return &fields{}, nil
	case string:
		return &fields{s: v}, nil
	case []byte:
		return &fields{s: string(v)}, nil
	default:
		return nil, fmt.Errorf("read column: %T", v)
	}
}

// decodeTags returns the tags of a tags column, in position order; nil
// for none.
func decodeTags(v any) ([]rotor.Tag, error) {
	f, err := column(v)
	if err != nil {
		return nil, err
	}
	type positioned struct {
		rotor.Tag
		pos int64
	}
	var tags []positioned
	for f.more() {
		tags = append(tags, positioned{pos: f.int(), Tag: rotor.Tag{Key: f.str(), Value: f.str()}})
	}
	if f.err != nil || len(tags) == 0 {
		return nil, f.err
	}
	slices.SortFunc(tags, func(a, b positioned) int { return cmp.Compare(a.pos, b.pos) })
	out := make([]rotor.Tag, len(tags))
	for i, t := range tags {
		out[i] = t.Tag
	}
	return out, nil
}

// decodeLabels returns the labels of a version's labels column (each
// label's length in bytes, ':', the label; migration 0015), sorted (the
// column's order is the triggers'); nil for none.
func decodeLabels(col string) ([]string, error) {
	var out []string
	labels := &fields{s: col}
	for labels.more() {
		out = append(out, labels.str())
	}
	if labels.err != nil {
		return nil, labels.err
	}
	slices.Sort(out)
	return out, nil
}

// decodeVersions returns the versions of a versions column (fields
// readVersionFields) as Versions orders them: oldest (CreatedDate) first,
// ties in insertion order (vkey); nil for none.
func decodeVersions(v any) ([]*rotor.VersionRecord, error) {
	f, err := column(v)
	if err != nil {
		return nil, err
	}
	var out []*rotor.VersionRecord
	var vkeys []int64
	for f.more() {
		v := &rotor.VersionRecord{ID: f.str()}
		kek, sealed := f.next()
		wrapped, _ := f.next()
		ciphertext, _ := f.next()
		if sealed {
			v.Value = &rotor.Sealed{KeyID: kek, WrappedKey: []byte(wrapped), Ciphertext: []byte(ciphertext)}
		}
		v.Binary = f.int() != 0
		v.KmsKeyID = f.str()
		v.CreatedDate, v.LastAccessedDate = fromNanos(f.int()), fromNanos(f.int())
		if v.Stages, err = decodeLabels(f.str()); err != nil {
			return nil, err
		}
		out, vkeys = append(out, v), append(vkeys, f.int())
	}
	if f.err != nil {
		return nil, f.err
	}
	if len(out) > 1 {
		order := make([]int, len(out))
		for i := range order {
			order[i] = i
		}
		slices.SortFunc(order, func(a, b int) int {
			return cmp.Or(out[a].CreatedDate.Compare(out[b].CreatedDate), cmp.Compare(vkeys[a], vkeys[b]))
		})
		sorted := make([]*rotor.VersionRecord, len(out))
		for i, j := range order {
			sorted[i] = out[j]
		}
		out = sorted
	}
	return out, nil
}
