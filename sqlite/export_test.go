package sqlite

import (
	"context"
	"database/sql"
	"net/url"

	"github.com/rotorhq/rotor"
)

// Pragmas reports the settings of the writer connection and of one reader
// connection, keyed "writer.<pragma>" and "reader.<pragma>".
func Pragmas(s *Store) (map[string]string, error) {
	ctx := context.Background()
	out := map[string]string{}
	for _, c := range []struct {
		prefix  string
		pragmas []string
		query   func(q string) (string, error)
	}{
		{"writer.", []string{"journal_mode", "synchronous", "foreign_keys", "busy_timeout", "query_only"}, func(q string) (v string, err error) {
			return v, s.writer.QueryRowContext(ctx, q).Scan(&v)
		}},
		{"reader.", []string{"journal_mode", "foreign_keys", "busy_timeout", "query_only", "mmap_size"}, func(q string) (v string, err error) {
			return v, s.readers.QueryRowContext(ctx, q).Scan(&v)
		}},
	} {
		for _, p := range c.pragmas {
			v, err := c.query("PRAGMA " + p)
			if err != nil {
				return nil, err
			}
			out[c.prefix+p] = v
		}
	}
	return out, nil
}

// SetDrivePlan forces how ListSecrets runs a filter an index serves:
// "never" (scan the sort order's index), "always" (start from the
// filter's candidates) or "auto"; it returns a function restoring it.
func SetDrivePlan(plan string) (restore func()) {
	old := drivePlan
	drivePlan = plan
	return func() { drivePlan = old }
}

// Waiting reports how many Updates are blocked waiting for the writer.
func Waiting(s *Store) int {
	s.commit.mu.Lock()
	defer s.commit.mu.Unlock()
	return s.commit.waiting
}

// PreparedQueries returns the queries every Store prepares on open.
func PreparedQueries() []string { return preparedQueries }

// QueryPlan returns the EXPLAIN QUERY PLAN lines of query on a reader.
func QueryPlan(s *Store, query string, args ...any) ([]string, error) {
	rows, err := s.readers.Query("EXPLAIN QUERY PLAN "+query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id, parent, notused int
		var detail string
		if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
			return nil, err
		}
		out = append(out, detail)
	}
	return out, rows.Err()
}

// Prepared reports whether the reader and writer statement caches hold
// query.
func Prepared(s *Store, query string) bool {
	return s.readerStmts.get(query) != nil && s.writerStmts.get(query) != nil
}

// MigrateTo creates (or opens) the database at path and applies the
// migrations up to number last only, with foreign keys on as the store's
// writer has them: the database as an older version of the store left it.
func MigrateTo(path string, last int) error {
	db, err := sql.Open("sqlite", dsn(path, url.Values{"_foreign_keys": {"1"}, "_journal_mode": {"WAL"}}))
	if err != nil {
		return err
	}
	defer db.Close()
	return migrateTo(db, last)
}

// RunSummaryQueries are the statements of Tx.RunSummary.
var RunSummaryQueries = []string{runCountsQuery, oldestFailureQuery}

// ListSecretsPlan returns the EXPLAIN QUERY PLAN lines of the statement
// ListSecrets(q) runs.
func ListSecretsPlan(s *Store, q rotor.SecretQuery) ([]string, error) {
	var query string
	var args []any
	err := s.View(context.Background(), func(x rotor.Tx) error {
		var err error
		query, args, err = x.(*tx).listSQL("plan", q)
		return err
	})
	if err != nil {
		return nil, err
	}
	return QueryPlan(s, query, args...)
}

// LatestFailedRunsPlan returns the EXPLAIN QUERY PLAN lines of the
// statement LatestFailedRuns runs.
func LatestFailedRunsPlan(s *Store, after *rotor.RunCursor) ([]string, error) {
	query, args := latestFailedSQL("us-east-1", after, 50)
	return QueryPlan(s, query, args...)
}

// ReadQueries are ReadSecret's and ReadSecretARN's statements.
var ReadQueries = []string{readByNameQuery, readByARNQuery}

// ScanQuery is ScanSecrets's statement.
var ScanQuery = scanQuery

// StmtJournalConfigured reports whether SQLite accepted the statement
// journal spill size (config.go).
func StmtJournalConfigured() bool { return configured }

// StmtJournalSpill is the size up to which a sub-journal stays in memory.
const StmtJournalSpill = stmtJournalSpill

// AddStageEventQuery is AddStageEvents' statement (arguments: secret sid,
// stage, version id, time).
const AddStageEventQuery = addStageEventQuery

// LabelsOfVersionQuery is what the labels triggers compute for the version
// a label leaves (arguments: secret sid, version id).
const LabelsOfVersionQuery = `SELECT group_concat(length(CAST(stage AS BLOB)) || ':' || stage, '')
	FROM stages WHERE sid = ? AND version_id = ?`

// VersionsQuery is Tx.Versions' statement.
var VersionsQuery = versionsQuery

// SealedByKeyQueries are SealedByKey's queries (kind, key id, limit).
var SealedByKeyQueries = []string{sealedVersionsQuery, sealedAccessKeysQuery}

// SidKeyedQueries are the statements on versions, stages and
// stage_history keyed by a secret's sid (migration 0017), or by its ARN
// looked up to its sid, with arguments for EXPLAIN QUERY PLAN, by name.
var SidKeyedQueries = map[string]struct {
	SQL  string
	Args []any
}{
	"sid":                     {sidQuery, []any{"a"}},
	"version exists":          {versionExistsQuery, []any{1, "v"}},
	"version":                 {versionQuery, []any{1, "v"}},
	"versions":                {versionsQuery, []any{"a"}},
	"versions of":             {versionsOfQuery(2), []any{"a", "b"}},
	"create version":          {createVersionQuery, []any{1, "v", "k", []byte{1}, []byte{2}, false, "", 1, 1}},
	"fill version":            {fillVersionQuery, []any{"k", []byte{1}, []byte{2}, false, 1, "v"}},
	"delete version":          {deleteVersionQuery, []any{1, "v"}},
	"set stage":               {setStageQuery, []any{1, "S", "v"}},
	"remove stage":            {removeStageQuery, []any{1, "S"}},
	"version accessed":        {versionAccessedQuery, []any{1, 1, "v"}},
	"add stage event":         {addStageEventQuery, []any{1, "S", "v", 1}},
	"stage history":           {stageHistoryQuery, []any{1, 10}},
	"replace sealed read":     {replaceSealedVersionQueries[0], []any{"a", "v"}},
	"replace sealed":          {replaceSealedVersionQueries[1], []any{"k", []byte{1}, "a", "v"}},
	"sealed by key":           {sealedVersionsQuery, []any{"kind", "k", 1}},
	"secret prefetch":         {secretVersionsByARNQuery, []any{"a"}},
	"secret prefetch by name": {secretVersionsByNameQuery, []any{"r", "n"}},
}
