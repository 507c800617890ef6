package manager_test

import (
	"context"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/rotorhq/rotor"
	"github.com/rotorhq/rotor/manager"
	"github.com/rotorhq/rotor/rotation"
	"github.com/rotorhq/rotor/rotation/lambda"
	"github.com/rotorhq/rotor/rotation/schedule"
)

// Rotation texts the tests expect verbatim.
const (
	msgIncomplete       = "A previous rotation isn't complete. That rotation will be reattempted."
	msgNoLambda         = "No Lambda rotation function ARN is associated with this secret."
	msgNotConfigured    = "Rotation is not configured for this secret."
	msgMarkedDeleted    = "You tried to perform the operation on a secret that's currently marked deleted."
	msgNothingToAbandon = "There is no rotation to abandon."
)

// testOwner is the node id the tests claim runs as, for testLease (long
// enough that no test's clock moves past it unless it means to).
const (
	testOwner = "test-node"
	testLease = 365 * 24 * time.Hour
)

// funcOf adapts a Go function to lambda.Function.
type funcOf func(ctx context.Context, inv lambda.Invocation) (lambda.Result, error)

func (f funcOf) Invoke(ctx context.Context, inv lambda.Invocation) (lambda.Result, error) {
	return f(ctx, inv)
}

// rotEnv is an env whose Service has a rotation registry with "test-fn"
// (every region) and "west-fn" (otherRegion only), and records the
// OnRunQueued and OnRunStopped calls.
type rotEnv struct {
	*env
	reg   *rotation.Registry
	fnARN string // test-fn in testRegion

	mu      sync.Mutex
	invoke  func(ctx context.Context, inv lambda.Invocation) (lambda.Result, error)
	queued  int
	stopped []string
}

type rotOption func(*rotEnv, *manager.Config)

func withMaxAttempts(n int) rotOption {
	return func(_ *rotEnv, c *manager.Config) { c.MaxAttempts = n }
}

func withSeed(seed uint64) rotOption {
	return func(_ *rotEnv, c *manager.Config) { c.Rand = rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)) }
}

func withoutFunctions() rotOption {
	return func(_ *rotEnv, c *manager.Config) { c.Functions = nil }
}

func newRotEnv(t testing.TB, opts ...rotOption) *rotEnv {
	t.Helper()
	r := &rotEnv{reg: rotation.NewRegistry(testAccount)}
	fn := funcOf(func(ctx context.Context, inv lambda.Invocation) (lambda.Result, error) {
		r.mu.Lock()
		invoke := r.invoke
		r.mu.Unlock()
		if invoke == nil {
			return lambda.Result{}, nil
		}
		return invoke(ctx, inv)
	})
	r.reg.Register("test-fn", "builtin", nil, fn)
	r.reg.Register("west-fn", "builtin", []string{otherRegion}, fn)
	r.fnARN = r.reg.ARN(testRegion, "test-fn")
	r.env = newEnv(t, func(c *manager.Config) {
		c.Functions = r.reg
		c.OnRunQueued = func() {
			r.mu.Lock()
			defer r.mu.Unlock()
			r.queued++
		}
		c.OnRunStopped = func(id string) {
			r.mu.Lock()
			defer r.mu.Unlock()
			r.stopped = append(r.stopped, id)
		}
		for _, o := range opts {
			o(r, c)
		}
	})
	return r
}

func (r *rotEnv) queuedCount() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.queued
}

func (r *rotEnv) stoppedRuns() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.stopped...)
}

// setInvoke sets what the registered functions do.
func (r *rotEnv) setInvoke(f func(ctx context.Context, inv lambda.Invocation) (lambda.Result, error)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.invoke = f
}

func bptr(b bool) *bool { return &b }

// rotate calls RotateSecret with test-fn and fails the test on error.
func (r *rotEnv) rotate(t testing.TB, id, token string, rules *rotor.RotationRules) *rotor.VersionResult {
	t.Helper()
	out, err := r.svc.RotateSecret(r.ctx, rotor.RotateSecretInput{SecretID: id, ClientRequestToken: token,
		RotationLambdaARN: r.fnARN, RotationRules: rules})
	if err != nil {
		t.Fatalf("RotateSecret(%q): %v", id, err)
	}
	return out
}

// runs lists the runs of secret id, newest first.
func (r *rotEnv) runs(t testing.TB, id string) []rotor.RunRecord {
	t.Helper()
	runs, err := r.svc.ListRotationRuns(r.ctx, rotor.RunFilter{SecretID: id})
	if err != nil {
		t.Fatalf("ListRotationRuns(%q): %v", id, err)
	}
	return runs
}

// onlyRun returns the one run of secret id.
func (r *rotEnv) onlyRun(t testing.TB, id string) rotor.RunRecord {
	t.Helper()
	runs := r.runs(t, id)
	if len(runs) != 1 {
		t.Fatalf("runs of %q = %+v, want exactly one", id, runs)
	}
	return runs[0]
}

// claim claims every due run at the clock's time.
func (r *rotEnv) claim(t testing.TB) []rotor.RunRecord {
	t.Helper()
	runs, err := r.svc.ClaimRuns(context.Background(), testOwner, r.clock.Now(), r.clock.Now().Add(testLease), 100, nil)
	if err != nil {
		t.Fatalf("ClaimRuns: %v", err)
	}
	return runs
}

// step records one successful step of run, as the engine does.
func (r *rotEnv) step(t testing.TB, run rotor.RunRecord, step, next string) {
	t.Helper()
	ctx := context.Background()
	at := r.clock.Now()
	if err := r.svc.BeginStep(ctx, testOwner, run.ID, step, run.Attempt, at); err != nil {
		t.Fatalf("BeginStep(%s): %v", step, err)
	}
	if err := r.svc.EndStep(ctx, testOwner, rotor.StepRecord{RunID: run.ID, Step: step, Attempt: run.Attempt, Started: at,
		Duration: time.Second, Outcome: "ok"}, next); err != nil {
		t.Fatalf("EndStep(%s): %v", step, err)
	}
}

// finishSecret does what a rotation function's createSecret and
// finishSecret do through the API: fill the placeholder, then move
// AWSCURRENT onto it.
func (r *rotEnv) fillAndFinish(t testing.TB, id, token, value string) {
	t.Helper()
	r.fill(t, id, token, value)
	r.moveCurrent(t, id, token)
}

func (r *rotEnv) fill(t testing.TB, id, token, value string) {
	t.Helper()
	if _, err := r.svc.PutSecretValue(r.ctx, rotor.PutSecretValueInput{SecretID: id, ClientRequestToken: token,
		Value: sv(value), Stages: []string{rotor.StagePending}}); err != nil {
		t.Fatalf("fill placeholder: %v", err)
	}
}

func (r *rotEnv) moveCurrent(t testing.TB, id, token string) {
	t.Helper()
	cur := ""
	for v, st := range r.stages(t, id) {
		for _, s := range st {
			if s == rotor.StageCurrent {
				cur = v
			}
		}
	}
	if _, err := r.svc.UpdateSecretVersionStage(r.ctx, rotor.UpdateSecretVersionStageInput{SecretID: id,
		VersionStage: rotor.StageCurrent, MoveToVersionID: token, RemoveFromVersionID: cur}); err != nil {
		t.Fatalf("move AWSCURRENT: %v", err)
	}
}

// complete drives run through all its steps by hand, doing what the
// function does, and completes it; it claims the run first if it is
// pending.
func (r *rotEnv) complete(t testing.TB, id string, run rotor.RunRecord, value string) {
	t.Helper()
	if run.Status == rotor.RunPending {
		now := r.clock.Now()
		claimed, err := r.svc.ClaimRuns(context.Background(), testOwner, now, now.Add(testLease), 1, func(other string) bool { return other != run.ID })
		if err != nil || len(claimed) != 1 {
			t.Fatalf("ClaimRuns(%s) = %+v, %v", run.ID, claimed, err)
		}
		run = claimed[0]
	}
	if run.Kind == rotor.RunTestOnly {
		r.step(t, run, rotor.StepTest, "")
	} else {
		r.fill(t, id, run.Token, value)
		r.step(t, run, rotor.StepCreate, rotor.StepSet)
		r.step(t, run, rotor.StepSet, rotor.StepTest)
		r.step(t, run, rotor.StepTest, rotor.StepFinish)
		r.moveCurrent(t, id, run.Token)
		r.step(t, run, rotor.StepFinish, "")
	}
	if err := r.svc.CompleteRun(context.Background(), testOwner, run.ID); err != nil {
		t.Fatalf("CompleteRun: %v", err)
	}
}

// window returns the window rules open next after after counting from base.
func window(t testing.TB, rules rotor.RotationRules, after, base time.Time) schedule.Window {
	t.Helper()
	s, err := schedule.Parse(rules)
	if err != nil || s == nil {
		t.Fatalf("schedule.Parse(%+v) = %v, %v", rules, s, err)
	}
	return s.Next(after, base)
}

// wantInWindow fails unless got lies in w.
func wantInWindow(t testing.TB, what string, got time.Time, w schedule.Window) {
	t.Helper()
	if !w.Contains(got) {
		t.Fatalf("%s = %v, want inside [%v, %v)", what, got, w.Start, w.End)
	}
}

// utcDay returns midnight UTC of t's day.
func utcDay(t time.Time) time.Time {
	t = t.UTC()
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
}
