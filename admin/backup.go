package admin

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/rotorhq/rotor"
)

// Backups. A backup leaves the server in one of two ways: streamed to the
// caller (DownloadBackup), or written by the server into its own backup
// directory (Backup), never anywhere else on its machine. Either way it is
// the store's snapshot, values sealed as stored.

// scratchPrefix begins the name of DownloadBackup's private directories in
// the scratch directory.
const scratchPrefix = ".rotor-download-"

// Backup writes a consistent snapshot of the database, while the server
// keeps serving, into the backup directory as path: a file name, or a path
// inside that directory (absolute, or relative to it). It returns the path
// written. Errors: EDENIED; EINVALID when no backup directory is
// configured, when path leads out of the directory ("..", a symbolic link,
// an absolute path elsewhere), names a directory, or names a file that
// exists (nothing is written then); the store's errors otherwise (EINVALID
// for a store that is not copied to files).
func (s *Service) Backup(ctx context.Context, path string) (string, error) {
	c, err := s.authorize(ctx, "Backup")
	if err != nil {
		return "", err
	}
	target, made, err := s.backupPath(path)
	if err == nil {
		if err = s.store.Backup(ctx, target); err != nil {
			err = fmt.Errorf("backup to %s: %w", target, err)
		}
	}
	if err != nil {
		if made {
			os.Remove(s.backupDir) // a refused backup leaves nothing, not even the directory
		}
		return "", err
	}
	s.log.Info("backup written", "path", target, "by", c.Principal.Identity)
	return target, nil
}

// backupPath returns the file Backup writes for path: inside s.backupDir
// once every symbolic link is resolved, and not existing yet. The store's
// Backup creates it exclusively, so a file appearing meanwhile is not
// overwritten either. made reports that backupPath created the backup
// directory, which it does only for a path it accepts.
func (s *Service) backupPath(path string) (final string, made bool, err error) {
	if s.backupDir == "" {
		return "", false, rotor.Errorf(rotor.EINVALID, "This server writes no backups to its own disk (it has no backup directory): download one with rotor backup FILE (rotor.DownloadBackup).")
	}
	refuse := func(why string) error {
		return rotor.Errorf(rotor.EINVALID, "%s Backups are written only into the server's backup directory %s (backup_dir): give a file name, or a path inside that directory.", why, s.backupDir)
	}
	if strings.IndexByte(path, 0) >= 0 {
		return "", false, refuse("The backup path contains a NUL character.")
	}
	for _, elem := range strings.Split(path, "/") {
		if elem == ".." {
			return "", false, refuse(fmt.Sprintf("The backup path %q contains \"..\".", path))
		}
	}
	target := path
	if !filepath.IsAbs(target) {
		target = filepath.Join(s.backupDir, target)
	}
	target = filepath.Clean(target)
	if strings.HasSuffix(path, "/") || target == s.backupDir {
		return "", false, refuse(fmt.Sprintf("The backup path %q names a directory, not a file.", path))
	}
	// Lexically inside: what the name says before links are resolved.
	lexical := within(s.backupDir, filepath.Dir(target))
	missing := fmt.Sprintf("The backup path %q names a directory that does not exist.", path)
	outside := fmt.Sprintf("The backup path %q is outside that directory.", path)

	if _, err := os.Lstat(s.backupDir); errors.Is(err, fs.ErrNotExist) {
		// Only a file directly in it can be meant; anything else is
		// refused before the directory is made.
		switch {
		case filepath.Dir(target) == s.backupDir:
		case lexical:
			return "", false, refuse(missing)
		default:
			return "", false, refuse(outside)
		}
		if err := os.MkdirAll(s.backupDir, 0o700); err != nil {
			return "", false, fmt.Errorf("admin: backup directory: %w", err)
		}
		made = true
	}
	dir, err := filepath.EvalSymlinks(s.backupDir)
	if err != nil {
		return "", made, fmt.Errorf("admin: backup directory: %w", err)
	}
	parent, err := filepath.EvalSymlinks(filepath.Dir(target))
	switch {
	case err != nil && lexical:
		return "", made, refuse(missing)
	case err != nil || !within(dir, parent) && !lexical:
		return "", made, refuse(outside)
	case !within(dir, parent):
		return "", made, refuse(fmt.Sprintf("The backup path %q leads out of that directory through a symbolic link.", path))
	}
	final = filepath.Join(parent, filepath.Base(target))
	if _, err := os.Lstat(final); err == nil {
		return "", made, rotor.Errorf(rotor.EINVALID, "The backup file %s already exists: name a new file.", final)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return "", made, refuse(fmt.Sprintf("The backup path %q cannot be used (%v).", path, pathError(err)))
	}
	return final, made, nil
}

// within reports whether path is dir or lies under it; both are clean
// absolute paths.
func within(dir, path string) bool {
	if path == dir {
		return true
	}
	if !strings.HasSuffix(dir, string(filepath.Separator)) {
		dir += string(filepath.Separator)
	}
	return strings.HasPrefix(path, dir)
}

// DownloadBackup takes a consistent snapshot of the database, while the
// server keeps serving, into a private file (0600, in a 0700 directory of
// its own in the scratch directory), digests it and returns it open. Its
// name is removed before DownloadBackup returns: the snapshot lives on only
// in the open file until Close, so no copy stays on the server's disk even
// if the server dies while it is read. Errors: EDENIED; the store's errors
// (EINVALID for a store that is not copied to files, naming the tool to use).
func (s *Service) DownloadBackup(ctx context.Context) (*rotor.Snapshot, error) {
	c, err := s.authorize(ctx, "DownloadBackup")
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp(s.scratchDir, scratchPrefix+"*")
	if err != nil {
		return nil, fmt.Errorf("admin: download backup: %w", err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "rotor.db")
	if err := s.store.Backup(ctx, path); err != nil {
		return nil, fmt.Errorf("snapshot for download: %w", err)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("admin: download backup: %w", err)
	}
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err == nil {
		_, err = f.Seek(0, io.SeekStart)
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("admin: download backup: digest: %w", err)
	}
	snap := &rotor.Snapshot{ReadCloser: f, Size: n}
	h.Sum(snap.SHA256[:0])
	s.log.Info("backup taken for download", "bytes", n, "sha256", fmt.Sprintf("%x", snap.SHA256), "by", c.Principal.Identity)
	return snap, nil
}

// RemoveScratch removes what DownloadBackup left in dir when the process
// died while taking a snapshot. Call it only while no server uses dir as
// its scratch directory (cmd/rotor does, holding the data directory's
// lock).
func RemoveScratch(dir string) error {
	stale, err := filepath.Glob(filepath.Join(dir, scratchPrefix+"*"))
	if err != nil {
		return err
	}
	var errs []error
	for _, p := range stale {
		errs = append(errs, os.RemoveAll(p))
	}
	return errors.Join(errs...)
}

// pathError returns the reason of a file-system error without repeating
// the path.
func pathError(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
