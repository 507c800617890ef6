//go:build !rotor_failpoint

package main

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
)

// TestFailpointNotInOrdinaryBuilds runs a rotation in a server built as
// `go build` builds the production binary (without -tags rotor_failpoint)
// with ROTOR_TEST_FAILPOINT naming a point of it: the variable must do
// nothing, where a failpoint build would stop the worker there for good.
func TestFailpointNotInOrdinaryBuilds(t *testing.T) {
	s := mustRunMainEnv(t, "", nil, map[string]string{"ROTOR_TEST_FAILPOINT": "before:createSecret"})
	c := s.Client("")
	ctx := context.Background()
	if _, err := c.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("fp"), SecretString: aws.String(`{"password":"p0"}`)}); err != nil {
		t.Fatal(err)
	}
	out, err := c.RotateSecret(ctx, &secretsmanager.RotateSecretInput{SecretId: aws.String("fp"), RotationLambdaARN: aws.String(lambdaARN("rotor-generate-password"))})
	if err != nil {
		t.Fatal(err)
	}
	waitRotated(t, c, "fp", aws.ToString(out.VersionId))
	if logs := s.Logs.String(); strings.Contains(logs, "failpoint") {
		t.Fatalf("the server log mentions a failpoint:\n%s", logs)
	}
}
