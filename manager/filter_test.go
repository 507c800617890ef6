package manager_test

import (
	"testing"

	"github.com/rotorhq/rotor"
)

type seedSecret struct {
	name, desc string
	tags       []rotor.Tag
}

// listNames runs ListSecrets with filters and returns the names, in order.
func (e *env) listNames(t testing.TB, filters ...rotor.Filter) []string {
	t.Helper()
	out, err := e.svc.ListSecrets(e.ctx, rotor.ListSecretsInput{Filters: filters})
	if err != nil {
		t.Fatalf("ListSecrets(%+v): %v", filters, err)
	}
	names := []string{}
	for _, s := range out.Secrets {
		names = append(names, s.Name)
	}
	return names
}

func f(key string, values ...string) rotor.Filter { return rotor.Filter{Key: key, Values: values} }

// Filter semantics of aws-api.md §4, including the examples moto verified
// against AWS ([MO] test_list_secrets.py).
func TestListSecretsFilters(t *testing.T) {
	t.Parallel()
	for setName, set := range map[string]struct {
		secrets []seedSecret
		cases   map[string]struct {
			filters []rotor.Filter
			want    []string
		}
	}{
		"Descriptions": {
			secrets: []seedSecret{{name: "foo", desc: "one two"}, {name: "bar", desc: "one and two"}, {name: "baz", desc: "one"},
				{name: "qux", desc: "two"}, {name: "none", desc: "unrelated"}, {name: "nodesc"}},
			cases: map[string]struct {
				filters []rotor.Filter
				want    []string
			}{
				"MultipleWords":       {[]rotor.Filter{f("description", "one two")}, []string{"foo", "bar"}},
				"WordPrefixes":        {[]rotor.Filter{f("description", "o t")}, []string{"foo", "bar"}},
				"SingleLetter":        {[]rotor.Filter{f("description", "t")}, []string{"foo", "bar", "qux"}},
				"CaseInsensitive":     {[]rotor.Filter{f("description", "ONE TWO")}, []string{"foo", "bar"}},
				"NotInsideWords":      {[]rotor.Filter{f("description", "elated")}, []string{}},
				"DuplicateKeysAreAND": {[]rotor.Filter{f("description", "one"), f("description", "two")}, []string{"foo", "bar"}},
				"ValuesAreOR":         {[]rotor.Filter{f("description", "and", "unrelated")}, []string{"bar", "none"}},
				"Negation":            {[]rotor.Filter{f("description", "one", "!two")}, []string{"foo", "bar", "baz", "none", "nodesc"}},
				"NegationOnly":        {[]rotor.Filter{f("description", "!o")}, []string{"qux", "none", "nodesc"}},
				"NameAndDescription":  {[]rotor.Filter{f("description", "one"), f("name", "b")}, []string{"bar", "baz"}},
			},
		},
		"Names": {
			secrets: []seedSecret{{name: "DatabaseSecret"}, {name: "databaseSecret"}, {name: "MyData"}, {name: "SecretOne"},
				{name: "COMPANYthings"}, {name: "prod-AppBeta/x"}, {name: "app-AppBeta"}, {name: "svc.prod.db"}, {name: "a+b"}},
			cases: map[string]struct {
				filters []rotor.Filter
				want    []string
			}{
				"NamePrefixCaseSensitive": {[]rotor.Filter{f("name", "Data")}, []string{"DatabaseSecret"}},
				"NameValuesAreOR":         {[]rotor.Filter{f("name", "My", "data")}, []string{"databaseSecret", "MyData"}},
				"NameNegation":            {[]rotor.Filter{f("name", "!D", "!d", "!S", "!C", "!p", "!a", "!s")}, []string{"DatabaseSecret", "databaseSecret", "MyData", "SecretOne", "COMPANYthings", "prod-AppBeta/x", "app-AppBeta", "svc.prod.db", "a+b"}},
				"NameNegationAlone":       {[]rotor.Filter{f("name", "!D")}, []string{"databaseSecret", "MyData", "SecretOne", "COMPANYthings", "prod-AppBeta/x", "app-AppBeta", "svc.prod.db", "a+b"}},
				"AllWordPrefix":           {[]rotor.Filter{f("all", "sec")}, []string{"DatabaseSecret", "databaseSecret", "SecretOne"}},
				"AllNotMidWord":           {[]rotor.Filter{f("all", "ret")}, []string{}},
				"AllUpperRun":             {[]rotor.Filter{f("all", "things")}, []string{}},
				"AllUpperRunSplit":        {[]rotor.Filter{f("all", "ythings")}, []string{"COMPANYthings"}},
				"AllTwoSeparatorKinds":    {[]rotor.Filter{f("all", "AppBeta")}, []string{"app-AppBeta"}},
				"AllWholeUnsplit":         {[]rotor.Filter{f("all", "prod")}, []string{"prod-AppBeta/x", "svc.prod.db"}},
				"AllValuesAreOR":          {[]rotor.Filter{f("all", "AppBeta", "one")}, []string{"SecretOne", "app-AppBeta"}},
				"AllLoneSeparator":        {[]rotor.Filter{f("all", "+")}, []string{}},
				"AllDigitsAndWords":       {[]rotor.Filter{f("all", "db")}, []string{"svc.prod.db"}},
			},
		},
		"Tags": {
			secrets: []seedSecret{
				{name: "foo", tags: []rotor.Tag{{Key: "right", Value: "right"}}},
				{name: "bar", desc: "foo", tags: []rotor.Tag{{Key: "right", Value: "wrong"}}},
				{name: "baz", tags: []rotor.Tag{{Key: "wrong", Value: "right"}}},
				{name: "qux", tags: []rotor.Tag{{Key: "Env", Value: "foo"}}},
				{name: "multi", tags: []rotor.Tag{{Key: "foo", Value: "foo"}, {Key: "env", Value: "prod"}}},
				{name: "none"},
			},
			cases: map[string]struct {
				filters []rotor.Filter
				want    []string
			}{
				"KeyAndValueAreAND":    {[]rotor.Filter{f("tag-key", "right"), f("tag-value", "right")}, []string{"foo"}},
				"TagKeyPrefix":         {[]rotor.Filter{f("tag-key", "wr")}, []string{"baz"}},
				"TagKeyCaseSensitive":  {[]rotor.Filter{f("tag-key", "env")}, []string{"multi"}},
				"TagValue":             {[]rotor.Filter{f("tag-value", "foo")}, []string{"qux", "multi"}},
				"TagKeyNegationNoTags": {[]rotor.Filter{f("tag-key", "!right")}, []string{"baz", "qux", "multi", "none"}},
				"TagKeyNegationAnyTag": {[]rotor.Filter{f("tag-key", "!env")}, []string{"foo", "bar", "baz", "qux", "none"}},
				"AllAcrossAttributes":  {[]rotor.Filter{f("all", "foo")}, []string{"foo", "bar", "qux", "multi"}},
				"OwningService":        {[]rotor.Filter{f("owning-service", "n/a")}, []string{}},
				"OwningServiceNegated": {[]rotor.Filter{f("owning-service", "!rds")}, []string{"foo", "bar", "baz", "qux", "multi", "none"}},
				"PrimaryRegion":        {[]rotor.Filter{f("primary-region", "us-east")}, []string{"foo", "bar", "baz", "qux", "multi", "none"}},
				"PrimaryRegionOther":   {[]rotor.Filter{f("primary-region", "eu")}, []string{}},
			},
		},
	} {
		t.Run(setName, func(t *testing.T) {
			e := newEnv(t)
			for _, s := range set.secrets {
				if _, err := e.svc.CreateSecret(e.ctx, rotor.CreateSecretInput{Name: s.name, Description: s.desc, Tags: s.tags}); err != nil {
					t.Fatal(err)
				}
				e.clock.Advance(1)
			}
			for name, tc := range set.cases {
				t.Run(name, func(t *testing.T) {
					wantEqual(t, "names", e.listNames(t, tc.filters...), tc.want)
				})
			}
		})
	}

	t.Run("Errors", func(t *testing.T) {
		e := newEnv(t)
		for name, tc := range map[string]struct {
			filters   []rotor.Filter
			code, msg string
		}{
			"ErrUnknownKey": {[]rotor.Filter{f("name", "x"), f("invalid", "foo")}, rotor.EVALIDATION,
				"1 validation error detected: Value 'invalid' at 'filters.2.member.key' failed to satisfy constraint: Member must satisfy enum value set: [description, name, tag-key, tag-value, primary-region, owning-service, all]"},
			"ErrNoKey":        {[]rotor.Filter{{Values: []string{"foo"}}}, rotor.EINVALID, "Invalid filter key"},
			"ErrNoValues":     {[]rotor.Filter{{Key: "description"}}, rotor.EINVALID, "Invalid filter values for key: description"},
			"ErrTooManyValue": {[]rotor.Filter{f("name", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11")}, rotor.EVALIDATION, ""},
			"ErrTooMany":      {[]rotor.Filter{f("name", "1"), f("name", "1"), f("name", "1"), f("name", "1"), f("name", "1"), f("name", "1"), f("name", "1"), f("name", "1"), f("name", "1"), f("name", "1"), f("name", "1")}, rotor.EVALIDATION, ""},
		} {
			t.Run(name, func(t *testing.T) {
				_, err := e.svc.ListSecrets(e.ctx, rotor.ListSecretsInput{Filters: tc.filters})
				wantErr(t, err, tc.code, tc.msg)
			})
		}
	})
}
