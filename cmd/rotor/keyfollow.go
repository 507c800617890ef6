package main

import (
	"context"
	"log/slog"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/rotorhq/rotor/envelope"
)

// keyFollower keeps a server's keyring in step with its key file, which an
// operator (or another server's `rotor keys rotate`, when several servers
// share the file) may change while the server runs: it reads the file
// again when the file changes (checked every keyPollInterval) and when a
// value is wrapped by a key the keyring lacks (at most once per
// keyMissInterval), and merges what it reads (envelope.Keyring.Merge: new
// keys are added, the file's active key becomes active, no key is dropped).
type keyFollower struct {
	path string
	kr   *envelope.Keyring
	log  *slog.Logger

	mu       sync.Mutex
	stamp    fileStamp // of the file last read
	lastMiss time.Time // when a miss last read the file
}

// How often the key file is checked for changes, and read at most for
// values wrapped by keys the keyring lacks.
const (
	keyPollInterval = 2 * time.Second
	keyMissInterval = time.Second
)

// fileStamp identifies a version of a file cheaply.
type fileStamp struct {
	mod  time.Time
	size int64
	ino  uint64
}

func stampOf(path string) (fileStamp, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return fileStamp{}, err
	}
	return fileStamp{mod: fi.ModTime(), size: fi.Size(), ino: inode(fi)}, nil
}

// newKeyFollower follows path for kr, whose keys were just read from it,
// and installs the missing-key handler.
func newKeyFollower(path string, kr *envelope.Keyring, log *slog.Logger) *keyFollower {
	f := &keyFollower{path: path, kr: kr, log: log}
	f.stamp, _ = stampOf(path)
	kr.SetMissing(f.missing)
	return f
}

// reload reads the key file and merges it into the keyring. It returns
// whether the keyring gained keys.
func (f *keyFollower) reload(why string) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.reloadLocked(why)
}

func (f *keyFollower) reloadLocked(why string) (bool, error) {
	stamp, _ := stampOf(f.path)
	kr, err := envelope.LoadFile(f.path)
	if err != nil {
		return false, err
	}
	added, activeChanged, err := f.kr.Merge(kr)
	if err != nil {
		return false, err
	}
	f.stamp = stamp
	if len(added) > 0 || activeChanged {
		f.log.Info("keyring read again from its key file", "file", f.path, "why", why,
			"added", added, "active", f.kr.ActiveID())
	}
	return len(added) > 0, nil
}

// Reload is admin.Config.Reload: read the file now.
func (f *keyFollower) Reload() error {
	_, err := f.reload("keys rotate")
	return err
}

// missing is the keyring's missing-key handler: another server may have
// sealed under a key that was added to this server's key file since it was
// last read.
func (f *keyFollower) missing(id string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if time.Since(f.lastMiss) < keyMissInterval {
		return f.kr.Has(id) // read recently: another caller may have found it
	}
	f.lastMiss = time.Now()
	if _, err := f.reloadLocked("a value is wrapped by key " + id); err != nil {
		f.log.Error("cannot read the key file again", "file", f.path, "err", err)
	}
	if !f.kr.Has(id) {
		f.log.Error("a value is wrapped by a key-encryption key this server's keyring lacks: give this server the key file of the server that made the key",
			"key_id", id, "file", f.path)
		return false
	}
	return true
}

// run checks the file for changes until ctx ends.
func (f *keyFollower) run(ctx context.Context) {
	t := time.NewTicker(keyPollInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		stamp, err := stampOf(f.path)
		f.mu.Lock()
		changed := err == nil && stamp != f.stamp
		f.mu.Unlock()
		if !changed {
			continue
		}
		if _, err := f.reload("the key file changed"); err != nil {
			f.log.Error("cannot read the changed key file; keeping the keys in use", "file", f.path, "err", err)
		}
	}
}

// inode returns fi's inode number, which changes when a file is replaced
// by a rename (as key files are written).
func inode(fi os.FileInfo) uint64 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return uint64(st.Ino)
	}
	return 0
}
