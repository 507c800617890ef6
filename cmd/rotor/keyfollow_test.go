package main

import (
	"bytes"
	"context"
	"io"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/rotorhq/rotor/envelope"
)

// TestKeysAddThenRotate: `rotor keys add FILE` stages an inactive key in
// the running server's key file without any request to it; `rotor keys
// rotate` then activates exactly that key (not a fresh one) and every value
// still reads.
func TestKeysAddThenRotate(t *testing.T) {
	s := MustRunMain(t, "", nil)
	ctx := context.Background()
	c := s.Client("")
	if _, err := c.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("kept"), SecretString: aws.String("v1")}); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	if code := run(ctx, []string{"keys", "add", s.Config.KeyFile()}, &out, &errOut); code != 0 {
		t.Fatalf("keys add: exit %d: %s", code, errOut.String())
	}
	m := regexp.MustCompile(`Staged key-encryption key (\S+) in`).FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("keys add printed %q", out.String())
	}
	staged := m[1]
	// A second add is refused while a key is staged.
	if code := run(ctx, []string{"keys", "add", s.Config.KeyFile()}, io.Discard, &errOut); code == 0 || !strings.Contains(errOut.String(), staged) {
		t.Fatalf("second keys add: exit %d, %q; want a refusal naming %s", code, errOut.String(), staged)
	}
	rotated, err := cli(t, s, "keys", "rotate")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(rotated, `"`+staged+`"`) {
		t.Fatalf("keys rotate answered %s, want the staged key %s", rotated, staged)
	}
	kr, err := envelope.LoadFile(s.Config.KeyFile())
	if err != nil || kr.ActiveID() != staged {
		t.Fatalf("key file active key = %v (%v), want %s", kr, err, staged)
	}
	got, err := c.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String("kept")})
	if err != nil || aws.ToString(got.SecretString) != "v1" {
		t.Fatalf("GetSecretValue after rotation: %v, %v", got, err)
	}
}

// TestKeyFollowerMissingKey: a keyring that meets a value wrapped by a key
// it lacks reads its key file again, finds the key another server added
// there, and opens the value; a key found nowhere still fails.
func TestKeyFollowerMissingKey(t *testing.T) {
	path := filepath.Join(t.TempDir(), "kek.json")
	mine, _, err := envelope.LoadOrCreateFile(path)
	if err != nil {
		t.Fatal(err)
	}
	newKeyFollower(path, mine, newLogger(io.Discard, "error"))

	// Another server rotates: its keyring (same file content) gains a key
	// and seals under it; the file it saves is the one this server reads.
	theirs, err := envelope.LoadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := theirs.AddKey(); err != nil {
		t.Fatal(err)
	}
	sealed, err := theirs.Seal([]byte("value"), []byte("aad"))
	if err != nil {
		t.Fatal(err)
	}
	if err := theirs.SaveFile(path); err != nil {
		t.Fatal(err)
	}
	got, err := mine.Open(sealed, []byte("aad"))
	if err != nil || string(got) != "value" {
		t.Fatalf("Open after the key file gained the key: %q, %v", got, err)
	}
	if mine.ActiveID() != theirs.ActiveID() {
		t.Errorf("active key %s, want the file's %s", mine.ActiveID(), theirs.ActiveID())
	}

	other, err := envelope.Generate()
	if err != nil {
		t.Fatal(err)
	}
	stray, err := other.Seal([]byte("x"), []byte("aad"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := mine.Open(stray, []byte("aad")); err == nil {
		t.Fatal("opened a value wrapped by a key found nowhere")
	}
}

// TestKeyFollowerFollowsFile: a running server whose key file is replaced
// by a copy with another active key (the operator handing out the file a
// rotation saved elsewhere) seals under that key from then on, without a
// restart.
func TestKeyFollowerFollowsFile(t *testing.T) {
	s := MustRunMain(t, "", nil)
	kr, err := envelope.LoadFile(s.Config.KeyFile())
	if err != nil {
		t.Fatal(err)
	}
	meta, err := kr.AddKey()
	if err != nil {
		t.Fatal(err)
	}
	if err := kr.SaveFile(s.Config.KeyFile()); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for s.keyring.ActiveID() != meta.ID {
		if time.Now().After(deadline) {
			t.Fatalf("the server's active key is still %s, want %s from its changed key file", s.keyring.ActiveID(), meta.ID)
		}
		time.Sleep(50 * time.Millisecond)
	}
	ctx := context.Background()
	if _, err := s.Client("").CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("new"), SecretString: aws.String("v")}); err != nil {
		t.Fatal(err)
	}
	list, err := cli(t, s, "keys", "list")
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`"KeyId":\s*"` + meta.ID + `"[^}]*"Active":\s*true`).MatchString(list) {
		t.Fatalf("keys list does not show %s active:\n%s", meta.ID, list)
	}
}
