package admin_test

import (
	"crypto/sha256"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/rotorhq/rotor"
	"github.com/rotorhq/rotor/admin"
	"github.com/rotorhq/rotor/auth"
	"github.com/rotorhq/rotor/postgres"
	"github.com/rotorhq/rotor/postgres/pgtest"
	"github.com/rotorhq/rotor/sqlite"
)

// noBackupFiles fails when a call left a backup directory or a scratch
// directory behind.
func (e *env) noBackupFiles(t *testing.T) {
	t.Helper()
	if _, err := os.Lstat(e.backupDir); !os.IsNotExist(err) {
		t.Errorf("the backup directory exists: %v", err)
	}
	e.noScratch(t)
}

// noScratch fails when DownloadBackup's scratch directories are on disk.
func (e *env) noScratch(t *testing.T) {
	t.Helper()
	if stale, _ := filepath.Glob(filepath.Join(e.dir, ".rotor-download-*")); len(stale) > 0 {
		t.Errorf("scratch left on disk: %v", stale)
	}
}

// verifyBackup opens the backup at path and checks that it holds every
// value of want, sealed under e's keyring, and that the admin key
// authenticates against it.
func (e *env) verifyBackup(t *testing.T, path string, want map[[2]string]string) {
	t.Helper()
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("backup %s: %v, want mode 0600", path, err)
	}
	b, err := sqlite.Open(path)
	if err != nil {
		t.Fatalf("open backup: %v", err)
	}
	defer b.Close()
	restored := &env{store: b, keyring: e.keyring}
	restored.openAll(t, e.keyring, want)
	srv := server(t, auth.New(auth.Config{Store: b, Keyring: e.keyring}))
	if got := call(t, srv, e.adminKey); got != "" {
		t.Fatalf("admin key against the backup: %s", got)
	}
}

// list returns the names in dir, sorted.
func list(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

func TestBackupIntoBackupDir(t *testing.T) {
	e := newEnv(t)
	ctx := adminCtx()
	want := e.seedVersions(t, 3)

	path, err := e.admin.Backup(ctx, "first.db")
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(e.backupDir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("backup directory: %v, want mode 0700", err)
	}
	dir, _ := filepath.EvalSymlinks(e.backupDir)
	if path != filepath.Join(dir, "first.db") {
		t.Fatalf("Backup wrote %s, want %s", path, filepath.Join(dir, "first.db"))
	}
	e.verifyBackup(t, path, want)

	// A path inside the directory: absolute, or relative to it, in a
	// subdirectory that exists.
	if err := os.Mkdir(filepath.Join(e.backupDir, "daily"), 0o700); err != nil {
		t.Fatal(err)
	}
	for name, wantPath := range map[string]string{
		filepath.Join(e.backupDir, "abs.db"):          filepath.Join(dir, "abs.db"),
		"daily/rel.db":                                filepath.Join(dir, "daily", "rel.db"),
		"./daily//dot.db":                             filepath.Join(dir, "daily", "dot.db"),
		filepath.Join(e.backupDir, "daily", "abs.db"): filepath.Join(dir, "daily", "abs.db"),
	} {
		got, err := e.admin.Backup(ctx, name)
		if err != nil || got != wantPath {
			t.Fatalf("Backup(%q) = %s, %v; want %s", name, got, err, wantPath)
		}
		e.verifyBackup(t, got, want)
	}
}

// Every path that leads out of the backup directory, names a directory or
// names an existing file is refused with EINVALID saying where backups may
// go, and nothing is written, inside or outside.
func TestBackupRefusesPathsOutsideBackupDir(t *testing.T) {
	e := newEnv(t)
	ctx := adminCtx()
	e.seedVersions(t, 1)
	// Before the backup directory exists, a refused path does not make it.
	for _, path := range []string{"../escape.db", "/tmp/x.db", "sub/x.db", filepath.Join(e.dir, "x.db"), "."} {
		_, err := e.admin.Backup(ctx, path)
		wantCode(t, err, rotor.EINVALID)
	}
	e.noBackupFiles(t)

	outside := filepath.Join(e.dir, "outside")
	for _, d := range []string{outside, filepath.Join(e.backupDir, "daily")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	existing := filepath.Join(e.backupDir, "existing.db")
	if err := os.WriteFile(existing, []byte("keep me"), 0o600); err != nil {
		t.Fatal(err)
	}
	// A directory link and a dangling file link, both leading outside.
	if err := os.Symlink(outside, filepath.Join(e.backupDir, "out")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(outside, "via-link.db"), filepath.Join(e.backupDir, "link.db")); err != nil {
		t.Fatal(err)
	}
	before := list(t, e.backupDir)

	for _, tc := range []struct{ path, why string }{
		{"../escape.db", `contains ".."`},
		{"daily/../../escape.db", `contains ".."`},
		{"daily/../x.db", `contains ".."`},
		{filepath.Join(outside, "abs.db"), "is outside that directory"},
		{filepath.Join(e.dir, "rotor.db"), "is outside that directory"},
		{"/etc/rotor-test-backup.db", "is outside that directory"},
		{"out/x.db", "leads out of that directory through a symbolic link"},
		{"link.db", "already exists"},
		{"existing.db", "already exists"},
		{".", "names a directory"},
		{"daily/", "names a directory"},
		{e.backupDir, "names a directory"},
		{"daily", "already exists"},
		{"missing/x.db", "names a directory that does not exist"},
		{"a\x00b.db", "NUL"},
	} {
		path, err := e.admin.Backup(ctx, tc.path)
		wantCode(t, err, rotor.EINVALID)
		msg := rotor.ErrorMessage(err)
		if !strings.Contains(msg, tc.why) || !strings.Contains(msg, e.backupDir) {
			t.Errorf("Backup(%q): %q, want it to say %q and name %s", tc.path, msg, tc.why, e.backupDir)
		}
		if path != "" {
			t.Errorf("Backup(%q) answered the path %q with its error", tc.path, path)
		}
	}
	if after := list(t, e.backupDir); !slices.Equal(after, before) {
		t.Errorf("the backup directory holds %v, had %v", after, before)
	}
	if got := list(t, outside); len(got) > 0 {
		t.Errorf("refused backups wrote %v outside the backup directory", got)
	}
	if got := list(t, filepath.Join(e.backupDir, "daily")); len(got) > 0 {
		t.Errorf("refused backups wrote %v into daily/", got)
	}
	if data, err := os.ReadFile(existing); err != nil || string(data) != "keep me" {
		t.Errorf("the existing file now holds %q, %v", data, err)
	}
}

func TestBackupWithoutBackupDir(t *testing.T) {
	e := newEnv(t)
	svc := admin.New(admin.Config{Auth: e.auth, Store: e.store, Keyring: e.keyring})
	_, err := svc.Backup(adminCtx(), "x.db")
	wantCode(t, err, rotor.EINVALID)
	if msg := rotor.ErrorMessage(err); !strings.Contains(msg, "rotor backup FILE") {
		t.Errorf("message %q does not say how to take a backup", msg)
	}
}

func TestDownloadBackup(t *testing.T) {
	e := newEnv(t)
	want := e.seedVersions(t, 3)
	snap, err := e.admin.DownloadBackup(adminCtx())
	if err != nil {
		t.Fatal(err)
	}
	// While it is read, the snapshot has no name on disk.
	e.noScratch(t)
	data, err := io.ReadAll(snap)
	if err != nil {
		t.Fatal(err)
	}
	if err := snap.Close(); err != nil {
		t.Fatal(err)
	}
	if int64(len(data)) != snap.Size || sha256.Sum256(data) != snap.SHA256 {
		t.Fatalf("read %d bytes with digest %x; the snapshot said %d, %x", len(data), sha256.Sum256(data), snap.Size, snap.SHA256)
	}
	file := filepath.Join(t.TempDir(), "downloaded.db")
	if err := os.WriteFile(file, data, 0o600); err != nil {
		t.Fatal(err)
	}
	e.verifyBackup(t, file, want)
	if _, err := os.Lstat(e.backupDir); !os.IsNotExist(err) {
		t.Errorf("DownloadBackup made the backup directory: %v", err)
	}
}

func TestRemoveScratch(t *testing.T) {
	dir := t.TempDir()
	stale := filepath.Join(dir, ".rotor-download-123")
	if err := os.Mkdir(stale, 0o700); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(stale, "rotor.db"), []byte("snapshot"), 0o600)
	os.WriteFile(filepath.Join(dir, "rotor.db"), []byte("database"), 0o600)
	if err := admin.RemoveScratch(dir); err != nil {
		t.Fatal(err)
	}
	if got := list(t, dir); !slices.Equal(got, []string{"rotor.db"}) {
		t.Fatalf("after RemoveScratch the directory holds %v, want only rotor.db", got)
	}
}

// On a PostgreSQL store both operations answer the store's explanation
// (pg_dump), and leave no file.
func TestBackupPostgresStore(t *testing.T) {
	store, _ := pgtest.Open(t, postgres.Options{})
	kr := newEnv(t).keyring
	dir := t.TempDir()
	e := &env{dir: dir, backupDir: filepath.Join(dir, "backups")}
	svc := admin.New(admin.Config{Auth: auth.New(auth.Config{Store: store, Keyring: kr}), Store: store, Keyring: kr,
		BackupDir: e.backupDir, ScratchDir: dir})
	_, err := svc.Backup(adminCtx(), "x.db")
	wantCode(t, err, rotor.EINVALID)
	if msg := rotor.ErrorMessage(err); !strings.Contains(msg, "pg_dump") {
		t.Errorf("Backup: %q, want the store's pg_dump explanation", msg)
	}
	snap, err := svc.DownloadBackup(adminCtx())
	wantCode(t, err, rotor.EINVALID)
	if msg := rotor.ErrorMessage(err); snap != nil || !strings.Contains(msg, "pg_dump") {
		t.Errorf("DownloadBackup: %v, %q, want the store's pg_dump explanation", snap, msg)
	}
	e.noBackupFiles(t)
}
