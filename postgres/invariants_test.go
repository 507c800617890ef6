package postgres_test

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/rotorhq/rotor"
	"github.com/rotorhq/rotor/postgres"
	"github.com/rotorhq/rotor/postgres/pgtest"
)

var t0 = time.Date(2025, 3, 4, 5, 6, 7, 891011121, time.UTC)

const arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:inv-AbCdEf"

// seed stores a secret with a tag, a version with a value (v1, AWSCURRENT),
// a placeholder (v2), an active run with a step, and an identity with an
// access key.
func seed(t *testing.T, s rotor.Store) {
	t.Helper()
	err := s.Update(context.Background(), func(tx rotor.Tx) error {
		if err := tx.CreateSecret(&rotor.SecretRecord{ARN: arn, Region: "us-east-1", Name: "inv", CreatedDate: t0,
			Tags: []rotor.Tag{{Key: "k", Value: "v"}}}); err != nil {
			return err
		}
		if err := tx.CreateVersion(arn, &rotor.VersionRecord{ID: "v1", CreatedDate: t0,
			Value: &rotor.Sealed{KeyID: "kek1", WrappedKey: []byte("wrapped1"), Ciphertext: []byte("cipher1")}}); err != nil {
			return err
		}
		if err := tx.CreateVersion(arn, &rotor.VersionRecord{ID: "v2", CreatedDate: t0.Add(time.Second)}); err != nil {
			return err
		}
		if err := tx.SetStage(arn, rotor.StageCurrent, "v1"); err != nil {
			return err
		}
		if err := tx.CreateRun(&rotor.RunRecord{ID: "run1", SecretARN: arn, Region: "us-east-1", Token: "v2",
			Kind: rotor.RunRotate, Status: rotor.RunPending, Step: rotor.StepCreate, Created: t0}); err != nil {
			return err
		}
		if err := tx.CreateRun(&rotor.RunRecord{ID: "run0", SecretARN: arn, Region: "us-east-1",
			Kind: rotor.RunRotate, Status: rotor.RunSucceeded, Created: t0.Add(-time.Hour)}); err != nil {
			return err
		}
		if err := tx.AddStep(&rotor.StepRecord{RunID: "run1", Step: rotor.StepCreate, Attempt: 1, Outcome: "ok"}); err != nil {
			return err
		}
		if err := tx.CreateIdentity(&rotor.IdentityRecord{Name: "alice", Role: rotor.RoleAdmin, CreatedDate: t0}); err != nil {
			return err
		}
		return tx.CreateAccessKey(&rotor.AccessKeyRecord{AccessKeyID: "AKIAINV000000000001", Identity: "alice",
			Status: "Active", Secret: rotor.Sealed{KeyID: "kek1", WrappedKey: []byte("w"), Ciphertext: []byte("akc")}, CreatedDate: t0})
	})
	if err != nil {
		t.Fatalf("seed: %v", err)
	}
}

// refused runs sql on conn (its own implicit transaction) and fails t
// unless PostgreSQL refuses it with SQLSTATE code.
func refused(t *testing.T, conn *pgx.Conn, what, code, sql string, args ...any) {
	t.Helper()
	_, err := conn.Exec(context.Background(), sql, args...)
	var pe *pgconn.PgError
	switch {
	case err == nil:
		t.Errorf("%s: the database accepted it (%s)", what, sql)
	case !errors.As(err, &pe):
		t.Errorf("%s: %v, want SQLSTATE %s", what, err, code)
	case pe.Code != code:
		t.Errorf("%s: SQLSTATE %s (%s), want %s", what, pe.Code, pe.Message, code)
	}
}

// accepted runs sql on conn and fails t unless it succeeds.
func accepted(t *testing.T, conn *pgx.Conn, what, sql string, args ...any) {
	t.Helper()
	if _, err := conn.Exec(context.Background(), sql, args...); err != nil {
		t.Errorf("%s: %v", what, err)
	}
}

// count returns the number of rows of query.
func count(t *testing.T, conn *pgx.Conn, query string, args ...any) int {
	t.Helper()
	var n int
	if err := conn.QueryRow(context.Background(), "SELECT count(*) FROM ("+query+") x", args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

// TestInvariantsHoldAgainstRawSQL writes to the database directly, as a
// buggy server or an operator with psql might, and checks that PostgreSQL
// itself refuses every write that would break an invariant of the store,
// and that what it refused left the data as it was.
func TestInvariantsHoldAgainstRawSQL(t *testing.T) {
	s, dbURL := pgtest.Open(t, postgres.Options{})
	seed(t, s)
	conn := pgtest.Connect(t, dbURL)

	// A label is on at most one version.
	refused(t, conn, "a second AWSCURRENT", "23505",
		`INSERT INTO stages (secret_arn, stage, version_id) VALUES ($1, 'AWSCURRENT', 'v2')`, arn)
	refused(t, conn, "a label on a version that does not exist", "23503",
		`INSERT INTO stages (secret_arn, stage, version_id) VALUES ($1, 'AWSPREVIOUS', 'nope')`, arn)

	// A value is written once.
	refused(t, conn, "changing a stored ciphertext", "RW001", `UPDATE versions SET ciphertext = 'other' WHERE id = 'v1'`)
	refused(t, conn, "emptying a stored value", "RW001",
		`UPDATE versions SET ciphertext = NULL, kek_id = NULL, wrapped_key = NULL WHERE id = 'v1'`)
	refused(t, conn, "changing a stored value's kind", "RW001", `UPDATE versions SET is_binary = TRUE WHERE id = 'v1'`)
	refused(t, conn, "moving a stored value to another version id", "RW001", `UPDATE versions SET id = 'v9' WHERE id = 'v1'`)
	refused(t, conn, "a partial value", "23514", `UPDATE versions SET ciphertext = 'half' WHERE id = 'v2'`)
	refused(t, conn, "changing an access key's secret", "RW001", `UPDATE access_keys SET ciphertext = 'other'`)
	// ... while re-wrapping a data key and filling a placeholder once are
	// what the store does, and allowed.
	accepted(t, conn, "re-wrapping v1's data key", `UPDATE versions SET kek_id = 'kek2', wrapped_key = 'wrapped2' WHERE id = 'v1'`)
	accepted(t, conn, "re-wrapping the access key's data key", `UPDATE access_keys SET kek_id = 'kek2', wrapped_key = 'w2'`)
	accepted(t, conn, "filling the placeholder v2", `UPDATE versions SET kek_id = 'kek2', wrapped_key = 'w', ciphertext = 'cipher2' WHERE id = 'v2'`)
	refused(t, conn, "filling v2 a second time", "RW001", `UPDATE versions SET ciphertext = 'cipher3' WHERE id = 'v2'`)

	// One active run per secret.
	refused(t, conn, "a second active run", "23505",
		`INSERT INTO rotation_runs (id, secret_arn, region, status) VALUES ('run2', $1, 'us-east-1', 'running')`, arn)
	refused(t, conn, "re-activating a finished run", "23505", `UPDATE rotation_runs SET status = 'pending' WHERE id = 'run0'`)
	accepted(t, conn, "a finished run beside the active one",
		`INSERT INTO rotation_runs (id, secret_arn, region, status) VALUES ('run3', $1, 'us-east-1', 'failed')`, arn)

	// Rows that refer to missing rows.
	refused(t, conn, "a version of a missing secret", "23503", `INSERT INTO versions (secret_arn, id) VALUES ('nope', 'v')`)
	refused(t, conn, "a tag of a missing secret", "23503", `INSERT INTO tags (secret_arn, position, key, value) VALUES ('nope', 0, 'k', 'v')`)
	refused(t, conn, "a tag key twice", "23505", `INSERT INTO tags (secret_arn, position, key, value) VALUES ($1, 5, 'k', 'v2')`, arn)
	refused(t, conn, "a run of a missing secret", "23503", `INSERT INTO rotation_runs (id, secret_arn, region, status) VALUES ('r', 'nope', 'r', 'failed')`)
	refused(t, conn, "a step of a missing run", "23503", `INSERT INTO rotation_steps (run_id) VALUES ('nope')`)
	refused(t, conn, "an access key of a missing identity", "23503",
		`INSERT INTO access_keys (id, identity, status, kek_id, wrapped_key, ciphertext) VALUES ('AKIA', 'nobody', 'Active', 'k', 'w', 'c')`)

	// What was refused changed nothing; what was allowed is what the store reads.
	err := s.View(context.Background(), func(tx rotor.Tx) error {
		vs, err := tx.Versions(arn)
		if err != nil {
			return err
		}
		if len(vs) != 2 || vs[0].ID != "v1" || vs[1].ID != "v2" {
			t.Fatalf("versions = %+v", vs)
		}
		if v := vs[0]; v.Value == nil || string(v.Value.Ciphertext) != "cipher1" || v.Value.KeyID != "kek2" || v.Binary || len(v.Stages) != 1 {
			t.Errorf("v1 = %+v %+v, want cipher1 re-wrapped under kek2, AWSCURRENT", v, v.Value)
		}
		if v := vs[1]; v.Value == nil || string(v.Value.Ciphertext) != "cipher2" || len(v.Stages) != 0 {
			t.Errorf("v2 = %+v, want filled once with cipher2, no label", v)
		}
		k, err := tx.AccessKey("AKIAINV000000000001")
		if err != nil {
			return err
		}
		if !bytes.Equal(k.Secret.Ciphertext, []byte("akc")) {
			t.Errorf("access key ciphertext = %q", k.Secret.Ciphertext)
		}
		if r, err := tx.ActiveRun(arn); err != nil || r.ID != "run1" {
			t.Errorf("ActiveRun = %v, %v; want run1", r, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	// Deleting cascades, whoever deletes.
	accepted(t, conn, "deleting the identity", `DELETE FROM identities WHERE name = 'alice'`)
	if n := count(t, conn, `SELECT 1 FROM access_keys`); n != 0 {
		t.Errorf("%d access keys left after their identity was deleted", n)
	}
	accepted(t, conn, "deleting version v1", `DELETE FROM versions WHERE id = 'v1'`)
	if n := count(t, conn, `SELECT 1 FROM stages`); n != 0 {
		t.Errorf("%d labels left after their version was deleted", n)
	}
	accepted(t, conn, "deleting the secret", `DELETE FROM secrets WHERE arn = $1`, arn)
	for _, table := range []string{"versions", "stages", "tags", "rotation_runs", "rotation_steps"} {
		if n := count(t, conn, `SELECT 1 FROM `+table); n != 0 {
			t.Errorf("%d rows left in %s after the secret was deleted", n, table)
		}
	}
}
