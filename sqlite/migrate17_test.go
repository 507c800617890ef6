package sqlite_test

import (
	"context"
	"fmt"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rotorhq/rotor"
	"github.com/rotorhq/rotor/sqlite"
)

// TestMigrationLabelsBySid builds a store as migration 0016 left it, with
// labels, label history, sealed, binary and placeholder versions, a
// deleted version (a gap in its secret's range) and a deleted secret,
// applies 0017, and checks that everything is kept (sids, vkeys, values,
// labels, history and its numbering, tags), that the store's writes and
// errors work on the new keys, and that the schema still enforces the
// invariants of 0001, 0010, 0015 and 0016 against raw SQL.
func TestMigrationLabelsBySid(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rotor.db")
	if err := sqlite.MigrateTo(path, 16); err != nil {
		t.Fatal(err)
	}
	other, gone := arn+"-other", arn+"-gone"
	db := mustRaw(t, path)
	db.SetMaxOpenConns(1)
	ver := func(a string, seq int, cols, vals string) string {
		return `INSERT INTO versions (vkey, secret_arn, ` + cols + `) VALUES ((SELECT sid << 32 FROM secrets WHERE arn = '` + a + `') + ` +
			fmt.Sprint(seq) + `, '` + a + `', ` + vals + `)`
	}
	stage := func(a, st, id string) string {
		return `INSERT INTO stages (secret_arn, stage, version_id) VALUES ('` + a + `', '` + st + `', '` + id + `')`
	}
	event := func(a string, n int, st, id string) string {
		return fmt.Sprintf(`INSERT INTO stage_history (secret_arn, n, stage, version_id, at) VALUES ('%s', %d, '%s', '%s', %d)`, a, n, st, id, 10+n)
	}
	execAll(t, db,
		`PRAGMA foreign_keys = ON`,
		`INSERT INTO secrets (arn, region, name) VALUES ('`+other+`', 'r', 'o')`,
		`INSERT INTO secrets (arn, region, name) VALUES ('`+gone+`', 'r', 'g')`,
		`INSERT INTO secrets (arn, region, name, tags_ever_set, tag_text) VALUES ('`+arn+`', 'r', 's', TRUE, char(30) || 'k' || char(31) || 'v')`,
		`INSERT INTO tags (secret_arn, position, key, value) VALUES ('`+arn+`', 0, 'k', 'v')`,
		ver(other, 1, `id, kek_id, wrapped_key, ciphertext, created_date`, `'o1', 'k', x'03', x'0c', 1`),
		ver(gone, 1, `id, kek_id, wrapped_key, ciphertext, created_date`, `'g1', 'k', x'04', x'0d', 1`),
		// v1 and v2 tie on created_date: vkey order decides.
		ver(arn, 1, `id, kek_id, wrapped_key, ciphertext, created_date`, `'v1', 'k', x'01', x'0a', 5`),
		ver(arn, 2, `id, kek_id, wrapped_key, ciphertext, is_binary, created_date`, `'v2', 'k2', x'02', x'00ff', TRUE, 5`),
		ver(arn, 3, `id, created_date`, `'gap', 6`),
		ver(arn, 4, `id, created_date, last_accessed_date`, `'p', 7, 8`),
		stage(arn, "AWSPREVIOUS", "v1"),
		stage(arn, "AWSCURRENT", "v2"),
		stage(arn, "CUSTOM", "v2"),
		stage(arn, "AWSPENDING", "p"),
		stage(arn, "G", "gap"),
		stage(other, "AWSCURRENT", "o1"),
		stage(gone, "AWSCURRENT", "g1"),
		event(arn, 1, "AWSCURRENT", "v1"),
		event(arn, 2, "AWSCURRENT", "v2"),
		event(arn, 3, "AWSPREVIOUS", "v1"),
		event(other, 1, "AWSCURRENT", "o1"),
		event(gone, 1, "AWSCURRENT", "g1"),
		`DELETE FROM versions WHERE secret_arn = '`+arn+`' AND id = 'gap'`,
		`DELETE FROM secrets WHERE arn = '`+gone+`'`,
	)
	keys := func() string { // every secret's sid and its versions' vkeys
		t.Helper()
		var out []string
		rows, err := db.Query(`SELECT s.arn || ':' || s.sid || ':' || COALESCE((SELECT group_concat(v.vkey - (s.sid << 32)) FROM versions v
			WHERE v.vkey BETWEEN s.sid << 32 AND (s.sid << 32) + 4294967295), '') FROM secrets s ORDER BY s.arn`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		for rows.Next() {
			var k string
			if err := rows.Scan(&k); err != nil {
				t.Fatal(err)
			}
			out = append(out, k)
		}
		return strings.Join(out, " ")
	}
	before := keys()
	db.Close()

	s := mustOpen(t, path) // applies 0017
	ctx := context.Background()
	versions := func(a string) []*rotor.VersionRecord {
		t.Helper()
		var vs []*rotor.VersionRecord
		view(t, s, func(tx rotor.Tx) (err error) {
			vs, err = tx.Versions(a)
			return err
		})
		_, read, err := s.ReadSecretARN(ctx, a)
		if err != nil || !reflect.DeepEqual(read, vs) {
			t.Errorf("ReadSecretARN(%s) = %s, %v; Versions %s", a, describe(read), err, describe(vs))
		}
		view(t, s, func(tx rotor.Tx) error {
			m, err := tx.VersionsOf([]string{a, "arn:missing"})
			if err != nil || !reflect.DeepEqual(m[a], vs) || len(m) != min(1, len(vs)) {
				t.Errorf("VersionsOf(%s) = %v, %v; Versions %s", a, m, err, describe(vs))
			}
			return nil
		})
		return vs
	}
	history := func(a string) string {
		t.Helper()
		var evs []rotor.StageEvent
		view(t, s, func(tx rotor.Tx) (err error) {
			evs, err = tx.StageHistory(a, 0)
			return err
		})
		var out []string
		for _, ev := range evs {
			out = append(out, fmt.Sprintf("%s>%s@%d", ev.Stage, ev.VersionID, ev.Time.UnixNano()))
		}
		return strings.Join(out, " ")
	}

	vs := versions(arn)
	if got, want := describe(vs), "v1[AWSPREVIOUS] v2[AWSCURRENT CUSTOM] p[AWSPENDING]"; got != want {
		t.Errorf("after the migration: %s, want %s", got, want)
	}
	if len(vs) == 3 && (string(vs[0].Value.Ciphertext) != "\x0a" || vs[0].Binary || !vs[1].Binary || string(vs[1].Value.Ciphertext) != "\x00\xff" ||
		vs[1].Value.KeyID != "k2" || vs[2].Value != nil || vs[2].LastAccessedDate.UnixNano() != 8) {
		t.Errorf("values after the migration: %+v %+v %+v", vs[0], vs[1], vs[2])
	}
	if got, want := describe(versions(other)), "o1[AWSCURRENT]"; got != want {
		t.Errorf("other after the migration: %s, want %s", got, want)
	}
	if got, want := history(arn), "AWSCURRENT>v1@11 AWSCURRENT>v2@12 AWSPREVIOUS>v1@13"; got != want {
		t.Errorf("history after the migration: %s, want %s", got, want)
	}
	if got, want := history(other), "AWSCURRENT>o1@11"; got != want {
		t.Errorf("other's history after the migration: %s, want %s", got, want)
	}
	if rec, _, err := s.ReadSecretARN(ctx, arn); err != nil || !reflect.DeepEqual(rec.Tags, []rotor.Tag{{Key: "k", Value: "v"}}) {
		t.Errorf("tags after the migration: %+v, %v", rec, err)
	}
	view(t, s, func(tx rotor.Tx) error {
		refs, err := tx.SealedByKey("k", 0)
		var got []string
		for _, r := range refs {
			got = append(got, r.SecretARN+"/"+r.ID)
		}
		if want := []string{other + "/o1", arn + "/v1"}; err != nil || !slices.Equal(got, want) {
			t.Errorf("SealedByKey = %v, %v; want %v", got, err, want)
		}
		if v, err := tx.Version(arn, "v2"); err != nil || !slices.Equal(v.Stages, []string{"AWSCURRENT", "CUSTOM"}) {
			t.Errorf("Version(v2) = %+v, %v", v, err)
		}
		if _, err := tx.Version(arn, "o1"); rotor.ErrorCode(err) != rotor.ENOTFOUND {
			t.Errorf("Version of another secret's version id: %v, want ENOTFOUND", err)
		}
		return nil
	})

	// Writes on the new keys: a version takes the next seq (5: after the
	// largest, not the deleted one's), labels move, history numbers on.
	update(t, s, func(tx rotor.Tx) error {
		if err := tx.CreateVersion(arn, &rotor.VersionRecord{ID: "v5", CreatedDate: time.Unix(0, 9).UTC(),
			Value: &rotor.Sealed{KeyID: "k", WrappedKey: []byte{5}, Ciphertext: []byte{6}}}); err != nil {
			return err
		}
		if err := tx.SetStage(arn, "AWSCURRENT", "v5"); err != nil {
			return err
		}
		if err := tx.SetStage(arn, "AWSPREVIOUS", "v2"); err != nil {
			return err
		}
		if err := tx.RemoveStage(arn, "CUSTOM"); err != nil {
			return err
		}
		if err := tx.FillVersion(arn, "p", rotor.Sealed{KeyID: "k", WrappedKey: []byte{7}, Ciphertext: []byte{8}}, false); err != nil {
			return err
		}
		if err := tx.DeleteVersions(arn, []string{"v1"}); err != nil {
			return err
		}
		if err := tx.SetLastAccessed(arn, "v2", time.Unix(0, 100).UTC()); err != nil {
			return err
		}
		if err := tx.ReplaceSealed(rotor.SealedRef{Kind: rotor.SealedVersion, SecretARN: arn, ID: "v2"},
			rotor.Sealed{KeyID: "k3", WrappedKey: []byte{9}, Ciphertext: []byte{0, 0xff}}); err != nil {
			return err
		}
		return tx.AddStageEvents(arn, []rotor.StageEvent{{Stage: "AWSCURRENT", VersionID: "v5", Time: time.Unix(0, 20)}})
	})
	if got, want := describe(versions(arn)), "v2[AWSPREVIOUS] p[AWSPENDING] v5[AWSCURRENT]"; got != want {
		t.Errorf("after writes: %s, want %s", got, want)
	}
	if got, want := history(arn), "AWSCURRENT>v1@11 AWSCURRENT>v2@12 AWSPREVIOUS>v1@13 AWSCURRENT>v5@20"; got != want {
		t.Errorf("history after writes: %s, want %s", got, want)
	}
	// Errors: a missing secret or version is ENOTFOUND, a taken id EEXISTS,
	// and a failed write changes nothing.
	for name, fn := range map[string]func(tx rotor.Tx) error{
		"CreateVersion of a missing secret":  func(tx rotor.Tx) error { return tx.CreateVersion("arn:missing", &rotor.VersionRecord{ID: "x"}) },
		"SetStage on a missing version":      func(tx rotor.Tx) error { return tx.SetStage(arn, "AWSCURRENT", "o1") },
		"SetStage of a missing secret":       func(tx rotor.Tx) error { return tx.SetStage("arn:missing", "AWSCURRENT", "v5") },
		"AddStageEvents of a missing secret": func(tx rotor.Tx) error { return tx.AddStageEvents("arn:missing", []rotor.StageEvent{{Stage: "A"}}) },
		"DeleteVersions of another's id":     func(tx rotor.Tx) error { return tx.DeleteVersions(arn, []string{"v5", "o1"}) },
		"FillVersion of a missing version":   func(tx rotor.Tx) error { return tx.FillVersion(arn, "o1", rotor.Sealed{KeyID: "k"}, false) },
		"SetLastAccessed of a missing":       func(tx rotor.Tx) error { return tx.SetLastAccessed(arn, "v1", time.Unix(0, 1)) },
		"RemoveStage of a missing secret":    func(tx rotor.Tx) error { return tx.RemoveStage("arn:missing", "AWSCURRENT") },
	} {
		if err := s.Update(ctx, fn); rotor.ErrorCode(err) != rotor.ENOTFOUND {
			t.Errorf("%s: %v, want ENOTFOUND", name, err)
		}
	}
	if err := s.Update(ctx, func(tx rotor.Tx) error { return tx.CreateVersion(arn, &rotor.VersionRecord{ID: "v5"}) }); rotor.ErrorCode(err) != rotor.EEXISTS {
		t.Errorf("CreateVersion of a taken id: %v, want EEXISTS", err)
	}
	if got, want := describe(versions(arn)), "v2[AWSPREVIOUS] p[AWSPENDING] v5[AWSCURRENT]"; got != want {
		t.Errorf("after failed writes: %s, want %s", got, want)
	}
	s.Close()

	db = mustRaw(t, path)
	db.SetMaxOpenConns(1)
	if _, err := db.Exec(`PRAGMA foreign_keys = ON`); err != nil {
		t.Fatal(err)
	}
	if got, want := keys(), strings.Replace(before, ":1,2,4", ":2,4,5", 1); got != want {
		t.Errorf("sids and seqs: %s, want %s (before the migration and writes: %s)", got, want, before)
	}
	sid := sidSQL
	for _, q := range []string{
		`INSERT INTO versions (vkey, sid, id) VALUES (` + fmt.Sprint(int64(999)<<32|1) + `, 999, 'no secret')`,
		`INSERT INTO versions (vkey, sid, id) VALUES ((` + sid(other) + ` << 32) + 9, ` + sid(arn) + `, 'elsewhere')`,
		`INSERT INTO versions (vkey, sid, id) VALUES (` + sid(arn) + ` << 32, ` + sid(arn) + `, 'seq0')`,
		`INSERT INTO versions (sid, id) VALUES (` + sid(arn) + `, 'auto')`,
		`INSERT INTO versions (vkey, sid, id) VALUES ((` + sid(arn) + ` << 32) + 99, ` + sid(arn) + `, 'v5')`, // a taken id
		`UPDATE versions SET vkey = vkey + 1 WHERE id = 'v5'`,
		`UPDATE versions SET sid = ` + sid(other) + ` WHERE id = 'v5'`,
		`UPDATE versions SET ciphertext = x'00' WHERE id = 'v5'`,
		`INSERT INTO stages (sid, stage, version_id) VALUES (` + sid(arn) + `, 'X', 'o1')`, // another secret's version
		`INSERT INTO stages (sid, stage, version_id) VALUES (` + sid(arn) + `, 'AWSCURRENT', 'p')`,
		`INSERT INTO stage_history (sid, n, stage, version_id, at) VALUES (999, 1, 'A', '', 0)`,
		`INSERT INTO stage_history (sid, n, stage, version_id, at) VALUES (` + sid(arn) + `, 4, 'A', '', 0)`,
	} {
		if _, err := db.Exec(q); err == nil {
			t.Errorf("raw %q succeeded, want a refusal", q)
		}
	}
	execAll(t, db,
		`UPDATE stages SET version_id = 'v2' WHERE sid = `+sid(arn)+` AND stage = 'AWSPENDING'`,
		`UPDATE stages SET stage = 'Q' WHERE sid = `+sid(arn)+` AND stage = 'AWSCURRENT'`,
		`INSERT INTO stages (sid, stage, version_id) VALUES (`+sid(arn)+`, 'N', 'p')`,
		`DELETE FROM versions WHERE sid = `+sid(arn)+` AND id = 'v2'`, // takes its labels
	)
	for q, want := range map[string]int{
		`SELECT COUNT(*) FROM versions v WHERE v.vkey >> 32 <> v.sid OR v.vkey & 4294967295 = 0`: 0,
		`SELECT COUNT(*) FROM versions v WHERE length(labels) <> COALESCE((SELECT SUM(length(length(CAST(stage AS BLOB)) || ':' || stage))
			FROM stages st WHERE st.sid = v.sid AND st.version_id = v.id), 0)
			OR EXISTS (SELECT 1 FROM stages st WHERE st.sid = v.sid AND st.version_id = v.id
				AND instr(v.labels, length(CAST(stage AS BLOB)) || ':' || stage) = 0)`: 0,
		`SELECT COUNT(*) FROM stages WHERE sid = ` + sid(arn):                                                                                   2, // N and Q
		`SELECT COUNT(*) FROM pragma_table_info('versions') WHERE name = 'secret_arn'`:                                                          0,
		`SELECT COUNT(*) FROM pragma_table_info('stages') WHERE name = 'secret_arn'`:                                                            0,
		`SELECT COUNT(*) FROM pragma_table_info('stage_history') WHERE name = 'secret_arn'`:                                                     0,
		`SELECT COUNT(*) FROM sqlite_master WHERE name LIKE '%_new'`:                                                                            0,
		`SELECT COUNT(*) FROM sqlite_master WHERE sql LIKE '%octet_length%' OR sql LIKE '%group_concat(%ORDER BY%'`:                             0,
		`SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND sql LIKE '%WITHOUT ROWID' AND name IN ('stages', 'stage_history', 'tags')`: 3,
		`SELECT COUNT(*) FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'versions'`:                                                   3,
		`SELECT COUNT(*) FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'stages'`:                                                     3,
		`SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND tbl_name IN ('versions', 'stages', 'stage_history')
			AND name NOT LIKE 'sqlite_autoindex%'`: 1, // versions_kek_id
		`SELECT COUNT(*) FROM pragma_foreign_key_check`: 0,
	} {
		var n int
		if err := db.QueryRow(q).Scan(&n); err != nil || n != want {
			t.Errorf("%s = %d, %v; want %d", q, n, err, want)
		}
	}
	// Deleting a secret takes its versions, labels and history with it.
	var arnSid, otherSid int64
	if err := db.QueryRow(`SELECT `+sid(arn)+`, `+sid(other)).Scan(&arnSid, &otherSid); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`DELETE FROM secrets WHERE arn = '` + arn + `'`); err != nil {
		t.Fatal(err)
	}
	count := `SELECT (SELECT COUNT(*) FROM versions WHERE sid = ?1) + (SELECT COUNT(*) FROM stages WHERE sid = ?1)
		+ (SELECT COUNT(*) FROM stage_history WHERE sid = ?1)`
	var n, m int
	if err := db.QueryRow(count, arnSid).Scan(&n); err != nil || n != 0 {
		t.Errorf("after deleting the secret: %d rows of it left, %v", n, err)
	}
	if err := db.QueryRow(count, otherSid).Scan(&m); err != nil || m != 3 {
		t.Errorf("after deleting the secret: the other has %d rows, %v; want 3", m, err)
	}
}

// TestSidKeyedPlans checks that the statements on versions, stages and
// stage_history by a secret's ARN (migration 0017) look its sid up by the
// ARN's index and then search by it, and that the statements the labels
// triggers and the cascades from secrets and versions run do too: none
// scans a table or sorts.
func TestSidKeyedPlans(t *testing.T) {
	s := mustOpen(t, filepath.Join(t.TempDir(), "rotor.db"))
	queries := map[string]struct {
		SQL  string
		Args []any
	}{
		// The labels triggers' statements, and the cascades' searches.
		"labels of version": {sqlite.LabelsOfVersionQuery, []any{arn, "v"}},
		"labels update":     {`UPDATE versions SET labels = labels || 'x' WHERE sid = ? AND id = ?`, []any{1, "v"}},
		"versions cascade":  {`SELECT 1 FROM versions WHERE sid = ?`, []any{1}},
		"stages cascade":    {`SELECT 1 FROM stages WHERE sid = ? AND version_id = ?`, []any{1, "v"}},
		"history cascade":   {`SELECT 1 FROM stage_history WHERE sid = ?`, []any{1}},
	}
	for name, q := range sqlite.SidKeyedQueries {
		queries[name] = q
	}
	for name, q := range queries {
		plan, err := sqlite.QueryPlan(s, q.SQL, q.Args...)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		p := strings.Join(plan, "\n")
		// (An INSERT of plain values, SetStage's, has no plan to show: its
		// conflict target is the primary key.)
		if strings.Contains(p, "SCAN") || strings.Contains(p, "TEMP B-TREE") || p != "" && !strings.Contains(p, "SEARCH") ||
			p == "" && !strings.HasPrefix(q.SQL, "INSERT INTO stages") {
			t.Errorf("plan of %s scans or sorts:\n%s", name, p)
		}
		if strings.Contains(q.SQL, "arn = ?") && !strings.Contains(p, "sqlite_autoindex_secrets_1 (arn=?)") {
			t.Errorf("plan of %s does not search the secret by ARN:\n%s", name, p)
		}
		if (strings.Contains(q.SQL, "sid = ?") || strings.Contains(q.SQL, "sid = (SELECT")) && !strings.Contains(p, "(sid=?") {
			t.Errorf("plan of %s does not search by sid:\n%s", name, p)
		}
	}
}

// TestSidNotedPerTransaction: a transaction keeps the sids of the secrets
// it read or created (Tx methods name secrets by ARN), and a secret
// deleted and created again with the same ARN in that transaction is the
// new one to every later statement, the deleted one to none.
func TestSidNotedPerTransaction(t *testing.T) {
	s := mustOpen(t, filepath.Join(t.TempDir(), "rotor.db"))
	a, b := arn, arn+"-b"
	update(t, s, func(tx rotor.Tx) error {
		if err := tx.CreateSecret(&rotor.SecretRecord{ARN: a, Region: "r", Name: "a"}); err != nil {
			return err
		}
		if err := tx.CreateVersion(a, &rotor.VersionRecord{ID: "old"}); err != nil {
			return err
		}
		return tx.SetStage(a, "AWSCURRENT", "old")
	})
	ctx := context.Background()
	err := s.Update(ctx, func(tx rotor.Tx) error {
		if _, err := tx.Secret(a); err != nil { // notes a's sid
			return err
		}
		if err := tx.DeleteSecret(a); err != nil {
			return err
		}
		for name, err := range map[string]error{
			"RemoveStage":    tx.RemoveStage(a, "AWSCURRENT"),
			"AddStageEvents": tx.AddStageEvents(a, nil),
			"CreateVersion":  tx.CreateVersion(a, &rotor.VersionRecord{ID: "x"}),
			"SetStage":       tx.SetStage(a, "AWSCURRENT", "old"),
		} {
			if rotor.ErrorCode(err) != rotor.ENOTFOUND {
				t.Errorf("%s of the deleted secret: %v, want ENOTFOUND", name, err)
			}
		}
		if _, err := tx.StageHistory(a, 0); rotor.ErrorCode(err) != rotor.ENOTFOUND {
			t.Errorf("StageHistory of the deleted secret: %v, want ENOTFOUND", err)
		}
		// b takes the next sid, then a again the one after: not its old one.
		if err := tx.CreateSecret(&rotor.SecretRecord{ARN: b, Region: "r", Name: "b"}); err != nil {
			return err
		}
		if err := tx.CreateSecret(&rotor.SecretRecord{ARN: a, Region: "r", Name: "a"}); err != nil {
			return err
		}
		if err := tx.CreateVersion(a, &rotor.VersionRecord{ID: "new"}); err != nil {
			return err
		}
		if err := tx.SetStage(a, "AWSCURRENT", "new"); err != nil {
			return err
		}
		return tx.AddStageEvents(a, []rotor.StageEvent{{Stage: "AWSCURRENT", VersionID: "new", Time: time.Unix(0, 1)}})
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, vs, err := s.ReadSecretARN(ctx, a); err != nil || describe(vs) != "new[AWSCURRENT]" {
		t.Errorf("the secret created again: %s, %v; want new[AWSCURRENT]", describe(vs), err)
	}
	if _, vs, err := s.ReadSecretARN(ctx, b); err != nil || len(vs) != 0 {
		t.Errorf("the other secret: %s, %v; want no versions", describe(vs), err)
	}
	view(t, s, func(tx rotor.Tx) error {
		evs, err := tx.StageHistory(a, 0)
		if err != nil || len(evs) != 1 || evs[0].VersionID != "new" {
			t.Errorf("history of the secret created again: %+v, %v", evs, err)
		}
		return nil
	})
}
