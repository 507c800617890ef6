package pgsecret_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/rotorhq/rotor"
	"github.com/rotorhq/rotor/client"
	"github.com/rotorhq/rotor/client/internal/rotortest"
	"github.com/rotorhq/rotor/client/pgsecret"
	"github.com/rotorhq/rotor/internal/testsvc"
)

func TestMain(m *testing.M) { rotortest.Main(m) }

var ctx = context.Background()

// pg is one test's PostgreSQL role, Rotor server and cache.
type pg struct {
	server *rotortest.Server
	admin  *pgx.Conn
	host   string
	port   string
	role   string
	sm     *secretsmanager.Client
	cache  *client.Cache
}

// setup creates a login role with password pw, member of
// rotor_password_auth so that PostgreSQL checks its password, and drops it
// when the test ends; and starts a Rotor server with a cache.
func setup(t *testing.T, pw string) *pg {
	t.Helper()
	u := testsvc.Postgres(t)
	admin, err := pgx.Connect(ctx, u.String())
	if err != nil {
		t.Fatalf("connect as admin to %s: %v", u.Redacted(), err)
	}
	p := &pg{admin: admin, host: u.Hostname(), port: u.Port(), role: rotortest.Name("rotor_client")}
	if p.port == "" {
		p.port = "5432"
	}
	p.exec(t, "CREATE ROLE "+p.role+" LOGIN PASSWORD "+literal(pw)+" IN ROLE rotor_password_auth")
	t.Cleanup(func() {
		c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		admin.Exec(c, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1", p.role)
		if _, err := admin.Exec(c, "DROP ROLE IF EXISTS "+p.role); err != nil {
			t.Errorf("drop role %s: %v", p.role, err)
		}
		admin.Close(c)
	})
	p.server = rotortest.Start(t)
	p.sm = p.server.Client()
	p.cache = client.New(p.sm, client.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	return p
}

func (p *pg) exec(t *testing.T, q string) {
	t.Helper()
	if _, err := p.admin.Exec(ctx, q); err != nil {
		t.Fatalf("%s: %v", strings.SplitN(q, " PASSWORD ", 2)[0], err)
	}
}

// setPassword changes the role's password in the database.
func (p *pg) setPassword(t *testing.T, pw string) {
	t.Helper()
	p.exec(t, "ALTER ROLE "+p.role+" PASSWORD "+literal(pw))
}

// secretJSON is the role's secret in AWS's PostgreSQL shape.
func (p *pg) secretJSON(t *testing.T, user, pw, dbname string) string {
	t.Helper()
	b, err := json.Marshal(map[string]any{"engine": "postgres", "host": p.host, "port": p.port,
		"username": user, "password": pw, "dbname": dbname})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func literal(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// currentUser runs SELECT current_user on a new connection of db.
func currentUser(t *testing.T, db *sql.DB) string {
	t.Helper()
	var u string
	if err := db.QueryRowContext(ctx, "SELECT current_user").Scan(&u); err != nil {
		t.Fatalf("SELECT current_user: %v", err)
	}
	return u
}

// generous gives the retry loop room so the tests do not depend on timing.
var generous = pgsecret.WithDialOptions(client.WithMaxAttempts(200), client.WithRetryBudget(2*time.Minute),
	client.WithRetryDelay(5*time.Millisecond, 50*time.Millisecond))

// Logins are real: the right password logs in as the role, a wrong one is
// refused with 28P01 (and retried only within the budget).
func TestLoginIsReal(t *testing.T) {
	pwA := rotortest.Password()
	p := setup(t, pwA)
	good, bad := rotortest.Name("pg_good"), rotortest.Name("pg_bad")
	rotortest.CreateSecret(t, p.sm, good, p.secretJSON(t, p.role, pwA, "postgres"))
	rotortest.CreateSecret(t, p.sm, bad, p.secretJSON(t, p.role, "wrong-"+pwA, "postgres"))

	db := pgsecret.OpenDB(p.cache, good)
	defer db.Close()
	if u := currentUser(t, db); u != p.role {
		t.Fatalf("current_user = %q, want %q", u, p.role)
	}

	conn := pgsecret.NewConnector(p.cache, bad, pgsecret.WithDialOptions(client.WithMaxAttempts(2),
		client.WithRetryDelay(time.Millisecond, time.Millisecond)))
	dbBad := sql.OpenDB(conn)
	defer dbBad.Close()
	err := dbBad.PingContext(ctx)
	if !errors.Is(err, client.ErrLoginRefused) || !pgsecret.IsAuthFailure(err) {
		t.Fatalf("wrong password: %v, want ErrLoginRefused wrapping SQLSTATE 28P01", err)
	}
	if strings.Contains(err.Error(), pwA) {
		t.Fatalf("error contains the password: %v", err)
	}
	if st := conn.Stats(); st.AuthFailures != 2 || st.Attempts != 2 || st.Refused != 1 || st.Logins != 0 {
		t.Fatalf("stats after a refused login = %+v, want 2 attempts, 2 auth failures, 1 refused", st)
	}
}

// Single-user rotation: the database gets the new password before the
// secret's AWSCURRENT does. New connections of the same pool keep working:
// a refused login refreshes the secret and retries; an open session is
// unaffected.
func TestSingleUserRotation(t *testing.T) {
	pwA, pwB, pwC := rotortest.Password(), rotortest.Password(), rotortest.Password()
	p := setup(t, pwA)
	name := rotortest.Name("pg_rotation")
	rotortest.CreateSecret(t, p.sm, name, p.secretJSON(t, p.role, pwA, "postgres"))

	conn := pgsecret.NewConnector(p.cache, name, generous, pgsecret.WithDialOptions(client.WithPending(false)))
	db := sql.OpenDB(conn)
	defer db.Close()
	db.SetMaxIdleConns(0) // every query below opens a fresh connection
	if u := currentUser(t, db); u != p.role {
		t.Fatalf("current_user = %q", u)
	}
	held, err := db.Conn(ctx) // a session opened before the rotation
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()

	// 1. Database first, then AWSCURRENT, then a query: the cached A is
	// refused, the refresh finds B.
	p.setPassword(t, pwB)
	rotortest.PutSecret(t, p.sm, name, p.secretJSON(t, p.role, pwB, "postgres"))
	if u := currentUser(t, db); u != p.role {
		t.Fatalf("after rotation current_user = %q", u)
	}
	st := conn.Stats()
	if st.AuthFailures != 1 || st.Logins != 3 {
		t.Fatalf("after rotation stats = %+v, want 1 raw auth failure and 3 logins (the held session included)", st)
	}

	// 2. A query in the window itself: the database wants C, AWSCURRENT
	// still says B. The connector keeps retrying until C is put.
	p.setPassword(t, pwC)
	done := make(chan error, 1)
	go func() {
		var u string
		err := db.QueryRowContext(ctx, "SELECT current_user").Scan(&u)
		if err == nil && u != p.role {
			err = errors.New("logged in as " + u)
		}
		done <- err
	}()
	waitFor(t, "a refused login with B", func() bool { return conn.Stats().AuthFailures >= st.AuthFailures+2 })
	rotortest.PutSecret(t, p.sm, name, p.secretJSON(t, p.role, pwC, "postgres"))
	if err := <-done; err != nil {
		t.Fatalf("query during the rotation window: %v", err)
	}
	st2 := conn.Stats()
	if st2.Waits == 0 || st2.AuthFailures < st.AuthFailures+2 || st2.Refused != 0 {
		t.Fatalf("window stats = %+v, want waits > 0, auth failures >= %d, none refused", st2, st.AuthFailures+2)
	}

	// The session opened before both rotations still works.
	var one int
	if err := held.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil || one != 1 {
		t.Fatalf("old session: %d, %v", one, err)
	}
}

// With the AWSPENDING shortcut the rotation is invisible: the first new
// connection after the database changed is refused once with the cached
// AWSCURRENT and logs in with AWSPENDING at once (no wait); later
// connections go straight to AWSPENDING (no further raw failures), and so
// on after AWSCURRENT moves to it.
func TestPendingShortcut(t *testing.T) {
	pwA, pwB := rotortest.Password(), rotortest.Password()
	p := setup(t, pwA)
	name := rotortest.Name("pg_pending")
	vA := rotortest.CreateSecret(t, p.sm, name, p.secretJSON(t, p.role, pwA, "postgres"))

	conn := pgsecret.NewConnector(p.cache, name, generous)
	db := sql.OpenDB(conn)
	defer db.Close()
	db.SetMaxIdleConns(0)
	currentUser(t, db)

	vB := rotortest.PutSecret(t, p.sm, name, p.secretJSON(t, p.role, pwB, "postgres"), rotor.StagePending)
	p.setPassword(t, pwB)
	if u := currentUser(t, db); u != p.role {
		t.Fatalf("current_user = %q", u)
	}
	st := conn.Stats()
	if st.AuthFailures != 1 || st.PendingLogins != 1 || st.Waits != 0 {
		t.Fatalf("first connection after setSecret: %+v, want 1 raw failure, 1 AWSPENDING login, no wait", st)
	}
	for range 3 {
		currentUser(t, db)
	}
	if st2 := conn.Stats(); st2.AuthFailures != 1 || st2.PendingLogins != 4 {
		t.Fatalf("later connections: %+v, want no new raw failure and 4 AWSPENDING logins", st2)
	}

	// finishSecret: AWSCURRENT moves to B.
	rotortest.MoveCurrent(t, p.sm, name, vB, vA)
	if err := p.cache.Refresh(ctx, name); err != nil {
		t.Fatal(err)
	}
	currentUser(t, db)
	if st3 := conn.Stats(); st3.AuthFailures != 1 {
		t.Fatalf("after finishSecret: %+v, want no new raw failure", st3)
	}
}

// Errors other than a refused password pass through untouched, without a
// refresh or a retry.
func TestOtherErrorsPassThrough(t *testing.T) {
	pwA := rotortest.Password()
	p := setup(t, pwA)
	name := rotortest.Name("pg_nodb")
	rotortest.CreateSecret(t, p.sm, name, p.secretJSON(t, p.role, pwA, "no_such_database_rotor"))
	conn := pgsecret.NewConnector(p.cache, name, generous)
	db := sql.OpenDB(conn)
	defer db.Close()

	err := db.PingContext(ctx)
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || pe.Code != "3D000" || errors.Is(err, client.ErrLoginRefused) {
		t.Fatalf("unknown database: %v, want SQLSTATE 3D000 untouched", err)
	}
	if st := conn.Stats(); st.Attempts != 1 || st.OtherErrors != 1 || st.AuthFailures != 0 {
		t.Fatalf("stats = %+v, want 1 attempt, 1 other error", st)
	}
	if st := p.cache.Stats(); st.DescribeSecretCalls != 1 {
		t.Fatalf("the cache sent %d DescribeSecret, want 1 (no refresh)", st.DescribeSecretCalls)
	}

	// A syntax error on a working connection is the database's answer.
	good := rotortest.Name("pg_syntax")
	rotortest.CreateSecret(t, p.sm, good, p.secretJSON(t, p.role, pwA, "postgres"))
	conn2 := pgsecret.NewConnector(p.cache, good, generous)
	db2 := sql.OpenDB(conn2)
	defer db2.Close()
	_, err = db2.ExecContext(ctx, "SELEC 1")
	if !errors.As(err, &pe) || pe.Code != "42601" {
		t.Fatalf("syntax error: %v, want SQLSTATE 42601", err)
	}
	if st := conn2.Stats(); st.AuthFailures != 0 || st.Attempts != 1 || st.Logins != 1 {
		t.Fatalf("stats = %+v, want one login and nothing else", st)
	}
}

// The Connector's connections are pgx's stdlib ones: they return the usual
// Go types, handle arguments, transactions and prepared statements, and
// (*sql.Conn).Raw reaches the *pgx.Conn logged in with the secret.
func TestDriverTypes(t *testing.T) {
	pwA := rotortest.Password()
	p := setup(t, pwA)
	name := rotortest.Name("pg_types")
	rotortest.CreateSecret(t, p.sm, name, p.secretJSON(t, p.role, pwA, "postgres"))
	conn := pgsecret.NewConnector(p.cache, name)
	if conn.Driver() != stdlib.GetDefaultDriver() {
		t.Fatalf("Driver() = %T, want stdlib's driver", conn.Driver())
	}
	db := sql.OpenDB(conn)
	defer db.Close()

	sc, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var rawUser string
	err = sc.Raw(func(dc any) error {
		c, ok := dc.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("driver conn is %T, want *stdlib.Conn", dc)
		}
		return c.Conn().QueryRow(ctx, "SELECT current_user").Scan(&rawUser)
	})
	sc.Close()
	if err != nil || rawUser != p.role {
		t.Fatalf("Raw: current_user = %q, %v; want %q", rawUser, err, p.role)
	}

	var (
		i    int64
		f    float64
		b    bool
		s    string
		by   []byte
		ts   time.Time
		num  string
		null sql.NullString
	)
	err = db.QueryRowContext(ctx,
		"SELECT $1::int4 + 1, $2::float8 * 2, $3::bool, $4::text || '!', $5::bytea, '2030-01-02 03:04:05+00'::timestamptz, 1.50::numeric, NULL::text",
		41, 1.25, true, "hi", []byte{0, 255}).Scan(&i, &f, &b, &s, &by, &ts, &num, &null)
	if err != nil {
		t.Fatal(err)
	}
	if i != 42 || f != 2.5 || !b || s != "hi!" || string(by) != "\x00\xff" ||
		!ts.Equal(time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)) || num != "1.50" || null.Valid {
		t.Fatalf("got %d %v %v %q %v %v %q %v", i, f, b, s, by, ts, num, null)
	}

	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.ExecContext(ctx, "CREATE TEMP TABLE t (n int)"); err != nil {
		t.Fatal(err)
	}
	stmt, err := tx.PrepareContext(ctx, "INSERT INTO t VALUES ($1)")
	if err != nil {
		t.Fatal(err)
	}
	for n := range 3 {
		if _, err := stmt.ExecContext(ctx, n); err != nil {
			t.Fatal(err)
		}
	}
	stmt.Close()
	rows, err := tx.QueryContext(ctx, "SELECT n FROM t ORDER BY n")
	if err != nil {
		t.Fatal(err)
	}
	var got []int
	for rows.Next() {
		var n int
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		got = append(got, n)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got[0] != 0 || got[2] != 2 {
		t.Fatalf("rows = %v", got)
	}
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
}

// waitFor polls cond until it holds; it fails the test after a minute.
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
