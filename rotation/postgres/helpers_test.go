package postgres_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/rotorhq/rotor/internal/testsvc"
	"github.com/rotorhq/rotor/rotation/builtin/builtintest"
	"github.com/rotorhq/rotor/rotation/postgres"
)

// server is the test PostgreSQL server and a superuser connection to it.
type server struct {
	url   *url.URL
	host  string
	port  int
	admin *pgx.Conn
	dbs   []*pgx.Conn // superuser connections to the test databases
}

// newServer connects to the server of ROTOR_TEST_POSTGRES_URL as its
// superuser (which the tests never change).
func newServer(t *testing.T) *server {
	t.Helper()
	u := testsvc.Postgres(t)
	host, port := builtintest.HostPort(t, u)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, u.String())
	if err != nil {
		t.Fatalf("connect to %s: %v", u.Redacted(), err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return &server{url: u, host: host, port: port, admin: conn}
}

func (s *server) exec(t *testing.T, sql string, args ...any) {
	t.Helper()
	if _, err := s.admin.Exec(context.Background(), sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// createRole creates a login role that must authenticate with password
// (member of rotor_password_auth) and drops it (and whatever it owns or
// was granted) when the test ends. attrs are extra role attributes.
func (s *server) createRole(t *testing.T, name, password, attrs string) {
	t.Helper()
	s.exec(t, "CREATE ROLE "+postgres.Ident(name)+" WITH LOGIN "+attrs+" PASSWORD "+postgres.QuoteLiteral(password)+" IN ROLE rotor_password_auth")
	t.Cleanup(func() { s.dropRole(t, name) })
}

// dropRole drops a role if it exists, with everything it owns in the test
// databases (which are dropped separately).
func (s *server) dropRole(t *testing.T, name string) {
	t.Helper()
	ctx := context.Background()
	var exists bool
	if err := s.admin.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1)", name).Scan(&exists); err != nil || !exists {
		return
	}
	for _, c := range append([]*pgx.Conn{s.admin}, s.dbs...) {
		if _, err := c.Exec(ctx, "DROP OWNED BY "+postgres.Ident(name)); err != nil {
			t.Errorf("drop owned by %s: %v", name, err)
		}
	}
	if _, err := s.admin.Exec(ctx, "DROP ROLE "+postgres.Ident(name)); err != nil {
		t.Errorf("drop role %s: %v", name, err)
	}
}

// createDB creates a database and returns a superuser connection to it;
// both go away when the test ends (registered before any role cleanup, so
// it runs after it).
func (s *server) createDB(t *testing.T) (string, *pgx.Conn) {
	t.Helper()
	name := builtintest.Unique("rotor_test_db_")
	s.exec(t, "CREATE DATABASE "+postgres.Ident(name))
	t.Cleanup(func() {
		if _, err := s.admin.Exec(context.Background(), "DROP DATABASE IF EXISTS "+postgres.Ident(name)+" WITH (FORCE)"); err != nil {
			t.Errorf("drop database %s: %v", name, err)
		}
	})
	cfg, err := pgx.ParseConfig(s.url.String())
	if err != nil {
		t.Fatal(err)
	}
	cfg.Database = name
	conn, err := pgx.ConnectConfig(context.Background(), cfg)
	if err != nil {
		t.Fatalf("connect to %s: %v", name, err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	s.dbs = append(s.dbs, conn)
	return name, conn
}

// connect logs in with a plain pgx connection, independent of the driver
// under test.
func (s *server) connect(host string, port int, user, password, db string) (*pgx.Conn, error) {
	cfg, err := pgx.ParseConfig("sslmode=disable")
	if err != nil {
		return nil, err
	}
	cfg.Host, cfg.Port, cfg.User, cfg.Password, cfg.Database = host, uint16(port), user, password, db
	cfg.ConnectTimeout = 5 * time.Second
	return pgx.ConnectConfig(context.Background(), cfg)
}

// mustLogIn proves that a wrong password is refused for user, then that
// password logs in, and that the server says the session is user's.
func (s *server) mustLogIn(t *testing.T, user, password, db string) {
	t.Helper()
	s.mustRefuse(t, user, password+"-wrong", db)
	conn, err := s.connect(s.host, s.port, user, password, db)
	if err != nil {
		t.Fatalf("log in as %q: %v", user, err)
	}
	defer conn.Close(context.Background())
	var who string
	if err := conn.QueryRow(context.Background(), "SELECT current_user").Scan(&who); err != nil {
		t.Fatal(err)
	} else if who != user {
		t.Fatalf("logged in as %q, want %q", who, user)
	}
}

// mustRefuse checks that user cannot log in with password because the
// password is wrong.
func (s *server) mustRefuse(t *testing.T, user, password, db string) {
	t.Helper()
	conn, err := s.connect(s.host, s.port, user, password, db)
	if err == nil {
		conn.Close(context.Background())
		t.Fatalf("%q logged in with a wrong password: is it a member of rotor_password_auth?", user)
	}
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "28P01" { // invalid_password
		t.Fatalf("log in as %q with a wrong password: %v, want SQLSTATE 28P01", user, err)
	}
}

// canSelect reports whether user (with password) may read table in db.
func (s *server) canSelect(t *testing.T, user, password, db, table string) bool {
	t.Helper()
	conn, err := s.connect(s.host, s.port, user, password, db)
	if err != nil {
		t.Fatalf("log in as %q: %v", user, err)
	}
	defer conn.Close(context.Background())
	var n int
	err = conn.QueryRow(context.Background(), "SELECT count(*) FROM "+postgres.Ident(table)).Scan(&n)
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "42501" { // insufficient_privilege
		return false
	} else if err != nil {
		t.Fatalf("select from %s as %s: %v", table, user, err)
	}
	return true
}

// secretJSON renders a PostgreSQL secret.
func secretJSON(host string, port int, user, password, db string, extra map[string]any) string {
	m := map[string]any{"engine": "postgres", "host": host, "port": strconv.Itoa(port), "username": user, "password": password, "dbname": db}
	for k, v := range extra {
		m[k] = v
	}
	return mustJSON(m)
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprint(err))
	}
	return string(b)
}
