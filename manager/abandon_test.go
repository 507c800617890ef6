package manager_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/rotorhq/rotor"
)

// TestManualCurrentAbandonsRotation: a PutSecretValue or UpdateSecret that
// makes a new version AWSCURRENT abandons the rotation (AWS's
// RotationAbandoned): the run stops and AWSPENDING disappears.
func TestManualCurrentAbandonsRotation(t *testing.T) {
	t.Parallel()
	for name, write := range map[string]func(r *rotEnv) error{
		"PutSecretValue": func(r *rotEnv) error {
			_, err := r.svc.PutSecretValue(r.ctx, rotor.PutSecretValueInput{SecretID: "s", ClientRequestToken: tok(2), Value: sv("manual")})
			return err
		},
		"UpdateSecret": func(r *rotEnv) error {
			_, err := r.svc.UpdateSecret(r.ctx, rotor.UpdateSecretInput{SecretID: "s", ClientRequestToken: tok(2), Value: sv("manual")})
			return err
		},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			r := newRotEnv(t)
			r.create(t, "s", "v0")
			r.rotate(t, "s", tok(1), nil)
			run := r.claim(t)[0]
			r.fill(t, "s", tok(1), "half-rotated") // createSecret done
			r.clock.Advance(time.Minute)
			if err := write(r); err != nil {
				t.Fatal(err)
			}
			got := r.onlyRun(t, "s")
			if got.Status != rotor.RunAbandoned || !got.Finished.Equal(r.clock.Now()) {
				t.Fatalf("run = %+v, want abandoned", got)
			}
			wantEqual(t, "stopped runs", r.stoppedRuns(), []string{run.ID})
			wantEqual(t, "stages", r.stages(t, "s"), map[string][]string{tok(0): {"AWSPREVIOUS"}, tok(2): {"AWSCURRENT"}})
			if got := r.current(t, "s"); got != "manual" {
				t.Fatalf("current = %q", got)
			}
			wantErr(t, r.svc.BeginStep(context.Background(), testOwner, run.ID, rotor.StepSet, 1, r.clock.Now()), rotor.ESTATE, "")
			// The next RotateSecret may start at once.
			r.rotate(t, "s", tok(3), nil)
		})
	}
}

func TestManualWritesThatKeepTheRotation(t *testing.T) {
	t.Parallel()
	r := newRotEnv(t)
	r.create(t, "s", "v0")
	r.rotate(t, "s", tok(1), nil)
	run := r.claim(t)[0]
	// A version with another label, a description change, the placeholder
	// filled: none of them makes a new AWSCURRENT.
	r.put(t, "s", tok(5), "side", "CUSTOM")
	if _, err := r.svc.UpdateSecret(r.ctx, rotor.UpdateSecretInput{SecretID: "s", Description: str("d")}); err != nil {
		t.Fatal(err)
	}
	r.fill(t, "s", tok(1), "new")
	// finishSecret's stage move onto the run's own version.
	r.moveCurrent(t, "s", tok(1))
	if got := r.onlyRun(t, "s"); got.Status != rotor.RunRunning {
		t.Fatalf("run = %+v, want still running", got)
	}
	if len(r.stoppedRuns()) != 0 {
		t.Fatalf("stopped runs = %v", r.stoppedRuns())
	}
	wantEqual(t, "stages", r.stages(t, "s"), map[string][]string{tok(0): {"AWSPREVIOUS"}, tok(1): {"AWSCURRENT", "AWSPENDING"}, tok(5): {"CUSTOM"}})
	r.step(t, run, rotor.StepCreate, rotor.StepSet)
	if err := r.svc.CompleteRun(context.Background(), testOwner, run.ID); err != nil {
		t.Fatal(err)
	}
	wantEqual(t, "stages", r.stages(t, "s"), map[string][]string{tok(0): {"AWSPREVIOUS"}, tok(1): {"AWSCURRENT"}, tok(5): {"CUSTOM"}})
}

func TestAbandonRotation(t *testing.T) {
	t.Parallel()

	t.Run("ActiveRunAndPlaceholder", func(t *testing.T) {
		t.Parallel()
		r := newRotEnv(t)
		created := r.create(t, "s", "v0")
		r.rotate(t, "s", tok(1), nil)
		run := r.claim(t)[0]
		out, err := r.svc.AbandonRotation(r.ctx, "s")
		if err != nil {
			t.Fatal(err)
		}
		wantEqual(t, "result", *out, rotor.VersionResult{ARN: created.ARN, Name: "s", VersionID: tok(1)})
		wantEqual(t, "stopped runs", r.stoppedRuns(), []string{run.ID})
		if got := r.onlyRun(t, "s"); got.Status != rotor.RunAbandoned || got.Finished.IsZero() {
			t.Fatalf("run = %+v", got)
		}
		// The empty placeholder is gone altogether.
		wantEqual(t, "versions", r.allVersions(t, "s"), map[string][]string{tok(0): {"AWSCURRENT"}})
		r.rotate(t, "s", tok(2), nil)
		found := false
		for _, c := range r.authz.reset() {
			found = found || c == authCall{"rotor:AbandonRotation", created.ARN}
		}
		if !found {
			t.Fatal("AbandonRotation was not authorized as rotor:AbandonRotation on the secret")
		}
	})

	t.Run("FailedRunWithFilledVersion", func(t *testing.T) {
		t.Parallel()
		r := newRotEnv(t)
		r.create(t, "s", "v0")
		r.rotate(t, "s", tok(1), nil)
		run := r.claim(t)[0]
		r.fill(t, "s", tok(1), "new")
		if err := r.svc.FailRun(context.Background(), testOwner, run.ID, "testSecret failed"); err != nil {
			t.Fatal(err)
		}
		out, err := r.svc.AbandonRotation(r.ctx, "s")
		if err != nil || out.VersionID != tok(1) {
			t.Fatalf("AbandonRotation = %+v, %v", out, err)
		}
		// A filled version is kept, deprecated; the failed run stays failed.
		wantEqual(t, "versions", r.allVersions(t, "s"), map[string][]string{tok(0): {"AWSCURRENT"}, tok(1): nil})
		if got := r.onlyRun(t, "s"); got.Status != rotor.RunFailed {
			t.Fatalf("run = %+v", got)
		}
		if len(r.stoppedRuns()) != 0 {
			t.Fatalf("stopped runs = %v", r.stoppedRuns())
		}
	})

	t.Run("NothingToAbandon", func(t *testing.T) {
		t.Parallel()
		r := newRotEnv(t)
		r.create(t, "s", "v0")
		r.rotate(t, "s", tok(1), nil)
		r.complete(t, "s", r.claim(t)[0], "v1")
		before := r.snapshot(t, "s")
		_, err := r.svc.AbandonRotation(r.ctx, "s")
		wantErr(t, err, rotor.ESTATE, msgNothingToAbandon)
		wantEqual(t, "snapshot", r.snapshot(t, "s"), before)
		_, err = r.svc.AbandonRotation(r.ctx, "missing")
		wantErr(t, err, rotor.ENOTFOUND, msgNotFound)
	})

	t.Run("Denied", func(t *testing.T) {
		t.Parallel()
		r := newRotEnv(t)
		r.create(t, "s", "v0")
		r.rotate(t, "s", tok(1), nil)
		r.authz.mu.Lock()
		r.authz.deny = func(action, _ string) bool { return action == "rotor:AbandonRotation" }
		r.authz.mu.Unlock()
		_, err := r.svc.AbandonRotation(r.ctx, "s")
		wantErr(t, err, rotor.EDENIED, "")
		_, err = r.svc.AbandonRotation(r.ctx, "missing")
		wantErr(t, err, rotor.EDENIED, "")
		if got := r.onlyRun(t, "s"); got.Status != rotor.RunPending {
			t.Fatalf("run = %+v", got)
		}
	})
}

func TestListRotationRuns(t *testing.T) {
	t.Parallel()
	r := newRotEnv(t)
	a := r.create(t, "a", "v0")
	r.create(t, "b", "v0")
	r.rotate(t, "a", tok(1), nil)
	r.complete(t, "a", r.claim(t)[0], "v1")
	r.clock.Advance(time.Second)
	r.rotate(t, "a", tok(2), nil)
	r.clock.Advance(time.Second)
	r.rotate(t, "b", tok(1), nil)
	west := callerCtx(otherRegion)
	if _, err := r.svc.CreateSecret(west, rotor.CreateSecretInput{Name: "w", ClientRequestToken: tok(0), Value: sv("x")}); err != nil {
		t.Fatal(err)
	}
	if _, err := r.svc.RotateSecret(west, rotor.RotateSecretInput{SecretID: "w", ClientRequestToken: tok(1),
		RotationLambdaARN: r.reg.ARN(otherRegion, "test-fn")}); err != nil {
		t.Fatal(err)
	}

	list := func(f rotor.RunFilter) []string {
		t.Helper()
		runs, err := r.svc.ListRotationRuns(r.ctx, f)
		if err != nil {
			t.Fatalf("ListRotationRuns(%+v): %v", f, err)
		}
		out := []string{}
		for _, run := range runs {
			name, _ := rotor.SecretNameFromARN(mustARN(t, run.SecretARN), true)
			out = append(out, name+"/"+run.Token[len(run.Token)-1:]+"/"+run.Status)
		}
		return out
	}
	wantEqual(t, "region", list(rotor.RunFilter{}), []string{"b/1/pending", "a/2/pending", "a/1/succeeded"})
	wantEqual(t, "secret", list(rotor.RunFilter{SecretID: "a"}), []string{"a/2/pending", "a/1/succeeded"})
	wantEqual(t, "secret by ARN", list(rotor.RunFilter{SecretID: a.ARN}), []string{"a/2/pending", "a/1/succeeded"})
	wantEqual(t, "status", list(rotor.RunFilter{Status: rotor.RunSucceeded}), []string{"a/1/succeeded"})
	wantEqual(t, "limit", list(rotor.RunFilter{Limit: 1}), []string{"b/1/pending"})
	wantEqual(t, "none", list(rotor.RunFilter{Status: rotor.RunFailed}), []string{})

	_, err := r.svc.ListRotationRuns(r.ctx, rotor.RunFilter{Status: "done"})
	wantErr(t, err, rotor.EVALIDATION, "")
	_, err = r.svc.ListRotationRuns(r.ctx, rotor.RunFilter{Limit: -1})
	wantErr(t, err, rotor.EVALIDATION, "")
	_, err = r.svc.ListRotationRuns(r.ctx, rotor.RunFilter{SecretID: "w"})
	wantErr(t, err, rotor.ENOTFOUND, msgNotFound)

	r.authz.reset()
	list(rotor.RunFilter{SecretID: "a"})
	list(rotor.RunFilter{})
	wantEqual(t, "authorizations", r.authz.reset(), []authCall{{"rotor:ListRotationRuns", a.ARN}, {"rotor:ListRotationRuns", ""}})
	r.authz.mu.Lock()
	r.authz.deny = func(action, _ string) bool { return action == "rotor:ListRotationRuns" }
	r.authz.mu.Unlock()
	_, err = r.svc.ListRotationRuns(r.ctx, rotor.RunFilter{})
	wantErr(t, err, rotor.EDENIED, "")
	_, err = r.svc.RotationHistory(r.ctx, "a", 0)
	if err != nil {
		t.Fatalf("RotationHistory is authorized on its own: %v", err)
	}
}

func TestRotationHistory(t *testing.T) {
	t.Parallel()
	r := newRotEnv(t)
	created := r.create(t, "s", "v0")
	hist, err := r.svc.RotationHistory(r.ctx, "s", 0)
	if err != nil || hist == nil || len(hist) != 0 {
		t.Fatalf("history of a secret never rotated = %#v, %v", hist, err)
	}
	r.rotate(t, "s", tok(1), nil)
	r.complete(t, "s", r.claim(t)[0], "v1")
	r.clock.Advance(time.Second)
	r.rotate(t, "s", tok(2), nil)
	run := r.claim(t)[0]
	r.step(t, run, rotor.StepCreate, rotor.StepSet)

	hist, err = r.svc.RotationHistory(r.ctx, created.ARN, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(hist) != 2 || hist[0].Run.Token != tok(2) || hist[1].Run.Token != tok(1) {
		t.Fatalf("history = %+v", hist)
	}
	if len(hist[0].Steps) != 1 || len(hist[1].Steps) != 4 || hist[1].Steps[3].Step != rotor.StepFinish {
		t.Fatalf("steps = %d and %d", len(hist[0].Steps), len(hist[1].Steps))
	}
	if hist, err := r.svc.RotationHistory(r.ctx, "s", 1); err != nil || len(hist) != 1 || hist[0].Run.Token != tok(2) {
		t.Fatalf("history limit 1 = %+v, %v", hist, err)
	}
	r.authz.reset()
	if _, err := r.svc.RotationHistory(r.ctx, "s", 0); err != nil {
		t.Fatal(err)
	}
	wantEqual(t, "authorizations", r.authz.reset(), []authCall{{"rotor:RotationHistory", created.ARN}})
	_, err = r.svc.RotationHistory(r.ctx, "missing", 0)
	wantErr(t, err, rotor.ENOTFOUND, msgNotFound)
	_, err = r.svc.RotationHistory(r.ctx, "", 0)
	wantErr(t, err, rotor.EVALIDATION, "")
}

func mustARN(t testing.TB, s string) rotor.ARN {
	t.Helper()
	a, ok := rotor.ParseARN(s)
	if !ok {
		t.Fatalf("not an ARN: %q", s)
	}
	return a
}

// TestLatestFailedRuns: the failed runs that are the latest of their
// secret, in the caller's region, page by page through tokens bound to the
// call and region; authorized as rotor:ListRotationRuns on "".
func TestLatestFailedRuns(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	base := e.clock.Now()
	var want, arns []string
	for i := range 7 {
		arns = append(arns, e.create(t, fmt.Sprintf("f%d", i), "v").ARN)
	}
	err := e.store.Update(context.Background(), func(tx rotor.Tx) error {
		for i, arn := range arns {
			status := rotor.RunFailed
			if i == 3 {
				status = rotor.RunSucceeded
			}
			run := &rotor.RunRecord{ID: fmt.Sprintf("run-%d", i), SecretARN: arn, Region: testRegion, Token: tok(i),
				Kind: rotor.RunRotate, FunctionARN: "arn:aws:lambda:" + testRegion + ":" + testAccount + ":function:fn",
				Status: status, Step: rotor.StepCreate, Attempt: 1, MaxAttempts: 1,
				Created: base.Add(time.Duration(i) * time.Second), Updated: base, Finished: base}
			if err := tx.CreateRun(run); err != nil {
				return err
			}
			if status == rotor.RunFailed {
				want = append([]string{run.ID}, want...) // newest first
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	next, pages := "", 0
	for {
		runs, tok, err := e.svc.LatestFailedRuns(e.ctx, next, 2)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, r := range runs {
			got = append(got, r.ID)
		}
		if next = tok; next == "" {
			break
		}
	}
	wantEqual(t, "latest failed runs", got, want)
	if pages != 3 {
		t.Errorf("%d pages of 2 for 6 runs, want 3", pages)
	}
	_, tok, err := e.svc.LatestFailedRuns(e.ctx, "", 2)
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = e.svc.LatestFailedRuns(callerCtx(otherRegion), tok, 2)
	wantErr(t, err, rotor.ENEXTTOKEN, "")
	_, _, err = e.svc.LatestFailedRuns(e.ctx, versionToken(t, e), 2)
	wantErr(t, err, rotor.ENEXTTOKEN, "")
	_, _, err = e.svc.LatestFailedRuns(e.ctx, "", 1001)
	wantErr(t, err, rotor.EVALIDATION, "")
	e.authz.reset()
	if _, _, err := e.svc.LatestFailedRuns(e.ctx, "", 0); err != nil {
		t.Fatal(err)
	}
	wantEqual(t, "authorizations", e.authz.reset(), []authCall{{"rotor:ListRotationRuns", ""}})
	e.authz.mu.Lock()
	e.authz.deny = func(action, _ string) bool { return action == "rotor:ListRotationRuns" }
	e.authz.mu.Unlock()
	_, _, err = e.svc.LatestFailedRuns(e.ctx, "", 0)
	wantErr(t, err, rotor.EDENIED, "")
}
