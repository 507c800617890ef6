package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// stmtCache holds the prepared statements of one *sql.DB, by query text.
//
// modernc.org/sqlite compiles the SQL of a statement prepared with Prepare
// once and keeps the compiled program (sqlite3_stmt) for every later
// execution, while Query and Exec on a connection or transaction parse and
// plan the text again on every call. database/sql prepares a *sql.Stmt
// again, lazily, on each pooled connection it then runs on and remembers it
// there; Tx.StmtContext reuses that. So a query in the cache runs compiled
// after its first use on a connection.
//
// The statements are prepared when the store opens, not on first use:
// DB.Prepare needs a free connection of its own, which a transaction on the
// single writer connection (or on every reader at once) would wait for
// forever. A query that is not in the cache runs unprepared in a View, and
// in an Update through the write statements (writeStmts), which are
// prepared between group-commit batches. The queries are those listed in
// preparedQueries.
//
// A stmtCache is read-only once built and safe for concurrent use.
type stmtCache struct {
	m map[string]*sql.Stmt
}

// preparedQueries are the queries every Store prepares on open: the ones
// on the read path of GetSecretValue and DescribeSecret (ReadSecret's, and
// those of a View that reads one secret), and lookups used by most writes. Add a query here (as a constant) to have it prepared.
var preparedQueries = []string{
	snapshotQuery,
	secretByARNQuery,
	secretByNameQuery,
	versionsQuery,
	versionQuery,
	secretVersionsByARNQuery,  // PrefetchVersions
	secretVersionsByNameQuery, // PrefetchVersions
	sidQuery,
	secretExistsQuery,
	versionExistsQuery,
	readByNameQuery,
	readByARNQuery,
	runByIDQuery, // the engine's checks before each step
	dueRunsQuery,
	expiredRunsQuery,
}

// newStmtCache prepares queries on db.
func newStmtCache(ctx context.Context, db *sql.DB, queries []string) (*stmtCache, error) {
	c := &stmtCache{m: make(map[string]*sql.Stmt, len(queries))}
	for _, q := range queries {
		s, err := db.PrepareContext(ctx, q)
		if err != nil {
			c.close()
			return nil, fmt.Errorf("prepare %q: %w", q, err)
		}
		c.m[q] = s
	}
	return c, nil
}

// get returns the prepared statement for query, or nil.
func (c *stmtCache) get(query string) *sql.Stmt {
	if c == nil {
		return nil
	}
	return c.m[query]
}

// close closes every statement.
func (c *stmtCache) close() error {
	var errs []error
	for _, s := range c.m {
		errs = append(errs, s.Close())
	}
	return errors.Join(errs...)
}

// queryRowContext runs query with args in stx, prepared through c if it is
// in the cache c (which may be nil), else unprepared; errors surface from
// the row's Scan, as with sql.Tx.QueryRowContext. (A tx's helpers go
// through tx.stmt, which also consults the write statements in Update.)
func (c *stmtCache) queryRowContext(ctx context.Context, stx *sql.Tx, query string, args ...any) *sql.Row {
	if s := c.get(query); s != nil {
		return stx.StmtContext(ctx, s).QueryRowContext(ctx, args...)
	}
	return stx.QueryRowContext(ctx, query, args...)
}
