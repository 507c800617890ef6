package main

// The real databases the built-in rotation tests (e2e_dbrotation_test.go)
// rotate credentials on, reached with plain client libraries, independent
// of the drivers under test. Every user a test creates is its own, uniquely
// named, and dropped (with the _clone an alternating rotation makes) when
// the test ends; the administrator accounts of the test URLs are only used
// to create and drop them, never changed.

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"testing"
	"time"

	mysqldriver "github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	goredis "github.com/redis/go-redis/v9"
	"github.com/rotorhq/rotor/internal/testsvc"
	"github.com/rotorhq/rotor/rotation/builtin/builtintest"
)

// e2edbTarget is a database server whose users a test rotates.
type e2edbTarget interface {
	// secret returns the JSON object of a secret for user and password on
	// this server, with engine as its "engine".
	secret(engine, user, password string) map[string]any
	// createUser creates a login user that only accepts password; admin
	// makes it an administrator that may manage other users. The user and
	// its "_clone" are dropped when the test ends.
	createUser(t *testing.T, name, password string, admin bool)
	// login logs in as user with password and returns who the server says
	// the session belongs to.
	login(user, password string) (string, error)
	// wrongPassword reports whether err is the server refusing a password.
	wrongPassword(err error) bool
	// identity is what login returns for a session of user.
	identity(user string) string
}

// e2edbTables is a target with a database holding three tables, "granted",
// "secret" and "later", that no user may read until granted.
type e2edbTables interface {
	e2edbTarget
	// grantRead lets user read table.
	grantRead(t *testing.T, table, user string)
	// canRead reports whether user may read table: false when the server
	// answers that the privilege is missing, an error for any other failure.
	canRead(user, password, table string) (bool, error)
}

// e2edbMustLogIn proves that a wrong password is refused for user, then
// that password logs in and the server says the session is user's.
func e2edbMustLogIn(t *testing.T, tg e2edbTarget, user, password string) {
	t.Helper()
	e2edbMustRefuse(t, tg, user, password+"-wrong")
	who, err := tg.login(user, password)
	if err != nil {
		t.Fatalf("log in as %q: %v", user, err)
	}
	if who != tg.identity(user) {
		t.Fatalf("logged in as %q: the server says the session is %q, want %q", user, who, tg.identity(user))
	}
}

// e2edbMustRefuse checks that user cannot log in with password because the
// server refuses the password.
func e2edbMustRefuse(t *testing.T, tg e2edbTarget, user, password string) {
	t.Helper()
	who, err := tg.login(user, password)
	if err == nil {
		t.Fatalf("%q logged in (as %q) with a password it should not have (PostgreSQL: is it IN ROLE rotor_password_auth?)", user, who)
	}
	if !tg.wrongPassword(err) {
		t.Fatalf("log in as %q with a wrong password: %v, want the server to refuse the password", user, err)
	}
}

// e2edbMustRead checks whether user may read table, as want says.
func e2edbMustRead(t *testing.T, tg e2edbTables, user, password, table string, want bool) {
	t.Helper()
	ok, err := tg.canRead(user, password, table)
	if err != nil {
		t.Fatalf("read %s as %q: %v", table, user, err)
	}
	if ok != want {
		t.Fatalf("%q can read %s: %v, want %v", user, table, ok, want)
	}
}

// e2edbTableNames are the tables of a test database.
var e2edbTableNames = []string{"granted", "secret", "later"}

// --- PostgreSQL ---

// e2edbPostgres is the PostgreSQL server of ROTOR_TEST_POSTGRES_URL with a
// test database. Its roles must be members of rotor_password_auth: the
// server trusts local connections of other roles.
type e2edbPostgres struct {
	host  string
	port  int
	db    string
	admin *pgx.Conn // superuser, database of the URL
	dbc   *pgx.Conn // superuser, test database
}

func newE2EDBPostgres(t *testing.T) *e2edbPostgres {
	t.Helper()
	u := testsvc.Postgres(t)
	p := &e2edbPostgres{db: builtintest.Unique("e2edb_")}
	p.host, p.port = builtintest.HostPort(t, u)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var err error
	if p.admin, err = pgx.Connect(ctx, u.String()); err != nil {
		t.Fatalf("connect to %s: %v", u.Redacted(), err)
	}
	t.Cleanup(func() { p.admin.Close(context.Background()) })
	if _, err := p.admin.Exec(ctx, "CREATE DATABASE "+e2edbPGIdent(p.db)); err != nil {
		t.Fatalf("create database: %v", err)
	}
	// Cleanups run last-first: roles go before the connection, then the database.
	t.Cleanup(func() {
		if _, err := p.admin.Exec(context.Background(), "DROP DATABASE IF EXISTS "+e2edbPGIdent(p.db)+" WITH (FORCE)"); err != nil {
			t.Errorf("drop database %s: %v", p.db, err)
		}
	})
	cfg, err := pgx.ParseConfig(u.String())
	if err != nil {
		t.Fatal(err)
	}
	cfg.Database = p.db
	if p.dbc, err = pgx.ConnectConfig(ctx, cfg); err != nil {
		t.Fatalf("connect to %s: %v", p.db, err)
	}
	t.Cleanup(func() { p.dbc.Close(context.Background()) })
	for _, tbl := range e2edbTableNames {
		p.exec(t, p.dbc, "CREATE TABLE "+e2edbPGIdent(tbl)+" (x int)")
	}
	return p
}

func (p *e2edbPostgres) exec(t *testing.T, c *pgx.Conn, stmt string) {
	t.Helper()
	if _, err := c.Exec(context.Background(), stmt); err != nil {
		t.Fatalf("%s: %v", stmt, err)
	}
}

func (p *e2edbPostgres) secret(engine, user, password string) map[string]any {
	return map[string]any{"engine": engine, "host": p.host, "port": p.port, "username": user, "password": password, "dbname": p.db}
}

func (p *e2edbPostgres) createUser(t *testing.T, name, password string, admin bool) {
	t.Helper()
	attrs := ""
	if admin {
		attrs = " CREATEROLE"
	}
	p.exec(t, p.admin, "CREATE ROLE "+e2edbPGIdent(name)+" WITH LOGIN"+attrs+" PASSWORD "+e2edbPGLiteral(password)+" IN ROLE rotor_password_auth")
	t.Cleanup(func() { p.dropRole(t, name) })
	t.Cleanup(func() { p.dropRole(t, name+"_clone") })
}

// dropRole drops a role if it exists, with what it owns or was granted in
// both databases.
func (p *e2edbPostgres) dropRole(t *testing.T, name string) {
	ctx := context.Background()
	var exists bool
	if err := p.admin.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1)", name).Scan(&exists); err != nil {
		t.Errorf("look up role %s: %v", name, err)
		return
	} else if !exists {
		return
	}
	for _, c := range []*pgx.Conn{p.dbc, p.admin} {
		if _, err := c.Exec(ctx, "DROP OWNED BY "+e2edbPGIdent(name)); err != nil {
			t.Errorf("drop owned by %s: %v", name, err)
		}
	}
	if _, err := p.admin.Exec(ctx, "DROP ROLE "+e2edbPGIdent(name)); err != nil {
		t.Errorf("drop role %s: %v", name, err)
	}
}

// connect logs in to the test database over plaintext.
func (p *e2edbPostgres) connect(user, password string) (*pgx.Conn, error) {
	cfg, err := pgx.ParseConfig("sslmode=disable")
	if err != nil {
		return nil, err
	}
	cfg.Host, cfg.Port, cfg.User, cfg.Password, cfg.Database = p.host, uint16(p.port), user, password, p.db
	cfg.ConnectTimeout = 5 * time.Second
	return pgx.ConnectConfig(context.Background(), cfg)
}

func (p *e2edbPostgres) login(user, password string) (string, error) {
	c, err := p.connect(user, password)
	if err != nil {
		return "", err
	}
	defer c.Close(context.Background())
	var who string
	err = c.QueryRow(context.Background(), "SELECT current_user").Scan(&who)
	return who, err
}

func (p *e2edbPostgres) wrongPassword(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "28P01" // invalid_password
}

func (p *e2edbPostgres) identity(user string) string { return user }

func (p *e2edbPostgres) grantRead(t *testing.T, table, user string) {
	t.Helper()
	p.exec(t, p.dbc, "GRANT SELECT ON "+e2edbPGIdent(table)+" TO "+e2edbPGIdent(user))
}

func (p *e2edbPostgres) canRead(user, password, table string) (bool, error) {
	c, err := p.connect(user, password)
	if err != nil {
		return false, err
	}
	defer c.Close(context.Background())
	var n int
	err = c.QueryRow(context.Background(), "SELECT count(*) FROM "+e2edbPGIdent(table)).Scan(&n)
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "42501" { // insufficient_privilege
		return false, nil
	}
	return err == nil, err
}

// e2edbPGIdent quotes a PostgreSQL identifier.
func e2edbPGIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// e2edbPGLiteral quotes a PostgreSQL string as an escape-string literal,
// whose meaning does not depend on standard_conforming_strings.
func e2edbPGLiteral(s string) string {
	return "E'" + strings.NewReplacer(`\`, `\\`, `'`, `''`).Replace(s) + "'"
}

// --- MySQL / MariaDB ---

// e2edbMySQL is the MySQL or MariaDB server of ROTOR_TEST_MYSQL_URL with a
// test database. Its users are accounts on host '%'.
type e2edbMySQL struct {
	addr string
	host string
	port int
	db   string
	root *sql.DB
}

func newE2EDBMySQL(t *testing.T) *e2edbMySQL {
	t.Helper()
	u := testsvc.MySQL(t)
	m := &e2edbMySQL{addr: u.Host, db: builtintest.Unique("e2edb_")}
	m.host, m.port = builtintest.HostPort(t, u)
	pw, _ := u.User.Password()
	m.root = m.open(u.User.Username(), pw)
	t.Cleanup(func() { m.root.Close() })
	if err := m.root.Ping(); err != nil {
		t.Fatalf("connect to %s: %v", u.Redacted(), err)
	}
	m.exec(t, "CREATE DATABASE "+e2edbMyIdent(m.db))
	t.Cleanup(func() {
		if _, err := m.root.Exec("DROP DATABASE IF EXISTS " + e2edbMyIdent(m.db)); err != nil {
			t.Errorf("drop database %s: %v", m.db, err)
		}
	})
	for _, tbl := range e2edbTableNames {
		m.exec(t, "CREATE TABLE "+e2edbMyIdent(m.db)+"."+e2edbMyIdent(tbl)+" (x int)")
	}
	return m
}

// open returns a pool logging in as user. Parameters are interpolated by
// the client, escaped for the session's sql_mode: MariaDB cannot prepare
// account statements.
func (m *e2edbMySQL) open(user, password string) *sql.DB {
	cfg := mysqldriver.NewConfig()
	cfg.Net, cfg.Addr, cfg.User, cfg.Passwd = "tcp", m.addr, user, password
	cfg.Timeout, cfg.InterpolateParams = 5*time.Second, true
	c, err := mysqldriver.NewConnector(cfg)
	if err != nil {
		panic(err) // only for a malformed configuration, which is built above
	}
	return sql.OpenDB(c)
}

func (m *e2edbMySQL) exec(t *testing.T, stmt string, args ...any) {
	t.Helper()
	if _, err := m.root.Exec(stmt, args...); err != nil {
		t.Fatalf("%s: %v", stmt, err)
	}
}

func (m *e2edbMySQL) secret(engine, user, password string) map[string]any {
	return map[string]any{"engine": engine, "host": m.host, "port": m.port, "username": user, "password": password, "dbname": m.db}
}

func (m *e2edbMySQL) createUser(t *testing.T, name, password string, admin bool) {
	t.Helper()
	m.exec(t, "CREATE USER ?@'%' IDENTIFIED BY ?", name, password)
	t.Cleanup(func() {
		for _, u := range []string{name + "_clone", name} {
			if _, err := m.root.Exec("DROP USER IF EXISTS ?@'%'", u); err != nil {
				t.Errorf("drop user %s: %v", u, err)
			}
		}
	})
	if admin {
		m.exec(t, "GRANT ALL PRIVILEGES ON *.* TO ?@'%' WITH GRANT OPTION", name)
	}
}

func (m *e2edbMySQL) login(user, password string) (string, error) {
	db := m.open(user, password)
	defer db.Close()
	var who string
	err := db.QueryRow("SELECT CURRENT_USER()").Scan(&who)
	return who, err
}

func (m *e2edbMySQL) wrongPassword(err error) bool {
	var me *mysqldriver.MySQLError
	return errors.As(err, &me) && me.Number == 1045 // ER_ACCESS_DENIED_ERROR
}

func (m *e2edbMySQL) identity(user string) string { return user + "@%" }

func (m *e2edbMySQL) grantRead(t *testing.T, table, user string) {
	t.Helper()
	m.exec(t, "GRANT SELECT ON "+e2edbMyIdent(m.db)+"."+e2edbMyIdent(table)+" TO ?@'%'", user)
}

func (m *e2edbMySQL) canRead(user, password, table string) (bool, error) {
	db := m.open(user, password)
	defer db.Close()
	var n int
	err := db.QueryRow("SELECT count(*) FROM " + e2edbMyIdent(m.db) + "." + e2edbMyIdent(table)).Scan(&n)
	var me *mysqldriver.MySQLError
	if errors.As(err, &me) && (me.Number == 1142 || me.Number == 1044) { // table / database access denied
		return false, nil
	}
	return err == nil, err
}

// e2edbMyIdent quotes a MySQL identifier.
func e2edbMyIdent(s string) string { return "`" + strings.ReplaceAll(s, "`", "``") + "`" }

// --- Redis ---

// e2edbRedis is the Redis server of ROTOR_TEST_REDIS_URL. Connections are
// the password-less default user until they AUTH; the tests use the default
// user to create and delete ACL users, and never change it.
type e2edbRedis struct {
	addr  string
	host  string
	port  int
	admin *goredis.Client
}

// ACL rules of test users: may connect and ask who they are; administrators
// may also change users.
var (
	e2edbRedisRules      = []string{"+@connection", "+acl|whoami"}
	e2edbRedisAdminRules = []string{"+@connection", "+acl|whoami", "+acl|setuser", "+config|get", "+acl|save"}
)

func newE2EDBRedis(t *testing.T) *e2edbRedis {
	t.Helper()
	u := testsvc.Redis(t)
	opt, err := goredis.ParseURL(u.String())
	if err != nil {
		t.Fatal(err)
	}
	opt.Protocol = 2
	r := &e2edbRedis{addr: u.Host, admin: goredis.NewClient(opt)}
	t.Cleanup(func() { r.admin.Close() })
	if err := r.admin.Ping(context.Background()).Err(); err != nil {
		t.Fatalf("connect to %s: %v", u.Redacted(), err)
	}
	r.host, r.port = builtintest.HostPort(t, u)
	return r
}

func (r *e2edbRedis) secret(engine, user, password string) map[string]any {
	return map[string]any{"engine": engine, "host": r.host, "port": r.port, "username": user, "password": password}
}

func (r *e2edbRedis) createUser(t *testing.T, name, password string, admin bool) {
	t.Helper()
	rules := e2edbRedisRules
	if admin {
		rules = e2edbRedisAdminRules
	}
	args := []any{"ACL", "SETUSER", name, "reset", "on", ">" + password}
	for _, rule := range rules {
		args = append(args, rule)
	}
	if err := r.admin.Do(context.Background(), args...).Err(); err != nil {
		t.Fatalf("create user %q: %v", name, err)
	}
	t.Cleanup(func() {
		if err := r.admin.Do(context.Background(), "ACL", "DELUSER", name).Err(); err != nil {
			t.Errorf("delete user %q: %v", name, err)
		}
	})
}

func (r *e2edbRedis) login(user, password string) (string, error) {
	c := goredis.NewClient(&goredis.Options{Addr: r.addr, Username: user, Password: password, Protocol: 2,
		MaxRetries: -1, DialTimeout: 5 * time.Second, DisableIdentity: true})
	defer c.Close()
	return c.Do(context.Background(), "ACL", "WHOAMI").Text()
}

func (r *e2edbRedis) wrongPassword(err error) bool {
	return err != nil && strings.Contains(err.Error(), "WRONGPASS")
}

func (r *e2edbRedis) identity(user string) string { return user }

// passwords counts the passwords user holds.
func (r *e2edbRedis) passwords(t *testing.T, user string) int {
	t.Helper()
	res, err := r.admin.Do(context.Background(), "ACL", "GETUSER", user).Slice()
	if err != nil {
		t.Fatalf("ACL GETUSER %s: %v", user, err)
	}
	for i := 0; i+1 < len(res); i += 2 {
		if res[i] == "passwords" {
			ps, _ := res[i+1].([]any)
			return len(ps)
		}
	}
	t.Fatalf("ACL GETUSER %s has no passwords field: %v", user, res)
	return 0
}
