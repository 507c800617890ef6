package rotation_test

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rotorhq/rotor"
	"github.com/rotorhq/rotor/rotation"
	"github.com/rotorhq/rotor/rotation/builtin"
	"github.com/rotorhq/rotor/rotation/lambda"
)

// engineAs returns another engine over e's service and credentials, as a
// second server sharing the store would run, named node and resolving
// functions in reg.
func (e *env) engineAs(node string, reg *rotation.Registry) *rotation.Engine {
	return &rotation.Engine{Control: e.secrets, Functions: reg, Credentials: e.engine.Credentials, Workers: 4,
		Now: e.clock.Now, NodeID: node, Backoff: e.engine.Backoff}
}

// stepCounter wraps a function and records, per run, the invocations in
// flight (an overlap is two at once) and how often each step ran.
type stepCounter struct {
	inner    lambda.Function
	mu       sync.Mutex
	inFlight map[string]int            // run id → invocations in flight
	ran      map[string]map[string]int // run id → step → invocations
	overlaps []string
}

func (c *stepCounter) Invoke(ctx context.Context, inv lambda.Invocation) (lambda.Result, error) {
	run, step := inv.Event.RotationToken, inv.Event.Step
	c.mu.Lock()
	c.inFlight[run]++
	if c.inFlight[run] > 1 {
		c.overlaps = append(c.overlaps, run+"/"+step)
	}
	if c.ran[run] == nil {
		c.ran[run] = map[string]int{}
	}
	c.ran[run][step]++
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		c.inFlight[run]--
		c.mu.Unlock()
	}()
	time.Sleep(time.Millisecond) // give another engine the chance to overlap; not an assertion
	return c.inner.Invoke(ctx, inv)
}

// TestEngine_TwoEnginesShareRunsExactlyOnce: two engines with different
// node ids drain one store's due runs at the same time; no step of a run
// is ever invoked by both at once, each step runs once, and each run
// completes exactly once.
func TestEngine_TwoEnginesShareRunsExactlyOnce(t *testing.T) {
	e := newEnv(t, 3)
	c := &stepCounter{inner: &builtin.Function{Secrets: e.secrets, Strategy: builtin.GeneratePassword{}},
		inFlight: map[string]int{}, ran: map[string]map[string]int{}}
	e.reg.Register("counted", "builtin", nil, c)
	const n = 40
	for i := range n {
		name := fmt.Sprintf("s%02d", i)
		e.create(t, name, `{"password":"p0"}`)
		if _, err := e.secrets.RotateSecret(e.ctx, rotor.RotateSecretInput{SecretID: name, RotationLambdaARN: e.reg.ARN(region, "counted")}); err != nil {
			t.Fatal(err)
		}
	}
	engines := []*rotation.Engine{e.engineAs("node-a", e.reg), e.engineAs("node-b", e.reg)}
	done := make([]int, len(engines))
	var wg sync.WaitGroup
	for i, eng := range engines {
		wg.Go(func() {
			var err error
			if done[i], err = eng.RunDue(context.Background()); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if done[0]+done[1] != n {
		t.Errorf("the engines executed %d + %d runs, want %d in all", done[0], done[1], n)
	}
	if len(c.overlaps) > 0 {
		t.Fatalf("steps invoked by two engines at once: %v", c.overlaps)
	}
	runs, err := e.secrets.ListRotationRuns(e.ctx, rotor.RunFilter{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != n {
		t.Fatalf("%d runs, want %d", len(runs), n)
	}
	for _, r := range runs {
		if r.Status != rotor.RunSucceeded || (r.Owner != "node-a" && r.Owner != "node-b") {
			t.Errorf("run %s: status %s owner %q", r.ID, r.Status, r.Owner)
		}
		for _, step := range rotor.Steps {
			if got := c.ran[r.ID][step]; got != 1 {
				t.Errorf("run %s: %s invoked %d times, want 1", r.ID, step, got)
			}
		}
	}
}

// holder is the function of an engine that loses its run: it runs the
// built-in steps but blocks in step stall until released, whether or not
// its context ends (a function that does not honour cancellation), and
// reports when it started stalling and how its context stood when it
// returned.
type holder struct {
	inner   lambda.Function
	stall   string
	honour  bool // return when the context ends
	stalled chan struct{}
	release chan struct{}
	ended   chan error
	mu      sync.Mutex
	calls   []string
}

func (h *holder) Calls() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.calls...)
}

func (h *holder) Invoke(ctx context.Context, inv lambda.Invocation) (lambda.Result, error) {
	h.mu.Lock()
	h.calls = append(h.calls, inv.Event.Step)
	h.mu.Unlock()
	if inv.Event.Step != h.stall {
		return h.inner.Invoke(ctx, inv)
	}
	close(h.stalled)
	if h.honour {
		select {
		case <-h.release:
		case <-ctx.Done():
		}
	} else {
		<-h.release
	}
	h.ended <- ctx.Err()
	return lambda.Result{Output: "stalled " + inv.Event.Step}, nil
}

// leaseEnv starts a rotation of "db" and an engine node-a that claims it
// and stalls in h's step; it returns node-a, its RunDue result channel and
// its logs.
func leaseEnv(t *testing.T, e *env, h *holder) (*rotation.Engine, <-chan error, *syncBuffer) {
	t.Helper()
	_, fn := e.register(t, "gen", nil)
	e.create(t, "db", `{"password":"p0"}`)
	if _, err := e.secrets.RotateSecret(e.ctx, rotor.RotateSecretInput{SecretID: "db", RotationLambdaARN: fn}); err != nil {
		t.Fatal(err)
	}
	regA := rotation.NewRegistry("000000000000")
	regA.Register("gen", "builtin", nil, h)
	a := e.engineAs("node-a", regA)
	var logs syncBuffer
	a.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	doneA := make(chan error, 1)
	go func() {
		_, err := a.RunDue(context.Background())
		doneA <- err
	}()
	<-h.stalled
	return a, doneA, &logs
}

// TestEngine_StolenLeaseRecordsNothing: node-a claims a run and stalls in
// setSecret without renewing (cut off); its lease lapses and node-b takes
// the run over, from createSecret (node-a recorded nothing yet), and
// completes it. When node-a's step finally returns, node-a records
// nothing: the history holds node-b's four steps only.
func TestEngine_StolenLeaseRecordsNothing(t *testing.T) {
	e := newEnv(t, 3)
	h := &holder{inner: &builtin.Function{Secrets: e.secrets, Strategy: builtin.GeneratePassword{}}, stall: rotor.StepSet,
		stalled: make(chan struct{}), release: make(chan struct{}), ended: make(chan error, 1)}
	_, doneA, logs := leaseEnv(t, e, h)

	e.clock.Advance(rotation.DefaultLeaseTTL)
	b := e.engineAs("node-b", e.reg)
	if n, err := b.RunDue(context.Background()); err != nil || n != 1 {
		t.Fatalf("node-b RunDue = %d, %v; want the lapsed run", n, err)
	}
	close(h.release)
	if err := <-doneA; err != nil {
		t.Fatal(err)
	}
	hist := e.history(t, "db")
	if len(hist) != 1 || hist[0].Run.Status != rotor.RunSucceeded || hist[0].Run.Owner != "node-b" {
		t.Fatalf("history = %+v, want one run node-b completed", hist)
	}
	var steps []string
	for _, st := range hist[0].Steps {
		steps = append(steps, st.Step)
		if strings.Contains(st.Output, "stalled") {
			t.Errorf("node-a's stalled step was recorded: %+v", st)
		}
	}
	if got := strings.Join(steps, ","); got != "createSecret,setSecret,testSecret,finishSecret" {
		t.Fatalf("recorded steps = %s, want node-b's four only", got)
	}
	if !strings.Contains(logs.String(), "no longer holds its lease; nothing recorded") {
		t.Fatalf("node-a's logs do not say it dropped the run: %s", logs.String())
	}
}

// TestEngine_LapsedRunResumesAtRecordedStep: node-a records createSecret
// and setSecret, then stalls in testSecret and loses its lease; node-b
// resumes the run at testSecret (it does not repeat the recorded steps),
// and node-a's renewal finds the run gone and stops its invocation, which
// records nothing.
func TestEngine_LapsedRunResumesAtRecordedStep(t *testing.T) {
	e := newEnv(t, 3)
	h := &holder{inner: &builtin.Function{Secrets: e.secrets, Strategy: builtin.GeneratePassword{}}, stall: rotor.StepTest, honour: true,
		stalled: make(chan struct{}), release: make(chan struct{}), ended: make(chan error, 1)}
	a, doneA, logs := leaseEnv(t, e, h)
	// node-a stores the record of createSecret and setSecret while
	// testSecret runs; wait for it before the lease lapses.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
		runs, err := e.secrets.ListRotationRuns(e.ctx, rotor.RunFilter{SecretID: "db"})
		if err != nil {
			t.Fatal(err)
		}
		if len(runs) == 1 && runs[0].Step == rotor.StepTest {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("node-a did not record setSecret: %+v", runs)
		}
	}

	e.clock.Advance(rotation.DefaultLeaseTTL)
	callsB := &holder{inner: &builtin.Function{Secrets: e.secrets, Strategy: builtin.GeneratePassword{}}}
	regB := rotation.NewRegistry("000000000000")
	regB.Register("gen", "builtin", nil, callsB)
	b := e.engineAs("node-b", regB)
	if n, err := b.RunDue(context.Background()); err != nil || n != 1 {
		t.Fatalf("node-b RunDue = %d, %v; want the lapsed run", n, err)
	}
	if got := strings.Join(callsB.Calls(), ","); got != "testSecret,finishSecret" {
		t.Fatalf("node-b invoked %s, want testSecret,finishSecret (resumed at the recorded step)", got)
	}

	// node-a's next renewal learns it lost the run and stops the step.
	if err := a.RenewLeases(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := <-h.ended; err == nil {
		t.Fatal("node-a's invocation was not cancelled when its renewal found the run taken over")
	}
	if err := <-doneA; err != nil {
		t.Fatal(err)
	}
	hist := e.history(t, "db")
	var steps []string
	for _, st := range hist[0].Steps {
		steps = append(steps, st.Step)
	}
	if len(hist) != 1 || hist[0].Run.Status != rotor.RunSucceeded ||
		strings.Join(steps, ",") != "createSecret,setSecret,testSecret,finishSecret" {
		t.Fatalf("history = %+v (steps %v)", hist, steps)
	}
	if !strings.Contains(logs.String(), "no longer held by this server") {
		t.Fatalf("node-a's logs do not say it lost the run: %s", logs.String())
	}
}

// TestScheduler_OneScanAtATime: two servers' schedulers share the scan
// through a lease: while one holds it the other starts nothing, and it
// takes over once the holder stopped renewing.
func TestScheduler_OneScanAtATime(t *testing.T) {
	e := newEnv(t, 3)
	_, fn := e.register(t, "gen", nil)
	immediately := false
	for _, name := range []string{"first", "second"} {
		e.create(t, name, `{"password":"p0"}`)
		if _, err := e.secrets.RotateSecret(e.ctx, rotor.RotateSecretInput{SecretID: name, RotationLambdaARN: fn,
			RotationRules: &rotor.RotationRules{ScheduleExpression: "rate(4 hours)"}, RotateImmediately: &immediately}); err != nil {
			t.Fatal(err)
		}
		e.runDue(t) // the configuration test
	}
	const ttl = 24 * time.Hour
	a := &rotation.Scheduler{Secrets: e.secrets, Owner: "node-a", LeaseTTL: ttl}
	b := &rotation.Scheduler{Secrets: e.secrets, Owner: "node-b", LeaseTTL: ttl}
	tick := func(s *rotation.Scheduler) int {
		t.Helper()
		n, err := s.Tick(e.ctx, e.clock.Now())
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := tick(b); n != 0 { // nothing due yet; node-b takes the lease
		t.Fatalf("node-b started %d before anything was due", n)
	}
	last := e.describe(t, "first").NextRotationDate
	if d := e.describe(t, "second").NextRotationDate; d.After(last) {
		last = d
	}
	if last.Sub(e.clock.Now()) >= ttl {
		t.Fatalf("rate(4 hours) scheduled a rotation %v ahead", last.Sub(e.clock.Now()))
	}
	e.clock.Advance(last.Sub(e.clock.Now())) // both due, node-b's lease holds
	if n := tick(a); n != 0 {
		t.Fatalf("node-a started %d rotations while node-b holds the scheduler lease", n)
	}
	if n := tick(b); n != 2 {
		t.Fatalf("node-b, the holder, started %d rotations, want 2", n)
	}
	e.runDue(t)
	// node-b stops ticking; once its lease lapsed node-a scans.
	e.clock.Advance(ttl + time.Hour)
	if n := tick(a); n != 2 {
		t.Fatalf("node-a started %d rotations after node-b's lease lapsed, want 2", n)
	}
	if n := tick(b); n != 0 {
		t.Fatalf("node-b started %d rotations after node-a took the lease", n)
	}
}
