package policy_test

import (
	"testing"

	"github.com/rotorhq/rotor/policy"
)

const (
	account = "123456789012"
	other   = "210987654321"
	app1    = "arn:aws:iam::123456789012:user/app1"
	app2    = "arn:aws:iam::123456789012:user/app2"
	root    = "arn:aws:iam::123456789012:root"
	outside = "arn:aws:iam::210987654321:user/eve"

	secretDB    = "arn:aws:secretsmanager:us-east-1:123456789012:secret:app1/db-AbCdEf"
	secretAPI   = "arn:aws:secretsmanager:us-east-1:123456789012:secret:app1/api-GhIjKl"
	secretOther = "arn:aws:secretsmanager:us-east-1:123456789012:secret:app2/db-MnOpQr"
)

func mustParse(tb testing.TB, doc string, kind policy.Kind) *policy.Policy {
	tb.Helper()
	p, err := policy.Parse(doc, kind)
	if err != nil {
		tb.Fatalf("Parse(%s) = %v", doc, err)
	}
	return p
}

// identityDoc wraps statements (a JSON array's contents) in a 2012-10-17
// document.
func doc(statements string) string {
	return `{"Version":"2012-10-17","Statement":[` + statements + `]}`
}
