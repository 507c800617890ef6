package main

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"

	"github.com/rotorhq/rotor"
	"github.com/rotorhq/rotor/envelope"
	"github.com/rotorhq/rotor/sqlite"
)

// migrationSource runs a server on a fresh data directory, fills it with
// every kind of record — string and binary versions with labels, tags, a
// description, a secret scheduled for deletion, one whose resource policy
// denies reading it to everyone, an identity with a policy and access
// keys, a finished rotation with its steps — stops it and returns it.
func migrationSource(t *testing.T) *testServer {
	t.Helper()
	s := MustRunMain(t, "", nil)
	ctx := context.Background()
	c := s.Client("")
	for i := range 5 {
		name := fmt.Sprintf("app/%d", i)
		if _, err := c.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String(name), SecretString: aws.String(`{"v":` + fmt.Sprint(i) + `}`),
			Description: aws.String("secret " + name), Tags: []types.Tag{{Key: aws.String("team"), Value: aws.String(fmt.Sprint(i % 2))}}}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: aws.String(name), SecretBinary: []byte{0, 1, 2, byte(i), 0xff}}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: aws.String(name), SecretString: aws.String("staged"),
			VersionStages: []string{"CUSTOM"}}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("rotated"), SecretString: aws.String(`{"password":"p"}`)}); err != nil {
		t.Fatal(err)
	}
	out, err := c.RotateSecret(ctx, &secretsmanager.RotateSecretInput{SecretId: aws.String("rotated"), RotationLambdaARN: aws.String(lambdaARN("rotor-generate-password"))})
	if err != nil {
		t.Fatal(err)
	}
	waitRotated(t, c, "rotated", aws.ToString(out.VersionId))
	if status, _ := waitRunEnded(t, s, "rotated"); status != "succeeded" {
		t.Fatalf("rotation ended %s", status)
	}
	if _, err := c.DeleteSecret(ctx, &secretsmanager.DeleteSecretInput{SecretId: aws.String("app/3"), RecoveryWindowInDays: aws.Int64(7)}); err != nil {
		t.Fatal(err)
	}
	deny := `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*","Action":"secretsmanager:GetSecretValue","Resource":"*"}]}`
	if _, err := c.PutResourcePolicy(ctx, &secretsmanager.PutResourcePolicyInput{SecretId: aws.String("app/4"), ResourcePolicy: aws.String(deny)}); err != nil {
		t.Fatal(err)
	}
	if _, err := cli(t, s, "identity", "create", "reader", "-role", "read-only"); err != nil {
		t.Fatal(err)
	}
	if _, err := cli(t, s, "access-key", "create", "reader"); err != nil {
		t.Fatal(err)
	}
	s.Close()
	return s
}

// openSQLite opens a fresh SQLite store, closed when the test ends.
func openSQLite(t *testing.T, path string) *sqlite.Store {
	t.Helper()
	st, err := sqlite.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// TestCopyStore copies a server's data into an empty store and verifies
// it; SQLite stands for the target here (migrate_pg_test.go runs the
// command itself into PostgreSQL). The copy holds every record equal, the
// sealed values byte for byte, and a server on it serves every version.
func TestCopyStore(t *testing.T) {
	s := migrationSource(t)
	ctx := context.Background()
	src := openSQLite(t, s.Config.DatabasePath())
	dst := openSQLite(t, filepath.Join(t.TempDir(), "target.db"))
	kr, err := envelope.LoadFile(s.Config.KeyFile())
	if err != nil {
		t.Fatal(err)
	}
	n, err := copyStore(ctx, src, dst)
	if err != nil {
		t.Fatal(err)
	}
	// 5 secrets of 3 versions and one of 2 (rotated once); the admin and
	// the reader with one key each; one run of four steps.
	if n.Secrets != 6 || n.Versions != 17 || n.Identities != 2 || n.AccessKeys != 2 || n.Runs != 1 || n.Steps < 4 {
		t.Fatalf("copied %s", n)
	}
	read, err := verifyCopy(ctx, src, dst, kr)
	if err != nil {
		t.Fatal(err)
	}
	if read != 17 {
		t.Errorf("verified %d values, want 17", read)
	}
	// The label history (the console's timeline) comes along, event for
	// event: every version's labels were put on by the manager, so each
	// secret has some.
	err = src.View(ctx, func(stx rotor.Tx) error {
		return dst.View(ctx, func(dtx rotor.Tx) error {
			regions, err := stx.Regions()
			if err != nil {
				return err
			}
			var secrets []*rotor.SecretRecord
			for r := range regions {
				rs, err := stx.Secrets(r)
				if err != nil {
					return err
				}
				secrets = append(secrets, rs...)
			}
			if len(secrets) != 6 {
				return fmt.Errorf("%d secrets on the source, want 6", len(secrets))
			}
			for _, sec := range secrets {
				a, err := stx.StageHistory(sec.ARN, 0)
				if err != nil {
					return err
				}
				b, err := dtx.StageHistory(sec.ARN, 0)
				if err != nil {
					return err
				}
				if len(a) == 0 || len(a) != len(b) {
					return fmt.Errorf("%s: %d label events on the source, %d on the target", sec.Name, len(a), len(b))
				}
			}
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	// Byte for byte: the same sealed bytes under the same key ids.
	err = src.View(ctx, func(stx rotor.Tx) error {
		return dst.View(ctx, func(dtx rotor.Tx) error {
			for _, id := range []string{kr.ActiveID()} {
				a, err := stx.SealedByKey(id, 1000)
				if err != nil {
					return err
				}
				b, err := dtx.SealedByKey(id, 1000)
				if err != nil {
					return err
				}
				if len(a) != len(b) || len(a) != 19 { // 17 versions, 2 access keys
					return fmt.Errorf("%d sealed values on the source, %d on the target; want 19", len(a), len(b))
				}
				for i := range a {
					if !bytes.Equal(a[i].Sealed.WrappedKey, b[i].Sealed.WrappedKey) || !bytes.Equal(a[i].Sealed.Ciphertext, b[i].Sealed.Ciphertext) {
						return fmt.Errorf("sealed value %d differs", i)
					}
				}
			}
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}

	// The target is no longer empty: a second copy is refused and changes
	// nothing.
	if _, err := copyStore(ctx, src, dst); err != errNotEmpty {
		t.Fatalf("second copy = %v, want errNotEmpty", err)
	}
	if _, err := verifyCopy(ctx, src, dst, kr); err != nil {
		t.Fatalf("after the refused copy: %v", err)
	}
}

// TestVerifyCopyFindsDifferences: verification fails on a target whose
// value reads back differently, and on one missing a record.
func TestVerifyCopyFindsDifferences(t *testing.T) {
	s := migrationSource(t)
	ctx := context.Background()
	src := openSQLite(t, s.Config.DatabasePath())
	kr, err := envelope.LoadFile(s.Config.KeyFile())
	if err != nil {
		t.Fatal(err)
	}

	swappedPath := filepath.Join(t.TempDir(), "swapped.db")
	swapped, err := sqlite.Open(swappedPath)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := copyStore(ctx, src, swapped); err != nil {
		t.Fatal(err)
	}
	var arn, id string
	err = swapped.View(ctx, func(tx rotor.Tx) error {
		rec, err := tx.SecretByName("us-east-1", "app/1")
		if err != nil {
			return err
		}
		vs, err := tx.Versions(rec.ARN)
		arn, id = rec.ARN, vs[0].ID
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	swapped.Close()
	// Give the version another value sealed for it, so it still opens:
	// only its plaintext differs. The store never rewrites a ciphertext
	// (a trigger refuses it), so this goes around it.
	other, err := kr.Seal([]byte("not the source's value"), envelope.VersionAAD(arn, id))
	if err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", swappedPath)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`DROP TRIGGER versions_value_written_once`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`UPDATE versions SET kek_id = ?, wrapped_key = ?, ciphertext = ?
		WHERE sid = (SELECT sid FROM secrets WHERE arn = ?) AND id = ?`,
		other.KeyID, other.WrappedKey, other.Ciphertext, arn, id); err != nil {
		t.Fatal(err)
	}
	db.Close()
	swapped = openSQLite(t, swappedPath)
	if _, err := verifyCopy(ctx, src, swapped, kr); err == nil || !strings.Contains(err.Error(), "differ") {
		t.Fatalf("verify with a changed value = %v, want a difference", err)
	}

	missing := openSQLite(t, filepath.Join(t.TempDir(), "missing.db"))
	if _, err := copyStore(ctx, src, missing); err != nil {
		t.Fatal(err)
	}
	err = missing.Update(ctx, func(tx rotor.Tx) error {
		rec, err := tx.SecretByName("us-east-1", "app/2")
		if err != nil {
			return err
		}
		return tx.DeleteSecret(rec.ARN)
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := verifyCopy(ctx, src, missing, kr); err == nil {
		t.Fatal("verify passed with a secret missing")
	}
}

// TestMigrateCommandArguments: the command refuses what it cannot do,
// before it touches anything.
func TestMigrateCommandArguments(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"migrate", "--to", "postgres://h/db"}, "--from"},
		{[]string{"migrate", "--from", dir}, "--to"},
		{[]string{"migrate", "--from", dir, "--to", "mysql://h/db"}, "postgres://"},
		{[]string{"migrate", "--from", dir, "--to", "postgres://h/db"}, "no database at"},
	} {
		var stderr bytes.Buffer
		if code := run(context.Background(), tc.args, &bytes.Buffer{}, &stderr); code == 0 || !strings.Contains(stderr.String(), tc.want) {
			t.Errorf("%v: exit %d, %q; want a failure saying %q", tc.args, code, stderr.String(), tc.want)
		}
	}
}
