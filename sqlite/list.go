package sqlite

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/rotorhq/rotor"
)

// listSortColumns maps a SecretQuery sort key to its column. Each has an
// index on (region, column, arn) (migration 0003; name has UNIQUE
// (region, name)), so a page is one range scan.
var listSortColumns = map[string]string{
	rotor.SortByCreatedDate:      "created_date",
	rotor.SortByLastChangedDate:  "last_changed_date",
	rotor.SortByLastAccessedDate: "last_accessed_date",
	rotor.SortByName:             "name",
}

// tagChunk bounds the number of ARNs bound in one tag query.
const tagChunk = 500

// ListSecrets returns one page of secrets as q describes it (see
// rotor.SecretQuery), with their tags. Prefix filters become range
// conditions on the indexed columns, tag filters [NOT] EXISTS on the tags
// table; the cursor is a row-value comparison on (sort key, arn).
func (t *tx) ListSecrets(q rotor.SecretQuery) ([]*rotor.SecretRecord, error) {
	const op = "list secrets"
	query, args, err := t.listSQL(op, q)
	if err != nil {
		return nil, err
	}
	out, err := queryAll(t, nounSecret, op, scanSecret, query, args...)
	if err != nil {
		return nil, err
	}
	for start := 0; start < len(out); start += tagChunk {
		part := out[start:min(len(out), start+tagChunk)]
		arns := make([]any, len(part))
		for i, s := range part {
			arns[i] = s.ARN
		}
		tags, err := t.tags(op, `WHERE secret_arn IN (?`+strings.Repeat(", ?", len(arns)-1)+`)`, arns...)
		if err != nil {
			return nil, err
		}
		for _, s := range part {
			s.Tags = tags[s.ARN]
		}
	}
	if out == nil {
		out = []*rotor.SecretRecord{}
	}
	return out, nil
}

// rotationEnabled maps SecretQuery.Rotation to the rotation_enabled it
// selects; ok is false for "" (any), err set for an unknown value.
func rotationEnabled(r string) (enabled, ok bool, err error) {
	switch r {
	case "":
		return false, false, nil
	case rotor.RotationOn:
		return true, true, nil
	case rotor.RotationOff:
		return false, true, nil
	}
	return false, false, rotor.Errorf(rotor.EINVALID, "Unknown rotation filter %q.", r)
}

// listSQL returns the statement of ListSecrets(q) and its arguments.
func (t *tx) listSQL(op string, q rotor.SecretQuery) (string, []any, error) {
	col, ok := listSortColumns[q.SortBy]
	if !ok {
		return "", nil, rotor.Errorf(rotor.EINVALID, "Unknown sort key %q.", q.SortBy)
	}
	if q.Limit < 1 {
		return "", nil, rotor.Errorf(rotor.EINVALID, "The limit must be at least 1.")
	}
	where := []string{"s.region = ?"}
	args := []any{q.Region}
	if enabled, ok, err := rotationEnabled(q.Rotation); err != nil {
		return "", nil, err
	} else if ok {
		where = append(where, "s.rotation_enabled = ?")
		args = append(args, enabled)
	}
	if !q.IncludeDeleted {
		where = append(where, "s.deleted_date = 0")
	}
	for _, f := range q.Filters {
		cond, fargs, err := filterSQL(f, q.SortBy)
		if err != nil {
			return "", nil, err
		}
		where = append(where, cond)
		args = append(args, fargs...)
	}
	for _, c := range q.Contains {
		cond, cargs, err := containsSQL(c)
		if err != nil {
			return "", nil, err
		}
		where = append(where, cond)
		args = append(args, cargs...)
	}
	dir, cmp := "ASC", ">"
	if q.Desc {
		dir, cmp = "DESC", "<"
	}
	if q.After != nil {
		var key any = toNanos(q.After.Time)
		if q.SortBy == rotor.SortByName {
			key = q.After.Name
		}
		where = append(where, fmt.Sprintf("(s.%s, s.arn) %s (?, ?)", col, cmp))
		args = append(args, key, q.After.ARN)
	}
	from := `secrets s`
	src, srcArgs, err := t.driver(op, q)
	if err != nil {
		return "", nil, err
	}
	if src != "" {
		// CROSS JOIN keeps the few candidates as the outer loop.
		from = `(` + src + `) m CROSS JOIN secrets s ON s.arn = m.arn`
		args = append(srcArgs, args...)
	}
	query := `SELECT ` + prefixed("s.", secretColumns) + ` FROM ` + from + ` WHERE ` + strings.Join(where, " AND ") +
		fmt.Sprintf(" ORDER BY s.%s %s, s.arn %s LIMIT ?", col, dir, dir)
	return query, append(args, q.Limit), nil
}

// ListSecrets has two plans for a filter an index serves: scan the sort
// order's index and test each secret, reading about Limit×N/M rows for M
// matches among N secrets; or start from the M candidates (and sort them).
// Measured at 1,000,000 secrets (bench/listsecrets), a candidate costs
// about driveCost times a scanned row (a random lookup by ARN and the sort
// against a sequential read: the index and the table are both in creation
// order). So a filter drives when it selects at most driveMax rows (counted
// with a LIMIT, index only) and driveCost×M² < Limit×N, N estimated by the
// largest rowid (an upper bound: rowids grow).
const (
	driveMax  = 2000
	driveCost = 16
)

// Plans for tests (SetDrivePlan): choose as above, never drive, or drive
// whenever a filter can.
const (
	planAuto   = "auto"
	planNever  = "never"
	planAlways = "always"
)

var drivePlan = planAuto

// driver returns a query selecting the ARNs (column arn, distinct) of the
// candidates of q's most selective filter that an index serves (a name,
// tag-key or tag-value filter without negation or empty prefix) when the
// listing should start from them (see driveMax); "" otherwise.
func (t *tx) driver(op string, q rotor.SecretQuery) (string, []any, error) {
	if drivePlan == planNever {
		return "", nil, nil
	}
	best, bestN := "", driveMax+1
	if drivePlan == planAlways {
		bestN = math.MaxInt32
	}
	var bestArgs []any
	for _, f := range q.Filters {
		var parts, counts []string // counts: the same rows, index only
		var args []any
		for _, v := range f.Values {
			if v.Negate || v.Prefix == "" {
				parts = nil
				break
			}
			switch f.Key {
			case rotor.FilterName:
				cond, vargs := prefixSQL("name", v.Prefix)
				parts = append(parts, `SELECT arn FROM secrets WHERE region = ? AND `+cond)
				counts = append(counts, `SELECT 1 FROM secrets WHERE region = ? AND `+cond)
				args = append(append(args, q.Region), vargs...)
			case rotor.FilterTagKey, rotor.FilterTagValue:
				col := "key"
				if f.Key == rotor.FilterTagValue {
					col = "value"
				}
				cond, vargs := prefixSQL(col, v.Prefix)
				parts = append(parts, `SELECT secret_arn AS arn FROM tags WHERE `+cond)
				counts = append(counts, `SELECT 1 FROM tags WHERE `+cond)
				args = append(args, vargs...)
			}
		}
		if len(parts) < len(f.Values) {
			continue
		}
		src := strings.Join(parts, " UNION ALL ")
		n, err := queryOne(t, nounSecret, op, scanInt,
			`SELECT count(*) FROM (`+strings.Join(counts, " UNION ALL ")+` LIMIT ?)`, append(slices.Clone(args), bestN)...)
		if err != nil {
			return "", nil, err
		}
		if n < bestN {
			best, bestN, bestArgs = src, n, args
		}
	}
	if best == "" {
		return "", nil, nil
	}
	if drivePlan == planAuto {
		rows, err := queryOne(t, nounSecret, op, scanInt, `SELECT coalesce(max(rowid), 0) FROM secrets`)
		if err != nil {
			return "", nil, err
		}
		if driveCost*bestN*bestN >= q.Limit*rows {
			return "", nil, nil
		}
	}
	return `SELECT DISTINCT arn FROM (` + best + `)`, bestArgs, nil
}

func scanInt(sc scanner) (int, error) {
	var n int
	err := sc.Scan(&n)
	return n, err
}

// Separators of tag_text: each tag is tagKeySep+key+tagValueSep+value, in
// position order. A key or value containing these bytes makes instr find
// more than there is, never less, and the EXISTS on tags decides.
const (
	tagKeySep   = "\x1e"
	tagValueSep = "\x1f"
)

// tagText returns the tag_text of tags.
func tagText(tags []rotor.Tag) string {
	var b strings.Builder
	for _, t := range tags {
		b.WriteString(tagKeySep)
		b.WriteString(t.Key)
		b.WriteString(tagValueSep)
		b.WriteString(t.Value)
	}
	return b.String()
}

// prefixed qualifies each column of a comma-separated list with p.
func prefixed(p, cols string) string {
	parts := strings.Split(cols, ",")
	for i, c := range parts {
		parts[i] = p + strings.TrimSpace(c)
	}
	return strings.Join(parts, ", ")
}

// filterSQL returns the condition (on secrets aliased s) of one prefix
// filter: its values ORed, each negated with NOT when asked. Unless the
// listing is sorted by name, the name is written +s.name, which keeps
// SQLite from answering with a range on the name index and a sort of
// every match (46 ms for a prefix of 10,000 of 1,000,000 secrets, against
// 7 ms scanning the sort order's index): a selective name filter is served
// by driver instead.
func filterSQL(f rotor.PrefixFilter, sortBy string) (string, []any, error) {
	if len(f.Values) == 0 {
		return "", nil, rotor.Errorf(rotor.EINVALID, "The filter %q has no values.", f.Key)
	}
	var conds []string
	var args []any
	for _, v := range f.Values {
		var cond string
		var vargs []any
		switch f.Key {
		case rotor.FilterName:
			col := "+s.name"
			if sortBy == rotor.SortByName {
				col = "s.name"
			}
			cond, vargs = prefixSQL(col, v.Prefix)
		case rotor.FilterPrimaryRegion:
			cond, vargs = prefixSQL("(CASE WHEN s.primary_region <> '' THEN s.primary_region ELSE s.region END)", v.Prefix)
		case rotor.FilterOwningService:
			cond, vargs = prefixSQL("s.owning_service", v.Prefix)
			cond = "(s.owning_service <> '' AND " + cond + ")"
		case rotor.FilterTagKey, rotor.FilterTagValue:
			c, sep := "t.key", tagKeySep
			if f.Key == rotor.FilterTagValue {
				c, sep = "t.value", tagValueSep
			}
			cond, vargs = prefixSQL(c, v.Prefix)
			cond = "EXISTS (SELECT 1 FROM tags t WHERE t.secret_arn = s.arn AND " + cond + ")"
			// tag_text holds sep+key (sep+value) for every tag: when it
			// lacks sep+prefix, no tag matches, and the row is decided
			// without looking at the tags table.
			vargs = append([]any{sep + v.Prefix}, vargs...)
			if v.Negate {
				cond = "(instr(s.tag_text, ?) = 0 OR NOT " + cond + ")"
			} else {
				cond = "(instr(s.tag_text, ?) > 0 AND " + cond + ")"
			}
			conds = append(conds, cond)
			args = append(args, vargs...)
			continue
		default:
			return "", nil, rotor.Errorf(rotor.EINVALID, "The store cannot filter on %q.", f.Key)
		}
		if v.Negate {
			cond = "NOT " + cond
		}
		conds = append(conds, cond)
		args = append(args, vargs...)
	}
	return "(" + strings.Join(conds, " OR ") + ")", args, nil
}

// containsSQL returns the condition of one ContainsFilter: instr on the
// ASCII-lowered columns (SQLite's lower folds ASCII letters only, as the
// contract wants) with the needle ASCII-lowered too.
func containsSQL(c rotor.ContainsFilter) (string, []any, error) {
	var alts []string
	var args []any
	for _, all := range c.AnyOf {
		if len(all) == 0 {
			return "(1 = 1)", nil, nil
		}
		var terms []string
		for _, x := range all {
			needle := asciiLower(x)
			var in []string
			for _, f := range c.Fields {
				switch f {
				case rotor.FilterName:
					in = append(in, "instr(lower(s.name), ?) > 0")
					args = append(args, needle)
				case rotor.FilterDescription:
					in = append(in, "instr(lower(s.description), ?) > 0")
					args = append(args, needle)
				case rotor.FilterTagKey:
					in = append(in, "EXISTS (SELECT 1 FROM tags t WHERE t.secret_arn = s.arn AND instr(lower(t.key), ?) > 0)")
					args = append(args, needle)
				case rotor.FilterTagValue:
					in = append(in, "EXISTS (SELECT 1 FROM tags t WHERE t.secret_arn = s.arn AND instr(lower(t.value), ?) > 0)")
					args = append(args, needle)
				default:
					return "", nil, rotor.Errorf(rotor.EINVALID, "The store cannot search %q.", f)
				}
			}
			if len(in) == 0 {
				return "", nil, rotor.Errorf(rotor.EINVALID, "A contains filter names no field.")
			}
			terms = append(terms, "("+strings.Join(in, " OR ")+")")
		}
		alts = append(alts, "("+strings.Join(terms, " AND ")+")")
	}
	if len(alts) == 0 {
		return "(1 = 1)", nil, nil
	}
	return "(" + strings.Join(alts, " OR ") + ")", args, nil
}

// asciiLower lowers the ASCII letters of s, leaving every other byte.
func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// prefixSQL returns a condition that expr starts with prefix, byte-wise:
// the range [prefix, successor) under SQLite's BINARY collation (memcmp),
// which an index on expr serves, unlike LIKE (case-insensitive) or GLOB
// (wildcards). The empty prefix matches everything.
func prefixSQL(expr, prefix string) (string, []any) {
	if prefix == "" {
		return "(1 = 1)", nil
	}
	if end, ok := prefixEnd(prefix); ok {
		return "(" + expr + " >= ? AND " + expr + " < ?)", []any{prefix, end}
	}
	return "(" + expr + " >= ?)", []any{prefix}
}

// prefixEnd returns the least string greater than every string that starts
// with p: p without its trailing 0xFF bytes, last byte incremented. ok is
// false when there is none (p is all 0xFF bytes).
func prefixEnd(p string) (end string, ok bool) {
	b := []byte(p)
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] != 0xFF {
			b[i]++
			return string(b[:i+1]), true
		}
	}
	return "", false
}

// VersionsOf returns the versions of each of the secrets arns, as Versions
// would, in one query per 500 ARNs: each secret's row by ARN with its
// versions' rowid range encoded as Versions reads it (versionsColumn,
// labels on the version rows). Secrets that do not exist or have no
// version are absent from the map.
func (t *tx) VersionsOf(arns []string) (map[string][]*rotor.VersionRecord, error) {
	const op = "versions of"
	out := make(map[string][]*rotor.VersionRecord, len(arns))
	for start := 0; start < len(arns); start += tagChunk {
		part := arns[start:min(len(arns), start+tagChunk)]
		args := make([]any, len(part))
		for i, a := range part {
			args[i] = a
		}
		err := t.each(nounVersion, op, func(sc scanner) error {
			var arn string
			var enc any
			if err := sc.Scan(&arn, &enc); err != nil {
				return err
			}
			vs, err := decodeVersions(enc)
			if err == nil && len(vs) > 0 {
				out[arn] = vs
			}
			return err
		}, versionsOfQuery(len(args)), args...)
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// versionsOfQuery is VersionsOf's query of n ARNs.
func versionsOfQuery(n int) string {
	return `SELECT s.arn, ` + versionsColumn + ` FROM secrets s WHERE s.arn IN (?` + strings.Repeat(", ?", n-1) + `)`
}
