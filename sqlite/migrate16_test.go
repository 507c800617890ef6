package sqlite_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rotorhq/rotor"
	"github.com/rotorhq/rotor/sqlite"
)

// TestMigrationFewerWritePages builds a store as migration 0015 left it,
// applies 0016, and checks what it keeps: the label history, numbered as
// before and appended after; the labels column equal to what stages says
// through raw inserts, moves, renames, no-op updates and deletes of
// labels (the triggers now append instead of recomputing); the cascades
// from secrets and versions; and plans that search rather than scan.
func TestMigrationFewerWritePages(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rotor.db")
	if err := sqlite.MigrateTo(path, 15); err != nil {
		t.Fatal(err)
	}
	other := arn + "-other"
	db := mustRaw(t, path)
	execAll(t, db,
		`INSERT INTO secrets (arn, region, name) VALUES ('`+other+`', 'r', 'o')`,
		`INSERT INTO secrets (arn, region, name) VALUES ('`+arn+`', 'r', 's')`,
		`INSERT INTO versions (vkey, secret_arn, id, kek_id, wrapped_key, ciphertext, created_date) VALUES ((SELECT sid << 32 FROM secrets WHERE arn = '`+arn+`') + 1, '`+arn+`', 'v1', 'k', x'01', x'0a', 5)`,
		`INSERT INTO versions (vkey, secret_arn, id, created_date) VALUES ((SELECT sid << 32 FROM secrets WHERE arn = '`+arn+`') + 2, '`+arn+`', 'p', 6)`,
		`INSERT INTO versions (vkey, secret_arn, id, created_date) VALUES ((SELECT sid << 32 FROM secrets WHERE arn = '`+other+`') + 1, '`+other+`', 'o1', 1)`,
		`INSERT INTO stages (secret_arn, stage, version_id) VALUES ('`+arn+`', 'AWSCURRENT', 'v1')`,
		`INSERT INTO stages (secret_arn, stage, version_id) VALUES ('`+arn+`', 'AWSPENDING', 'p')`,
		`INSERT INTO stage_history (secret_arn, n, stage, version_id, at) VALUES ('`+arn+`', 1, 'AWSCURRENT', 'v1', 10)`,
		`INSERT INTO stage_history (secret_arn, n, stage, version_id, at) VALUES ('`+arn+`', 2, 'AWSPENDING', 'p', 11)`,
		`INSERT INTO stage_history (secret_arn, n, stage, version_id, at) VALUES ('`+other+`', 1, 'X', '', 12)`,
	)
	db.Close()

	s := mustOpen(t, path) // applies 0016
	history := func(a string) string {
		t.Helper()
		var evs []rotor.StageEvent
		view(t, s, func(tx rotor.Tx) (err error) {
			evs, err = tx.StageHistory(a, 0)
			return err
		})
		var out []string
		for _, ev := range evs {
			out = append(out, ev.Stage+">"+ev.VersionID+"@"+ev.Time.Format("05.000000000"))
		}
		return strings.Join(out, " ")
	}
	if got, want := history(arn), "AWSCURRENT>v1@00.000000010 AWSPENDING>p@00.000000011"; got != want {
		t.Errorf("history after the migration: %s, want %s", got, want)
	}
	update(t, s, func(tx rotor.Tx) error {
		return tx.AddStageEvents(arn, []rotor.StageEvent{{Stage: "AWSCURRENT", VersionID: "p", Time: time.Unix(0, 13)}})
	})
	if got, want := history(arn), "AWSCURRENT>v1@00.000000010 AWSPENDING>p@00.000000011 AWSCURRENT>p@00.000000013"; got != want {
		t.Errorf("history after an append: %s, want %s", got, want)
	}
	if got, want := history(other), "X>@00.000000012"; got != want {
		t.Errorf("history of the other secret: %s, want %s", got, want)
	}
	update(t, s, func(tx rotor.Tx) error {
		if err := tx.SetStage(arn, "AWSCURRENT", "p"); err != nil { // a move
			return err
		}
		if err := tx.SetStage(arn, "AWSPREVIOUS", "v1"); err != nil { // an insert
			return err
		}
		if err := tx.SetStage(arn, "AWSPREVIOUS", "v1"); err != nil { // a no-op update
			return err
		}
		return tx.RemoveStage(arn, "AWSPENDING")
	})
	if _, vs, _ := s.ReadSecretARN(context.Background(), arn); describe(vs) != "v1[AWSPREVIOUS] p[AWSCURRENT]" {
		t.Errorf("after writes: %s", describe(vs))
	}
	for i, q := range []struct {
		sql  string
		args []any
	}{{sqlite.AddStageEventQuery, []any{arn, "a", "b", 1}}, {sqlite.LabelsOfVersionQuery, []any{arn, "v1"}}} {
		plan, err := sqlite.QueryPlan(s, q.sql, q.args...)
		if err != nil {
			t.Fatal(err)
		}
		p := strings.Join(plan, "\n")
		if strings.Contains(p, "SCAN") || strings.Contains(p, "TEMP B-TREE") || !strings.Contains(p, "USING PRIMARY KEY (sid=?") {
			t.Errorf("plan of query %d scans or sorts:\n%s", i, p)
		}
	}
	s.Close()

	db = mustRaw(t, path)
	if _, err := db.Exec(`PRAGMA foreign_keys = ON`); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`INSERT INTO stages (sid, stage, version_id) VALUES (` + sidSQL(arn) + `, 'B', 'v1')`,
		`UPDATE stages SET version_id = 'p' WHERE sid = ` + sidSQL(arn) + ` AND stage = 'B'`,               // a move
		`UPDATE stages SET stage = 'C' WHERE sid = ` + sidSQL(arn) + ` AND stage = 'B'`,                    // a rename on one version
		`UPDATE stages SET stage = 'C' WHERE sid = ` + sidSQL(arn) + ` AND stage = 'C'`,                    // a no-op
		`UPDATE stages SET stage = 'D', version_id = 'v1' WHERE sid = ` + sidSQL(arn) + ` AND stage = 'C'`, // both
		`INSERT INTO stages (sid, stage, version_id) VALUES (` + sidSQL(other) + `, 'O', 'o1')`,
		`INSERT INTO stages (sid, stage, version_id) VALUES (` + sidSQL(arn) + `, 'E', 'p')`,
		`DELETE FROM versions WHERE sid = ` + sidSQL(arn) + ` AND id = 'p'`, // cascades into its labels
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		// labels holds each label once, in any order: the same length
		// and every label in it.
		var bad int
		if err := db.QueryRow(`SELECT COUNT(*) FROM versions v WHERE length(labels) <> COALESCE((SELECT SUM(length(length(CAST(stage AS BLOB)) || ':' || stage))
			FROM stages st WHERE st.sid = v.sid AND st.version_id = v.id), 0)
			OR EXISTS (SELECT 1 FROM stages st WHERE st.sid = v.sid AND st.version_id = v.id
				AND instr(v.labels, length(CAST(stage AS BLOB)) || ':' || stage) = 0)`).Scan(&bad); err != nil || bad != 0 {
			t.Errorf("after %s: %d versions whose labels are not what stages says, %v", q, bad, err)
		}
	}
	for q, want := range map[string]int{
		`SELECT length(labels) FROM versions WHERE id = 'v1'`:                                                       len("11:AWSPREVIOUS1:D"),
		`SELECT COUNT(*) FROM stages WHERE version_id = 'p'`:                                                        0,
		`SELECT COUNT(*) FROM sqlite_master WHERE name IN ('stages_version', 'stage_history_new')`:                  0,
		`SELECT COUNT(*) FROM sqlite_master WHERE name = 'stage_history' AND sql LIKE '%WITHOUT ROWID%'`:            1,
		`SELECT COUNT(*) FROM sqlite_master WHERE sql LIKE '%octet_length%' OR sql LIKE '%group_concat(%ORDER BY%'`: 0,
		`SELECT COUNT(*) FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'stages'`:                         3,
		`SELECT COUNT(*) FROM pragma_foreign_key_check`:                                                             0,
	} {
		var n int
		if err := db.QueryRow(q).Scan(&n); err != nil || n != want {
			t.Errorf("%s = %d, %v; want %d", q, n, err, want)
		}
	}
	// Deleting a secret takes its history, versions and labels with it.
	var sid, otherSid int64
	if err := db.QueryRow(`SELECT `+sidSQL(arn)+`, `+sidSQL(other)).Scan(&sid, &otherSid); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`DELETE FROM secrets WHERE arn = '` + arn + `'`); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := db.QueryRow(`SELECT (SELECT COUNT(*) FROM stage_history WHERE sid = ?) + (SELECT COUNT(*) FROM versions WHERE sid = ?)
		+ (SELECT COUNT(*) FROM stages WHERE sid = ?) - (SELECT COUNT(*) FROM stage_history WHERE sid = ?)`, sid, sid, sid, otherSid).Scan(&n); err != nil || n != -1 {
		t.Errorf("after deleting the secret: %d (want -1: nothing of it left, the other's one event kept), %v", n, err)
	}
}

// sidSQL is the SQL of the sid of the secret a (a scalar subquery), for
// raw statements on the tables keyed by sid (migration 0017).
func sidSQL(a string) string { return `(SELECT sid FROM secrets WHERE arn = '` + a + `')` }
