package mysqlsecret_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/go-sql-driver/mysql"

	"github.com/rotorhq/rotor"
	"github.com/rotorhq/rotor/client"
	"github.com/rotorhq/rotor/client/internal/rotortest"
	"github.com/rotorhq/rotor/client/mysqlsecret"
	"github.com/rotorhq/rotor/internal/testsvc"
)

func TestMain(m *testing.M) { rotortest.Main(m) }

var ctx = context.Background()

func init() {
	// Silence the driver's own log of refused connections.
	mysql.SetLogger(log{})
}

type log struct{}

func (log) Print(...any) {}

// my is one test's MySQL/MariaDB user, Rotor server and cache.
type my struct {
	admin *sql.DB
	host  string
	port  string
	user  string
	sm    *secretsmanager.Client
	cache *client.Cache
}

// setup creates user@'%' with password pw (dropped when the test ends) and
// starts a Rotor server with a cache.
func setup(t *testing.T, pw string) *my {
	t.Helper()
	u := testsvc.MySQL(t)
	cfg := mysql.NewConfig()
	cfg.Net, cfg.Addr = "tcp", u.Host
	cfg.User = u.User.Username()
	cfg.Passwd, _ = u.User.Password()
	cfg.DBName = strings.TrimPrefix(u.Path, "/")
	mc, err := mysql.NewConnector(cfg)
	if err != nil {
		t.Fatal(err)
	}
	m := &my{admin: sql.OpenDB(mc), host: u.Hostname(), port: u.Port(), user: rotortest.Name("rotor_client")}
	if m.port == "" {
		m.port = "3306"
	}
	m.exec(t, "CREATE USER '"+m.user+"'@'%' IDENTIFIED BY '"+pw+"'")
	t.Cleanup(func() {
		if _, err := m.admin.Exec("DROP USER IF EXISTS '" + m.user + "'@'%'"); err != nil {
			t.Errorf("drop user %s: %v", m.user, err)
		}
		m.admin.Close()
	})
	srv := rotortest.Start(t)
	m.sm = srv.Client()
	m.cache = client.New(m.sm, client.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	return m
}

func (m *my) exec(t *testing.T, q string) {
	t.Helper()
	if _, err := m.admin.ExecContext(ctx, q); err != nil {
		t.Fatalf("%s: %v", strings.SplitN(q, " IDENTIFIED ", 2)[0], err)
	}
}

// setPassword changes the user's password in the database.
func (m *my) setPassword(t *testing.T, pw string) {
	t.Helper()
	m.exec(t, "ALTER USER '"+m.user+"'@'%' IDENTIFIED BY '"+pw+"'")
}

// secretJSON is the user's secret in AWS's MySQL shape (port as a string,
// as some secrets have it).
func (m *my) secretJSON(t *testing.T, pw, dbname string) string {
	t.Helper()
	v := map[string]any{"engine": "mariadb", "host": m.host, "port": m.port, "username": m.user, "password": pw}
	if dbname != "" {
		v["dbname"] = dbname
	}
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func currentUser(t *testing.T, db *sql.DB) string {
	t.Helper()
	var u string
	if err := db.QueryRowContext(ctx, "SELECT CURRENT_USER()").Scan(&u); err != nil {
		t.Fatalf("SELECT CURRENT_USER(): %v", err)
	}
	return u
}

var generous = mysqlsecret.WithDialOptions(client.WithMaxAttempts(200), client.WithRetryBudget(2*time.Minute),
	client.WithRetryDelay(5*time.Millisecond, 50*time.Millisecond))

// Logins are real: the right password logs in as the user, a wrong one is
// refused with 1045.
func TestLoginIsReal(t *testing.T) {
	pwA := rotortest.Password()
	m := setup(t, pwA)
	good, bad := rotortest.Name("my_good"), rotortest.Name("my_bad")
	rotortest.CreateSecret(t, m.sm, good, m.secretJSON(t, pwA, ""))
	rotortest.CreateSecret(t, m.sm, bad, m.secretJSON(t, "wrong-"+pwA, ""))

	db := mysqlsecret.OpenDB(m.cache, good)
	defer db.Close()
	if u := currentUser(t, db); u != m.user+"@%" {
		t.Fatalf("CURRENT_USER() = %q, want %s@%%", u, m.user)
	}

	conn := mysqlsecret.NewConnector(m.cache, bad, mysqlsecret.WithDialOptions(client.WithMaxAttempts(2),
		client.WithRetryDelay(time.Millisecond, time.Millisecond)))
	dbBad := sql.OpenDB(conn)
	defer dbBad.Close()
	err := dbBad.PingContext(ctx)
	if !errors.Is(err, client.ErrLoginRefused) || !mysqlsecret.IsAuthFailure(err) {
		t.Fatalf("wrong password: %v, want ErrLoginRefused wrapping error 1045", err)
	}
	if strings.Contains(err.Error(), pwA) {
		t.Fatalf("error contains the password: %v", err)
	}
	if st := conn.Stats(); st.AuthFailures != 2 || st.Attempts != 2 || st.Refused != 1 {
		t.Fatalf("stats after a refused login = %+v", st)
	}
}

// Single-user rotation: the database gets the new password before the
// secret's AWSCURRENT does; new connections keep working.
func TestSingleUserRotation(t *testing.T) {
	pwA, pwB, pwC := rotortest.Password(), rotortest.Password(), rotortest.Password()
	m := setup(t, pwA)
	name := rotortest.Name("my_rotation")
	rotortest.CreateSecret(t, m.sm, name, m.secretJSON(t, pwA, ""))

	conn := mysqlsecret.NewConnector(m.cache, name, generous, mysqlsecret.WithDialOptions(client.WithPending(false)))
	db := sql.OpenDB(conn)
	defer db.Close()
	db.SetMaxIdleConns(0)
	currentUser(t, db)

	m.setPassword(t, pwB)
	rotortest.PutSecret(t, m.sm, name, m.secretJSON(t, pwB, ""))
	if u := currentUser(t, db); u != m.user+"@%" {
		t.Fatalf("after rotation CURRENT_USER() = %q", u)
	}
	st := conn.Stats()
	if st.AuthFailures != 1 || st.Logins != 2 {
		t.Fatalf("after rotation stats = %+v, want 1 raw auth failure and 2 logins", st)
	}

	// A query in the window: the database wants C, AWSCURRENT says B.
	m.setPassword(t, pwC)
	done := make(chan error, 1)
	go func() {
		var u string
		done <- db.QueryRowContext(ctx, "SELECT CURRENT_USER()").Scan(&u)
	}()
	waitFor(t, "a refused login with B", func() bool { return conn.Stats().AuthFailures >= st.AuthFailures+2 })
	rotortest.PutSecret(t, m.sm, name, m.secretJSON(t, pwC, ""))
	if err := <-done; err != nil {
		t.Fatalf("query during the rotation window: %v", err)
	}
	if st2 := conn.Stats(); st2.Waits == 0 || st2.Refused != 0 {
		t.Fatalf("window stats = %+v, want waits > 0 and nothing refused", st2)
	}
}

// AWSPENDING shortcut: one raw failure, no wait, then straight to the
// pending credentials.
func TestPendingShortcut(t *testing.T) {
	pwA, pwB := rotortest.Password(), rotortest.Password()
	m := setup(t, pwA)
	name := rotortest.Name("my_pending")
	vA := rotortest.CreateSecret(t, m.sm, name, m.secretJSON(t, pwA, ""))
	conn := mysqlsecret.NewConnector(m.cache, name, generous)
	db := sql.OpenDB(conn)
	defer db.Close()
	db.SetMaxIdleConns(0)
	currentUser(t, db)

	vB := rotortest.PutSecret(t, m.sm, name, m.secretJSON(t, pwB, ""), rotor.StagePending)
	m.setPassword(t, pwB)
	currentUser(t, db)
	if st := conn.Stats(); st.AuthFailures != 1 || st.PendingLogins != 1 || st.Waits != 0 {
		t.Fatalf("first connection after setSecret: %+v, want 1 raw failure, 1 AWSPENDING login, no wait", st)
	}
	currentUser(t, db)
	currentUser(t, db)
	if st := conn.Stats(); st.AuthFailures != 1 || st.PendingLogins != 3 {
		t.Fatalf("later connections: %+v, want no new raw failure", st)
	}
	rotortest.MoveCurrent(t, m.sm, name, vB, vA)
	if err := m.cache.Refresh(ctx, name); err != nil {
		t.Fatal(err)
	}
	currentUser(t, db)
	if st := conn.Stats(); st.AuthFailures != 1 {
		t.Fatalf("after finishSecret: %+v, want no new raw failure", st)
	}
}

// Errors other than a refused login pass through untouched.
func TestOtherErrorsPassThrough(t *testing.T) {
	pwA := rotortest.Password()
	m := setup(t, pwA)
	name := rotortest.Name("my_nodb")
	rotortest.CreateSecret(t, m.sm, name, m.secretJSON(t, pwA, "no_such_database_rotor"))
	conn := mysqlsecret.NewConnector(m.cache, name, generous)
	db := sql.OpenDB(conn)
	defer db.Close()
	err := db.PingContext(ctx)
	var me *mysql.MySQLError
	// 1044: access denied to that database; 1049: unknown database.
	if !errors.As(err, &me) || (me.Number != 1044 && me.Number != 1049) || errors.Is(err, client.ErrLoginRefused) {
		t.Fatalf("unknown database: %v, want error 1044/1049 untouched", err)
	}
	if st := conn.Stats(); st.Attempts != 1 || st.OtherErrors != 1 || st.AuthFailures != 0 {
		t.Fatalf("stats = %+v, want 1 attempt, 1 other error", st)
	}
	if st := m.cache.Stats(); st.DescribeSecretCalls != 1 {
		t.Fatalf("the cache sent %d DescribeSecret, want 1 (no refresh)", st.DescribeSecretCalls)
	}

	good := rotortest.Name("my_syntax")
	rotortest.CreateSecret(t, m.sm, good, m.secretJSON(t, pwA, ""))
	conn2 := mysqlsecret.NewConnector(m.cache, good, generous)
	db2 := sql.OpenDB(conn2)
	defer db2.Close()
	_, err = db2.ExecContext(ctx, "SELEC 1")
	if !errors.As(err, &me) || me.Number != 1064 {
		t.Fatalf("syntax error: %v, want error 1064", err)
	}
	if st := conn2.Stats(); st.AuthFailures != 0 || st.Attempts != 1 {
		t.Fatalf("stats = %+v, want one login and nothing else", st)
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}
