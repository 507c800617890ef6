package main

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
)

// e2eakKey is an access key held in a secret.
type e2eakKey struct {
	ID     string `json:"accessKeyId"`
	Secret string `json:"secretAccessKey"`
}

// TestE2EAccessKeyRotation rotates a secret holding one of Rotor's own
// access keys with the built-in rotor-access-key, through RotateSecret
// from aws-sdk-go-v2, three times. After each rotation AWSCURRENT's and
// AWSPREVIOUS's keys both sign requests, the identity holds exactly those
// two keys, and the keys earlier rotations retired are refused. Then a
// value whose identity was rewritten to "admin" makes the run fail clearly
// and creates or deletes no key of anyone.
func TestE2EAccessKeyRotation(t *testing.T) {
	s := MustRunMain(t, "", func(c *Config) { c.Rotation.MaxAttempts = 1 })
	c := s.e2eClient("")
	const identity, secret = "svc-keys", "svc-key"
	if _, err := cli(t, s, "identity", "create", identity, "-role", "read-only"); err != nil {
		t.Fatal(err)
	}
	out, err := cli(t, s, "access-key", "create", identity)
	if err != nil {
		t.Fatal(err)
	}
	var created struct {
		AccessKey struct{ AccessKeyId, SecretAccessKey string }
	}
	if err := json.Unmarshal([]byte(out), &created); err != nil || created.AccessKey.AccessKeyId == "" {
		t.Fatalf("access-key create printed %s (%v)", out, err)
	}
	const format = `{"accessKeyId":%q,"secretAccessKey":%q,"identity":%q,"note":"kept"}`
	e2eCreate(t, c, secret, fmt.Sprintf(format, created.AccessKey.AccessKeyId, created.AccessKey.SecretAccessKey, identity))

	keyAt := func(stage string) (e2eakKey, string) {
		t.Helper()
		v, err := c.GetSecretValue(e2eCtx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(secret), VersionStage: aws.String(stage)})
		e2eNoErr(t, "GetSecretValue "+stage, err)
		var k e2eakKey
		if err := json.Unmarshal([]byte(aws.ToString(v.SecretString)), &k); err != nil || k.ID == "" || k.Secret == "" {
			t.Fatalf("%s is not an access-key secret", stage)
		}
		return k, aws.ToString(v.SecretString)
	}
	signs := func(k e2eakKey) error {
		_, err := s.ClientWith("", k.ID, k.Secret, "").ListSecrets(e2eCtx, &secretsmanager.ListSecretsInput{})
		return err
	}
	keysOf := func(name string) []string {
		t.Helper()
		out, err := cli(t, s, "identity", "list")
		if err != nil {
			t.Fatal(err)
		}
		var list struct {
			Identities []struct {
				Name       string
				AccessKeys []struct{ AccessKeyId string }
			}
		}
		if err := json.Unmarshal([]byte(out), &list); err != nil {
			t.Fatalf("identity list printed %s: %v", out, err)
		}
		var ids []string
		for _, i := range list.Identities {
			if i.Name == name {
				for _, k := range i.AccessKeys {
					ids = append(ids, k.AccessKeyId)
				}
			}
		}
		return ids
	}

	var retired []e2eakKey
	last := e2eakKey{ID: created.AccessKey.AccessKeyId, Secret: created.AccessKey.SecretAccessKey}
	for i := 1; i <= 3; i++ {
		e2edbRotate(t, c, secret, "rotor-access-key")
		cur, value := keyAt("AWSCURRENT")
		prev, _ := keyAt("AWSPREVIOUS")
		if prev != last || cur == last {
			t.Fatalf("rotation %d: AWSPREVIOUS holds %s and AWSCURRENT %s, want the key before (%s) and a new one", i, prev.ID, cur.ID, last.ID)
		}
		if want := fmt.Sprintf(format, cur.ID, cur.Secret, identity); value != want {
			t.Errorf("rotation %d: AWSCURRENT = %s, want the other keys as they were", i, value)
		}
		for stage, k := range map[string]e2eakKey{"AWSCURRENT": cur, "AWSPREVIOUS": prev} {
			if err := signs(k); err != nil {
				t.Errorf("rotation %d: a call signed with the %s key failed: %v", i, stage, err)
			}
		}
		if got := keysOf(identity); !slices.Equal(got, []string{prev.ID, cur.ID}) {
			t.Errorf("rotation %d: %s holds keys %v, want exactly AWSPREVIOUS's and AWSCURRENT's [%s %s]", i, identity, got, prev.ID, cur.ID)
		}
		for _, k := range retired {
			e2eWantCode(t, fmt.Sprintf("rotation %d: call signed with the retired key %s", i, k.ID), signs(k), "UnrecognizedClientException", "")
		}
		retired = append(retired, prev)
		last = cur
	}

	// Someone rewrites the value's identity to admin and rotates: the key
	// in the value is not admin's, so the run fails and no key changes.
	adminKeys, svcKeys := keysOf("admin"), keysOf(identity)
	cur, _ := keyAt("AWSCURRENT")
	e2ePut(t, c, secret, fmt.Sprintf(format, cur.ID, cur.Secret, "admin"))
	rot, err := c.RotateSecret(e2eCtx, &secretsmanager.RotateSecretInput{SecretId: aws.String(secret)})
	e2eNoErr(t, "RotateSecret", err)
	run, hist := e2edbWaitRun(t, s, secret, aws.ToString(rot.VersionId), "failed")
	if want := fmt.Sprintf(`the AWSCURRENT access key %s is not a key of identity \"admin\"`, cur.ID); !strings.Contains(hist, want) {
		t.Errorf("failed run's history does not say %s:\n%s", want, hist)
	}
	if strings.Contains(hist, cur.Secret) {
		t.Error("the rotation history holds the access key's secret")
	}
	if run.Run.LastError == "" {
		t.Errorf("failed run without an error: %+v", run)
	}
	if got := keysOf("admin"); !slices.Equal(got, adminKeys) {
		t.Errorf("admin holds keys %v after the run, want %v", got, adminKeys)
	}
	if got := keysOf(identity); !slices.Equal(got, svcKeys) {
		t.Errorf("%s holds keys %v after the run, want %v", identity, got, svcKeys)
	}
	if err := signs(cur); err != nil {
		t.Errorf("the key in the rewritten value stopped working: %v", err)
	}
}
