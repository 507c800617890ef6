package manager_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/rotorhq/rotor"
	"github.com/rotorhq/rotor/rotation/lambda"
)

const (
	adminValue  = `{"username":"root","password":"master-pw"}`
	victimValue = `{"username":"victim","password":"victim-pw"}`
)

// appValue is a database secret whose "masterarn" is master.
func appValue(password, master string) string {
	return `{"username":"app","password":"` + password + `","masterarn":"` + master + `"}`
}

func TestRotateSecretBindsMaster(t *testing.T) {
	t.Parallel()
	r := newRotEnv(t)
	admin := r.create(t, "admin", adminValue)
	partial := strings.TrimSuffix(admin.ARN, admin.ARN[len(admin.ARN)-7:]) // without "-" and the suffix
	for name, tc := range map[string]struct{ value, want string }{
		"ByARN":        {appValue("p", admin.ARN), admin.ARN},
		"ByName":       {appValue("p", "admin"), admin.ARN},
		"ByPartialARN": {appValue("p", partial), admin.ARN},
		"None":         {`{"username":"app","password":"p"}`, ""},
		"NotString":    {`{"username":"app","password":"p","masterarn":["admin"]}`, ""},
		"Binary":       {"", ""},
	} {
		t.Run(name, func(t *testing.T) {
			id := "app-" + name
			if tc.value == "" {
				if _, err := r.svc.CreateSecret(r.ctx, rotor.CreateSecretInput{Name: id, ClientRequestToken: tok(0),
					Value: rotor.Value{Binary: []byte(`{"masterarn":"admin"}`)}}); err != nil {
					t.Fatal(err)
				}
			} else {
				r.create(t, id, tc.value)
			}
			r.authz.reset()
			r.rotate(t, id, tok(1), nil)
			if got := r.describe(t, id).Rotation.MasterARN; got != tc.want {
				t.Fatalf("bound master = %q, want %q", got, tc.want)
			}
			read := false
			for _, c := range r.authz.reset() {
				read = read || c == authCall{"secretsmanager:GetSecretValue", admin.ARN}
			}
			if read != (tc.want != "") {
				t.Fatalf("the caller was asked about reading the master: %v, want %v", read, tc.want != "")
			}
		})
	}
}

// TestRotateSecretBindRefusals: a master the caller may not read, or one
// that does not exist, refuses RotateSecret and saves nothing.
func TestRotateSecretBindRefusals(t *testing.T) {
	t.Parallel()
	r := newRotEnv(t)
	admin := r.create(t, "admin", adminValue)
	west, err := r.svc.CreateSecret(callerCtx(otherRegion), rotor.CreateSecretInput{Name: "west-admin", ClientRequestToken: tok(0), Value: sv(adminValue)})
	if err != nil {
		t.Fatal(err)
	}
	missing := rotor.SecretARN(testRegion, testAccount, "gone", "AbCdEf")
	for name, tc := range map[string]struct {
		master    string
		deny      string // the resource the caller may not GetSecretValue
		code, msg string
	}{
		"ErrCannotReadMaster": {"admin", admin.ARN, rotor.EDENIED, "denied secretsmanager:GetSecretValue on " + admin.ARN},
		"ErrMasterMissing": {missing, "", rotor.ESTATE, `The AWSCURRENT value of this secret names the master secret ` + missing +
			` in "masterarn", but no such secret exists in us-east-1. Store a value whose "masterarn" names an existing secret, then call RotateSecret again.`},
		"ErrMasterMissingNotReadable": {"gone", "arn:aws:secretsmanager:us-east-1:" + testAccount + ":secret:gone", rotor.EDENIED,
			"denied secretsmanager:GetSecretValue on arn:aws:secretsmanager:us-east-1:" + testAccount + ":secret:gone"},
		"ErrMasterInOtherRegion": {west.ARN, "", rotor.ESTATE, ""},
	} {
		t.Run(name, func(t *testing.T) {
			id := "app-" + name
			r.create(t, id, appValue("p", tc.master))
			before := r.snapshot(t, id)
			r.authz.deny = func(action, resource string) bool {
				return action == "secretsmanager:GetSecretValue" && resource == tc.deny
			}
			defer func() { r.authz.deny = nil }()
			_, err := r.svc.RotateSecret(r.ctx, rotor.RotateSecretInput{SecretID: id, ClientRequestToken: tok(1),
				RotationLambdaARN: r.fnARN, RotationRules: &rotor.RotationRules{AutomaticallyAfterDays: 7}})
			wantErr(t, err, tc.code, tc.msg)
			wantEqual(t, "snapshot", r.snapshot(t, id), before)
			if d := r.describe(t, id); d.Rotation != (rotor.RotationConfig{}) {
				t.Fatalf("rotation = %+v after a refused RotateSecret", d.Rotation)
			}
			if runs := r.runs(t, id); len(runs) != 0 {
				t.Fatalf("runs = %+v", runs)
			}
		})
	}
}

// invocations records what the engine gave a function.
type invocations struct {
	mu      sync.Mutex
	masters []string // Invocation.Master, per invocation
	scopes  [][]rotor.Grant
}

func (i *invocations) add(ctx context.Context, inv lambda.Invocation) {
	c, _ := rotor.CallerFrom(ctx)
	i.mu.Lock()
	defer i.mu.Unlock()
	i.masters = append(i.masters, inv.Master)
	i.scopes = append(i.scopes, c.Principal.Scope)
}

func (i *invocations) reset() ([]string, [][]rotor.Grant) {
	i.mu.Lock()
	defer i.mu.Unlock()
	m, s := i.masters, i.scopes
	i.masters, i.scopes = nil, nil
	return m, s
}

// TestBoundMasterIgnoresValues: neither the function's AWSPENDING value
// nor any later value changes the bound master or the credentials' scope;
// a run whose AWSCURRENT names another master fails at once with a clear
// message, and RotateSecret rebinds — only for a caller who may read the
// new master.
func TestBoundMasterIgnoresValues(t *testing.T) {
	t.Parallel()
	r := newRotEnv(t, withMaxAttempts(3))
	eng := newEngine(t, r)
	admin := r.create(t, "admin", adminValue)
	victim := r.create(t, "victim", victimValue)
	app := r.create(t, "app", appValue("p0", "admin"))

	// A function that names the victim as master in its AWSPENDING value and
	// fails its first attempt, so the retry gets fresh credentials.
	var seen invocations
	var attempts atomic.Int32
	good := singleUser(r, appValue("p1", "victim"))
	r.setInvoke(func(ctx context.Context, inv lambda.Invocation) (lambda.Result, error) {
		seen.add(ctx, inv)
		if inv.Event.Step == rotor.StepCreate {
			attempts.Add(1)
		}
		if inv.Event.Step == rotor.StepSet && attempts.Load() == 1 {
			return lambda.Result{}, errors.New("failing the first attempt")
		}
		return good(ctx, inv)
	})
	r.rotate(t, "app", tok(1), nil)
	if _, err := eng.RunDue(context.Background()); err != nil {
		t.Fatal(err)
	}
	if run := r.onlyRun(t, "app"); run.Status != rotor.RunSucceeded || run.Attempt != 2 {
		t.Fatalf("run = %+v, want succeeded on attempt 2", run)
	}
	wantScope := rotor.RotationScope(app.ARN, admin.ARN)
	masters, scopes := seen.reset()
	if len(masters) != 6 { // create+set, then create+set+test+finish
		t.Fatalf("%d invocations, want 6", len(masters))
	}
	for i := range masters {
		wantEqual(t, "invocation master", masters[i], admin.ARN)
		wantEqual(t, "invocation scope", scopes[i], wantScope)
	}
	// AWSCURRENT now names the victim; the binding did not move.
	if got := r.current(t, "app"); got != appValue("p1", "victim") {
		t.Fatalf("current = %q", got)
	}
	wantEqual(t, "bound master", r.describe(t, "app").Rotation.MasterARN, admin.ARN)
	// Nor do values stored by clients.
	r.put(t, "app", tok(2), appValue("p2", victim.ARN))
	if _, err := r.svc.UpdateSecret(r.ctx, rotor.UpdateSecretInput{SecretID: "app", ClientRequestToken: tok(3),
		Value: sv(appValue("p3", "victim"))}); err != nil {
		t.Fatal(err)
	}
	wantEqual(t, "bound master", r.describe(t, "app").Rotation.MasterARN, admin.ARN)

	// The scheduler starts a run (it never rebinds): it fails at once,
	// without invoking the function or issuing credentials.
	if err := r.svc.StartScheduledRotation(context.Background(), app.ARN, r.clock.Now()); err != nil {
		t.Fatal(err)
	}
	if _, err := eng.RunDue(context.Background()); err != nil {
		t.Fatal(err)
	}
	run := r.runs(t, "app")[0]
	want := "rotation is bound to master " + admin.ARN + "; the secret now names victim; call RotateSecret again to rebind"
	if run.Status != rotor.RunFailed || run.Attempt != 1 || run.LastError != want {
		t.Fatalf("run = %+v, want failed on its first attempt with %q", run, want)
	}
	if masters, _ := seen.reset(); len(masters) != 0 {
		t.Fatalf("the function was invoked %d times by a run bound to another master", len(masters))
	}

	// A caller who may not read the victim cannot rebind to it: nothing
	// changes, the failed run stays failed.
	r.authz.deny = func(action, resource string) bool {
		return action == "secretsmanager:GetSecretValue" && resource == victim.ARN
	}
	before := r.snapshot(t, "app")
	_, err := r.svc.RotateSecret(r.ctx, rotor.RotateSecretInput{SecretID: "app"})
	wantErr(t, err, rotor.EDENIED, "denied secretsmanager:GetSecretValue on "+victim.ARN)
	wantEqual(t, "snapshot", r.snapshot(t, "app"), before)
	if got := r.runs(t, "app")[0]; got.Status != rotor.RunFailed {
		t.Fatalf("run = %+v after a refused rebind", got)
	}
	r.authz.deny = nil

	// One who may, rebinds: RotateSecret answers that the previous rotation
	// is not complete and re-drives it with the victim as master.
	_, err = r.svc.RotateSecret(r.ctx, rotor.RotateSecretInput{SecretID: "app"})
	wantErr(t, err, rotor.ESTATE, msgIncomplete)
	wantEqual(t, "bound master", r.describe(t, "app").Rotation.MasterARN, victim.ARN)
	r.setInvoke(func(ctx context.Context, inv lambda.Invocation) (lambda.Result, error) {
		seen.add(ctx, inv)
		return singleUser(r, appValue("p4", "victim"))(ctx, inv)
	})
	if _, err := eng.RunDue(context.Background()); err != nil {
		t.Fatal(err)
	}
	if run := r.runs(t, "app")[0]; run.Status != rotor.RunSucceeded {
		t.Fatalf("re-driven run = %+v", run)
	}
	masters, scopes = seen.reset()
	if len(masters) != 4 {
		t.Fatalf("%d invocations, want 4", len(masters))
	}
	for i := range masters {
		wantEqual(t, "invocation master", masters[i], victim.ARN)
		wantEqual(t, "invocation scope", scopes[i], rotor.RotationScope(app.ARN, victim.ARN))
	}
}

// TestBoundMasterNoneThenNamed: a secret bound to no master whose value
// later names one fails too — an empty binding is a binding.
func TestBoundMasterNoneThenNamed(t *testing.T) {
	t.Parallel()
	r := newRotEnv(t)
	eng := newEngine(t, r)
	r.create(t, "admin", adminValue)
	app := r.create(t, "app", `{"username":"app","password":"p0"}`)
	r.rotate(t, "app", tok(1), nil)
	r.put(t, "app", tok(2), appValue("p1", "admin")) // abandons the run
	if err := r.svc.StartScheduledRotation(context.Background(), app.ARN, r.clock.Now()); err != nil {
		t.Fatal(err)
	}
	if _, err := eng.RunDue(context.Background()); err != nil {
		t.Fatal(err)
	}
	want := "rotation is bound to master (none); the secret now names admin; call RotateSecret again to rebind"
	if run := r.runs(t, "app")[0]; run.Status != rotor.RunFailed || run.LastError != want {
		t.Fatalf("run = %+v, want failed with %q", run, want)
	}
}
