package main

// End-to-end tests of ListSecrets: entries, every filter key, negation, the
// combination rules and word splitting of aws-api.md §4, sorting,
// pagination and IncludePlannedDeletion.

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
)

// e2eSecretSpec is one secret a ListSecrets test creates.
type e2eSecretSpec struct {
	Name, Description string
	Tags              map[string]string
}

// e2eCreateAll creates the secrets in order (each with a value).
func e2eCreateAll(t *testing.T, c *secretsmanager.Client, specs ...e2eSecretSpec) {
	t.Helper()
	for _, sp := range specs {
		in := &secretsmanager.CreateSecretInput{Name: aws.String(sp.Name), SecretString: aws.String("v-" + sp.Name)}
		if sp.Description != "" {
			in.Description = aws.String(sp.Description)
		}
		keys := make([]string, 0, len(sp.Tags))
		for k := range sp.Tags {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			in.Tags = append(in.Tags, types.Tag{Key: aws.String(k), Value: aws.String(sp.Tags[k])})
		}
		_, err := c.CreateSecret(e2eCtx, in)
		e2eNoErr(t, "CreateSecret "+sp.Name, err)
	}
}

// e2eWantList checks that ListSecrets with filters returns exactly want
// (as a set).
func e2eWantList(t *testing.T, c *secretsmanager.Client, what string, want []string, filters ...types.Filter) {
	t.Helper()
	got := e2eListNames(t, c, filters...)
	if ok, diff := e2eSameSet(got, want); !ok || len(got) != len(want) {
		t.Errorf("%s: ListSecrets = %v: %s", what, got, diff)
	}
}

func TestE2EListSecrets(t *testing.T) {
	t.Run("Entries", func(t *testing.T) {
		s := MustRunMain(t, "", nil)
		c := s.e2eClient("")
		name := "list/entry"
		created, err := c.CreateSecret(e2eCtx, &secretsmanager.CreateSecretInput{
			Name: aws.String(name), SecretString: aws.String("one"), Description: aws.String("d"),
			Tags: []types.Tag{{Key: aws.String("k"), Value: aws.String("v")}},
		})
		e2eNoErr(t, "CreateSecret", err)
		v1 := aws.ToString(created.VersionId)
		v2 := aws.ToString(e2ePut(t, c, name, "two").VersionId)
		entries := e2eListAll(t, c, secretsmanager.ListSecretsInput{})
		if len(entries) != 1 {
			t.Fatalf("ListSecrets = %d entries, want 1", len(entries))
		}
		e := entries[0]
		if aws.ToString(e.ARN) != aws.ToString(created.ARN) || aws.ToString(e.Name) != name || aws.ToString(e.Description) != "d" {
			t.Errorf("ARN, Name, Description = %q, %q, %q", aws.ToString(e.ARN), aws.ToString(e.Name), aws.ToString(e.Description))
		}
		if want := map[string][]string{v1: {"AWSPREVIOUS"}, v2: {"AWSCURRENT"}}; !e2eEqualStageMaps(e.SecretVersionsToStages, want) {
			t.Errorf("SecretVersionsToStages = %v, want %v", e.SecretVersionsToStages, want)
		}
		if got := e2eTagPairs(e.Tags); !slices.Equal(got, []string{"k=v"}) {
			t.Errorf("Tags = %v, want [k=v]", got)
		}
		if e.CreatedDate == nil || e.LastChangedDate == nil || e.DeletedDate != nil || e.RotationEnabled != nil {
			t.Errorf("CreatedDate %v, LastChangedDate %v, DeletedDate %v, RotationEnabled %v", e.CreatedDate, e.LastChangedDate, e.DeletedDate, e.RotationEnabled)
		}
		// On the wire: SecretVersionsToStages (not VersionIdsToStages) and
		// never a value.
		m := s.e2eRawJSON(t, "ListSecrets", map[string]any{}).JSON(t)
		list, _ := m["SecretList"].([]any)
		if len(list) != 1 {
			t.Fatalf("raw SecretList = %v", m["SecretList"])
		}
		em, _ := list[0].(map[string]any)
		for _, k := range []string{"VersionIdsToStages", "SecretString", "SecretBinary", "RotationEnabled"} {
			if _, ok := em[k]; ok {
				t.Errorf("list entry has %s, want it absent: %v", k, em)
			}
		}
		if _, ok := em["SecretVersionsToStages"]; !ok {
			t.Errorf("list entry lacks SecretVersionsToStages: %v", em)
		}
	})

	t.Run("FilterKeys", func(t *testing.T) {
		s := MustRunMain(t, "", nil)
		c := s.e2eClient("")
		e2eCreateAll(t, c,
			e2eSecretSpec{Name: "DatabaseSecret", Description: "primary database", Tags: map[string]string{"env": "prod", "Team": "payments"}},
			e2eSecretSpec{Name: "databaseSecret", Description: "Replica", Tags: map[string]string{"environment": "staging"}},
			e2eSecretSpec{Name: "MyData", Tags: map[string]string{"owner": "prod-ops"}},
			e2eSecretSpec{Name: "cache", Description: "redis"},
		)
		all := []string{"DatabaseSecret", "databaseSecret", "MyData", "cache"}
		for _, tc := range []struct {
			name   string
			filter types.Filter
			want   []string
		}{
			// name: case-sensitive prefix ("Data" matches DatabaseSecret, not
			// databaseSecret, not MyData).
			{"NamePrefix", e2eFilter(types.FilterNameStringTypeName, "Data"), []string{"DatabaseSecret"}},
			{"NameNotInfix", e2eFilter(types.FilterNameStringTypeName, "Secret"), nil},
			{"NameNegated", e2eFilter(types.FilterNameStringTypeName, "!Data"), []string{"databaseSecret", "MyData", "cache"}},
			{"NameTwoValuesOR", e2eFilter(types.FilterNameStringTypeName, "Data", "cac"), []string{"DatabaseSecret", "cache"}},
			// description: word match, case-insensitive.
			{"Description", e2eFilter(types.FilterNameStringTypeDescription, "replica"), []string{"databaseSecret"}},
			{"DescriptionWordPrefix", e2eFilter(types.FilterNameStringTypeDescription, "data"), []string{"DatabaseSecret"}},
			// tag-key / tag-value: case-sensitive prefix of any tag.
			{"TagKeyPrefix", e2eFilter(types.FilterNameStringTypeTagKey, "env"), []string{"DatabaseSecret", "databaseSecret"}},
			{"TagKeyCaseSensitive", e2eFilter(types.FilterNameStringTypeTagKey, "team"), nil},
			{"TagKeyExact", e2eFilter(types.FilterNameStringTypeTagKey, "Team"), []string{"DatabaseSecret"}},
			{"TagValuePrefix", e2eFilter(types.FilterNameStringTypeTagValue, "prod"), []string{"DatabaseSecret", "MyData"}},
			{"TagValueCaseSensitive", e2eFilter(types.FilterNameStringTypeTagValue, "Prod"), nil},
			// primary-region: the secrets of a one-region server are in us-east-1.
			{"PrimaryRegion", e2eFilter(types.FilterNameStringTypePrimaryRegion, "us-east-1"), all},
			{"PrimaryRegionOther", e2eFilter(types.FilterNameStringTypePrimaryRegion, "eu-"), nil},
			// owning-service: no secret created through the API has one.
			{"OwningService", e2eFilter(types.FilterNameStringTypeOwningService, "rds"), nil},
			// all: words of name, description, tag keys and values.
			{"AllName", e2eFilter(types.FilterNameStringTypeAll, "cache"), []string{"cache"}},
			{"AllDescription", e2eFilter(types.FilterNameStringTypeAll, "redis"), []string{"cache"}},
			{"AllTagKey", e2eFilter(types.FilterNameStringTypeAll, "owner"), []string{"MyData"}},
			{"AllTagValue", e2eFilter(types.FilterNameStringTypeAll, "payments"), []string{"DatabaseSecret"}},
			{"AllCaseInsensitive", e2eFilter(types.FilterNameStringTypeAll, "REPLICA"), []string{"databaseSecret"}},
		} {
			t.Run(tc.name, func(t *testing.T) { e2eWantList(t, c, tc.filter.Values[0], tc.want, tc.filter) })
		}

		t.Run("FiltersAND", func(t *testing.T) {
			e2eWantList(t, c, "tag-value prod AND name !My", []string{"DatabaseSecret"},
				e2eFilter(types.FilterNameStringTypeTagValue, "prod"), e2eFilter(types.FilterNameStringTypeName, "!My"))
		})

		t.Run("UnknownKey", func(t *testing.T) {
			_, err := c.ListSecrets(e2eCtx, &secretsmanager.ListSecretsInput{Filters: []types.Filter{{Key: "invalid", Values: []string{"x"}}}})
			e2eWantCode(t, "ListSecrets", err, "ValidationException", "")
		})
	})

	// The description examples of aws-api.md §4, verified against AWS.
	t.Run("DescriptionWords", func(t *testing.T) {
		s := MustRunMain(t, "", nil)
		c := s.e2eClient("")
		e2eCreateAll(t, c,
			e2eSecretSpec{Name: "d1", Description: "one two"},
			e2eSecretSpec{Name: "d2", Description: "one and two"},
			e2eSecretSpec{Name: "d3", Description: "two"},
			e2eSecretSpec{Name: "d4", Description: "one"},
		)
		desc := types.FilterNameStringTypeDescription
		e2eWantList(t, c, `"one two"`, []string{"d1", "d2"}, e2eFilter(desc, "one two"))
		e2eWantList(t, c, `"o t"`, []string{"d1", "d2"}, e2eFilter(desc, "o t"))
		e2eWantList(t, c, `"t"`, []string{"d1", "d2", "d3"}, e2eFilter(desc, "t"))
		// Two filters with the same key are ANDed.
		e2eWantList(t, c, "one AND two", []string{"d1", "d2"}, e2eFilter(desc, "one"), e2eFilter(desc, "two"))
		// Negation: no description word starting with "two".
		e2eWantList(t, c, "!two", []string{"d4"}, e2eFilter(desc, "!two"))
	})

	t.Run("DuplicateKeysAND", func(t *testing.T) {
		s := MustRunMain(t, "", nil)
		c := s.e2eClient("")
		e2eCreateAll(t, c,
			e2eSecretSpec{Name: "x1", Description: "one"},
			e2eSecretSpec{Name: "x2", Description: "two"},
			e2eSecretSpec{Name: "x3", Description: "one two"},
		)
		desc := types.FilterNameStringTypeDescription
		e2eWantList(t, c, "description one AND description two", []string{"x3"}, e2eFilter(desc, "one"), e2eFilter(desc, "two"))
		e2eWantList(t, c, "description [one, two] (OR)", []string{"x1", "x2", "x3"}, e2eFilter(desc, "one", "two"))
	})

	// The "all" examples of aws-api.md §4.
	t.Run("AllWordSplitting", func(t *testing.T) {
		s := MustRunMain(t, "", nil)
		c := s.e2eClient("")
		e2eCreateAll(t, c,
			e2eSecretSpec{Name: "SecretOne"},
			e2eSecretSpec{Name: "COMPANYthings"},
			e2eSecretSpec{Name: "prod-AppBeta/x"},
			e2eSecretSpec{Name: "test-AppBeta"},
			e2eSecretSpec{Name: "prod-db"},
			e2eSecretSpec{Name: "dev-other"},
			e2eSecretSpec{Name: "a+b"},
		)
		all := types.FilterNameStringTypeAll
		for _, tc := range []struct {
			value string
			want  []string
		}{
			{"sec", []string{"SecretOne"}},
			{"SEC", []string{"SecretOne"}},
			{"one", []string{"SecretOne"}},
			{"ret", nil},
			{"things", nil},
			{"ythings", []string{"COMPANYthings"}},
			{"compan", []string{"COMPANYthings"}},
			// A name with two different separators is not split.
			{"x", nil},
			{"beta", []string{"test-AppBeta"}},
			{"+", nil},
			{"b", []string{"a+b", "test-AppBeta"}},
			{"db", []string{"prod-db"}},
		} {
			t.Run(tc.value, func(t *testing.T) { e2eWantList(t, c, "all "+tc.value, tc.want, e2eFilter(all, tc.value)) })
		}
		// Several values of one filter are ORed.
		got := e2eListNames(t, c, e2eFilter(all, "AppBeta", "prod"))
		for _, n := range []string{"test-AppBeta", "prod-db"} {
			if !slices.Contains(got, n) {
				t.Errorf("all [AppBeta, prod] = %v, want it to include %s", got, n)
			}
		}
		for _, n := range []string{"dev-other", "SecretOne", "a+b", "COMPANYthings"} {
			if slices.Contains(got, n) {
				t.Errorf("all [AppBeta, prod] = %v, want it without %s", got, n)
			}
		}
		// Negation of a word.
		e2eWantList(t, c, "all !prod and name prefix p", nil, e2eFilter(all, "!prod"), e2eFilter(types.FilterNameStringTypeName, "prod-d"))
		e2eWantList(t, c, "all !dev and name prefix dev", nil, e2eFilter(all, "!dev"), e2eFilter(types.FilterNameStringTypeName, "dev"))
		e2eWantList(t, c, "all !dev and name prefix test", []string{"test-AppBeta"}, e2eFilter(all, "!dev"), e2eFilter(types.FilterNameStringTypeName, "test"))
	})

	t.Run("Sorting", func(t *testing.T) {
		s := MustRunMain(t, "", nil)
		c := s.e2eClient("")
		created := []string{"sort-c", "sort-a", "sort-d", "sort-b"}
		for _, n := range created {
			e2eCreate(t, c, n, "v")
		}
		// sort-a changes last.
		_, err := c.UpdateSecret(e2eCtx, &secretsmanager.UpdateSecretInput{SecretId: aws.String("sort-a"), Description: aws.String("changed")})
		e2eNoErr(t, "UpdateSecret", err)
		reversed := func(ss []string) []string { r := slices.Clone(ss); slices.Reverse(r); return r }
		byName := []string{"sort-a", "sort-b", "sort-c", "sort-d"}
		changed := []string{"sort-c", "sort-d", "sort-b", "sort-a"}
		for _, tc := range []struct {
			name  string
			by    types.SortByType
			order types.SortOrderType
			want  []string
		}{
			{"Default", "", "", created},
			{"CreatedAsc", types.SortByTypeCreatedDate, types.SortOrderTypeAsc, created},
			{"CreatedDesc", types.SortByTypeCreatedDate, types.SortOrderTypeDesc, reversed(created)},
			{"DescOnly", "", types.SortOrderTypeDesc, reversed(created)},
			{"NameAsc", types.SortByTypeName, types.SortOrderTypeAsc, byName},
			{"NameDesc", types.SortByTypeName, types.SortOrderTypeDesc, reversed(byName)},
			{"LastChangedAsc", types.SortByTypeLastChangedDate, types.SortOrderTypeAsc, changed},
			{"LastChangedDesc", types.SortByTypeLastChangedDate, types.SortOrderTypeDesc, reversed(changed)},
		} {
			t.Run(tc.name, func(t *testing.T) {
				got := e2eNames(e2eListAll(t, c, secretsmanager.ListSecretsInput{SortBy: tc.by, SortOrder: tc.order}))
				if !slices.Equal(got, tc.want) {
					t.Errorf("ListSecrets(SortBy %q, SortOrder %q) = %v, want %v", tc.by, tc.order, got, tc.want)
				}
			})
		}
		t.Run("LastAccessed", func(t *testing.T) {
			_, err := c.GetSecretValue(e2eCtx, &secretsmanager.GetSecretValueInput{SecretId: aws.String("sort-d")})
			e2eNoErr(t, "GetSecretValue", err)
			e2eWaitAccessed(t, c, "sort-d")
			for _, order := range []types.SortOrderType{types.SortOrderTypeAsc, types.SortOrderTypeDesc} {
				entries := e2eListAll(t, c, secretsmanager.ListSecretsInput{SortBy: types.SortByTypeLastAccessedDate, SortOrder: order})
				if ok, diff := e2eSameSet(e2eNames(entries), created); !ok {
					t.Errorf("%s: %s", order, diff)
				}
				var prev *time.Time
				for _, e := range entries {
					if e.LastAccessedDate == nil {
						continue
					}
					if prev != nil && (order == types.SortOrderTypeAsc && e.LastAccessedDate.Before(*prev) ||
						order == types.SortOrderTypeDesc && e.LastAccessedDate.After(*prev)) {
						t.Errorf("%s: LastAccessedDate out of order: %v", order, e2eNames(entries))
					}
					prev = e.LastAccessedDate
				}
				if entries[0].LastAccessedDate == nil && entries[len(entries)-1].LastAccessedDate == nil {
					t.Errorf("%s: the one accessed secret is neither first nor last: %v", order, e2eNames(entries))
				}
			}
		})
	})

	t.Run("Pagination", func(t *testing.T) {
		s := MustRunMain(t, "", nil)
		c := s.e2eClient("")
		var want []string
		for i := 0; i < 27; i++ {
			n := fmt.Sprintf("page-%02d", i)
			want = append(want, n)
			e2eCreate(t, c, n, "v")
		}
		e2eCreate(t, c, "other", "v")
		for _, tc := range []struct {
			name    string
			size    int32
			filters []types.Filter
			want    []string
		}{
			{"Size5", 5, nil, append(slices.Clone(want), "other")},
			{"Size1Filtered", 1, []types.Filter{e2eFilter(types.FilterNameStringTypeName, "page-")}, want},
			{"Size10Filtered", 10, []types.Filter{e2eFilter(types.FilterNameStringTypeName, "page-")}, want},
		} {
			t.Run(tc.name, func(t *testing.T) {
				in := &secretsmanager.ListSecretsInput{MaxResults: aws.Int32(tc.size), Filters: tc.filters}
				var got []string
				for page := 0; ; page++ {
					if page > 100 {
						t.Fatal("more than 100 pages")
					}
					out, err := c.ListSecrets(e2eCtx, in)
					e2eNoErr(t, "ListSecrets", err)
					if len(out.SecretList) > int(tc.size) {
						t.Errorf("page %d has %d entries, MaxResults is %d", page, len(out.SecretList), tc.size)
					}
					got = append(got, e2eNames(out.SecretList)...)
					if out.NextToken == nil {
						break
					}
					in.NextToken = out.NextToken
				}
				if !slices.Equal(got, tc.want) {
					t.Errorf("paged listing (creation order) = %v, want %v without duplicates or gaps", got, tc.want)
				}
			})
		}
		t.Run("BadNextToken", func(t *testing.T) {
			for _, tok := range []string{"garbage", "AAAAAAAAAAAAAAAAAAAAAAAA"} {
				_, err := c.ListSecrets(e2eCtx, &secretsmanager.ListSecretsInput{NextToken: aws.String(tok)})
				e2eWantErr[*types.InvalidNextTokenException](t, "ListSecrets NextToken "+tok, err, "")
			}
		})
	})

	t.Run("IncludePlannedDeletion", func(t *testing.T) {
		s := MustRunMain(t, "", nil)
		c := s.e2eClient("")
		e2eCreate(t, c, "planned/kept", "v")
		e2eCreate(t, c, "planned/deleted", "v")
		_, err := c.DeleteSecret(e2eCtx, &secretsmanager.DeleteSecretInput{SecretId: aws.String("planned/deleted")})
		e2eNoErr(t, "DeleteSecret", err)
		if got := e2eNames(e2eListAll(t, c, secretsmanager.ListSecretsInput{})); !slices.Equal(got, []string{"planned/kept"}) {
			t.Errorf("ListSecrets = %v, want the deleted secret hidden", got)
		}
		entries := e2eListAll(t, c, secretsmanager.ListSecretsInput{IncludePlannedDeletion: aws.Bool(true)})
		if got := e2eNames(entries); !slices.Equal(got, []string{"planned/kept", "planned/deleted"}) {
			t.Fatalf("ListSecrets(IncludePlannedDeletion) = %v, want both", got)
		}
		if entries[0].DeletedDate != nil || entries[1].DeletedDate == nil {
			t.Errorf("DeletedDate = %v, %v; want only the deleted secret to carry one", entries[0].DeletedDate, entries[1].DeletedDate)
		}
	})
}
