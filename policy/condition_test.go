package policy_test

import (
	"strings"
	"testing"

	"github.com/rotorhq/rotor/policy"
)

// condCase evaluates one Allow statement with the given Condition element
// against a request with the given context.
type condCase struct {
	name string
	cond string
	ctx  policy.MapContext
	want bool
}

func runCond(t *testing.T, tests []condCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := mustParse(t, doc(`{"Effect":"Allow","Action":"secretsmanager:*","Resource":"*","Condition":`+tt.cond+`}`), policy.Identity)
			r := &policy.Request{Principal: app1, Action: "secretsmanager:GetSecretValue", Resource: secretDB}
			if tt.ctx != nil {
				r.Context = tt.ctx
			}
			if got := p.Evaluate(r) == policy.Allow; got != tt.want {
				t.Errorf("condition %s with %v = %v, want %v", tt.cond, tt.ctx, got, tt.want)
			}
		})
	}
}

func TestConditionString(t *testing.T) {
	env := func(v ...string) policy.MapContext { return policy.MapContext{"aws:resourcetag/env": v} }
	runCond(t, []condCase{
		{"StringEquals", `{"StringEquals":{"aws:ResourceTag/env":"prod"}}`, env("prod"), true},
		{"StringEquals/CaseSensitive", `{"StringEquals":{"aws:ResourceTag/env":"prod"}}`, env("Prod"), false},
		{"StringEquals/AnyOfValues", `{"StringEquals":{"aws:ResourceTag/env":["dev","prod"]}}`, env("prod"), true},
		{"StringEquals/Missing", `{"StringEquals":{"aws:ResourceTag/env":"prod"}}`, nil, false},
		{"StringEquals/NoWildcard", `{"StringEquals":{"aws:ResourceTag/env":"p*"}}`, env("prod"), false},
		{"StringNotEquals", `{"StringNotEquals":{"aws:ResourceTag/env":["dev","test"]}}`, env("prod"), true},
		{"StringNotEquals/Listed", `{"StringNotEquals":{"aws:ResourceTag/env":["dev","test"]}}`, env("test"), false},
		{"StringNotEquals/Missing", `{"StringNotEquals":{"aws:ResourceTag/env":"dev"}}`, nil, true},
		{"StringEqualsIgnoreCase", `{"StringEqualsIgnoreCase":{"aws:ResourceTag/env":"PROD"}}`, env("prod"), true},
		{"StringNotEqualsIgnoreCase", `{"StringNotEqualsIgnoreCase":{"aws:ResourceTag/env":"PROD"}}`, env("Prod"), false},
		{"StringEqualsIgnoreCase/Variable", `{"StringEqualsIgnoreCase":{"aws:ResourceTag/env":"${aws:username}"}}`,
			policy.MapContext{"aws:resourcetag/env": {"prod"}, "aws:username": {"PROD"}}, true},
		{"StringEqualsIgnoreCase/Variable/Differs", `{"StringEqualsIgnoreCase":{"aws:ResourceTag/env":"${aws:username}"}}`,
			policy.MapContext{"aws:resourcetag/env": {"prod"}, "aws:username": {"DEV"}}, false},
		{"StringLike", `{"StringLike":{"aws:ResourceTag/env":"pr*"}}`, env("prod"), true},
		{"StringLike/Question", `{"StringLike":{"aws:ResourceTag/env":"pro?"}}`, env("prod"), true},
		{"StringLike/NoMatch", `{"StringLike":{"aws:ResourceTag/env":"dev*"}}`, env("prod"), false},
		{"StringNotLike", `{"StringNotLike":{"aws:ResourceTag/env":"dev*"}}`, env("prod"), true},
		{"StringNotLike/Missing", `{"StringNotLike":{"aws:ResourceTag/env":"dev*"}}`, nil, true},
		{"KeyNameCaseInsensitive", `{"StringEquals":{"AWS:RESOURCETAG/ENV":"prod"}}`, env("prod"), true},
		{"SecretsManagerName", `{"StringLike":{"secretsmanager:Name":"app1/*"}}`, policy.MapContext{"secretsmanager:name": {"app1/db"}}, true},
		{"AllConditionsMustHold", `{"StringEquals":{"aws:ResourceTag/env":"prod","aws:username":"app2"}}`,
			policy.MapContext{"aws:resourcetag/env": {"prod"}, "aws:username": {"app1"}}, false},
		{"AllOperatorsMustHold", `{"StringEquals":{"aws:ResourceTag/env":"prod"},"StringLike":{"aws:username":"app*"}}`,
			policy.MapContext{"aws:resourcetag/env": {"prod"}, "aws:username": {"app1"}}, true},
		// Unknown keys are never looked up: as if the request lacked them.
		{"UnknownKey", `{"StringEquals":{"aws:MadeUp":"x"}}`, policy.MapContext{"aws:madeup": {"x"}}, false},
		{"UnknownKey/Negated", `{"StringNotEquals":{"aws:MadeUp":"x"}}`, policy.MapContext{"aws:madeup": {"x"}}, true},
	})
}

func TestConditionIfExists(t *testing.T) {
	runCond(t, []condCase{
		{"Present/Match", `{"StringEqualsIfExists":{"secretsmanager:VersionStage":"AWSCURRENT"}}`,
			policy.MapContext{"secretsmanager:versionstage": {"AWSCURRENT"}}, true},
		{"Present/NoMatch", `{"StringEqualsIfExists":{"secretsmanager:VersionStage":"AWSCURRENT"}}`,
			policy.MapContext{"secretsmanager:versionstage": {"AWSPREVIOUS"}}, false},
		{"Absent", `{"StringEqualsIfExists":{"secretsmanager:VersionStage":"AWSCURRENT"}}`, nil, true},
		{"Absent/Negated", `{"StringNotEqualsIfExists":{"secretsmanager:VersionStage":"AWSCURRENT"}}`, nil, true},
		{"Absent/Bool", `{"BoolIfExists":{"aws:SecureTransport":"true"}}`, nil, true},
		{"Absent/IP", `{"IpAddressIfExists":{"aws:SourceIp":"10.0.0.0/8"}}`, nil, true},
		{"Present/IP/Outside", `{"IpAddressIfExists":{"aws:SourceIp":"10.0.0.0/8"}}`, policy.MapContext{"aws:sourceip": {"192.0.2.1"}}, false},
		{"EmptyValues/IsAbsent", `{"StringEqualsIfExists":{"secretsmanager:VersionStage":"AWSCURRENT"}}`,
			policy.MapContext{"secretsmanager:versionstage": {}}, true},
	})
}

func TestConditionNull(t *testing.T) {
	runCond(t, []condCase{
		{"True/Absent", `{"Null":{"aws:ResourceTag/env":"true"}}`, nil, true},
		{"True/Present", `{"Null":{"aws:ResourceTag/env":"true"}}`, policy.MapContext{"aws:resourcetag/env": {"x"}}, false},
		{"False/Present", `{"Null":{"aws:ResourceTag/env":"false"}}`, policy.MapContext{"aws:resourcetag/env": {"x"}}, true},
		{"False/Absent", `{"Null":{"aws:ResourceTag/env":"false"}}`, nil, false},
		{"BoolValue", `{"Null":{"aws:ResourceTag/env":true}}`, nil, true},
	})
}

func TestConditionSetOperators(t *testing.T) {
	keys := func(v ...string) policy.MapContext { return policy.MapContext{"aws:tagkeys": v} }
	runCond(t, []condCase{
		{"ForAllValues/Subset", `{"ForAllValues:StringEquals":{"aws:TagKeys":["env","owner"]}}`, keys("env"), true},
		{"ForAllValues/Extra", `{"ForAllValues:StringEquals":{"aws:TagKeys":["env","owner"]}}`, keys("env", "cost"), false},
		// AWS: ForAllValues is true when the key is missing or empty.
		{"ForAllValues/Missing", `{"ForAllValues:StringEquals":{"aws:TagKeys":["env"]}}`, nil, true},
		{"ForAllValues/Empty", `{"ForAllValues:StringEquals":{"aws:TagKeys":["env"]}}`, keys(), true},
		{"ForAnyValue/One", `{"ForAnyValue:StringEquals":{"aws:TagKeys":["env","owner"]}}`, keys("cost", "owner"), true},
		{"ForAnyValue/None", `{"ForAnyValue:StringEquals":{"aws:TagKeys":["env","owner"]}}`, keys("cost"), false},
		// AWS: ForAnyValue is false when the key is missing or empty.
		{"ForAnyValue/Missing", `{"ForAnyValue:StringEquals":{"aws:TagKeys":["env"]}}`, nil, false},
		{"ForAnyValue/Empty", `{"ForAnyValue:StringEquals":{"aws:TagKeys":["env"]}}`, keys(), false},
		{"ForAnyValue/Negated", `{"ForAnyValue:StringNotEquals":{"aws:TagKeys":["env"]}}`, keys("env", "cost"), true},
		{"ForAnyValue/Negated/AllListed", `{"ForAnyValue:StringNotEquals":{"aws:TagKeys":["env"]}}`, keys("env"), false},
		{"ForAllValues/Negated", `{"ForAllValues:StringNotEquals":{"aws:TagKeys":["secret"]}}`, keys("env", "cost"), true},
		{"ForAllValues/Negated/OneListed", `{"ForAllValues:StringNotEquals":{"aws:TagKeys":["secret"]}}`, keys("env", "secret"), false},
		{"ForAllValues/Like", `{"ForAllValues:StringLike":{"aws:TagKeys":["app-*"]}}`, keys("app-a", "app-b"), true},
		{"ForAllValues/IfExists/Missing", `{"ForAllValues:StringEqualsIfExists":{"aws:TagKeys":["env"]}}`, nil, true},
		{"ForAnyValue/IfExists/Missing", `{"ForAnyValue:StringEqualsIfExists":{"aws:TagKeys":["env"]}}`, nil, true},
		// Without a set operator, a multivalued key matches when any value does.
		{"Multivalued/Plain", `{"StringEquals":{"secretsmanager:VersionStage":"AWSCURRENT"}}`,
			policy.MapContext{"secretsmanager:versionstage": {"AWSPREVIOUS", "AWSCURRENT"}}, true},
		{"Multivalued/Negated", `{"StringNotEquals":{"secretsmanager:VersionStage":"AWSCURRENT"}}`,
			policy.MapContext{"secretsmanager:versionstage": {"AWSPREVIOUS", "AWSCURRENT"}}, false},
	})
}

func TestConditionBool(t *testing.T) {
	tls := func(v string) policy.MapContext { return policy.MapContext{"aws:securetransport": {v}} }
	runCond(t, []condCase{
		{"True", `{"Bool":{"aws:SecureTransport":"true"}}`, tls("true"), true},
		{"JSONBool", `{"Bool":{"aws:SecureTransport":true}}`, tls("true"), true},
		{"CaseInsensitive", `{"Bool":{"aws:SecureTransport":"TRUE"}}`, tls("true"), true},
		{"False", `{"Bool":{"aws:SecureTransport":"false"}}`, tls("true"), false},
		{"Missing", `{"Bool":{"aws:SecureTransport":"false"}}`, nil, false},
	})
}

func TestConditionIP(t *testing.T) {
	ip := func(v string) policy.MapContext { return policy.MapContext{"aws:sourceip": {v}} }
	runCond(t, []condCase{
		{"IPv4/In", `{"IpAddress":{"aws:SourceIp":"203.0.113.0/24"}}`, ip("203.0.113.7"), true},
		{"IPv4/Out", `{"IpAddress":{"aws:SourceIp":"203.0.113.0/24"}}`, ip("203.0.114.7"), false},
		{"IPv4/List", `{"IpAddress":{"aws:SourceIp":["192.0.2.0/24","203.0.113.0/24"]}}`, ip("203.0.113.7"), true},
		{"IPv4/Single", `{"IpAddress":{"aws:SourceIp":"203.0.113.7"}}`, ip("203.0.113.7"), true},
		{"IPv4/Single/Other", `{"IpAddress":{"aws:SourceIp":"203.0.113.7"}}`, ip("203.0.113.8"), false},
		{"IPv4/Mapped", `{"IpAddress":{"aws:SourceIp":"203.0.113.0/24"}}`, ip("::ffff:203.0.113.7"), true},
		{"IPv6/In", `{"IpAddress":{"aws:SourceIp":"2001:DB8:1234:5678::/64"}}`, ip("2001:db8:1234:5678::1"), true},
		{"IPv6/Out", `{"IpAddress":{"aws:SourceIp":"2001:DB8:1234:5678::/64"}}`, ip("2001:db8:1234:5679::1"), false},
		{"IPv6/NotIPv4", `{"IpAddress":{"aws:SourceIp":"::/0"}}`, ip("203.0.113.7"), false},
		{"NotIpAddress/Out", `{"NotIpAddress":{"aws:SourceIp":"203.0.113.0/24"}}`, ip("192.0.2.1"), true},
		{"NotIpAddress/In", `{"NotIpAddress":{"aws:SourceIp":"203.0.113.0/24"}}`, ip("203.0.113.1"), false},
		{"NotIpAddress/Missing", `{"NotIpAddress":{"aws:SourceIp":"203.0.113.0/24"}}`, nil, true},
		{"Garbage", `{"IpAddress":{"aws:SourceIp":"0.0.0.0/0"}}`, ip("not-an-ip"), false},
	})
}

func TestConditionDate(t *testing.T) {
	now := func(v string) policy.MapContext { return policy.MapContext{"aws:currenttime": {v}} }
	runCond(t, []condCase{
		{"LessThan", `{"DateLessThan":{"aws:CurrentTime":"2027-01-01T00:00:00Z"}}`, now("2026-12-03T09:40:46Z"), true},
		{"LessThan/After", `{"DateLessThan":{"aws:CurrentTime":"2026-12-01T00:00:00Z"}}`, now("2026-12-03T09:40:46Z"), false},
		{"GreaterThan/DateOnly", `{"DateGreaterThan":{"aws:CurrentTime":"2026-12-03"}}`, now("2026-12-03T09:40:46Z"), true},
		{"GreaterThanEquals/Equal", `{"DateGreaterThanEquals":{"aws:CurrentTime":"2026-12-03T09:40:46Z"}}`, now("2026-12-03T09:40:46Z"), true},
		{"LessThanEquals/Equal", `{"DateLessThanEquals":{"aws:CurrentTime":"2026-12-03T09:40:46Z"}}`, now("2026-12-03T09:40:46Z"), true},
		{"Equals/Offset", `{"DateEquals":{"aws:CurrentTime":"2026-12-03T10:40:46+01:00"}}`, now("2026-12-03T09:40:46Z"), true},
		{"NotEquals", `{"DateNotEquals":{"aws:CurrentTime":"2026-12-03T10:40:46+01:00"}}`, now("2026-12-03T09:40:46Z"), false},
		{"Epoch", `{"DateLessThan":{"aws:CurrentTime":"1798761600"}}`, now("2026-12-03T09:40:46Z"), true},
		{"Epoch/JSONNumber", `{"DateLessThan":{"aws:CurrentTime":1764547200}}`, now("2026-12-03T09:40:46Z"), false},
		{"Window", `{"DateGreaterThan":{"aws:CurrentTime":"2026-12-01T00:00:00Z"},"DateLessThan":{"aws:CurrentTime":"2026-12-31T23:59:59Z"}}`,
			now("2026-12-03T09:40:46Z"), true},
		{"Missing", `{"DateLessThan":{"aws:CurrentTime":"2027-01-01T00:00:00Z"}}`, nil, false},
	})
}

func TestConditionNumeric(t *testing.T) {
	// No Rotor key is numeric today; a tag holds the number.
	n := func(v string) policy.MapContext { return policy.MapContext{"aws:resourcetag/tier": {v}} }
	runCond(t, []condCase{
		{"Equals", `{"NumericEquals":{"aws:ResourceTag/tier":"3"}}`, n("3"), true},
		{"Equals/Float", `{"NumericEquals":{"aws:ResourceTag/tier":3}}`, n("3.0"), true},
		{"NotEquals", `{"NumericNotEquals":{"aws:ResourceTag/tier":"3"}}`, n("4"), true},
		{"LessThan", `{"NumericLessThan":{"aws:ResourceTag/tier":"3"}}`, n("2"), true},
		{"LessThan/Equal", `{"NumericLessThan":{"aws:ResourceTag/tier":"3"}}`, n("3"), false},
		{"LessThanEquals", `{"NumericLessThanEquals":{"aws:ResourceTag/tier":"3"}}`, n("3"), true},
		{"GreaterThan", `{"NumericGreaterThan":{"aws:ResourceTag/tier":"3"}}`, n("3.5"), true},
		{"GreaterThanEquals", `{"NumericGreaterThanEquals":{"aws:ResourceTag/tier":"3"}}`, n("2"), false},
		{"NotANumber", `{"NumericLessThan":{"aws:ResourceTag/tier":"3"}}`, n("two"), false},
	})
}

func TestConditionARN(t *testing.T) {
	lambda := func(v string) policy.MapContext { return policy.MapContext{"secretsmanager:rotationlambdaarn": {v}} }
	const fn = "arn:aws:lambda:us-east-1:123456789012:function:rotate-db"
	runCond(t, []condCase{
		{"ArnEquals", `{"ArnEquals":{"secretsmanager:RotationLambdaARN":"` + fn + `"}}`, lambda(fn), true},
		{"ArnLike/Name", `{"ArnLike":{"secretsmanager:RotationLambdaARN":"arn:aws:lambda:*:123456789012:function:rotate-*"}}`, lambda(fn), true},
		{"ArnLike/Account", `{"ArnLike":{"secretsmanager:RotationLambdaARN":"arn:aws:lambda:*:210987654321:function:*"}}`, lambda(fn), false},
		// Each field is matched on its own: '*' does not span a colon.
		{"ArnLike/NoColonSpan", `{"ArnLike":{"secretsmanager:RotationLambdaARN":"arn:aws:lambda:*:function:rotate-db"}}`, lambda(fn), false},
		{"ArnLike/QuestionMark", `{"ArnLike":{"secretsmanager:RotationLambdaARN":"arn:aws:lambda:us-east-?:123456789012:function:rotate-db"}}`, lambda(fn), true},
		{"ArnNotLike", `{"ArnNotLike":{"secretsmanager:RotationLambdaARN":"arn:aws:lambda:*:*:function:prod-*"}}`, lambda(fn), true},
		{"ArnNotEquals/Same", `{"ArnNotEquals":{"secretsmanager:RotationLambdaARN":"` + fn + `"}}`, lambda(fn), false},
		{"ArnLike/NotAnARN", `{"ArnLike":{"secretsmanager:RotationLambdaARN":"arn:aws:lambda:*:*:*:*"}}`, lambda("rotate-db"), false},
		{"AllowRotationLambdaArn", `{"ArnLike":{"secretsmanager:resource/AllowRotationLambdaArn":"arn:aws:lambda:*:*:function:rotate-*"}}`,
			policy.MapContext{"secretsmanager:resource/allowrotationlambdaarn": {fn}}, true},
		{"PrincipalArn", `{"ArnEquals":{"aws:PrincipalArn":"` + app1 + `"}}`, policy.MapContext{"aws:principalarn": {app1}}, true},
	})
}

func TestConditionBinary(t *testing.T) {
	runCond(t, []condCase{
		{"Equals", `{"BinaryEquals":{"aws:ResourceTag/key":"QmluYXJ5VmFsdWU="}}`, policy.MapContext{"aws:resourcetag/key": {"QmluYXJ5VmFsdWU="}}, true},
		{"Differs", `{"BinaryEquals":{"aws:ResourceTag/key":"QmluYXJ5VmFsdWU="}}`, policy.MapContext{"aws:resourcetag/key": {"QmluYXJ5"}}, false},
	})
}

func TestKeys(t *testing.T) {
	// The keys issue 9 names, in canonical form.
	want := []string{
		"aws:sourceip", "aws:currenttime", "aws:securetransport", "aws:principalarn", "aws:username",
		"aws:resourcetag/", "secretsmanager:resourcetag/", "secretsmanager:name", "secretsmanager:secretid",
		"secretsmanager:versionstage", "secretsmanager:versionid", "secretsmanager:resource/allowrotationlambdaarn",
		"secretsmanager:rotationlambdaarn", "aws:requesttag/", "aws:tagkeys",
	}
	got := map[string]bool{}
	for _, k := range policy.Keys() {
		if k != strings.ToLower(k) {
			t.Errorf("key %q is not in canonical (lower-case) form", k)
		}
		got[k] = true
	}
	for _, k := range want {
		if !got[k] {
			t.Errorf("Keys() lacks %q", k)
		}
	}
	policy.Keys()[0] = "changed"
	if policy.Keys()[0] == "changed" {
		t.Error("Keys() returns the package's own slice")
	}
}
