package manager_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/rotorhq/rotor"
	"github.com/rotorhq/rotor/rotation"
)

// TestScheduledRotation: the scheduler finds a secret once its
// NextRotationDate has come and starts the rotation exactly as RotateSecret
// without parameters does, with no caller in the context.
func TestScheduledRotation(t *testing.T) {
	t.Parallel()
	r := newRotEnv(t)
	bg := context.Background()
	created := r.create(t, "s", "v0")
	r.create(t, "manual", "v0") // rotation without rules: never scheduled
	r.rotate(t, "manual", tok(1), nil)
	r.complete(t, "manual", r.claim(t)[0], "m1")

	rules := rotor.RotationRules{AutomaticallyAfterDays: 2}
	r.rotate(t, "s", tok(1), &rules)
	r.complete(t, "s", r.claim(t)[0], "v1")
	next := r.describe(t, "s").NextRotationDate
	sched := &rotation.Scheduler{Secrets: r.svc}

	if due, err := r.svc.DueRotations(bg, next.Add(-time.Second)); err != nil || len(due) != 0 {
		t.Fatalf("DueRotations before the date = %v, %v", due, err)
	}
	if n, err := sched.Tick(bg, next.Add(-time.Second)); err != nil || n != 0 {
		t.Fatalf("Tick before the date = %d, %v", n, err)
	}
	due, err := r.svc.DueRotations(bg, next)
	if err != nil {
		t.Fatal(err)
	}
	wantEqual(t, "due", due, []string{created.ARN})

	r.clock.Advance(next.Sub(r.clock.Now()))
	queued := r.queuedCount()
	if n, err := sched.Tick(bg, r.clock.Now()); err != nil || n != 1 {
		t.Fatalf("Tick at the date = %d, %v", n, err)
	}
	if r.queuedCount() != queued+1 {
		t.Fatal("OnRunQueued not called for a scheduled rotation")
	}
	run := r.runs(t, "s")[0]
	if run.Status != rotor.RunPending || run.Kind != rotor.RunRotate || !uuidRE.MatchString(run.Token) || run.FunctionARN != r.fnARN {
		t.Fatalf("scheduled run = %+v", run)
	}
	wantEqual(t, "stages", r.stages(t, "s"), map[string][]string{tok(0): {"AWSPREVIOUS"}, tok(1): {"AWSCURRENT"}, run.Token: {"AWSPENDING"}})
	// With a run active the secret is no longer due.
	if due, err := r.svc.DueRotations(bg, r.clock.Now().Add(time.Hour)); err != nil || len(due) != 0 {
		t.Fatalf("DueRotations with a run active = %v, %v", due, err)
	}
	// The rotation starting now moved NextRotationDate two days on.
	wantInWindow(t, "NextRotationDate", r.describe(t, "s").NextRotationDate, window(t, rules, r.clock.Now(), r.clock.Now()))

	// A scheduled start whose run then fails: the next due date re-drives it.
	if err := r.svc.FailRun(bg, testOwner, r.claim(t)[0].ID, "boom"); err != nil {
		t.Fatal(err)
	}
	next = r.describe(t, "s").NextRotationDate
	r.clock.Advance(next.Sub(r.clock.Now()))
	err = r.svc.StartScheduledRotation(bg, created.ARN, r.clock.Now())
	wantErr(t, err, rotor.ESTATE, msgIncomplete)
	redriven := r.runs(t, "s")[0]
	if redriven.ID != run.ID || redriven.Status != rotor.RunPending || redriven.Attempt != 1 {
		t.Fatalf("re-driven run = %+v", redriven)
	}
	if d := r.describe(t, "s"); !d.NextRotationDate.After(r.clock.Now()) {
		t.Fatalf("NextRotationDate %v not moved past %v", d.NextRotationDate, r.clock.Now())
	}

	// Disabled rotation is neither due nor started.
	if _, err := r.svc.CancelRotateSecret(r.ctx, "s"); err != nil {
		t.Fatal(err)
	}
	if _, err := r.svc.AbandonRotation(r.ctx, "s"); err != nil {
		t.Fatal(err)
	}
	if due, err := r.svc.DueRotations(bg, r.clock.Now().AddDate(1, 0, 0)); err != nil || len(due) != 0 {
		t.Fatalf("DueRotations with rotation disabled = %v, %v", due, err)
	}
	err = r.svc.StartScheduledRotation(bg, created.ARN, r.clock.Now())
	wantErr(t, err, rotor.ESTATE, "Rotation is not enabled for this secret.")
	err = r.svc.StartScheduledRotation(bg, created.ARN+"x", r.clock.Now())
	wantErr(t, err, rotor.ENOTFOUND, msgNotFound)
}

// TestNextRotationDateInsideWindow checks, for many schedules, clocks and
// random seeds, that NextRotationDate always lies inside the window the
// schedule opens: after RotateSecret (now or not), after a rotation
// completes, and after a manual change.
func TestNextRotationDateInsideWindow(t *testing.T) {
	t.Parallel()
	rules := []rotor.RotationRules{
		{AutomaticallyAfterDays: 1},
		{AutomaticallyAfterDays: 30},
		{AutomaticallyAfterDays: 7, Duration: "4h"},
		{ScheduleExpression: "rate(4 hours)"},
		{ScheduleExpression: "rate(6 hours)", Duration: "2h"},
		{ScheduleExpression: "rate(10 days)"},
		{ScheduleExpression: "rate(1 day)", Duration: "24h"},
		{ScheduleExpression: "cron(0 16 1,15 * ? *)"},
		{ScheduleExpression: "cron(0 8 ? * MON-FRI *)", Duration: "3h"},
		{ScheduleExpression: "cron(0 4/12 * * ? *)"},
		{ScheduleExpression: "cron(0 17 L * ? *)"},
	}
	for i, rule := range rules {
		for seed := range uint64(3) {
			t.Run(fmt.Sprintf("%d/%+v/seed%d", i, rule, seed), func(t *testing.T) {
				t.Parallel()
				r := newRotEnv(t, withSeed(seed))
				r.clock.Advance(time.Duration(seed*37+uint64(i)*11) * time.Hour)
				r.create(t, "s", "v0")
				created := r.clock.Now()
				r.clock.Advance(time.Duration(seed+1) * 29 * time.Hour)

				// Not immediately: counted from the creation for day schedules.
				_, err := r.svc.RotateSecret(r.ctx, rotor.RotateSecretInput{SecretID: "s", ClientRequestToken: tok(1),
					RotationLambdaARN: r.fnARN, RotationRules: &rule, RotateImmediately: bptr(false)})
				if err != nil {
					t.Fatal(err)
				}
				wantInWindow(t, "after configuring", r.describe(t, "s").NextRotationDate, window(t, rule, r.clock.Now(), created))
				r.complete(t, "s", r.claim(t)[0], "")

				r.clock.Advance(13 * time.Hour)
				r.rotate(t, "s", tok(2), nil)
				now := r.clock.Now()
				wantInWindow(t, "after starting", r.describe(t, "s").NextRotationDate, window(t, rule, now, now))

				r.clock.Advance(50 * time.Minute)
				done := r.clock.Now()
				r.complete(t, "s", r.claim(t)[0], "v2")
				d := r.describe(t, "s")
				wantInWindow(t, "after rotating", d.NextRotationDate, window(t, rule, done, done))
				if !d.LastRotatedDate.Equal(done) {
					t.Fatalf("LastRotatedDate = %v, want %v", d.LastRotatedDate, done)
				}

				// A manual change counts as a rotation only for
				// AutomaticallyAfterDays; LastRotatedDate does not move.
				r.clock.Advance(30 * time.Hour)
				before := d.NextRotationDate
				r.put(t, "s", tok(3), "manual")
				d = r.describe(t, "s")
				if rule.AutomaticallyAfterDays != 0 {
					wantInWindow(t, "after a manual change", d.NextRotationDate, window(t, rule, r.clock.Now(), r.clock.Now()))
				} else if !d.NextRotationDate.Equal(before) {
					t.Fatalf("NextRotationDate moved from %v to %v by a manual change", before, d.NextRotationDate)
				}
				if !d.LastRotatedDate.Equal(done) {
					t.Fatalf("LastRotatedDate = %v after a manual change, want %v", d.LastRotatedDate, done)
				}
			})
		}
	}
}

// TestManualChangeMovesNextRotation pins the AutomaticallyAfterDays rule
// with days: a manual PutSecretValue on day 5 of a 10-day schedule moves the
// next rotation to day 15.
func TestManualChangeMovesNextRotation(t *testing.T) {
	t.Parallel()
	r := newRotEnv(t)
	r.create(t, "s", "v0")
	rules := rotor.RotationRules{AutomaticallyAfterDays: 10}
	r.rotate(t, "s", tok(1), &rules)
	start := r.clock.Now()
	r.complete(t, "s", r.claim(t)[0], "v1")
	if got, want := utcDay(r.describe(t, "s").NextRotationDate), utcDay(start).AddDate(0, 0, 10); !got.Equal(want) {
		t.Fatalf("next rotation day = %v, want %v", got, want)
	}
	r.clock.Advance(5 * 24 * time.Hour)
	if _, err := r.svc.UpdateSecret(r.ctx, rotor.UpdateSecretInput{SecretID: "s", ClientRequestToken: tok(2), Value: sv("manual")}); err != nil {
		t.Fatal(err)
	}
	if got, want := utcDay(r.describe(t, "s").NextRotationDate), utcDay(start).AddDate(0, 0, 15); !got.Equal(want) {
		t.Fatalf("next rotation day after a manual change = %v, want %v", got, want)
	}
	// Reconfiguring without rotating counts from that manual change too.
	r.clock.Advance(2 * 24 * time.Hour)
	if _, err := r.svc.RotateSecret(r.ctx, rotor.RotateSecretInput{SecretID: "s", ClientRequestToken: tok(3),
		RotationRules: &rules, RotateImmediately: bptr(false)}); err != nil {
		t.Fatal(err)
	}
	if got, want := utcDay(r.describe(t, "s").NextRotationDate), utcDay(start).AddDate(0, 0, 15); !got.Equal(want) {
		t.Fatalf("next rotation day after reconfiguring = %v, want %v", got, want)
	}
}
