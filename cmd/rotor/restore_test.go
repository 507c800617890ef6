package main

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/rotorhq/rotor/envelope"
)

// restoreCLI runs `rotor restore` with args and returns its exit code,
// stdout and stderr.
func restoreCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut syncBuffer
	code := run(context.Background(), append([]string{"restore"}, args...), &out, &errOut)
	return code, out.String(), errOut.String()
}

// TestRestore: a backup restored over the data directory it came from
// (with --force, the newer database moved aside and kept) gives back the
// backup's state; the restore is refused while the server runs, without
// --force, and for files that are not Rotor backups, each time changing
// nothing.
func TestRestore(t *testing.T) {
	s := MustRunMain(t, "", nil)
	c := s.Client("")
	ctx := context.Background()
	e2eCreate(t, c, "kept", "v1")
	e2eCreate(t, c, "changed", "before")
	backup := filepath.Join(t.TempDir(), "backup.db")
	if _, err := cli(t, s, "backup", backup); err != nil {
		t.Fatal(err)
	}
	// Written after the backup: gone once it is restored.
	e2ePut(t, c, "changed", "after")
	e2eCreate(t, c, "later", "x")

	dir := s.DataDir
	code, _, errOut := restoreCLI(t, backup, "--data-dir", dir, "--force")
	if code != 1 || !strings.Contains(errOut, "in use by another rotor server") || !strings.Contains(errOut, "stop the server first") {
		t.Fatalf("restore while the server runs: exit %d, %s", code, errOut)
	}
	s.Close()
	before := fileDigests(t, dir)
	foreign := filepath.Join(t.TempDir(), "foreign.db")
	db, err := sql.Open("sqlite", foreign)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec("CREATE TABLE notes (body TEXT)"); err != nil {
		t.Fatal(err)
	}
	db.Close()
	truncated := filepath.Join(t.TempDir(), "truncated.db")
	whole, _ := os.ReadFile(backup)
	os.WriteFile(truncated, whole[:len(whole)/2], 0o600)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{foreign, "--data-dir", dir, "--force"}, "lacks Rotor's tables"},
		{[]string{truncated, "--data-dir", dir, "--force"}, truncated},
		{[]string{backup, "--data-dir", dir}, "already holds a database"},
		{[]string{filepath.Join(dir, "kek.json"), "--data-dir", dir, "--force"}, "not a SQLite database"},
		{[]string{filepath.Join(dir, "missing.db"), "--data-dir", dir, "--force"}, "no such file"},
	} {
		code, _, errOut := restoreCLI(t, tc.args...)
		if code != 1 || !strings.Contains(errOut, tc.want) {
			t.Errorf("restore %s: exit %d, %s", strings.Join(tc.args, " "), code, errOut)
		}
	}
	code, _, errOut = restoreCLI(t, "--data-dir", dir)
	if code != 2 || !strings.Contains(errOut, "usage: rotor restore <file>") {
		t.Errorf("restore without a file: exit %d, %s", code, errOut)
	}
	assertDirUnchanged(t, dir, before)

	code, out, errOut := restoreCLI(t, backup, "--data-dir", dir, "--force")
	if code != 0 {
		t.Fatalf("restore --force: exit %d, %s", code, errOut)
	}
	aside := filepath.Join(dir, "rotor.db.before-restore-")
	if !strings.Contains(out, "Restored "+backup+" into "+filepath.Join(dir, "rotor.db")+": 2 secret(s) (us-east-1: 2).") ||
		!strings.Contains(out, "kept as "+aside) {
		t.Errorf("restore printed %q", out)
	}
	moved, _ := filepath.Glob(aside + "*")
	if len(moved) != 1 || mode(t, moved[0]) != 0o600 {
		t.Fatalf("moved aside: %v", moved)
	}
	if m := mode(t, filepath.Join(dir, "rotor.db")); m != 0o600 {
		t.Errorf("restored database mode %04o", m)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, restoreStaging+"*")); len(left) != 0 {
		t.Errorf("staging files left: %v", left)
	}

	r := MustRunMain(t, dir, nil)
	rc := r.ClientWith("", s.KeyID, s.Secret, "")
	for name, want := range map[string]string{"kept": "v1", "changed": "before"} {
		got, err := rc.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(name)})
		if err != nil || aws.ToString(got.SecretString) != want {
			t.Errorf("restored %s = %v, %v; want %q", name, got, err, want)
		}
	}
	if _, err := rc.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String("later")}); err == nil {
		t.Error("a secret created after the backup survived the restore")
	}
	r.Close()

	// The database moved aside is whole: it opens as it was.
	keep := filepath.Join(t.TempDir(), "newer")
	os.Mkdir(keep, 0o700)
	for _, suffix := range dbFiles {
		if _, err := os.Stat(moved[0] + suffix); err == nil {
			copyFile(t, moved[0]+suffix, filepath.Join(keep, "rotor.db"+suffix))
		}
	}
	copyFile(t, filepath.Join(dir, "kek.json"), filepath.Join(keep, "kek.json"))
	copyFile(t, filepath.Join(dir, "credentials"), filepath.Join(keep, "credentials")) // for the test helper
	n := MustRunMain(t, keep, nil)
	if got, err := n.ClientWith("", s.KeyID, s.Secret, "").GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String("later")}); err != nil ||
		aws.ToString(got.SecretString) != "x" {
		t.Errorf("the database moved aside lost data: %v, %v", got, err)
	}
}

// TestRestoreChecksKeyring: into a new data directory, a restore whose
// keyring lacks a key the backup uses, or holds a different key under its
// id, is refused naming the key, and leaves nothing behind; with the right
// keyring (a key file, or the key environment variable) the server starts
// on the restored data.
func TestRestoreChecksKeyring(t *testing.T) {
	s := MustRunMain(t, "", nil)
	e2eCreate(t, s.Client(""), "app/db", "s3cret")
	backup := filepath.Join(t.TempDir(), "backup.db")
	if _, err := cli(t, s, "backup", backup); err != nil {
		t.Fatal(err)
	}
	keyFile := s.Config.KeyFile()
	kr, err := envelope.LoadFile(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	keyID := kr.ActiveID()
	s.Close()

	tmp := t.TempDir()
	other := filepath.Join(tmp, "other-kek.json")
	if _, _, err := envelope.LoadOrCreateFile(other); err != nil {
		t.Fatal(err)
	}
	// The same key id with other key material.
	forged := filepath.Join(tmp, "forged-kek.json")
	data, _ := os.ReadFile(keyFile)
	otherKR, _ := envelope.LoadFile(other)
	otherData, _ := os.ReadFile(other)
	forgedData := strings.ReplaceAll(string(otherData), otherKR.ActiveID(), keyID)
	os.WriteFile(forged, []byte(forgedData), 0o600)
	if forgedData == string(data) {
		t.Fatal("forged key file equals the real one")
	}

	parent := t.TempDir()
	fresh := filepath.Join(parent, "fresh")
	for _, tc := range []struct {
		name string
		args []string
		want []string
	}{
		{"NoKeyFile", nil, []string{"refusing to restore", keyID, filepath.Join(fresh, "kek.json") + ", which does not exist", "Nothing was changed"}},
		{"OtherKeyring", []string{"--key-file", other}, []string{"refusing to restore", keyID, "key file " + other, "keys retire", "Nothing was changed"}},
		{"SameIDOtherKey", []string{"--key-file", forged}, []string{"refusing to restore", keyID, "do not open the data keys", "Nothing was changed"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, errOut := restoreCLI(t, append([]string{backup, "--data-dir", fresh}, tc.args...)...)
			if code != 1 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			for _, w := range tc.want {
				if !strings.Contains(errOut, w) {
					t.Errorf("stderr lacks %q:\n%s", w, errOut)
				}
			}
			if entries, _ := os.ReadDir(parent); len(entries) != 0 {
				t.Errorf("a refused restore left %v", entries)
			}
		})
	}
	// An existing, empty data directory is left as it was too.
	os.Mkdir(fresh, 0o700)
	if code, _, _ := restoreCLI(t, backup, "--data-dir", fresh, "--key-file", other); code != 1 {
		t.Fatalf("exit %d", code)
	}
	if entries, _ := os.ReadDir(fresh); len(entries) != 0 {
		t.Errorf("a refused restore left %v in an existing directory", entries)
	}

	// The right keyring through the environment, as the server reads it;
	// a configuration that does not serve the backup's region is warned.
	t.Setenv("TEST_RESTORE_KEYRING", string(data))
	code, out, errOut := restoreCLI(t, backup, "--data-dir", fresh, "--key-env", "TEST_RESTORE_KEYRING", "--regions", "eu-west-1")
	if code != 0 || !strings.Contains(out, "--key-env TEST_RESTORE_KEYRING") ||
		!strings.Contains(out, "holds secrets in us-east-1, which this configuration does not serve (regions = eu-west-1)") {
		t.Fatalf("restore with the key in the environment: exit %d, %s %s", code, out, errOut)
	}
	copyFile(t, s.Config.CredentialsPath(), filepath.Join(fresh, "credentials")) // for the test helper
	r := mustRunMainEnv(t, fresh, func(c *Config) { c.Keys.Env = "TEST_RESTORE_KEYRING" }, map[string]string{"TEST_RESTORE_KEYRING": string(data)})
	got, err := r.ClientWith("", s.KeyID, s.Secret, "").GetSecretValue(context.Background(), &secretsmanager.GetSecretValueInput{SecretId: aws.String("app/db")})
	if err != nil || aws.ToString(got.SecretString) != "s3cret" {
		t.Fatalf("restored server: %v, %v", got, err)
	}
}

// fileDigests returns the SHA-256 of every regular file directly in dir
// but the lock file.
func fileDigests(t *testing.T, dir string) map[string][32]byte {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][32]byte{}
	for _, e := range entries {
		if !e.Type().IsRegular() || e.Name() == "rotor.lock" {
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		out[e.Name()] = sha256.Sum256(data)
	}
	return out
}

// assertDirUnchanged fails unless dir holds the same files with the same
// contents as when before was taken (fileDigests).
func assertDirUnchanged(t *testing.T, dir string, before map[string][32]byte) {
	t.Helper()
	after := fileDigests(t, dir)
	if len(after) != len(before) {
		t.Errorf("files in %s changed: %v before, %v after", dir, before, after)
	}
	for name, sum := range before {
		if after[name] != sum {
			t.Errorf("%s changed", name)
		}
	}
}
