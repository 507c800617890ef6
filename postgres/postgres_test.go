package postgres_test

import (
	"testing"

	"github.com/rotorhq/rotor"
	"github.com/rotorhq/rotor/postgres"
	"github.com/rotorhq/rotor/postgres/pgtest"
	"github.com/rotorhq/rotor/storetest"
)

// TestStore runs the conformance suite, each subtest on a database of its
// own.
func TestStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) rotor.Store {
		s, _ := pgtest.Open(t, postgres.Options{})
		return s
	}, storetest.BackupRefused())
}
