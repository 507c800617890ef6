package sqlite_test

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/rotorhq/rotor"
)

// TestOneActiveRunEvenForRawSQL shows that the schema, not Go code, keeps
// a secret to one active run: a raw INSERT or UPDATE that would make a
// second run pending or running fails, while final runs may pile up.
func TestOneActiveRunEvenForRawSQL(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rotor.db")
	s := mustOpen(t, path)
	fixture(t, s)
	update(t, s, func(tx rotor.Tx) error {
		return tx.CreateRun(&rotor.RunRecord{ID: "r1", SecretARN: arn, Region: "us-east-1", Status: rotor.RunRunning, Created: day0})
	})
	s.Close()

	db := mustRaw(t, path)
	insert := `INSERT INTO rotation_runs (id, secret_arn, region, status) VALUES (?, '` + arn + `', 'us-east-1', ?)`
	for _, q := range []struct{ id, status string }{{"r2", rotor.RunPending}, {"r3", rotor.RunRunning}} {
		if _, err := db.Exec(insert, q.id, q.status); err == nil {
			t.Errorf("raw insert of a second %s run succeeded, want a constraint failure", q.status)
		}
	}
	for _, id := range []string{"r4", "r5"} {
		if _, err := db.Exec(insert, id, rotor.RunFailed); err != nil {
			t.Errorf("raw insert of a failed run: %v, want it allowed", err)
		}
	}
	if _, err := db.Exec(`UPDATE rotation_runs SET status = 'pending' WHERE id = 'r4'`); err == nil {
		t.Error("raw update of a failed run to pending succeeded, want a constraint failure")
	}
	db.Close()

	s = mustOpen(t, path)
	view(t, s, func(tx rotor.Tx) error {
		runs, err := tx.Runs("", arn, "", 0)
		if err != nil {
			return err
		}
		var ids []string
		for _, r := range runs {
			ids = append(ids, r.ID+"="+r.Status)
		}
		slices.Sort(ids)
		if want := []string{"r1=running", "r4=failed", "r5=failed"}; !slices.Equal(ids, want) {
			t.Errorf("runs = %v, want %v", ids, want)
		}
		return nil
	})
}

// TestMigrateFromInitialSchema opens a database that has only migration
// 0001 and data in it, as an older Rotor left it: Open adds the run tables
// and keeps the data, and runs then work, cascade included.
func TestMigrateFromInitialSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rotor.db")
	initSQL, err := os.ReadFile(filepath.Join("migrations", "0001_init.sql"))
	if err != nil {
		t.Fatal(err)
	}
	db := mustRaw(t, path)
	for _, q := range []string{
		string(initSQL),
		`CREATE TABLE migrations (version INTEGER NOT NULL PRIMARY KEY, name TEXT NOT NULL, applied_date BIGINT NOT NULL)`,
		`INSERT INTO migrations (version, name, applied_date) VALUES (1, '0001_init.sql', 1)`,
		`INSERT INTO secrets (arn, region, name, rotation_configured, rotation_enabled, next_rotation_date)
			VALUES ('` + arn + `', 'us-east-1', 'fixture', TRUE, TRUE, 1)`,
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("building the old database: %v", err)
		}
	}
	db.Close()

	s := mustOpen(t, path)
	ms, err := filepath.Glob(filepath.Join("migrations", "*.sql"))
	if err != nil {
		t.Fatal(err)
	}
	if rows := migrationRows(t, path); len(rows) != len(ms) {
		t.Fatalf("migrations after Open = %v, want %d rows", rows, len(ms))
	}
	view(t, s, func(tx rotor.Tx) error {
		sec, err := tx.Secret(arn)
		if err != nil {
			return err
		}
		if sec.Name != "fixture" || !sec.Rotation.Enabled {
			t.Errorf("secret after migrating = %+v", sec)
		}
		due, err := tx.DueRotations(day0)
		if err != nil {
			return err
		}
		if !slices.Equal(due, []string{arn}) {
			t.Errorf("DueRotations = %v, want [%s]", due, arn)
		}
		return nil
	})
	update(t, s, func(tx rotor.Tx) error {
		if err := tx.CreateRun(&rotor.RunRecord{ID: "r1", SecretARN: arn, Region: "us-east-1", Status: rotor.RunPending, Created: day0}); err != nil {
			return err
		}
		return tx.AddStep(&rotor.StepRecord{RunID: "r1", Step: rotor.StepCreate, Started: day0, Duration: time.Second, Outcome: "ok"})
	})
	update(t, s, func(tx rotor.Tx) error { return tx.DeleteSecret(arn) })
	s.Close()

	db = mustRaw(t, path)
	for _, table := range []string{"rotation_runs", "rotation_steps"} {
		var n int
		if err := db.QueryRow(`SELECT COUNT(*) FROM ` + table).Scan(&n); err != nil || n != 0 {
			t.Errorf("%s holds %d rows after DeleteSecret (%v), want 0", table, n, err)
		}
	}
}
