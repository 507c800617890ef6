package policy_test

import (
	"fmt"

	"github.com/rotorhq/rotor/policy"
)

func ExampleDecide() {
	identity, err := policy.Parse(`{
		"Version": "2012-10-17",
		"Statement": [
			{"Effect": "Allow", "Action": "secretsmanager:GetSecretValue",
			 "Resource": "arn:aws:secretsmanager:*:123456789012:secret:app1/*"},
			{"Effect": "Deny", "Action": "secretsmanager:*", "Resource": "*",
			 "Condition": {"Bool": {"aws:SecureTransport": "false"}}}
		]
	}`, policy.Identity)
	if err != nil {
		fmt.Println(err)
		return
	}
	r := &policy.Request{
		Principal: "arn:aws:iam::123456789012:user/app1",
		Action:    "secretsmanager:GetSecretValue",
		Resource:  "arn:aws:secretsmanager:us-east-1:123456789012:secret:app1/db-AbCdEf",
		Context:   policy.MapContext{"aws:securetransport": {"false"}},
	}
	d := policy.Decide([]*policy.Policy{identity}, nil, r)
	fmt.Println(d.Allowed)
	fmt.Println(policy.DeniedMessage(r.Principal, r.Action, r.Resource, d.Reason))

	r.Context = policy.MapContext{"aws:securetransport": {"true"}}
	fmt.Println(policy.Decide([]*policy.Policy{identity}, nil, r).Allowed)
	// Output:
	// false
	// User: arn:aws:iam::123456789012:user/app1 is not authorized to perform: secretsmanager:GetSecretValue on resource: arn:aws:secretsmanager:us-east-1:123456789012:secret:app1/db-AbCdEf with an explicit deny in an identity-based policy
	// true
}
