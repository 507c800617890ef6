package client_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rotorhq/rotor"
	"github.com/rotorhq/rotor/client"
	"github.com/rotorhq/rotor/client/internal/rotortest"
)

// The decision logic of Dialer, against a real Rotor server and a stand-in
// login function; the connectors' tests run the same logic against real
// PostgreSQL, MariaDB and Redis.

var errWrongPassword = errors.New("wrong password")

// db accepts one password and records the ones it was offered.
type db struct {
	mu     sync.Mutex
	accept string
	tried  []string
	hook   func(n int) // called after each refusal with the attempt number
}

func (d *db) login(_ context.Context, s *client.DBSecret) error {
	d.mu.Lock()
	d.tried = append(d.tried, s.Password)
	n, ok, hook := len(d.tried), s.Password == d.accept, d.hook
	d.mu.Unlock()
	if ok {
		return nil
	}
	if hook != nil {
		hook(n)
	}
	return errWrongPassword
}

func isWrongPassword(err error) bool { return errors.Is(err, errWrongPassword) }

func dbSecret(pw string) string {
	return `{"engine":"postgres","host":"db","username":"app","password":"` + pw + `"}`
}

// Refused logins stop after WithMaxAttempts; the error wraps
// ErrLoginRefused and the last login error, and the secret was refreshed
// between attempts.
func TestDialAttemptsExhausted(t *testing.T) {
	e := newEnv(t)
	name := rotortest.Name("dial_attempts")
	rotortest.CreateSecret(t, e.sm, name, dbSecret("pw-a"))
	d := client.NewDialer(e.cache, name, isWrongPassword, client.WithMaxAttempts(3), client.WithRetryDelay(time.Millisecond, time.Millisecond))
	target := &db{accept: "never"}
	err := d.Dial(ctx, target.login)
	if !errors.Is(err, client.ErrLoginRefused) || !errors.Is(err, errWrongPassword) || rotor.ErrorCode(err) != rotor.EDENIED {
		t.Fatalf("Dial = %v, want ErrLoginRefused wrapping the login error", err)
	}
	if st := d.Stats(); st.Attempts != 3 || st.AuthFailures != 3 || st.Waits != 2 || st.Refused != 1 || st.Logins != 0 {
		t.Fatalf("stats = %+v, want 3 attempts, 3 auth failures, 2 waits, 1 refused", st)
	}
	if got := e.cache.Stats().DescribeSecretCalls; got < 3 {
		t.Fatalf("DescribeSecret sent %d times, want a refresh after each refusal", got)
	}
}

// A zero retry budget allows no wait: one login, then the refusal.
func TestDialBudget(t *testing.T) {
	e := newEnv(t)
	name := rotortest.Name("dial_budget")
	rotortest.CreateSecret(t, e.sm, name, dbSecret("pw-a"))
	d := client.NewDialer(e.cache, name, isWrongPassword, client.WithMaxAttempts(1000), client.WithRetryBudget(0))
	if err := d.Dial(ctx, (&db{accept: "never"}).login); !errors.Is(err, client.ErrLoginRefused) {
		t.Fatalf("Dial = %v", err)
	}
	if st := d.Stats(); st.Attempts != 1 || st.Waits != 0 {
		t.Fatalf("stats = %+v, want 1 attempt and no wait", st)
	}
}

// Any other error is returned as is, at once, without refreshing.
func TestDialOtherErrorUntouched(t *testing.T) {
	e := newEnv(t)
	name := rotortest.Name("dial_other")
	rotortest.CreateSecret(t, e.sm, name, dbSecret("pw-a"))
	d := client.NewDialer(e.cache, name, isWrongPassword)
	errOther := errors.New("database is starting up")
	if err := d.Dial(ctx, func(context.Context, *client.DBSecret) error { return errOther }); err != errOther {
		t.Fatalf("Dial = %v, want the login error itself", err)
	}
	if st := d.Stats(); st.Attempts != 1 || st.OtherErrors != 1 || st.AuthFailures != 0 {
		t.Fatalf("stats = %+v", st)
	}
	e.api.wantCounts(t, e.cache, "no refresh", 1, 1)

	// So is an error reading the secret.
	d2 := client.NewDialer(e.cache, "no/such/secret", isWrongPassword)
	if err := d2.Dial(ctx, (&db{}).login); !errors.Is(err, client.ErrSecretNotFound) {
		t.Fatalf("Dial of a missing secret = %v", err)
	}
}

// With WithPending(false) the AWSPENDING credentials are never tried.
func TestDialPendingDisabled(t *testing.T) {
	e := newEnv(t)
	name := rotortest.Name("dial_nopending")
	rotortest.CreateSecret(t, e.sm, name, dbSecret("pw-a"))
	rotortest.PutSecret(t, e.sm, name, dbSecret("pw-b"), rotor.StagePending)
	target := &db{accept: "pw-b"}

	off := client.NewDialer(e.cache, name, isWrongPassword, client.WithPending(false), client.WithMaxAttempts(2),
		client.WithRetryDelay(time.Millisecond, time.Millisecond))
	if err := off.Dial(ctx, target.login); !errors.Is(err, client.ErrLoginRefused) {
		t.Fatalf("Dial without AWSPENDING = %v", err)
	}
	if !slices.Equal(target.tried, []string{"pw-a", "pw-a"}) {
		t.Fatalf("tried %v, want only AWSCURRENT", target.tried)
	}

	on := client.NewDialer(e.cache, name, isWrongPassword)
	target.tried = nil
	if err := on.Dial(ctx, target.login); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(target.tried, []string{"pw-a", "pw-b"}) {
		t.Fatalf("tried %v, want AWSCURRENT then AWSPENDING", target.tried)
	}
	if st := on.Stats(); st.PendingLogins != 1 || st.Waits != 0 {
		t.Fatalf("stats = %+v", st)
	}
	// The pending version that worked is tried first from now on.
	if s, err := on.Credentials(ctx); err != nil || s.Password != "pw-b" {
		t.Fatalf("Credentials = %v, %v; want the AWSPENDING version", s, err)
	}
}

// A context that ends during a wait ends Dial with both errors.
func TestDialContextEndsDuringWait(t *testing.T) {
	e := newEnv(t)
	name := rotortest.Name("dial_ctx")
	rotortest.CreateSecret(t, e.sm, name, dbSecret("pw-a"))
	d := client.NewDialer(e.cache, name, isWrongPassword, client.WithRetryDelay(time.Hour, time.Hour), client.WithRetryBudget(2*time.Hour))
	cctx, cancel := context.WithCancel(ctx)
	target := &db{accept: "never", hook: func(int) { cancel() }}
	err := d.Dial(cctx, target.login)
	if !errors.Is(err, context.Canceled) || !errors.Is(err, errWrongPassword) {
		t.Fatalf("Dial = %v, want context.Canceled and the login error", err)
	}
	if st := d.Stats(); st.Attempts != 1 || st.Waits != 0 {
		t.Fatalf("stats = %+v", st)
	}
}

// A dialer whose logins use AWSCURRENT never asks the cache for
// AWSPENDING: once asked for, a stage is fetched on every refresh, and
// with alternating users or multiple credentials AWSPENDING is never used.
func TestDialAsksForPendingOnlyAfterPendingLogin(t *testing.T) {
	e := newEnv(t)
	name := rotortest.Name("dial-no-pending")
	rotortest.CreateSecret(t, e.sm, name, dbSecret("pw-a"))
	d := client.NewDialer(e.cache, name, isWrongPassword)
	target := &db{accept: "pw-a"}
	if err := d.Dial(ctx, target.login); err != nil {
		t.Fatal(err)
	}
	// A rotation that has moved AWSCURRENT, with a version still labelled
	// AWSPENDING (the next rotation's, say).
	rotortest.PutSecret(t, e.sm, name, dbSecret("pw-b"))
	pending := rotortest.PutSecret(t, e.sm, name, dbSecret("pw-c"), rotor.StagePending)
	target.mu.Lock()
	target.accept = "pw-b"
	target.mu.Unlock()
	e.clock.Advance(time.Hour) // past the TTL: the next read refreshes
	if err := d.Dial(ctx, target.login); err != nil {
		t.Fatal(err)
	}
	e.api.mu.Lock()
	defer e.api.mu.Unlock()
	for _, in := range e.api.getInputs {
		if strings.Contains(in, pending) || strings.HasSuffix(in, "|"+rotor.StagePending) {
			t.Fatalf("the dialer fetched AWSPENDING (%s) although every login used AWSCURRENT; requests: %v", in, e.api.getInputs)
		}
	}
	if st := d.Stats(); st.AuthFailures != 0 || st.Logins != 2 {
		t.Fatalf("stats = %+v", st)
	}
}
