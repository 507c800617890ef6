package mysql_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"testing"
	"time"

	driver "github.com/go-sql-driver/mysql"
	"github.com/rotorhq/rotor/internal/testsvc"
	"github.com/rotorhq/rotor/rotation/builtin/builtintest"
	"github.com/rotorhq/rotor/rotation/mysql"
)

// server is the test MySQL/MariaDB server and an administrator connection
// to it (its root account, which the tests never change).
type server struct {
	addr    string
	host    string
	port    int
	root    *sql.DB
	mariaDB bool
	// rootUser and rootPassword are the administrator of the URL.
	rootUser, rootPassword string
}

func newServer(t *testing.T) *server {
	t.Helper()
	u := testsvc.MySQL(t)
	host, port := builtintest.HostPort(t, u)
	cfg := driver.NewConfig()
	cfg.Net, cfg.Addr = "tcp", u.Host
	cfg.User = u.User.Username()
	cfg.Passwd, _ = u.User.Password()
	cfg.Timeout = 5 * time.Second
	c, err := driver.NewConnector(cfg)
	if err != nil {
		t.Fatal(err)
	}
	db := sql.OpenDB(c)
	t.Cleanup(func() { db.Close() })
	var version string
	if err := db.QueryRow("SELECT VERSION()").Scan(&version); err != nil {
		t.Fatalf("connect to %s: %v", u.Redacted(), err)
	}
	return &server{addr: u.Host, host: host, port: port, root: db, mariaDB: mysql.NewDialect(version, "").DefaultMaxUsernameLength() == 80,
		rootUser: cfg.User, rootPassword: cfg.Passwd}
}

func (s *server) exec(t *testing.T, stmt string) {
	t.Helper()
	if _, err := s.root.Exec(stmt); err != nil {
		t.Fatalf("%s: %v", stmt, err)
	}
}

var lit = mysql.NewDialect("10.11.0-MariaDB", "").Literal

// createUser creates user@'%' with password and drops it (and its clone)
// when the test ends.
func (s *server) createUser(t *testing.T, user, password string) {
	t.Helper()
	s.exec(t, "CREATE USER "+mysql.Account(user, "%")+" IDENTIFIED BY "+lit(password))
	t.Cleanup(func() {
		for _, u := range []string{user, user + "_clone"} {
			if _, err := s.root.Exec("DROP USER IF EXISTS " + mysql.Account(u, "%")); err != nil {
				t.Errorf("drop user %s: %v", u, err)
			}
		}
	})
}

// createDB creates a database with tables "granted" and "secret" and drops
// it when the test ends.
func (s *server) createDB(t *testing.T) string {
	t.Helper()
	name := builtintest.Unique("rotor_test_db_")
	s.exec(t, "CREATE DATABASE "+mysql.QuoteIdent(name))
	t.Cleanup(func() {
		if _, err := s.root.Exec("DROP DATABASE IF EXISTS " + mysql.QuoteIdent(name)); err != nil {
			t.Errorf("drop database %s: %v", name, err)
		}
	})
	for _, tbl := range []string{"granted", "secret", "later"} {
		s.exec(t, "CREATE TABLE "+mysql.QuoteIdent(name)+"."+tbl+" (x int)")
	}
	return name
}

// connect logs in with a plain connection, independent of the driver
// under test.
func (s *server) connect(user, password string) (*sql.Conn, func(), error) {
	cfg := driver.NewConfig()
	cfg.Net, cfg.Addr, cfg.User, cfg.Passwd, cfg.Timeout = "tcp", s.addr, user, password, 5*time.Second
	c, err := driver.NewConnector(cfg)
	if err != nil {
		return nil, nil, err
	}
	db := sql.OpenDB(c)
	conn, err := db.Conn(context.Background())
	if err != nil {
		db.Close()
		return nil, nil, err
	}
	return conn, func() { conn.Close(); db.Close() }, nil
}

// mustLogIn proves a wrong password is refused for user, then that
// password logs in, and that the server says the session is user's.
func (s *server) mustLogIn(t *testing.T, user, password string) {
	t.Helper()
	s.mustRefuse(t, user, password+"-wrong")
	conn, done, err := s.connect(user, password)
	if err != nil {
		t.Fatalf("log in as %q: %v", user, err)
	}
	defer done()
	var who string
	if err := conn.QueryRowContext(context.Background(), "SELECT CURRENT_USER()").Scan(&who); err != nil {
		t.Fatal(err)
	}
	if who != user+"@%" {
		t.Fatalf("logged in as %q, want %q", who, user+"@%")
	}
}

// mustRefuse checks user cannot log in with password (access denied).
func (s *server) mustRefuse(t *testing.T, user, password string) {
	t.Helper()
	_, done, err := s.connect(user, password)
	if err == nil {
		done()
		t.Fatalf("%q logged in with a wrong password", user)
	}
	var me *driver.MySQLError
	if !errors.As(err, &me) || me.Number != 1045 {
		t.Fatalf("log in as %q with a wrong password: %v, want error 1045", user, err)
	}
}

// canSelect reports whether user may read db.table.
func (s *server) canSelect(t *testing.T, user, password, db, table string) bool {
	t.Helper()
	conn, done, err := s.connect(user, password)
	if err != nil {
		t.Fatalf("log in as %q: %v", user, err)
	}
	defer done()
	var n int
	err = conn.QueryRowContext(context.Background(), "SELECT count(*) FROM "+mysql.QuoteIdent(db)+"."+mysql.QuoteIdent(table)).Scan(&n)
	var me *driver.MySQLError
	if errors.As(err, &me) && (me.Number == 1142 || me.Number == 1044) { // command denied / access denied to database
		return false
	} else if err != nil {
		t.Fatalf("select from %s as %s: %v", table, user, err)
	}
	return true
}

func secretJSON(engine, host string, port int, user, password, db string, extra map[string]any) string {
	m := map[string]any{"engine": engine, "host": host, "port": port, "username": user, "password": password}
	if db != "" {
		m["dbname"] = db
	}
	for k, v := range extra {
		m[k] = v
	}
	b, err := json.Marshal(m)
	if err != nil {
		panic(err)
	}
	return string(b)
}

type creds struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

func parseCreds(t *testing.T, s string) creds {
	t.Helper()
	var c creds
	if err := json.Unmarshal([]byte(s), &c); err != nil || c.Username == "" {
		t.Fatalf("secret %q has no credentials: %v", s, err)
	}
	return c
}
