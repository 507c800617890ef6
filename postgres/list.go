package postgres

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/rotorhq/rotor"
)

// listSortColumns maps a SecretQuery sort key to its column. Each has an
// index on (region, column, arn) (name: UNIQUE (region, name)), so a page
// is one range scan.
var listSortColumns = map[string]string{
	rotor.SortByCreatedDate:      "created_date",
	rotor.SortByLastChangedDate:  "last_changed_date",
	rotor.SortByLastAccessedDate: "last_accessed_date",
	rotor.SortByName:             "name",
}

// params collects the parameters of a query built piece by piece.
type params []any

// add appends v and returns its placeholder.
func (p *params) add(v any) string {
	*p = append(*p, v)
	return "$" + strconv.Itoa(len(*p))
}

// text appends the text v and returns its placeholder with the C collation
// made explicit, so comparisons with it are byte-wise.
func (p *params) text(v string) string {
	return p.add(v) + ` COLLATE "C"`
}

// ListSecrets returns one page of secrets as q describes it (see
// rotor.SecretQuery), with their tags, in one statement. Prefix filters
// become range conditions on the indexed columns (prefixCond), tag filters
// [NOT] EXISTS on the tags table, the cursor a row-value comparison on
// (sort key, arn); PostgreSQL's planner chooses between scanning the sort
// order's index and starting from a selective filter's.
func (t *tx) ListSecrets(q rotor.SecretQuery) ([]*rotor.SecretRecord, error) {
	const op = "list secrets"
	query, args, err := listSQL(q)
	if err != nil {
		return nil, err
	}
	return queryAll(t, nounSecret, op, scanSecret, query, args...)
}

// listSQL returns the statement of ListSecrets(q) and its arguments.
func listSQL(q rotor.SecretQuery) (string, []any, error) {
	col, ok := listSortColumns[q.SortBy]
	if !ok {
		return "", nil, rotor.Errorf(rotor.EINVALID, "Unknown sort key %q.", q.SortBy)
	}
	if q.Limit < 1 {
		return "", nil, rotor.Errorf(rotor.EINVALID, "The limit must be at least 1.")
	}
	var args params
	where := []string{"FALSE"} // no secret's region is a string text cannot hold
	if textOK(q.Region) {
		where = []string{"s.region = " + args.text(q.Region)}
	}
	switch q.Rotation {
	case "":
	case rotor.RotationOn, rotor.RotationOff:
		where = append(where, "s.rotation_enabled = "+args.add(q.Rotation == rotor.RotationOn))
	default:
		return "", nil, rotor.Errorf(rotor.EINVALID, "Unknown rotation filter %q.", q.Rotation)
	}
	if !q.IncludeDeleted {
		where = append(where, "s.deleted_date = 0")
	}
	for _, f := range q.Filters {
		cond, err := filterSQL(f, &args)
		if err != nil {
			return "", nil, err
		}
		where = append(where, cond)
	}
	for _, c := range q.Contains {
		cond, err := containsSQL(c, &args)
		if err != nil {
			return "", nil, err
		}
		where = append(where, cond)
	}
	dir := "ASC"
	if q.Desc {
		dir = "DESC"
	}
	if q.After != nil {
		where = append(where, cursorSQL(q, col, &args))
	}
	query := secretSelect + `WHERE ` + strings.Join(where, " AND ") +
		fmt.Sprintf(" ORDER BY s.%s %s, s.arn %s LIMIT %s", col, dir, dir, args.add(int64(q.Limit)))
	return query, args, nil
}

// cursorSQL returns the condition that a secret comes strictly after the
// cursor q.After in the order of q on column col. A cursor string that
// text cannot hold is replaced by the least text string above it
// (textCeil), which gives the same condition on the strings text holds.
func cursorSQL(q rotor.SecretQuery, col string, args *params) string {
	c := q.After
	cmp := ">"
	if q.Desc {
		cmp = "<"
	}
	var key string
	if q.SortBy == rotor.SortByName {
		if !textOK(c.Name) {
			// No name equals c.Name: name > c.Name exactly when
			// name >= ceil, name < c.Name when name < ceil.
			ceil, ok := textCeil(c.Name)
			switch {
			case ok && !q.Desc:
				return "s.name >= " + args.text(ceil)
			case ok:
				return "s.name < " + args.text(ceil)
			case !q.Desc:
				return "FALSE" // every name is below c.Name
			}
			return "TRUE"
		}
		key = args.text(c.Name)
	} else {
		key = args.add(toNanos(c.Time))
	}
	if textOK(c.ARN) {
		return fmt.Sprintf("(s.%s, s.arn) %s (%s, %s)", col, cmp, key, args.text(c.ARN))
	}
	// No ARN equals c.ARN: compare with the least text above it, where
	// "after" (ascending) becomes "at or after".
	ceil, ok := textCeil(c.ARN)
	switch {
	case ok && !q.Desc:
		return fmt.Sprintf("(s.%s, s.arn) >= (%s, %s)", col, key, args.text(ceil))
	case ok:
		return fmt.Sprintf("(s.%s, s.arn) < (%s, %s)", col, key, args.text(ceil))
	case !q.Desc: // every ARN is below c.ARN
		return fmt.Sprintf("s.%s > %s", col, key)
	}
	return fmt.Sprintf("s.%s <= %s", col, key)
}

// filterSQL returns the condition (on secrets aliased s) of one prefix
// filter: its values ORed, each negated with NOT when asked.
func filterSQL(f rotor.PrefixFilter, args *params) (string, error) {
	if len(f.Values) == 0 {
		return "", rotor.Errorf(rotor.EINVALID, "The filter %q has no values.", f.Key)
	}
	var conds []string
	for _, v := range f.Values {
		var cond string
		switch f.Key {
		case rotor.FilterName:
			cond = prefixCond("s.name", v.Prefix, args)
		case rotor.FilterPrimaryRegion:
			cond = prefixCond("(CASE WHEN s.primary_region <> '' THEN s.primary_region ELSE s.region END)", v.Prefix, args)
		case rotor.FilterOwningService:
			cond = "(s.owning_service <> '' AND " + prefixCond("s.owning_service", v.Prefix, args) + ")"
		case rotor.FilterTagKey:
			cond = "EXISTS (SELECT 1 FROM tags t WHERE t.secret_arn = s.arn AND " + prefixCond("t.key", v.Prefix, args) + ")"
		case rotor.FilterTagValue:
			cond = "EXISTS (SELECT 1 FROM tags t WHERE t.secret_arn = s.arn AND " + prefixCond("t.value", v.Prefix, args) + ")"
		default:
			return "", rotor.Errorf(rotor.EINVALID, "The store cannot filter on %q.", f.Key)
		}
		if v.Negate {
			cond = "NOT " + cond
		}
		conds = append(conds, cond)
	}
	return "(" + strings.Join(conds, " OR ") + ")", nil
}

// prefixCond returns a condition that the text expr starts with the bytes
// prefix: a range [lo, hi) under the C collation (byte-wise), which an
// index on expr serves, unlike LIKE (wildcards). The bounds come from
// prefixBounds, so a prefix that is not itself text (a UTF-8 sequence cut
// short) matches exactly the strings that start with its bytes.
func prefixCond(expr, prefix string, args *params) string {
	if prefix == "" {
		return "TRUE"
	}
	lo, hi, hasHi, empty := prefixBounds(prefix)
	if empty {
		return "FALSE"
	}
	cond := expr + " >= " + args.text(lo)
	if hasHi {
		cond += " AND " + expr + " < " + args.text(hi)
	}
	return "(" + cond + ")"
}

// containsSQL returns the condition of one ContainsFilter: strpos in the
// ASCII-lowered columns (lower() under the C collation folds ASCII letters
// only, as the contract wants) of the ASCII-lowered needle.
func containsSQL(c rotor.ContainsFilter, args *params) (string, error) {
	for _, all := range c.AnyOf {
		if len(all) == 0 { // holds for every secret; add no parameter
			return "TRUE", nil
		}
	}
	var alts []string
	for _, all := range c.AnyOf {
		var terms []string
		for _, x := range all {
			needle := asciiLower(x)
			var in []string
			for _, f := range c.Fields {
				switch f {
				case rotor.FilterName:
					in = append(in, containsCond("s.name", needle, args))
				case rotor.FilterDescription:
					in = append(in, containsCond("s.description", needle, args))
				case rotor.FilterTagKey:
					in = append(in, "EXISTS (SELECT 1 FROM tags t WHERE t.secret_arn = s.arn AND "+containsCond("t.key", needle, args)+")")
				case rotor.FilterTagValue:
					in = append(in, "EXISTS (SELECT 1 FROM tags t WHERE t.secret_arn = s.arn AND "+containsCond("t.value", needle, args)+")")
				default:
					return "", rotor.Errorf(rotor.EINVALID, "The store cannot search %q.", f)
				}
			}
			if len(in) == 0 {
				return "", rotor.Errorf(rotor.EINVALID, "A contains filter names no field.")
			}
			terms = append(terms, "("+strings.Join(in, " OR ")+")")
		}
		alts = append(alts, "("+strings.Join(terms, " AND ")+")")
	}
	if len(alts) == 0 {
		return "TRUE", nil
	}
	return "(" + strings.Join(alts, " OR ") + ")", nil
}

// containsCond returns a condition that the ASCII-lowered text column col
// contains the bytes needle (already ASCII-lowered). A needle that is not
// valid UTF-8 may still occur inside a character's encoding, so it is
// searched for in the column's bytes; one with a NUL occurs in no text.
func containsCond(col, needle string, args *params) string {
	lowered := `lower(` + col + ` COLLATE "C")`
	switch {
	case textOK(needle):
		return "strpos(" + lowered + ", " + args.add(needle) + ") > 0"
	case strings.IndexByte(needle, 0) >= 0:
		return "FALSE"
	}
	return "position(" + args.add([]byte(needle)) + "::bytea IN convert_to(" + lowered + ", 'UTF8')) > 0"
}

// VersionsOf returns the versions of each of the secrets arns, as Versions
// would, in one statement. Secrets that do not exist or have no version
// are absent from the map.
func (t *tx) VersionsOf(arns []string) (map[string][]*rotor.VersionRecord, error) {
	const op = "versions of"
	out := make(map[string][]*rotor.VersionRecord, len(arns))
	keys := make([]string, 0, len(arns))
	for _, a := range arns {
		if textOK(a) {
			keys = append(keys, a)
		}
	}
	if len(keys) == 0 {
		return out, nil
	}
	err := t.each(nounVersion, op, func(r pgx.Rows) error {
		var arn string
		v, err := scanVersionWith(r, &arn)
		if err == nil {
			out[arn] = append(out[arn], v)
		}
		return err
	}, `SELECT v.secret_arn, `+versionColumns+` FROM versions v WHERE v.secret_arn = ANY ($1::text[])
		ORDER BY v.secret_arn, v.created_date, v.seq`, keys)
	if err != nil {
		return nil, err
	}
	return out, nil
}
