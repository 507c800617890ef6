package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
)

// recoverAdmin runs `rotor recover-admin` with args and returns its exit
// code, stdout and stderr.
func recoverAdmin(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut syncBuffer
	code := run(context.Background(), append([]string{"recover-admin"}, args...), &out, &errOut)
	return code, out.String(), errOut.String()
}

// TestLockOutRefusedAndRecoverAdmin: the API refuses to remove the last
// active admin key; an operator who lost it anyway gets back in with
// `rotor recover-admin` on the stopped server, and the new key works with
// aws-sdk-go-v2 once the server is started again.
func TestLockOutRefusedAndRecoverAdmin(t *testing.T) {
	s := MustRunMain(t, "", nil)
	ctx := context.Background()
	if _, err := s.Client("").CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("app/db"), SecretString: aws.String("v1")}); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"access-key", "deactivate", s.KeyID}, {"access-key", "delete", s.KeyID}} {
		_, err := cli(t, s, args...)
		if err == nil || !strings.Contains(err.Error(), "InvalidRequestException") ||
			!strings.Contains(err.Error(), "last active admin access key; create another admin access key first") {
			t.Fatalf("rotor %s: %v, want InvalidRequestException about the last admin key", strings.Join(args, " "), err)
		}
	}
	if _, err := s.Client("").ListSecrets(ctx, &secretsmanager.ListSecretsInput{}); err != nil {
		t.Fatalf("the admin key stopped working after refused changes: %v", err)
	}

	// The operator lost the key anyway. While the server runs, recovery is
	// refused and writes nothing.
	out := filepath.Join(s.DataDir, recoveredCredentials)
	code, _, stderr := recoverAdmin(t, "-data-dir", s.DataDir)
	if code == 0 || !strings.Contains(stderr, "in use by another rotor server") || !strings.Contains(stderr, "stop the server first") {
		t.Fatalf("recover-admin on a running server: exit %d, %s", code, stderr)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Fatalf("recover-admin on a running server wrote %s (%v)", out, err)
	}

	s.Close()
	code, stdout, stderr := recoverAdmin(t, "-data-dir", s.DataDir)
	if code != 0 {
		t.Fatalf("recover-admin: exit %d: %s", code, stderr)
	}
	if got := mode(t, out); got != 0o600 {
		t.Fatalf("mode of %s = %04o, want 0600", out, got)
	}
	id, secret := mustReadCredentials(t, out)
	if id == s.KeyID || !strings.Contains(stdout, out) || !strings.Contains(stdout, id) {
		t.Fatalf("recover-admin printed %q; want the new key id %s and the file %s", stdout, id, out)
	}
	if strings.Contains(stdout+stderr, secret) {
		t.Fatal("recover-admin printed the secret access key")
	}
	// A second run does not overwrite the file.
	if code, _, stderr := recoverAdmin(t, "-data-dir", s.DataDir); code == 0 || !strings.Contains(stderr, "already exists") {
		t.Fatalf("second recover-admin: exit %d: %s", code, stderr)
	}

	r := MustRunMain(t, s.DataDir, nil)
	got, err := r.ClientWith("", id, secret, "").GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String("app/db")})
	if err != nil || aws.ToString(got.SecretString) != "v1" {
		t.Fatalf("GetSecretValue with the recovered key: %v, %v", got, err)
	}
	if _, err := r.ClientWith("", id, secret, "").CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("after"), SecretString: aws.String("x")}); err != nil {
		t.Fatalf("the recovered key is not an admin: %v", err)
	}
}
