package postgres

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgconn/ctxwatch"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/rotorhq/rotor"
)

// Options tune a Store. The zero value is the default.
type Options struct {
	// MaxConns is the most connections the store's pool opens (each Watch
	// and Open's migration connection come on top, one each); 0 means the
	// URL's pool_max_conns parameter if it has one, else the larger of 4
	// and the number of CPUs. Writes use one connection at a time per
	// Store, so the rest serve View.
	MaxConns int32
	// Logger receives what the store cannot return to a caller: the change
	// feed's lost connections and reconnections (Watch). Messages never
	// hold the URL's password. Nil discards them.
	Logger *slog.Logger
}

// MinServerVersion is the oldest PostgreSQL release the store accepts
// (server_version_num): the schema uses identity columns and EXECUTE
// FUNCTION in triggers (11). The store is tested on 15.
const MinServerVersion = 110000

// writeLockKey is the key of the transaction-level advisory lock every
// Update takes first ("rotor-wr" in ASCII): it serialises the write
// transactions of every server on the database.
const writeLockKey int64 = 0x726f746f722d7772

// SQL that starts transactions (simple protocol: one round trip each).
var (
	beginWrite = "BEGIN ISOLATION LEVEL READ COMMITTED; SELECT pg_advisory_xact_lock(" + strconv.FormatInt(writeLockKey, 10) + ")"
	beginRead  = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"
)

// Store is a rotor.Store on a PostgreSQL database, shared by any number of
// servers. It is safe for concurrent use. Create it with Open and release
// it with Close.
type Store struct {
	pool    *pgxpool.Pool
	conn    *pgx.ConnConfig // for Watch's dedicated connections
	where   string          // the URL without its password, for messages
	log     *slog.Logger
	writer  chan struct{} // capacity 1: held by this process's Update
	done    chan struct{} // closed by Close
	closeMu sync.Once
	sync    syncer // see Sync (sync.go)
}

var (
	_ rotor.Store      = (*Store)(nil)
	_ rotor.ChangeFeed = (*Store)(nil)
)

// Open connects to the PostgreSQL database named by rawURL, a libpq
// connection URL (postgres://user:password@host:port/database?sslmode=...;
// the key=value form works too), applies the migrations the database lacks
// and returns the store. Several servers may open the same database at
// once: migrations run under an advisory lock, each once.
//
// Every connection runs with synchronous_commit = on unless the URL sets
// it (?synchronous_commit=remote_apply, say); "off" is refused,
// since an acknowledged write must be durable. The database must use the
// UTF8 encoding and PostgreSQL must be at least MinServerVersion.
//
// Errors are *rotor.Error: EINVALID for a URL that cannot be parsed or
// asks for something refused, EUNAVAILABLE when the server cannot be
// reached, EINTERNAL otherwise. No error or message contains the URL's
// password.
func Open(ctx context.Context, rawURL string, opts Options) (*Store, error) {
	where := redactURL(rawURL)
	cfg, err := pgxpool.ParseConfig(rawURL)
	if err != nil {
		// pgx's parse errors echo the connection string (with passwords
		// masked only on a best-effort basis): say nothing of it.
		return nil, rotor.Errorf(rotor.EINVALID, "The PostgreSQL URL %s cannot be parsed; it must be a libpq URL such as postgres://user:password@host:5432/database?sslmode=verify-full.", where)
	}
	password := cfg.ConnConfig.Password
	rp := cfg.ConnConfig.RuntimeParams
	switch v := strings.ToLower(rp["synchronous_commit"]); v {
	case "":
		rp["synchronous_commit"] = "on"
	case "off", "false", "no", "0":
		return nil, rotor.Errorf(rotor.EINVALID, "The PostgreSQL URL %s sets synchronous_commit=%s; Rotor acknowledges a write only once it is durable, so it needs on, local, remote_write or remote_apply.", where, v)
	}
	if rp["application_name"] == "" {
		rp["application_name"] = "rotor"
	}
	// A cancelled context cancels the running statement on the server
	// (and leaves the connection usable) instead of cutting the socket,
	// which would leave a statement waiting on a lock behind.
	cfg.ConnConfig.BuildContextWatcherHandler = func(c *pgconn.PgConn) ctxwatch.Handler {
		return &pgconn.CancelRequestContextWatcherHandler{Conn: c, DeadlineDelay: 10 * time.Second}
	}
	if opts.MaxConns > 0 {
		cfg.MaxConns = opts.MaxConns
	}

	// Migrate on a connection of its own, which also checks the server.
	conn, err := pgx.ConnectConfig(ctx, cfg.ConnConfig.Copy())
	if err != nil {
		return nil, openError(ctx, where, "connect", err, password)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if err := checkServer(ctx, conn, where); err != nil {
		return nil, err
	}
	if err := migrate(ctx, conn); err != nil {
		return nil, openError(ctx, where, "migrate", err, password)
	}

	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, openError(ctx, where, "open pool", err, password)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, openError(ctx, where, "connect pool", err, password)
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Store{
		pool:   pool,
		conn:   cfg.ConnConfig.Copy(),
		where:  where,
		log:    log,
		writer: make(chan struct{}, 1),
		done:   make(chan struct{}),
	}, nil
}

// checkServer refuses a server that is too old or a database whose
// encoding is not UTF8 (the store's text must be UTF-8).
func checkServer(ctx context.Context, conn *pgx.Conn, where string) error {
	var version int
	var encoding string
	if err := conn.QueryRow(ctx, `SELECT current_setting('server_version_num')::int, current_setting('server_encoding')`).Scan(&version, &encoding); err != nil {
		return openError(ctx, where, "check server", err, conn.Config().Password)
	}
	if version < MinServerVersion {
		return rotor.Errorf(rotor.EINVALID, "The PostgreSQL server at %s runs version %d; Rotor needs %d or later.", where, version, MinServerVersion)
	}
	if encoding != "UTF8" {
		return rotor.Errorf(rotor.EINVALID, "The PostgreSQL database at %s uses the encoding %s; Rotor needs a UTF8 database (CREATE DATABASE ... ENCODING 'UTF8').", where, encoding)
	}
	return nil
}

// openError is Open's error for a failure of op: EUNAVAILABLE when the
// server could not be reached, EINTERNAL otherwise. The cause keeps the
// driver's text with password masked, and wraps ctx's error when ctx
// ended, never the driver's error itself.
func openError(ctx context.Context, where, op string, err error, password string) error {
	code, msg := rotor.EINTERNAL, fmt.Sprintf("The PostgreSQL database at %s could not be opened.", where)
	if unavailable(err) {
		code, msg = rotor.EUNAVAILABLE, fmt.Sprintf("The PostgreSQL server at %s cannot be reached.", where)
	}
	text := maskPassword(err.Error(), password)
	cause := fmt.Errorf("postgres: %s: %s", op, text)
	if cerr := ctx.Err(); cerr != nil {
		cause = fmt.Errorf("postgres: %s: %w: %s", op, cerr, text)
	}
	return &rotor.Error{Code: code, Message: msg, Err: cause}
}

// maskPassword returns text with every occurrence of password replaced.
func maskPassword(text, password string) string {
	if password == "" {
		return text
	}
	return strings.ReplaceAll(text, password, "xxxxx")
}

// redactURL returns rawURL with its password replaced by "xxxxx", or a
// placeholder when it is not a URL (the key=value form, or garbage) so that
// nothing of it is echoed.
func redactURL(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return "(connection string not shown)"
	}
	if q := u.Query(); q.Has("password") {
		q.Set("password", "xxxxx")
		u.RawQuery = q.Encode()
	}
	return u.Redacted()
}

// Redacted returns the store's URL without its password, for messages.
func (s *Store) Redacted() string { return s.where }

// Update runs fn in a write transaction. Writes are serialised across every
// server on the database: the transaction (READ COMMITTED) first takes the
// advisory lock writeLockKey, which it holds until it ends, and within one
// process Updates also queue for one connection, so waiting writers hold no
// pooled connection. Serialised writers never fail with a serialization
// error, so fn is called exactly once. fn's work commits only if fn
// returns nil, with synchronous_commit on (see Open), and Update returns
// only after that commit; if fn returns an error or panics, or ctx ends
// first, everything fn did is rolled back and the lock released.
//
// A statement that fails inside PostgreSQL aborts its transaction. The
// store detects the expected errors (ENOTFOUND, EEXISTS, ESTATE, EINVALID)
// without a failing statement wherever it can, so fn may carry on after
// one, as with SQLite; after an unexpected failure (or a constraint broken
// by a concurrent writer outside the store) every later call in the
// transaction fails with EINTERNAL, and Update rolls back and returns that
// error even if fn returns nil.
//
// Before committing, Update notifies the change feed (see Watch) of the
// secrets and auth data fn wrote, in the same transaction, so the
// notification is delivered exactly when the commit is.
//
// Update returns fn's error unchanged, or a *rotor.Error: EUNAVAILABLE when
// the database cannot be reached, EINTERNAL otherwise (its cause wraps
// ctx.Err() when ctx ended). As with any database server, when the
// connection is lost during COMMIT the error cannot say whether the commit
// happened. fn must not keep the Tx after it returns, and must not call
// Update.
func (s *Store) Update(ctx context.Context, fn func(rotor.Tx) error) error {
	const op = "update"
	if err := s.ready(ctx, op); err != nil {
		return err
	}
	select {
	case s.writer <- struct{}{}:
	case <-ctx.Done():
		return storeError(ctxErr(ctx, ctx.Err()), "transaction", op+": wait for the writer")
	case <-s.done:
		return closedError(op)
	}
	defer func() { <-s.writer }()
	return s.run(ctx, op, beginWrite, true, fn)
}

// View runs fn in a read-only REPEATABLE READ transaction: every statement
// of fn sees the one snapshot taken at its first statement, which includes
// every Update that returned before View began. Write methods of the Tx
// fail with EINTERNAL without touching the database. View returns fn's
// error unchanged, or a *rotor.Error as Update does.
func (s *Store) View(ctx context.Context, fn func(rotor.Tx) error) error {
	const op = "view"
	if err := s.ready(ctx, op); err != nil {
		return err
	}
	return s.run(ctx, op, beginRead, false, fn)
}

// ready returns the error of a transaction that must not start: the store
// is closed or ctx has ended.
func (s *Store) ready(ctx context.Context, op string) error {
	select {
	case <-s.done:
		return closedError(op)
	default:
	}
	if err := ctx.Err(); err != nil {
		return storeError(ctxErr(ctx, err), "transaction", op+": begin")
	}
	return nil
}

func closedError(op string) error {
	return internalError(op, errors.New("store is closed"))
}

// run runs fn in a transaction begun with begin on a pooled connection.
func (s *Store) run(ctx context.Context, op, begin string, writable bool, fn func(rotor.Tx) error) error {
	pc, err := s.pool.Acquire(ctx)
	if err != nil {
		return storeError(ctxErr(ctx, err), "transaction", op+": connect")
	}
	defer pc.Release()
	conn := pc.Conn()
	if _, err := conn.PgConn().Exec(ctx, begin).ReadAll(); err != nil {
		// A failed BEGIN may have left the connection in a transaction.
		rollback(ctx, conn)
		return storeError(ctxErr(ctx, err), "transaction", op+": begin")
	}
	done := false
	defer func() {
		// Roll back unless committed, also while a panic in fn unwinds,
		// so the connection returns to the pool idle (or is closed).
		if !done {
			rollback(ctx, conn)
		}
	}()
	t := &tx{ctx: ctx, conn: conn, writable: writable}
	if err := fn(t); err != nil {
		return err
	}
	if t.broken != nil {
		// fn went on after a failed statement: report that failure.
		return storeError(fmt.Errorf("a statement failed earlier in the transaction, which PostgreSQL then aborted: %w", t.broken),
			"transaction", op)
	}
	if err := ctx.Err(); err != nil {
		return storeError(ctxErr(ctx, err), "transaction", op+": commit")
	}
	// The commit itself is not cancelled by ctx: once sent, whether it
	// happened could not be told.
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), commitTimeout)
	defer cancel()
	b := &pgx.Batch{}
	if writable {
		if payload := t.changes.payload(); payload != "" {
			b.Queue("SELECT pg_notify($1, $2)", changeChannel, payload)
		}
	}
	b.Queue("COMMIT")
	if err := conn.SendBatch(cctx, b).Close(); err != nil {
		return storeError(err, "transaction", op+": commit")
	}
	done = true
	return nil
}

// commitTimeout bounds a COMMIT (and a ROLLBACK) that the server does not
// answer; the connection is then closed.
const commitTimeout = 30 * time.Second

// rollback ends conn's transaction, if any. When that fails the connection
// is closed, so the pool does not hand it out again.
func rollback(ctx context.Context, conn *pgx.Conn) {
	if conn.IsClosed() {
		return
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), commitTimeout)
	defer cancel()
	if _, err := conn.PgConn().Exec(rctx, "ROLLBACK").ReadAll(); err != nil {
		conn.Close(rctx)
	}
}

// Backup is not offered by a PostgreSQL store: it always returns EINVALID
// with a message saying what to use instead, pg_dump of the database (a
// consistent snapshot taken while the servers run), with the keyring kept
// separately, since the database holds only sealed values. path is never
// touched.
func (s *Store) Backup(ctx context.Context, path string) error {
	return rotor.Errorf(rotor.EINVALID, "This server's store is the PostgreSQL database %s, which Rotor does not copy to a file: back it up with pg_dump (pg_dump --format=custom --file=rotor.dump <database>, or your PostgreSQL's own backups), and keep the keyring (the key file or key variable) in a separate backup, since the database holds only values sealed under it.", s.where)
}

// Close closes the pool and ends every Watch. Transactions in flight should
// have ended; later calls to Update and View return EINTERNAL. Close is
// safe to call more than once.
func (s *Store) Close() error {
	s.closeMu.Do(func() {
		close(s.done)
		s.pool.Close()
	})
	return nil
}
