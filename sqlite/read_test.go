package sqlite_test

import (
	"context"
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/rotorhq/rotor"
	"github.com/rotorhq/rotor/sqlite"
)

// TestReadQueryPlan checks that a read searches the secret by its key
// and its versions as one range of versions' rowid (migration 0015), not
// through the (sid, id) index, and sorts nothing.
func TestReadQueryPlan(t *testing.T) {
	s := mustOpen(t, filepath.Join(t.TempDir(), "rotor.db"))
	for i, q := range sqlite.ReadQueries {
		args := [][]any{{"r", "n"}, {arn}}[i]
		plan, err := sqlite.QueryPlan(s, q, args...)
		if err != nil {
			t.Fatal(err)
		}
		p := strings.Join(plan, "\n")
		want := []string{"SEARCH v USING INTEGER PRIMARY KEY (rowid>? AND rowid<?)", "SEARCH t USING PRIMARY KEY (secret_arn=?)"}
		want = append(want, [][]string{{"SEARCH s USING INDEX sqlite_autoindex_secrets_2 (region=? AND name=?)"},
			{"SEARCH s USING INDEX sqlite_autoindex_secrets_1 (arn=?)"}}[i]...)
		for _, w := range want {
			if !strings.Contains(p, w) {
				t.Errorf("plan of read %d lacks %q:\n%s", i, w, p)
			}
		}
		if strings.Contains(p, "TEMP B-TREE") || strings.Contains(p, "SCAN") {
			t.Errorf("plan of read %d sorts or scans:\n%s", i, p)
		}
	}
}

// TestVersionsQueryPlan checks that Tx.Versions, which PutSecretValue
// runs in the single writer, reads as ReadSecretARN does: the secret by
// ARN and its versions as one range of versions' rowid.
func TestVersionsQueryPlan(t *testing.T) {
	s := mustOpen(t, filepath.Join(t.TempDir(), "rotor.db"))
	plan, err := sqlite.QueryPlan(s, sqlite.VersionsQuery, arn)
	if err != nil {
		t.Fatal(err)
	}
	p := strings.Join(plan, "\n")
	for _, w := range []string{"SEARCH s USING INDEX sqlite_autoindex_secrets_1 (arn=?)", "SEARCH v USING INTEGER PRIMARY KEY (rowid>? AND rowid<?)"} {
		if !strings.Contains(p, w) {
			t.Errorf("plan lacks %q:\n%s", w, p)
		}
	}
	if strings.Contains(p, "TEMP B-TREE") || strings.Contains(p, "SCAN") {
		t.Errorf("plan sorts or scans:\n%s", p)
	}
}

// TestReadSecretOddBytes reads back values, labels and tags made of the
// bytes the read encoding uses (digits, ':') and NULs, empty values, and a
// placeholder: ReadSecret, ReadSecretARN and View's Secret, SecretByName
// and Versions must return exactly what was written.
func TestReadSecretOddBytes(t *testing.T) {
	s := mustOpen(t, filepath.Join(t.TempDir(), "rotor.db"))
	odd := "12:3:\x00:"
	at := time.Unix(0, 42).UTC()
	update(t, s, func(tx rotor.Tx) error {
		err := tx.CreateSecret(&rotor.SecretRecord{ARN: arn, Region: "r:1", Name: odd, Description: odd + "d",
			Tags: []rotor.Tag{{Key: odd, Value: ""}, {Key: "1:", Value: odd}, {Key: "", Value: "0:"}}, TagsEverSet: true,
			KmsKeyID: ":", CreatedDate: at, ResourcePolicy: "9:"})
		if err != nil {
			return err
		}
		for i, v := range []*rotor.VersionRecord{
			{ID: odd, Value: &rotor.Sealed{KeyID: "3:", WrappedKey: []byte{}, Ciphertext: []byte("\x00:9:")}, Binary: true, CreatedDate: at},
			{ID: "1:", CreatedDate: at},
			{ID: "", Value: &rotor.Sealed{KeyID: "", WrappedKey: []byte(":"), Ciphertext: []byte{}}, KmsKeyID: odd, CreatedDate: at.Add(-time.Second)},
		} {
			if err := tx.CreateVersion(arn, v); err != nil {
				return fmt.Errorf("version %d: %w", i, err)
			}
		}
		for _, l := range [][2]string{{odd, odd}, {"1:", "1:"}, {"", ":"}, {"", "AWSCURRENT"}, {odd, "0:"}} {
			if err := tx.SetStage(arn, l[1], l[0]); err != nil {
				return err
			}
		}
		return nil
	})
	// What was written, as every read must return it (View's reads decode
	// the same encoding as ReadSecret's, so they are checked here too).
	want := &rotor.SecretRecord{ARN: arn, Region: "r:1", Name: odd, Description: odd + "d",
		Tags: []rotor.Tag{{Key: odd, Value: ""}, {Key: "1:", Value: odd}, {Key: "", Value: "0:"}}, TagsEverSet: true,
		KmsKeyID: ":", CreatedDate: at, ResourcePolicy: "9:"}
	wantVs := []*rotor.VersionRecord{
		{ID: "", Value: &rotor.Sealed{KeyID: "", WrappedKey: []byte(":"), Ciphertext: []byte{}}, KmsKeyID: odd,
			CreatedDate: at.Add(-time.Second), Stages: []string{":", "AWSCURRENT"}},
		{ID: odd, Value: &rotor.Sealed{KeyID: "3:", WrappedKey: []byte{}, Ciphertext: []byte("\x00:9:")}, Binary: true,
			CreatedDate: at, Stages: []string{"0:", odd}},
		{ID: "1:", CreatedDate: at, Stages: []string{"1:"}},
	}
	for _, read := range []func() (*rotor.SecretRecord, []*rotor.VersionRecord, error){
		func() (rec *rotor.SecretRecord, vs []*rotor.VersionRecord, err error) {
			err = s.View(context.Background(), func(tx rotor.Tx) error {
				if rec, err = tx.Secret(arn); err != nil {
					return err
				}
				if byName, err := tx.SecretByName("r:1", odd); err != nil || !reflect.DeepEqual(byName, rec) {
					return fmt.Errorf("SecretByName = %+v, %v; Secret %+v", byName, err, rec)
				}
				vs, err = tx.Versions(arn)
				return err
			})
			return rec, vs, err
		},
		func() (*rotor.SecretRecord, []*rotor.VersionRecord, error) {
			return s.ReadSecret(context.Background(), "r:1", odd)
		},
		func() (*rotor.SecretRecord, []*rotor.VersionRecord, error) {
			return s.ReadSecretARN(context.Background(), arn)
		},
	} {
		rec, vs, err := read()
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(rec, want) {
			t.Errorf("read %+v\nwant %+v", rec, want)
		}
		if !reflect.DeepEqual(vs, wantVs) {
			for i := range max(len(vs), len(wantVs)) {
				if i < len(vs) && i < len(wantVs) {
					t.Errorf("version %d: read %+v %+v\nwant %+v %+v", i, vs[i], vs[i].Value, wantVs[i], wantVs[i].Value)
				}
			}
			t.Errorf("read %d versions, want %d", len(vs), len(wantVs))
		}
	}
}

// TestMigrationVersionsBySecretID builds a store as migration 0014 left
// it, applies 0015, and checks its invariants, kept by the schema even
// against raw SQL: every secret has a distinct sid, fixed once set (and
// set on insert); every version's vkey lies in its secret's range and
// never changes; a version's labels column says what stages says, through
// inserts, moves and deletes of labels.
func TestMigrationVersionsBySecretID(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rotor.db")
	if err := sqlite.MigrateTo(path, 14); err != nil {
		t.Fatal(err)
	}
	other := arn + "-other"
	db := mustRaw(t, path)
	execAll(t, db,
		`INSERT INTO secrets (arn, region, name) VALUES ('`+other+`', 'r', 'o')`,
		`INSERT INTO secrets (arn, region, name) VALUES ('`+arn+`', 'r', 's')`,
		`INSERT INTO versions (secret_arn, id, kek_id, wrapped_key, ciphertext, created_date) VALUES ('`+arn+`', 'v1', 'k', x'01', x'0a', 5)`,
		`INSERT INTO versions (secret_arn, id, kek_id, wrapped_key, ciphertext, created_date) VALUES ('`+other+`', 'o1', 'k', x'03', x'0c', 1)`,
		`INSERT INTO versions (secret_arn, id, created_date) VALUES ('`+arn+`', 'p', 5)`,
		`INSERT INTO stages (secret_arn, stage, version_id) VALUES ('`+arn+`', 'AWSCURRENT', 'v1')`,
		`INSERT INTO stages (secret_arn, stage, version_id) VALUES ('`+arn+`', 'B', 'v1')`,
		`INSERT INTO stages (secret_arn, stage, version_id) VALUES ('`+arn+`', 'AWSPENDING', 'p')`,
	)
	db.Close()

	s := mustOpen(t, path) // applies 0015
	check := func(when string) {
		t.Helper()
		for _, a := range []string{arn, other} {
			var want []*rotor.VersionRecord
			view(t, s, func(tx rotor.Tx) (err error) {
				want, err = tx.Versions(a)
				return err
			})
			_, got, err := s.ReadSecretARN(context.Background(), a)
			if err != nil || !reflect.DeepEqual(got, want) {
				t.Errorf("%s: ReadSecretARN(%s) = %s, %v; View %s", when, a, describe(got), err, describe(want))
			}
		}
	}
	check("after the migration")
	if _, vs, _ := s.ReadSecretARN(context.Background(), arn); describe(vs) != "v1[AWSCURRENT B] p[AWSPENDING]" {
		t.Errorf("after the migration: %s", describe(vs))
	}
	update(t, s, func(tx rotor.Tx) error {
		if err := tx.CreateSecret(&rotor.SecretRecord{ARN: arn + "-new", Region: "r", Name: "n"}); err != nil {
			return err
		}
		if err := tx.CreateVersion(arn+"-new", &rotor.VersionRecord{ID: "n1"}); err != nil {
			return err
		}
		if err := tx.CreateVersion(arn, &rotor.VersionRecord{ID: "v2", CreatedDate: time.Unix(0, 5).UTC()}); err != nil {
			return err
		}
		if err := tx.SetStage(arn, "AWSCURRENT", "v2"); err != nil { // a move: an UPDATE of stages
			return err
		}
		return tx.RemoveStage(arn, "AWSPENDING")
	})
	check("after writes")
	if _, vs, _ := s.ReadSecretARN(context.Background(), arn); describe(vs) != "v1[B] p[] v2[AWSCURRENT]" {
		t.Errorf("after writes: %s", describe(vs))
	}
	s.Close()

	db = mustRaw(t, path)
	if _, err := db.Exec(`PRAGMA foreign_keys = ON`); err != nil {
		t.Fatal(err)
	}
	execAll(t, db,
		`INSERT INTO secrets (arn, region, name) VALUES ('raw', 'r', 'raw')`,
		`INSERT INTO versions (vkey, sid, id) VALUES ((SELECT sid << 32 FROM secrets WHERE arn = 'raw') + 7, `+sidSQL("raw")+`, 'r1')`,
		`UPDATE stages SET version_id = 'p' WHERE sid = `+sidSQL(arn)+` AND stage = 'B'`,
		`INSERT INTO stages (sid, stage, version_id) VALUES (`+sidSQL("raw")+`, 'L', 'r1')`,
	)
	for _, q := range []string{
		`UPDATE secrets SET sid = sid + 1000 WHERE arn = '` + arn + `'`,
		`UPDATE secrets SET sid = NULL WHERE arn = '` + arn + `'`,
		`INSERT INTO secrets (arn, region, name, sid) VALUES ('big', 'r', 'big', 2147483648)`,
		`INSERT INTO versions (sid, id) VALUES (` + sidSQL(arn) + `, 'auto')`,
		`INSERT INTO versions (vkey, sid, id) VALUES ((SELECT sid << 32 FROM secrets WHERE arn = '` + other + `') + 9, ` + sidSQL(arn) + `, 'elsewhere')`,
		`INSERT INTO versions (vkey, sid, id) VALUES ((SELECT sid << 32 FROM secrets WHERE arn = '` + arn + `'), ` + sidSQL(arn) + `, 'seq0')`,
		`INSERT INTO versions (vkey, sid, id) VALUES ((SELECT (sid + 1) << 32 FROM secrets WHERE arn = '` + arn + `') + 1, ` + sidSQL(arn) + `, 'next')`,
		`UPDATE versions SET vkey = vkey + 1 WHERE id = 'v1'`,
		`UPDATE versions SET sid = ` + sidSQL(other) + ` WHERE id = 'v1'`,
	} {
		if _, err := db.Exec(q); err == nil {
			t.Errorf("raw %q succeeded, want a refusal", q)
		}
	}
	for q, want := range map[string]int{
		`SELECT COUNT(*) FROM secrets WHERE sid IS NULL`:     0,
		`SELECT COUNT(DISTINCT sid) - COUNT(*) FROM secrets`: 0,
		`SELECT COUNT(*) FROM versions v WHERE v.vkey >> 32 <> v.sid OR v.vkey & 4294967295 = 0 OR NOT EXISTS (SELECT 1 FROM secrets s WHERE s.sid = v.sid)`: 0,
		`SELECT COUNT(*) FROM versions v WHERE labels <> COALESCE((SELECT group_concat(length(CAST(stage AS BLOB)) || ':' || stage, '')
			FROM stages st WHERE st.sid = v.sid AND st.version_id = v.id), '')`: 0,
		`SELECT COUNT(*) FROM versions WHERE labels <> ''`:           3,
		`SELECT COUNT(*) FROM sqlite_master WHERE name LIKE '%_new'`: 0,
		// What SQLite before 3.44 cannot parse: its sqlite3 shell would call the file malformed.
		`SELECT COUNT(*) FROM sqlite_master WHERE sql LIKE '%octet_length%' OR sql LIKE '%group_concat(%ORDER BY%'`: 0,
		`SELECT COUNT(*) FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'versions'`:                       3,
		`SELECT COUNT(*) FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'stages'`:                         3,
		`SELECT COUNT(*) FROM pragma_foreign_key_check`:                                                             0,
	} {
		var n int
		if err := db.QueryRow(q).Scan(&n); err != nil || n != want {
			t.Errorf("%s = %d, %v; want %d", q, n, err, want)
		}
	}
	if _, err := db.Exec(`UPDATE versions SET ciphertext = x'00' WHERE id = 'v1'`); err == nil {
		t.Error("the write-once trigger is gone after the migration")
	}
	// Deleting a secret takes its versions and their labels with it.
	var sid int64
	if err := db.QueryRow(`SELECT ` + sidSQL(arn)).Scan(&sid); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`DELETE FROM secrets WHERE arn = '` + arn + `'`); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := db.QueryRow(`SELECT (SELECT COUNT(*) FROM versions WHERE sid = ?) + (SELECT COUNT(*) FROM stages WHERE sid = ?)`, sid, sid).Scan(&n); err != nil || n != 0 {
		t.Errorf("after deleting the secret: %d versions and labels left, %v", n, err)
	}
}

// describe renders versions as "id[labels] ...".
func describe(vs []*rotor.VersionRecord) string {
	var out []string
	for _, v := range vs {
		out = append(out, fmt.Sprintf("%s%v", v.ID, v.Stages))
	}
	return strings.Join(out, " ")
}

// TestScanQueryPlan checks that ScanSecrets walks the secrets in their
// primary key's order, without sorting, and reads versions as a read does.
func TestScanQueryPlan(t *testing.T) {
	s := mustOpen(t, filepath.Join(t.TempDir(), "rotor.db"))
	plan, err := sqlite.QueryPlan(s, sqlite.ScanQuery, "", 10)
	if err != nil {
		t.Fatal(err)
	}
	p := strings.Join(plan, "\n")
	for _, w := range []string{"SEARCH s USING INDEX sqlite_autoindex_secrets_1 (arn>?)", "SEARCH v USING INTEGER PRIMARY KEY (rowid>? AND rowid<?)"} {
		if !strings.Contains(p, w) {
			t.Errorf("plan lacks %q:\n%s", w, p)
		}
	}
	if strings.Contains(p, "TEMP B-TREE") {
		t.Errorf("plan sorts:\n%s", p)
	}
}

// TestSealedByKeyPlan: SealedByKey reads the kek_id index in order, so a
// small limit (the server's start asks for one value per key) reads that
// many rows instead of sorting every value wrapped by the key.
func TestSealedByKeyPlan(t *testing.T) {
	s := mustOpen(t, filepath.Join(t.TempDir(), "rotor.db"))
	for i, q := range sqlite.SealedByKeyQueries {
		plan, err := sqlite.QueryPlan(s, q, "kind", "kek", 1)
		if err != nil {
			t.Fatal(err)
		}
		p := strings.Join(plan, "\n")
		if want := []string{"versions_kek_id", "access_keys_kek_id"}[i]; !strings.Contains(p, "SEARCH") || !strings.Contains(p, want) {
			t.Errorf("plan of SealedByKey query %d does not search %s:\n%s", i, want, p)
		}
		if strings.Contains(p, "TEMP B-TREE") || strings.Contains(p, "SCAN") {
			t.Errorf("plan of SealedByKey query %d sorts or scans:\n%s", i, p)
		}
	}
}
