package manager_test

import (
	"context"
	"regexp"
	"testing"
	"time"

	"github.com/rotorhq/rotor"
)

var uuidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestRotateSecretUnknownFunctionSavesNothing(t *testing.T) {
	t.Parallel()
	r := newRotEnv(t)
	r.create(t, "s", "v0")
	for name, arn := range map[string]string{
		"Unknown":           r.reg.ARN(testRegion, "no-such-fn"),
		"OnlyInOtherRegion": r.reg.ARN(testRegion, "west-fn"),
		"OtherRegionsARN":   r.reg.ARN(otherRegion, "test-fn"),
		"OtherAccount":      rotor.LambdaARN(testRegion, "999999999999", "test-fn"),
		"Malformed":         "not-an-arn",
		"NotLambda":         "arn:aws:sqs:us-east-1:123456789012:function:test-fn",
	} {
		t.Run(name, func(t *testing.T) {
			before := r.snapshot(t, "s")
			_, want := r.reg.Lookup(testRegion, arn)
			if want == nil {
				t.Fatalf("registry resolves %q", arn)
			}
			_, err := r.svc.RotateSecret(r.ctx, rotor.RotateSecretInput{SecretID: "s", ClientRequestToken: tok(1),
				RotationLambdaARN: arn, RotationRules: &rotor.RotationRules{AutomaticallyAfterDays: 7}})
			wantErr(t, err, rotor.EDENIED, rotor.ErrorMessage(want))
			wantEqual(t, "snapshot", r.snapshot(t, "s"), before)
			if d := r.describe(t, "s"); d.Rotation != (rotor.RotationConfig{}) || !d.NextRotationDate.IsZero() {
				t.Fatalf("rotation = %+v, next %v; want nothing configured", d.Rotation, d.NextRotationDate)
			}
			if runs := r.runs(t, "s"); len(runs) != 0 {
				t.Fatalf("runs = %+v", runs)
			}
		})
	}
	// The function of another region works in that region.
	west := callerCtx(otherRegion)
	if _, err := r.svc.CreateSecret(west, rotor.CreateSecretInput{Name: "w", ClientRequestToken: tok(0), Value: sv("x")}); err != nil {
		t.Fatal(err)
	}
	if _, err := r.svc.RotateSecret(west, rotor.RotateSecretInput{SecretID: "w", ClientRequestToken: tok(1),
		RotationLambdaARN: r.reg.ARN(otherRegion, "west-fn")}); err != nil {
		t.Fatalf("RotateSecret in %s: %v", otherRegion, err)
	}
	if r.queuedCount() != 1 {
		t.Fatalf("OnRunQueued calls = %d, want 1", r.queuedCount())
	}
}

func TestRotateSecretStartsRun(t *testing.T) {
	t.Parallel()
	r := newRotEnv(t)
	created := r.create(t, "s", "v0")
	r.clock.Advance(time.Hour)
	now := r.clock.Now()
	token := tok(1)
	rules := rotor.RotationRules{AutomaticallyAfterDays: 30}
	out := r.rotate(t, "s", token, &rules)
	wantEqual(t, "result", *out, rotor.VersionResult{ARN: created.ARN, Name: "s", VersionID: token})

	// The placeholder is empty: reading it is ResourceNotFound.
	_, err := r.svc.GetSecretValue(r.ctx, rotor.GetSecretValueInput{SecretID: "s", VersionID: token})
	wantErr(t, err, rotor.ENOTFOUND, "Secrets Manager can't find the specified secret value for VersionId: "+token)
	_, err = r.svc.GetSecretValue(r.ctx, rotor.GetSecretValueInput{SecretID: "s", VersionID: token, VersionStage: rotor.StagePending})
	wantErr(t, err, rotor.ENOTFOUND, "")
	if got := r.current(t, "s"); got != "v0" {
		t.Fatalf("current = %q", got)
	}

	d := r.describe(t, "s")
	wantEqual(t, "stages", d.VersionStages, map[string][]string{tok(0): {"AWSCURRENT"}, token: {"AWSPENDING"}})
	wantEqual(t, "rotation", d.Rotation, rotor.RotationConfig{Configured: true, Enabled: true, LambdaARN: r.fnARN, Rules: rules})
	if !d.LastRotatedDate.IsZero() {
		t.Fatalf("LastRotatedDate = %v before any rotation", d.LastRotatedDate)
	}
	// The rotation starting now counts: the next one is 30 days after today.
	wantInWindow(t, "NextRotationDate", d.NextRotationDate, window(t, rules, now, now))
	if got, want := utcDay(d.NextRotationDate), utcDay(now).AddDate(0, 0, 30); !got.Equal(want) {
		t.Fatalf("NextRotationDate day = %v, want %v", got, want)
	}
	if !d.LastChangedDate.Equal(now) {
		t.Fatalf("LastChangedDate = %v, want %v", d.LastChangedDate, now)
	}
	// The listing shows the same.
	list, err := r.svc.ListSecrets(r.ctx, rotor.ListSecretsInput{})
	if err != nil {
		t.Fatal(err)
	}
	wantEqual(t, "listed rotation", list.Secrets[0].Rotation, d.Rotation)
	wantEqual(t, "listed next rotation", list.Secrets[0].NextRotationDate, d.NextRotationDate)

	run := r.onlyRun(t, "s")
	if run.ID == "" {
		t.Fatal("run without id")
	}
	run.ID = ""
	wantEqual(t, "run", run, rotor.RunRecord{SecretARN: created.ARN, Region: testRegion, Token: token, Kind: rotor.RunRotate,
		FunctionARN: r.fnARN, Status: rotor.RunPending, Step: rotor.StepCreate, Attempt: 1, MaxAttempts: 5,
		NextAttempt: now, Created: now, Updated: now})
	if r.queuedCount() != 1 {
		t.Fatalf("OnRunQueued calls = %d, want 1", r.queuedCount())
	}
	// The authorizer was asked about RotateSecret on the secret.
	found := false
	for _, c := range r.authz.reset() {
		found = found || c == authCall{"secretsmanager:RotateSecret", created.ARN}
	}
	if !found {
		t.Fatal("RotateSecret was not authorized on the secret's ARN")
	}
}

func TestRotateSecretGeneratesToken(t *testing.T) {
	t.Parallel()
	r := newRotEnv(t)
	r.create(t, "s", "v0")
	out := r.rotate(t, "s", "", nil)
	if !uuidRE.MatchString(out.VersionID) {
		t.Fatalf("VersionID = %q, want a random UUID", out.VersionID)
	}
	wantEqual(t, "stages", r.stages(t, "s"), map[string][]string{tok(0): {"AWSCURRENT"}, out.VersionID: {"AWSPENDING"}})
	// No rules: manual rotation only.
	d := r.describe(t, "s")
	if !d.NextRotationDate.IsZero() || d.Rotation.Rules != (rotor.RotationRules{}) || !d.Rotation.Enabled {
		t.Fatalf("describe = %+v", d)
	}
	if run := r.onlyRun(t, "s"); run.Token != out.VersionID {
		t.Fatalf("run token = %q, want %q", run.Token, out.VersionID)
	}
}

func TestRotateSecretRefusals(t *testing.T) {
	t.Parallel()
	cases := map[string]struct {
		setup func(t *testing.T, r *rotEnv)
		in    rotor.RotateSecretInput
		code  string
		msg   string
	}{
		"NoLambda": {
			in:   rotor.RotateSecretInput{SecretID: "s", ClientRequestToken: tok(1), RotationRules: &rotor.RotationRules{AutomaticallyAfterDays: 3}},
			code: rotor.ESTATE, msg: msgNoLambda,
		},
		"DaysOutOfRange": {
			in:   rotor.RotateSecretInput{SecretID: "s", ClientRequestToken: tok(1), RotationRules: &rotor.RotationRules{AutomaticallyAfterDays: 1001}},
			code: rotor.EINVALID, msg: "RotationRules.AutomaticallyAfterDays must be within 1-1000.",
		},
		"DaysAndExpression": {
			in: rotor.RotateSecretInput{SecretID: "s", ClientRequestToken: tok(1),
				RotationRules: &rotor.RotationRules{AutomaticallyAfterDays: 3, ScheduleExpression: "rate(4 hours)"}},
			code: rotor.EINVALID, msg: "You can't specify both AutomaticallyAfterDays and ScheduleExpression.",
		},
		"RateTooShort": {
			in:   rotor.RotateSecretInput{SecretID: "s", ClientRequestToken: tok(1), RotationRules: &rotor.RotationRules{ScheduleExpression: "rate(2 hours)"}},
			code: rotor.EINVALID, msg: "The rate expression rate(2 hours) is not valid: the minimum rotation interval is 4 hours.",
		},
		"NoCurrentValue": {
			in:   rotor.RotateSecretInput{SecretID: "empty", ClientRequestToken: tok(1)},
			code: rotor.ESTATE, msg: "The secret has no AWSCURRENT version to rotate. Store a value with PutSecretValue first.",
		},
		"TokenOfAnotherVersion": {
			in:   rotor.RotateSecretInput{SecretID: "s", ClientRequestToken: tok(0)},
			code: rotor.EEXISTS,
		},
		"Deleted": {
			setup: func(t *testing.T, r *rotEnv) {
				if _, err := r.svc.DeleteSecret(r.ctx, rotor.DeleteSecretInput{SecretID: "s"}); err != nil {
					t.Fatal(err)
				}
			},
			in:   rotor.RotateSecretInput{SecretID: "s", ClientRequestToken: tok(1)},
			code: rotor.ESTATE, msg: msgMarkedDeleted,
		},
		"UnknownSecret": {
			in:   rotor.RotateSecretInput{SecretID: "nope", ClientRequestToken: tok(1)},
			code: rotor.ENOTFOUND, msg: msgNotFound,
		},
		"LongToken": {
			in:   rotor.RotateSecretInput{SecretID: "s", ClientRequestToken: "t" + tok(1) + tok(2)},
			code: rotor.EVALIDATION,
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			r := newRotEnv(t)
			created := r.create(t, "s", "v0")
			r.create(t, "empty", "")
			if tc.setup != nil {
				tc.setup(t, r)
			}
			in := tc.in
			if in.RotationLambdaARN == "" && tc.msg != msgNoLambda {
				in.RotationLambdaARN = r.fnARN
			}
			var before snapshot
			if name != "UnknownSecret" {
				before = r.snapshot(t, in.SecretID)
			}
			_, err := r.svc.RotateSecret(r.ctx, in)
			msg := tc.msg
			if tc.code == rotor.EEXISTS {
				msg = "You can't use ClientRequestToken " + tok(0) + " because that value is already in use for a version of secret " + created.ARN + "."
			}
			wantErr(t, err, tc.code, msg)
			if name != "UnknownSecret" {
				wantEqual(t, "snapshot", r.snapshot(t, in.SecretID), before)
			}
			if r.queuedCount() != 0 {
				t.Fatalf("OnRunQueued called %d times", r.queuedCount())
			}
		})
	}
}

func TestRotateSecretWithoutFunctions(t *testing.T) {
	t.Parallel()
	r := newRotEnv(t, withoutFunctions())
	r.create(t, "s", "v0")
	before := r.snapshot(t, "s")
	_, err := r.svc.RotateSecret(r.ctx, rotor.RotateSecretInput{SecretID: "s", ClientRequestToken: tok(1), RotationLambdaARN: r.fnARN})
	wantErr(t, err, rotor.ESTATE, "")
	wantEqual(t, "snapshot", r.snapshot(t, "s"), before)
	err = r.svc.StartScheduledRotation(context.Background(), before.desc.ARN, r.clock.Now())
	wantErr(t, err, rotor.ESTATE, "")
}

func TestRotateSecretStoredConfigIsUsed(t *testing.T) {
	t.Parallel()
	r := newRotEnv(t)
	r.create(t, "s", "v0")
	rules := rotor.RotationRules{ScheduleExpression: "cron(0 16 1,15 * ? *)", Duration: "2h"}
	first := r.rotate(t, "s", tok(1), &rules)
	r.complete(t, "s", r.onlyRun(t, "s"), "v1")
	// No parameters: the stored function and rules.
	second, err := r.svc.RotateSecret(r.ctx, rotor.RotateSecretInput{SecretID: "s", ClientRequestToken: tok(2)})
	if err != nil {
		t.Fatal(err)
	}
	d := r.describe(t, "s")
	wantEqual(t, "rotation", d.Rotation, rotor.RotationConfig{Configured: true, Enabled: true, LambdaARN: r.fnARN, Rules: rules})
	wantEqual(t, "stages", d.VersionStages, map[string][]string{tok(0): {"AWSPREVIOUS"}, first.VersionID: {"AWSCURRENT"}, second.VersionID: {"AWSPENDING"}})
	if run := r.runs(t, "s")[0]; run.Token != tok(2) || run.FunctionARN != r.fnARN || run.Status != rotor.RunPending {
		t.Fatalf("second run = %+v", run)
	}
}

func TestRotateImmediatelyFalseTestsACopy(t *testing.T) {
	t.Parallel()
	r := newRotEnv(t)
	created := r.create(t, "s", "v0")
	r.clock.Advance(3 * 24 * time.Hour)
	rules := rotor.RotationRules{AutomaticallyAfterDays: 10}
	out, err := r.svc.RotateSecret(r.ctx, rotor.RotateSecretInput{SecretID: "s", ClientRequestToken: tok(1),
		RotationLambdaARN: r.fnARN, RotationRules: &rules, RotateImmediately: bptr(false)})
	if err != nil {
		t.Fatal(err)
	}
	wantEqual(t, "result", *out, rotor.VersionResult{ARN: created.ARN, Name: "s", VersionID: tok(1)})
	// A new version holding a copy of the current value, labelled AWSPENDING.
	v := r.get(t, rotor.GetSecretValueInput{SecretID: "s", VersionID: tok(1)})
	if *v.Value.String != "v0" {
		t.Fatalf("temporary version = %q, want a copy of the current value", *v.Value.String)
	}
	wantEqual(t, "stages", r.stages(t, "s"), map[string][]string{tok(0): {"AWSCURRENT"}, tok(1): {"AWSPENDING"}})
	run := r.onlyRun(t, "s")
	if run.Kind != rotor.RunTestOnly || run.Step != rotor.StepTest || run.Token != tok(1) || run.Status != rotor.RunPending {
		t.Fatalf("run = %+v, want a pending testSecret run", run)
	}
	// Nothing rotates now: the schedule counts from the creation.
	d := r.describe(t, "s")
	wantInWindow(t, "NextRotationDate", d.NextRotationDate, window(t, rules, r.clock.Now(), created0(t, r, "s")))
	if got, want := utcDay(d.NextRotationDate), utcDay(created0(t, r, "s")).AddDate(0, 0, 10); !got.Equal(want) {
		t.Fatalf("NextRotationDate day = %v, want %v", got, want)
	}
	next := d.NextRotationDate

	claimed := r.claim(t)
	if len(claimed) != 1 {
		t.Fatalf("claimed %d runs", len(claimed))
	}
	r.complete(t, "s", claimed[0], "")
	// The temporary version is removed; AWSCURRENT did not move; nothing
	// counts as a rotation.
	wantEqual(t, "stages", r.stages(t, "s"), map[string][]string{tok(0): {"AWSCURRENT"}})
	if st, ok := r.allVersions(t, "s")[tok(1)]; ok {
		t.Fatalf("temporary version = %v; want it removed", st)
	}
	d = r.describe(t, "s")
	if !d.LastRotatedDate.IsZero() || !d.NextRotationDate.Equal(next) {
		t.Fatalf("LastRotatedDate %v, NextRotationDate %v (was %v)", d.LastRotatedDate, d.NextRotationDate, next)
	}
	if got := r.onlyRun(t, "s"); got.Status != rotor.RunSucceeded {
		t.Fatalf("run = %+v", got)
	}
}

// TestTestOnlyFailureDoesNotBlockRotation: a failed configuration test
// removes its temporary copy (the failure stays in the run), and a copy a
// cancelled test left behind does not make RotateSecret answer "A previous
// rotation isn't complete" either: the next RotateSecret starts a rotation.
func TestTestOnlyFailureDoesNotBlockRotation(t *testing.T) {
	t.Parallel()
	rules := rotor.RotationRules{AutomaticallyAfterDays: 10}
	for _, end := range []string{"failed", "cancelled"} {
		t.Run(end, func(t *testing.T) {
			t.Parallel()
			r := newRotEnv(t)
			r.create(t, "s", "v0")
			if _, err := r.svc.RotateSecret(r.ctx, rotor.RotateSecretInput{SecretID: "s", ClientRequestToken: tok(1),
				RotationLambdaARN: r.fnARN, RotationRules: &rules, RotateImmediately: bptr(false)}); err != nil {
				t.Fatal(err)
			}
			run := r.claim(t)[0]
			if end == "failed" {
				if err := r.svc.FailRun(context.Background(), testOwner, run.ID, "testSecret: login refused"); err != nil {
					t.Fatal(err)
				}
				wantEqual(t, "stages after the failed test", r.stages(t, "s"), map[string][]string{tok(0): {"AWSCURRENT"}})
				if _, ok := r.allVersions(t, "s")[tok(1)]; ok {
					t.Fatalf("the temporary version of the failed test is still there")
				}
			} else if _, err := r.svc.CancelRotateSecret(r.ctx, "s"); err != nil {
				t.Fatal(err)
			}
			if got := r.onlyRun(t, "s"); got.Status != end || (end == "failed" && got.LastError != "testSecret: login refused") {
				t.Fatalf("run = %+v", got)
			}
			out, err := r.svc.RotateSecret(r.ctx, rotor.RotateSecretInput{SecretID: "s", ClientRequestToken: tok(2)})
			if err != nil {
				t.Fatalf("RotateSecret after the %s test: %v", end, err)
			}
			wantEqual(t, "stages", r.stages(t, "s"), map[string][]string{tok(0): {"AWSCURRENT"}, out.VersionID: {"AWSPENDING"}})
			if _, ok := r.allVersions(t, "s")[tok(1)]; ok {
				t.Fatalf("the temporary version of the %s test is still there", end)
			}
			if got := r.runs(t, "s")[0]; got.Kind != rotor.RunRotate || got.Token != tok(2) || got.Status != rotor.RunPending {
				t.Fatalf("newest run = %+v, want a pending rotation of %s", got, tok(2))
			}
		})
	}
}

// created0 returns the creation date of secret id.
func created0(t *testing.T, r *rotEnv, id string) time.Time {
	t.Helper()
	return r.describe(t, id).CreatedDate
}

func TestRotateSecretPreviousRotationIncomplete(t *testing.T) {
	t.Parallel()

	t.Run("ActiveRun", func(t *testing.T) {
		t.Parallel()
		r := newRotEnv(t)
		r.create(t, "s", "v0")
		rules := rotor.RotationRules{AutomaticallyAfterDays: 5}
		r.rotate(t, "s", tok(1), &rules)
		before := r.snapshot(t, "s")
		_, err := r.svc.RotateSecret(r.ctx, rotor.RotateSecretInput{SecretID: "s", ClientRequestToken: tok(2),
			RotationLambdaARN: r.fnARN, RotationRules: &rotor.RotationRules{AutomaticallyAfterDays: 9}})
		wantErr(t, err, rotor.ESTATE, msgIncomplete)
		wantEqual(t, "snapshot", r.snapshot(t, "s"), before)
		if runs := r.runs(t, "s"); len(runs) != 1 || runs[0].Token != tok(1) {
			t.Fatalf("runs = %+v", runs)
		}
		// A running run is still incomplete.
		r.claim(t)
		_, err = r.svc.RotateSecret(r.ctx, rotor.RotateSecretInput{SecretID: "s", ClientRequestToken: tok(2)})
		wantErr(t, err, rotor.ESTATE, msgIncomplete)
	})

	t.Run("SameTokenAgainIsIdempotent", func(t *testing.T) {
		t.Parallel()
		r := newRotEnv(t)
		created := r.create(t, "s", "v0")
		r.rotate(t, "s", tok(1), nil)
		before := r.snapshot(t, "s")
		r.clock.Advance(time.Minute)
		out := r.rotate(t, "s", tok(1), nil)
		wantEqual(t, "result", *out, rotor.VersionResult{ARN: created.ARN, Name: "s", VersionID: tok(1)})
		wantEqual(t, "snapshot", r.snapshot(t, "s"), before)
		if runs := r.runs(t, "s"); len(runs) != 1 {
			t.Fatalf("runs = %+v", runs)
		}
	})

	t.Run("FailedRunIsRedriven", func(t *testing.T) {
		t.Parallel()
		r := newRotEnv(t)
		r.create(t, "s", "v0")
		rules := rotor.RotationRules{AutomaticallyAfterDays: 5}
		r.rotate(t, "s", tok(1), &rules)
		run := r.claim(t)[0]
		r.step(t, run, rotor.StepCreate, rotor.StepSet)
		if err := r.svc.RetryRun(context.Background(), testOwner, run.ID, r.clock.Now(), "first"); err != nil {
			t.Fatal(err)
		}
		run = r.claim(t)[0]
		if err := r.svc.FailRun(context.Background(), testOwner, run.ID, "setSecret: refused"); err != nil {
			t.Fatal(err)
		}
		failed := r.onlyRun(t, "s")
		if failed.Status != rotor.RunFailed || failed.Attempt != 2 || failed.Finished.IsZero() {
			t.Fatalf("failed run = %+v", failed)
		}
		// The labels stay: the next RotateSecret re-drives the failed run.
		wantEqual(t, "stages", r.stages(t, "s"), map[string][]string{tok(0): {"AWSCURRENT"}, tok(1): {"AWSPENDING"}})
		desc := r.describe(t, "s")
		r.clock.Advance(time.Hour)
		queued := r.queuedCount()
		_, err := r.svc.RotateSecret(r.ctx, rotor.RotateSecretInput{SecretID: "s", ClientRequestToken: tok(2),
			RotationLambdaARN: r.fnARN, RotationRules: &rotor.RotationRules{AutomaticallyAfterDays: 9}})
		wantErr(t, err, rotor.ESTATE, msgIncomplete)
		if r.queuedCount() != queued+1 {
			t.Fatal("OnRunQueued not called after the re-drive")
		}
		got := r.onlyRun(t, "s")
		now := r.clock.Now()
		want := failed
		want.Status, want.Step, want.Attempt, want.NextAttempt, want.Updated, want.Finished =
			rotor.RunPending, rotor.StepCreate, 1, now, now, time.Time{}
		want.Owner, want.LeaseUntil = "", time.Time{} // unclaimed until an engine claims it
		wantEqual(t, "re-driven run", got, want)
		// The request's configuration was not saved; no version was added.
		wantEqual(t, "description", r.describe(t, "s"), desc)
		if _, ok := r.allVersions(t, "s")[tok(2)]; ok {
			t.Fatal("a version was created for the refused request")
		}
		// The re-driven run is due now.
		if claimed := r.claim(t); len(claimed) != 1 || claimed[0].ID != failed.ID {
			t.Fatalf("claimed %+v", claimed)
		}
	})

	t.Run("LabelWithoutRunGetsARun", func(t *testing.T) {
		t.Parallel()
		r := newRotEnv(t)
		r.create(t, "s", "v0")
		r.put(t, "s", tok(1), "by-hand", rotor.StagePending)
		_, err := r.svc.RotateSecret(r.ctx, rotor.RotateSecretInput{SecretID: "s", ClientRequestToken: tok(2), RotationLambdaARN: r.fnARN})
		wantErr(t, err, rotor.ESTATE, msgIncomplete)
		run := r.onlyRun(t, "s")
		if run.Token != tok(1) || run.Status != rotor.RunPending || run.Kind != rotor.RunRotate || run.Step != rotor.StepCreate {
			t.Fatalf("run = %+v, want a pending rotation of %s", run, tok(1))
		}
		if r.queuedCount() != 1 {
			t.Fatalf("OnRunQueued calls = %d", r.queuedCount())
		}
		// The configuration in the request was not saved.
		if d := r.describe(t, "s"); d.Rotation != (rotor.RotationConfig{}) {
			t.Fatalf("rotation = %+v", d.Rotation)
		}
	})

	t.Run("CancelledRunIsNotRedriven", func(t *testing.T) {
		t.Parallel()
		r := newRotEnv(t)
		r.create(t, "s", "v0")
		r.rotate(t, "s", tok(1), nil)
		if _, err := r.svc.CancelRotateSecret(r.ctx, "s"); err != nil {
			t.Fatal(err)
		}
		before := r.snapshot(t, "s")
		_, err := r.svc.RotateSecret(r.ctx, rotor.RotateSecretInput{SecretID: "s", ClientRequestToken: tok(2)})
		wantErr(t, err, rotor.ESTATE, msgIncomplete)
		wantEqual(t, "snapshot", r.snapshot(t, "s"), before)
		if run := r.onlyRun(t, "s"); run.Status != rotor.RunCancelled {
			t.Fatalf("run = %+v", run)
		}
	})

	t.Run("PendingOnCurrentIsHarmless", func(t *testing.T) {
		t.Parallel()
		r := newRotEnv(t)
		created := r.create(t, "s", "v0")
		if _, err := r.svc.UpdateSecretVersionStage(r.ctx, rotor.UpdateSecretVersionStageInput{SecretID: "s",
			VersionStage: rotor.StagePending, MoveToVersionID: tok(0)}); err != nil {
			t.Fatal(err)
		}
		out := r.rotate(t, "s", tok(1), nil)
		wantEqual(t, "result", *out, rotor.VersionResult{ARN: created.ARN, Name: "s", VersionID: tok(1)})
		wantEqual(t, "stages", r.stages(t, "s"), map[string][]string{tok(0): {"AWSCURRENT"}, tok(1): {"AWSPENDING"}})
	})
}

func TestCancelRotateSecret(t *testing.T) {
	t.Parallel()

	t.Run("NotConfigured", func(t *testing.T) {
		t.Parallel()
		r := newRotEnv(t)
		r.create(t, "s", "v0")
		before := r.snapshot(t, "s")
		_, err := r.svc.CancelRotateSecret(r.ctx, "s")
		wantErr(t, err, rotor.ESTATE, msgNotConfigured)
		wantEqual(t, "snapshot", r.snapshot(t, "s"), before)
	})

	t.Run("Deleted", func(t *testing.T) {
		t.Parallel()
		r := newRotEnv(t)
		r.create(t, "s", "v0")
		r.rotate(t, "s", tok(1), nil)
		if _, err := r.svc.DeleteSecret(r.ctx, rotor.DeleteSecretInput{SecretID: "s"}); err != nil {
			t.Fatal(err)
		}
		_, err := r.svc.CancelRotateSecret(r.ctx, "s")
		wantErr(t, err, rotor.ESTATE, msgMarkedDeleted)
	})

	t.Run("StopsTheRunAndKeepsLabels", func(t *testing.T) {
		t.Parallel()
		r := newRotEnv(t)
		created := r.create(t, "s", "v0")
		rules := rotor.RotationRules{ScheduleExpression: "rate(10 days)"}
		r.rotate(t, "s", tok(1), &rules)
		run := r.claim(t)[0]
		r.clock.Advance(time.Minute)
		out, err := r.svc.CancelRotateSecret(r.ctx, "s")
		if err != nil {
			t.Fatal(err)
		}
		wantEqual(t, "result", *out, rotor.VersionResult{ARN: created.ARN, Name: "s", VersionID: tok(1)})
		wantEqual(t, "stopped runs", r.stoppedRuns(), []string{run.ID})
		got := r.onlyRun(t, "s")
		if got.Status != rotor.RunCancelled || !got.Finished.Equal(r.clock.Now()) {
			t.Fatalf("run = %+v", got)
		}
		d := r.describe(t, "s")
		wantEqual(t, "rotation", d.Rotation, rotor.RotationConfig{Configured: true, Enabled: false, LambdaARN: r.fnARN, Rules: rules})
		wantEqual(t, "stages", d.VersionStages, map[string][]string{tok(0): {"AWSCURRENT"}, tok(1): {"AWSPENDING"}})
		if !d.NextRotationDate.IsZero() {
			t.Fatalf("NextRotationDate = %v with rotation disabled", d.NextRotationDate)
		}
		// The engine learns at its next step that the run stopped.
		err = r.svc.BeginStep(context.Background(), testOwner, run.ID, rotor.StepSet, 1, r.clock.Now())
		wantErr(t, err, rotor.ESTATE, "")
		// Cancelling again: nothing active, the AWSPENDING version is named.
		out, err = r.svc.CancelRotateSecret(r.ctx, "s")
		if err != nil || out.VersionID != tok(1) {
			t.Fatalf("second cancel = %+v, %v", out, err)
		}
		if len(r.stoppedRuns()) != 1 {
			t.Fatalf("stopped runs = %v", r.stoppedRuns())
		}
	})
}

// TestRotateSecretBindsIdentity: RotateSecret binds the rotation to the
// AWSCURRENT value's "identity" when its caller may perform
// rotor:CreateAccessKey; a caller who may not keeps the binding while the
// value names the bound identity and unbinds it when the value names
// another, so rewriting the value never moves the binding.
func TestRotateSecretBindsIdentity(t *testing.T) {
	t.Parallel()
	r := newRotEnv(t)
	r.create(t, "k", `{"identity":"svc","accessKeyId":"AKIA1"}`)
	rotate := func(token string) string {
		t.Helper()
		r.rotate(t, "k", token, nil)
		if _, err := r.svc.AbandonRotation(r.ctx, "k"); err != nil {
			t.Fatal(err)
		}
		return r.describe(t, "k").Rotation.Identity
	}
	if got := rotate(tok(1)); got != "svc" {
		t.Fatalf("bound to %q by an administrator, want svc", got)
	}
	r.authz.deny = func(action, _ string) bool { return action == "rotor:CreateAccessKey" }
	if got := rotate(tok(2)); got != "svc" {
		t.Fatalf("bound to %q after RotateSecret by a caller who may not manage keys, same identity; want svc", got)
	}
	r.put(t, "k", tok(3), `{"identity":"admin","accessKeyId":"AKIA1"}`)
	if got := rotate(tok(4)); got != "" {
		t.Fatalf("bound to %q after the value was changed to admin and RotateSecret by a caller who may not manage keys; want none", got)
	}
	r.put(t, "k", tok(5), `{"identity":"svc","accessKeyId":"AKIA1"}`)
	if got := rotate(tok(6)); got != "" {
		t.Fatalf("bound to %q by a caller who may not manage keys; want none", got)
	}
	r.authz.deny = nil
	r.put(t, "k", tok(7), `{"identity":"admin","accessKeyId":"AKIA1"}`)
	if got := rotate(tok(8)); got != "admin" {
		t.Fatalf("bound to %q by an administrator, want admin", got)
	}
}
