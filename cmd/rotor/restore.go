package main

import (
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/rotorhq/rotor"
	"github.com/rotorhq/rotor/envelope"
	"github.com/rotorhq/rotor/sqlite"
)

// `rotor restore FILE`: install a backup (a snapshot written by `rotor
// backup`, see sqlite.Store.Backup) as the database of a stopped server's
// data directory. It reads the configuration exactly as `rotor server`
// does (flags, --config, environment), so the keyring it checks is the one
// the server will start with.
//
// The order makes a refusal change nothing: the data directory is locked
// (refused while a server holds it), the backup is copied to a staging
// file inside it, that copy is checked (a SQLite database of Rotor's,
// intact, brought to this binary's schema) and every data key it holds is
// unwrapped with the keyring; only then is an existing database moved
// aside (--force; it is never deleted) and the copy renamed into place.

// restoreStaging is the staging copy's name in the data directory.
const restoreStaging = "rotor.db.restoring"

func setupRestore(fs *flag.FlagSet, x *cmdline) action {
	force := fs.Bool("force", false, "replace an existing database, which is moved aside to rotor.db.before-restore-<time> (never deleted)")
	return func(ctx context.Context, pos, flagArgs []string) error {
		cfg, err := loadConfig(fs, flagArgs, os.Getenv)
		if err != nil {
			return err
		}
		return restore(ctx, cfg, pos[0], *force, x.stdout)
	}
}

// restore installs the backup file into cfg's data directory.
func restore(ctx context.Context, cfg Config, file string, force bool, stdout io.Writer) (err error) {
	if cfg.sharedStore() {
		return fmt.Errorf("rotor restore installs a backup into a data directory's SQLite database, but this configuration keeps its data in %s (store): restore that database with its own tools", cfg.storeName())
	}
	backup, err := filepath.Abs(file)
	if err != nil {
		return err
	}
	if err := checkSQLiteFile(backup); err != nil {
		return err
	}
	dir, err := filepath.Abs(cfg.DataDir)
	if err != nil {
		return err
	}
	cfg.DataDir = dir
	db := cfg.DatabasePath()
	if err := refuseForeignDataDir("restore", dir, os.Geteuid()); err != nil {
		return err
	}

	// The data directory: created (0700) if missing, and removed again if
	// the restore is refused.
	createdDir := false
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		createdDir = true
	}
	lockPath := filepath.Join(dir, "rotor.lock")
	_, lerr := os.Stat(lockPath)
	createdLock := errors.Is(lerr, fs.ErrNotExist)
	if err := prepareDataDir(dir); err != nil {
		return err
	}
	lock, err := lockDataDir(dir)
	if err != nil {
		if createdDir {
			os.Remove(dir)
		}
		return fmt.Errorf("%w; stop the server first", err)
	}
	staging := filepath.Join(dir, restoreStaging)
	installed := false
	defer func() {
		removeDB(staging)
		lock.Close()
		if installed {
			return
		}
		if createdLock {
			os.Remove(lockPath)
		}
		if createdDir {
			os.Remove(dir)
		}
	}()
	if _, err := os.Stat(db); err == nil && !force {
		return fmt.Errorf("%s already holds a database (%s): restore into an empty data directory, or give --force to move the database aside (it is kept, not deleted); nothing was changed", dir, db)
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("database: %w", err)
	}

	// A copy inside the data directory, so that the final rename is
	// atomic and the backup itself is never written to.
	removeDB(staging) // left by a restore that was interrupted
	if err := copyFileSync(backup, staging); err != nil {
		return err
	}
	if err := checkRotorDatabase(staging, backup); err != nil {
		return err
	}
	counts, err := checkBackupKeys(ctx, cfg, staging, backup)
	if err != nil {
		return err
	}

	var aside string
	if _, err := os.Stat(db); err == nil {
		aside = db + ".before-restore-" + time.Now().UTC().Format("20060102T150405Z")
		if err := moveDB(db, aside); err != nil {
			return fmt.Errorf("move the database aside: %w", err)
		}
	}
	if err := moveDB(staging, db); err != nil {
		return fmt.Errorf("install the database: %w", err)
	}
	installed = true
	if err := syncDirectory(dir); err != nil {
		return err
	}

	fmt.Fprintf(stdout, "Restored %s into %s: %s.\n", backup, db, describeCounts(counts))
	if aside != "" {
		fmt.Fprintf(stdout, "The database it replaced is kept as %s.\n", aside)
	}
	var hidden []string
	for r := range counts {
		if !slices.Contains(cfg.Regions, r) {
			hidden = append(hidden, r)
		}
	}
	if len(hidden) > 0 {
		sort.Strings(hidden)
		fmt.Fprintf(stdout, "Note: the backup holds secrets in %s, which this configuration does not serve (regions = %s): the server will refuse to start until regions includes them.\n",
			strings.Join(hidden, ", "), strings.Join(cfg.Regions, ","))
	}
	fmt.Fprintf(stdout, "Start the server with the same data directory and keyring options (--data-dir %s", dir)
	switch {
	case cfg.Keys.Env != "":
		fmt.Fprintf(stdout, ", --key-env %s", cfg.Keys.Env)
	case cfg.Keys.File != "":
		keyFile, _ := filepath.Abs(cfg.KeyFile())
		fmt.Fprintf(stdout, ", --key-file %s", keyFile)
	}
	fmt.Fprintf(stdout, "). Its identities and access keys are those of the backup.\n")
	return nil
}

// checkSQLiteFile refuses anything but a readable regular file that starts
// like a SQLite database.
func checkSQLiteFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("backup %s is not a regular file", path)
	}
	header := make([]byte, 16)
	if _, err := io.ReadFull(f, header); err != nil || string(header) != "SQLite format 3\x00" {
		return fmt.Errorf("%s is not a Rotor backup: not a SQLite database file", path)
	}
	return nil
}

// checkRotorDatabase checks, read-only, that the staged copy of backup is
// intact and is Rotor's (it records Rotor's schema migrations), before
// sqlite.Open would add Rotor's tables to any database.
func checkRotorDatabase(staging, backup string) error {
	db, err := sql.Open("sqlite", (&url.URL{Scheme: "file", Path: staging, RawQuery: "mode=ro"}).String())
	if err != nil {
		return fmt.Errorf("open backup %s: %w", backup, err)
	}
	defer db.Close()
	var tables int
	if err := db.QueryRow(`SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name IN ('migrations', 'secrets', 'versions')`).Scan(&tables); err != nil {
		return fmt.Errorf("%s is not a readable SQLite database: %w", backup, err)
	}
	if tables != 3 {
		return fmt.Errorf("%s is not a Rotor backup: it lacks Rotor's tables", backup)
	}
	var check string
	if err := db.QueryRow(`PRAGMA quick_check`).Scan(&check); err != nil {
		return fmt.Errorf("check backup %s: %w", backup, err)
	}
	if check != "ok" {
		return fmt.Errorf("backup %s is damaged (SQLite quick_check: %s); nothing was changed", backup, check)
	}
	return nil
}

// checkBackupKeys opens the staged copy (bringing it to this binary's
// schema, as the server would at start), unwraps every data key it holds
// with the keyring cfg names, and returns the number of secrets by region.
// A keyring that lacks a key, or whose key does not open a data key, is
// refused with the key ids named.
func checkBackupKeys(ctx context.Context, cfg Config, staging, backup string) (map[string]int, error) {
	store, err := sqlite.Open(staging)
	if err != nil {
		return nil, fmt.Errorf("open backup %s: %w", backup, err)
	}
	defer store.Close()
	inUse, err := keyIDsInUse(ctx, store)
	if err != nil {
		return nil, err
	}
	var kr *envelope.Keyring
	source := "none needed"
	if len(inUse) > 0 {
		if kr, source, err = openKeyring(cfg, inUse); err != nil {
			return nil, err
		}
	}
	var missing, wrong []string
	var counts map[string]int
	err = store.View(ctx, func(tx rotor.Tx) error {
		for _, id := range inUse {
			if kr == nil || !kr.Has(id) {
				missing = append(missing, id)
				continue
			}
			n, err := tx.CountSealedByKey(id)
			if err != nil {
				return err
			}
			refs, err := tx.SealedByKey(id, n)
			if err != nil {
				return err
			}
			for _, r := range refs {
				aad := envelope.VersionAAD(r.SecretARN, r.ID)
				if r.Kind == rotor.SealedAccessKey {
					aad = envelope.AccessKeyAAD(r.ID)
				}
				if kr.CheckKey(r.Sealed, aad) != nil {
					wrong = append(wrong, id)
					break
				}
			}
		}
		counts, err = tx.Regions()
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("read backup %s: %w", backup, err)
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf(`refusing to restore: the backup %s holds data keys wrapped by key-encryption key(s) %s, which the keyring (%s) does not have, so the values and access keys they protect could not be decrypted.
Give the keyring that was in use when the backup was taken, with the same options as 'rotor server' (--key-file, --key-env or keys.* in --config); a backup taken before 'rotor keys retire' needs the key file as it was before the retire.
Nothing was changed`, backup, strings.Join(missing, ", "), source)
	}
	if len(wrong) > 0 {
		return nil, fmt.Errorf(`refusing to restore: the keyring (%s) has key-encryption key(s) %s, but they do not open the data keys of the backup %s (a different key under the same id, or a damaged backup).
Give the keyring that was in use when the backup was taken. Nothing was changed`, source, strings.Join(wrong, ", "), backup)
	}
	return counts, nil
}

// describeCounts shows secrets by region: "3 secrets (us-east-1: 2, eu-west-1: 1)".
func describeCounts(counts map[string]int) string {
	total := 0
	regions := make([]string, 0, len(counts))
	for r, n := range counts {
		total += n
		regions = append(regions, r)
	}
	sort.Strings(regions)
	s := fmt.Sprintf("%d secret(s)", total)
	if len(regions) == 0 {
		return s
	}
	parts := make([]string, len(regions))
	for i, r := range regions {
		parts[i] = fmt.Sprintf("%s: %d", r, counts[r])
	}
	return s + " (" + strings.Join(parts, ", ") + ")"
}

// copyFileSync copies from to a new file to (mode 0600) and syncs it.
func copyFileSync(from, to string) (err error) {
	src, err := os.Open(from)
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	defer src.Close()
	dst, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("stage the backup: %w", err)
	}
	defer func() {
		if cerr := dst.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("stage the backup: %w", cerr)
		}
	}()
	if _, err := io.Copy(dst, src); err != nil {
		return fmt.Errorf("stage the backup: %w", err)
	}
	if err := dst.Sync(); err != nil {
		return fmt.Errorf("stage the backup: %w", err)
	}
	return nil
}

// dbFiles are the suffixes of a SQLite database's files in WAL mode.
var dbFiles = []string{"", "-wal", "-shm"}

// moveDB renames the database at from, with its -wal and -shm files, to
// to (to-wal, to-shm), so that it still opens there as it was. It refuses
// when any of those names is taken.
func moveDB(from, to string) error {
	for _, suffix := range dbFiles {
		if _, err := os.Lstat(to + suffix); err == nil {
			return fmt.Errorf("cannot move %s to %s: %s already exists", from, to, to+suffix)
		}
	}
	for _, suffix := range dbFiles {
		if err := os.Rename(from+suffix, to+suffix); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("move %s: %w", from+suffix, err)
		}
	}
	return nil
}

// removeDB removes a staging database and its -wal and -shm files.
func removeDB(path string) {
	for _, suffix := range dbFiles {
		os.Remove(path + suffix)
	}
}

// syncDirectory makes renames in dir durable.
func syncDirectory(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}
