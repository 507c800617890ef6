package manager_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rotorhq/rotor"
)

// TestControllerLifecycle drives a whole rotation by hand the way the
// engine does (claim, begin and end every step, complete), doing what a
// rotation function does through the API in between.
func TestControllerLifecycle(t *testing.T) {
	t.Parallel()
	r := newRotEnv(t)
	bg := context.Background()
	created := r.create(t, "s", "old-password")
	rules := rotor.RotationRules{ScheduleExpression: "rate(7 days)", Duration: "3h"}
	r.rotate(t, "s", tok(1), &rules)

	r.clock.Advance(time.Second)
	claimed := r.claim(t)
	if len(claimed) != 1 {
		t.Fatalf("claimed %d runs, want 1", len(claimed))
	}
	run := claimed[0]
	if run.Status != rotor.RunRunning || !run.Updated.Equal(r.clock.Now()) || run.Token != tok(1) {
		t.Fatalf("claimed run = %+v", run)
	}
	if again := r.claim(t); len(again) != 0 {
		t.Fatalf("a running run was claimed twice: %+v", again)
	}

	// Before createSecret only the current value is touched.
	values, master, err := r.svc.RunSecrets(bg, run)
	if err != nil {
		t.Fatal(err)
	}
	wantEqual(t, "values", values, []string{"old-password"})
	if master != "" {
		t.Fatalf("masterARN = %q", master)
	}

	// createSecret: the function fills the placeholder.
	if err := r.svc.BeginStep(bg, testOwner, run.ID, rotor.StepCreate, 1, r.clock.Now()); err != nil {
		t.Fatal(err)
	}
	r.fill(t, "s", tok(1), "new-password")
	if err := r.svc.EndStep(bg, testOwner, rotor.StepRecord{RunID: run.ID, Step: rotor.StepCreate, Attempt: 1,
		Started: r.clock.Now(), Duration: time.Second, Outcome: "ok", Output: "created"}, rotor.StepSet); err != nil {
		t.Fatal(err)
	}
	if got := r.onlyRun(t, "s"); got.Step != rotor.StepSet || got.Status != rotor.RunRunning {
		t.Fatalf("after createSecret: %+v", got)
	}
	values, _, err = r.svc.RunSecrets(bg, run)
	if err != nil {
		t.Fatal(err)
	}
	wantEqual(t, "values", values, []string{"old-password", "new-password"})

	r.step(t, run, rotor.StepSet, rotor.StepTest)
	r.step(t, run, rotor.StepTest, rotor.StepFinish)

	// CompleteRun refuses while AWSCURRENT is not on the run's version.
	err = r.svc.CompleteRun(bg, testOwner, run.ID)
	wantErr(t, err, rotor.EINVALID, "finishSecret did not move AWSCURRENT to version "+tok(1))
	if got := r.onlyRun(t, "s"); got.Status != rotor.RunRunning {
		t.Fatalf("run after refused completion = %+v", got)
	}

	// finishSecret moves AWSCURRENT: that alone does not end the run.
	r.moveCurrent(t, "s", tok(1))
	wantEqual(t, "stages", r.stages(t, "s"), map[string][]string{tok(0): {"AWSPREVIOUS"}, tok(1): {"AWSCURRENT", "AWSPENDING"}})
	r.step(t, run, rotor.StepFinish, "")
	if got := r.onlyRun(t, "s"); got.Status != rotor.RunRunning {
		t.Fatalf("run after finishSecret = %+v", got)
	}

	r.clock.Advance(time.Minute)
	done := r.clock.Now()
	if err := r.svc.CompleteRun(bg, testOwner, run.ID); err != nil {
		t.Fatal(err)
	}
	d := r.describe(t, "s")
	wantEqual(t, "stages", d.VersionStages, map[string][]string{tok(0): {"AWSPREVIOUS"}, tok(1): {"AWSCURRENT"}})
	if !d.LastRotatedDate.Equal(done) {
		t.Fatalf("LastRotatedDate = %v, want %v", d.LastRotatedDate, done)
	}
	wantInWindow(t, "NextRotationDate", d.NextRotationDate, window(t, rules, done, done))
	if got, want := utcDay(d.NextRotationDate), utcDay(done).AddDate(0, 0, 7); !got.Equal(want) {
		t.Fatalf("NextRotationDate day = %v, want %v", got, want)
	}
	if !d.Rotation.Enabled {
		t.Fatal("rotation disabled by completion")
	}
	if got := r.current(t, "s"); got != "new-password" {
		t.Fatalf("current = %q", got)
	}
	final := r.onlyRun(t, "s")
	if final.Status != rotor.RunSucceeded || !final.Finished.Equal(done) {
		t.Fatalf("final run = %+v", final)
	}
	// A finished run refuses every further change.
	for name, err := range map[string]error{
		"BeginStep":   r.svc.BeginStep(bg, testOwner, run.ID, rotor.StepCreate, 1, done),
		"EndStep":     r.svc.EndStep(bg, testOwner, rotor.StepRecord{RunID: run.ID, Step: rotor.StepCreate, Outcome: "ok"}, rotor.StepSet),
		"CompleteRun": r.svc.CompleteRun(bg, testOwner, run.ID),
		"RetryRun":    r.svc.RetryRun(bg, testOwner, run.ID, done, "x"),
		"FailRun":     r.svc.FailRun(bg, testOwner, run.ID, "x"),
	} {
		if rotor.ErrorCode(err) != rotor.ESTATE {
			t.Errorf("%s on a succeeded run: %v, want ESTATE", name, err)
		}
	}
	if got := r.onlyRun(t, "s"); got.Status != rotor.RunSucceeded {
		t.Fatalf("run changed after it finished: %+v", got)
	}

	// The history holds every step in order; the late EndStep above was
	// recorded too, after the run's own steps.
	hist, err := r.svc.RotationHistory(r.ctx, created.ARN, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(hist) != 1 || hist[0].Run.ID != run.ID {
		t.Fatalf("history = %+v", hist)
	}
	var steps []string
	for _, s := range hist[0].Steps {
		steps = append(steps, s.Step+":"+s.Outcome)
	}
	wantEqual(t, "steps", steps, []string{"createSecret:ok", "setSecret:ok", "testSecret:ok", "finishSecret:ok", "createSecret:ok"})
	if hist[0].Steps[0].Output != "created" || hist[0].Steps[0].Duration != time.Second {
		t.Fatalf("first step = %+v", hist[0].Steps[0])
	}
}

func TestRetryAndFailRun(t *testing.T) {
	t.Parallel()
	r := newRotEnv(t, withMaxAttempts(3))
	bg := context.Background()
	r.create(t, "s", "v0")
	r.rotate(t, "s", tok(1), nil)
	run := r.claim(t)[0]
	if run.MaxAttempts != 3 {
		t.Fatalf("MaxAttempts = %d, want 3", run.MaxAttempts)
	}
	r.step(t, run, rotor.StepCreate, rotor.StepSet)
	start := r.clock.Now()
	if err := r.svc.BeginStep(bg, testOwner, run.ID, rotor.StepSet, 1, start); err != nil {
		t.Fatal(err)
	}
	if err := r.svc.EndStep(bg, testOwner, rotor.StepRecord{RunID: run.ID, Step: rotor.StepSet, Attempt: 1, Started: start,
		Outcome: "error", Error: "connection refused"}, rotor.StepSet); err != nil {
		t.Fatal(err)
	}
	next := start.Add(5 * time.Second)
	if err := r.svc.RetryRun(bg, testOwner, run.ID, next, "setSecret: connection refused"); err != nil {
		t.Fatal(err)
	}
	got := r.onlyRun(t, "s")
	if got.Status != rotor.RunPending || got.Step != rotor.StepCreate || got.Attempt != 2 ||
		!got.NextAttempt.Equal(next) || got.LastError != "setSecret: connection refused" {
		t.Fatalf("retried run = %+v", got)
	}
	// Not due before its time.
	if claimed := r.claim(t); len(claimed) != 0 {
		t.Fatalf("claimed before NextAttempt: %+v", claimed)
	}
	r.clock.Advance(5 * time.Second)
	claimed := r.claim(t)
	if len(claimed) != 1 || claimed[0].Attempt != 2 {
		t.Fatalf("claimed %+v", claimed)
	}
	long := strings.Repeat("é", 3000) // 6000 bytes
	if err := r.svc.FailRun(bg, testOwner, run.ID, long); err != nil {
		t.Fatal(err)
	}
	got = r.onlyRun(t, "s")
	if got.Status != rotor.RunFailed || !got.Finished.Equal(r.clock.Now()) || len(got.LastError) > 4096 ||
		!strings.HasPrefix(long, got.LastError) || len(got.LastError) < 4000 {
		t.Fatalf("failed run = status %s finished %v error %d bytes", got.Status, got.Finished, len(got.LastError))
	}
	// Labels are left as AWS leaves them.
	wantEqual(t, "stages", r.stages(t, "s"), map[string][]string{tok(0): {"AWSCURRENT"}, tok(1): {"AWSPENDING"}})
	wantErr(t, r.svc.RetryRun(bg, testOwner, run.ID, next, "x"), rotor.ESTATE, "")
	wantErr(t, r.svc.FailRun(bg, testOwner, run.ID, "x"), rotor.ESTATE, "")
	wantErr(t, r.svc.BeginStep(bg, testOwner, "no-such-run", rotor.StepCreate, 1, next), rotor.ESTATE, "")
}

func TestRecoverRuns(t *testing.T) {
	t.Parallel()
	r := newRotEnv(t)
	bg := context.Background()
	for _, name := range []string{"a", "b", "c"} {
		r.create(t, name, "v0")
		r.rotate(t, name, tok(1), nil)
	}
	claimed, err := r.svc.ClaimRuns(bg, testOwner, r.clock.Now(), r.clock.Now().Add(testLease), 2, nil)
	if err != nil || len(claimed) != 2 {
		t.Fatalf("ClaimRuns = %d runs, %v; want 2", len(claimed), err)
	}
	r.step(t, claimed[0], rotor.StepCreate, rotor.StepSet)
	if err := r.svc.BeginStep(bg, testOwner, claimed[0].ID, rotor.StepSet, 1, r.clock.Now()); err != nil {
		t.Fatal(err)
	}
	r.clock.Advance(time.Hour) // the server was down for an hour
	n, err := r.svc.RecoverRuns(bg)
	if err != nil || n != 2 {
		t.Fatalf("RecoverRuns = %d, %v; want 2", n, err)
	}
	runs, err := r.svc.ListRotationRuns(r.ctx, rotor.RunFilter{})
	if err != nil {
		t.Fatal(err)
	}
	for _, run := range runs {
		if run.Status != rotor.RunPending {
			t.Fatalf("run %s is %s after recovery", run.ID, run.Status)
		}
		if run.ID == claimed[0].ID && (run.Step != rotor.StepSet || !run.NextAttempt.Equal(r.clock.Now())) {
			t.Fatalf("recovered run = %+v, want step setSecret due now", run)
		}
	}
	if n, err := r.svc.RecoverRuns(bg); err != nil || n != 0 {
		t.Fatalf("second RecoverRuns = %d, %v", n, err)
	}
	// All three are due; skip leaves one alone.
	skipped := claimed[1].ID
	got, err := r.svc.ClaimRuns(bg, testOwner, r.clock.Now(), r.clock.Now().Add(testLease), 10, func(id string) bool { return id == skipped })
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, run := range got {
		ids = append(ids, run.ID)
	}
	if len(ids) != 2 || slices.Contains(ids, skipped) {
		t.Fatalf("claimed %v, skipping %s", ids, skipped)
	}
}

func TestClaimRunsSkipsBeyondLimit(t *testing.T) {
	t.Parallel()
	r := newRotEnv(t)
	var skip []string
	for i, name := range []string{"a", "b", "c", "d", "e"} {
		r.create(t, name, "v0")
		r.rotate(t, name, tok(1), nil)
		if i < 3 {
			skip = append(skip, r.onlyRun(t, name).ID)
		}
		r.clock.Advance(time.Second)
	}
	// The three earliest due runs are skipped: the two behind them are found.
	got, err := r.svc.ClaimRuns(context.Background(), testOwner, r.clock.Now(), r.clock.Now().Add(testLease), 2, func(id string) bool { return slices.Contains(skip, id) })
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || slices.Contains(skip, got[0].ID) || slices.Contains(skip, got[1].ID) {
		t.Fatalf("claimed %+v", got)
	}
}

// TestRunSecretsMaster: the master whose value RunSecrets returns for
// scrubbing is the one RotateSecret bound, however the AWSCURRENT value
// named it.
func TestRunSecretsMaster(t *testing.T) {
	t.Parallel()
	r := newRotEnv(t)
	master := r.create(t, "admin", `{"username":"root","password":"master-pw"}`)
	for name, tc := range map[string]struct {
		value      string
		wantMaster string
	}{
		"ByARN":     {`{"username":"app","password":"app-pw","masterarn":"` + master.ARN + `"}`, master.ARN},
		"ByName":    {`{"username":"app","password":"app-pw","masterarn":"admin"}`, master.ARN},
		"None":      {`{"username":"app","password":"app-pw"}`, ""},
		"NotString": {`{"username":"app","password":"app-pw","masterarn":42}`, ""},
	} {
		t.Run(name, func(t *testing.T) {
			r.create(t, "app-"+name, tc.value)
			r.rotate(t, "app-"+name, tok(1), nil)
			run := r.onlyRun(t, "app-"+name)
			values, got, err := r.svc.RunSecrets(context.Background(), run)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.wantMaster {
				t.Fatalf("masterARN = %q, want %q", got, tc.wantMaster)
			}
			want := []string{tc.value}
			if tc.wantMaster != "" {
				want = append(want, `{"username":"root","password":"master-pw"}`)
			}
			wantEqual(t, "values", values, want)
		})
	}
}

// TestRunSecretsEveryLabeledVersion: a run's credentials can read every
// labeled version of the secret and of its master (an alternating-users
// function logs in with AWSPREVIOUS), so all of them are scrubbed; a
// version without labels is not returned.
func TestRunSecretsEveryLabeledVersion(t *testing.T) {
	t.Parallel()
	r := newRotEnv(t)
	r.create(t, "admin", `{"username":"root","password":"master-old"}`)
	r.put(t, "admin", tok(11), `{"username":"root","password":"master-new"}`)
	r.create(t, "app", "app-v0")                                                           // deprecated by the second put
	r.put(t, "app", tok(21), "app-v1")                                                     // AWSPREVIOUS
	r.put(t, "app", tok(22), `{"username":"app","password":"app-v2","masterarn":"admin"}`) // AWSCURRENT
	r.put(t, "app", tok(23), "app-custom", "MYLABEL")                                      // a custom label only
	r.rotate(t, "app", tok(1), nil)
	values, _, err := r.svc.RunSecrets(context.Background(), r.onlyRun(t, "app"))
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(values)
	wantEqual(t, "values", values, []string{
		"app-custom",
		"app-v1",
		`{"username":"app","password":"app-v2","masterarn":"admin"}`,
		`{"username":"root","password":"master-new"}`,
		`{"username":"root","password":"master-old"}`,
	})
}
