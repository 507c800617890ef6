package sqlite_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/rotorhq/rotor"
	"github.com/rotorhq/rotor/sqlite"
)

// sqliteTempFiles counts the unlinked files this process holds open: the
// temporary files SQLite creates (with O_TMPFILE, or unlinked at once).
func sqliteTempFiles(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("no /proc/self/fd: %v", err)
	}
	n := 0
	for _, e := range ents {
		if dst, err := os.Readlink(filepath.Join("/proc/self/fd", e.Name())); err == nil && strings.HasSuffix(dst, " (deleted)") {
			n++
		}
	}
	return n
}

// TestSubJournal checks that an Update's savepoint journal stays in
// memory up to sqlite.StmtJournalSpill (not SQLite's default of 64 KiB,
// past which every page it copies is a write(2) to a temporary file), and
// still spills to a file past that bound, and works there: an Update rewrites n secrets of
// ~3 KiB each (about one page each), and while its savepoint is open the
// process holds a SQLite temporary file only for the larger n. (The
// Update is the second of its batch: the first has no savepoint.)
func TestSubJournal(t *testing.T) {
	if !sqlite.StmtJournalConfigured() {
		t.Fatal("SQLite did not accept the statement journal spill size")
	}
	s := mustOpen(t, filepath.Join(t.TempDir(), "rotor.db"))
	ctx := context.Background()
	desc := strings.Repeat("d", 3000)
	small := 20                                 // past SQLite's default of 64 KiB, within the bound
	large := 2 * sqlite.StmtJournalSpill / 4096 // twice the bound
	sec := func(i int) *rotor.SecretRecord {
		name := fmt.Sprintf("spill-%04d", i)
		return &rotor.SecretRecord{ARN: rotor.SecretARN("us-east-1", "123456789012", name, "abcdef"), Region: "us-east-1", Name: name, Description: desc}
	}
	for i := range large {
		if err := s.Update(ctx, func(tx rotor.Tx) error { return tx.CreateSecret(sec(i)) }); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct {
		n         int
		wantFiles bool
	}{{small, false}, {large, true}} {
		var files int
		if err := secondInBatch(t, s, func(tx rotor.Tx) error {
			for i := range c.n {
				r := sec(i)
				r.Description = strings.Repeat("e", 3000)
				if err := tx.UpdateSecret(r); err != nil {
					return err
				}
			}
			files = sqliteTempFiles(t)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if (files > 0) != c.wantFiles {
			t.Errorf("rewriting %d one-page secrets in one Update: %d SQLite temporary files open, want them: %v", c.n, files, c.wantFiles)
		}
	}
}

// secondInBatch runs fn in an Update that joins a batch another Update
// began and succeeded in, so fn runs in a savepoint (commit.go).
func secondInBatch(t *testing.T, s *sqlite.Store, fn func(rotor.Tx) error) error {
	t.Helper()
	ctx := context.Background()
	first := make(chan error, 1)
	holding := make(chan struct{})
	go func() {
		first <- s.Update(ctx, func(rotor.Tx) error {
			close(holding)
			for sqlite.Waiting(s) < 1 {
				runtime.Gosched()
			}
			return nil
		})
	}()
	<-holding
	err := s.Update(ctx, fn)
	if ferr := <-first; ferr != nil {
		t.Fatal(ferr)
	}
	return err
}
