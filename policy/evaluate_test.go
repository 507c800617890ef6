package policy_test

import (
	"testing"

	"github.com/rotorhq/rotor/policy"
)

type evalCase struct {
	name string
	doc  string
	kind policy.Kind // Identity when zero
	req  policy.Request
	want policy.Effect
}

func runEval(t *testing.T, tests []evalCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			kind := tt.kind
			if kind == 0 {
				kind = policy.Identity
			}
			p := mustParse(t, tt.doc, kind)
			req := tt.req
			if req.Principal == "" {
				req.Principal = app1
			}
			if got := p.Evaluate(&req); got != tt.want {
				t.Errorf("Evaluate(%+v) = %v, want %v", req, got, tt.want)
			}
		})
	}
}

// AWS's "The difference between explicit and implicit denies" example:
// iam:Get* and iam:List* allowed, iam:*Report denied.
const getListDenyReports = `{"Version":"2012-10-17","Statement":[
	{"Sid":"AllowGetList","Effect":"Allow","Action":["iam:Get*","iam:List*"],"Resource":"*"},
	{"Sid":"DenyReports","Effect":"Deny","Action":"iam:*Report","Resource":"*"}]}`

func TestEvaluateActions(t *testing.T) {
	runEval(t, []evalCase{
		{name: "Allow/GetPrefix", doc: getListDenyReports, req: policy.Request{Action: "iam:GetUser"}, want: policy.Allow},
		{name: "Allow/ListPrefix", doc: getListDenyReports, req: policy.Request{Action: "iam:ListUsers"}, want: policy.Allow},
		{name: "NoMatch/OtherAction", doc: getListDenyReports, req: policy.Request{Action: "iam:CreatePolicy"}, want: policy.NoMatch},
		{name: "Deny/OverridesAllow", doc: getListDenyReports, req: policy.Request{Action: "iam:GetOrganizationsAccessReport"}, want: policy.Deny},
		{name: "Deny/SuffixOnly", doc: getListDenyReports, req: policy.Request{Action: "iam:GenerateCredentialReport"}, want: policy.Deny},
		{name: "CaseInsensitive/Request", doc: doc(`{"Effect":"Allow","Action":"secretsmanager:GetSecretValue","Resource":"*"}`),
			req: policy.Request{Action: "SecretsManager:getsecretvalue"}, want: policy.Allow},
		{name: "CaseInsensitive/Pattern", doc: doc(`{"Effect":"Allow","Action":"SECRETSMANAGER:get*","Resource":"*"}`),
			req: policy.Request{Action: "secretsmanager:GetSecretValue"}, want: policy.Allow},
		{name: "Wildcard/Question", doc: doc(`{"Effect":"Allow","Action":"secretsmanager:?etSecretValue","Resource":"*"}`),
			req: policy.Request{Action: "secretsmanager:GetSecretValue"}, want: policy.Allow},
		{name: "Wildcard/NoPrefixCrossing", doc: doc(`{"Effect":"Allow","Action":"secretsmanager:Get*","Resource":"*"}`),
			req: policy.Request{Action: "secretsmanager:PutSecretValue"}, want: policy.NoMatch},
		{name: "Wildcard/ServiceMismatch", doc: doc(`{"Effect":"Allow","Action":"secretsmanager:*","Resource":"*"}`),
			req: policy.Request{Action: "rotor:CreateIdentity"}, want: policy.NoMatch},
		{name: "Star", doc: doc(`{"Effect":"Allow","Action":"*","Resource":"*"}`),
			req: policy.Request{Action: "rotor:CreateIdentity"}, want: policy.Allow},
		{name: "Exact/NotPrefix", doc: doc(`{"Effect":"Allow","Action":"secretsmanager:GetSecret","Resource":"*"}`),
			req: policy.Request{Action: "secretsmanager:GetSecretValue"}, want: policy.NoMatch},
		// AWS's NotAction example: everything except IAM.
		{name: "NotAction/Allow/Other", doc: doc(`{"Effect":"Allow","NotAction":"iam:*","Resource":"*"}`),
			req: policy.Request{Action: "secretsmanager:GetSecretValue"}, want: policy.Allow},
		{name: "NotAction/Allow/Excluded", doc: doc(`{"Effect":"Allow","NotAction":"iam:*","Resource":"*"}`),
			req: policy.Request{Action: "iam:CreateUser"}, want: policy.NoMatch},
		{name: "NotAction/Deny", doc: doc(`{"Effect":"Deny","NotAction":["secretsmanager:Get*","secretsmanager:Describe*"],"Resource":"*"}`),
			req: policy.Request{Action: "secretsmanager:DeleteSecret"}, want: policy.Deny},
		{name: "NotAction/Deny/Excluded", doc: doc(`{"Effect":"Deny","NotAction":["secretsmanager:Get*","secretsmanager:Describe*"],"Resource":"*"}`),
			req: policy.Request{Action: "secretsmanager:DescribeSecret"}, want: policy.NoMatch},
		{name: "SingleStatementObject", doc: `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"secretsmanager:*","Resource":"*"}}`,
			req: policy.Request{Action: "secretsmanager:ListSecrets"}, want: policy.Allow},
	})
}

func TestEvaluateResources(t *testing.T) {
	allowOn := func(resources string) string {
		return doc(`{"Effect":"Allow","Action":"secretsmanager:*","Resource":` + resources + `}`)
	}
	get := func(resource string) policy.Request {
		return policy.Request{Action: "secretsmanager:GetSecretValue", Resource: resource}
	}
	runEval(t, []evalCase{
		{name: "Exact", doc: allowOn(`"` + secretDB + `"`), req: get(secretDB), want: policy.Allow},
		{name: "Exact/Other", doc: allowOn(`"` + secretDB + `"`), req: get(secretAPI), want: policy.NoMatch},
		{name: "CaseSensitive", doc: allowOn(`"arn:aws:secretsmanager:us-east-1:123456789012:secret:App1/db-AbCdEf"`), req: get(secretDB), want: policy.NoMatch},
		{name: "NamePrefix", doc: allowOn(`"arn:aws:secretsmanager:us-east-1:123456789012:secret:app1/*"`), req: get(secretAPI), want: policy.Allow},
		{name: "NamePrefix/Other", doc: allowOn(`"arn:aws:secretsmanager:us-east-1:123456789012:secret:app1/*"`), req: get(secretOther), want: policy.NoMatch},
		{name: "SixCharSuffix", doc: allowOn(`"arn:aws:secretsmanager:us-east-1:123456789012:secret:app1/db-??????"`), req: get(secretDB), want: policy.Allow},
		{name: "SixCharSuffix/TooShort", doc: allowOn(`"arn:aws:secretsmanager:us-east-1:123456789012:secret:app1/db-?????"`), req: get(secretDB), want: policy.NoMatch},
		{name: "RegionAndAccountWildcards", doc: allowOn(`"arn:aws:secretsmanager:*:*:secret:app1/*"`), req: get(secretDB), want: policy.Allow},
		{name: "OtherAccount", doc: allowOn(`"arn:aws:secretsmanager:us-east-1:210987654321:secret:*"`), req: get(secretDB), want: policy.NoMatch},
		{name: "List", doc: allowOn(`["` + secretAPI + `","` + secretDB + `"]`), req: get(secretDB), want: policy.Allow},
		{name: "NoResource/Star", doc: allowOn(`"*"`), req: get(""), want: policy.Allow},
		{name: "NoResource/ARNPattern", doc: allowOn(`"arn:aws:secretsmanager:*:*:secret:*"`), req: get(""), want: policy.NoMatch},
		// AWS: a '*' may match across colons only when it ends an ARN segment.
		{name: "SegmentFinalStarSpansColons", doc: allowOn(`"arn:aws:secretsmanager:*:secret:app1/*"`), req: get(secretDB), want: policy.Allow},
		{name: "MidSegmentStar", doc: allowOn(`"arn:aws:secretsmanager:us-*-1:123456789012:secret:app1/*"`), req: get(secretDB), want: policy.Allow},
		{name: "MidSegmentStarStopsAtColon", doc: allowOn(`"arn:aws:secretsmanager:u*2:secret:app1/db-AbCdEf"`), req: get(secretDB), want: policy.NoMatch},
		{name: "MidSegmentStarAfterSpanningStar", doc: allowOn(`"arn:aws:secretsmanager:*:secret:app1/d*-AbCdEf"`), req: get(secretDB), want: policy.Allow},
		{name: "MidSegmentStarAfterSpanningStar/NoMatch", doc: allowOn(`"arn:aws:secretsmanager:*:secret:app1/a*-AbCdEf"`), req: get(secretDB), want: policy.NoMatch},
		{name: "NotResource/Other", doc: doc(`{"Effect":"Allow","Action":"secretsmanager:*","NotResource":"arn:aws:secretsmanager:*:*:secret:app2/*"}`),
			req: get(secretDB), want: policy.Allow},
		{name: "NotResource/Excluded", doc: doc(`{"Effect":"Allow","Action":"secretsmanager:*","NotResource":"arn:aws:secretsmanager:*:*:secret:app2/*"}`),
			req: get(secretOther), want: policy.NoMatch},
		{name: "NotResource/NoResource", doc: doc(`{"Effect":"Allow","Action":"secretsmanager:*","NotResource":"arn:aws:secretsmanager:*:*:secret:app2/*"}`),
			req: get(""), want: policy.Allow},
	})
}

func TestEvaluateVariables(t *testing.T) {
	own := `{"Effect":"Allow","Action":"secretsmanager:GetSecretValue","Resource":"arn:aws:secretsmanager:*:*:secret:${aws:username}/*"}`
	ctx := policy.MapContext{"aws:username": {"app1"}}
	runEval(t, []evalCase{
		{name: "Username", doc: doc(own),
			req: policy.Request{Action: "secretsmanager:GetSecretValue", Resource: secretDB, Context: ctx}, want: policy.Allow},
		{name: "Username/Other", doc: doc(own),
			req: policy.Request{Action: "secretsmanager:GetSecretValue", Resource: secretOther, Context: ctx}, want: policy.NoMatch},
		{name: "Username/Missing", doc: doc(own),
			req: policy.Request{Action: "secretsmanager:GetSecretValue", Resource: secretDB}, want: policy.NoMatch},
		{name: "Username/Literal", doc: doc(own),
			req: policy.Request{Action: "secretsmanager:GetSecretValue", Resource: secretDB,
				Context: policy.MapContext{"aws:username": {"app*"}}}, want: policy.NoMatch},
		{name: "Version2008/Literal", doc: `{"Version":"2008-10-17","Statement":[` + own + `]}`,
			req: policy.Request{Action: "secretsmanager:GetSecretValue", Resource: secretDB, Context: ctx}, want: policy.NoMatch},
		{name: "Version2008/LiteralMatches", doc: `{"Version":"2008-10-17","Statement":[` + own + `]}`,
			req: policy.Request{Action: "secretsmanager:GetSecretValue",
				Resource: "arn:aws:secretsmanager:us-east-1:123456789012:secret:${aws:username}/x-AbCdEf", Context: ctx}, want: policy.Allow},
		{name: "NoVersion/Literal", doc: `{"Statement":[` + own + `]}`,
			req: policy.Request{Action: "secretsmanager:GetSecretValue", Resource: secretDB, Context: ctx}, want: policy.NoMatch},
		{name: "Default", doc: doc(`{"Effect":"Allow","Action":"secretsmanager:*","Resource":"arn:aws:secretsmanager:*:*:secret:${aws:username, 'app1'}/*"}`),
			req: policy.Request{Action: "secretsmanager:GetSecretValue", Resource: secretDB}, want: policy.Allow},
		{name: "EscapedStar", doc: doc(`{"Effect":"Allow","Action":"secretsmanager:*","Resource":"arn:aws:secretsmanager:*:*:secret:a${*}b-??????"}`),
			req: policy.Request{Action: "secretsmanager:GetSecretValue", Resource: "arn:aws:secretsmanager:us-east-1:123456789012:secret:a*b-AbCdEf"}, want: policy.Allow},
		{name: "EscapedStar/NotWildcard", doc: doc(`{"Effect":"Allow","Action":"secretsmanager:*","Resource":"arn:aws:secretsmanager:*:*:secret:a${*}b-??????"}`),
			req: policy.Request{Action: "secretsmanager:GetSecretValue", Resource: "arn:aws:secretsmanager:us-east-1:123456789012:secret:axxb-AbCdEf"}, want: policy.NoMatch},
		{name: "InCondition", doc: doc(`{"Effect":"Allow","Action":"secretsmanager:*","Resource":"*","Condition":{"StringEquals":{"aws:ResourceTag/owner":"${aws:username}"}}}`),
			req: policy.Request{Action: "secretsmanager:GetSecretValue", Resource: secretDB,
				Context: policy.MapContext{"aws:username": {"app1"}, "aws:resourcetag/owner": {"app1"}}}, want: policy.Allow},
		{name: "InCondition/Mismatch", doc: doc(`{"Effect":"Allow","Action":"secretsmanager:*","Resource":"*","Condition":{"StringEquals":{"aws:ResourceTag/owner":"${aws:username}"}}}`),
			req: policy.Request{Action: "secretsmanager:GetSecretValue", Resource: secretDB,
				Context: policy.MapContext{"aws:username": {"app2"}, "aws:resourcetag/owner": {"app1"}}}, want: policy.NoMatch},
		{name: "PrincipalArn", doc: doc(`{"Effect":"Allow","Action":"secretsmanager:*","Resource":"*","Condition":{"ArnLike":{"aws:ResourceTag/reader":"${aws:PrincipalArn}"}}}`),
			req: policy.Request{Action: "secretsmanager:GetSecretValue", Resource: secretDB,
				Context: policy.MapContext{"aws:principalarn": {app1}, "aws:resourcetag/reader": {app1}}}, want: policy.Allow},
	})
}

func TestEvaluatePrincipals(t *testing.T) {
	res := func(principal, effect string) string {
		return doc(`{"Effect":"` + effect + `","Principal":` + principal + `,"Action":"secretsmanager:GetSecretValue","Resource":"*"}`)
	}
	get := func(caller string) policy.Request {
		return policy.Request{Principal: caller, Action: "secretsmanager:GetSecretValue", Resource: secretDB}
	}
	R := policy.Resource
	runEval(t, []evalCase{
		{name: "Star", kind: R, doc: res(`"*"`, "Allow"), req: get(app1), want: policy.Allow},
		{name: "AWSStar", kind: R, doc: res(`{"AWS":"*"}`, "Allow"), req: get(outside), want: policy.Allow},
		{name: "User", kind: R, doc: res(`{"AWS":"`+app1+`"}`, "Allow"), req: get(app1), want: policy.Allow},
		{name: "User/Other", kind: R, doc: res(`{"AWS":"`+app1+`"}`, "Allow"), req: get(app2), want: policy.NoMatch},
		{name: "UserList", kind: R, doc: res(`{"AWS":["`+app2+`","`+app1+`"]}`, "Allow"), req: get(app1), want: policy.Allow},
		// An account in an Allow delegates to identity policies: it grants
		// the account root, not its users.
		{name: "Account/Allow/Root", kind: R, doc: res(`{"AWS":"`+account+`"}`, "Allow"), req: get(root), want: policy.Allow},
		{name: "Account/Allow/User", kind: R, doc: res(`{"AWS":"`+account+`"}`, "Allow"), req: get(app1), want: policy.NoMatch},
		{name: "AccountRoot/Allow/User", kind: R, doc: res(`{"AWS":"`+root+`"}`, "Allow"), req: get(app1), want: policy.NoMatch},
		{name: "Account/Deny/User", kind: R, doc: res(`{"AWS":"`+account+`"}`, "Deny"), req: get(app1), want: policy.Deny},
		{name: "Account/Deny/Outside", kind: R, doc: res(`{"AWS":"`+account+`"}`, "Deny"), req: get(outside), want: policy.NoMatch},
		{name: "NotPrincipal/Deny/Others", kind: R,
			doc: doc(`{"Effect":"Deny","NotPrincipal":{"AWS":"` + app1 + `"},"Action":"secretsmanager:*","Resource":"*"}`),
			req: get(app2), want: policy.Deny},
		{name: "NotPrincipal/Deny/Exempt", kind: R,
			doc: doc(`{"Effect":"Deny","NotPrincipal":{"AWS":"` + app1 + `"},"Action":"secretsmanager:*","Resource":"*"}`),
			req: get(app1), want: policy.NoMatch},
		// Naming the account in NotPrincipal exempts only its root.
		{name: "NotPrincipal/Account/User", kind: R,
			doc: doc(`{"Effect":"Deny","NotPrincipal":{"AWS":"` + account + `"},"Action":"secretsmanager:*","Resource":"*"}`),
			req: get(app1), want: policy.Deny},
		{name: "NotPrincipal/Account/Root", kind: R,
			doc: doc(`{"Effect":"Deny","NotPrincipal":{"AWS":"` + account + `"},"Action":"secretsmanager:*","Resource":"*"}`),
			req: get(root), want: policy.NoMatch},
	})
}
