package manager

import (
	"context"
	"math"
	"strconv"
	"time"

	"github.com/rotorhq/rotor"
)

// listQuery is a listing of the secrets of one region, shared by
// ListSecrets and BatchGetSecretValue with Filters.
type listQuery struct {
	region         string
	op             string // part of the token fingerprint
	filters        []rotor.Filter
	rotation       string // "", rotor.RotationOn or rotor.RotationOff
	includeDeleted bool
	sortBy         string
	sortOrder      string
	maxResults     int
	nextToken      string
}

// listResult is one page: the secrets in order, each with its versions
// from the same snapshot, and the token of the next page ("" on the last).
type listResult struct {
	entries []*entry
	next    string
}

// timeKey orders times, the zero time (never) first.
func timeKey(t time.Time) int64 {
	if t.IsZero() {
		return math.MinInt64
	}
	return t.UnixNano()
}

// sortPos is a secret's position in a listing: its sort key and ARN.
type sortPos struct {
	t   int64
	s   string
	arn string
}

func posOf(rec *rotor.SecretRecord, by string) sortPos {
	p := sortPos{arn: rec.ARN}
	switch by {
	case rotor.SortByName:
		p.s = rec.Name
	case rotor.SortByLastChangedDate:
		p.t = timeKey(rec.LastChangedDate)
	case rotor.SortByLastAccessedDate:
		p.t = timeKey(rec.LastAccessedDate)
	default:
		p.t = timeKey(rec.CreatedDate)
	}
	return p
}

// cursor returns p as a store keyset cursor.
func (p sortPos) cursor() *rotor.SecretCursor {
	c := &rotor.SecretCursor{Name: p.s, ARN: p.arn}
	if p.t != math.MinInt64 {
		c.Time = time.Unix(0, p.t).UTC()
	}
	return c
}

// wordBatch is the most secrets a listing with a word filter (description,
// all) reads from the store at a time beyond what the page lacks: the store
// only narrows those filters, so it may return candidates that do not
// match, and each batch that fell short is twice as large as the last.
const wordBatch = 500

// listPage validates q, authorizes the listing ("secretsmanager:ListSecrets"
// on resource "") and reads one page in one store snapshot. def and max are
// the default and maximum page sizes.
func (s *Service) listPage(ctx context.Context, c rotor.Caller, q listQuery, def, max int) (*listResult, error) {
	size, err := pageSize("maxResults", q.maxResults, def, max)
	if err != nil {
		return nil, err
	}
	m, err := compileFilters(q.filters)
	if err != nil {
		return nil, err
	}
	by, order := q.sortBy, q.sortOrder
	if by == "" {
		by = rotor.SortByCreatedDate
	}
	if order == "" {
		order = rotor.SortAsc
	}
	switch by {
	case rotor.SortByCreatedDate, rotor.SortByName, rotor.SortByLastChangedDate, rotor.SortByLastAccessedDate:
	default:
		return nil, errValidation(by, "sortBy",
			"Member must satisfy enum value set: [created-date, last-accessed-date, last-changed-date, name]")
	}
	if order != rotor.SortAsc && order != rotor.SortDesc {
		return nil, errValidation(order, "sortOrder", "Member must satisfy enum value set: [asc, desc]")
	}
	if q.rotation != "" && q.rotation != rotor.RotationOn && q.rotation != rotor.RotationOff {
		return nil, errValidation(q.rotation, "rotation", "Member must satisfy enum value set: [on, off]")
	}
	parts := []string{q.op, q.region, by, order, strconv.FormatBool(q.includeDeleted), "rotation", q.rotation}
	for _, f := range q.filters {
		parts = append(parts, "filter", f.Key)
		parts = append(parts, f.Values...)
	}
	fp := fingerprint(parts...)
	var after *sortPos
	if q.nextToken != "" {
		cur, err := decodeToken(q.nextToken, fp)
		if err != nil {
			return nil, err
		}
		after = &sortPos{t: cur.T, s: cur.S, arn: cur.ID}
	}
	if err := s.authorizeNone(ctx, c, actionListSecrets); err != nil {
		return nil, err
	}

	sq := rotor.SecretQuery{Region: q.region, IncludeDeleted: q.includeDeleted, Filters: m.storeFilters(),
		Contains: m.storeContains(), Rotation: q.rotation, SortBy: by, Desc: order == rotor.SortDesc}
	if after != nil {
		sq.After = after.cursor()
	}
	res := &listResult{}
	err = s.store.View(ctx, func(tx rotor.Tx) error {
		// The store evaluates the prefix filters, the order and the cursor;
		// m.match evaluates every filter again, the word filters included,
		// so a page holds exactly the secrets m matches. A page reads size+1
		// matches, to know whether there is a next one.
		var items []*rotor.SecretRecord
		batch := 0
		for {
			// What the page lacks, or twice the last batch (up to
			// wordBatch) when that is more: a batch falls short only when
			// the store returned candidates a word filter rejects.
			batch = min(2*batch, wordBatch)
			if need := size + 1 - len(items); batch < need {
				batch = need
			}
			sq.Limit = batch
			recs, err := tx.ListSecrets(sq)
			if err != nil {
				return internal("list secrets", err)
			}
			for _, r := range recs {
				if m.match(r) && (q.rotation == "" || r.Rotation.Enabled == (q.rotation == rotor.RotationOn)) {
					items = append(items, r)
				}
				if len(items) > size {
					break
				}
			}
			if len(items) > size || len(recs) < sq.Limit {
				break
			}
			sq.After = posOf(recs[len(recs)-1], by).cursor()
		}
		if len(items) > size {
			items = items[:size]
			last := posOf(items[size-1], by)
			res.next = encodeToken(cursor{F: fp, T: last.t, S: last.s, ID: last.arn})
		}
		arns := make([]string, len(items))
		for i, r := range items {
			arns[i] = r.ARN
		}
		vs, err := tx.VersionsOf(arns)
		if err != nil {
			return internal("versions", err)
		}
		for _, r := range items {
			res.entries = append(res.entries, newEntry(r, vs[r.ARN]))
		}
		return nil
	})
	if err != nil {
		return nil, internal("list secrets", err)
	}
	return res, nil
}

// ListSecrets lists the secrets of the caller's region without values
// (aws-api.md §4): secrets scheduled for deletion only with
// IncludePlannedDeletion; filtered as described on matcher; sorted by
// SortBy (created-date, name, last-changed-date or last-accessed-date;
// ties by ARN) in SortOrder (asc by default); MaxResults per page (1–100,
// default 100) continued by an opaque NextToken. Rotation (Rotor's own, for
// the web console) keeps only the secrets whose rotation is on or off; by
// name, such a page costs the same however few secrets match. The listing
// is authorized as "secretsmanager:ListSecrets" on resource "".
//
// Errors: EVALIDATION for an unknown filter key, sort key, order or
// rotation, or out of range MaxResults; EINVALID for a filter without key or values; ENEXTTOKEN
// for a token this service did not issue for the same region, filters and
// order; EDENIED; EINTERNAL.
func (s *Service) ListSecrets(ctx context.Context, in rotor.ListSecretsInput) (*rotor.ListSecretsOutput, error) {
	c, err := s.begin(ctx)
	if err != nil {
		return nil, err
	}
	q := listQuery{region: c.Region, op: "ListSecrets", filters: in.Filters, rotation: in.Rotation,
		includeDeleted: in.IncludePlannedDeletion, sortBy: in.SortBy, sortOrder: in.SortOrder, maxResults: in.MaxResults,
		nextToken: in.NextToken}
	page, err := s.listPage(ctx, c, q, maxListResults, maxListResults)
	if err != nil {
		return nil, err
	}
	out := &rotor.ListSecretsOutput{NextToken: page.next, Secrets: make([]rotor.SecretDescription, 0, len(page.entries))}
	for _, e := range page.entries {
		out.Secrets = append(out.Secrets, *describe(e))
	}
	return out, nil
}
