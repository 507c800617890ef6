package policy_test

import (
	"encoding/json"
	"os"
	"reflect"
	"sort"
	"testing"

	"github.com/rotorhq/rotor/policy"
)

func TestIsPublic(t *testing.T) {
	stmt := func(effect, principal, cond string) string {
		s := `{"Effect":"` + effect + `",` + principal + `,"Action":"secretsmanager:GetSecretValue","Resource":"*"`
		if cond != "" {
			s += `,"Condition":` + cond
		}
		return doc(s + `}`)
	}
	tests := []struct {
		name string
		doc  string
		want bool
	}{
		{"Star", stmt("Allow", `"Principal":"*"`, ""), true},
		{"AWSStar", stmt("Allow", `"Principal":{"AWS":"*"}`, ""), true},
		{"User", stmt("Allow", `"Principal":{"AWS":"`+app1+`"}`, ""), false},
		{"Account", stmt("Allow", `"Principal":{"AWS":"`+account+`"}`, ""), false},
		{"AccountRoot", stmt("Allow", `"Principal":{"AWS":"`+root+`"}`, ""), false},
		{"OtherAccount", stmt("Allow", `"Principal":{"AWS":"`+other+`"}`, ""), true},
		{"OtherAccountUser", stmt("Allow", `"Principal":{"AWS":"`+outside+`"}`, ""), true},
		{"MixedList", stmt("Allow", `"Principal":{"AWS":["`+app1+`","*"]}`, ""), true},
		{"DenyStar", stmt("Deny", `"Principal":"*"`, ""), false},
		{"NotPrincipalAllow", stmt("Allow", `"NotPrincipal":{"AWS":"`+app1+`"}`, ""), true},
		{"Star/PrincipalArnPinned", stmt("Allow", `"Principal":"*"`, `{"StringEquals":{"aws:PrincipalArn":["`+app1+`","`+app2+`"]}}`), false},
		{"Star/PrincipalArnLikeInAccount", stmt("Allow", `"Principal":"*"`, `{"ArnLike":{"aws:PrincipalArn":"arn:aws:iam::123456789012:user/app*"}}`), false},
		{"Star/PrincipalArnAnyAccount", stmt("Allow", `"Principal":"*"`, `{"ArnLike":{"aws:PrincipalArn":"arn:aws:iam::*:user/app1"}}`), true},
		{"Star/PrincipalArnOneOutside", stmt("Allow", `"Principal":"*"`, `{"StringEquals":{"aws:PrincipalArn":["`+app1+`","`+outside+`"]}}`), true},
		{"Star/PrincipalArnIfExists", stmt("Allow", `"Principal":"*"`, `{"StringEqualsIfExists":{"aws:PrincipalArn":"`+app1+`"}}`), true},
		{"Star/PrincipalArnNegated", stmt("Allow", `"Principal":"*"`, `{"StringNotEquals":{"aws:PrincipalArn":"`+outside+`"}}`), true},
		{"Star/SourceIp", stmt("Allow", `"Principal":"*"`, `{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}`), true},
		{"Star/Username", stmt("Allow", `"Principal":"*"`, `{"StringEquals":{"aws:username":"app1"}}`), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := mustParse(t, tt.doc, policy.Resource)
			if got := p.IsPublic(account); got != tt.want {
				t.Errorf("IsPublic = %v, want %v", got, tt.want)
			}
		})
	}
	identity := mustParse(t, doc(`{"Effect":"Allow","Action":"*","Resource":"*"}`), policy.Identity)
	if identity.IsPublic(account) {
		t.Error("identity policy IsPublic = true, want false")
	}
}

func TestValidate(t *testing.T) {
	codes := func(fs []policy.Finding) []string {
		var out []string
		for _, f := range fs {
			out = append(out, f.Type+" "+f.Check)
		}
		return out
	}
	tests := []struct {
		name string
		kind policy.Kind
		doc  string
		want []string
	}{
		{"Clean", policy.Resource, doc(`{"Effect":"Allow","Principal":{"AWS":"` + app1 + `"},"Action":"secretsmanager:GetSecretValue","Resource":"*",
			"Condition":{"StringEquals":{"aws:ResourceTag/env":"prod"}}}`), nil},
		{"Public", policy.Resource, doc(`{"Effect":"Allow","Principal":"*","Action":"secretsmanager:GetSecretValue","Resource":"*"}`),
			[]string{"ERROR PUBLIC_ACCESS"}},
		{"UnknownKeys", policy.Resource, doc(`{"Effect":"Allow","Principal":{"AWS":"` + app1 + `"},"Action":"secretsmanager:GetSecretValue","Resource":"*",
			"Condition":{"StringEquals":{"aws:MadeUp":"x","AWS:MADEUP":"y"},"Bool":{"aws:MultiFactorAuthPresent":"true"}}}`),
			[]string{"WARNING UNKNOWN_CONDITION_KEY", "WARNING UNKNOWN_CONDITION_KEY"}},
		{"PublicAndUnknown", policy.Resource, doc(`{"Effect":"Allow","Principal":"*","Action":"secretsmanager:GetSecretValue","Resource":"*",
			"Condition":{"StringEquals":{"aws:MadeUp":"x"}}}`),
			[]string{"ERROR PUBLIC_ACCESS", "WARNING UNKNOWN_CONDITION_KEY"}},
		{"UnknownActions", policy.Identity, doc(`{"Effect":"Allow","Action":["secretsmanager:GetSecretValues","SecretsManager:get*","secretsmanager:*Policy","secretsmanager:Frob*","rotor:Backup"],"Resource":"*"},
			{"Effect":"Deny","NotAction":"secretsmanager:ListSecret","Resource":"*"}`),
			[]string{"WARNING UNKNOWN_ACTION", "WARNING UNKNOWN_ACTION", "WARNING UNKNOWN_ACTION"}},
		{"MismatchedTypes", policy.Identity, doc(`{"Effect":"Allow","Action":"a:b","Resource":"*","Condition":{
			"IpAddress":{"aws:username":"10.0.0.0/8"},"Bool":{"aws:SourceIp":"true"},
			"DateLessThan":{"aws:SecureTransport":"2026-01-01"},"ArnLike":{"secretsmanager:Name":"arn:aws:x:::y"}}}`),
			[]string{"WARNING MISMATCHED_TYPE", "WARNING MISMATCHED_TYPE", "WARNING MISMATCHED_TYPE", "WARNING MISMATCHED_TYPE"}},
		{"FittingTypes", policy.Identity, doc(`{"Effect":"Allow","Action":"a:b","Resource":"*","Condition":{
			"IpAddress":{"aws:SourceIp":"10.0.0.0/8"},"Bool":{"aws:SecureTransport":"true"},"DateLessThan":{"aws:CurrentTime":"2026-01-01"},
			"ArnLike":{"aws:PrincipalArn":"arn:aws:iam::*:user/a"},"StringLike":{"aws:PrincipalArn":"arn:*","secretsmanager:Name":"a*"},
			"NumericLessThan":{"aws:ResourceTag/n":"3"},"Null":{"aws:SourceIp":"false"},"StringEquals":{"aws:CurrentTime":"x"},"ForAnyValue:StringEquals":{"aws:TagKeys":"a"}}}`), nil},
		{"Variable2008", policy.Identity, `{"Version":"2008-10-17","Statement":{"Effect":"Allow","Action":"a:b","Resource":"arn:aws:secretsmanager:*:*:secret:${aws:username}/*"}}`,
			[]string{"WARNING POLICY_VARIABLE_IN_OLD_VERSION"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs, err := policy.Validate(tt.doc, tt.kind, account)
			if err != nil {
				t.Fatalf("Validate = %v", err)
			}
			if got := codes(fs); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("findings = %q, want %q (%+v)", got, tt.want, fs)
			}
		})
	}
	if fs, err := policy.Validate(`{`, policy.Resource, account); err == nil || fs != nil {
		t.Errorf("Validate(malformed) = %v, %v; want no findings and an error", fs, err)
	}
}

func TestGenerate(t *testing.T) {
	p, err := policy.Generate(policy.Identity,
		policy.Statement{Sid: "ReadOwn", Effect: "Allow", Action: []string{"secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"},
			Resource: []string{secretDB}},
		policy.Statement{Effect: "Deny", Action: []string{"secretsmanager:*"}, Resource: []string{"*"},
			Condition: map[string]map[string][]string{"Bool": {"aws:SecureTransport": {"false"}}}},
	)
	if err != nil {
		t.Fatal(err)
	}
	const want = `{"Version":"2012-10-17","Statement":[{"Sid":"ReadOwn","Effect":"Allow","Action":["secretsmanager:GetSecretValue","secretsmanager:DescribeSecret"],"Resource":["` + secretDB + `"]},` +
		`{"Effect":"Deny","Action":["secretsmanager:*"],"Resource":["*"],"Condition":{"Bool":{"aws:SecureTransport":["false"]}}}]}`
	if p.String() != want {
		t.Errorf("document =\n%s, want\n%s", p.String(), want)
	}
	r := &policy.Request{Principal: app1, Action: "secretsmanager:GetSecretValue", Resource: secretDB,
		Context: policy.MapContext{"aws:securetransport": {"true"}}}
	if got := p.Evaluate(r); got != policy.Allow {
		t.Errorf("Evaluate over TLS = %v, want Allow", got)
	}
	r.Context = policy.MapContext{"aws:securetransport": {"false"}}
	if got := p.Evaluate(r); got != policy.Deny {
		t.Errorf("Evaluate without TLS = %v, want Deny", got)
	}

	res, err := policy.Generate(policy.Resource, policy.Statement{Effect: "Allow",
		Principal: map[string][]string{"AWS": {app1}}, Action: []string{"secretsmanager:GetSecretValue"}, Resource: []string{"*"}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Kind() != policy.Resource || res.IsPublic(account) {
		t.Errorf("generated resource policy: kind %v, public %v", res.Kind(), res.IsPublic(account))
	}
	if _, err := policy.Generate(policy.Resource, policy.Statement{Effect: "Allow", Action: []string{"a:b"}, Resource: []string{"*"}}); err == nil {
		t.Error("Generate(resource policy without principal) = nil error")
	}
}

// TestSecretsManagerActions checks the action list against the vendored
// botocore model: one action per operation, no more, no fewer.
func TestSecretsManagerActions(t *testing.T) {
	data, err := os.ReadFile("../awsapi/model/secretsmanager-service-2.json")
	if err != nil {
		t.Fatalf("read model: %v", err)
	}
	var model struct {
		Operations map[string]json.RawMessage `json:"operations"`
	}
	if err := json.Unmarshal(data, &model); err != nil {
		t.Fatalf("parse model: %v", err)
	}
	var want []string
	for op := range model.Operations {
		want = append(want, "secretsmanager:"+op)
	}
	sort.Strings(want)
	got := policy.SecretsManagerActions()
	sort.Strings(got)
	if len(want) < 23 || !reflect.DeepEqual(got, want) {
		t.Errorf("SecretsManagerActions() =\n%q, want the model's operations\n%q", got, want)
	}
}
