package postgres

import "github.com/rotorhq/rotor"

// ExecRaw runs a statement in the transaction of Tx tx, through the same
// path as every write method, for tests that need a statement to fail.
func ExecRaw(t rotor.Tx, sql string) error {
	_, err := t.(*tx).exec("test", "exec raw", sql)
	return err
}

// HotReads are the statements of the reads on the request path, by method,
// with arguments of the right types.
var HotReads = []struct {
	Method, Query string
	Args          []any
}{
	{"Secret", secretByARNQuery, []any{"arn"}},
	{"SecretByName", secretByNameQuery, []any{"us-east-1", "name"}},
	{"Versions", versionsQuery, []any{"arn"}},
	{"Version", versionQuery, []any{"arn", "id"}},
	{"AccessKey", accessKeyQuery, []any{"AKIA"}},
}

// Setting returns the value of the run-time setting name in the
// transaction of Tx tx.
func Setting(t rotor.Tx, name string) (string, error) {
	x := t.(*tx)
	var v string
	err := x.conn.QueryRow(x.ctx, "SELECT current_setting($1)", name).Scan(&v)
	return v, err
}

// BackendPID returns the process id of the server backend that runs Tx tx.
func BackendPID(t rotor.Tx) uint32 { return t.(*tx).conn.PgConn().PID() }

// ListSecretsSQL returns the statement ListSecrets(q) runs and its
// arguments.
func ListSecretsSQL(q rotor.SecretQuery) (string, []any, error) { return listSQL(q) }

// LatestFailedRunsSQL returns the statement LatestFailedRuns runs and its
// arguments.
func LatestFailedRunsSQL(region string, after *rotor.RunCursor, limit int) (string, []any) {
	return latestFailedSQL(region, after, limit)
}
