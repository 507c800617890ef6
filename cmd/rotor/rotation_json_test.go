package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
)

// TestGeneratePasswordKeepsTheRestOfTheSecret rotates, through the AWS SDK,
// a secret whose other fields a careless rewrite would change — a big
// integer, <>&, escapes, nesting, key order — and checks they come back
// byte for byte, with only the password new.
func TestGeneratePasswordKeepsTheRestOfTheSecret(t *testing.T) {
	s := MustRunMain(t, "", nil)
	ctx := context.Background()
	c := s.Client("")
	const initial = `{"zeta": 12345678901234567890, "password": "initial-password", "html": "<b>&amp;</b>",` +
		` "esc": "\u00e9\u003c", "nested": {"b": [1, 2.50, null], "a": true}}`
	if _, err := c.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("exact"), SecretString: aws.String(initial)}); err != nil {
		t.Fatal(err)
	}
	out, err := c.RotateSecret(ctx, &secretsmanager.RotateSecretInput{SecretId: aws.String("exact"), RotationLambdaARN: aws.String(lambdaARN("rotor-generate-password"))})
	if err != nil {
		t.Fatal(err)
	}
	waitRotated(t, c, "exact", aws.ToString(out.VersionId))
	v, err := c.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String("exact")})
	if err != nil {
		t.Fatal(err)
	}
	got := aws.ToString(v.SecretString)
	var doc struct{ Password string }
	if err := json.Unmarshal([]byte(got), &doc); err != nil || doc.Password == "" || doc.Password == "initial-password" {
		t.Fatalf("rotated value %s (%v): want a new password", got, err)
	}
	var enc strings.Builder
	e := json.NewEncoder(&enc)
	e.SetEscapeHTML(false)
	e.Encode(doc.Password)
	want := strings.Replace(initial, `"initial-password"`, strings.TrimSuffix(enc.String(), "\n"), 1)
	if got != want {
		t.Fatalf("rotated value\n got %s\nwant %s", got, want)
	}
}
