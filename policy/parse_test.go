package policy_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/rotorhq/rotor/policy"
)

func TestParseMalformed(t *testing.T) {
	stmt := func(s string) string { return doc(s) }
	tests := []struct {
		name string
		kind policy.Kind
		doc  string
		msg  string
	}{
		{"NotJSON", policy.Identity, `{"Version":`, "Syntax errors in policy."},
		{"NotObject", policy.Identity, `[]`, "Syntax errors in policy."},
		{"TrailingData", policy.Identity, doc(`{"Effect":"Allow","Action":"a:b","Resource":"*"}`) + `{}`, "Syntax errors in policy."},
		{"DuplicateKey", policy.Identity, stmt(`{"Effect":"Allow","Effect":"Deny","Action":"a:b","Resource":"*"}`), "Syntax errors in policy."},
		{"UnknownTopElement", policy.Identity, `{"Version":"2012-10-17","Statements":[]}`, "Syntax errors in policy."},
		{"UnknownStatementElement", policy.Identity, stmt(`{"Effect":"Allow","Action":"a:b","Resource":"*","Foo":1}`), "Syntax errors in policy."},
		{"ElementNameCase", policy.Identity, stmt(`{"effect":"Allow","Action":"a:b","Resource":"*"}`), "Syntax errors in policy."},
		{"NoStatement", policy.Identity, `{"Version":"2012-10-17"}`, "Syntax errors in policy."},
		{"EmptyStatement", policy.Identity, `{"Version":"2012-10-17","Statement":[]}`, "Syntax errors in policy."},
		{"BadVersion", policy.Identity, `{"Version":"2019-10-19","Statement":[{"Effect":"Allow","Action":"a:b","Resource":"*"}]}`,
			"The policy must contain a valid version string"},
		{"MissingEffect", policy.Identity, stmt(`{"Action":"a:b","Resource":"*"}`), "Missing required field Effect"},
		{"BadEffect", policy.Identity, stmt(`{"Effect":"allow","Action":"a:b","Resource":"*"}`), "Syntax errors in policy."},
		{"MissingAction", policy.Identity, stmt(`{"Effect":"Allow","Resource":"*"}`), "Policy statement must contain actions."},
		{"EmptyAction", policy.Identity, stmt(`{"Effect":"Allow","Action":[],"Resource":"*"}`), "Policy statement must contain actions."},
		{"ActionAndNotAction", policy.Identity, stmt(`{"Effect":"Allow","Action":"a:b","NotAction":"a:c","Resource":"*"}`), "Syntax errors in policy."},
		{"ActionNotString", policy.Identity, stmt(`{"Effect":"Allow","Action":1,"Resource":"*"}`), "Syntax errors in policy."},
		{"ActionNoVendor", policy.Identity, stmt(`{"Effect":"Allow","Action":"GetSecretValue","Resource":"*"}`),
			"Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc."},
		{"ActionTwoColons", policy.Identity, stmt(`{"Effect":"Allow","Action":"a:b:c","Resource":"*"}`), "Actions/Condition can contain only one colon."},
		{"ActionBadVendor", policy.Identity, stmt(`{"Effect":"Allow","Action":"secrets manager:Get","Resource":"*"}`), "Vendor secrets manager is not valid"},
		{"MissingResource", policy.Identity, stmt(`{"Effect":"Allow","Action":"a:b"}`), "Policy statement must contain resources."},
		{"ResourceAndNotResource", policy.Identity, stmt(`{"Effect":"Allow","Action":"a:b","Resource":"*","NotResource":"*"}`), "Syntax errors in policy."},
		{"ResourceNotARN", policy.Identity, stmt(`{"Effect":"Allow","Action":"a:b","Resource":"app1/db"}`), `Resource app1/db must be in ARN format or "*".`},
		{"ResourceShortARN", policy.Identity, stmt(`{"Effect":"Allow","Action":"a:b","Resource":"arn:aws:secretsmanager"}`),
			`Resource arn:aws:secretsmanager must be in ARN format or "*".`},
		{"PrincipalInIdentity", policy.Identity, stmt(`{"Effect":"Allow","Principal":"*","Action":"a:b","Resource":"*"}`),
			"Policy document should not specify a principal."},
		{"NotPrincipalInIdentity", policy.Identity, stmt(`{"Effect":"Allow","NotPrincipal":{"AWS":"` + app1 + `"},"Action":"a:b","Resource":"*"}`),
			"Policy document should not specify a principal."},
		{"MissingPrincipal", policy.Resource, stmt(`{"Effect":"Allow","Action":"a:b","Resource":"*"}`), "Missing required field Principal"},
		{"PrincipalAndNotPrincipal", policy.Resource, stmt(`{"Effect":"Allow","Principal":"*","NotPrincipal":"*","Action":"a:b","Resource":"*"}`),
			"This policy has invalid syntax."},
		{"Resource/NotJSON", policy.Resource, `{"Version":`, "This policy has invalid syntax."},
		{"Resource/BadVersion", policy.Resource, `{"Version":"2019-10-19","Statement":[{"Effect":"Allow","Principal":"*","Action":"a:b","Resource":"*"}]}`,
			"This policy has invalid syntax."},
		{"PrincipalService", policy.Resource, stmt(`{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"a:b","Resource":"*"}`),
			"This resource policy contains an unsupported principal."},
		{"PrincipalRole", policy.Resource, stmt(`{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:role/r"},"Action":"a:b","Resource":"*"}`),
			"This resource policy contains an unsupported principal."},
		{"PrincipalWildcardUser", policy.Resource, stmt(`{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:user/*"},"Action":"a:b","Resource":"*"}`),
			"This resource policy contains an unsupported principal."},
		{"PrincipalShortAccount", policy.Resource, stmt(`{"Effect":"Allow","Principal":{"AWS":"12345"},"Action":"a:b","Resource":"*"}`),
			"This resource policy contains an unsupported principal."},
		{"PrincipalString", policy.Resource, stmt(`{"Effect":"Allow","Principal":"` + app1 + `","Action":"a:b","Resource":"*"}`),
			`Invalid principal in policy: "` + app1 + `"`},
		{"DuplicateSid", policy.Identity, stmt(`{"Sid":"A","Effect":"Allow","Action":"a:b","Resource":"*"},{"Sid":"A","Effect":"Deny","Action":"a:b","Resource":"*"}`),
			"Statement IDs (SID) in a single policy must be unique."},
		{"SidNotAlphanumeric", policy.Identity, stmt(`{"Sid":"read secrets","Effect":"Allow","Action":"a:b","Resource":"*"}`),
			"Statement IDs (SID) must be alpha-numeric. Check that your input satisfies the regular expression [0-9A-Za-z]*"},
		{"UnknownOperator", policy.Identity, stmt(`{"Effect":"Allow","Action":"a:b","Resource":"*","Condition":{"StringEqualz":{"aws:username":"x"}}}`),
			"Invalid Condition type : StringEqualz."},
		{"NullWithSetOperator", policy.Identity, stmt(`{"Effect":"Allow","Action":"a:b","Resource":"*","Condition":{"ForAnyValue:Null":{"aws:username":"true"}}}`),
			"Invalid Condition type : ForAnyValue:Null."},
		{"ConditionKeyNoVendor", policy.Identity, stmt(`{"Effect":"Allow","Action":"a:b","Resource":"*","Condition":{"StringEquals":{"username":"x"}}}`),
			"Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc."},
		{"BadCIDR", policy.Identity, stmt(`{"Effect":"Allow","Action":"a:b","Resource":"*","Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/33"}}}`),
			`Invalid Condition value for IpAddress on key aws:SourceIp: "10.0.0.0/33".`},
		{"BadDate", policy.Identity, stmt(`{"Effect":"Allow","Action":"a:b","Resource":"*","Condition":{"DateLessThan":{"aws:CurrentTime":"tomorrow"}}}`),
			`Invalid Condition value for DateLessThan on key aws:CurrentTime: "tomorrow".`},
		{"BadNumber", policy.Identity, stmt(`{"Effect":"Allow","Action":"a:b","Resource":"*","Condition":{"NumericLessThan":{"aws:ResourceTag/n":"ten"}}}`),
			`Invalid Condition value for NumericLessThan on key aws:ResourceTag/n: "ten".`},
		{"BadNull", policy.Identity, stmt(`{"Effect":"Allow","Action":"a:b","Resource":"*","Condition":{"Null":{"aws:username":"yes"}}}`),
			`Invalid Condition value for Null on key aws:username: "yes".`},
		{"BadARN", policy.Identity, stmt(`{"Effect":"Allow","Action":"a:b","Resource":"*","Condition":{"ArnLike":{"aws:PrincipalArn":"app1"}}}`),
			`Invalid Condition value for ArnLike on key aws:PrincipalArn: "app1".`},
		{"ConditionValueObject", policy.Identity, stmt(`{"Effect":"Allow","Action":"a:b","Resource":"*","Condition":{"StringEquals":{"aws:username":{"a":"b"}}}}`),
			"Syntax errors in policy."},
		{"ConditionValueNull", policy.Identity, stmt(`{"Effect":"Allow","Action":"a:b","Resource":"*","Condition":{"StringEquals":{"aws:username":null}}}`),
			"Syntax errors in policy."},
		{"BadVariable", policy.Identity, stmt(`{"Effect":"Allow","Action":"a:b","Resource":"arn:aws:secretsmanager:*:*:secret:${aws:username, nobody}"}`),
			"Invalid policy variable ${aws:username, nobody}."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := policy.Parse(tt.doc, tt.kind)
			var perr *policy.Error
			if !errors.As(err, &perr) {
				t.Fatalf("Parse = %v, %v; want *policy.Error", p, err)
			}
			if perr.Code != policy.Malformed || perr.Message != tt.msg {
				t.Errorf("Parse error = {%v %q}, want {Malformed %q}", perr.Code, perr.Message, tt.msg)
			}
		})
	}
}

func TestParseAccepts(t *testing.T) {
	tests := map[string]struct {
		kind policy.Kind
		doc  string
	}{
		"NoVersion":         {policy.Identity, `{"Statement":{"Effect":"Allow","Action":"secretsmanager:*","Resource":"*"}}`},
		"Version2008":       {policy.Identity, `{"Version":"2008-10-17","Statement":{"Effect":"Allow","Action":"secretsmanager:*","Resource":"*"}}`},
		"Id":                {policy.Identity, `{"Version":"2012-10-17","Id":"x","Statement":{"Effect":"Allow","Action":"secretsmanager:*","Resource":"*"}}`},
		"ResourceSidSpaces": {policy.Resource, doc(`{"Sid":"read access","Effect":"Allow","Principal":{"AWS":"` + app1 + `"},"Action":"secretsmanager:GetSecretValue","Resource":"*"}`)},
		"PrincipalForms": {policy.Resource, doc(`{"Effect":"Allow","Principal":{"AWS":["*","` + account + `","` + root + `","` + app1 +
			`","arn:aws:iam::123456789012:user/team/app3"]},"Action":"secretsmanager:GetSecretValue","Resource":"*"}`)},
		"AllOperators": {policy.Identity, doc(`{"Effect":"Allow","Action":"a:b","Resource":"*","Condition":{
			"StringEquals":{"aws:username":"a"},"StringNotEqualsIfExists":{"aws:username":"b"},
			"ForAnyValue:StringLike":{"aws:TagKeys":"a*"},"ForAllValues:StringEqualsIgnoreCase":{"aws:TagKeys":["A"]},
			"NumericLessThanEquals":{"aws:ResourceTag/n":1.5},"DateGreaterThanIfExists":{"aws:CurrentTime":"2026-01-01T00:00Z"},
			"Bool":{"aws:SecureTransport":true},"BinaryEquals":{"aws:ResourceTag/b":"AA=="},
			"NotIpAddressIfExists":{"aws:SourceIp":["10.0.0.0/8","fd00::/8"]},"ArnNotLikeIfExists":{"aws:PrincipalArn":"arn:aws:iam::*:user/x"},
			"Null":{"aws:ResourceTag/env":"false"}}}`)},
		"Whitespace": {policy.Identity, "\n{\n  \"Version\" : \"2012-10-17\",\n  \"Statement\" : [ {\n    \"Effect\" : \"Allow\", \"Action\" : \"a:b\", \"Resource\" : \"*\" } ]\n}\n"},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			p, err := policy.Parse(tt.doc, tt.kind)
			if err != nil {
				t.Fatalf("Parse = %v", err)
			}
			if p.String() != tt.doc {
				t.Errorf("String() = %q, want the document byte for byte", p.String())
			}
			if p.Kind() != tt.kind {
				t.Errorf("Kind() = %v, want %v", p.Kind(), tt.kind)
			}
		})
	}
}

// sizedDoc returns a valid document of exactly n characters, padded with
// white space (when pad is true) or with a long Sid.
func sizedDoc(n int, pad bool, principal string) string {
	head := `{"Version":"2012-10-17","Statement":[{` + principal + `"Effect":"Allow","Action":"a:b","Resource":"*","Sid":"`
	tail := `"}]}`
	if pad {
		base := head + tail
		return base + strings.Repeat(" ", n-len(base))
	}
	return head + strings.Repeat("a", n-len(head)-len(tail)) + tail
}

func TestParseSize(t *testing.T) {
	const principal = `"Principal":"*",`
	tests := []struct {
		name string
		kind policy.Kind
		doc  string
		ok   bool
	}{
		{"Identity/AtLimit", policy.Identity, sizedDoc(policy.MaxIdentitySize, false, ""), true},
		{"Identity/OverLimit", policy.Identity, sizedDoc(policy.MaxIdentitySize+1, false, ""), false},
		{"Identity/WhitespaceNotCounted", policy.Identity, sizedDoc(policy.MaxIdentitySize*2, true, ""), true},
		{"Resource/AtLimit", policy.Resource, sizedDoc(policy.MaxResourceSize, false, principal), true},
		{"Resource/OverLimit", policy.Resource, sizedDoc(policy.MaxResourceSize+1, false, principal), false},
		{"Resource/WhitespaceCounted", policy.Resource, sizedDoc(policy.MaxResourceSize+1, true, principal), false},
		{"Resource/CharactersNotBytes", policy.Resource,
			strings.Replace(sizedDoc(policy.MaxResourceSize, false, principal), "aaaa", "ééé€", 1), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := policy.Parse(tt.doc, tt.kind)
			if tt.ok {
				if err != nil {
					t.Fatalf("Parse(%d chars) = %v, want ok", len(tt.doc), err)
				}
				return
			}
			var perr *policy.Error
			if !errors.As(err, &perr) || perr.Code != policy.TooLarge {
				t.Fatalf("Parse(%d chars) = %v, want TooLarge", len(tt.doc), err)
			}
		})
	}
}

func TestMustParse(t *testing.T) {
	if p := policy.MustParse(doc(`{"Effect":"Allow","Action":"a:b","Resource":"*"}`), policy.Identity); p == nil {
		t.Fatal("MustParse(valid) = nil")
	}
	defer func() {
		if recover() == nil {
			t.Error("MustParse(malformed) did not panic")
		}
	}()
	policy.MustParse(`{`, policy.Identity)
}
