// Package pgtest gives each test a database of its own on the PostgreSQL
// test server, for tests of the postgres store and of servers that run on
// it (replicas, migration, benchmarks).
//
// The server is the one internal/testsvc names: $ROTOR_TEST_POSTGRES_URL,
// by default postgres://postgres@127.0.0.1:5432/postgres (a superuser, who
// may create databases). A test that asks for a database fails when the
// server is unreachable, unless ROTOR_TEST_SKIP names postgres, in which
// case it is skipped. Databases are dropped when the test ends, after
// their remaining connections are terminated (DROP DATABASE ... WITH
// (FORCE), PostgreSQL 13 or later), so a test never leaves one behind and
// never touches another's.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/rotorhq/rotor/internal/testsvc"
	"github.com/rotorhq/rotor/postgres"
)

// Prefix starts the name of every database NewDatabase creates.
const Prefix = "rotor_test_"

// NewDatabase creates an empty UTF8 database with a unique name and
// returns its URL, which logs in as the test server's superuser (the URL
// of testsvc.Postgres with the database replaced). The database is dropped
// when t ends.
func NewDatabase(t testing.TB) string {
	t.Helper()
	admin := testsvc.Postgres(t)
	name := Prefix + randomHex(8)
	ident := pgx.Identifier{name}.Sanitize()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, admin.String())
	if err != nil {
		t.Fatalf("pgtest: connect to %s: %v", admin.Redacted(), err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+ident+" ENCODING 'UTF8' TEMPLATE template0"); err != nil {
		t.Fatalf("pgtest: create database %s: %v", name, err)
	}
	t.Cleanup(func() { drop(t, admin, name) })
	u := *admin
	u.Path = "/" + name
	return u.String()
}

// drop terminates the connections to database name and drops it.
func drop(t testing.TB, admin *url.URL, name string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, admin.String())
	if err != nil {
		t.Errorf("pgtest: connect to %s to drop %s: %v", admin.Redacted(), name, err)
		return
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
		t.Errorf("pgtest: drop database %s: %v", name, err)
	}
}

// Open opens a postgres.Store on a new database (NewDatabase) and closes
// it when t ends, before the database is dropped. It returns the store and
// the database's URL, for more stores or raw connections on it.
func Open(t testing.TB, opts postgres.Options) (*postgres.Store, string) {
	t.Helper()
	dbURL := NewDatabase(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	s, err := postgres.Open(ctx, dbURL, opts)
	if err != nil {
		t.Fatalf("pgtest: open store: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s, dbURL
}

// Connect opens a plain pgx connection to the database at dbURL, closed
// when t ends: for tests that look at or write the database directly.
func Connect(t testing.TB, dbURL string) *pgx.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatalf("pgtest: connect: %v", err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}
