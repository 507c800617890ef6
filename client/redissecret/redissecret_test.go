package redissecret_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/redis/go-redis/v9"

	"github.com/rotorhq/rotor"
	"github.com/rotorhq/rotor/client"
	"github.com/rotorhq/rotor/client/internal/rotortest"
	"github.com/rotorhq/rotor/client/redissecret"
	"github.com/rotorhq/rotor/internal/testsvc"
)

func TestMain(m *testing.M) {
	redis.SetLogger(quietLog{}) // go-redis logs every failed dial
	rotortest.Main(m)
}

type quietLog struct{}

func (quietLog) Printf(context.Context, string, ...any) {}

var ctx = context.Background()

// rd is one test's Redis ACL user, Rotor server and cache.
type rd struct {
	admin *redis.Client
	opts  *redis.Options // where to connect, without credentials
	user  string
	sm    *secretsmanager.Client
	cache *client.Cache
}

// setup creates an ACL user with password pw (deleted when the test ends)
// and starts a Rotor server with a cache.
func setup(t *testing.T, pw string) *rd {
	t.Helper()
	u := testsvc.Redis(t)
	opts, err := redis.ParseURL(u.String())
	if err != nil {
		t.Fatal(err)
	}
	r := &rd{admin: redis.NewClient(opts), user: rotortest.Name("rotor_client")}
	plain := *opts
	plain.Username, plain.Password = "", ""
	r.opts = &plain
	if err := r.admin.Do(ctx, "ACL", "SETUSER", r.user, "on", ">"+pw, "~*", "&*", "+@all").Err(); err != nil {
		t.Fatalf("ACL SETUSER %s: %v", r.user, err)
	}
	t.Cleanup(func() {
		if err := r.admin.Do(context.Background(), "ACL", "DELUSER", r.user).Err(); err != nil {
			t.Errorf("ACL DELUSER %s: %v", r.user, err)
		}
		r.admin.Close()
	})
	srv := rotortest.Start(t)
	r.sm = srv.Client()
	r.cache = client.New(r.sm, client.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	return r
}

// setPassword replaces the user's passwords in Redis.
func (r *rd) setPassword(t *testing.T, pw string) {
	t.Helper()
	if err := r.admin.Do(ctx, "ACL", "SETUSER", r.user, "resetpass", ">"+pw).Err(); err != nil {
		t.Fatalf("ACL SETUSER %s resetpass: %v", r.user, err)
	}
}

// secretJSON is the user's secret in the ElastiCache user shape (no host).
func (r *rd) secretJSON(t *testing.T, pw string) string {
	t.Helper()
	b, err := json.Marshal(map[string]string{"username": r.user, "password": pw})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// whoami runs ACL WHOAMI on a new client (so a new connection) of conn.
func whoami(t *testing.T, conn *redissecret.Connector, opts *redis.Options) (string, error) {
	t.Helper()
	rdb := conn.NewClient(opts)
	defer rdb.Close()
	return rdb.Do(ctx, "ACL", "WHOAMI").Text()
}

func mustWhoami(t *testing.T, conn *redissecret.Connector, opts *redis.Options) string {
	t.Helper()
	who, err := whoami(t, conn, opts)
	if err != nil {
		t.Fatalf("ACL WHOAMI: %v", err)
	}
	return who
}

var generous = redissecret.WithDialOptions(client.WithMaxAttempts(200), client.WithRetryBudget(2*time.Minute),
	client.WithRetryDelay(5*time.Millisecond, 50*time.Millisecond))

// Logins are real: the right password authenticates as the user (not the
// password-less default user), a wrong one is refused with WRONGPASS.
func TestLoginIsReal(t *testing.T) {
	pwA := rotortest.Password()
	r := setup(t, pwA)
	good, bad := rotortest.Name("rd_good"), rotortest.Name("rd_bad")
	rotortest.CreateSecret(t, r.sm, good, r.secretJSON(t, pwA))
	rotortest.CreateSecret(t, r.sm, bad, r.secretJSON(t, "wrong-"+pwA))

	if who := mustWhoami(t, redissecret.NewConnector(r.cache, good), r.opts); who != r.user {
		t.Fatalf("ACL WHOAMI = %q, want %q", who, r.user)
	}
	conn := redissecret.NewConnector(r.cache, bad, redissecret.WithDialOptions(client.WithMaxAttempts(2),
		client.WithRetryDelay(time.Millisecond, time.Millisecond)))
	_, err := whoami(t, conn, r.opts)
	if !errors.Is(err, client.ErrLoginRefused) || !redissecret.IsAuthFailure(err) {
		t.Fatalf("wrong password: %v, want ErrLoginRefused wrapping WRONGPASS", err)
	}
	if strings.Contains(err.Error(), pwA) {
		t.Fatalf("error contains the password: %v", err)
	}
	if st := conn.Stats(); st.AuthFailures != 2 || st.Attempts != 2 || st.Refused != 1 {
		t.Fatalf("stats after a refused login = %+v", st)
	}

	// The secret's host and port win over the address go-redis passes.
	hosted := rotortest.Name("rd_hosted")
	host, port, _ := net.SplitHostPort(r.opts.Addr)
	p, _ := strconv.Atoi(port)
	b, _ := json.Marshal(map[string]any{"host": host, "port": p, "username": r.user, "password": pwA})
	rotortest.CreateSecret(t, r.sm, hosted, string(b))
	elsewhere := *r.opts
	elsewhere.Addr = "192.0.2.1:1" // TEST-NET-1: nothing answers there
	if who := mustWhoami(t, redissecret.NewConnector(r.cache, hosted), &elsewhere); who != r.user {
		t.Fatalf("ACL WHOAMI via the secret's host = %q", who)
	}
}

// Single-user rotation: Redis gets the new password before AWSCURRENT
// does; new connections keep working.
func TestSingleUserRotation(t *testing.T) {
	pwA, pwB, pwC := rotortest.Password(), rotortest.Password(), rotortest.Password()
	r := setup(t, pwA)
	name := rotortest.Name("rd_rotation")
	rotortest.CreateSecret(t, r.sm, name, r.secretJSON(t, pwA))
	conn := redissecret.NewConnector(r.cache, name, generous, redissecret.WithDialOptions(client.WithPending(false)))

	// A client whose pooled connection was opened before the rotation.
	held := conn.NewClient(r.opts)
	defer held.Close()
	if err := held.Ping(ctx).Err(); err != nil {
		t.Fatal(err)
	}

	r.setPassword(t, pwB)
	rotortest.PutSecret(t, r.sm, name, r.secretJSON(t, pwB))
	if who := mustWhoami(t, conn, r.opts); who != r.user {
		t.Fatalf("after rotation ACL WHOAMI = %q", who)
	}
	st := conn.Stats()
	if st.AuthFailures != 1 || st.Logins != 2 {
		t.Fatalf("after rotation stats = %+v, want 1 raw auth failure and 2 logins", st)
	}

	r.setPassword(t, pwC)
	done := make(chan error, 1)
	go func() {
		who, err := whoami(t, conn, r.opts)
		if err == nil && who != r.user {
			err = errors.New("authenticated as " + who)
		}
		done <- err
	}()
	waitFor(t, "a refused login with B", func() bool { return conn.Stats().AuthFailures >= st.AuthFailures+2 })
	rotortest.PutSecret(t, r.sm, name, r.secretJSON(t, pwC))
	if err := <-done; err != nil {
		t.Fatalf("command during the rotation window: %v", err)
	}
	if st2 := conn.Stats(); st2.Waits == 0 || st2.Refused != 0 {
		t.Fatalf("window stats = %+v, want waits > 0 and nothing refused", st2)
	}
	if err := held.Ping(ctx).Err(); err != nil {
		t.Fatalf("connection opened before the rotation: %v", err)
	}
}

// AWSPENDING shortcut: one raw failure, no wait, then straight to the
// pending credentials.
func TestPendingShortcut(t *testing.T) {
	pwA, pwB := rotortest.Password(), rotortest.Password()
	r := setup(t, pwA)
	name := rotortest.Name("rd_pending")
	vA := rotortest.CreateSecret(t, r.sm, name, r.secretJSON(t, pwA))
	conn := redissecret.NewConnector(r.cache, name, generous)
	mustWhoami(t, conn, r.opts)

	vB := rotortest.PutSecret(t, r.sm, name, r.secretJSON(t, pwB), rotor.StagePending)
	r.setPassword(t, pwB)
	if who := mustWhoami(t, conn, r.opts); who != r.user {
		t.Fatalf("ACL WHOAMI = %q", who)
	}
	if st := conn.Stats(); st.AuthFailures != 1 || st.PendingLogins != 1 || st.Waits != 0 {
		t.Fatalf("first connection after setSecret: %+v, want 1 raw failure, 1 AWSPENDING login, no wait", st)
	}
	mustWhoami(t, conn, r.opts)
	if st := conn.Stats(); st.AuthFailures != 1 || st.PendingLogins != 2 {
		t.Fatalf("later connection: %+v, want no new raw failure", st)
	}
	// go-redis's own credentials hook reports the pending credentials too.
	if u, p, err := conn.Credentials(ctx); err != nil || u != r.user || p != pwB {
		t.Fatalf("Credentials = %q, (password matches B: %v), %v", u, p == pwB, err)
	}
	rotortest.MoveCurrent(t, r.sm, name, vB, vA)
	if err := r.cache.Refresh(ctx, name); err != nil {
		t.Fatal(err)
	}
	mustWhoami(t, conn, r.opts)
	if st := conn.Stats(); st.AuthFailures != 1 {
		t.Fatalf("after finishSecret: %+v, want no new raw failure", st)
	}
}

// Errors other than a refused password pass through untouched.
func TestOtherErrorsPassThrough(t *testing.T) {
	pwA := rotortest.Password()
	r := setup(t, pwA)

	// A port nobody listens on.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := l.Addr().(*net.TCPAddr)
	l.Close()
	name := rotortest.Name("rd_refused")
	b, _ := json.Marshal(map[string]any{"host": "127.0.0.1", "port": closed.Port, "username": r.user, "password": pwA})
	rotortest.CreateSecret(t, r.sm, name, string(b))
	conn := redissecret.NewConnector(r.cache, name, generous)
	noRetry := *r.opts
	noRetry.MaxRetries = -1 // go-redis would otherwise retry the command on a new dial
	_, err = whoami(t, conn, &noRetry)
	var op *net.OpError
	if !errors.As(err, &op) || errors.Is(err, client.ErrLoginRefused) {
		t.Fatalf("connection refused: %v, want the *net.OpError untouched", err)
	}
	if st := conn.Stats(); st.Attempts != 1 || st.OtherErrors != 1 || st.AuthFailures != 0 {
		t.Fatalf("stats = %+v, want 1 attempt, 1 other error", st)
	}
	if st := r.cache.Stats(); st.DescribeSecretCalls != 1 {
		t.Fatalf("the cache sent %d DescribeSecret, want 1 (no refresh)", st.DescribeSecretCalls)
	}

	// An error reply to a command is Redis's answer, not a login problem.
	good := rotortest.Name("rd_cmd")
	rotortest.CreateSecret(t, r.sm, good, r.secretJSON(t, pwA))
	conn2 := redissecret.NewConnector(r.cache, good, generous)
	rdb := conn2.NewClient(r.opts)
	defer rdb.Close()
	err = rdb.Do(ctx, "NOSUCHCOMMAND").Err()
	var re redis.Error
	if !errors.As(err, &re) || !strings.HasPrefix(err.Error(), "ERR unknown command") {
		t.Fatalf("unknown command: %v", err)
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
