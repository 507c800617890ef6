package sqlite

import (
	"context"
	"database/sql"
	"sync"
)

// maxWriteStmts bounds the prepared statements a writeStmts keeps; queries
// beyond it (there are fewer distinct ones in tx.go) run unprepared.
const maxWriteStmts = 256

// writeStmts keeps the writer's statements prepared, so a write transaction
// does not parse its SQL again each time. A statement can only be prepared
// while the writer's single connection is free, so a query seen inside a
// transaction for the first time runs unprepared and is noted; the next
// Update that begins a transaction prepares the noted queries first.
type writeStmts struct {
	db     *sql.DB
	mu     sync.Mutex
	stmts  map[string]*sql.Stmt
	wanted map[string]struct{}
}

func newWriteStmts(db *sql.DB) *writeStmts {
	return &writeStmts{db: db, stmts: map[string]*sql.Stmt{}, wanted: map[string]struct{}{}}
}

// lookup returns query's prepared statement, or nil (noting the query)
// if it is not prepared yet.
func (c *writeStmts) lookup(query string) *sql.Stmt {
	c.mu.Lock()
	defer c.mu.Unlock()
	if st := c.stmts[query]; st != nil {
		return st
	}
	if len(c.stmts)+len(c.wanted) < maxWriteStmts {
		c.wanted[query] = struct{}{}
	}
	return nil
}

// prepare prepares the noted queries; the caller guarantees the writer's
// connection is free (it holds the writer and has no transaction open). A
// query that fails to prepare is dropped; it keeps running unprepared.
func (c *writeStmts) prepare(ctx context.Context) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for q := range c.wanted {
		delete(c.wanted, q)
		if st, err := c.db.PrepareContext(ctx, q); err == nil {
			c.stmts[q] = st
		}
	}
}

// pending reports whether some query waits to be prepared.
func (c *writeStmts) pending() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.wanted) > 0
}

// close releases the prepared statements.
func (c *writeStmts) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for q, st := range c.stmts {
		st.Close()
		delete(c.stmts, q)
	}
}

// stmt returns query's prepared statement bound to this transaction, or
// nil to run query as text. A query of preparedQueries runs through the
// read statements prepared at open (t.reads, in View and Update alike);
// any other query, in an Update, through the write statements (t.writes,
// nil until prepared between batches); in a View, as text.
func (t *tx) stmt(query string) *sql.Stmt {
	if st := t.reads.get(query); st != nil {
		return t.bind(st)
	}
	if t.writes == nil {
		return nil
	}
	st := t.writes.lookup(query)
	if st == nil {
		return nil
	}
	return t.bind(st)
}

// bind returns st bound to t's transaction, once per transaction when
// t.bound keeps them (the transaction closes them when it ends).
func (t *tx) bind(st *sql.Stmt) *sql.Stmt {
	if t.bound == nil {
		return t.tx.StmtContext(t.ctx, st)
	}
	if b := t.bound[st]; b != nil {
		return b
	}
	b := t.tx.StmtContext(t.ctx, st)
	t.bound[st] = b
	return b
}

func (t *tx) execContext(query string, args ...any) (sql.Result, error) {
	if st := t.stmt(query); st != nil {
		return st.ExecContext(t.ctx, args...)
	}
	return t.tx.ExecContext(t.ctx, query, args...)
}

func (t *tx) queryContext(query string, args ...any) (*sql.Rows, error) {
	if st := t.stmt(query); st != nil {
		return st.QueryContext(t.ctx, args...)
	}
	return t.tx.QueryContext(t.ctx, query, args...)
}

func (t *tx) queryRowContext(query string, args ...any) *sql.Row {
	if st := t.stmt(query); st != nil {
		return st.QueryRowContext(t.ctx, args...)
	}
	return t.tx.QueryRowContext(t.ctx, query, args...)
}
