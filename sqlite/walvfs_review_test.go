package sqlite

import (
	"database/sql"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
)

// walConn opens a database/sql handle of one connection to path through
// the writer's VFS, in WAL mode, with extra parameters.
func walConn(t *testing.T, path string, extra url.Values) *sql.DB {
	t.Helper()
	if err := registerWalVFS(); err != nil {
		t.Fatal(err)
	}
	q := url.Values{"vfs": {walVFSName}, "_journal_mode": {"WAL"}, "_synchronous": {"FULL"}, "_busy_timeout": {"5000"}}
	for k, v := range extra {
		q[k] = v
	}
	db, err := sql.Open("sqlite", dsn(path, q))
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	db.SetConnMaxLifetime(0)
	t.Cleanup(func() { db.Close() })
	return db
}

func mustExec(t *testing.T, db interface {
	Exec(string, ...any) (sql.Result, error)
}, q string, args ...any) {
	t.Helper()
	if _, err := db.Exec(q, args...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

// TestWALExclusiveLockingRollback: a connection of the VFS in
// locking_mode=EXCLUSIVE takes no WAL write lock in the -shm (SQLite skips
// xShmLock in exclusive mode), so the frames of a transaction it rolls back
// after a cache spill are released from no xShmLock unlock. Once it leaves
// exclusive mode another connection may commit frames at those offsets; the
// rolled-back frames must not be written over them later.
func TestWALExclusiveLockingRollback(t *testing.T) {
	path := filepath.Join(t.TempDir(), "excl.db")
	a := walConn(t, path, nil)
	mustExec(t, a, "CREATE TABLE t (k INTEGER PRIMARY KEY, x BLOB NOT NULL)")
	mustExec(t, a, "INSERT INTO t VALUES (0, 'seed')")
	mustExec(t, a, "PRAGMA cache_size = 10")
	mustExec(t, a, "PRAGMA locking_mode = EXCLUSIVE")
	mustExec(t, a, "INSERT INTO t VALUES (1, 'excl')") // now in exclusive mode
	mustExec(t, a, "PRAGMA wal_checkpoint")            // so the next write restarts the WAL
	tx, err := a.Begin()
	if err != nil {
		t.Fatal(err)
	}
	for i := range 40 {
		if _, err := tx.Exec("INSERT INTO t VALUES (?, ?)", 100+i, strings.Repeat("a", 3000)); err != nil {
			t.Fatal(err)
		}
	}
	// Leaving exclusive mode takes effect as this transaction ends: the
	// database lock goes from EXCLUSIVE to SHARED right after the rollback.
	if _, err := tx.Exec("PRAGMA locking_mode = NORMAL"); err != nil {
		t.Fatal(err)
	}
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	var n int

	b := plainDB(t, path)
	btx, err := b.Begin()
	if err != nil {
		t.Fatal(err)
	}
	for i := range 60 {
		if _, err := btx.Exec("INSERT INTO t VALUES (?, ?)", 1000+i, strings.Repeat("b", 3000)); err != nil {
			t.Fatal(err)
		}
	}
	if err := btx.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	c := plainDB(t, path)
	checkIntegrity(t, c)
	if err := c.QueryRow("SELECT count(*) FROM t WHERE x = ?", strings.Repeat("b", 3000)).Scan(&n); err != nil || n != 60 {
		t.Fatalf("%d of the 60 rows another connection committed read back, %v", n, err)
	}
}
