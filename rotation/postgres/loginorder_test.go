package postgres_test

import (
	"context"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"

	"github.com/rotorhq/rotor"
	"github.com/rotorhq/rotor/rotation/builtin"
	"github.com/rotorhq/rotor/rotation/builtin/builtintest"
	"github.com/rotorhq/rotor/rotation/postgres"
)

// recording wraps the real driver and notes, for each login, the password
// it used and whether the server accepted it.
type recording struct {
	builtin.Driver
	mu     sync.Mutex
	logins []login
}

type login struct {
	password string
	ok       bool
}

func (r *recording) Connect(ctx context.Context, c builtin.Conn) (builtin.Session, error) {
	s, err := r.Driver.Connect(ctx, c)
	r.mu.Lock()
	r.logins = append(r.logins, login{c.Password, err == nil})
	r.mu.Unlock()
	return s, err
}

func (r *recording) take() []login {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.logins
	r.logins = nil
	return out
}

// TestSingleUserSetLogsInWithCurrentFirst: in the usual run setSecret logs
// in once, with AWSCURRENT, and is never refused (trying AWSPENDING first
// costs a refused login); a retried setSecret, whose password change
// already happened, is refused with AWSCURRENT and then finds AWSPENDING
// logs in, and changes nothing.
func TestSingleUserSetLogsInWithCurrentFirst(t *testing.T) {
	s := newServer(t)
	env := builtintest.NewEnv(t)
	user := builtintest.Unique("rotor_test_order_")
	s.createRole(t, user, "p0-initial", "")
	// Plaintext only, so each login is one connection (the server has no TLS).
	arn := env.CreateSecret(t, builtintest.Unique("pg-order-"), secretJSON(s.host, s.port, user, "p0-initial", "postgres", map[string]any{"ssl": false}))
	rec := &recording{Driver: postgres.Driver{}}
	e := postgres.Engine()
	e.Driver = rec
	fn := function(env, builtin.SingleUser{Engine: e})

	token := env.StartRotation(t, arn)
	if err := env.Steps(fn, arn, token, rotor.StepCreate); err != nil {
		t.Fatal(err)
	}
	rec.take()
	if err := env.Steps(fn, arn, token, rotor.StepSet); err != nil {
		t.Fatal(err)
	}
	pending := parseCreds(t, env.Value(t, arn, rotor.StagePending)).Password
	// Names the password of each login, so a failure prints no password.
	describe := func(ls []login) []string {
		var out []string
		for _, l := range ls {
			name := map[string]string{"p0-initial": "AWSCURRENT", pending: "AWSPENDING"}[l.password]
			out = append(out, fmt.Sprintf("%s ok=%v", name, l.ok))
		}
		return out
	}
	if got := rec.take(); len(got) != 1 || got[0].password != "p0-initial" || !got[0].ok {
		t.Errorf("setSecret logins = %v, want one accepted login with AWSCURRENT", describe(got))
	}
	s.mustLogIn(t, user, pending, "postgres")

	// Retried: AWSCURRENT is refused now, AWSPENDING logs in, nothing changes.
	if err := env.Steps(fn, arn, token, rotor.StepSet); err != nil {
		t.Fatal(err)
	}
	if got := rec.take(); len(got) != 2 || got[0].password != "p0-initial" || got[0].ok || got[1].password != pending || !got[1].ok {
		t.Errorf("retried setSecret logins = %v, want AWSCURRENT refused, then AWSPENDING accepted", describe(got))
	}
	s.mustLogIn(t, user, pending, "postgres")
	if err := env.Steps(fn, arn, token, rotor.StepTest, rotor.StepFinish); err != nil {
		t.Fatal(err)
	}
}

// TestSingleUserSetFallsBackOnlyOnRefusal: setSecret moves to the next
// password only when the server refused the previous one. With AWSCURRENT
// refused it tries AWSPENDING, and when that fails for another reason
// (its database does not exist) it stops there with that error instead of
// trying AWSPREVIOUS; refused AWSCURRENT and AWSPENDING lead on to
// AWSPREVIOUS, which then changes the password.
func TestSingleUserSetFallsBackOnlyOnRefusal(t *testing.T) {
	s := newServer(t)
	user := builtintest.Unique("rotor_test_fallback_")
	s.createRole(t, user, "pend-pw", "")
	rec := &recording{Driver: postgres.Driver{}}
	e := postgres.Engine()
	e.Driver = rec
	set := builtin.SingleUser{Engine: e}.Set
	plain := map[string]any{"ssl": false}
	v := builtin.Values{
		SecretARN: "arn:s",
		Current:   secretJSON(s.host, s.port, user, "cur-pw", "postgres", plain),
		Pending:   secretJSON(s.host, s.port, user, "pend-pw", user+"_nodb", plain),
		Previous:  secretJSON(s.host, s.port, user, "prev-pw", "postgres", plain),
	}
	describe := func(ls []login) []string {
		var out []string
		for _, l := range ls {
			out = append(out, fmt.Sprintf("%s ok=%v", l.password, l.ok)) // test passwords only
		}
		return out
	}

	err := set(context.Background(), v)
	if err == nil || !strings.Contains(err.Error(), "with the AWSPENDING secret") || !strings.Contains(err.Error(), "does not exist") {
		t.Fatalf("setSecret = %v, want the AWSPENDING login's missing-database error", err)
	}
	if got := rec.take(); len(got) != 2 || got[0].password != "cur-pw" || got[1].password != "pend-pw" {
		t.Errorf("setSecret logins = %v, want AWSCURRENT refused, then AWSPENDING only", describe(got))
	}

	// AWSCURRENT refused, AWSPENDING logs in: nothing to do.
	v.Pending = secretJSON(s.host, s.port, user, "pend-pw", "postgres", plain)
	if err := set(context.Background(), v); err != nil {
		t.Fatal(err)
	}
	if got := rec.take(); len(got) != 2 || got[0].ok || !got[1].ok || got[1].password != "pend-pw" {
		t.Errorf("setSecret logins = %v, want AWSCURRENT refused, then AWSPENDING accepted", describe(got))
	}

	// AWSCURRENT and AWSPENDING refused: AWSPREVIOUS logs in and changes it.
	s.exec(t, "ALTER ROLE "+postgres.Ident(user)+" PASSWORD "+postgres.QuoteLiteral("prev-pw"))
	if err := set(context.Background(), v); err != nil {
		t.Fatal(err)
	}
	if got := rec.take(); len(got) != 3 || got[0].ok || got[1].ok || !got[2].ok || got[2].password != "prev-pw" {
		t.Errorf("setSecret logins = %v, want AWSCURRENT and AWSPENDING refused, then AWSPREVIOUS accepted", describe(got))
	}
	s.mustLogIn(t, user, "pend-pw", "postgres")
}

// TestSingleUserSetUnreachable: with the server unreachable setSecret
// returns the connection error after one login with AWSCURRENT, without
// trying AWSPENDING or AWSPREVIOUS.
func TestSingleUserSetUnreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	rec := &recording{Driver: postgres.Driver{}}
	e := postgres.Engine()
	e.Driver = rec
	plain := map[string]any{"ssl": false}
	err = builtin.SingleUser{Engine: e}.Set(context.Background(), builtin.Values{
		SecretARN: "arn:s",
		Current:   secretJSON("127.0.0.1", port, "app", "cur-pw", "postgres", plain),
		Pending:   secretJSON("127.0.0.1", port, "app", "pend-pw", "postgres", plain),
		Previous:  secretJSON("127.0.0.1", port, "app", "prev-pw", "postgres", plain),
	})
	if err == nil || !strings.Contains(err.Error(), "with the AWSCURRENT secret") || !strings.Contains(err.Error(), "connection refused") {
		t.Fatalf("setSecret = %v, want the AWSCURRENT login's connection error", err)
	}
	if got := rec.take(); len(got) != 1 || got[0].password != "cur-pw" {
		t.Errorf("setSecret logged in %d times, want once, with AWSCURRENT", len(got))
	}
}

// TestSingleUserSetFallsBackWithSSLPrefer: with the default TLS mode a
// login is a TLS attempt that fails for a reason other than the password
// (the test server's certificate does not verify for 127.0.0.1), then a
// plaintext one; a refused plaintext attempt makes the whole login
// refused, so setSecret still moves on to AWSPENDING.
func TestSingleUserSetFallsBackWithSSLPrefer(t *testing.T) {
	s := newServer(t)
	user := builtintest.Unique("rotor_test_prefer_")
	s.createRole(t, user, "pend-pw", "")
	rec := &recording{Driver: postgres.Driver{}}
	e := postgres.Engine()
	e.Driver = rec
	err := builtin.SingleUser{Engine: e}.Set(context.Background(), builtin.Values{
		SecretARN: "arn:s",
		Current:   secretJSON(s.host, s.port, user, "cur-pw", "postgres", nil),
		Pending:   secretJSON(s.host, s.port, user, "pend-pw", "postgres", nil),
	})
	if err != nil {
		t.Fatalf("setSecret with AWSCURRENT refused and AWSPENDING valid = %v, want nil", err)
	}
	got := rec.take()
	if n := len(got); n == 0 || !got[n-1].ok || got[n-1].password != "pend-pw" {
		t.Errorf("setSecret made %d connection attempts, the last not an accepted AWSPENDING login", n)
	}
	s.mustLogIn(t, user, "pend-pw", "postgres")
}
