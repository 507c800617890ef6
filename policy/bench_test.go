package policy_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/rotorhq/rotor/policy"
)

// benchIdentity is a 20-statement identity policy of the kind the issue's
// read-path benchmark names: broad allows, prefix wildcards, tag and IP
// conditions, and denies that must all be checked before the allow that
// decides (the 17th statement).
func benchIdentity() string {
	var s []string
	for i := range 8 {
		s = append(s, fmt.Sprintf(`{"Sid":"Team%d","Effect":"Allow","Action":["secretsmanager:Describe*","secretsmanager:List*"],`+
			`"Resource":"arn:aws:secretsmanager:us-east-1:123456789012:secret:team%d/*"}`, i, i))
	}
	s = append(s,
		`{"Sid":"DenyInsecure","Effect":"Deny","Action":"secretsmanager:*","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":"false"}}}`,
		`{"Sid":"DenyOutsideNetwork","Effect":"Deny","Action":"secretsmanager:*","Resource":"*","Condition":{"NotIpAddress":{"aws:SourceIp":["10.0.0.0/8","192.168.0.0/16","2001:db8::/32"]}}}`,
		`{"Sid":"DenyProdDelete","Effect":"Deny","Action":["secretsmanager:DeleteSecret","secretsmanager:PutSecretValue"],"Resource":"arn:aws:secretsmanager:*:*:secret:prod/*"}`,
		`{"Sid":"DenyExpired","Effect":"Deny","Action":"secretsmanager:*","Resource":"*","Condition":{"DateGreaterThan":{"aws:CurrentTime":"2030-01-01T00:00:00Z"}}}`,
		`{"Sid":"DenyUntagged","Effect":"Deny","Action":"secretsmanager:GetSecretValue","Resource":"*","Condition":{"Null":{"aws:ResourceTag/env":"true"}}}`,
		`{"Sid":"DenyOldStages","Effect":"Deny","Action":"secretsmanager:GetSecretValue","Resource":"*","Condition":{"ForAnyValue:StringLike":{"secretsmanager:VersionStage":"OLD*"}}}`,
		`{"Sid":"Rotation","Effect":"Allow","Action":"secretsmanager:RotateSecret","Resource":"*","Condition":{"ArnLike":{"secretsmanager:RotationLambdaARN":"arn:aws:lambda:*:123456789012:function:rotate-*"}}}`,
		`{"Sid":"Random","Effect":"Allow","Action":"secretsmanager:GetRandomPassword","Resource":"*"}`,
		`{"Sid":"ReadApp","Effect":"Allow","Action":["secretsmanager:GetSecretValue","secretsmanager:DescribeSecret"],"Resource":"arn:aws:secretsmanager:us-east-1:123456789012:secret:app1/*",`+
			`"Condition":{"StringEquals":{"aws:ResourceTag/env":["prod","staging"]},"StringLike":{"secretsmanager:Name":"app1/*"}}}`,
		`{"Sid":"Tagging","Effect":"Allow","Action":["secretsmanager:TagResource","secretsmanager:UntagResource"],"Resource":"*","Condition":{"ForAllValues:StringEquals":{"aws:TagKeys":["env","owner"]}}}`,
		`{"Sid":"OwnSecrets","Effect":"Allow","Action":"secretsmanager:*","Resource":"arn:aws:secretsmanager:*:*:secret:${aws:username}/*"}`,
		`{"Sid":"Batch","Effect":"Allow","Action":"secretsmanager:BatchGetSecretValue","Resource":"*"}`,
	)
	return `{"Version":"2012-10-17","Statement":[` + strings.Join(s, ",") + `]}`
}

// benchResource is a 10-statement resource policy: named readers, a
// rotation function, and denies on transport, stage and other principals.
func benchResource() string {
	var s []string
	for i := range 6 {
		s = append(s, fmt.Sprintf(`{"Sid":"Reader%d","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:user/reader%d"},`+
			`"Action":"secretsmanager:GetSecretValue","Resource":"*"}`, i, i))
	}
	s = append(s,
		`{"Sid":"DenyInsecure","Effect":"Deny","Principal":"*","Action":"secretsmanager:*","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":"false"}}}`,
		`{"Sid":"DenyOthers","Effect":"Deny","Principal":"*","Action":"secretsmanager:GetSecretValue","Resource":"*",`+
			`"Condition":{"StringNotLike":{"aws:PrincipalArn":["arn:aws:iam::123456789012:user/app*","arn:aws:iam::123456789012:user/reader*"]}}}`,
		`{"Sid":"DenyPending","Effect":"Deny","Principal":{"AWS":"123456789012"},"Action":"secretsmanager:GetSecretValue","Resource":"*",`+
			`"Condition":{"ForAnyValue:StringEquals":{"secretsmanager:VersionStage":"AWSPENDING"},"StringNotEquals":{"aws:username":"rotator"}}}`,
		`{"Sid":"App","Effect":"Allow","Principal":{"AWS":["arn:aws:iam::123456789012:user/app1","arn:aws:iam::123456789012:user/app2"]},`+
			`"Action":["secretsmanager:GetSecretValue","secretsmanager:DescribeSecret"],"Resource":"*"}`,
	)
	return `{"Version":"2012-10-17","Statement":[` + strings.Join(s, ",") + `]}`
}

// benchContext is a request context as the server would build it.
var benchContext = policy.MapContext{
	"aws:sourceip":                {"10.1.2.3"},
	"aws:currenttime":             {"2026-12-03T09:40:46Z"},
	"aws:securetransport":         {"true"},
	"aws:principalarn":            {app1},
	"aws:username":                {"app1"},
	"aws:resourcetag/env":         {"prod"},
	"secretsmanager:name":         {"app1/db"},
	"secretsmanager:secretid":     {"app1/db"},
	"secretsmanager:versionstage": {"AWSCURRENT"},
}

func benchPolicies(tb testing.TB) ([]*policy.Policy, *policy.Policy, *policy.Request) {
	identity := mustParse(tb, benchIdentity(), policy.Identity)
	resource := mustParse(tb, benchResource(), policy.Resource)
	r := &policy.Request{Principal: app1, Action: "secretsmanager:GetSecretValue", Resource: secretDB, Context: benchContext}
	if d := policy.Decide([]*policy.Policy{identity}, resource, r); d != (policy.Decision{Allowed: true, Reason: policy.AllowedByIdentity}) {
		tb.Fatalf("Decide = %+v, want allowed by identity", d)
	}
	return []*policy.Policy{identity}, resource, r
}

// TestDecideAllocations checks that a decision over compiled policies
// allocates nothing: the read path pays only for the matching.
func TestDecideAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are meaningless under -race")
	}
	identity, resource, r := benchPolicies(t)
	if n := testing.AllocsPerRun(100, func() { policy.Decide(identity, resource, r) }); n != 0 {
		t.Errorf("Decide allocates %v times per call, want 0", n)
	}
	// A policy variable is resolved while matching, without building a string.
	own := &policy.Request{Principal: app1, Action: "secretsmanager:PutSecretValue", Resource: secretDB, Context: benchContext}
	if d := policy.Decide(identity, resource, own); d.Reason != policy.AllowedByIdentity {
		t.Fatalf("Decide(PutSecretValue on own secret) = %+v, want allowed by identity", d)
	}
	if n := testing.AllocsPerRun(100, func() { policy.Decide(identity, resource, own) }); n != 0 {
		t.Errorf("Decide with a policy variable allocates %v times per call, want 0", n)
	}
}

// BenchmarkDecide measures GetSecretValue against a 20-statement identity
// policy and a 10-statement resource policy.
func BenchmarkDecide(b *testing.B) {
	identity, resource, r := benchPolicies(b)
	b.ReportAllocs()
	for b.Loop() {
		policy.Decide(identity, resource, r)
	}
}

// BenchmarkParse measures compiling the 20-statement identity policy, the
// cost paid once when a policy is stored or loaded.
func BenchmarkParse(b *testing.B) {
	d := benchIdentity()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := policy.Parse(d, policy.Identity); err != nil {
			b.Fatal(err)
		}
	}
}
