package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rotorhq/rotor"
	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver
)

// DefaultBusyTimeout is how long a connection waits for a lock held by
// another connection before it gives up, when Options.BusyTimeout is 0.
const DefaultBusyTimeout = 5 * time.Second

// Options tune a Store. The zero value is the default.
type Options struct {
	// BusyTimeout is how long a statement waits for a lock held by another
	// connection (another process on the same file, or a checkpoint) before
	// failing; 0 means DefaultBusyTimeout.
	BusyTimeout time.Duration
	// MmapSize, when positive, is PRAGMA mmap_size of the reader
	// connections: SQLite reads up to that many bytes of the file through a
	// memory map instead of read(2) calls (which measured no cheaper for
	// reads spread over a million secrets, docs/benchmarks.md), and the
	// mapped pages a process touched count in its RSS, once per
	// connection. 0 = off.
	MmapSize int64
}

// Store is a rotor.Store on one SQLite file. It is safe for concurrent use.
// Create it with Open or OpenWith and release it with Close.
type Store struct {
	path    string
	writer  *sql.DB // exactly one connection: serialises Update
	readers *sql.DB // query_only pool for View
	busy    string  // busy timeout in milliseconds, for the DSN
	commit  *committer
	writes  *writeStmts // the writer's prepared write statements

	// Prepared read statements of writer and readers (see stmtCache).
	writerStmts, readerStmts *stmtCache

	closed    atomic.Bool
	closeOnce sync.Once
	closeErr  error
}

var _ rotor.Store = (*Store)(nil)

// Open opens the database file at path with default Options: it creates the
// file with mode 0600 if it is missing (so SQLite's -wal and -shm files
// inherit that mode), switches it to WAL mode and applies any migrations it
// lacks. Errors are *rotor.Error with code EINTERNAL.
func Open(path string) (*Store, error) {
	return OpenWith(path, Options{})
}

// OpenWith is Open with explicit Options. Errors are *rotor.Error with code
// EINTERNAL; their cause says what failed (creating the file, connecting,
// or migrating, including a database written by a newer version of Rotor).
func OpenWith(path string, o Options) (*Store, error) {
	if path == "" {
		return nil, rotor.Errorf(rotor.EINTERNAL, "The database path is empty.")
	}
	if o.BusyTimeout <= 0 {
		o.BusyTimeout = DefaultBusyTimeout
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, openError("resolve path", err)
	}
	// Create the file ourselves, so it (and the -wal and -shm files SQLite
	// creates next to it with the same mode) is readable by the owner only.
	f, err := os.OpenFile(abs, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, openError("create database file", err)
	}
	if err := f.Close(); err != nil {
		return nil, openError("create database file", err)
	}

	busy := strconv.FormatInt(max(1, o.BusyTimeout.Milliseconds()), 10)
	s := &Store{path: abs, busy: busy, commit: newCommitter()}
	// The writer's WAL appends are gathered into one write(2) a commit
	// (walvfs.go); readers use the plain unix VFS.
	if err := registerWalVFS(); err != nil {
		return nil, openError("register VFS", err)
	}
	s.writer, err = sql.Open("sqlite", dsn(abs, url.Values{
		"vfs":           {walVFSName},
		"_busy_timeout": {busy},
		"_journal_mode": {"WAL"},
		"_synchronous":  {"FULL"},
		"_foreign_keys": {"1"},
		"_txlock":       {"immediate"},
		"_defensive":    {"1"},
	}))
	if err != nil {
		return nil, openError("open writer", err)
	}
	s.writer.SetMaxOpenConns(1)
	s.writer.SetMaxIdleConns(1)
	s.writer.SetConnMaxLifetime(0)
	s.writer.SetConnMaxIdleTime(0)
	if err := s.writer.Ping(); err != nil {
		s.writer.Close()
		return nil, openError("connect writer", err)
	}
	if err := migrate(s.writer); err != nil {
		s.writer.Close()
		return nil, openError("migrate", err)
	}
	// The read statements are prepared now, while the writer's connection
	// is free (see stmtCache); write statements are prepared between
	// group-commit batches (see writeStmts).
	if s.writerStmts, err = newStmtCache(context.Background(), s.writer, preparedQueries); err != nil {
		s.writer.Close()
		return nil, openError("prepare writer statements", err)
	}
	s.writes = newWriteStmts(s.writer)

	readerParams := url.Values{
		"_busy_timeout": {busy},
		"_foreign_keys": {"1"},
		"_query_only":   {"1"},
		"_defensive":    {"1"},
	}
	if o.MmapSize > 0 {
		readerParams.Set("_pragma", "mmap_size("+strconv.FormatInt(o.MmapSize, 10)+")")
	}
	s.readers, err = sql.Open("sqlite", dsn(abs, readerParams))
	if err != nil {
		s.writer.Close()
		return nil, openError("open readers", err)
	}
	n := max(4, runtime.GOMAXPROCS(0))
	s.readers.SetMaxOpenConns(n)
	s.readers.SetMaxIdleConns(n)
	if err := s.readers.Ping(); err != nil {
		s.Close()
		return nil, openError("connect reader", err)
	}
	if s.readerStmts, err = newStmtCache(context.Background(), s.readers, preparedQueries); err != nil {
		s.Close()
		return nil, openError("prepare reader statements", err)
	}
	return s, nil
}

// dsn builds a file: URI for path (escaped, so any character in the path is
// safe) carrying the driver parameters in q.
func dsn(path string, q url.Values) string {
	u := url.URL{Scheme: "file", Path: filepath.ToSlash(path), RawQuery: q.Encode()}
	if u.Path != "" && u.Path[0] != '/' {
		u.Path = "/" + u.Path // Windows drive letters: file:///C:/...
	}
	return u.String()
}

func openError(op string, err error) error {
	return &rotor.Error{Code: rotor.EINTERNAL, Message: "The database could not be opened.", Err: fmt.Errorf("sqlite: %s: %w", op, err)}
}

// Update runs fn in a write transaction on the single writer connection.
// Write transactions start with BEGIN IMMEDIATE and run one at a time, so a
// read-modify-write inside fn is safe. fn's work commits, durably
// (synchronous=FULL), only if fn returns nil, and Update returns only after
// that commit; if fn returns an error or panics, or ctx ends first,
// everything fn did is rolled back. Concurrent Updates share commits (see
// commit.go): each runs in a savepoint of one transaction, so one fn's
// failure rolls back only its own work, and one fsync acknowledges them
// all. fn is called at most once.
//
// Update returns fn's error unchanged, or a *rotor.Error: EINTERNAL when the
// transaction cannot begin or commit (its cause wraps ctx.Err() when ctx
// ended, so errors.Is(err, context.Canceled) works). fn must not keep the Tx
// after it returns, and must not call Update (that would wait for itself).
// Statements inside fn are not interrupted when ctx ends (that would undo
// other callers' work in the shared transaction); ctx is checked before fn
// runs and after it returns.
func (s *Store) Update(ctx context.Context, fn func(rotor.Tx) error) error {
	return s.update(ctx, fn)
}

// View runs fn in a read-only transaction on a pooled reader connection.
// The snapshot is taken when View begins, so fn sees every transaction
// committed before that and nothing committed (or in progress) after it.
// Write methods of the Tx return EINTERNAL. View returns fn's error
// unchanged, or an EINTERNAL *rotor.Error as Update does.
func (s *Store) View(ctx context.Context, fn func(rotor.Tx) error) error {
	return s.run(ctx, s.readers, s.readerStmts, &sql.TxOptions{ReadOnly: true}, false, fn)
}

func (s *Store) run(ctx context.Context, db *sql.DB, stmts *stmtCache, opts *sql.TxOptions, writable bool, fn func(rotor.Tx) error) error {
	op := "view"
	if writable {
		op = "update"
	}
	stx, err := db.BeginTx(ctx, opts)
	if err != nil {
		return storeError(ctxErr(ctx, err), "transaction", op+": begin")
	}
	// Roll back unless committed, also while a panic in fn unwinds, so the
	// connection always returns to its pool. After Commit this is a no-op.
	defer stx.Rollback()
	if !writable {
		// A deferred read transaction takes its snapshot at its first
		// read; read now so the snapshot is that of View's start.
		var one int
		if err := stmts.queryRowContext(ctx, stx, snapshotQuery).Scan(&one); err != nil {
			return storeError(ctxErr(ctx, err), "transaction", op+": snapshot")
		}
	}
	if err := fn(&tx{ctx: ctx, tx: stx, reads: stmts, writable: writable}); err != nil {
		return err
	}
	if err := stx.Commit(); err != nil {
		return storeError(ctxErr(ctx, err), "transaction", op+": commit")
	}
	return nil
}

// snapshotQuery is View's first read, which takes its snapshot.
const snapshotQuery = "SELECT 1 FROM sqlite_master LIMIT 1"

// ctxErr prefers the context's error over the one database/sql reports
// (often sql.ErrTxDone) when the context has ended.
func ctxErr(ctx context.Context, err error) error {
	if cerr := ctx.Err(); cerr != nil && !errors.Is(err, cerr) {
		return fmt.Errorf("%w: %w", cerr, err)
	}
	return err
}

// Backup writes a consistent snapshot of the database to path with VACUUM
// INTO while the store stays in use: the copy holds every transaction
// committed before Backup began, and writes go on meanwhile. The file is
// created with mode 0600, synced to disk, and can be opened with Open.
//
// Returns EINVALID if path is empty, already exists or its directory does
// not exist, and EINTERNAL for other failures (after removing any partial
// file).
func (s *Store) Backup(ctx context.Context, path string) (err error) {
	if path == "" {
		return rotor.Errorf(rotor.EINVALID, "The backup path is empty.")
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return rotor.Errorf(rotor.EINVALID, "The backup path is not valid.")
	}
	// Claim the path atomically and with the final mode; VACUUM INTO
	// accepts an existing empty file.
	f, err := os.OpenFile(abs, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	switch {
	case errors.Is(err, fs.ErrExist):
		return &rotor.Error{Code: rotor.EINVALID, Message: "The backup file already exists.", Err: err}
	case errors.Is(err, fs.ErrNotExist):
		return &rotor.Error{Code: rotor.EINVALID, Message: "The backup file's directory does not exist.", Err: err}
	case err != nil:
		return backupError("create file", err)
	}
	f.Close()
	defer func() {
		if err != nil {
			os.Remove(abs)
		}
	}()

	// The pooled readers are query_only, which forbids VACUUM INTO, so the
	// copy is made on a connection of its own. Like any reader in WAL mode
	// it sees one snapshot and does not block the writer.
	if s.closed.Load() {
		return backupError("connect", errors.New("store is closed"))
	}
	db, err := sql.Open("sqlite", dsn(s.path, url.Values{"_busy_timeout": {s.busy}, "_defensive": {"1"}}))
	if err != nil {
		return backupError("connect", err)
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, "VACUUM INTO ?", abs); err != nil {
		return backupError("vacuum into", ctxErr(ctx, err))
	}
	if err := db.Close(); err != nil {
		return backupError("close", err)
	}
	if err := os.Chmod(abs, 0o600); err != nil {
		return backupError("chmod", err)
	}
	if err := syncFile(abs); err != nil {
		return backupError("sync file", err)
	}
	if err := syncDir(filepath.Dir(abs)); err != nil {
		return backupError("sync directory", err)
	}
	return nil
}

func backupError(op string, err error) error {
	return &rotor.Error{Code: rotor.EINTERNAL, Message: "The backup could not be written.", Err: fmt.Errorf("sqlite: backup: %s: %w", op, err)}
}

func syncFile(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// syncDir makes a new directory entry durable. Platforms that cannot sync a
// directory (Windows) report an error that is ignored.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && runtime.GOOS != "windows" {
		return err
	}
	return nil
}

// Close closes every connection. Transactions in flight should have ended;
// later calls to Update, View or Backup return EINTERNAL. Close is safe to
// call more than once and returns the first call's result (EINTERNAL if a
// connection failed to close).
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.closed.Store(true)
		var errs []error
		for _, c := range []*stmtCache{s.readerStmts, s.writerStmts} {
			if c != nil {
				errs = append(errs, c.close())
			}
		}
		if s.readers != nil {
			errs = append(errs, s.readers.Close())
		}
		if s.writes != nil {
			s.writes.close()
		}
		if s.writer != nil {
			errs = append(errs, s.writer.Close())
		}
		if err := errors.Join(errs...); err != nil {
			s.closeErr = &rotor.Error{Code: rotor.EINTERNAL, Message: "The database could not be closed.", Err: fmt.Errorf("sqlite: close: %w", err)}
		}
	})
	return s.closeErr
}
