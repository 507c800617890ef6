package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rotorhq/rotor"
)

// These tests try to break the writer's VFS (walvfs.go) on real files with
// real connections: random transactions against a model, several Stores
// in one process, locking_mode=EXCLUSIVE, what the files hold once COMMIT
// returns, and open/close cycles. walvfs_crash_unix_test.go kills a writing
// process.

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

// walModel is what a table (k INTEGER PRIMARY KEY, v BLOB) should hold.
type walModel map[int64][]byte

func (m walModel) clone() walModel {
	c := make(walModel, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}

// checkModel reads table t through db and compares it with m.
func checkModel(db interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}, m walModel) error {
	rows, err := db.QueryContext(context.Background(), "SELECT k, v FROM t ORDER BY k")
	if err != nil {
		return err
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var k int64
		var v []byte
		if err := rows.Scan(&k, &v); err != nil {
			return err
		}
		want, ok := m[k]
		if !ok {
			return fmt.Errorf("row %d (%d bytes) read back, not in the model", k, len(v))
		}
		if !bytes.Equal(v, want) {
			return fmt.Errorf("row %d reads back %d bytes %.8x..., want %d bytes %.8x...", k, len(v), v, len(want), want)
		}
		n++
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if n != len(m) {
		return fmt.Errorf("%d rows read back, want %d", n, len(m))
	}
	return nil
}

// walValue returns a value for row k, distinct per (k, gen), of size bytes.
func walValue(k int64, gen, size int) []byte {
	v := make([]byte, size)
	for i := range v {
		v[i] = byte(int(k)*31 + gen*7 + i)
	}
	if size >= 8 {
		binary.BigEndian.PutUint32(v, uint32(k))
		binary.BigEndian.PutUint32(v[4:], uint32(gen))
	}
	return v
}

// TestWALRandomTransactions runs random transactions through the VFS on a
// connection whose page cache spills at 10 pages: inserts, updates and
// deletes of rows up to several pages, nested savepoints rolled back to and
// released (so frames are rewritten at lower offsets, and pages written
// twice in a transaction are overwritten in place and their checksums
// rewritten at commit), commits and rollbacks. Between statements, a
// connection without the VFS checkpoints (PASSIVE while a transaction is
// open; RESTART and TRUNCATE between them, so the WAL restarts from its
// header) and checks that it reads exactly the last committed state. At
// the end the file is checked after the VFS's connection closes and after
// it is reopened.
func TestWALRandomTransactions(t *testing.T) {
	path := filepath.Join(t.TempDir(), "random.db")
	w := walConn(t, path, url.Values{"_pragma": {"cache_size(10)"}})
	mustExec(t, w, "CREATE TABLE t (k INTEGER PRIMARY KEY, v BLOB NOT NULL)")
	other := plainDB(t, path)
	other.SetMaxOpenConns(1)
	rng := rand.New(rand.NewPCG(1, 2))
	committed := walModel{}
	gen := 0
	ctx := context.Background()
	conn, err := w.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := conn.ExecContext(ctx, q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	check := func(when string) {
		t.Helper()
		if err := checkModel(other, committed); err != nil {
			t.Fatalf("%s, a connection without the VFS: %v", when, err)
		}
	}
	checkpoint := func(mode string) {
		t.Helper()
		var busy, logN, ckpt int
		if err := other.QueryRow("PRAGMA wal_checkpoint("+mode+")").Scan(&busy, &logN, &ckpt); err != nil {
			t.Fatalf("wal_checkpoint(%s): %v", mode, err)
		}
	}
	for txn := range 300 {
		cur := committed.clone()
		var saves []walModel
		exec("BEGIN IMMEDIATE")
		for range 1 + rng.IntN(30) {
			gen++
			k := int64(rng.IntN(200))
			switch op := rng.IntN(20); {
			case op < 10:
				v := walValue(k, gen, 1+rng.IntN(12000))
				exec("INSERT OR REPLACE INTO t VALUES (?, ?)", k, v)
				cur[k] = v
			case op < 12:
				exec("DELETE FROM t WHERE k = ?", k)
				delete(cur, k)
			case op < 14:
				exec(fmt.Sprintf("SAVEPOINT s%d", len(saves)))
				saves = append(saves, cur.clone())
			case op < 16 && len(saves) > 0:
				i := rng.IntN(len(saves))
				exec(fmt.Sprintf("ROLLBACK TO s%d", i))
				cur = saves[i].clone()
				saves = saves[:i+1]
			case op < 17 && len(saves) > 0:
				i := rng.IntN(len(saves))
				exec(fmt.Sprintf("RELEASE s%d", i))
				saves = saves[:i]
			case op < 18:
				checkpoint("PASSIVE")
				check(fmt.Sprintf("transaction %d open", txn))
			default: // read back, from the VFS's connection, what this transaction wrote
				var v []byte
				err := conn.QueryRowContext(ctx, "SELECT v FROM t WHERE k = ?", k).Scan(&v)
				if want, ok := cur[k]; ok != (err == nil) || !bytes.Equal(v, want) {
					t.Fatalf("transaction %d reads its own row %d: %d bytes, %v; want %d bytes", txn, k, len(v), err, len(want))
				}
			}
		}
		if rng.IntN(5) == 0 {
			exec("ROLLBACK")
		} else {
			exec("COMMIT")
			committed = cur
		}
		check(fmt.Sprintf("after transaction %d", txn))
		switch rng.IntN(4) {
		case 0:
			checkpoint("TRUNCATE")
		case 1:
			checkpoint("RESTART")
		}
	}
	if err := checkModel(conn, committed); err != nil {
		t.Fatalf("the VFS's connection: %v", err)
	}
	conn.Close()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	checkIntegrity(t, other)
	check("after the VFS's connection closed")
	w = walConn(t, path, nil)
	if err := checkModel(w, committed); err != nil {
		t.Fatalf("reopened through the VFS: %v", err)
	}
	checkIntegrity(t, w)
}

// TestWALStoresConcurrent runs two Stores on one file and a third on
// another in one process, their writers spilling at 10 pages: concurrent
// Updates that commit secrets (each description a function of its name),
// Updates that write ~40 pages and then fail (rolled back, as a savepoint
// of a batch or as the whole transaction), checkpoints (PASSIVE, RESTART,
// TRUNCATE) from a connection without the VFS and from the Stores'
// readers, and readers that check every secret acknowledged so far reads
// back whole, from both Stores and without the VFS, and that no failed
// Update's secret is ever seen.
func TestWALStoresConcurrent(t *testing.T) {
	dir := t.TempDir()
	shared := filepath.Join(dir, "shared.db")
	// A RESTART or TRUNCATE checkpoint holds the WAL write lock while it
	// waits (its busy timeout) for readers to leave; the checkpoints give
	// up after 50 ms, and the Stores' writers wait longer than that.
	var stores []*Store
	for _, p := range []string{shared, shared, filepath.Join(dir, "other.db")} {
		s, err := OpenWith(p, Options{BusyTimeout: time.Minute})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		mustExec(t, s.writer, "PRAGMA cache_size = 10")
		stores = append(stores, s)
	}
	plain := plainDB(t, shared)
	ckpt, err := sql.Open("sqlite", dsn(shared, url.Values{"_busy_timeout": {"50"}}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ckpt.Close() })
	ctx := context.Background()
	desc := func(name string) string {
		n := len(name) * 97 % 6000
		return strings.Repeat(name[len(name)-1:], n) + name
	}

	var mu sync.Mutex
	acked := map[int][]string{} // store index -> names acknowledged
	stop := make(chan struct{})
	errs := make(chan error, 100)
	fail := func(err error) {
		select {
		case errs <- err:
		default:
		}
	}
	var writers, others sync.WaitGroup
	for si, s := range stores {
		for w := range 4 {
			writers.Add(1)
			go func() {
				defer writers.Done()
				for i := range 60 {
					if i%10 == 9 { // ~40 pages, then fail
						err := s.Update(ctx, func(tx rotor.Tx) error {
							for j := range 40 {
								if err := tx.CreateSecret(walSecret(fmt.Sprintf("doomed-%d-%d-%d-%d", si, w, i, j), strings.Repeat("z", 3500))); err != nil {
									return err
								}
							}
							return errDoomed
						})
						if err != errDoomed {
							fail(fmt.Errorf("doomed Update: %v", err))
							return
						}
						continue
					}
					name := fmt.Sprintf("s%d-w%d-%03d", si, w, i)
					if err := s.Update(ctx, func(tx rotor.Tx) error { return tx.CreateSecret(walSecret(name, desc(name))) }); err != nil {
						fail(err)
						return
					}
					mu.Lock()
					acked[si] = append(acked[si], name)
					mu.Unlock()
				}
			}()
		}
	}
	others.Add(1)
	go func() { // checkpoints
		defer others.Done()
		modes := []string{"PASSIVE", "RESTART", "TRUNCATE"}
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			db, mode := ckpt, modes[i%3]
			if i%2 == 1 { // the Stores' readers wait a minute: PASSIVE only
				db, mode = stores[i%3].readers, "PASSIVE"
			}
			var busy, logN, done int
			if err := db.QueryRow("PRAGMA wal_checkpoint("+mode+")").Scan(&busy, &logN, &done); err != nil {
				fail(fmt.Errorf("wal_checkpoint(%s): %w", mode, err))
				return
			}
		}
	}()
	verify := func(si int, names []string) error {
		s := stores[si]
		views := []*Store{s}
		if si < 2 {
			views = stores[:2]
		}
		for _, v := range views {
			if err := v.View(ctx, func(tx rotor.Tx) error {
				for _, name := range names {
					r, err := tx.Secret(walSecret(name, "").ARN)
					if err != nil {
						return fmt.Errorf("%s: %w", name, err)
					}
					if r.Description != desc(name) {
						return fmt.Errorf("%s reads back a description of %d bytes, want %d", name, len(r.Description), len(desc(name)))
					}
				}
				var n int
				if err := v.readers.QueryRow("SELECT count(*) FROM secrets WHERE name LIKE 'doomed-%'").Scan(&n); err != nil || n != 0 {
					return fmt.Errorf("%d secrets of failed Updates, %v", n, err)
				}
				return nil
			}); err != nil {
				return err
			}
		}
		if si < 2 {
			for _, name := range names {
				var d string
				if err := plain.QueryRow("SELECT description FROM secrets WHERE name = ?", name).Scan(&d); err != nil || d != desc(name) {
					return fmt.Errorf("%s without the VFS: %d bytes, %v", name, len(d), err)
				}
			}
		}
		return nil
	}
	for range 3 {
		others.Add(1)
		go func() { // readers
			defer others.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				si := i % 3
				mu.Lock()
				names := slices.Clone(acked[si])
				mu.Unlock()
				if len(names) > 50 {
					names = names[len(names)-50:]
				}
				if err := verify(si, names); err != nil {
					fail(err)
					return
				}
			}
		}()
	}
	writers.Wait()
	close(stop)
	others.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	for si := range stores {
		if err := verify(si, acked[si]); err != nil {
			t.Error(err)
		}
		checkIntegrity(t, stores[si].readers)
	}
	if n := len(acked[0]) + len(acked[1]); countSecrets(t, plain) != n {
		t.Errorf("%d secrets in the shared file, want %d", countSecrets(t, plain), n)
	}
	for _, s := range stores {
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
	checkIntegrity(t, plain)
}

var errDoomed = errors.New("doomed")

// rss returns this process's resident set, in bytes, from /proc/self/statm.
func rss(t *testing.T) int64 {
	t.Helper()
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		t.Skipf("no /proc/self/statm: %v", err)
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		t.Skipf("/proc/self/statm: %q", b)
	}
	pages, err := strconv.ParseInt(f[1], 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return pages * int64(os.Getpagesize())
}

func openFDs(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("no /proc/self/fd: %v", err)
	}
	return len(ents)
}

// TestWALOpenCloseCycles opens a Store, writes a commit through its VFS and
// closes it, 2,000 times: every WAL buffer (128 KiB of C memory) and file
// the VFS registered is released, and neither resident memory nor open
// files grow with the cycles (a buffer kept per cycle would add 225 MiB
// between cycle 200 and 2,000).
func TestWALOpenCloseCycles(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("2,000 Opens (three minutes with -race, which checks nothing here)")
	}
	path := filepath.Join(t.TempDir(), "cycles.db")
	ctx := context.Background()
	cycle := func(i int) {
		s, err := Open(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Update(ctx, func(tx rotor.Tx) error {
			return tx.CreateSecret(walSecret(fmt.Sprintf("cycle-%04d", i), strings.Repeat("c", 5000)))
		}); err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
	registered := func() (wal, db int) {
		walFiles.Range(func(_, v any) bool {
			if strings.HasPrefix(v.(*walBuf).db, filepath.Dir(path)) {
				wal++
			}
			return true
		})
		dbFiles.Range(func(_, v any) bool {
			if strings.HasPrefix(v.(string), filepath.Dir(path)) {
				db++
			}
			return true
		})
		return wal, db
	}
	for i := range 200 {
		cycle(i)
	}
	runtime.GC()
	rss0, fds0 := rss(t), openFDs(t)
	for i := 200; i < 2000; i++ {
		cycle(i)
	}
	runtime.GC()
	rss1, fds1 := rss(t), openFDs(t)
	t.Logf("resident after 200 cycles %.1f MiB, after 2,000 %.1f MiB; open files %d, %d", float64(rss0)/(1<<20), float64(rss1)/(1<<20), fds0, fds1)
	if wal, db := registered(); wal != 0 || db != 0 {
		t.Errorf("after every Store closed, %d WAL and %d database files still registered with the VFS", wal, db)
	}
	if fds1 > fds0 {
		t.Errorf("open files grew from %d to %d over 1,800 cycles", fds0, fds1)
	}
	if rss1-rss0 > 32<<20 {
		t.Errorf("resident memory grew by %d MiB over 1,800 cycles", (rss1-rss0)>>20)
	}
	s := openWALStore(t, path)
	if n := countSecrets(t, s.readers); n != 2000 {
		t.Errorf("%d secrets after 2,000 cycles, want 2,000", n)
	}
}

// TestWALCommitInFileWhenAcknowledged checks that once COMMIT returns, its
// frames are in the WAL file (what a process killed then would leave), for
// each synchronous level SQLite makes commits survive a process crash with
// and for locking_mode=EXCLUSIVE set before the WAL is opened, where the
// WAL index is in heap memory and SQLite calls no xShmBarrier or xShmLock:
// a copy of the database and WAL files taken right after the COMMIT must
// hold the committed rows.
func TestWALCommitInFileWhenAcknowledged(t *testing.T) {
	for _, c := range []struct{ locking, sync string }{
		{"NORMAL", "FULL"}, {"NORMAL", "NORMAL"}, {"EXCLUSIVE", "FULL"}, {"EXCLUSIVE", "NORMAL"},
	} {
		t.Run(c.locking+"/"+c.sync, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "ack.db")
			if err := registerWalVFS(); err != nil {
				t.Fatal(err)
			}
			w, err := sql.Open("sqlite", dsn(path, url.Values{"vfs": {walVFSName}}))
			if err != nil {
				t.Fatal(err)
			}
			defer w.Close()
			w.SetMaxOpenConns(1)
			for _, q := range []string{
				"PRAGMA locking_mode = " + c.locking, // before the WAL opens
				"PRAGMA journal_mode = WAL",
				"PRAGMA synchronous = " + c.sync,
				"CREATE TABLE t (k INTEGER PRIMARY KEY, x BLOB NOT NULL)",
			} {
				mustExec(t, w, q)
			}
			for round := 1; round <= 3; round++ {
				mustExec(t, w, "INSERT INTO t VALUES (?, ?)", round, strings.Repeat("x", 3000))
				// What a SIGKILL now would leave: the files' contents.
				snap := filepath.Join(dir, fmt.Sprintf("snap%d", round))
				if err := os.Mkdir(snap, 0o700); err != nil {
					t.Fatal(err)
				}
				for _, suffix := range []string{"", "-wal"} {
					b, err := os.ReadFile(path + suffix)
					if err != nil {
						t.Fatal(err)
					}
					if err := os.WriteFile(filepath.Join(snap, "ack.db"+suffix), b, 0o600); err != nil {
						t.Fatal(err)
					}
				}
				p := plainDB(t, filepath.Join(snap, "ack.db"))
				var n int
				if err := p.QueryRow("SELECT count(*) FROM t").Scan(&n); err != nil || n != round {
					t.Fatalf("after commit %d, the files hold %d rows, %v", round, n, err)
				}
				checkIntegrity(t, p)
			}
		})
	}
}
