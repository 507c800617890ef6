package sqlite

import (
	"cmp"
	"context"
	"database/sql"
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

// The read queries select one secret, its tags and its versions with
// their labels in one statement, so they need no transaction: a statement
// reads one snapshot. Each row is a kind, then that kind's columns padded
// with NULLs to readWidth:
//
//	readKindSecret:  secretColumns
//	readKindTag:     position, key, value
//	readKindVersion: versionColumns, vkey, labels
//
// The secret's row is read once (MATERIALIZED); its versions are the
// range of versions' rowid (vkey) that its sid owns, with their labels on
// their rows (migration 0015), and the secret_arn test (not indexed: the
// unary +) only guards that range; its tags are a search of the WITHOUT
// ROWID table tags by secret_arn, not made for a secret whose tag_text
// says it has none.
const (
	readKindSecret = iota
	readKindTag
	readKindVersion
)

// readWidth is the number of columns of a read query: the kind, then the
// secret's columns, the widest kind.
var readWidth = 1 + strings.Count(secretColumns, ",") + 1

// The read queries, by name in a region and by ARN.
var (
	readByNameQuery = readQuery("region = ? AND name = ?")
	readByARNQuery  = readQuery("arn = ?")
)

// readQuery returns the read query of the secret selected by where (on
// the secrets table).
func readQuery(where string) string {
	pad := func(cols int) string { return strings.Repeat(", NULL", readWidth-1-cols) }
	return fmt.Sprintf(`WITH s AS MATERIALIZED (SELECT %[1]s, tag_text, sid FROM secrets WHERE %[2]s)
SELECT %[3]d, %[1]s FROM s
UNION ALL SELECT %[4]d, t.position, t.key, t.value%[5]s
	FROM s CROSS JOIN tags t ON t.secret_arn = s.arn WHERE s.tag_text <> ''
UNION ALL SELECT %[6]d, v.id, v.kek_id, v.wrapped_key, v.ciphertext, v.ciphertext IS NULL, v.is_binary,
	v.kms_key_id, v.created_date, v.last_accessed_date, v.vkey, v.labels%[7]s
	FROM s CROSS JOIN versions v
	ON v.vkey BETWEEN s.sid << 32 AND (s.sid << 32) + 4294967295 AND +v.secret_arn = s.arn`,
		secretColumns, where,
		readKindSecret,
		readKindTag, pad(3),
		readKindVersion, pad(11))
}

// readSecret runs one of the read queries with args on a reader
// connection, prepared when the store opened (preparedQueries). The
// version rows carry versionColumns (scanVersion), then the vkey, which
// orders versions created in the same instant, and the labels.
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
	var (
		rec   *rotor.SecretRecord
		vs    []*rotor.VersionRecord
		vkeys []int64 // of vs, in order
		tags  []positionedTag
	)
	vals := make([]any, readWidth)
	ptrs := make([]any, readWidth)
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return nil, nil, storeError(err, nounSecret, op)
		}
		kind, ok := vals[0].(int64)
		if !ok {
			return nil, nil, storeError(fmt.Errorf("row kind %T", vals[0]), nounSecret, op)
		}
		sc := &valueScanner{vals: vals[1:]}
		switch kind {
		case readKindSecret:
			rec, err = scanSecret(sc)
		case readKindTag:
			var t positionedTag
			err = sc.Scan(&t.pos, &t.Key, &t.Value)
			tags = append(tags, t)
		case readKindVersion:
			var v *rotor.VersionRecord
			var vkey int64
			var labels string
			v, err = scanVersion(sc)
			if err == nil {
				err = sc.Scan(&vkey, &labels)
			}
			if err == nil {
				v.Stages, err = parseLabels(labels)
				vs, vkeys = append(vs, v), append(vkeys, vkey)
			}
		default:
			err = fmt.Errorf("row kind %d", kind)
		}
		if err != nil {
			return nil, nil, storeError(err, nounSecret, op)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, nil, storeError(err, nounSecret, op)
	}
	if rec == nil {
		return nil, nil, notFound(nounSecret, op)
	}
	slices.SortFunc(tags, func(a, b positionedTag) int { return cmp.Compare(a.pos, b.pos) })
	for _, t := range tags {
		rec.Tags = append(rec.Tags, t.Tag)
	}
	// As Versions orders them: oldest first, ties in insertion order
	// (vkey's).
	if len(vs) > 1 {
		order := make([]int, len(vs))
		for i := range order {
			order[i] = i
		}
		slices.SortFunc(order, func(a, b int) int {
			return cmp.Or(vs[a].CreatedDate.Compare(vs[b].CreatedDate), cmp.Compare(vkeys[a], vkeys[b]))
		})
		sorted := make([]*rotor.VersionRecord, len(vs))
		for i, j := range order {
			sorted[i] = vs[j]
		}
		vs = sorted
	}
	return rec, vs, nil
}

// parseLabels returns the labels of a version's labels column (migration
// 0015): each label's length in bytes, ':', the label, in order; nil for
// none.
func parseLabels(s string) ([]string, error) {
	var out []string
	for s != "" {
		n, rest, ok := strings.Cut(s, ":")
		size, err := strconv.Atoi(n)
		if !ok || err != nil || size < 0 || size > len(rest) {
			return nil, fmt.Errorf("malformed labels column")
		}
		out = append(out, rest[:size])
		s = rest[size:]
	}
	return out, nil
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
