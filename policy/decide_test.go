package policy_test

import (
	"testing"

	"github.com/rotorhq/rotor/policy"
)

func TestDecide(t *testing.T) {
	allowGet := mustParse(t, doc(`{"Effect":"Allow","Action":"secretsmanager:GetSecretValue","Resource":"*"}`), policy.Identity)
	denyGet := mustParse(t, doc(`{"Effect":"Deny","Action":"secretsmanager:GetSecretValue","Resource":"*"}`), policy.Identity)
	unrelated := mustParse(t, doc(`{"Effect":"Allow","Action":"secretsmanager:ListSecrets","Resource":"*"}`), policy.Identity)
	resAllow := mustParse(t, doc(`{"Effect":"Allow","Principal":{"AWS":"`+app1+`"},"Action":"secretsmanager:GetSecretValue","Resource":"*"}`), policy.Resource)
	resDeny := mustParse(t, doc(`{"Effect":"Deny","Principal":"*","Action":"secretsmanager:GetSecretValue","Resource":"*"}`), policy.Resource)
	resAccount := mustParse(t, doc(`{"Effect":"Allow","Principal":{"AWS":"`+account+`"},"Action":"secretsmanager:GetSecretValue","Resource":"*"}`), policy.Resource)

	tests := []struct {
		name     string
		identity []*policy.Policy
		resource *policy.Policy
		caller   string
		want     policy.Decision
	}{
		{"NoPolicies", nil, nil, app1, policy.Decision{Reason: policy.ImplicitDeny}},
		{"UnrelatedIdentity", []*policy.Policy{unrelated}, nil, app1, policy.Decision{Reason: policy.ImplicitDeny}},
		{"IdentityAllows", []*policy.Policy{unrelated, allowGet}, nil, app1, policy.Decision{Allowed: true, Reason: policy.AllowedByIdentity}},
		// Within one account, either side's Allow is enough.
		{"ResourceAllows", []*policy.Policy{unrelated}, resAllow, app1, policy.Decision{Allowed: true, Reason: policy.AllowedByResource}},
		{"ResourceAllowsOtherCaller", nil, resAllow, app2, policy.Decision{Reason: policy.ImplicitDeny}},
		{"BothAllow", []*policy.Policy{allowGet}, resAllow, app1, policy.Decision{Allowed: true, Reason: policy.AllowedByIdentity}},
		{"IdentityDenyBeatsResourceAllow", []*policy.Policy{denyGet}, resAllow, app1, policy.Decision{Reason: policy.ExplicitDenyIdentity}},
		{"IdentityDenyBeatsIdentityAllow", []*policy.Policy{allowGet, denyGet}, nil, app1, policy.Decision{Reason: policy.ExplicitDenyIdentity}},
		{"ResourceDenyBeatsIdentityAllow", []*policy.Policy{allowGet}, resDeny, app1, policy.Decision{Reason: policy.ExplicitDenyResource}},
		{"BothDeny", []*policy.Policy{denyGet}, resDeny, app1, policy.Decision{Reason: policy.ExplicitDenyIdentity}},
		// A resource policy naming the account delegates to identity policies.
		{"AccountPrincipal/NoIdentity", nil, resAccount, app1, policy.Decision{Reason: policy.ImplicitDeny}},
		{"AccountPrincipal/IdentityAllows", []*policy.Policy{allowGet}, resAccount, app1, policy.Decision{Allowed: true, Reason: policy.AllowedByIdentity}},
		{"AccountPrincipal/Root", nil, resAccount, root, policy.Decision{Allowed: true, Reason: policy.AllowedByResource}},
		{"NilIdentityEntries", []*policy.Policy{nil, allowGet}, nil, app1, policy.Decision{Allowed: true, Reason: policy.AllowedByIdentity}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &policy.Request{Principal: tt.caller, Action: "secretsmanager:GetSecretValue", Resource: secretDB}
			if got := policy.Decide(tt.identity, tt.resource, r); got != tt.want {
				t.Errorf("Decide = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestDeniedMessage(t *testing.T) {
	const get = "secretsmanager:GetSecretValue"
	tests := []struct {
		name     string
		resource string
		reason   policy.Reason
		want     string
	}{
		{"Implicit", secretDB, policy.ImplicitDeny,
			"User: arn:aws:iam::123456789012:user/app1 is not authorized to perform: secretsmanager:GetSecretValue on resource: " + secretDB +
				" because no identity-based policy allows the secretsmanager:GetSecretValue action"},
		{"ExplicitIdentity", secretDB, policy.ExplicitDenyIdentity,
			"User: arn:aws:iam::123456789012:user/app1 is not authorized to perform: secretsmanager:GetSecretValue on resource: " + secretDB +
				" with an explicit deny in an identity-based policy"},
		{"ExplicitResource", secretDB, policy.ExplicitDenyResource,
			"User: arn:aws:iam::123456789012:user/app1 is not authorized to perform: secretsmanager:GetSecretValue on resource: " + secretDB +
				" with an explicit deny in a resource-based policy"},
		{"NoResource", "", policy.ImplicitDeny,
			"User: arn:aws:iam::123456789012:user/app1 is not authorized to perform: secretsmanager:GetSecretValue" +
				" because no identity-based policy allows the secretsmanager:GetSecretValue action"},
		{"Allowed", secretDB, policy.AllowedByIdentity, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := policy.DeniedMessage(app1, get, tt.resource, tt.reason); got != tt.want {
				t.Errorf("DeniedMessage =\n%q, want\n%q", got, tt.want)
			}
		})
	}
}
