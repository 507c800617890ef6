package sqlite_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rotorhq/rotor"
	"github.com/rotorhq/rotor/sqlite"
)

// sidOf returns the sid of the secret arn, read with raw SQL.
func sidOf(t *testing.T, db *sql.DB, a string) int64 {
	t.Helper()
	var sid int64
	if err := db.QueryRow(`SELECT sid FROM secrets WHERE arn = ?`, a).Scan(&sid); err != nil {
		t.Fatalf("sid of %s: %v", a, err)
	}
	return sid
}

// TestSidNeverGivenAgain: a deleted secret's sid is not given to a new
// secret, whether the secret was deleted through the store (its rows go
// by cascade) or by a writer with foreign keys off, as the sqlite3 shell
// has them by default (its versions, labels and history stay, keyed by its
// sid, and must not become the new secret's). Raw SQL can neither insert
// a secret with such a sid nor a version for a secret that is gone.
func TestSidNeverGivenAgain(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rotor.db")
	s := mustOpen(t, path)
	a, b, c, d := arn+"-a", arn+"-b", arn+"-c", arn+"-d"
	create := func(s rotor.Store, a string, withValue bool) {
		update(t, s, func(tx rotor.Tx) error {
			if err := tx.CreateSecret(&rotor.SecretRecord{ARN: a, Region: "r", Name: a}); err != nil || !withValue {
				return err
			}
			if err := tx.CreateVersion(a, &rotor.VersionRecord{ID: "old", Value: &rotor.Sealed{KeyID: "k", WrappedKey: []byte{1}, Ciphertext: []byte("sealed")}}); err != nil {
				return err
			}
			if err := tx.SetStage(a, "AWSCURRENT", "old"); err != nil {
				return err
			}
			return tx.AddStageEvents(a, []rotor.StageEvent{{Stage: "AWSCURRENT", VersionID: "old", Time: time.Unix(0, 1)}})
		})
	}
	create(s, a, true)
	create(s, b, true)
	// b has the largest sid; deleted through the store.
	update(t, s, func(tx rotor.Tx) error { return tx.DeleteSecret(b) })
	s.Close()

	db := mustRaw(t, path) // foreign keys off
	sidA := sidOf(t, db, a)
	if _, err := db.Exec(`DELETE FROM secrets WHERE arn = ?`, a); err != nil {
		t.Fatal(err)
	}
	var left int
	db.QueryRow(`SELECT (SELECT count(*) FROM versions WHERE sid = ?) + (SELECT count(*) FROM stages WHERE sid = ?)`, sidA, sidA).Scan(&left)
	if left == 0 {
		t.Fatal("the raw delete cascaded: foreign keys are on, the test proves nothing")
	}
	if _, err := db.Exec(`INSERT INTO secrets (arn, region, name, sid) VALUES ('x', 'r', 'x', ?)`, sidA); err == nil || !strings.Contains(err.Error(), "not given again") {
		t.Errorf("raw insert of a secret with deleted sid %d: err = %v, want a refusal", sidA, err)
	}
	if _, err := db.Exec(`INSERT INTO versions (vkey, sid, id) VALUES ((? << 32) + 7, ?, 'v')`, sidA, sidA); err == nil || !strings.Contains(err.Error(), "range") {
		t.Errorf("raw insert of a version of deleted secret sid %d: err = %v, want a refusal", sidA, err)
	}
	// A secret inserted without a sid takes the next one above the floor.
	if _, err := db.Exec(`INSERT INTO secrets (arn, region, name) VALUES (?, 'r', 'd')`, d); err != nil {
		t.Fatal(err)
	}
	sidD := sidOf(t, db, d)
	db.Close()

	s, err := sqlite.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	create(s, c, false)
	db = mustRaw(t, path)
	defer db.Close()
	sidC := sidOf(t, db, c)
	if sidD <= sidA+1 || sidC <= sidD {
		t.Errorf("sids: deleted a %d and b (after a), then d %d (raw insert), c %d: want each new one above every one given before", sidA, sidD, sidC)
	}
	for _, x := range []string{c, d} {
		_, vs, err := s.ReadSecretARN(context.Background(), x)
		if err != nil {
			t.Fatal(err)
		}
		var evs []rotor.StageEvent
		view(t, s, func(tx rotor.Tx) (err error) { evs, err = tx.StageHistory(x, 0); return err })
		if len(vs) != 0 || len(evs) != 0 {
			t.Errorf("new secret %s holds a deleted secret's rows: versions %s, history %+v", x, describe(vs), evs)
		}
	}
}

// TestMigrationLabelsBySidOrphans: a store at 0016 holding the versions,
// labels and history of a secret that a writer with foreign keys off
// deleted. 0017 opens it, leaves those rows behind (they belonged to
// nobody), and gives a new secret a sid above the deleted one's.
func TestMigrationLabelsBySidOrphans(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rotor.db")
	if err := sqlite.MigrateTo(path, 16); err != nil {
		t.Fatal(err)
	}
	db := mustRaw(t, path)
	db.SetMaxOpenConns(1)
	execAll(t, db,
		`INSERT INTO secrets (arn, region, name) VALUES ('kept', 'r', 'k')`,
		`INSERT INTO secrets (arn, region, name) VALUES ('gone', 'r', 'g')`,
		`INSERT INTO versions (vkey, secret_arn, id) VALUES ((SELECT sid << 32 FROM secrets WHERE arn = 'kept') + 1, 'kept', 'v')`,
		`INSERT INTO versions (vkey, secret_arn, id) VALUES ((SELECT sid << 32 FROM secrets WHERE arn = 'gone') + 1, 'gone', 'v')`,
		`INSERT INTO stages (secret_arn, stage, version_id) VALUES ('gone', 'AWSCURRENT', 'v')`,
		`INSERT INTO stage_history (secret_arn, n, stage, version_id, at) VALUES ('gone', 1, 'AWSCURRENT', 'v', 1)`,
		`DELETE FROM secrets WHERE arn = 'gone'`, // foreign keys off: the rows stay
	)
	db.Close()
	s, err := sqlite.Open(path)
	if err != nil {
		t.Fatalf("open after a delete without foreign keys: %v", err)
	}
	defer s.Close()
	update(t, s, func(tx rotor.Tx) error {
		return tx.CreateSecret(&rotor.SecretRecord{ARN: "new", Region: "r", Name: "n"})
	})
	db = mustRaw(t, path)
	defer db.Close()
	var versions, stages, history int
	db.QueryRow(`SELECT (SELECT count(*) FROM versions), (SELECT count(*) FROM stages), (SELECT count(*) FROM stage_history)`).Scan(&versions, &stages, &history)
	if versions != 1 || stages != 0 || history != 0 {
		t.Errorf("after 0017: %d versions, %d labels, %d events; want the kept secret's one version only", versions, stages, history)
	}
	if kept, n := sidOf(t, db, "kept"), sidOf(t, db, "new"); n <= kept+1 {
		t.Errorf("new secret's sid %d, kept %d: want above the deleted secret's (%d)", n, kept, kept+1)
	}
}
