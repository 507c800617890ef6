//go:build unix

package sqlite_test

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/rotorhq/rotor"
)

// TestFileModes checks that the database, its -wal and -shm files and a
// backup are readable by the owner only, even under a permissive umask.
func TestFileModes(t *testing.T) {
	old := syscall.Umask(0)
	defer syscall.Umask(old)

	dir := t.TempDir()
	path := filepath.Join(dir, "rotor.db")
	s := mustOpen(t, path)
	fixture(t, s) // the -wal and -shm files exist while the store is open
	backup := filepath.Join(dir, "backup.db")
	if err := s.Backup(context.Background(), backup); err != nil {
		t.Fatal(err)
	}
	view(t, s, func(rotor.Tx) error {
		for _, p := range []string{path, path + "-wal", path + "-shm", backup} {
			if _, err := os.Stat(p); err != nil {
				t.Errorf("stat %s: %v", filepath.Base(p), err)
			}
		}
		// Every file the store made, those four and any other, is 0600.
		entries, err := os.ReadDir(dir)
		if err != nil {
			return err
		}
		for _, e := range entries {
			fi, err := e.Info()
			if err != nil {
				return err
			}
			if m := fi.Mode().Perm(); m != 0o600 {
				t.Errorf("%s has mode %#o, want 0600", e.Name(), m)
			}
		}
		return nil
	})
}
