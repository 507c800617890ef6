package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/rotorhq/rotor/envelope"
)

// dirDigest maps every file of dir but the lock file to the SHA-256 of its
// content. Of rotor.db the 100-byte SQLite file header is left out: opening
// a restored backup switches it to WAL mode, which rewrites the header's
// journal mode, change counter and library version, but no page of data.
func dirDigest(t *testing.T, dir string) map[string][32]byte {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][32]byte{}
	for _, e := range entries {
		if e.Name() == "rotor.lock" {
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if e.Name() == "rotor.db" && len(data) > 100 {
			data = data[100:]
		}
		out[e.Name()] = sha256.Sum256(data)
	}
	return out
}

// serverExit runs `rotor server` on dataDir as a process and returns its
// exit code and stderr; it fails the test if the server keeps running.
func serverExit(t *testing.T, dataDir string) (int, string) {
	t.Helper()
	bin, err := builtBinary()
	if err != nil {
		t.Fatalf("go build: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "server", "--data-dir", dataDir, "--listen", "127.0.0.1:0")
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	err = cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("the server did not exit (it started):\n%s", stderr.String())
	}
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatal(err)
	}
	return cmd.ProcessState.ExitCode(), stderr.String()
}

// TestStartRefusedWithoutKeyInUse restores a backup taken before a key
// was retired, with today's keyring: the server must refuse to start,
// naming the missing key and what to do, and change nothing; with the key
// file as it was before the retire, it starts and serves the backup.
func TestStartRefusedWithoutKeyInUse(t *testing.T) {
	s := MustRunMain(t, "", nil)
	ctx := context.Background()
	if _, err := s.Client("").CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("kept"), SecretString: aws.String("v1")}); err != nil {
		t.Fatal(err)
	}
	backup := filepath.Join(t.TempDir(), "before-retire.db")
	if _, err := cli(t, s, "backup", backup); err != nil {
		t.Fatal(err)
	}
	list, err := cli(t, s, "keys", "list")
	if err != nil {
		t.Fatal(err)
	}
	oldID := regexp.MustCompile(`"KeyId":\s*"([^"]+)"`).FindStringSubmatch(list)[1]
	if _, err := cli(t, s, "keys", "rotate"); err != nil {
		t.Fatal(err)
	}
	beforeRetire := filepath.Join(t.TempDir(), "kek-before-retire.json")
	copyFile(t, s.Config.KeyFile(), beforeRetire)
	if _, err := cli(t, s, "keys", "retire", oldID); err != nil {
		t.Fatal(err)
	}
	s.Close()

	restored := filepath.Join(t.TempDir(), "restored")
	os.Mkdir(restored, 0o700)
	copyFile(t, backup, filepath.Join(restored, "rotor.db"))

	for _, c := range []struct {
		name    string
		keyFile string // "" = none
		source  string
	}{
		{"RetiredKeyMissing", s.Config.KeyFile(), "key file " + filepath.Join(restored, "kek.json")},
		{"NoKeyFile", "", "which does not exist"},
	} {
		t.Run(c.name, func(t *testing.T) {
			os.Remove(filepath.Join(restored, "kek.json"))
			if c.keyFile != "" {
				copyFile(t, c.keyFile, filepath.Join(restored, "kek.json"))
			}
			before := dirDigest(t, restored)
			code, stderr := serverExit(t, restored)
			if code == 0 {
				t.Fatalf("exit code 0, want a failure; stderr:\n%s", stderr)
			}
			for _, want := range []string{"refusing to start", oldID, c.source, "keys retire", "docs/security.md"} {
				if !strings.Contains(stderr, want) {
					t.Errorf("stderr lacks %q:\n%s", want, stderr)
				}
			}
			if after := dirDigest(t, restored); len(after) != len(before) {
				t.Fatalf("files in the data directory changed: %d before, %d after", len(before), len(after))
			} else {
				for name, sum := range before {
					if after[name] != sum {
						t.Errorf("%s changed", name)
					}
				}
			}
		})
	}

	// With the key file from before the retire, the backup serves again.
	copyFile(t, beforeRetire, filepath.Join(restored, "kek.json"))
	copyFile(t, s.Config.CredentialsPath(), filepath.Join(restored, "credentials"))
	r := MustRunMain(t, restored, nil)
	got, err := r.Client("").GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String("kept")})
	if err != nil || aws.ToString(got.SecretString) != "v1" {
		t.Fatalf("restored with the old keyring: %v, %v", got, err)
	}
}

// TestStartRefusedWithImpostorKey: a key file whose key has the id the
// database uses but other key material (regenerated or edited by hand) is
// refused at start, before anything is written, instead of failing
// request by request.
func TestStartRefusedWithImpostorKey(t *testing.T) {
	s := MustRunMain(t, "", nil)
	if _, err := s.Client("").CreateSecret(context.Background(), &secretsmanager.CreateSecretInput{Name: aws.String("kept"), SecretString: aws.String("v1")}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	kr, err := envelope.LoadFile(s.Config.KeyFile())
	if err != nil {
		t.Fatal(err)
	}
	id := kr.ActiveID()
	impostor := fmt.Sprintf(`{"active":%q,"keys":[{"id":%q,"key":%q,"created":""}]}`,
		id, id, base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32)))
	if err := os.WriteFile(s.Config.KeyFile(), []byte(impostor), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := s.Config
	m := &Main{Config: cfg, Stdout: io.Discard, Logger: newLogger(io.Discard, "error"), Getenv: func(string) string { return "" }}
	err = m.Run(context.Background())
	if err == nil {
		m.Close()
		t.Fatal("the server started with an impostor key")
	}
	for _, want := range []string{"refusing to start", id, "another key with the same id"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q: %v", want, err)
		}
	}
	if got, _ := os.ReadFile(s.Config.KeyFile()); string(got) != impostor {
		t.Errorf("the key file was rewritten:\n%s", got)
	}
}
