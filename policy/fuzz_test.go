package policy_test

import (
	"errors"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/rotorhq/rotor/policy"
)

// fuzzSeeds are documents of both kinds, valid and not, covering every
// element and operator family; they run as a normal test.
var fuzzSeeds = []string{
	getListDenyReports,
	doc(`{"Effect":"Allow","NotAction":"iam:*","NotResource":"arn:aws:secretsmanager:*:*:secret:app2/*"}`),
	doc(`{"Effect":"Allow","Action":"secretsmanager:*","Resource":"arn:aws:secretsmanager:*:*:secret:${aws:username, 'x'}/${*}${?}${$}-??????"}`),
	doc(`{"Effect":"Allow","Principal":{"AWS":["*","123456789012","arn:aws:iam::123456789012:root","arn:aws:iam::123456789012:user/a"]},"Action":"a:b","Resource":"*"}`),
	doc(`{"Effect":"Deny","NotPrincipal":{"AWS":"arn:aws:iam::123456789012:user/a"},"Action":"a:b","Resource":"*"}`),
	doc(`{"Effect":"Allow","Action":"a:b","Resource":"*","Condition":{"ForAnyValue:StringLike":{"aws:TagKeys":["a*","b?"]},
		"DateLessThan":{"aws:CurrentTime":"2027-01-01T00:00:00Z"},"NumericGreaterThan":{"aws:ResourceTag/n":"1.5"},
		"IpAddressIfExists":{"aws:SourceIp":["10.0.0.0/8","2001:db8::/32"]},"ArnLike":{"aws:PrincipalArn":"${aws:PrincipalArn}"},
		"Null":{"aws:ResourceTag/x":"true"},"Bool":{"aws:SecureTransport":true},"BinaryEquals":{"aws:ResourceTag/b":"AA=="}}}`),
	`{"Version":"2008-10-17","Statement":{"Effect":"Allow","Action":"a:b","Resource":"*"}}`,
	`{"Version":"2012-10-17","Statement":[]}`,
	`{"Version":`,
	`[{"a":1}]`,
	`{"Statement":{"Effect":"Allow","Action":"a:b","Resource":"*","Condition":{"StringEquals":{"k":{"nested":[[[1]]]}}}}}`,
}

// FuzzParse checks that Parse never panics and refuses only with a
// *policy.Error, and that a policy it accepts keeps its text and can be
// evaluated, checked for publicity and validated without panicking.
func FuzzParse(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s, false)
		f.Add(s, true)
	}
	ctx := policy.MapContext{
		"aws:username": {"a"}, "aws:tagkeys": {"a1", "b2"}, "aws:currenttime": {"2026-12-03T09:40:46Z"},
		"aws:resourcetag/n": {"2"}, "aws:sourceip": {"10.0.0.1"}, "aws:principalarn": {app1},
		"aws:securetransport": {"true"}, "aws:resourcetag/b": {"AA=="},
	}
	f.Fuzz(func(t *testing.T, doc string, resource bool) {
		kind := policy.Identity
		if resource {
			kind = policy.Resource
		}
		p, err := policy.Parse(doc, kind)
		if err != nil {
			var perr *policy.Error
			if !errors.As(err, &perr) || perr.Message == "" {
				t.Fatalf("Parse error %v is not a *policy.Error with a message", err)
			}
			return
		}
		if p.String() != doc {
			t.Fatalf("String() = %q, want %q", p.String(), doc)
		}
		for _, r := range []policy.Request{
			{Principal: app1, Action: "a:b", Resource: secretDB, Context: ctx},
			{Principal: root, Action: "secretsmanager:GetSecretValue", Resource: "", Context: nil},
			{Principal: "", Action: "", Resource: "arn:", Context: ctx},
		} {
			p.Evaluate(&r)
			policy.Decide([]*policy.Policy{p}, nil, &r)
		}
		p.IsPublic(account)
		p.Findings(account)
	})
}

// FuzzStringLike checks StringLike's wildcard matching against a regular
// expression built from the same pattern.
func FuzzStringLike(f *testing.F) {
	for _, s := range [][2]string{
		{"app1/*", "app1/db"}, {"*", ""}, {"a*b*c", "aXbYbZc"}, {"a?c", "abc"}, {"?", "é"},
		{"*a", "aaaa"}, {"a**b", "ab"}, {"*?*", ""}, {"x*y?z", "xyyz"},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, pat, value string) {
		if strings.Contains(pat, "${") || strings.ContainsAny(pat, `"\`) || strings.ContainsAny(value, `"\`) ||
			!utf8.ValidString(pat) || !utf8.ValidString(value) {
			return // keep the JSON literal and the pattern simple; JSON text is UTF-8
		}
		var re strings.Builder
		re.WriteString(`(?s)^`)
		for _, r := range pat {
			switch r {
			case '*':
				re.WriteString(`.*`)
			case '?':
				re.WriteString(`.`)
			default:
				re.WriteString(regexp.QuoteMeta(string(r)))
			}
		}
		re.WriteString(`$`)
		want := regexp.MustCompile(re.String()).MatchString(value)
		d := doc(`{"Effect":"Allow","Action":"a:b","Resource":"*","Condition":{"StringLike":{"aws:username":"` + pat + `"}}}`)
		p, err := policy.Parse(d, policy.Identity)
		if err != nil {
			return // not valid JSON text (control characters)
		}
		r := &policy.Request{Action: "a:b", Context: policy.MapContext{"aws:username": {value}}}
		if got := p.Evaluate(r) == policy.Allow; got != want {
			t.Fatalf("StringLike %q on %q = %v, want %v", pat, value, got, want)
		}
	})
}

// FuzzResourcePattern checks Resource matching against a regular
// expression built by AWS's rule: '*' ending an ARN segment matches
// anything, any other '*' anything but ':', '?' one character.
func FuzzResourcePattern(f *testing.F) {
	for _, s := range [][2]string{
		{"arn:aws:secretsmanager:*:secret:app1/*", secretDB},
		{"arn:aws:secretsmanager:u*2:secret:app1/db-AbCdEf", secretDB},
		{"arn:a*b:c:d:e:f", "arn:ax:yb:c:d:e:f"},
		{"arn:a*:*:s*:x", "arn:aws:sm:sec:x"},
		{"arn:*a*:b:c:d:e", "arn:xa:y:b:c:d:e"},
		{"arn:??:b:c:d:*?", "arn:é1:b:c:d:ef"},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, pat, value string) {
		if !strings.HasPrefix(pat, "arn:") || strings.Count(pat, ":") < 5 || strings.Contains(pat, "${") ||
			strings.ContainsAny(pat, `"\`) || strings.ContainsAny(value, `"\`) || !utf8.ValidString(pat) || !utf8.ValidString(value) {
			return
		}
		var re strings.Builder
		re.WriteString(`(?s)^`)
		rs := []rune(pat)
		for i := 0; i < len(rs); i++ {
			switch rs[i] {
			case '*':
				j := i
				for j+1 < len(rs) && rs[j+1] == '*' {
					j++
				}
				if j+1 < len(rs) && rs[j+1] != ':' {
					re.WriteString(`[^:]*`)
				} else {
					re.WriteString(`.*`)
				}
				i = j
			case '?':
				re.WriteString(`.`)
			default:
				re.WriteString(regexp.QuoteMeta(string(rs[i])))
			}
		}
		re.WriteString(`$`)
		want := regexp.MustCompile(re.String()).MatchString(value)
		p, err := policy.Parse(doc(`{"Effect":"Allow","Action":"a:b","Resource":"`+pat+`"}`), policy.Identity)
		if err != nil {
			return
		}
		if value == "" || value == "*" {
			return // the empty resource means "no resource"
		}
		r := &policy.Request{Action: "a:b", Resource: value}
		if got := p.Evaluate(r) == policy.Allow; got != want {
			t.Fatalf("Resource %q on %q = %v, want %v", pat, value, got, want)
		}
	})
}
