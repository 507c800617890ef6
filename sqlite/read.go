package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"slices"
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

// The read queries select one secret, its tags, its versions and its
// labels in one statement, so they need no transaction: a statement reads
// one snapshot. Each row is a kind, then that kind's columns padded with
// NULLs to readWidth:
//
//	readKindSecret:  secretColumns
//	readKindTag:     position, key, value
//	readKindVersion: versionColumns, rowid
//	readKindLabel:   version_id, stage
//
// The secret's row is read once (MATERIALIZED) and the other three are
// searches of the WITHOUT ROWID tables by their primary-key prefix
// secret_arn (migration 0008), each usually one leaf page; the tags are not
// searched for a secret whose tag_text says it has none.
const (
	readKindSecret = iota
	readKindTag
	readKindVersion
	readKindLabel
)

// readWidth is the number of columns of a read query: the kind, then the
// secret's columns, the widest kind.
var readWidth = 1 + strings.Count(secretColumns, ",") + 1

// The read queries, by name in a region and by ARN.
var (
	readByNameQuery = readQuery("region = ? AND name = ?", "")
	readByARNQuery  = readQuery("arn = ?", "")
)

// readQuery returns the read query of the secrets selected by where (on
// the secrets table). key, when not empty, is a column list that starts
// every row, before the kind ("s.arn, " to tell the rows of several
// secrets apart).
func readQuery(where, key string) string {
	pad := func(cols int) string { return strings.Repeat(", NULL", readWidth-1-cols) }
	return fmt.Sprintf(`WITH s AS MATERIALIZED (SELECT %[1]s, tag_text FROM secrets WHERE %[2]s)
SELECT %[10]s%[3]d, %[1]s FROM s
UNION ALL SELECT %[10]s%[4]d, t.position, t.key, t.value%[5]s
	FROM s CROSS JOIN tags t ON t.secret_arn = s.arn WHERE s.tag_text <> ''
UNION ALL SELECT %[10]s%[6]d, v.id, v.kek_id, v.wrapped_key, v.ciphertext, v.ciphertext IS NULL, v.is_binary,
	v.kms_key_id, v.created_date, v.last_accessed_date, v.rowid%[7]s
	FROM s CROSS JOIN versions v ON v.secret_arn = s.arn
UNION ALL SELECT %[10]s%[8]d, st.version_id, st.stage%[9]s
	FROM s CROSS JOIN stages st ON st.secret_arn = s.arn`,
		secretColumns, where,
		readKindSecret,
		readKindTag, pad(3),
		readKindVersion, pad(10),
		readKindLabel, pad(2),
		key)
}

// readSecret runs one of the read queries with args on a reader
// connection, prepared when the store opened (preparedQueries). The
// version rows carry versionColumns (scanVersion) and then the rowid,
// which orders versions created in the same instant.
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
	var sr secretRows
	vals := make([]any, readWidth)
	ptrs := make([]any, readWidth)
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return nil, nil, storeError(err, nounSecret, op)
		}
		if err := sr.add(vals); err != nil {
			return nil, nil, storeError(err, nounSecret, op)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, nil, storeError(err, nounSecret, op)
	}
	if sr.rec == nil {
		return nil, nil, notFound(nounSecret, op)
	}
	rec, vs := sr.assemble()
	return rec, vs, nil
}

// secretRows collects the rows of one secret returned by a read query
// (see readQuery) and assembles them into what View would return.
type secretRows struct {
	rec    *rotor.SecretRecord
	vs     []*rotor.VersionRecord
	rowids []int64 // of vs, in order
	tags   []positionedTag
	labels [][2]string // version id, stage
}

// add decodes one row: its kind, then that kind's columns (padded).
func (sr *secretRows) add(vals []any) error {
	kind, ok := vals[0].(int64)
	if !ok {
		return fmt.Errorf("row kind %T", vals[0])
	}
	sc := &valueScanner{vals: vals[1:]}
	var err error
	switch kind {
	case readKindSecret:
		sr.rec, err = scanSecret(sc)
	case readKindTag:
		var t positionedTag
		err = sc.Scan(&t.pos, &t.Key, &t.Value)
		sr.tags = append(sr.tags, t)
	case readKindVersion:
		var v *rotor.VersionRecord
		var rowid int64
		v, err = scanVersion(sc)
		if err == nil {
			err = sc.Scan(&rowid)
			sr.vs, sr.rowids = append(sr.vs, v), append(sr.rowids, rowid)
		}
	case readKindLabel:
		var l [2]string
		err = sc.Scan(&l[0], &l[1])
		sr.labels = append(sr.labels, l)
	default:
		err = fmt.Errorf("row kind %d", kind)
	}
	return err
}

// assemble returns the record with its tags in order, and its versions
// oldest first (ties in insertion order, as Versions orders them) with
// their sorted labels. sr.rec must not be nil.
func (sr *secretRows) assemble() (*rotor.SecretRecord, []*rotor.VersionRecord) {
	rec, vs := sr.rec, sr.vs
	slices.SortFunc(sr.tags, func(a, b positionedTag) int { return cmp.Compare(a.pos, b.pos) })
	for _, t := range sr.tags {
		rec.Tags = append(rec.Tags, t.Tag)
	}
	if len(vs) > 1 {
		order := make([]int, len(vs))
		for i := range order {
			order[i] = i
		}
		slices.SortFunc(order, func(a, b int) int {
			return cmp.Or(vs[a].CreatedDate.Compare(vs[b].CreatedDate), cmp.Compare(sr.rowids[a], sr.rowids[b]))
		})
		sorted := make([]*rotor.VersionRecord, len(vs))
		for i, j := range order {
			sorted[i] = vs[j]
		}
		vs = sorted
	}
	slices.SortFunc(sr.labels, func(a, b [2]string) int { return strings.Compare(a[1], b[1]) })
	for _, l := range sr.labels {
		for _, v := range vs {
			if v.ID == l[0] {
				v.Stages = append(v.Stages, l[1])
				break
			}
		}
	}
	return rec, vs
}

// positionedTag is a tag and its position among the secret's tags.
type positionedTag struct {
	rotor.Tag
	pos int64
}

// valueScanner scans the driver's values of a row (read into *any) into
// typed destinations, in order, the way database/sql's Scan would for
// the types the read queries use; each Scan consumes as many values as it
// has destinations.
type valueScanner struct {
	vals []any
}

func (v *valueScanner) Scan(dest ...any) error {
	if len(dest) > len(v.vals) {
		return fmt.Errorf("scan %d values, %d left", len(dest), len(v.vals))
	}
	for i, d := range dest {
		src := v.vals[i]
		ok := true
		switch d := d.(type) {
		case *string:
			switch s := src.(type) {
			case string:
				*d = s
			case []byte:
				*d = string(s)
			default:
				ok = false
			}
		case *sql.NullString:
			switch s := src.(type) {
			case nil:
				*d = sql.NullString{}
			case string:
				*d = sql.NullString{String: s, Valid: true}
			case []byte:
				*d = sql.NullString{String: string(s), Valid: true}
			default:
				ok = false
			}
		case *int64:
			*d, ok = src.(int64)
		case *bool:
			var n int64
			n, ok = src.(int64)
			*d = n != 0
		case *[]byte:
			switch s := src.(type) {
			case nil:
				*d = nil
			case []byte:
				*d = s
			default:
				ok = false
			}
		default:
			return fmt.Errorf("scan into %T", d)
		}
		if !ok {
			return fmt.Errorf("column %d: cannot scan %T into %T", i, src, d)
		}
	}
	v.vals = v.vals[len(dest):]
	return nil
}
