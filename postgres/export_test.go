package postgres

import "github.com/rotorhq/rotor"

// ExecRaw runs a statement in the transaction of Tx tx, through the same
// path as every write method, for tests that need a statement to fail.
func ExecRaw(t rotor.Tx, sql string) error {
	_, err := t.(*tx).exec("test", "exec raw", sql)
	return err
}
