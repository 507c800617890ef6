package manager_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/rotorhq/rotor"
	"github.com/rotorhq/rotor/auth"
	"github.com/rotorhq/rotor/envelope"
	"github.com/rotorhq/rotor/rotation"
	"github.com/rotorhq/rotor/rotation/lambda"
)

// newEngine returns the real rotation engine over r's Service, with the
// real credential issuer and no backoff.
func newEngine(t *testing.T, r *rotEnv) *rotation.Engine {
	t.Helper()
	kr, ok := r.cfg.Keyring.(*envelope.Keyring)
	if !ok {
		t.Fatalf("keyring is %T", r.cfg.Keyring)
	}
	return &rotation.Engine{
		Control:     r.svc,
		Functions:   r.reg,
		Credentials: auth.New(auth.Config{Store: r.store, Keyring: kr, Now: r.clock.Now}),
		Now:         r.clock.Now,
		Backoff:     func(int) time.Duration { return 0 },
	}
}

// singleUser is a rotation function that calls the Service directly with
// the context the engine gives it (which carries the scoped principal), as
// AWS's single-user template does over the API.
func singleUser(r *rotEnv, newValue string) func(ctx context.Context, inv lambda.Invocation) (lambda.Result, error) {
	return func(ctx context.Context, inv lambda.Invocation) (lambda.Result, error) {
		ev := inv.Event
		d, err := r.svc.DescribeSecret(ctx, ev.SecretID)
		if err != nil {
			return lambda.Result{}, err
		}
		if !d.Rotation.Enabled {
			return lambda.Result{}, errors.New("secret is not enabled for rotation")
		}
		stages := d.VersionStages[ev.ClientRequestToken]
		if len(stages) == 0 {
			return lambda.Result{}, errors.New("token is not a version of the secret")
		}
		switch ev.Step {
		case rotor.StepCreate:
			_, err := r.svc.GetSecretValue(ctx, rotor.GetSecretValueInput{SecretID: ev.SecretID, VersionID: ev.ClientRequestToken, VersionStage: rotor.StagePending})
			if rotor.ErrorCode(err) == rotor.ENOTFOUND {
				_, err = r.svc.PutSecretValue(ctx, rotor.PutSecretValueInput{SecretID: ev.SecretID, ClientRequestToken: ev.ClientRequestToken,
					Value: sv(newValue), Stages: []string{rotor.StagePending}})
			}
			return lambda.Result{Output: "created"}, err
		case rotor.StepSet, rotor.StepTest:
			_, err := r.svc.GetSecretValue(ctx, rotor.GetSecretValueInput{SecretID: ev.SecretID, VersionID: ev.ClientRequestToken, VersionStage: rotor.StagePending})
			return lambda.Result{}, err
		case rotor.StepFinish:
			cur := ""
			for id, st := range d.VersionStages {
				for _, s := range st {
					if s == rotor.StageCurrent {
						cur = id
					}
				}
			}
			if cur == ev.ClientRequestToken {
				return lambda.Result{}, nil
			}
			_, err := r.svc.UpdateSecretVersionStage(ctx, rotor.UpdateSecretVersionStageInput{SecretID: ev.SecretID,
				VersionStage: rotor.StageCurrent, MoveToVersionID: ev.ClientRequestToken, RemoveFromVersionID: cur})
			return lambda.Result{}, err
		}
		return lambda.Result{}, errors.New("invalid step " + ev.Step)
	}
}

func TestEngineRotatesThroughTheService(t *testing.T) {
	t.Parallel()
	r := newRotEnv(t)
	eng := newEngine(t, r)
	r.setInvoke(singleUser(r, "rotated-secret"))
	created := r.create(t, "db", "initial-secret")
	rules := rotor.RotationRules{AutomaticallyAfterDays: 30}
	out := r.rotate(t, "db", "", &rules)
	n, err := eng.RunDue(context.Background())
	if err != nil || n != 1 {
		t.Fatalf("RunDue = %d, %v", n, err)
	}
	d := r.describe(t, "db")
	wantEqual(t, "stages", d.VersionStages, map[string][]string{tok(0): {"AWSPREVIOUS"}, out.VersionID: {"AWSCURRENT"}})
	if got := r.current(t, "db"); got != "rotated-secret" {
		t.Fatalf("current = %q", got)
	}
	if !d.LastRotatedDate.Equal(r.clock.Now()) {
		t.Fatalf("LastRotatedDate = %v", d.LastRotatedDate)
	}
	hist, err := r.svc.RotationHistory(r.ctx, created.ARN, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(hist) != 1 || hist[0].Run.Status != rotor.RunSucceeded || len(hist[0].Steps) != 4 {
		t.Fatalf("history = %+v", hist)
	}
	for i, st := range hist[0].Steps {
		if st.Step != rotor.Steps[i] || st.Outcome != "ok" {
			t.Fatalf("step %d = %+v", i, st)
		}
	}
}

func TestEngineFailureThenRedrive(t *testing.T) {
	t.Parallel()
	r := newRotEnv(t, withMaxAttempts(2))
	eng := newEngine(t, r)
	good := singleUser(r, "rotated-secret")
	r.setInvoke(func(ctx context.Context, inv lambda.Invocation) (lambda.Result, error) {
		if inv.Event.Step == rotor.StepSet {
			return lambda.Result{}, errors.New("database refused initial-secret")
		}
		return good(ctx, inv)
	})
	r.create(t, "db", "initial-secret")
	out := r.rotate(t, "db", tok(1), nil)
	if _, err := eng.RunDue(context.Background()); err != nil {
		t.Fatal(err)
	}
	run := r.onlyRun(t, "db")
	if run.Status != rotor.RunFailed || run.Attempt != 2 {
		t.Fatalf("run = %+v, want failed after 2 attempts", run)
	}
	if run.LastError == "" || containsAny(run.LastError, "initial-secret", "rotated-secret") {
		t.Fatalf("LastError = %q: empty or not scrubbed", run.LastError)
	}
	wantEqual(t, "stages", r.stages(t, "db"), map[string][]string{tok(0): {"AWSCURRENT"}, out.VersionID: {"AWSPENDING"}})

	// The function is fixed; RotateSecret answers that the previous rotation
	// is not complete and re-drives it, which now succeeds.
	r.setInvoke(good)
	_, err := r.svc.RotateSecret(r.ctx, rotor.RotateSecretInput{SecretID: "db", ClientRequestToken: tok(2)})
	wantErr(t, err, rotor.ESTATE, msgIncomplete)
	if _, err := eng.RunDue(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := r.onlyRun(t, "db"); got.Status != rotor.RunSucceeded || got.ID != run.ID {
		t.Fatalf("re-driven run = %+v", got)
	}
	wantEqual(t, "stages", r.stages(t, "db"), map[string][]string{tok(0): {"AWSPREVIOUS"}, tok(1): {"AWSCURRENT"}})
}

func containsAny(s string, subs ...string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

// TestAbandonedRunCredentialsCannotWrite: a function between its steps
// when its run is abandoned (by a PutSecretValue that made a new version
// AWSCURRENT) can no longer write with the run's credentials, so it cannot
// put AWSPENDING back on the secret.
func TestAbandonedRunCredentialsCannotWrite(t *testing.T) {
	t.Parallel()
	r := newRotEnv(t)
	eng := newEngine(t, r)
	r.create(t, "db", "initial-secret")
	var lateErr error
	r.setInvoke(func(ctx context.Context, inv lambda.Invocation) (lambda.Result, error) {
		if inv.Event.Step != rotor.StepCreate {
			return lambda.Result{}, errors.New("the run should have stopped")
		}
		// A client stores a new value meanwhile, which abandons the run.
		r.put(t, "db", tok(5), "manual-secret")
		_, lateErr = r.svc.PutSecretValue(ctx, rotor.PutSecretValueInput{SecretID: inv.Event.SecretID,
			ClientRequestToken: inv.Event.ClientRequestToken, Value: sv("late-secret"), Stages: []string{rotor.StagePending}})
		return lambda.Result{}, lateErr
	})
	out := r.rotate(t, "db", tok(1), nil)
	if _, err := eng.RunDue(context.Background()); err != nil {
		t.Fatal(err)
	}
	if rotor.ErrorCode(lateErr) != rotor.ESTATE || !strings.Contains(lateErr.Error(), "abandoned") {
		t.Fatalf("late PutSecretValue = %v, want ESTATE naming the abandoned run", lateErr)
	}
	d := r.describe(t, "db")
	wantEqual(t, "stages", d.VersionStages, map[string][]string{tok(0): {"AWSPREVIOUS"}, tok(5): {"AWSCURRENT"}})
	if _, ok := d.VersionStages[out.VersionID]; ok {
		t.Fatalf("the abandoned run's version %s was stored", out.VersionID)
	}
	if got := r.onlyRun(t, "db").Status; got != rotor.RunAbandoned {
		t.Fatalf("run status = %s, want abandoned", got)
	}
}
