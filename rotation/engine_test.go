package rotation_test

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rotorhq/rotor"
	"github.com/rotorhq/rotor/auth"
	"github.com/rotorhq/rotor/envelope"
	"github.com/rotorhq/rotor/manager"
	"github.com/rotorhq/rotor/rotation"
	"github.com/rotorhq/rotor/rotation/builtin"
	"github.com/rotorhq/rotor/rotation/lambda"
	"github.com/rotorhq/rotor/sqlite"
)

const region = "us-east-1"

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// env is a real manager, store, keyring and auth service with an engine
// whose clock, backoff and functions the test controls.
type env struct {
	clock   *clock
	secrets *manager.Service
	engine  *rotation.Engine
	reg     *rotation.Registry
	sched   *rotation.Scheduler
	ctx     context.Context // an admin caller
}

func newEnv(t *testing.T, maxAttempts int) *env {
	t.Helper()
	store, err := sqlite.Open(filepath.Join(t.TempDir(), "rotor.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	kr, err := envelope.Generate()
	if err != nil {
		t.Fatal(err)
	}
	e := &env{clock: &clock{t: time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)}}
	au := auth.New(auth.Config{Store: store, Keyring: kr, Regions: []string{region}, Now: e.clock.Now})
	e.reg = rotation.NewRegistry("000000000000")
	e.engine = &rotation.Engine{Functions: e.reg, Credentials: au, Workers: 4, Now: e.clock.Now,
		Backoff: func(attempt int) time.Duration { return time.Duration(attempt) * time.Minute }}
	e.secrets = manager.New(manager.Config{Store: store, Keyring: kr, Authorizer: au, Account: "000000000000",
		Now: e.clock.Now, Functions: e.reg, MaxAttempts: maxAttempts,
		OnRunQueued: e.engine.Wake, OnRunStopped: e.engine.Cancel})
	e.engine.Control = e.secrets
	e.sched = &rotation.Scheduler{Secrets: e.secrets, Wake: e.engine.Wake}
	e.ctx = rotor.NewContext(context.Background(), rotor.Caller{Region: region,
		Principal: rotor.Principal{Identity: "admin", Role: rotor.RoleAdmin}})
	return e
}

// faults wraps a function and fails chosen steps a chosen number of times,
// optionally with a message that quotes the pending secret value.
type faults struct {
	fn       lambda.Function
	mu       sync.Mutex
	failures map[string]int
	calls    []string
	message  func(inv lambda.Invocation) string
}

func (f *faults) Invoke(ctx context.Context, inv lambda.Invocation) (lambda.Result, error) {
	f.mu.Lock()
	f.calls = append(f.calls, inv.Event.Step)
	n := f.failures[inv.Event.Step]
	if n > 0 {
		f.failures[inv.Event.Step] = n - 1
	}
	f.mu.Unlock()
	if n > 0 {
		msg := "injected failure"
		if f.message != nil {
			msg = f.message(inv)
		}
		return lambda.Result{Output: msg}, errors.New(msg)
	}
	return f.fn.Invoke(ctx, inv)
}

func (f *faults) Calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.calls...)
}

func (e *env) register(t *testing.T, name string, failures map[string]int) (*faults, string) {
	t.Helper()
	f := &faults{fn: &builtin.Function{Secrets: e.secrets, Strategy: builtin.GeneratePassword{}}, failures: failures}
	e.reg.Register(name, "builtin", nil, f)
	return f, e.reg.ARN(region, name)
}

func (e *env) create(t *testing.T, name, value string) string {
	t.Helper()
	out, err := e.secrets.CreateSecret(e.ctx, rotor.CreateSecretInput{Name: name, ClientRequestToken: strings.Repeat("a", 32) + name,
		Value: rotor.Value{String: &value}})
	if err != nil {
		t.Fatal(err)
	}
	return out.ARN
}

func (e *env) describe(t *testing.T, id string) *rotor.SecretDescription {
	t.Helper()
	d, err := e.secrets.DescribeSecret(e.ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func (e *env) current(t *testing.T, id string) *rotor.SecretValue {
	t.Helper()
	v, err := e.secrets.GetSecretValue(e.ctx, rotor.GetSecretValueInput{SecretID: id})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func (e *env) history(t *testing.T, id string) []rotor.RunHistory {
	t.Helper()
	h, err := e.secrets.RotationHistory(e.ctx, id, 0)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func (e *env) runDue(t *testing.T) int {
	t.Helper()
	n, err := e.engine.RunDue(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func stagesOf(d *rotor.SecretDescription, version string) string {
	return strings.Join(d.VersionStages[version], ",")
}

func TestEngine_RotatesThroughFourSteps(t *testing.T) {
	e := newEnv(t, 3)
	f, fn := e.register(t, "gen", nil)
	arn := e.create(t, "app", `{"username":"app","password":"old-password"}`)
	before := e.current(t, "app")

	out, err := e.secrets.RotateSecret(e.ctx, rotor.RotateSecretInput{SecretID: "app", RotationLambdaARN: fn,
		ClientRequestToken: "11111111-2222-3333-4444-555555555555"})
	if err != nil {
		t.Fatal(err)
	}
	if n := e.runDue(t); n != 1 {
		t.Fatalf("RunDue ran %d runs, want 1", n)
	}
	if got := strings.Join(f.Calls(), ","); got != "createSecret,setSecret,testSecret,finishSecret" {
		t.Fatalf("steps = %s", got)
	}
	d := e.describe(t, arn)
	if stagesOf(d, out.VersionID) != "AWSCURRENT" || stagesOf(d, before.VersionID) != "AWSPREVIOUS" {
		t.Fatalf("VersionStages = %v: want the new version AWSCURRENT only (AWSPENDING removed) and the old AWSPREVIOUS", d.VersionStages)
	}
	if !d.LastRotatedDate.Equal(e.clock.Now()) {
		t.Fatalf("LastRotatedDate = %v, want %v", d.LastRotatedDate, e.clock.Now())
	}
	after := e.current(t, "app")
	if after.VersionID != out.VersionID || *after.Value.String == *before.Value.String || !strings.Contains(*after.Value.String, `"username":"app"`) {
		t.Fatalf("current after rotation = %s %q", after.VersionID, *after.Value.String)
	}
	h := e.history(t, "app")
	if len(h) != 1 || h[0].Run.Status != rotor.RunSucceeded || len(h[0].Steps) != 4 {
		t.Fatalf("history = %+v", h)
	}
	for i, s := range h[0].Steps {
		if s.Step != rotor.Steps[i] || s.Outcome != "ok" || s.Attempt != 1 {
			t.Fatalf("step %d = %+v", i, s)
		}
	}
	// Rotating again works: AWSPENDING was removed, so nothing blocks it.
	if _, err := e.secrets.RotateSecret(e.ctx, rotor.RotateSecretInput{SecretID: "app"}); err != nil {
		t.Fatal(err)
	}
	e.runDue(t)
	if d := e.describe(t, arn); len(d.VersionStages) != 2 {
		t.Fatalf("after second rotation VersionStages = %v", d.VersionStages)
	}
}

func TestEngine_RetriesThenFailsThenRedrives(t *testing.T) {
	for _, step := range rotor.Steps {
		t.Run(step, func(t *testing.T) {
			e := newEnv(t, 3)
			f, fn := e.register(t, "flaky", map[string]int{step: 3})
			arn := e.create(t, "db", `{"password":"first-value"}`)
			out, err := e.secrets.RotateSecret(e.ctx, rotor.RotateSecretInput{SecretID: "db", RotationLambdaARN: fn})
			if err != nil {
				t.Fatal(err)
			}
			for attempt := 1; attempt <= 3; attempt++ {
				if n := e.runDue(t); n != 1 {
					t.Fatalf("attempt %d: RunDue ran %d runs", attempt, n)
				}
				runs, err := e.secrets.ListRotationRuns(e.ctx, rotor.RunFilter{SecretID: "db"})
				if err != nil || len(runs) != 1 {
					t.Fatalf("runs = %v, %v", runs, err)
				}
				r := runs[0]
				if attempt < 3 {
					if r.Status != rotor.RunPending || r.Attempt != attempt+1 || !r.NextAttempt.Equal(e.clock.Now().Add(time.Duration(attempt)*time.Minute)) {
						t.Fatalf("after attempt %d: run = %+v", attempt, r)
					}
					if n := e.runDue(t); n != 0 {
						t.Fatalf("a retry ran before its backoff elapsed")
					}
					e.clock.Advance(time.Duration(attempt) * time.Minute)
				} else if r.Status != rotor.RunFailed || !strings.Contains(r.LastError, "injected failure") {
					t.Fatalf("after the last attempt: run = %+v", r)
				}
			}
			// Failed: AWSPENDING stays on the new version, AWSCURRENT did not move.
			d := e.describe(t, arn)
			if !strings.Contains(stagesOf(d, out.VersionID), "AWSPENDING") || strings.Contains(stagesOf(d, out.VersionID), "AWSCURRENT") {
				t.Fatalf("after failure VersionStages = %v", d.VersionStages)
			}
			// The next RotateSecret says so and re-drives the same run.
			_, err = e.secrets.RotateSecret(e.ctx, rotor.RotateSecretInput{SecretID: "db"})
			if rotor.ErrorCode(err) != rotor.ESTATE || rotor.ErrorMessage(err) != "A previous rotation isn't complete. That rotation will be reattempted." {
				t.Fatalf("RotateSecret after failure: %v", err)
			}
			e.runDue(t)
			if d := e.describe(t, arn); stagesOf(d, out.VersionID) != "AWSCURRENT" {
				t.Fatalf("re-driven run did not finish: %v (calls %v)", d.VersionStages, f.Calls())
			}
		})
	}
}

func TestEngine_ScrubsSecretValuesFromHistory(t *testing.T) {
	e := newEnv(t, 1)
	f, fn := e.register(t, "leaky", map[string]int{rotor.StepSet: 1})
	f.message = func(inv lambda.Invocation) string {
		v, _ := e.secrets.GetSecretValue(rotor.NewContext(context.Background(), rotor.Caller{Region: region,
			Principal: rotor.Principal{Role: rotor.RoleAdmin}}), rotor.GetSecretValueInput{SecretID: inv.Event.SecretID,
			VersionID: inv.Event.ClientRequestToken, VersionStage: rotor.StagePending})
		return "login failed with " + *v.Value.String + " (current was old-secret-password)"
	}
	e.create(t, "leak", `{"user":"u","password":"old-secret-password"}`)
	if _, err := e.secrets.RotateSecret(e.ctx, rotor.RotateSecretInput{SecretID: "leak", RotationLambdaARN: fn}); err != nil {
		t.Fatal(err)
	}
	e.runDue(t)
	pending, err := e.secrets.GetSecretValue(e.ctx, rotor.GetSecretValueInput{SecretID: "leak", VersionStage: rotor.StagePending})
	if err != nil {
		t.Fatal(err)
	}
	h := e.history(t, "leak")
	text := fmt.Sprintf("%+v", h)
	for _, secret := range []string{"old-secret-password", *pending.Value.String} {
		if strings.Contains(text, secret) {
			t.Fatalf("history contains a secret value %q: %s", secret, text)
		}
	}
	if !strings.Contains(h[0].Run.LastError, rotation.Redacted) {
		t.Fatalf("LastError = %q, want the value replaced by %s", h[0].Run.LastError, rotation.Redacted)
	}
}

// blocking waits in setSecret until its context ends.
type blocking struct {
	started chan struct{}
	ended   chan error
}

func (b *blocking) Invoke(ctx context.Context, inv lambda.Invocation) (lambda.Result, error) {
	if inv.Event.Step != rotor.StepSet {
		return lambda.Result{}, nil
	}
	close(b.started)
	<-ctx.Done()
	b.ended <- ctx.Err()
	return lambda.Result{}, ctx.Err()
}

func TestEngine_CancelStopsTheInvocation(t *testing.T) {
	e := newEnv(t, 3)
	b := &blocking{started: make(chan struct{}), ended: make(chan error, 1)}
	e.reg.Register("slow", "builtin", nil, b)
	e.create(t, "c", "value")
	if _, err := e.secrets.RotateSecret(e.ctx, rotor.RotateSecretInput{SecretID: "c", RotationLambdaARN: e.reg.ARN(region, "slow")}); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { e.runDue(t); close(done) }()
	<-b.started
	if _, err := e.secrets.CancelRotateSecret(e.ctx, "c"); err != nil {
		t.Fatal(err)
	}
	if err := <-b.ended; !errors.Is(err, context.Canceled) {
		t.Fatalf("invocation ended with %v, want context.Canceled", err)
	}
	<-done
	runs, _ := e.secrets.ListRotationRuns(e.ctx, rotor.RunFilter{SecretID: "c"})
	if len(runs) != 1 || runs[0].Status != rotor.RunCancelled {
		t.Fatalf("runs = %+v", runs)
	}
	if d := e.describe(t, "c"); d.Rotation.Enabled {
		t.Fatal("rotation still enabled after CancelRotateSecret")
	}
}

// snooper tries to read another secret with the run's credentials.
type snooper struct {
	secrets rotor.SecretService
	target  string
	err     atomic.Value
}

func (s *snooper) Invoke(ctx context.Context, inv lambda.Invocation) (lambda.Result, error) {
	if inv.Event.Step == rotor.StepCreate {
		_, err := s.secrets.GetSecretValue(ctx, rotor.GetSecretValueInput{SecretID: s.target})
		s.err.Store(fmt.Sprint(rotor.ErrorCode(err)))
	}
	return lambda.Result{}, errors.New("stop here")
}

func TestEngine_BuiltinRunsAsScopedPrincipal(t *testing.T) {
	e := newEnv(t, 1)
	e.create(t, "other", "not yours")
	s := &snooper{secrets: e.secrets, target: "other"}
	e.reg.Register("snoop", "builtin", nil, s)
	e.create(t, "mine", "value")
	if _, err := e.secrets.RotateSecret(e.ctx, rotor.RotateSecretInput{SecretID: "mine", RotationLambdaARN: e.reg.ARN(region, "snoop")}); err != nil {
		t.Fatal(err)
	}
	e.runDue(t)
	if got := s.err.Load(); got != rotor.EDENIED {
		t.Fatalf("reading another secret from a rotation function: code %v, want %s", got, rotor.EDENIED)
	}
}

// concurrent counts invocations in flight, per secret and in total.
type concurrent struct {
	inner         lambda.Function
	mu            sync.Mutex
	total, max    int
	perSecret     map[string]int
	overlapSecret bool
}

func (c *concurrent) Invoke(ctx context.Context, inv lambda.Invocation) (lambda.Result, error) {
	c.mu.Lock()
	c.total++
	c.max = max(c.max, c.total)
	c.perSecret[inv.Event.SecretID]++
	if c.perSecret[inv.Event.SecretID] > 1 {
		c.overlapSecret = true
	}
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		c.total--
		c.perSecret[inv.Event.SecretID]--
		c.mu.Unlock()
	}()
	time.Sleep(time.Millisecond) // let runs overlap; not an assertion
	return c.inner.Invoke(ctx, inv)
}

func TestEngine_BoundedWorkersOneRunPerSecret(t *testing.T) {
	e := newEnv(t, 3)
	c := &concurrent{inner: &builtin.Function{Secrets: e.secrets, Strategy: builtin.GeneratePassword{}}, perSecret: map[string]int{}}
	e.reg.Register("count", "builtin", nil, c)
	const n = 40
	for i := 0; i < n; i++ {
		name := fmt.Sprintf("s%02d", i)
		e.create(t, name, `{"password":"x"}`)
		if _, err := e.secrets.RotateSecret(e.ctx, rotor.RotateSecretInput{SecretID: name, RotationLambdaARN: e.reg.ARN(region, "count")}); err != nil {
			t.Fatal(err)
		}
	}
	if got := e.runDue(t); got != n {
		t.Fatalf("RunDue ran %d runs, want %d", got, n)
	}
	if c.max > 4 || c.overlapSecret {
		t.Fatalf("max concurrent invocations %d (limit 4), overlap within a secret: %v", c.max, c.overlapSecret)
	}
	runs, err := e.secrets.ListRotationRuns(e.ctx, rotor.RunFilter{Status: rotor.RunSucceeded, Limit: 1000})
	if err != nil || len(runs) != n {
		t.Fatalf("succeeded runs = %d, %v", len(runs), err)
	}
}

func TestScheduler_StartsDueRotations(t *testing.T) {
	e := newEnv(t, 3)
	_, fn := e.register(t, "gen", nil)
	e.create(t, "sched", `{"password":"p0"}`)
	immediately := false
	if _, err := e.secrets.RotateSecret(e.ctx, rotor.RotateSecretInput{SecretID: "sched", RotationLambdaARN: fn,
		RotationRules: &rotor.RotationRules{ScheduleExpression: "rate(4 hours)"}, RotateImmediately: &immediately}); err != nil {
		t.Fatal(err)
	}
	e.runDue(t) // the test-only run
	next := e.describe(t, "sched").NextRotationDate
	if next.IsZero() || !next.After(e.clock.Now()) || next.Sub(e.clock.Now()) > 5*time.Hour {
		t.Fatalf("NextRotationDate = %v (now %v), want within the next 4-hour window", next, e.clock.Now())
	}
	if n, err := e.sched.Tick(e.ctx, next.Add(-time.Second)); err != nil || n != 0 {
		t.Fatalf("Tick before the date started %d (%v)", n, err)
	}
	e.clock.Advance(next.Sub(e.clock.Now()))
	if n, err := e.sched.Tick(e.ctx, e.clock.Now()); err != nil || n != 1 {
		t.Fatalf("Tick at the date started %d (%v), want 1", n, err)
	}
	if n, err := e.sched.Tick(e.ctx, e.clock.Now()); err != nil || n != 0 {
		t.Fatalf("a second Tick started %d more while one is active (%v)", n, err)
	}
	e.runDue(t)
	d := e.describe(t, "sched")
	if !d.LastRotatedDate.Equal(e.clock.Now()) || !d.NextRotationDate.After(next) {
		t.Fatalf("after the scheduled rotation: LastRotatedDate %v NextRotationDate %v", d.LastRotatedDate, d.NextRotationDate)
	}
}

// TestEngine_FailedTestOnlyRunEndsClean pins issue 8 §4: a configuration
// test (RotateImmediately=false) whose testSecret fails — also after the
// server restarted mid-run — removes its temporary AWSPENDING copy, keeps
// the scrubbed failure in the history, and does not block the next
// RotateSecret or the scheduler.
func TestEngine_FailedTestOnlyRunEndsClean(t *testing.T) {
	for _, resumed := range []bool{false, true} {
		t.Run(fmt.Sprintf("resumed=%v", resumed), func(t *testing.T) {
			e := newEnv(t, 2)
			f, fn := e.register(t, "picky", map[string]int{rotor.StepTest: 2})
			f.message = func(inv lambda.Invocation) string { return "login refused for password test-only-secret" }
			e.create(t, "cfg", `{"password":"test-only-secret"}`)
			before := e.current(t, "cfg")
			immediately := false
			out, err := e.secrets.RotateSecret(e.ctx, rotor.RotateSecretInput{SecretID: "cfg", RotationLambdaARN: fn,
				RotationRules: &rotor.RotationRules{ScheduleExpression: "rate(4 hours)"}, RotateImmediately: &immediately})
			if err != nil {
				t.Fatal(err)
			}
			if resumed {
				// A server claimed the run and stopped before finishing it.
				if runs, err := e.secrets.ClaimRuns(context.Background(), "earlier-server", e.clock.Now(), e.clock.Now().Add(time.Minute), 1, nil); err != nil || len(runs) != 1 {
					t.Fatalf("ClaimRuns = %v, %v", runs, err)
				}
				if n, err := e.secrets.RecoverRuns(context.Background()); err != nil || n != 1 {
					t.Fatalf("RecoverRuns = %d, %v", n, err)
				}
			}
			e.runDue(t)
			e.clock.Advance(time.Minute)
			e.runDue(t)

			h := e.history(t, "cfg")
			if len(h) != 1 || h[0].Run.Status != rotor.RunFailed || h[0].Run.Kind != rotor.RunTestOnly {
				t.Fatalf("history = %+v, want one failed test-only run", h)
			}
			if !strings.Contains(h[0].Run.LastError, "login refused") || strings.Contains(fmt.Sprintf("%+v", h), "test-only-secret") {
				t.Fatalf("LastError = %q: want the failure, scrubbed", h[0].Run.LastError)
			}
			d := e.describe(t, "cfg")
			wantStages := map[string][]string{before.VersionID: {rotor.StageCurrent}}
			if fmt.Sprint(d.VersionStages) != fmt.Sprint(wantStages) {
				t.Fatalf("VersionStages = %v, want %v (temporary version %s removed)", d.VersionStages, wantStages, out.VersionID)
			}
			if _, err := e.secrets.GetSecretValue(e.ctx, rotor.GetSecretValueInput{SecretID: "cfg", VersionID: out.VersionID}); rotor.ErrorCode(err) != rotor.ENOTFOUND {
				t.Fatalf("GetSecretValue of the temporary version: %v, want ENOTFOUND", err)
			}

			// The scheduler starts a real rotation when the time comes.
			next := d.NextRotationDate
			e.clock.Advance(next.Sub(e.clock.Now()))
			if n, err := e.sched.Tick(e.ctx, e.clock.Now()); err != nil || n != 1 {
				t.Fatalf("Tick after the failed test started %d (%v), want 1", n, err)
			}
			e.runDue(t)
			if cur := e.current(t, "cfg"); cur.VersionID == before.VersionID {
				t.Fatalf("the scheduled rotation did not move AWSCURRENT (calls %v)", f.Calls())
			}
			// And RotateSecret starts a full rotation, not "previous rotation isn't complete".
			rot, err := e.secrets.RotateSecret(e.ctx, rotor.RotateSecretInput{SecretID: "cfg"})
			if err != nil {
				t.Fatalf("RotateSecret after the failed test: %v", err)
			}
			e.runDue(t)
			if cur := e.current(t, "cfg"); cur.VersionID != rot.VersionID {
				t.Fatalf("AWSCURRENT = %s, want %s", cur.VersionID, rot.VersionID)
			}
		})
	}
}

// printer runs the built-in generate-password step, then a real exec
// function that prints what a careless function prints: the secret's
// AWSPREVIOUS (which alternating-users and multi-credential functions log
// in with), the master's versions, JSON numbers and booleans, hex and
// base64 forms, and the new password where the output is cut. It fails
// setSecret with all of that on stderr.
type printer struct {
	builtin lambda.Function
	pending func(inv lambda.Invocation) string // the AWSPENDING password
	values  string                             // a line of secret values, printed as is
}

func (p *printer) Invoke(ctx context.Context, inv lambda.Invocation) (lambda.Result, error) {
	if _, err := p.builtin.Invoke(ctx, inv); err != nil {
		return lambda.Result{}, err
	}
	pw := p.pending(inv)
	half := lambda.MaxOutput / 2
	// The stderr excerpt quotes the last 1024 bytes of "pw + f...\nvalues":
	// make that cut fall 10 bytes before the end of pw.
	fill := 1024 - 10 - 1 - len(p.values) - 1
	script := fmt.Sprintf(`cat >/dev/null
head -c %d /dev/zero | tr '\0' a; printf '%%s' "$PW"
head -c %d /dev/zero | tr '\0' b; printf '%%s' "$PW"
head -c 100000 /dev/zero | tr '\0' c; printf '\n%%s\n' "$VALUES"
printf '%%s' "$PW" >&2; head -c %d /dev/zero | tr '\0' f >&2; printf '\n%%s\n' "$VALUES" >&2
[ "$STEP" = setSecret ] && exit 1
exit 0`,
		half-10,                  // pw straddles the cut after the kept head
		half+16<<10-half-len(pw), // then straddles the end of what is captured of the head
		fill)
	ex := &lambda.Exec{Command: []string{"/bin/sh", "-c", script},
		Env: map[string]string{"PW": pw, "VALUES": p.values, "STEP": inv.Event.Step}}
	return ex.Invoke(ctx, inv)
}

// syncBuffer is a bytes.Buffer safe for a logger's concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestEngine_ScrubsEveryReadableValueBeforeCutting runs a real exec
// function that prints every value the run's credentials can read, in
// several forms, with the new password straddling the output's cuts, and
// checks the stored history and the logs hold none of them.
func TestEngine_ScrubsEveryReadableValueBeforeCutting(t *testing.T) {
	e := newEnv(t, 1)
	var logs syncBuffer
	e.engine.Logger = slog.New(slog.NewTextHandler(&logs, nil))

	e.create(t, "rot-admin", `{"username":"root","password":"master-Old-Pw-77"}`)
	if _, err := e.secrets.PutSecretValue(e.ctx, rotor.PutSecretValueInput{SecretID: "rot-admin", ClientRequestToken: strings.Repeat("m", 32),
		Value: rotor.Value{String: ptr(`{"username":"root","password":"master-New-Pw-88"}`)}}); err != nil {
		t.Fatal(err)
	}
	e.create(t, "alt", `{"engine":"postgres","host":"db.internal","username":"app","password":"prev-Secret-P4ss","masterarn":"rot-admin","pin":739184}`)
	const current = `{"engine":"postgres","host":"db.internal","username":"app_clone","password":"curr-Secret-P4ss","masterarn":"rot-admin","account":12345678901234567890,"recovery":false}`
	if _, err := e.secrets.PutSecretValue(e.ctx, rotor.PutSecretValueInput{SecretID: "alt", ClientRequestToken: strings.Repeat("c", 32),
		Value: rotor.Value{String: ptr(current)}}); err != nil {
		t.Fatal(err)
	}
	currPw := "curr-Secret-P4ss"
	secrets := []string{
		"prev-Secret-P4ss", "master-Old-Pw-77", "master-New-Pw-88", currPw,
		"739184", "12345678901234567890", "false",
		hex.EncodeToString([]byte(currPw)), strings.ToUpper(hex.EncodeToString([]byte(currPw))),
		base64.StdEncoding.EncodeToString([]byte(currPw)),
	}
	var pendingPw atomic.Value
	p := &printer{
		builtin: &builtin.Function{Secrets: e.secrets, Strategy: builtin.GeneratePassword{}},
		values:  strings.Join(secrets, " "),
		pending: func(inv lambda.Invocation) string {
			v, err := e.secrets.GetSecretValue(e.ctx, rotor.GetSecretValueInput{SecretID: inv.Event.SecretID, VersionStage: rotor.StagePending})
			if err != nil {
				t.Error(err)
				return ""
			}
			var doc struct{ Password string }
			if err := json.Unmarshal([]byte(*v.Value.String), &doc); err != nil {
				t.Error(err)
			}
			pendingPw.Store(doc.Password)
			return doc.Password
		},
	}
	e.reg.Register("printer", "builtin", nil, p)
	if _, err := e.secrets.RotateSecret(e.ctx, rotor.RotateSecretInput{SecretID: "alt", RotationLambdaARN: e.reg.ARN(region, "printer")}); err != nil {
		t.Fatal(err)
	}
	e.runDue(t)

	h := e.history(t, "alt")
	if len(h) != 1 || h[0].Run.Status != rotor.RunFailed || len(h[0].Steps) != 2 {
		t.Fatalf("history = %+v, want one failed run with createSecret and setSecret", h)
	}
	for _, st := range h[0].Steps {
		if !strings.Contains(st.Output, "aaaa") || !strings.Contains(st.Output, "bytes truncated") || !strings.Contains(st.Output, rotation.Redacted) {
			t.Fatalf("%s output does not look printed, cut and scrubbed: %.200q", st.Step, st.Output)
		}
	}
	pw, _ := pendingPw.Load().(string)
	if len(pw) < 20 {
		t.Fatalf("pending password %q", pw)
	}
	for where, text := range map[string]string{"history": fmt.Sprintf("%+v", h), "logs": logs.String()} {
		for _, s := range secrets {
			if strings.Contains(text, s) {
				t.Errorf("%s holds %q", where, s)
			}
		}
		// No piece of the new password, however short, next to a cut.
		for i := 0; i+5 <= len(pw); i++ {
			if strings.Contains(text, pw[i:i+5]) {
				t.Errorf("%s holds %q, a fragment of the new password", where, pw[i:i+5])
				break
			}
		}
	}
	if !strings.Contains(logs.String(), "rotation step failed") {
		t.Fatalf("logs lack the failed step: %s", logs.String())
	}
}

func ptr(s string) *string { return &s }

// attemptCounts is a rotation.Metrics that counts attempt results.
type attemptCounts struct {
	mu sync.Mutex
	n  map[string]int
}

func (m *attemptCounts) ObserveStep(string, string, time.Duration) {}
func (m *attemptCounts) ObserveLag(time.Duration)                  {}
func (m *attemptCounts) ObserveAttempt(result string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.n == nil {
		m.n = map[string]int{}
	}
	m.n[result]++
}

func (m *attemptCounts) get() map[string]int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return maps.Clone(m.n)
}

// refusingControl is the manager as Controller, except that it refuses
// to record a retry or a failure, as when the run was cancelled or taken
// over between the failed step and that write.
type refusingControl struct{ rotation.Controller }

func (refusingControl) RetryRun(context.Context, string, string, time.Time, string) error {
	return rotor.Errorf(rotor.ESTATE, "the run was cancelled")
}

func (refusingControl) FailRun(context.Context, string, string, string) error {
	return rotor.Errorf(rotor.ESTATE, "the run was cancelled")
}

// TestEngine_CountsAttemptsAsRecorded: an attempt is counted by the
// outcome its run records — retried, then failed — and as stopped when
// the Controller refuses to record it.
func TestEngine_CountsAttemptsAsRecorded(t *testing.T) {
	e := newEnv(t, 2)
	counts := &attemptCounts{}
	e.engine.Metrics = counts
	e.register(t, "broken", map[string]int{rotor.StepCreate: 100})
	e.create(t, "db", `{"password":"first-value"}`)
	if _, err := e.secrets.RotateSecret(e.ctx, rotor.RotateSecretInput{SecretID: "db", RotationLambdaARN: e.reg.ARN(region, "broken")}); err != nil {
		t.Fatal(err)
	}
	e.runDue(t)
	e.clock.Advance(time.Minute)
	e.runDue(t)
	if got, want := counts.get(), map[string]int{rotation.AttemptRetried: 1, rotation.AttemptFailed: 1}; !maps.Equal(got, want) {
		t.Fatalf("attempts counted %v, want %v", got, want)
	}

	// Refused: a retry (db2, attempt 1 of 2), then a failure (a second
	// server whose runs get one attempt).
	e.engine.Control = refusingControl{e.secrets}
	e.create(t, "db2", `{"password":"first-value"}`)
	if _, err := e.secrets.RotateSecret(e.ctx, rotor.RotateSecretInput{SecretID: "db2", RotationLambdaARN: e.reg.ARN(region, "broken")}); err != nil {
		t.Fatal(err)
	}
	e.runDue(t)
	if got, want := counts.get(), map[string]int{rotation.AttemptRetried: 1, rotation.AttemptFailed: 1, rotation.AttemptStopped: 1}; !maps.Equal(got, want) {
		t.Fatalf("after a refused retry: attempts counted %v, want %v", got, want)
	}
	one := newEnv(t, 1)
	once := &attemptCounts{}
	one.engine.Metrics, one.engine.Control = once, refusingControl{one.secrets}
	one.register(t, "broken", map[string]int{rotor.StepCreate: 100})
	one.create(t, "db", `{"password":"first-value"}`)
	if _, err := one.secrets.RotateSecret(one.ctx, rotor.RotateSecretInput{SecretID: "db", RotationLambdaARN: one.reg.ARN(region, "broken")}); err != nil {
		t.Fatal(err)
	}
	one.runDue(t)
	if got, want := once.get(), map[string]int{rotation.AttemptStopped: 1}; !maps.Equal(got, want) {
		t.Fatalf("after a refused failure: attempts counted %v, want %v", got, want)
	}
}
