package storetest

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/rotorhq/rotor"
)

// The ListSecrets tests check Tx.ListSecrets against sortedRef, a plain
// implementation of rotor.SecretQuery's rules over the fixture records,
// and pin the rules sortedRef could get wrong with hand-written cases.

var listSortKeys = []string{rotor.SortByCreatedDate, rotor.SortByName, rotor.SortByLastChangedDate, rotor.SortByLastAccessedDate}

// listFixture creates secrets that exercise every rule of SecretQuery:
// names differing in case and in multi-byte and LIKE-special characters,
// equal creation dates (ties broken by ARN), zero and non-zero
// last-changed and last-accessed dates, tags, owning services, primary
// regions, rotation enabled, configured but disabled, and never set,
// deleted secrets, and a secret of another region with a matching name.
func listFixture(t *testing.T, s rotor.Store) []*rotor.SecretRecord {
	t.Helper()
	mk := func(name string, created int, mod func(*rotor.SecretRecord)) *rotor.SecretRecord {
		r := secret(region1, name, at(created))
		if mod != nil {
			mod(r)
		}
		return r
	}
	rotating := func(enabled bool) rotor.RotationConfig {
		return rotor.RotationConfig{Configured: true, Enabled: enabled, LambdaARN: rotor.LambdaARN(region1, "000000000000", "fn"),
			Rules: rotor.RotationRules{AutomaticallyAfterDays: 30}}
	}
	tags := func(kv ...string) func(*rotor.SecretRecord) {
		return func(r *rotor.SecretRecord) {
			for i := 0; i < len(kv); i += 2 {
				r.Tags = append(r.Tags, rotor.Tag{Key: kv[i], Value: kv[i+1]})
			}
			r.TagsEverSet = true
		}
	}
	recs := []*rotor.SecretRecord{
		mk("app/db", 1, func(r *rotor.SecretRecord) {
			tags("env", "prod", "team", "core", "tier", "prod-1")(r)
			r.Description = "Main DB password"
			r.Rotation = rotating(true)
		}),
		mk("app/cache", 1, tags("env", "dev")),
		mk("App/web", 2, func(r *rotor.SecretRecord) {
			tags("Env", "prod")(r)
			r.LastChangedDate, r.LastAccessedDate = at(50), at(40)
		}),
		mk("apple", 3, func(r *rotor.SecretRecord) { r.LastChangedDate, r.Description = at(10), "PASSWORD for apple" }),
		mk("app%_x", 3, func(r *rotor.SecretRecord) { r.LastAccessedDate = at(40) }),
		mk("appz", 4, func(r *rotor.SecretRecord) {
			r.OwningService, r.LastChangedDate, r.Rotation = "rds", at(10), rotating(false)
		}),
		mk("éclair", 5, func(r *rotor.SecretRecord) {
			tags("envy", "x", "région", "été")(r)
			r.Description = "Éclair au café"
			r.Rotation = rotating(true)
		}),
		mk("ébène", 5, func(r *rotor.SecretRecord) { r.OwningService = "rds-proxy"; r.PrimaryRegion = region2 }),
		// A tag key holding the bytes a store may use as separators.
		mk("zed", 6, func(r *rotor.SecretRecord) { tags("k\x1fprod\x1e", "\x1eenv")(r); r.PrimaryRegion = "us-east-2" }),
		mk("gone-app", 7, func(r *rotor.SecretRecord) {
			tags("env", "prod")(r)
			r.DeletedDate, r.PurgeDate = at(8), at(9)
			r.Rotation = rotating(true)
		}),
		mk("gone-zed", 0, func(r *rotor.SecretRecord) { r.DeletedDate, r.PurgeDate = at(8), at(9) }),
		mk("untagged-but-once", 8, func(r *rotor.SecretRecord) { r.TagsEverSet = true }),
	}
	other := secret(region2, "app/db", at(1))
	other.Tags = []rotor.Tag{{Key: "env", Value: "prod"}}
	other.Rotation = rotating(true)
	createSecrets(t, s, append([]*rotor.SecretRecord{other}, recs...)...)
	return recs
}

// listCmp compares two positions in q's order.
func listCmp(q rotor.SecretQuery, a, b rotor.SecretCursor) int {
	c := 0
	if q.SortBy == rotor.SortByName {
		c = strings.Compare(a.Name, b.Name)
	} else {
		c = a.Time.Compare(b.Time)
	}
	if c == 0 {
		c = strings.Compare(a.ARN, b.ARN)
	}
	if q.Desc {
		c = -c
	}
	return c
}

// cursorOf returns the position of r in the order of sortBy.
func cursorOf(r *rotor.SecretRecord, sortBy string) rotor.SecretCursor {
	c := rotor.SecretCursor{ARN: r.ARN}
	switch sortBy {
	case rotor.SortByName:
		c.Name = r.Name
	case rotor.SortByLastChangedDate:
		c.Time = r.LastChangedDate
	case rotor.SortByLastAccessedDate:
		c.Time = r.LastAccessedDate
	default:
		c.Time = r.CreatedDate
	}
	return c
}

// sortedRef returns the secrets of recs that q selects, in q's order, at
// most q.Limit of them (all when Limit is 0).
func sortedRef(recs []*rotor.SecretRecord, q rotor.SecretQuery) []*rotor.SecretRecord {
	var out []*rotor.SecretRecord
	for _, r := range recs {
		if r.Region != q.Region || (!r.DeletedDate.IsZero() && !q.IncludeDeleted) || !refMatch(r, q.Filters) {
			continue
		}
		if q.Rotation != "" && r.Rotation.Enabled != (q.Rotation == rotor.RotationOn) {
			continue
		}
		if q.After != nil && listCmp(q, cursorOf(r, q.SortBy), *q.After) <= 0 {
			continue
		}
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b *rotor.SecretRecord) int {
		return listCmp(q, cursorOf(a, q.SortBy), cursorOf(b, q.SortBy))
	})
	if q.Limit > 0 && len(out) > q.Limit {
		out = out[:q.Limit]
	}
	return out
}

func refMatch(r *rotor.SecretRecord, fs []rotor.PrefixFilter) bool {
	for _, f := range fs {
		var attrs []string
		switch f.Key {
		case rotor.FilterName:
			attrs = []string{r.Name}
		case rotor.FilterTagKey:
			for _, t := range r.Tags {
				attrs = append(attrs, t.Key)
			}
		case rotor.FilterTagValue:
			for _, t := range r.Tags {
				attrs = append(attrs, t.Value)
			}
		case rotor.FilterPrimaryRegion:
			attrs = []string{r.PrimaryRegion}
			if r.PrimaryRegion == "" {
				attrs = []string{r.Region}
			}
		case rotor.FilterOwningService:
			if r.OwningService != "" {
				attrs = []string{r.OwningService}
			}
		}
		ok := false
		for _, v := range f.Values {
			hit := slices.ContainsFunc(attrs, func(a string) bool { return strings.HasPrefix(a, v.Prefix) })
			ok = ok || hit != v.Negate
		}
		if !ok {
			return false
		}
	}
	return true
}

func names(recs []*rotor.SecretRecord) []string {
	out := make([]string, len(recs))
	for i, r := range recs {
		out[i] = r.Name
	}
	return out
}

// listAll runs q in its own View.
func listAll(t *testing.T, s rotor.Store, q rotor.SecretQuery) []*rotor.SecretRecord {
	t.Helper()
	var got []*rotor.SecretRecord
	view(t, s, func(tx rotor.Tx) (err error) {
		got, err = tx.ListSecrets(q)
		return err
	})
	return got
}

func fmtQuery(q rotor.SecretQuery) string {
	after := "<nil>"
	if q.After != nil {
		after = fmt.Sprintf("%+v", *q.After)
	}
	return fmt.Sprintf("{%s deleted=%v rotation=%q filters=%+v sort=%s desc=%v after=%s limit=%d}",
		q.Region, q.IncludeDeleted, q.Rotation, q.Filters, q.SortBy, q.Desc, after, q.Limit)
}

// testListSecretsOrder: every sort key in both orders, with and without
// deleted secrets, read whole and page by page (limits 1 to 4, each page
// starting after the last secret of the previous one), returns the
// secrets in the order of sortedRef, full records with their tags.
func testListSecretsOrder(t *testing.T, s rotor.Store) {
	recs := listFixture(t, s)
	for _, by := range listSortKeys {
		for _, desc := range []bool{false, true} {
			for _, del := range []bool{false, true} {
				q := rotor.SecretQuery{Region: region1, IncludeDeleted: del, SortBy: by, Desc: desc, Limit: 1000}
				want := sortedRef(recs, q)
				got := listAll(t, s, q)
				if !slices.Equal(names(got), names(want)) {
					t.Errorf("ListSecrets(%s) = %q, want %q", fmtQuery(q), names(got), names(want))
					continue
				}
				for i := range got {
					sameSecret(t, "ListSecrets "+by+" "+got[i].Name, got[i], want[i])
				}
				for limit := 1; limit <= 4; limit++ {
					q.Limit, q.After = limit, nil
					var paged []*rotor.SecretRecord
					for n := 0; n <= len(want); n++ {
						page := listAll(t, s, q)
						if len(page) > limit {
							t.Fatalf("ListSecrets(%s) returned %d secrets", fmtQuery(q), len(page))
						}
						paged = append(paged, page...)
						if len(page) < limit {
							break
						}
						c := cursorOf(page[len(page)-1], by)
						q.After = &c
					}
					if !slices.Equal(names(paged), names(want)) {
						t.Errorf("ListSecrets sort=%s desc=%v deleted=%v by pages of %d = %q, want %q",
							by, desc, del, limit, names(paged), names(want))
					}
				}
			}
		}
	}
	if got := listAll(t, s, rotor.SecretQuery{Region: "ap-south-1", SortBy: rotor.SortByName, Limit: 10}); got == nil || len(got) != 0 {
		t.Errorf("ListSecrets(empty region) = %v, want an empty slice", got)
	}
}

// testListSecretsRotation: the rotation filter keeps the secrets whose
// rotation is enabled (on) or not (off: never configured, or configured
// and disabled), in every order, whole and page by page, alone and with
// the other filters; the fixture's expectations are pinned by hand too.
func testListSecretsRotation(t *testing.T, s rotor.Store) {
	recs := listFixture(t, s)
	name := func(p string) []rotor.PrefixFilter {
		return []rotor.PrefixFilter{{Key: rotor.FilterName, Values: []rotor.PrefixValue{{Prefix: p}}}}
	}
	for _, tc := range []struct {
		rotation string
		deleted  bool
		filters  []rotor.PrefixFilter
		want     []string // by name
	}{
		{rotor.RotationOn, false, nil, []string{"app/db", "éclair"}},
		{rotor.RotationOn, true, nil, []string{"app/db", "gone-app", "éclair"}},
		{rotor.RotationOn, false, name("app"), []string{"app/db"}},
		{rotor.RotationOff, false, name("app"), []string{"app%_x", "app/cache", "apple", "appz"}},
		{rotor.RotationOn, false, []rotor.PrefixFilter{{Key: rotor.FilterTagKey, Values: []rotor.PrefixValue{{Prefix: "env"}}}},
			[]string{"app/db", "éclair"}},
	} {
		q := rotor.SecretQuery{Region: region1, Rotation: tc.rotation, IncludeDeleted: tc.deleted, Filters: tc.filters,
			SortBy: rotor.SortByName, Limit: 100}
		if got := names(listAll(t, s, q)); !slices.Equal(got, tc.want) {
			t.Errorf("ListSecrets(%s) = %q, want %q", fmtQuery(q), got, tc.want)
		}
	}
	for _, rotation := range []string{rotor.RotationOn, rotor.RotationOff} {
		for _, by := range listSortKeys {
			for _, desc := range []bool{false, true} {
				q := rotor.SecretQuery{Region: region1, Rotation: rotation, IncludeDeleted: true, SortBy: by, Desc: desc, Limit: 1000}
				want := sortedRef(recs, q)
				if got := listAll(t, s, q); !slices.Equal(names(got), names(want)) {
					t.Errorf("ListSecrets(%s) = %q, want %q", fmtQuery(q), names(got), names(want))
				}
				q.Limit = 2
				var paged []*rotor.SecretRecord
				for n := 0; n <= len(want); n++ {
					page := listAll(t, s, q)
					paged = append(paged, page...)
					if len(page) < q.Limit {
						break
					}
					c := cursorOf(page[len(page)-1], by)
					q.After = &c
				}
				if !slices.Equal(names(paged), names(want)) {
					t.Errorf("ListSecrets rotation=%s sort=%s desc=%v by pages of 2 = %q, want %q",
						rotation, by, desc, names(paged), names(want))
				}
			}
		}
	}
}

// testListSecretsCreatedTies pins the rules sortedRef relies on: equal
// creation dates break ties by ARN, a zero date sorts first, and the cursor
// is exclusive on (key, ARN).
func testListSecretsCreatedTies(t *testing.T, s rotor.Store) {
	recs := listFixture(t, s)
	// app/db and app/cache share a creation date; their ARNs order them.
	var db, cache *rotor.SecretRecord
	for _, r := range recs {
		switch r.Name {
		case "app/db":
			db = r
		case "app/cache":
			cache = r
		}
	}
	first, second := db, cache
	if cache.ARN < db.ARN {
		first, second = cache, db
	}
	got := listAll(t, s, rotor.SecretQuery{Region: region1, SortBy: rotor.SortByCreatedDate, Limit: 2})
	if want := []string{first.Name, second.Name}; !slices.Equal(names(got), want) {
		t.Errorf("first two by created-date = %q, want %q (tie broken by ARN)", names(got), want)
	}
	c := cursorOf(first, rotor.SortByCreatedDate)
	got = listAll(t, s, rotor.SecretQuery{Region: region1, SortBy: rotor.SortByCreatedDate, After: &c, Limit: 1})
	if want := []string{second.Name}; !slices.Equal(names(got), want) {
		t.Errorf("after %s by created-date = %q, want %q", first.Name, names(got), want)
	}
	// Zero last-accessed dates come first, ascending; last, descending.
	got = listAll(t, s, rotor.SecretQuery{Region: region1, SortBy: rotor.SortByLastAccessedDate, Desc: true, Limit: 1000})
	if n := len(got); n < 3 || got[0].LastAccessedDate.IsZero() || !got[n-1].LastAccessedDate.IsZero() {
		t.Errorf("by last-accessed-date desc = %q: want the dated secrets first", names(got))
	}
}

// testListSecretsFilters checks each filter kind, negation, OR within a
// filter and AND between filters against hand-written results.
func testListSecretsFilters(t *testing.T, s rotor.Store) {
	recs := listFixture(t, s)
	v := func(p string) rotor.PrefixValue {
		if strings.HasPrefix(p, "!") {
			return rotor.PrefixValue{Prefix: p[1:], Negate: true}
		}
		return rotor.PrefixValue{Prefix: p}
	}
	f := func(key string, values ...string) rotor.PrefixFilter {
		pf := rotor.PrefixFilter{Key: key}
		for _, s := range values {
			pf.Values = append(pf.Values, v(s))
		}
		return pf
	}
	live := []string{"App/web", "app%_x", "app/cache", "app/db", "apple", "appz", "untagged-but-once", "zed", "ébène", "éclair"}
	for _, tc := range []struct {
		name    string
		filters []rotor.PrefixFilter
		deleted bool
		want    []string // by name, ascending
	}{
		{"name is a case-sensitive prefix", []rotor.PrefixFilter{f(rotor.FilterName, "app")}, false,
			[]string{"app%_x", "app/cache", "app/db", "apple", "appz"}},
		{"name with an upper-case prefix", []rotor.PrefixFilter{f(rotor.FilterName, "App")}, false, []string{"App/web"}},
		{"name prefix with LIKE wildcards is literal", []rotor.PrefixFilter{f(rotor.FilterName, "app%")}, false, []string{"app%_x"}},
		{"name prefix _ is literal", []rotor.PrefixFilter{f(rotor.FilterName, "app_")}, false, nil},
		{"name prefix of a multi-byte character", []rotor.PrefixFilter{f(rotor.FilterName, "\xc3")}, false, []string{"ébène", "éclair"}},
		{"name prefix é", []rotor.PrefixFilter{f(rotor.FilterName, "éc")}, false, []string{"éclair"}},
		{"whole name", []rotor.PrefixFilter{f(rotor.FilterName, "appz")}, false, []string{"appz"}},
		{"longer than the name", []rotor.PrefixFilter{f(rotor.FilterName, "appzz")}, false, nil},
		{"empty name prefix", []rotor.PrefixFilter{f(rotor.FilterName, "")}, false, live},
		{"negated name", []rotor.PrefixFilter{f(rotor.FilterName, "!app")}, false,
			[]string{"App/web", "untagged-but-once", "zed", "ébène", "éclair"}},
		{"negated empty name prefix", []rotor.PrefixFilter{f(rotor.FilterName, "!")}, false, nil},
		{"name values OR", []rotor.PrefixFilter{f(rotor.FilterName, "zed", "appl")}, false, []string{"apple", "zed"}},
		{"deleted included", []rotor.PrefixFilter{f(rotor.FilterName, "gone")}, true, []string{"gone-app", "gone-zed"}},
		{"deleted left out", []rotor.PrefixFilter{f(rotor.FilterName, "gone")}, false, nil},
		{"tag-key", []rotor.PrefixFilter{f(rotor.FilterTagKey, "env")}, false, []string{"app/cache", "app/db", "éclair"}},
		{"tag-key is case-sensitive", []rotor.PrefixFilter{f(rotor.FilterTagKey, "Env")}, false, []string{"App/web"}},
		{"empty tag-key prefix: any tag", []rotor.PrefixFilter{f(rotor.FilterTagKey, "")}, false,
			[]string{"App/web", "app/cache", "app/db", "zed", "éclair"}},
		{"tag-key with separator bytes", []rotor.PrefixFilter{f(rotor.FilterTagKey, "k\x1fp")}, false, []string{"zed"}},
		{"tag-value with separator bytes", []rotor.PrefixFilter{f(rotor.FilterTagValue, "\x1e")}, false, []string{"zed"}},
		{"negated tag-key includes untagged", []rotor.PrefixFilter{f(rotor.FilterTagKey, "!env")}, false,
			[]string{"App/web", "app%_x", "apple", "appz", "untagged-but-once", "zed", "ébène"}},
		{"negated tag-key: no key of the secret may match", []rotor.PrefixFilter{f(rotor.FilterTagKey, "!team")}, false,
			[]string{"App/web", "app%_x", "app/cache", "apple", "appz", "untagged-but-once", "zed", "ébène", "éclair"}},
		{"tag-value", []rotor.PrefixFilter{f(rotor.FilterTagValue, "prod")}, false, []string{"App/web", "app/db"}},
		{"tag-value multi-byte", []rotor.PrefixFilter{f(rotor.FilterTagValue, "ét")}, false, []string{"éclair"}},
		{"tag-value OR negated", []rotor.PrefixFilter{f(rotor.FilterTagValue, "dev", "!prod")}, false,
			[]string{"app%_x", "app/cache", "apple", "appz", "untagged-but-once", "zed", "ébène", "éclair"}},
		{"tag key AND value, from different tags", []rotor.PrefixFilter{f(rotor.FilterTagKey, "team"), f(rotor.FilterTagValue, "prod")}, false,
			[]string{"app/db"}},
		{"primary-region defaults to the region", []rotor.PrefixFilter{f(rotor.FilterPrimaryRegion, region1)}, false,
			[]string{"App/web", "app%_x", "app/cache", "app/db", "apple", "appz", "untagged-but-once", "éclair"}},
		{"primary-region prefix", []rotor.PrefixFilter{f(rotor.FilterPrimaryRegion, "us-east-")}, false,
			[]string{"App/web", "app%_x", "app/cache", "app/db", "apple", "appz", "untagged-but-once", "zed", "éclair"}},
		{"primary-region set", []rotor.PrefixFilter{f(rotor.FilterPrimaryRegion, "eu")}, false, []string{"ébène"}},
		{"negated primary-region", []rotor.PrefixFilter{f(rotor.FilterPrimaryRegion, "!us-east-1")}, false, []string{"zed", "ébène"}},
		{"owning-service", []rotor.PrefixFilter{f(rotor.FilterOwningService, "rds")}, false, []string{"appz", "ébène"}},
		{"empty owning-service prefix needs one", []rotor.PrefixFilter{f(rotor.FilterOwningService, "")}, false, []string{"appz", "ébène"}},
		{"negated owning-service includes none", []rotor.PrefixFilter{f(rotor.FilterOwningService, "!rds-")}, false,
			[]string{"App/web", "app%_x", "app/cache", "app/db", "apple", "appz", "untagged-but-once", "zed", "éclair"}},
		{"filters AND", []rotor.PrefixFilter{f(rotor.FilterName, "app"), f(rotor.FilterTagKey, "!env"), f(rotor.FilterOwningService, "!x")}, false,
			[]string{"app%_x", "apple", "appz"}},
	} {
		q := rotor.SecretQuery{Region: region1, IncludeDeleted: tc.deleted, Filters: tc.filters, SortBy: rotor.SortByName, Limit: 1000}
		got := names(listAll(t, s, q))
		if len(got) == 0 {
			got = nil
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s: ListSecrets(%s) = %q, want %q", tc.name, fmtQuery(q), got, tc.want)
		}
		if ref := names(sortedRef(recs, q)); !slices.Equal(ref, got) && len(ref)+len(got) > 0 {
			t.Errorf("%s: the suite's reference gives %q, the store %q", tc.name, ref, got)
		}
		// The same filter in every other order, paged by 2.
		for _, by := range listSortKeys {
			q := rotor.SecretQuery{Region: region1, IncludeDeleted: tc.deleted, Filters: tc.filters, SortBy: by, Desc: true, Limit: 2}
			want := names(sortedRef(recs, rotor.SecretQuery{Region: region1, IncludeDeleted: tc.deleted, Filters: tc.filters, SortBy: by, Desc: true}))
			var paged []string
			for n := 0; n <= len(recs); n++ {
				page := listAll(t, s, q)
				paged = append(paged, names(page)...)
				if len(page) < q.Limit {
					break
				}
				c := cursorOf(page[len(page)-1], by)
				q.After = &c
			}
			if !slices.Equal(paged, want) && len(paged)+len(want) > 0 {
				t.Errorf("%s: by %s desc, pages of 2 = %q, want %q", tc.name, by, paged, want)
			}
		}
	}
}

// testListSecretsTagsUpdated: tag filters see tags changed by
// UpdateSecret, added and removed.
func testListSecretsTagsUpdated(t *testing.T, s rotor.Store) {
	recs := listFixture(t, s)
	byName := map[string]*rotor.SecretRecord{}
	for _, r := range recs {
		byName[r.Name] = r
	}
	update(t, s, func(tx rotor.Tx) error {
		apple := *byName["apple"]
		apple.Tags = []rotor.Tag{{Key: "env", Value: "late"}}
		cache := *byName["app/cache"]
		cache.Tags = nil
		if err := tx.UpdateSecret(&apple); err != nil {
			return err
		}
		return tx.UpdateSecret(&cache)
	})
	for _, tc := range []struct {
		f    rotor.PrefixFilter
		want []string
	}{
		{rotor.PrefixFilter{Key: rotor.FilterTagKey, Values: []rotor.PrefixValue{{Prefix: "env"}}}, []string{"app/db", "apple", "éclair"}},
		{rotor.PrefixFilter{Key: rotor.FilterTagValue, Values: []rotor.PrefixValue{{Prefix: "la"}}}, []string{"apple"}},
		{rotor.PrefixFilter{Key: rotor.FilterTagValue, Values: []rotor.PrefixValue{{Prefix: "dev"}}}, nil},
		{rotor.PrefixFilter{Key: rotor.FilterTagKey, Values: []rotor.PrefixValue{{Prefix: "", Negate: true}}}, []string{"app%_x", "app/cache", "appz", "untagged-but-once", "ébène"}},
	} {
		q := rotor.SecretQuery{Region: region1, Filters: []rotor.PrefixFilter{tc.f}, SortBy: rotor.SortByName, Limit: 100}
		got := names(listAll(t, s, q))
		if len(got) == 0 {
			got = nil
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("after UpdateSecret, ListSecrets(%s) = %q, want %q", fmtQuery(q), got, tc.want)
		}
	}
}

// testListSecretsContains checks ContainsFilter against hand-written
// results: ASCII letters fold, other bytes do not, strings of one element
// may occur in different fields, elements are ORed, filters ANDed.
func testListSecretsContains(t *testing.T, s rotor.Store) {
	listFixture(t, s)
	desc := []string{rotor.FilterDescription}
	live := []string{"App/web", "app%_x", "app/cache", "app/db", "apple", "appz", "untagged-but-once", "zed", "ébène", "éclair"}
	for _, tc := range []struct {
		name     string
		contains []rotor.ContainsFilter
		filters  []rotor.PrefixFilter
		want     []string
	}{
		{"ASCII letters fold", []rotor.ContainsFilter{{Fields: desc, AnyOf: [][]string{{"password"}}}}, nil, []string{"app/db", "apple"}},
		{"needle folds too", []rotor.ContainsFilter{{Fields: desc, AnyOf: [][]string{{"PassWord"}}}}, nil, []string{"app/db", "apple"}},
		{"non-ASCII letters do not fold", []rotor.ContainsFilter{{Fields: desc, AnyOf: [][]string{{"éclair"}}}}, nil, nil},
		{"non-ASCII exact", []rotor.ContainsFilter{{Fields: desc, AnyOf: [][]string{{"Éclair", "CAFÉ"}}}}, nil, nil},
		{"non-ASCII exact, ASCII folded", []rotor.ContainsFilter{{Fields: desc, AnyOf: [][]string{{"Éclair", "AU CAF"}}}}, nil, []string{"éclair"}},
		{"substring anywhere", []rotor.ContainsFilter{{Fields: desc, AnyOf: [][]string{{"ssw"}}}}, nil, []string{"app/db", "apple"}},
		{"name", []rotor.ContainsFilter{{Fields: []string{rotor.FilterName}, AnyOf: [][]string{{"APP/"}}}}, nil,
			[]string{"App/web", "app/cache", "app/db"}},
		{"LIKE wildcards are literal", []rotor.ContainsFilter{{Fields: []string{rotor.FilterName}, AnyOf: [][]string{{"%_"}}}}, nil,
			[]string{"app%_x"}},
		{"tag keys and values", []rotor.ContainsFilter{{Fields: []string{rotor.FilterTagKey, rotor.FilterTagValue}, AnyOf: [][]string{{"pro"}}}}, nil,
			[]string{"App/web", "app/db", "zed"}},
		{"tag keys only", []rotor.ContainsFilter{{Fields: []string{rotor.FilterTagKey}, AnyOf: [][]string{{"pro"}}}}, nil, []string{"zed"}},
		{"strings of one element in different fields", []rotor.ContainsFilter{{Fields: []string{rotor.FilterName, rotor.FilterDescription},
			AnyOf: [][]string{{"main", "app/"}}}}, nil, []string{"app/db"}},
		{"all strings of an element", []rotor.ContainsFilter{{Fields: desc, AnyOf: [][]string{{"main", "zzz"}}}}, nil, nil},
		{"elements OR", []rotor.ContainsFilter{{Fields: desc, AnyOf: [][]string{{"main", "zzz"}, {"apple"}}}}, nil, []string{"apple"}},
		{"empty AnyOf holds", []rotor.ContainsFilter{{Fields: desc}}, nil, live},
		{"empty element holds", []rotor.ContainsFilter{{Fields: desc, AnyOf: [][]string{{"zzz"}, {}}}}, nil, live},
		{"contains AND contains", []rotor.ContainsFilter{{Fields: desc, AnyOf: [][]string{{"password"}}},
			{Fields: []string{rotor.FilterTagKey}, AnyOf: [][]string{{"team"}}}}, nil, []string{"app/db"}},
		{"contains AND prefix", []rotor.ContainsFilter{{Fields: desc, AnyOf: [][]string{{"password"}}}},
			[]rotor.PrefixFilter{{Key: rotor.FilterTagKey, Values: []rotor.PrefixValue{{Prefix: "env", Negate: true}}}}, []string{"apple"}},
	} {
		for _, by := range listSortKeys {
			q := rotor.SecretQuery{Region: region1, Contains: tc.contains, Filters: tc.filters, SortBy: by, Limit: 1000}
			got := names(listAll(t, s, q))
			slices.Sort(got)
			if len(got) == 0 {
				got = nil
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("%s: ListSecrets(%s, contains %q) = %q, want %q", tc.name, fmtQuery(q), tc.contains, got, tc.want)
			}
		}
	}
	viewCode(t, s, "contains on an unknown field", rotor.EINVALID, func(tx rotor.Tx) error {
		_, err := tx.ListSecrets(rotor.SecretQuery{Region: region1, SortBy: rotor.SortByName, Limit: 1,
			Contains: []rotor.ContainsFilter{{Fields: []string{rotor.FilterOwningService}, AnyOf: [][]string{{"x"}}}}})
		return err
	})
}

// testListSecretsCursorStable walks a listing page by page while secrets are
// created before and after the cursor and deleted behind and ahead of it:
// no secret comes twice, every secret that existed throughout comes
// exactly once, in order, and a cursor naming a deleted secret still works.
func testListSecretsCursorStable(t *testing.T, s rotor.Store) {
	const n = 30
	var all []*rotor.SecretRecord
	for i := range n {
		r := secret(region1, fmt.Sprintf("s%03d", i*2), at(i*2))
		r.LastChangedDate = at(1000 - i)
		all = append(all, r)
	}
	createSecrets(t, s, all...)
	for _, by := range []string{rotor.SortByCreatedDate, rotor.SortByName, rotor.SortByLastChangedDate} {
		t.Run(by, func(t *testing.T) {
			deleted := map[string]bool{}
			touched := map[string]bool{}
			seen := map[string]bool{}
			var order []*rotor.SecretRecord
			q := rotor.SecretQuery{Region: region1, SortBy: by, Limit: 4}
			for page := 0; ; page++ {
				got := listAll(t, s, q)
				for _, r := range got {
					if seen[r.ARN] {
						t.Errorf("page %d: %s listed twice", page, r.Name)
					}
					if deleted[r.ARN] {
						t.Errorf("page %d: deleted %s listed", page, r.Name)
					}
					seen[r.ARN] = true
					order = append(order, r)
				}
				if len(got) < q.Limit {
					break
				}
				last := got[len(got)-1]
				c := cursorOf(last, by)
				q.After = &c
				// Between pages: delete the last secret returned (the
				// cursor's own), one ahead of the cursor, and add one
				// behind and one ahead of it.
				update(t, s, func(tx rotor.Tx) error {
					if err := tx.DeleteSecret(last.ARN); err != nil {
						return err
					}
					deleted[last.ARN] = true
					ahead, err := tx.ListSecrets(rotor.SecretQuery{Region: region1, SortBy: by, After: q.After, Limit: 3})
					if err != nil {
						return err
					}
					if len(ahead) == 3 {
						if err := tx.DeleteSecret(ahead[2].ARN); err != nil {
							return err
						}
						deleted[ahead[2].ARN], touched[ahead[2].ARN] = true, true
					}
					for _, name := range []string{fmt.Sprintf("new-%d-a", page), fmt.Sprintf("new-%d-b", page)} {
						r := secret(region1, name, at(page*8+1))
						r.LastChangedDate = at(1000 - page*8 - 1)
						if err := tx.CreateSecret(r); err != nil {
							return err
						}
						touched[r.ARN] = true
					}
					return nil
				})
			}
			for i := 1; i < len(order); i++ {
				q := rotor.SecretQuery{SortBy: by}
				if listCmp(q, cursorOf(order[i-1], by), cursorOf(order[i], by)) >= 0 {
					t.Errorf("%s listed before %s, out of order", order[i-1].Name, order[i].Name)
				}
			}
			for _, r := range all {
				if !touched[r.ARN] && !seen[r.ARN] {
					t.Errorf("untouched secret %s skipped", r.Name)
				}
			}
			// Restore the store for the next order.
			update(t, s, func(tx rotor.Tx) error {
				cur, err := tx.Secrets(region1)
				if err != nil {
					return err
				}
				for _, r := range cur {
					if err := tx.DeleteSecret(r.ARN); err != nil {
						return err
					}
				}
				for _, r := range all {
					if err := tx.CreateSecret(r); err != nil {
						return err
					}
				}
				return nil
			})
		})
	}
}

// testListSecretsErrors: a query the store cannot run is EINVALID.
func testListSecretsErrors(t *testing.T, s rotor.Store) {
	createSecrets(t, s, secret(region1, "a", at(1)))
	for _, tc := range []struct {
		what string
		q    rotor.SecretQuery
	}{
		{"unknown sort key", rotor.SecretQuery{Region: region1, SortBy: "size", Limit: 1}},
		{"empty sort key", rotor.SecretQuery{Region: region1, Limit: 1}},
		{"limit 0", rotor.SecretQuery{Region: region1, SortBy: rotor.SortByName}},
		{"word filter", rotor.SecretQuery{Region: region1, SortBy: rotor.SortByName, Limit: 1,
			Filters: []rotor.PrefixFilter{{Key: rotor.FilterDescription, Values: []rotor.PrefixValue{{Prefix: "a"}}}}}},
		{"filter without values", rotor.SecretQuery{Region: region1, SortBy: rotor.SortByName, Limit: 1,
			Filters: []rotor.PrefixFilter{{Key: rotor.FilterName}}}},
		{"unknown rotation filter", rotor.SecretQuery{Region: region1, SortBy: rotor.SortByName, Limit: 1, Rotation: "yes"}},
	} {
		viewCode(t, s, tc.what, rotor.EINVALID, func(tx rotor.Tx) error {
			_, err := tx.ListSecrets(tc.q)
			return err
		})
	}
}

// testVersionsOf: VersionsOf returns, for each existing secret with
// versions, exactly what Versions returns, and leaves out secrets without
// versions and unknown ARNs.
func testVersionsOf(t *testing.T, s rotor.Store) {
	a, b, empty := secret(region1, "a", at(1)), secret(region1, "b", at(2)), secret(region1, "empty", at(3))
	createSecrets(t, s, a, b, empty)
	update(t, s, func(tx rotor.Tx) error {
		for i, id := range []string{"v1", "v2", "v3"} {
			for _, sec := range []*rotor.SecretRecord{a, b} {
				v := &rotor.VersionRecord{ID: id, Value: sealed("kek", sec.Name+id), CreatedDate: at(10 - i)}
				if sec == b && id == "v2" {
					v.Value = nil
				}
				if err := tx.CreateVersion(sec.ARN, v); err != nil {
					return err
				}
			}
		}
		for _, st := range []struct{ arn, stage, id string }{
			{a.ARN, rotor.StageCurrent, "v3"}, {a.ARN, rotor.StagePrevious, "v2"}, {a.ARN, "custom", "v3"},
			{b.ARN, rotor.StageCurrent, "v1"}, {b.ARN, rotor.StagePending, "v2"},
		} {
			if err := tx.SetStage(st.arn, st.stage, st.id); err != nil {
				return err
			}
		}
		return nil
	})
	view(t, s, func(tx rotor.Tx) error {
		unknown := rotor.SecretARN(region1, account, "nope", "zzzzzz")
		got, err := tx.VersionsOf([]string{b.ARN, unknown, a.ARN, empty.ARN})
		if err != nil {
			return err
		}
		if len(got) != 2 {
			t.Errorf("VersionsOf returned %d secrets, want 2 (a and b)", len(got))
		}
		for _, sec := range []*rotor.SecretRecord{a, b} {
			want, err := tx.Versions(sec.ARN)
			if err != nil {
				return err
			}
			if len(got[sec.ARN]) != len(want) {
				t.Errorf("VersionsOf[%s] has %d versions, want %d", sec.Name, len(got[sec.ARN]), len(want))
				continue
			}
			for i := range want {
				sameVersion(t, "VersionsOf["+sec.Name+"]["+want[i].ID+"]", got[sec.ARN][i], want[i])
			}
		}
		if none, err := tx.VersionsOf(nil); err != nil || len(none) != 0 {
			t.Errorf("VersionsOf(nil) = %v, %v; want an empty map", none, err)
		}
		return nil
	})
}
