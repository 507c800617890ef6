package awsapi_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/rotorhq/rotor"
)

// TestResourcePolicyWire checks the four resource-policy operations on the
// wire: inputs reach the service as sent (BlockPublicPolicy false when
// absent, the document byte for byte), GetResourcePolicy leaves
// ResourcePolicy out when there is none, and ValidateResourcePolicy always
// sends PolicyValidationPassed and ValidationErrors.
func TestResourcePolicyWire(t *testing.T) {
	const doc = "{ \"Version\":\"2012-10-17\",\n\t\"Id\":\"caf\u00e9 <&>\" }"
	var puts []rotor.PutResourcePolicyInput
	var validates []rotor.ValidateResourcePolicyInput
	stored := ""
	fs := &fakeSecrets{
		PutResourcePolicyFn: func(_ context.Context, in rotor.PutResourcePolicyInput) (*rotor.SecretRef, error) {
			puts = append(puts, in)
			stored = in.ResourcePolicy
			return &rotor.SecretRef{ARN: testARN, Name: testName}, nil
		},
		GetResourcePolicyFn: func(context.Context, string) (*rotor.ResourcePolicy, error) {
			return &rotor.ResourcePolicy{ARN: testARN, Name: testName, Policy: stored}, nil
		},
		DeleteResourcePolicyFn: func(context.Context, string) (*rotor.SecretRef, error) {
			stored = ""
			return &rotor.SecretRef{ARN: testARN, Name: testName}, nil
		},
		ValidateResourcePolicyFn: func(_ context.Context, in rotor.ValidateResourcePolicyInput) (*rotor.PolicyValidation, error) {
			validates = append(validates, in)
			if in.SecretID == "" {
				return &rotor.PolicyValidation{Passed: true}, nil
			}
			return &rotor.PolicyValidation{Errors: []rotor.PolicyValidationError{{Check: "PUBLIC_ACCESS", Message: "public"}}}, nil
		},
	}
	h := newHandler(fs, nil)
	c := newClient(t, h)
	ctx := context.Background()

	rec := post(t, h, "secretsmanager.GetResourcePolicy", `{"SecretId":"db/main"}`)
	if rec.Code != http.StatusOK || rec.Body.String() != `{"ARN":"`+testARN+`","Name":"`+testName+`"}` {
		t.Errorf("GetResourcePolicy without a policy = %d %s, want ARN and Name only", rec.Code, rec.Body)
	}

	out, err := c.PutResourcePolicy(ctx, &secretsmanager.PutResourcePolicyInput{SecretId: aws.String(testName), ResourcePolicy: aws.String(doc)})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(out.ARN) != testARN || aws.ToString(out.Name) != testName {
		t.Errorf("PutResourcePolicy = %s %s", aws.ToString(out.ARN), aws.ToString(out.Name))
	}
	if _, err := c.PutResourcePolicy(ctx, &secretsmanager.PutResourcePolicyInput{SecretId: aws.String(testName),
		ResourcePolicy: aws.String(doc), BlockPublicPolicy: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	want := []rotor.PutResourcePolicyInput{{SecretID: testName, ResourcePolicy: doc}, {SecretID: testName, ResourcePolicy: doc, BlockPublicPolicy: true}}
	if len(puts) != 2 || puts[0] != want[0] || puts[1] != want[1] {
		t.Errorf("service got %+v, want %+v", puts, want)
	}

	got, err := c.GetResourcePolicy(ctx, &secretsmanager.GetResourcePolicyInput{SecretId: aws.String(testName)})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(got.ResourcePolicy) != doc || aws.ToString(got.ARN) != testARN || aws.ToString(got.Name) != testName {
		t.Errorf("GetResourcePolicy = %q %s %s, want the document byte for byte", aws.ToString(got.ResourcePolicy), aws.ToString(got.ARN), aws.ToString(got.Name))
	}

	del, err := c.DeleteResourcePolicy(ctx, &secretsmanager.DeleteResourcePolicyInput{SecretId: aws.String(testName)})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(del.ARN) != testARN || aws.ToString(del.Name) != testName {
		t.Errorf("DeleteResourcePolicy = %s %s", aws.ToString(del.ARN), aws.ToString(del.Name))
	}
	if got, err := c.GetResourcePolicy(ctx, &secretsmanager.GetResourcePolicyInput{SecretId: aws.String(testName)}); err != nil || got.ResourcePolicy != nil {
		t.Errorf("GetResourcePolicy after Delete = %v, %v; want no ResourcePolicy", got, err)
	}

	rec = post(t, h, "secretsmanager.ValidateResourcePolicy", `{"ResourcePolicy":"{}"}`)
	if rec.Code != http.StatusOK || rec.Body.String() != `{"PolicyValidationPassed":true,"ValidationErrors":[]}` {
		t.Errorf("ValidateResourcePolicy (passed) = %d %s", rec.Code, rec.Body)
	}
	v, err := c.ValidateResourcePolicy(ctx, &secretsmanager.ValidateResourcePolicyInput{SecretId: aws.String(testName), ResourcePolicy: aws.String(doc)})
	if err != nil {
		t.Fatal(err)
	}
	if v.PolicyValidationPassed || len(v.ValidationErrors) != 1 ||
		aws.ToString(v.ValidationErrors[0].CheckName) != "PUBLIC_ACCESS" || aws.ToString(v.ValidationErrors[0].ErrorMessage) != "public" {
		t.Errorf("ValidateResourcePolicy = %+v", v)
	}
	if len(validates) != 2 || validates[0] != (rotor.ValidateResourcePolicyInput{ResourcePolicy: "{}"}) ||
		validates[1] != (rotor.ValidateResourcePolicyInput{SecretID: testName, ResourcePolicy: doc}) {
		t.Errorf("service got %+v", validates)
	}
}

// TestResourcePolicyModelConstraints: a ResourcePolicy that is missing,
// empty or over 20,480 characters is a ValidationException before any
// service is called; 20,480 multi-byte characters are within the limit.
func TestResourcePolicyModelConstraints(t *testing.T) {
	fs := happySecrets()
	h := newHandler(fs, nil)
	for _, target := range []string{"secretsmanager.PutResourcePolicy", "secretsmanager.ValidateResourcePolicy"} {
		for _, body := range []string{
			`{"SecretId":"s"}`,
			`{"SecretId":"s","ResourcePolicy":""}`,
			`{"SecretId":"s","ResourcePolicy":"` + strings.Repeat("x", 20481) + `"}`,
		} {
			mustError(t, post(t, h, target, body), http.StatusBadRequest, "ValidationException")
		}
	}
	for _, body := range []string{`{"ResourcePolicy":"{}"}`, `{"SecretId":"s"}`} {
		mustError(t, post(t, h, "secretsmanager.PutResourcePolicy", body), http.StatusBadRequest, "ValidationException")
	}
	if n := fs.calls.Load(); n != 0 {
		t.Fatalf("service called %d times", n)
	}
	for _, target := range []string{"secretsmanager.PutResourcePolicy", "secretsmanager.ValidateResourcePolicy"} {
		rec := post(t, h, target, `{"SecretId":"s","ResourcePolicy":"`+strings.Repeat("\u00e9", 20480)+`"}`)
		if rec.Code != http.StatusOK {
			t.Errorf("%s with 20,480 characters: %d %s", target, rec.Code, rec.Body)
		}
	}
}
