package manager_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/rotorhq/rotor"
	"github.com/rotorhq/rotor/manager"
	"github.com/rotorhq/rotor/rotation"
)

// claimAs claims every due or lapsed run for owner with a lease of ttl.
func (r *rotEnv) claimAs(t testing.TB, owner string, ttl time.Duration) []rotor.RunRecord {
	t.Helper()
	now := r.clock.Now()
	runs, err := r.svc.ClaimRuns(context.Background(), owner, now, now.Add(ttl), 100, nil)
	if err != nil {
		t.Fatalf("ClaimRuns(%s): %v", owner, err)
	}
	return runs
}

// wantLost fails unless err is ESTATE wrapping rotation.ErrLeaseLost.
func wantLost(t testing.TB, what string, err error) {
	t.Helper()
	if rotor.ErrorCode(err) != rotor.ESTATE || !errors.Is(err, rotation.ErrLeaseLost) {
		t.Errorf("%s: err = %v, want ESTATE wrapping ErrLeaseLost", what, err)
	}
}

// TestLeaseFencesEveryWrite: a run claimed by node-a is taken over by
// node-b only once its lease lapsed; from then on every write node-a makes
// about it is refused and stores nothing, while node-b resumes it at its
// recorded step.
func TestLeaseFencesEveryWrite(t *testing.T) {
	t.Parallel()
	r := newRotEnv(t)
	bg := context.Background()
	r.create(t, "s", "v0")
	r.rotate(t, "s", tok(1), nil)

	const ttl = 30 * time.Second
	claimed := r.claimAs(t, "node-a", ttl)
	if len(claimed) != 1 || claimed[0].Owner != "node-a" || !claimed[0].LeaseUntil.Equal(r.clock.Now().Add(ttl)) {
		t.Fatalf("claimed = %+v", claimed)
	}
	run := claimed[0]
	// node-a records createSecret; the run's durable step is setSecret.
	r.fill(t, "s", tok(1), "v1")
	if err := r.svc.EndSteps(bg, "node-a", []rotor.StepRecord{{RunID: run.ID, Step: rotor.StepCreate, Attempt: 1,
		Started: r.clock.Now(), Outcome: "ok"}}, rotor.StepSet); err != nil {
		t.Fatal(err)
	}
	// While the lease holds, nobody else claims it, nor writes about it.
	r.clock.Advance(ttl - time.Nanosecond)
	if got := r.claimAs(t, "node-b", ttl); len(got) != 0 {
		t.Fatalf("node-b claimed a run whose lease holds: %+v", got)
	}
	wantLost(t, "BeginStep by a non-holder", r.svc.BeginStep(bg, "node-b", run.ID, rotor.StepSet, 1, r.clock.Now()))
	// node-a renews; an unknown run is reported lost.
	lost, err := r.svc.RenewLeases(bg, "node-a", []string{run.ID, "no-such-run"}, r.clock.Now().Add(ttl))
	if err != nil || !slices.Equal(lost, []string{"no-such-run"}) {
		t.Fatalf("RenewLeases = %v, %v", lost, err)
	}
	r.clock.Advance(ttl - time.Nanosecond)
	if got := r.claimAs(t, "node-b", ttl); len(got) != 0 {
		t.Fatalf("node-b claimed a run whose renewed lease holds: %+v", got)
	}

	// The lease lapses: node-a's writes are refused at once, even before
	// anyone takes the run over.
	r.clock.Advance(time.Nanosecond)
	wantLost(t, "EndSteps after the lease lapsed", r.svc.EndSteps(bg, "node-a", []rotor.StepRecord{{RunID: run.ID,
		Step: rotor.StepSet, Attempt: 1, Started: r.clock.Now(), Outcome: "ok"}}, rotor.StepTest))
	lost, err = r.svc.RenewLeases(bg, "node-a", []string{run.ID}, r.clock.Now().Add(ttl))
	if err != nil || !slices.Equal(lost, []string{run.ID}) {
		t.Fatalf("RenewLeases after the lapse = %v, %v; want the run lost", lost, err)
	}

	// node-b takes it over at its recorded step and attempt.
	taken := r.claimAs(t, "node-b", ttl)
	if len(taken) != 1 || taken[0].ID != run.ID || taken[0].Owner != "node-b" || taken[0].Step != rotor.StepSet ||
		taken[0].Attempt != 1 || taken[0].Status != rotor.RunRunning {
		t.Fatalf("taken over = %+v", taken)
	}
	before := r.onlyRun(t, "s")
	for name, err := range map[string]error{
		"BeginStep":       r.svc.BeginStep(bg, "node-a", run.ID, rotor.StepTest, 2, r.clock.Now()),
		"EndSteps":        r.svc.EndSteps(bg, "node-a", []rotor.StepRecord{{RunID: run.ID, Step: rotor.StepSet, Attempt: 1, Outcome: "ok"}}, rotor.StepTest),
		"CompleteRunWith": r.svc.CompleteRunWith(bg, "node-a", run.ID, []rotor.StepRecord{{RunID: run.ID, Step: rotor.StepFinish, Attempt: 1, Outcome: "ok"}}),
		"RetryRun":        r.svc.RetryRun(bg, "node-a", run.ID, r.clock.Now(), "x"),
		"FailRun":         r.svc.FailRun(bg, "node-a", run.ID, "x"),
	} {
		wantLost(t, name+" by the former holder", err)
	}
	wantEqual(t, "run after the former holder's writes", r.onlyRun(t, "s"), before)
	hist, err := r.svc.RotationHistory(r.ctx, "s", 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(hist) != 1 || len(hist[0].Steps) != 1 || hist[0].Steps[0].Step != rotor.StepCreate {
		t.Fatalf("history = %+v, want only node-a's createSecret record", hist)
	}

	// node-b carries on from there.
	if err := r.svc.BeginStep(bg, "node-b", run.ID, rotor.StepSet, 1, r.clock.Now()); err != nil {
		t.Fatal(err)
	}
	if err := r.svc.EndSteps(bg, "node-b", []rotor.StepRecord{{RunID: run.ID, Step: rotor.StepSet, Attempt: 1, Outcome: "ok"}}, rotor.StepTest); err != nil {
		t.Fatal(err)
	}
	if got := r.onlyRun(t, "s"); got.Step != rotor.StepTest || got.Owner != "node-b" {
		t.Fatalf("run after node-b's setSecret = %+v", got)
	}
}

// TestLeaseStoppedRunKeepsHolderRecords: a run cancelled while its holder
// runs a step keeps the holder's step records (the history shows what the
// invocation did), unlike a run the holder lost.
func TestLeaseStoppedRunKeepsHolderRecords(t *testing.T) {
	t.Parallel()
	r := newRotEnv(t)
	bg := context.Background()
	r.create(t, "s", "v0")
	r.rotate(t, "s", tok(1), nil)
	run := r.claim(t)[0]
	if _, err := r.svc.CancelRotateSecret(r.ctx, "s"); err != nil {
		t.Fatal(err)
	}
	err := r.svc.EndSteps(bg, testOwner, []rotor.StepRecord{{RunID: run.ID, Step: rotor.StepCreate, Attempt: 1, Outcome: "ok"}}, rotor.StepSet)
	if rotor.ErrorCode(err) != rotor.ESTATE || errors.Is(err, rotation.ErrLeaseLost) {
		t.Fatalf("EndSteps on a cancelled run = %v, want ESTATE (not a lost lease)", err)
	}
	hist, err := r.svc.RotationHistory(r.ctx, "s", 0)
	if err != nil || len(hist) != 1 || len(hist[0].Steps) != 1 || hist[0].Run.Status != rotor.RunCancelled {
		t.Fatalf("history = %+v, %v; want the cancelled run with its one step record", hist, err)
	}
}

// TestClaimRunsArguments: a claim needs an owner and a lease that ends
// after it starts.
func TestClaimRunsArguments(t *testing.T) {
	t.Parallel()
	r := newRotEnv(t)
	r.create(t, "s", "v0")
	r.rotate(t, "s", tok(1), nil)
	now := r.clock.Now()
	for name, c := range map[string]struct {
		owner string
		until time.Time
	}{"NoOwner": {"", now.Add(time.Minute)}, "LeaseEndsAtOnce": {"node-a", now}} {
		if _, err := r.svc.ClaimRuns(context.Background(), c.owner, now, c.until, 1, nil); rotor.ErrorCode(err) != rotor.EINVALID {
			t.Errorf("%s: err = %v, want EINVALID", name, err)
		}
	}
	if got := r.onlyRun(t, "s"); got.Status != rotor.RunPending || got.Owner != "" {
		t.Fatalf("run after refused claims = %+v", got)
	}
}

// feedStore is the test store as a store several servers share: it
// implements rotor.ChangeFeed (no change is ever reported).
type feedStore struct{ *countingStore }

func (feedStore) Watch(ctx context.Context, _ func(rotor.Change)) error {
	<-ctx.Done()
	return ctx.Err()
}

// TestRecoverRunsLeavesSharedStoreAlone: on a store shared by several
// servers a running run may be another server's live one, so RecoverRuns
// leaves it; a lapsed one is claimed through ClaimRuns instead.
func TestRecoverRunsLeavesSharedStoreAlone(t *testing.T) {
	t.Parallel()
	r := newRotEnv(t)
	r.create(t, "s", "v0")
	r.rotate(t, "s", tok(1), nil)
	claimed := r.claimAs(t, "node-a", time.Minute)
	cfg := r.cfg
	cfg.Store = feedStore{r.store}
	shared := manager.New(cfg)
	if n, err := shared.RecoverRuns(context.Background()); err != nil || n != 0 {
		t.Fatalf("RecoverRuns on a shared store = %d, %v; want 0", n, err)
	}
	if got := r.onlyRun(t, "s"); got.Status != rotor.RunRunning || got.Owner != "node-a" {
		t.Fatalf("run after RecoverRuns on a shared store = %+v", got)
	}
	// On the store used alone it is reset, unclaimed.
	if n, err := r.svc.RecoverRuns(context.Background()); err != nil || n != 1 {
		t.Fatalf("RecoverRuns = %d, %v; want 1", n, err)
	}
	if got := r.onlyRun(t, "s"); got.Status != rotor.RunPending || got.Owner != "" || !got.LeaseUntil.IsZero() || got.ID != claimed[0].ID {
		t.Fatalf("recovered run = %+v", got)
	}
}

// TestHoldLease: the scheduler's lease is one owner's at a time until it
// lapses.
func TestHoldLease(t *testing.T) {
	t.Parallel()
	r := newRotEnv(t)
	bg := context.Background()
	now := r.clock.Now()
	for _, c := range []struct {
		owner string
		now   time.Time
		want  bool
	}{
		{"node-a", now, true},
		{"node-b", now.Add(time.Minute), false},
		{"node-a", now.Add(2 * time.Minute), true}, // renewed until now+5m
		{"node-b", now.Add(4 * time.Minute), false},
		{"node-b", now.Add(5 * time.Minute), true},
	} {
		if got, err := r.svc.HoldLease(bg, rotation.SchedulerLease, c.owner, c.now, c.now.Add(3*time.Minute)); err != nil || got != c.want {
			t.Fatalf("HoldLease(%s at %v) = %v, %v; want %v", c.owner, c.now, got, err, c.want)
		}
	}
	if _, err := r.svc.HoldLease(bg, rotation.SchedulerLease, "", now, now.Add(time.Minute)); rotor.ErrorCode(err) != rotor.EINVALID {
		t.Fatalf("HoldLease without an owner: %v, want EINVALID", err)
	}
}

// TestStartScheduledRotationNoLongerDue: a scheduled start whose secret's
// next rotation date moved past the scan's time (a rotation ended since
// the scan found it due) starts nothing.
func TestStartScheduledRotationNoLongerDue(t *testing.T) {
	t.Parallel()
	r := newRotEnv(t)
	created := r.create(t, "s", "v0")
	rules := rotor.RotationRules{ScheduleExpression: "rate(4 hours)"}
	r.rotate(t, "s", tok(1), &rules)
	r.complete(t, "s", r.onlyRun(t, "s"), "v1")
	next := r.describe(t, "s").NextRotationDate
	before := r.runs(t, "s")
	// A scan at a time before that date found it due (it was, then).
	err := r.svc.StartScheduledRotation(context.Background(), created.ARN, next.Add(-time.Second))
	wantErr(t, err, rotor.ESTATE, "")
	wantEqual(t, "runs", r.runs(t, "s"), before)
	if err := r.svc.StartScheduledRotation(context.Background(), created.ARN, next); err != nil {
		t.Fatalf("StartScheduledRotation at the date: %v", err)
	}
	if got := r.runs(t, "s"); len(got) != len(before)+1 {
		t.Fatalf("runs after a due start = %d, want %d", len(got), len(before)+1)
	}
}
