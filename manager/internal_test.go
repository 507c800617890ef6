package manager

import (
	"encoding/base64"
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/rotorhq/rotor"
)

// Unit tests of the pure parts; the behaviour of the Service is tested in
// package manager_test against the real store.

func TestSplitTerms(t *testing.T) {
	for in, want := range map[string][]string{
		"SecretOne":      {"Secret", "One"},
		"COMPANYthings":  {"COMPAN", "Ythings"},
		"MyDB":           {"My", "DB"},
		"HTTPServer":     {"HTTP", "Server"},
		"prod":           {"prod"},
		"prod-AppBeta":   {"prod", "App", "Beta"},
		"prod-AppBeta/x": {"prod-AppBeta/x"},
		"a.b.c":          {"a", "b", "c"},
		"one and two":    {"one", "and", "two"},
		"o t":            {"o", "t"},
		"abc123def":      {"abc12", "3def"},
		"+":              nil,
		"":               nil,
		"  ":             nil,
	} {
		if got := splitTerms(in); !reflect.DeepEqual(got, want) {
			t.Errorf("splitTerms(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestMatcher(t *testing.T) {
	rec := &rotor.SecretRecord{Name: "prod/DbSecret", Region: "us-east-1", Description: "Main database",
		Tags: []rotor.Tag{{Key: "env", Value: "prod"}, {Key: "team", Value: "core"}}}
	for name, tc := range map[string]struct {
		filters []rotor.Filter
		want    bool
	}{
		"NamePrefix":             {[]rotor.Filter{{Key: "name", Values: []string{"prod/"}}}, true},
		"NameCaseSensitive":      {[]rotor.Filter{{Key: "name", Values: []string{"Prod/"}}}, false},
		"NameNegated":            {[]rotor.Filter{{Key: "name", Values: []string{"!prod"}}}, false},
		"TagKeyAny":              {[]rotor.Filter{{Key: "tag-key", Values: []string{"te"}}}, true},
		"TagKeyNegatedAnyMatch":  {[]rotor.Filter{{Key: "tag-key", Values: []string{"!te"}}}, false},
		"TagKeyNegatedNoneMatch": {[]rotor.Filter{{Key: "tag-key", Values: []string{"!owner"}}}, true},
		"TagValue":               {[]rotor.Filter{{Key: "tag-value", Values: []string{"co"}}}, true},
		"DescriptionWords":       {[]rotor.Filter{{Key: "description", Values: []string{"data MAIN"}}}, true},
		"DescriptionNotMidWord":  {[]rotor.Filter{{Key: "description", Values: []string{"base"}}}, false},
		"AllName":                {[]rotor.Filter{{Key: "all", Values: []string{"secret"}}}, true},
		"AllTagValue":            {[]rotor.Filter{{Key: "all", Values: []string{"cor"}}}, true},
		"AllWordsInOneAttribute": {[]rotor.Filter{{Key: "all", Values: []string{"db core"}}}, false},
		"AllNegated":             {[]rotor.Filter{{Key: "all", Values: []string{"!core"}}}, false},
		"PrimaryRegionFallback":  {[]rotor.Filter{{Key: "primary-region", Values: []string{"us-"}}}, true},
		"OwningServiceMissing":   {[]rotor.Filter{{Key: "owning-service", Values: []string{"rds"}}}, false},
		"AND":                    {[]rotor.Filter{{Key: "name", Values: []string{"prod"}}, {Key: "tag-key", Values: []string{"owner"}}}, false},
		"OR":                     {[]rotor.Filter{{Key: "tag-key", Values: []string{"owner", "env"}}}, true},
		"None":                   {nil, true},
	} {
		m, err := compileFilters(tc.filters)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got := m.match(rec); got != tc.want {
			t.Errorf("%s: match = %v, want %v", name, got, tc.want)
		}
	}
}

func TestToken(t *testing.T) {
	c := cursor{F: fingerprint("a", "b"), T: 42, S: "name", ID: "arn:x"}
	tok := encodeToken(c)
	got, err := decodeToken(tok, c.F)
	if err != nil {
		t.Fatal(err)
	}
	c.V = tokenVersion
	if got != c {
		t.Fatalf("round trip = %+v, want %+v", got, c)
	}
	if fingerprint("a", "b") == fingerprint("ab") || fingerprint("a", "b") == fingerprint("a", "b", "") {
		t.Fatal("fingerprints collide on concatenation")
	}

	// A payload changed without its checksum, a forged version, a token for
	// another request: all refused.
	raw, _ := base64.RawURLEncoding.DecodeString(tok)
	payload, sum := raw[:len(raw)-tokenSumBytes], raw[len(raw)-tokenSumBytes:]
	var p map[string]any
	if err := json.Unmarshal(payload, &p); err != nil {
		t.Fatal(err)
	}
	p["t"] = 43
	changed, _ := json.Marshal(p)
	p["t"], p["v"] = 42, 2
	forged, _ := json.Marshal(p)
	for name, bad := range map[string]string{
		"ChangedPayload": base64.RawURLEncoding.EncodeToString(append(changed, sum...)),
		"OtherVersion":   base64.RawURLEncoding.EncodeToString(append(forged, tokenSum(forged)...)),
		"Empty":          "",
		"Short":          base64.RawURLEncoding.EncodeToString(sum),
	} {
		if _, err := decodeToken(bad, c.F); rotor.ErrorCode(err) != rotor.ENEXTTOKEN {
			t.Errorf("%s: err = %v, want ENEXTTOKEN", name, err)
		}
	}
	if _, err := decodeToken(tok, fingerprint("other")); rotor.ErrorCode(err) != rotor.ENEXTTOKEN {
		t.Errorf("other request: err = %v, want ENEXTTOKEN", err)
	}
}

func TestLabels(t *testing.T) {
	for name, tc := range map[string]struct {
		before     labels
		id         string
		stages     []string
		first, new bool
		want       labels
	}{
		"Default":          {labels{"AWSCURRENT": "a", "AWSPREVIOUS": "z"}, "b", nil, false, true, labels{"AWSCURRENT": "b", "AWSPREVIOUS": "a"}},
		"First":            {labels{}, "a", []string{"AWSPENDING"}, true, true, labels{"AWSCURRENT": "a", "AWSPENDING": "a"}},
		"CustomOnly":       {labels{"AWSCURRENT": "a"}, "b", []string{"X"}, false, true, labels{"AWSCURRENT": "a", "X": "b"}},
		"AbandonsPending":  {labels{"AWSCURRENT": "a", "AWSPENDING": "p"}, "b", nil, false, true, labels{"AWSCURRENT": "b", "AWSPREVIOUS": "a"}},
		"KeepsPendingFill": {labels{"AWSCURRENT": "a", "AWSPENDING": "p"}, "p", nil, false, false, labels{"AWSCURRENT": "p", "AWSPREVIOUS": "a", "AWSPENDING": "p"}},
		"PreviousToNew":    {labels{"AWSCURRENT": "a", "AWSPREVIOUS": "b"}, "b", nil, false, false, labels{"AWSCURRENT": "b", "AWSPREVIOUS": "a"}},
		"NoCurrentBefore":  {labels{"AWSPREVIOUS": "z"}, "b", nil, false, true, labels{"AWSCURRENT": "b", "AWSPREVIOUS": "z"}},
	} {
		l := tc.before.clone()
		l.attach(tc.id, tc.stages, tc.first, tc.new)
		if !reflect.DeepEqual(l, tc.want) {
			t.Errorf("%s: %v, want %v", name, l, tc.want)
		}
	}

	remove, set := labelDiff(labels{"A": "1", "B": "1", "C": "2"}, labels{"A": "1", "C": "3", "D": "3"})
	if !reflect.DeepEqual(remove, []string{"B"}) || !reflect.DeepEqual(set, []string{"C", "D"}) {
		t.Errorf("labelDiff = %v, %v", remove, set)
	}
}

func TestPruneCandidates(t *testing.T) {
	now := time.Date(2024, 1, 10, 0, 0, 0, 0, time.UTC)
	var vs []*rotor.VersionRecord
	for i := range 5 {
		vs = append(vs, &rotor.VersionRecord{ID: string(rune('a' + i)), CreatedDate: now.Add(-time.Duration(5-i) * time.Hour)})
	}
	// a (5h old), b (4h), c (3h), d (2h), e (1h); d labelled.
	l := labels{"AWSCURRENT": "d"}
	for name, tc := range map[string]struct {
		keep   int
		minAge time.Duration
		ids    []string
		ok     bool
	}{
		"UnderLimit":   {4, time.Hour, nil, true},
		"OldestFirst":  {2, time.Hour, []string{"a", "b"}, true},
		"TooYoung":     {2, 4*time.Hour + time.Minute, []string{"a"}, false},
		"SkipsNewest":  {0, 0, []string{"a", "b", "c"}, false},
		"ExactMinimum": {3, 5 * time.Hour, []string{"a"}, true},
	} {
		ids, ok := pruneCandidates(vs, l, "e", now, tc.minAge, tc.keep)
		if !reflect.DeepEqual(ids, tc.ids) || ok != tc.ok {
			t.Errorf("%s: %v, %v; want %v, %v", name, ids, ok, tc.ids, tc.ok)
		}
	}
}

func TestCacheGenerations(t *testing.T) {
	rec := func(arn, name string) *packed {
		return newPacked(&rotor.SecretRecord{ARN: arn, Region: "r", Name: name}, nil)
	}
	// Names "a", "b", ... and ARNs "arn:a", "arn:b", ... stand for real ones
	// in these tests, except where an ARN is looked up.
	t.Run("FillBeforeInvalidationRefused", func(t *testing.T) {
		c := newCache(1 << 20)
		g := c.begin()
		c.invalidate("arn:a", "r", "a")
		c.install(g, rec("arn:a", "a"))
		c.end()
		if c.get("r", "a") != nil {
			t.Fatal("stale fill installed")
		}
	})
	t.Run("InvalidationByNameRefused", func(t *testing.T) {
		c := newCache(1 << 20)
		g := c.begin()
		c.invalidate("arn:old", "r", "a") // the name was purged and re-created
		c.install(g, rec("arn:new", "a"))
		c.end()
		if c.get("r", "a") != nil {
			t.Fatal("fill installed despite a name invalidation")
		}
	})
	t.Run("OtherSecretInvalidationAllowed", func(t *testing.T) {
		c := newCache(1 << 20)
		g := c.begin()
		c.invalidate("arn:b", "r", "b")
		c.install(g, rec("arn:a", "a"))
		c.end()
		if c.get("r", "a") == nil {
			t.Fatal("fill refused for an unrelated invalidation")
		}
	})
	t.Run("ByARNInRegion", func(t *testing.T) {
		c := newCache(1 << 20)
		arn := rotor.SecretARN("r", "123456789012", "a", "AbCdEf")
		c.install(c.begin(), rec(arn, "a"))
		c.end()
		if c.get("r", arn) == nil || c.get("r", "a") == nil {
			t.Fatal("entry not found by ARN and name")
		}
		if c.get("other-region", arn) != nil || c.get("other-region", "a") != nil {
			t.Fatal("entry visible from another region")
		}
	})
	t.Run("FillAfterInvalidationAllowed", func(t *testing.T) {
		c := newCache(1 << 20)
		c.invalidate("arn:a", "r", "a")
		g := c.begin()
		c.install(g, rec("arn:a", "a"))
		c.end()
		if c.get("r", "a") == nil {
			t.Fatal("fresh fill refused")
		}
	})
	t.Run("ForgottenInvalidationsRefuseOldFills", func(t *testing.T) {
		c := newCache(1 << 20)
		old := c.begin()
		for range cacheMaxPending + 1 {
			c.invalidate("arn:b", "r", "b")
		}
		c.install(old, rec("arn:a", "a"))
		if c.get("r", "a") != nil {
			t.Fatal("fill older than the remembered invalidations installed")
		}
		fresh := c.begin()
		c.install(fresh, rec("arn:a", "a"))
		c.end()
		c.end()
		if c.get("r", "a") == nil {
			t.Fatal("fresh fill refused")
		}
	})
	t.Run("ClearRefusesFillsInFlight", func(t *testing.T) {
		c := newCache(1 << 20)
		g := c.begin()
		c.clear()
		c.install(g, rec("arn:a", "a"))
		c.end()
		if c.size() != 0 {
			t.Fatal("fill installed across clear")
		}
	})
	t.Run("InvalidateARNRefusesFillInFlight", func(t *testing.T) {
		// Another server's write is known by its ARN alone; a fill of the
		// same secret by name, begun before, must not install.
		c := newCache(1 << 20)
		arn := rotor.SecretARN("r", "123456789012", "a", "AbCdEf")
		g := c.begin()
		c.invalidateARN(arn)
		c.install(g, rec(arn, "a"))
		c.end()
		if c.get("r", "a") != nil || c.get("r", arn) != nil {
			t.Fatal("fill installed across an invalidation by ARN")
		}
	})
	t.Run("InvalidateARNDropsNameOfUncachedReplacement", func(t *testing.T) {
		// The name's cached secret was deleted and re-created elsewhere:
		// the new ARN's invalidation (the old one is not cached under it)
		// drops the name, from the ARN's own region and name.
		c := newCache(1 << 20)
		old := rotor.SecretARN("r", "123456789012", "a", "AbCdEf")
		c.install(c.begin(), rec(old, "a"))
		c.end()
		c.invalidateARN(rotor.SecretARN("r", "123456789012", "a", "ZyXwVu"))
		if c.get("r", "a") != nil {
			t.Fatal("name still resolves to the replaced secret")
		}
	})
	t.Run("MaxAge", func(t *testing.T) {
		c := newCache(1 << 20)
		c.maxAge = int64(time.Hour)
		e := rec("arn:a", "a")
		e.expires = c.expiry()
		c.install(c.begin(), e)
		c.end()
		if c.get("r", "a") == nil {
			t.Fatal("entry within its maximum age not served")
		}
		c.ring[c.withName("r", "a")].e.expires = monoNow() // its time is up
		if c.get("r", "a") != nil {
			t.Fatal("entry past its maximum age served")
		}
		if c.expiry() <= monoNow() {
			t.Fatal("expiry is not in the future")
		}
		c.maxAge = 0
		if c.expiry() != 0 || c.get("r", "a") == nil {
			t.Fatal("without a maximum age, entries do not expire")
		}
	})
	t.Run("Bounded", func(t *testing.T) {
		c := newCache(3 * int64(rec("arn:a", "a").size))
		for i := range 10 {
			g := c.begin()
			c.install(g, rec("arn:"+string(rune('a'+i)), string(rune('a'+i))))
			c.end()
		}
		if c.size() != 3 || len(c.byName) != 3 {
			t.Fatalf("size = %d (%d names), want 3", c.size(), len(c.byName))
		}
	})
}

func TestValidateTagKeyReservedPrefix(t *testing.T) {
	for key, want := range map[string]string{
		"aws:x": rotor.EINVALID, "AWS:x": rotor.EINVALID, "aWs:": rotor.EINVALID,
		"aws": "", "awsx:y": "", "my-aws:z": "", " aws:x": "", "aws-x": "",
		"": rotor.EVALIDATION,
	} {
		if got := rotor.ErrorCode(validateTagKey(key, "tags.1.member.key")); got != want {
			t.Errorf("validateTagKey(%q) = %q, want %q", key, got, want)
		}
	}
}
