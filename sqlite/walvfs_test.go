package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"unsafe"

	"modernc.org/libc"
	"modernc.org/libc/sys/types"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/rotorhq/rotor"
)

// These tests run on real database files, through the store's writer or
// connections opened with vfs=rotor-wal, and check the files through
// connections without it.

func openWALStore(t *testing.T, path string) *Store {
	t.Helper()
	s, err := Open(path)
	if err != nil {
		t.Fatalf("Open(%s): %v", path, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// plainDB opens path with the unix VFS (no gathering), as another process
// would.
func plainDB(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", dsn(path, url.Values{"_busy_timeout": {"5000"}}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// walStats returns the xWrite calls SQLite made on the WAL files of the
// database at path open through the VFS, and the writes they took.
func walStats(t *testing.T, path string) (calls, writes int64) {
	t.Helper()
	name, err := filepath.EvalSymlinks(path)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	walFiles.Range(func(_, v any) bool {
		b := v.(*walBuf)
		if db, err := filepath.EvalSymlinks(b.db); err == nil && db == name {
			found = true
			b.mu.Lock()
			calls, writes = calls+b.calls, writes+b.writes
			b.mu.Unlock()
		}
		return true
	})
	if !found {
		t.Fatalf("no WAL of %s open through %s", path, walVFSName)
	}
	return calls, writes
}

// syscw returns the write system calls this process has made, from
// /proc/self/io, or false where that is not available.
func syscw() (int64, bool) {
	b, err := os.ReadFile("/proc/self/io")
	if err != nil {
		return 0, false
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "syscw: "); ok {
			n, err := strconv.ParseInt(v, 10, 64)
			return n, err == nil
		}
	}
	return 0, false
}

func walSecret(name, desc string) *rotor.SecretRecord {
	return &rotor.SecretRecord{ARN: rotor.SecretARN("us-east-1", "123456789012", name, "abcdef"), Region: "us-east-1", Name: name, Description: desc}
}

func countSecrets(t *testing.T, db *sql.DB) int {
	t.Helper()
	var n int
	if err := db.QueryRow("SELECT count(*) FROM secrets").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func checkIntegrity(t *testing.T, db *sql.DB) {
	t.Helper()
	var ok string
	if err := db.QueryRow("PRAGMA integrity_check").Scan(&ok); err != nil || ok != "ok" {
		t.Fatalf("integrity_check: %q, %v", ok, err)
	}
}

// TestWALWritesGathered checks that a commit of many pages reaches the WAL
// in few writes: SQLite asks for two a frame, the VFS makes one a
// walBufSize of frames.
func TestWALWritesGathered(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rotor.db")
	s := openWALStore(t, path)
	desc := strings.Repeat("d", 4096)
	calls0, writes0 := walStats(t, path)
	sysw0, haveSysw := syscw()
	err := s.Update(context.Background(), func(tx rotor.Tx) error {
		for i := range 20 {
			if err := tx.CreateSecret(walSecret(fmt.Sprintf("big-%02d", i), desc)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sysw1, _ := syscw()
	calls1, writes1 := walStats(t, path)
	calls, writes := calls1-calls0, writes1-writes0
	t.Logf("20 rows of 4 KiB: SQLite made %d WAL writes, the VFS %d; the process %d write system calls", calls, writes, sysw1-sysw0)
	if calls < 40 {
		t.Fatalf("SQLite made %d WAL writes for 20 rows of 4 KiB, want at least 40 (two a frame, a frame a page)", calls)
	}
	if writes > 2 {
		t.Errorf("%d WAL writes took %d writes, want at most 2", calls, writes)
	}
	if haveSysw && sysw1-sysw0 > writes+2 {
		t.Errorf("the commit made %d write system calls, want at most %d", sysw1-sysw0, writes+2)
	}
	if n := countSecrets(t, plainDB(t, path)); n != 20 {
		t.Errorf("a connection without the VFS counts %d secrets, want 20", n)
	}
}

// TestWALReadersSeeCommits checks that once Update returns, its rows are
// visible to the store's readers and to a connection without the VFS,
// under concurrent writes, and that counts never go back.
func TestWALReadersSeeCommits(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rotor.db")
	s := openWALStore(t, path)
	plain := plainDB(t, path)
	const writers, each = 8, 200
	ctx := context.Background()

	done := make(chan struct{})
	watched := make(chan error, 1)
	go func() { // counts, from both kinds of connection, only grow
		last := 0
		for {
			select {
			case <-done:
				watched <- nil
				return
			default:
			}
			for _, db := range []*sql.DB{s.readers, plain} {
				var n int
				if err := db.QueryRow("SELECT count(*) FROM secrets").Scan(&n); err != nil {
					watched <- err
					return
				}
				if n < last {
					watched <- fmt.Errorf("count went from %d to %d", last, n)
					return
				}
				last = n
			}
		}
	}()

	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				r := walSecret(fmt.Sprintf("w%d-%03d", w, i), strings.Repeat("x", 100*(i%40)))
				if err := s.Update(ctx, func(tx rotor.Tx) error { return tx.CreateSecret(r) }); err != nil {
					errs <- err
					return
				}
				var n int
				if err := plain.QueryRow("SELECT count(*) FROM secrets WHERE arn = ?", r.ARN).Scan(&n); err != nil || n != 1 {
					errs <- fmt.Errorf("%s after Update, without the VFS: %d rows, %v", r.Name, n, err)
					return
				}
				if err := s.View(ctx, func(tx rotor.Tx) error {
					_, err := tx.Secret(r.ARN)
					return err
				}); err != nil {
					errs <- fmt.Errorf("%s after Update, in View: %w", r.Name, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(done)
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if err := <-watched; err != nil {
		t.Error(err)
	}
	if n := countSecrets(t, plain); n != writers*each {
		t.Errorf("%d secrets, want %d", n, writers*each)
	}
	checkIntegrity(t, plain)
}

// TestWALBarrierFlushes commits through the VFS with synchronous=NORMAL,
// where the WAL is never synced and only the barrier SQLite calls before it
// publishes the frames puts them in the file, and reads from a connection
// without the VFS while the writer still holds the WAL write lock (before
// the flush when that lock is released).
func TestWALBarrierFlushes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "normal.db")
	w := walConn(t, path, url.Values{"_synchronous": {"NORMAL"}})
	if _, err := w.Exec("CREATE TABLE t (x BLOB NOT NULL)"); err != nil {
		t.Fatal(err)
	}
	plain := plainDB(t, path)
	checkIntegrity(t, plain)

	// Run inWindow in the writer's xShmLock before it releases the write
	// lock: its file's methods become a copy of its table whose xShmLock
	// calls it first.
	pDb := dbFileOf(t, path)
	f := (*sqlite3.Tsqlite3_file)(cmem(pDb))
	orig := f.FpMethods
	tls := libc.NewTLS()
	defer tls.Close()
	window := libc.Xmalloc(tls, types.Size_t(unsafe.Sizeof(ioMethods{})))
	if window == 0 {
		t.Fatal("no memory")
	}
	defer libc.Xfree(tls, window)
	*(*ioMethods)(cmem(window)) = *(*ioMethods)(cmem(orig))
	(*ioMethods)(cmem(window)).m.FxShmLock = fnAddr(windowShmLock)
	f.FpMethods = window
	defer func() { f.FpMethods = orig }()

	blob := strings.Repeat("b", 1000)
	for round := 1; round <= 5; round++ {
		var seen []string
		inWindow = func() {
			var n, size int
			err := plain.QueryRow("SELECT count(*), coalesce(sum(length(x)), 0) FROM t").Scan(&n, &size)
			seen = append(seen, fmt.Sprintf("%d rows, %d bytes, %v", n, size, err))
		}
		tx, err := w.Begin()
		if err != nil {
			t.Fatal(err)
		}
		for range 3 {
			if _, err := tx.Exec("INSERT INTO t VALUES (?)", blob); err != nil {
				t.Fatal(err)
			}
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
		inWindow = nil
		want := fmt.Sprintf("%d rows, %d bytes, <nil>", 3*round, 3*round*len(blob))
		if len(seen) != 1 || seen[0] != want {
			t.Fatalf("round %d: before the write lock was released, a connection without the VFS saw %q, want [%q]", round, seen, want)
		}
	}
	checkIntegrity(t, plain)
}

var inWindow func() // see TestWALBarrierFlushes

func windowShmLock(tls *libc.TLS, pFile uintptr, ofst, n, flags int32) int32 {
	if h := inWindow; h != nil && ofst == 0 && flags == sqlite3.SQLITE_SHM_UNLOCK|sqlite3.SQLITE_SHM_EXCLUSIVE {
		h()
	}
	return dbShmLock(tls, pFile, ofst, n, flags)
}

// dbFileOf returns the one database file open through the VFS at path.
func dbFileOf(t *testing.T, path string) uintptr {
	t.Helper()
	name, err := filepath.EvalSymlinks(path)
	if err != nil {
		t.Fatal(err)
	}
	var files []uintptr
	dbFiles.Range(func(k, v any) bool {
		if db, err := filepath.EvalSymlinks(v.(string)); err == nil && db == name {
			files = append(files, k.(uintptr))
		}
		return true
	})
	if len(files) != 1 {
		t.Fatalf("%d database files %s open through %s, want 1", len(files), path, walVFSName)
	}
	return files[0]
}

// TestWALRollbackFlushedBeforeUnlock checks that frames a transaction
// spilled to the WAL and then rolled back reach the file before the
// connection releases the WAL write lock: left in the buffer, they would be
// written later, over the frames another connection committed there.
func TestWALRollbackFlushedBeforeUnlock(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rollback.db")
	a := walConn(t, path, nil)
	if _, err := a.Exec("CREATE TABLE t (k INTEGER PRIMARY KEY, x BLOB NOT NULL)"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Exec("PRAGMA cache_size = 10"); err != nil { // spill early
		t.Fatal(err)
	}
	tx, err := a.Begin()
	if err != nil {
		t.Fatal(err)
	}
	for i := range 40 {
		if _, err := tx.Exec("INSERT INTO t VALUES (?, ?)", i, strings.Repeat("a", 3000)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}

	// Another connection commits frames over the range a's spilled ones
	// took.
	b := plainDB(t, path)
	btx, err := b.Begin()
	if err != nil {
		t.Fatal(err)
	}
	for i := range 60 {
		if _, err := btx.Exec("INSERT INTO t VALUES (?, ?)", i, strings.Repeat("b", 3000)); err != nil {
			t.Fatal(err)
		}
	}
	if err := btx.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := a.Close(); err != nil { // flushes whatever a still holds
		t.Fatal(err)
	}
	c := plainDB(t, path)
	checkIntegrity(t, c)
	var n int
	if err := c.QueryRow("SELECT count(*) FROM t WHERE x = ?", strings.Repeat("b", 3000)).Scan(&n); err != nil || n != 60 {
		t.Fatalf("%d of the 60 rows another connection committed read back, %v", n, err)
	}
}

// TestWALLargeTransaction commits more than walBufSize in one transaction
// (so with flushes mid-commit, and pages spilled and read back), then
// checkpoints, writes again into the restarted WAL, and reopens.
func TestWALLargeTransaction(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rotor.db")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	desc := func(i int) string { return strings.Repeat(string(rune('a'+i%26)), 4000) }
	const n = 500 // 2 MB
	if err := s.Update(ctx, func(tx rotor.Tx) error {
		for i := range n {
			if err := tx.CreateSecret(walSecret(fmt.Sprintf("large-%03d", i), desc(i))); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	calls, writes := walStats(t, path)
	t.Logf("SQLite made %d WAL writes, the VFS %d", calls, writes)
	if writes < 2 {
		t.Errorf("2 MB in %d WAL writes, want more than one (walBufSize)", writes)
	}
	check := func(s *Store, want int) {
		t.Helper()
		if err := s.View(ctx, func(tx rotor.Tx) error {
			for i := range want {
				r, err := tx.Secret(walSecret(fmt.Sprintf("large-%03d", i), "").ARN)
				if err != nil {
					return err
				}
				if r.Description != desc(i) {
					return fmt.Errorf("secret %d reads back %d bytes, not what was written", i, len(r.Description))
				}
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	check(s, n)
	var busy, logFrames, ckpt int
	if err := s.writer.QueryRow("PRAGMA wal_checkpoint(TRUNCATE)").Scan(&busy, &logFrames, &ckpt); err != nil || busy != 0 {
		t.Fatalf("wal_checkpoint(TRUNCATE): busy %d, %v", busy, err)
	}
	if fi, err := os.Stat(path + "-wal"); err != nil || fi.Size() != 0 {
		t.Fatalf("WAL after checkpoint(TRUNCATE): %v, %v", fi, err)
	}
	if err := s.Update(ctx, func(tx rotor.Tx) error { // into the restarted WAL
		return tx.CreateSecret(walSecret(fmt.Sprintf("large-%03d", n), desc(n)))
	}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openWALStore(t, path)
	check(s, n+1)
	checkIntegrity(t, s.readers)
}
