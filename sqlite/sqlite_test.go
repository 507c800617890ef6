package sqlite_test

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rotorhq/rotor"
	"github.com/rotorhq/rotor/sqlite"
	"github.com/rotorhq/rotor/storetest"
)

func TestStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) rotor.Store {
		return mustOpen(t, filepath.Join(t.TempDir(), "rotor.db"))
	})
}

// TestStoreListsPlans runs the ListSecrets conformance tests with each
// query plan forced: scanning the sort order's index for every filter, and
// starting from the candidates of a filter whenever one can (TestStore
// sees the choice the store makes, which on small fixtures is mostly the
// scan).
func TestStoreListsPlans(t *testing.T) {
	for _, plan := range []string{"never", "always"} {
		t.Run(plan, func(t *testing.T) {
			defer sqlite.SetDrivePlan(plan)()
			storetest.RunLists(t, func(t *testing.T) rotor.Store {
				return mustOpen(t, filepath.Join(t.TempDir(), "rotor.db"))
			})
		})
	}
}

// mustOpen opens path and closes it when the test ends.
func mustOpen(t testing.TB, path string) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(path)
	if err != nil {
		t.Fatalf("Open(%s): %v", path, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// mustRaw opens path with database/sql directly, bypassing the store and
// its connection settings (no foreign_keys pragma).
func mustRaw(t testing.TB, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// execAll runs each statement on db in turn, failing the test at the
// first that fails.
func execAll(t testing.TB, db *sql.DB, stmts ...string) {
	t.Helper()
	for _, q := range stmts {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

func update(t testing.TB, s rotor.Store, fn func(tx rotor.Tx) error) {
	t.Helper()
	if err := s.Update(context.Background(), fn); err != nil {
		t.Fatalf("Update: %v", err)
	}
}

func view(t testing.TB, s rotor.Store, fn func(tx rotor.Tx) error) {
	t.Helper()
	if err := s.View(context.Background(), fn); err != nil {
		t.Fatalf("View: %v", err)
	}
}

var day0 = time.Date(2025, 6, 1, 12, 0, 0, 123456789, time.UTC)

const arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:fixture-AbCdEf"

// fixture stores one of everything: a tagged secret with a version (v1,
// AWSCURRENT), a placeholder (v2, AWSPENDING), and an identity with an
// access key.
func fixture(t testing.TB, s rotor.Store) {
	t.Helper()
	update(t, s, func(tx rotor.Tx) error {
		err := tx.CreateSecret(&rotor.SecretRecord{ARN: arn, Region: "us-east-1", Name: "fixture",
			Tags: []rotor.Tag{{Key: "team", Value: "core"}}, TagsEverSet: true, CreatedDate: day0})
		if err != nil {
			return err
		}
		v1 := &rotor.VersionRecord{ID: "v1", Value: &rotor.Sealed{KeyID: "kek", WrappedKey: []byte("wk1"), Ciphertext: []byte("ct1")}, CreatedDate: day0}
		if err := tx.CreateVersion(arn, v1); err != nil {
			return err
		}
		if err := tx.CreateVersion(arn, &rotor.VersionRecord{ID: "v2", CreatedDate: day0.Add(time.Hour)}); err != nil {
			return err
		}
		if err := tx.SetStage(arn, rotor.StageCurrent, "v1"); err != nil {
			return err
		}
		if err := tx.SetStage(arn, rotor.StagePending, "v2"); err != nil {
			return err
		}
		if err := tx.CreateIdentity(&rotor.IdentityRecord{Name: "admin", Role: rotor.RoleAdmin, CreatedDate: day0}); err != nil {
			return err
		}
		return tx.CreateAccessKey(&rotor.AccessKeyRecord{AccessKeyID: "AKIAFIXTURE00000001", Identity: "admin", Status: rotor.KeyActive,
			Secret: rotor.Sealed{KeyID: "kek", WrappedKey: []byte("wk-key"), Ciphertext: []byte("ct-key")}, CreatedDate: day0})
	})
}

// checkFixture fails t unless s holds exactly what fixture stored.
func checkFixture(t testing.TB, s rotor.Store) {
	t.Helper()
	view(t, s, func(tx rotor.Tx) error {
		sec, err := tx.Secret(arn)
		if err != nil {
			return err
		}
		if sec.Name != "fixture" || !sec.CreatedDate.Equal(day0) || len(sec.Tags) != 1 || sec.Tags[0] != (rotor.Tag{Key: "team", Value: "core"}) {
			t.Errorf("secret = %+v", sec)
		}
		vs, err := tx.Versions(arn)
		if err != nil {
			return err
		}
		if len(vs) != 2 || vs[0].ID != "v1" || vs[1].ID != "v2" {
			t.Fatalf("versions = %d", len(vs))
		}
		if vs[0].Value == nil || !bytes.Equal(vs[0].Value.Ciphertext, []byte("ct1")) || !slices.Equal(vs[0].Stages, []string{rotor.StageCurrent}) {
			t.Errorf("v1 = %+v", vs[0])
		}
		if vs[1].Value != nil || !slices.Equal(vs[1].Stages, []string{rotor.StagePending}) {
			t.Errorf("v2 = %+v, want a placeholder labelled AWSPENDING", vs[1])
		}
		k, err := tx.AccessKey("AKIAFIXTURE00000001")
		if err != nil {
			return err
		}
		if k.Identity != "admin" || !bytes.Equal(k.Secret.Ciphertext, []byte("ct-key")) {
			t.Errorf("access key = %+v", k)
		}
		return nil
	})
}

func TestPragmas(t *testing.T) {
	for _, c := range []struct {
		name string
		open func(path string) (*sqlite.Store, error)
		busy string
		mmap string
	}{
		{"Default", sqlite.Open, "5000", "0"},
		{"BusyTimeout", func(p string) (*sqlite.Store, error) {
			return sqlite.OpenWith(p, sqlite.Options{BusyTimeout: 1234 * time.Millisecond})
		}, "1234", "0"},
		{"MmapSize", func(p string) (*sqlite.Store, error) {
			return sqlite.OpenWith(p, sqlite.Options{MmapSize: 64 << 20})
		}, "5000", "67108864"},
	} {
		t.Run(c.name, func(t *testing.T) {
			s, err := c.open(filepath.Join(t.TempDir(), "rotor.db"))
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			got, err := sqlite.Pragmas(s)
			if err != nil {
				t.Fatal(err)
			}
			want := map[string]string{
				"writer.journal_mode": "wal", "writer.synchronous": "2", "writer.foreign_keys": "1",
				"writer.busy_timeout": c.busy, "writer.query_only": "0",
				"reader.journal_mode": "wal", "reader.foreign_keys": "1", "reader.busy_timeout": c.busy,
				"reader.query_only": "1", "reader.mmap_size": c.mmap,
			}
			for k, w := range want {
				if got[k] != w {
					t.Errorf("%s = %q, want %q", k, got[k], w)
				}
			}
		})
	}
}

// TestLabelUniqueEvenForRawSQL shows that the schema, not Go code, keeps a
// label on one version: a raw INSERT of a second row for a label fails.
func TestLabelUniqueEvenForRawSQL(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rotor.db")
	s := mustOpen(t, path)
	fixture(t, s)
	s.Close()

	db := mustRaw(t, path)
	for _, q := range []string{
		`INSERT INTO stages (secret_arn, stage, version_id) VALUES ('` + arn + `', 'AWSCURRENT', 'v2')`,
		`INSERT INTO stages (secret_arn, stage, version_id) VALUES ('` + arn + `', 'AWSCURRENT', 'v1')`,
		`UPDATE stages SET stage = 'AWSCURRENT' WHERE version_id = 'v2'`,
	} {
		if _, err := db.Exec(q); err == nil {
			t.Errorf("raw %q succeeded, want a constraint failure", q)
		}
	}
	db.Close()

	checkFixture(t, mustOpen(t, path))
}

// TestValueWrittenOnceEvenForRawSQL shows that the schema refuses any
// UPDATE that changes a stored ciphertext, while re-wrapping (kek_id,
// wrapped_key) and filling a placeholder stay possible.
func TestValueWrittenOnceEvenForRawSQL(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rotor.db")
	s := mustOpen(t, path)
	fixture(t, s)
	s.Close()

	db := mustRaw(t, path)
	for _, q := range []string{
		`UPDATE versions SET ciphertext = x'00' WHERE id = 'v1'`,
		`UPDATE versions SET ciphertext = NULL, kek_id = NULL, wrapped_key = NULL WHERE id = 'v1'`,
		`UPDATE versions SET ciphertext = ciphertext || x'00' WHERE id = 'v1'`,
		`UPDATE versions SET is_binary = TRUE WHERE id = 'v1'`,
		`UPDATE versions SET ciphertext = x'00'`, // placeholder included: all or nothing
		`UPDATE access_keys SET ciphertext = x'00'`,
	} {
		if _, err := db.Exec(q); err == nil {
			t.Errorf("raw %q succeeded, want the write-once trigger to abort it", q)
		}
	}
	for _, q := range []string{
		`UPDATE versions SET kek_id = 'kek-2', wrapped_key = x'0102' WHERE id = 'v1'`,
		`UPDATE access_keys SET kek_id = 'kek-2', wrapped_key = x'0102'`,
		`UPDATE versions SET ciphertext = ciphertext WHERE id = 'v1'`,
		`UPDATE versions SET kek_id = 'kek-2', wrapped_key = x'03', ciphertext = x'04' WHERE id = 'v2'`,
	} {
		if _, err := db.Exec(q); err != nil {
			t.Errorf("raw %q: %v, want it allowed", q, err)
		}
	}
	db.Close()

	s = mustOpen(t, path)
	view(t, s, func(tx rotor.Tx) error {
		vs, err := tx.Versions(arn)
		if err != nil {
			return err
		}
		want := []rotor.Sealed{
			{KeyID: "kek-2", WrappedKey: []byte{1, 2}, Ciphertext: []byte("ct1")},
			{KeyID: "kek-2", WrappedKey: []byte{3}, Ciphertext: []byte{4}},
		}
		for i, v := range vs {
			if v.Value == nil || v.Value.KeyID != want[i].KeyID || !bytes.Equal(v.Value.WrappedKey, want[i].WrappedKey) ||
				!bytes.Equal(v.Value.Ciphertext, want[i].Ciphertext) || v.Binary {
				t.Errorf("version %s = %+v %+v, want %+v", v.ID, v, v.Value, want[i])
			}
		}
		return nil
	})
	// The same guard reaches Tx callers as ESTATE.
	err := s.Update(context.Background(), func(tx rotor.Tx) error {
		return tx.FillVersion(arn, "v2", rotor.Sealed{KeyID: "k", WrappedKey: []byte("w"), Ciphertext: []byte("other")}, false)
	})
	if rotor.ErrorCode(err) != rotor.ESTATE {
		t.Errorf("FillVersion of a filled version: %v, want ESTATE", err)
	}
}

// TestDurable shows that what Update committed survives Close and reopen,
// and that Close can be called twice.
func TestDurable(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rotor.db")
	s, err := sqlite.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	fixture(t, s)
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if err := s.View(context.Background(), func(rotor.Tx) error { return nil }); rotor.ErrorCode(err) != rotor.EINTERNAL {
		t.Errorf("View after Close: %v, want EINTERNAL", err)
	}
	if err := s.Update(context.Background(), func(rotor.Tx) error { return nil }); rotor.ErrorCode(err) != rotor.EINTERNAL {
		t.Errorf("Update after Close: %v, want EINTERNAL", err)
	}
	checkFixture(t, mustOpen(t, path))
}

// TestEqualTimesKeepInsertionOrder checks the tie-break documented on
// Secrets and Versions.
func TestEqualTimesKeepInsertionOrder(t *testing.T) {
	s := mustOpen(t, filepath.Join(t.TempDir(), "rotor.db"))
	names := []string{"m", "z", "a", "q"}
	update(t, s, func(tx rotor.Tx) error {
		if err := tx.CreateSecret(&rotor.SecretRecord{ARN: arn, Region: "r", Name: "versions", CreatedDate: day0}); err != nil {
			return err
		}
		for _, n := range names {
			if err := tx.CreateSecret(&rotor.SecretRecord{ARN: arn + n, Region: "r", Name: n, CreatedDate: day0}); err != nil {
				return err
			}
			if err := tx.CreateVersion(arn, &rotor.VersionRecord{ID: n, CreatedDate: day0}); err != nil {
				return err
			}
		}
		return nil
	})
	view(t, s, func(tx rotor.Tx) error {
		secs, err := tx.Secrets("r")
		if err != nil {
			return err
		}
		var got []string
		for _, sec := range secs {
			got = append(got, sec.Name)
		}
		if want := append([]string{"versions"}, names...); !slices.Equal(got, want) {
			t.Errorf("Secrets order = %v, want %v", got, want)
		}
		vs, err := tx.Versions(arn)
		if err != nil {
			return err
		}
		got = got[:0]
		for _, v := range vs {
			got = append(got, v.ID)
		}
		if !slices.Equal(got, names) {
			t.Errorf("Versions order = %v, want %v", got, names)
		}
		return nil
	})
}

func migrationRows(t *testing.T, path string) []string {
	t.Helper()
	rows, err := mustRaw(t, path).Query(`SELECT version, name, applied_date FROM migrations ORDER BY version`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var v int
		var name string
		var applied int64
		if err := rows.Scan(&v, &name, &applied); err != nil {
			t.Fatal(err)
		}
		out = append(out, fmt.Sprintf("%d %s %d", v, name, applied))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestMigrationsAppliedOnce(t *testing.T) {
	files, err := filepath.Glob("migrations/*.sql")
	if err != nil || len(files) == 0 {
		t.Fatalf("no migration files: %v", err)
	}
	path := filepath.Join(t.TempDir(), "rotor.db")
	s := mustOpen(t, path)
	fixture(t, s)
	s.Close()
	first := migrationRows(t, path)
	if len(first) != len(files) {
		t.Fatalf("migrations table has %d rows, want %d (one per file): %v", len(first), len(files), first)
	}
	for i, f := range files {
		if want := fmt.Sprintf("%d %s ", i+1, filepath.Base(f)); len(first[i]) < len(want) || first[i][:len(want)] != want {
			t.Errorf("migration row %d = %q, want prefix %q", i, first[i], want)
		}
	}

	s = mustOpen(t, path)
	s.Close()
	if again := migrationRows(t, path); !slices.Equal(again, first) {
		t.Errorf("reopening changed the migrations table:\n%v\nwas\n%v", again, first)
	}
	checkFixture(t, mustOpen(t, path))
}

func TestOpenRefusesNewerDatabase(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rotor.db")
	mustOpen(t, path).Close()
	if _, err := mustRaw(t, path).Exec(`INSERT INTO migrations (version, name, applied_date) VALUES (9999, '9999_future.sql', 0)`); err != nil {
		t.Fatal(err)
	}
	s, err := sqlite.Open(path)
	if err == nil {
		s.Close()
		t.Fatal("Open of a database from a newer version succeeded")
	}
	if rotor.ErrorCode(err) != rotor.EINTERNAL {
		t.Errorf("Open: %v, want EINTERNAL", err)
	}
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	garbage := filepath.Join(dir, "garbage")
	if err := os.WriteFile(garbage, bytes.Repeat([]byte("not a database "), 512), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ name, path string }{
		{"EmptyPath", ""},
		{"MissingDirectory", filepath.Join(dir, "missing", "rotor.db")},
		{"NotADatabase", garbage},
	} {
		t.Run(c.name, func(t *testing.T) {
			s, err := sqlite.Open(c.path)
			if err == nil {
				s.Close()
				t.Fatal("Open succeeded")
			}
			if rotor.ErrorCode(err) != rotor.EINTERNAL {
				t.Errorf("Open: %v, want EINTERNAL", err)
			}
		})
	}
}

// TestOddPath opens a path full of characters that mean something in a URI.
func TestOddPath(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a dir#with?odd%20chars&x=y")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "rotor?mode=ro.db")
	s := mustOpen(t, path)
	fixture(t, s)
	s.Close()
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("database not created at the exact path: %v", err)
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if n := e.Name(); n != "rotor?mode=ro.db" && n != "rotor?mode=ro.db-wal" && n != "rotor?mode=ro.db-shm" {
			t.Errorf("unexpected file %q next to the database", n)
		}
	}
	checkFixture(t, mustOpen(t, path))
}

// TestBackupWhileWriting takes a backup while another goroutine keeps
// committing, then opens the backup: it holds everything committed before
// Backup began and only whole transactions.
func TestBackupWhileWriting(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, filepath.Join(dir, "rotor.db"))
	fixture(t, s)

	var committed atomic.Int64 // writes committed so far
	stop, started := make(chan struct{}), make(chan struct{})
	writerDone := make(chan error, 1)
	go func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				writerDone <- nil
				return
			default:
			}
			// Each transaction writes a secret and its version together.
			err := s.Update(context.Background(), func(tx rotor.Tx) error {
				a := fmt.Sprintf("%s-w%05d", arn, i)
				if err := tx.CreateSecret(&rotor.SecretRecord{ARN: a, Region: "w", Name: fmt.Sprintf("w%05d", i), CreatedDate: day0}); err != nil {
					return err
				}
				return tx.CreateVersion(a, &rotor.VersionRecord{ID: "v", Value: &rotor.Sealed{KeyID: "k", WrappedKey: []byte("w"), Ciphertext: []byte("c")}, CreatedDate: day0})
			})
			if err != nil {
				writerDone <- err
				return
			}
			if committed.Add(1) == 10 {
				close(started)
			}
		}
	}()
	select {
	case <-started:
	case err := <-writerDone:
		t.Fatalf("writer: %v", err)
	}

	before := committed.Load()
	path := filepath.Join(dir, "backup.db")
	if err := s.Backup(context.Background(), path); err != nil {
		t.Fatalf("Backup: %v", err)
	}
	after := committed.Load()
	close(stop)
	if err := <-writerDone; err != nil {
		t.Fatalf("writer: %v", err)
	}

	b := mustOpen(t, path)
	checkFixture(t, b)
	view(t, b, func(tx rotor.Tx) error {
		secs, err := tx.Secrets("w")
		if err != nil {
			return err
		}
		n := int64(len(secs))
		if n < before || n > after+1 {
			t.Errorf("backup holds %d writes, want between %d (committed before Backup) and %d", n, before, after+1)
		}
		for i, sec := range secs {
			if want := fmt.Sprintf("w%05d", i); sec.Name != want {
				t.Fatalf("backup secret %d is %s, want %s: the writes in it are not a prefix", i, sec.Name, want)
			}
			if vs, err := tx.Versions(sec.ARN); err != nil || len(vs) != 1 {
				t.Errorf("backup secret %s has %d versions (%v), want 1: a transaction was split", sec.Name, len(vs), err)
			}
		}
		return nil
	})
	var integrity string
	if err := mustRaw(t, path).QueryRow(`PRAGMA integrity_check`).Scan(&integrity); err != nil || integrity != "ok" {
		t.Errorf("backup integrity_check = %q, %v", integrity, err)
	}
}

func TestBackupErrors(t *testing.T) {
	dir := t.TempDir()
	s, err := sqlite.Open(filepath.Join(dir, "rotor.db"))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	existing := filepath.Join(dir, "existing")
	if err := os.WriteFile(existing, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ name, path, code string }{
		{"Empty", "", rotor.EINVALID},
		{"ExistingEmptyFile", existing, rotor.EINVALID},
		{"ExistingDirectory", dir, rotor.EINVALID},
		{"MissingDirectory", filepath.Join(dir, "missing", "backup.db"), rotor.EINVALID},
	} {
		t.Run(c.name, func(t *testing.T) {
			if err := s.Backup(ctx, c.path); rotor.ErrorCode(err) != c.code {
				t.Errorf("Backup(%q) = %v, want %s", c.path, err, c.code)
			}
		})
	}
	if fi, err := os.Stat(existing); err != nil || fi.Size() != 0 {
		t.Errorf("refused Backup changed the existing file: %v", err)
	}

	canceled, cancel := context.WithCancel(ctx)
	cancel()
	path := filepath.Join(dir, "canceled.db")
	if err := s.Backup(canceled, path); !errors.Is(err, context.Canceled) {
		t.Errorf("Backup(canceled ctx) = %v, want an error wrapping context.Canceled", err)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("failed Backup left a file behind: %v", err)
	}

	s.Close()
	path = filepath.Join(dir, "closed.db")
	if err := s.Backup(ctx, path); rotor.ErrorCode(err) != rotor.EINTERNAL {
		t.Errorf("Backup after Close = %v, want EINTERNAL", err)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("failed Backup left a file behind: %v", err)
	}
}

// TestErrorsAreClientSafe checks that store errors carry no stored bytes in
// their client-facing message.
func TestErrorsAreClientSafe(t *testing.T) {
	s := mustOpen(t, filepath.Join(t.TempDir(), "rotor.db"))
	fixture(t, s)
	for _, c := range []struct {
		name string
		code string
		fn   func(tx rotor.Tx) error
	}{
		{"DuplicateVersion", rotor.EEXISTS, func(tx rotor.Tx) error {
			return tx.CreateVersion(arn, &rotor.VersionRecord{ID: "v1", Value: &rotor.Sealed{KeyID: "kek", WrappedKey: []byte("SECRET-WRAPPED"), Ciphertext: []byte("SECRET-CIPHERTEXT")}})
		}},
		{"RefusedReplace", rotor.ESTATE, func(tx rotor.Tx) error {
			return tx.ReplaceSealed(rotor.SealedRef{Kind: rotor.SealedVersion, SecretARN: arn, ID: "v1"},
				rotor.Sealed{KeyID: "kek", WrappedKey: []byte("SECRET-WRAPPED"), Ciphertext: []byte("SECRET-CIPHERTEXT")})
		}},
		{"RefusedFill", rotor.ESTATE, func(tx rotor.Tx) error {
			return tx.FillVersion(arn, "v1", rotor.Sealed{KeyID: "kek", WrappedKey: []byte("SECRET-WRAPPED"), Ciphertext: []byte("SECRET-CIPHERTEXT")}, false)
		}},
		{"UnknownKind", rotor.EINTERNAL, func(tx rotor.Tx) error {
			return tx.ReplaceSealed(rotor.SealedRef{Kind: "bogus", ID: "x"}, rotor.Sealed{Ciphertext: []byte("SECRET-CIPHERTEXT")})
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := s.Update(context.Background(), c.fn)
			if rotor.ErrorCode(err) != c.code {
				t.Fatalf("err = %v, want %s", err, c.code)
			}
			msg := rotor.ErrorMessage(err)
			if msg == "" || bytes.Contains([]byte(msg), []byte("SECRET")) || bytes.Contains([]byte(msg), []byte("ct1")) {
				t.Errorf("message %q is empty or carries stored bytes", msg)
			}
		})
	}
}

// TestMigrationClusteredReads migrates a database written before 0012
// (labels and tags in rowid tables) and checks that every row survives
// with its order, that the constraints and cascades still hold, and that
// the two tables are clustered.
func TestMigrationClusteredReads(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rotor.db")
	if err := sqlite.MigrateTo(path, 11); err != nil {
		t.Fatal(err)
	}
	other := arn + "-other"
	db := mustRaw(t, path)
	execAll(t, db,
		`INSERT INTO secrets (arn, region, name, tags_ever_set, tag_text) VALUES ('`+arn+`', 'r', 's', TRUE, 'x')`,
		`INSERT INTO secrets (arn, region, name) VALUES ('`+other+`', 'r', 'o')`,
		// Same creation time: insertion order (then the rowid) decides, not the id.
		`INSERT INTO versions (secret_arn, id, kek_id, wrapped_key, ciphertext, created_date) VALUES ('`+arn+`', 'v-z', 'k', x'01', x'0a', 5)`,
		`INSERT INTO versions (secret_arn, id, kek_id, wrapped_key, ciphertext, created_date) VALUES ('`+arn+`', 'v-a', 'k', x'02', x'0b', 5)`,
		`INSERT INTO versions (secret_arn, id, created_date) VALUES ('`+arn+`', 'p', 3)`,
		`INSERT INTO versions (secret_arn, id, kek_id, wrapped_key, ciphertext, is_binary, created_date) VALUES ('`+other+`', 'o1', 'k', x'03', x'0c', TRUE, 1)`,
		`INSERT INTO stages (secret_arn, stage, version_id) VALUES ('`+arn+`', 'AWSCURRENT', 'v-a')`,
		`INSERT INTO stages (secret_arn, stage, version_id) VALUES ('`+arn+`', 'AWSPREVIOUS', 'v-z')`,
		`INSERT INTO stages (secret_arn, stage, version_id) VALUES ('`+arn+`', 'AWSPENDING', 'p')`,
		`INSERT INTO stages (secret_arn, stage, version_id) VALUES ('`+other+`', 'AWSCURRENT', 'o1')`,
		`INSERT INTO tags (secret_arn, position, key, value) VALUES ('`+arn+`', 1, 'second', '2')`,
		`INSERT INTO tags (secret_arn, position, key, value) VALUES ('`+arn+`', 0, 'first', '1')`,
	)
	db.Close()

	s := mustOpen(t, path) // applies 0008
	versions := func(of string) string {
		var got []string
		view(t, s, func(tx rotor.Tx) error {
			vs, err := tx.Versions(of)
			for _, v := range vs {
				got = append(got, fmt.Sprintf("%s%v", v.ID, v.Stages))
			}
			return err
		})
		return strings.Join(got, " ")
	}
	if got, want := versions(arn), "p[AWSPENDING] v-z[AWSPREVIOUS] v-a[AWSCURRENT]"; got != want {
		t.Errorf("versions after migration = %s, want %s", got, want)
	}
	rec, vs, err := s.ReadSecret(context.Background(), "r", "s")
	if err != nil || len(rec.Tags) != 2 || rec.Tags[0] != (rotor.Tag{Key: "first", Value: "1"}) || len(vs) != 3 ||
		vs[2].ID != "v-a" || string(vs[2].Value.Ciphertext) != "\x0b" || vs[0].Value != nil {
		t.Errorf("ReadSecret after migration = %+v, %+v, %v", rec, vs, err)
	}
	if _, vs, err := s.ReadSecret(context.Background(), "r", "o"); err != nil || len(vs) != 1 || !vs[0].Binary {
		t.Errorf("ReadSecret(o) after migration = %+v, %v", vs, err)
	}
	// A version created after the migration with the same time sorts last.
	update(t, s, func(tx rotor.Tx) error {
		return tx.CreateVersion(arn, &rotor.VersionRecord{ID: "v-0", CreatedDate: time.Unix(0, 5).UTC()})
	})
	if got, want := versions(arn), "p[AWSPENDING] v-z[AWSPREVIOUS] v-a[AWSCURRENT] v-0[]"; got != want {
		t.Errorf("versions after a new tie = %s, want %s", got, want)
	}
	if _, vs, err := s.ReadSecret(context.Background(), "r", "s"); err != nil || len(vs) != 4 || vs[3].ID != "v-0" || vs[1].ID != "v-z" {
		t.Errorf("ReadSecret after a new tie = %v, %v", vs, err)
	}
	// Cascades: a version's labels go with it, a secret's versions and tags with it.
	update(t, s, func(tx rotor.Tx) error { return tx.DeleteVersions(arn, []string{"p"}) })
	update(t, s, func(tx rotor.Tx) error { return tx.DeleteSecret(other) })
	s.Close()

	db = mustRaw(t, path)
	for q, want := range map[string]int{
		`SELECT COUNT(*) FROM stages WHERE version_id = 'p'`:                                                                   0,
		`SELECT COUNT(*) FROM versions WHERE sid <> ` + sidSQL(arn):                                                            0,
		`SELECT COUNT(*) FROM stages WHERE sid <> ` + sidSQL(arn):                                                              0,
		`SELECT COUNT(*) FROM sqlite_master WHERE name LIKE '%_new'`:                                                           0,
		`SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND sql LIKE '%WITHOUT ROWID' AND name IN ('stages', 'tags')`: 2,
		`SELECT COUNT(*) FROM sqlite_master WHERE type = 'trigger' AND name = 'versions_value_written_once'`:                   1,
	} {
		var n int
		if err := db.QueryRow(q).Scan(&n); err != nil || n != want {
			t.Errorf("%s = %d, %v; want %d", q, n, err, want)
		}
	}
	if _, err := db.Exec(`UPDATE versions SET ciphertext = x'00' WHERE id = 'v-a'`); err == nil {
		t.Error("the write-once trigger is gone after the migration")
	}
	if _, err := db.Exec(`PRAGMA foreign_keys = ON`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`INSERT INTO stages (sid, stage, version_id) VALUES (` + sidSQL(arn) + `, 'X', 'nope')`); err == nil {
		t.Error("a label on a missing version was accepted after the migration")
	}
	var fkErrors int
	if err := db.QueryRow(`SELECT COUNT(*) FROM pragma_foreign_key_check`).Scan(&fkErrors); err != nil || fkErrors != 0 {
		t.Errorf("foreign_key_check: %d rows, %v", fkErrors, err)
	}
}
