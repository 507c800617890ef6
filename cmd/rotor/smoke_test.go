package main

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/rotorhq/rotor/internal/testsvc"
)

// These tests drive a real server with clients nobody here wrote: boto3 and
// the AWS CLI from the machine's Python, and the AWS SDK for JavaScript v3.
// A missing client fails the test unless ROTOR_TEST_SKIP names it (see
// internal/testsvc).

// clientEnv is the environment a client process needs to reach s.
func (s *testServer) clientEnv() []string {
	return []string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"),
		"ROTOR_ENDPOINT=" + s.URL(), "AWS_REGION=" + s.Region, "AWS_DEFAULT_REGION=" + s.Region,
		"AWS_ACCESS_KEY_ID=" + s.KeyID, "AWS_SECRET_ACCESS_KEY=" + s.Secret,
		"AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null",
	}
}

func TestSmokeBoto3(t *testing.T) {
	python := testsvc.Python(t, "boto3")
	s := MustRunMain(t, "", nil)
	cmd := exec.Command(python, filepath.Join("..", "..", "test", "python", "smoke.py"))
	cmd.Env = s.clientEnv()
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "python smoke: ok") {
		t.Fatalf("boto3 smoke test: %v\n%s", err, out)
	}
}

// TestSmokeBoto3ResourcePolicy runs the four resource-policy operations
// with boto3 (issue 9).
func TestSmokeBoto3ResourcePolicy(t *testing.T) {
	python := testsvc.Python(t, "boto3")
	s := MustRunMain(t, "", nil)
	cmd := exec.Command(python, filepath.Join("..", "..", "test", "python", "respolicy_smoke.py"))
	cmd.Env = s.clientEnv()
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "python respolicy smoke: ok") {
		t.Fatalf("boto3 resource-policy smoke test: %v\n%s", err, out)
	}
}

func TestSmokeJavaScriptSDK(t *testing.T) {
	node := testsvc.Node(t, filepath.Join("..", "..", "test", "js"), "@aws-sdk/client-secrets-manager")
	s := MustRunMain(t, "", nil)
	cmd := exec.Command(node, "smoke.mjs")
	cmd.Dir = filepath.Join("..", "..", "test", "js")
	cmd.Env = s.clientEnv()
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "js smoke: ok") {
		t.Fatalf("JS SDK smoke test: %v\n%s", err, out)
	}
}

func TestSmokeAWSCLI(t *testing.T) {
	awsCLI := testsvc.Command(t, "aws")
	s := MustRunMain(t, "", nil)
	cli := func(args ...string) map[string]any {
		t.Helper()
		cmd := exec.Command(awsCLI, append([]string{"--endpoint-url", s.URL(), "--output", "json", "secretsmanager"}, args...)...)
		cmd.Env = s.clientEnv()
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("aws secretsmanager %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		var m map[string]any
		if len(strings.TrimSpace(string(out))) > 0 {
			if err := json.Unmarshal(out, &m); err != nil {
				t.Fatalf("aws %s printed %s", args[0], out)
			}
		}
		return m
	}
	created := cli("create-secret", "--name", "cli/db", "--secret-string", `{"password":"one"}`)
	if created["Name"] != "cli/db" {
		t.Fatalf("create-secret = %v", created)
	}
	got := cli("get-secret-value", "--secret-id", "cli/db")
	if got["SecretString"] != `{"password":"one"}` {
		t.Fatalf("get-secret-value = %v", got)
	}
	cli("put-secret-value", "--secret-id", "cli/db", "--secret-string", `{"password":"two"}`)
	cli("tag-resource", "--secret-id", "cli/db", "--tags", `[{"Key":"env","Value":"prod"}]`)
	desc := cli("describe-secret", "--secret-id", "cli/db")
	if stages, _ := desc["VersionIdsToStages"].(map[string]any); len(stages) != 2 {
		t.Fatalf("describe-secret = %v", desc)
	}
	listed := cli("list-secrets", "--filters", "Key=tag-value,Values=prod")
	if list, _ := listed["SecretList"].([]any); len(list) != 1 {
		t.Fatalf("list-secrets = %v", listed)
	}
	pw := cli("get-random-password", "--password-length", "12", "--exclude-punctuation")
	if p, _ := pw["RandomPassword"].(string); len(p) != 12 {
		t.Fatalf("get-random-password = %v", pw)
	}
	// The value the CLI wrote is what the Go SDK reads.
	v, err := s.Client("").GetSecretValue(context.Background(), &secretsmanager.GetSecretValueInput{SecretId: aws.String("cli/db")})
	if err != nil || aws.ToString(v.SecretString) != `{"password":"two"}` {
		t.Fatalf("Go SDK read %v, %v", v, err)
	}
	cmd := exec.Command(awsCLI, "--endpoint-url", s.URL(), "secretsmanager", "get-secret-value", "--secret-id", "cli/missing")
	cmd.Env = s.clientEnv()
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "ResourceNotFoundException") {
		t.Fatalf("missing secret via CLI: %v\n%s", err, out)
	}
}
