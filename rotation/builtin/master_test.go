package builtin_test

import (
	"context"
	"strings"
	"testing"

	"github.com/rotorhq/rotor"
	"github.com/rotorhq/rotor/rotation/builtin"
	"github.com/rotorhq/rotor/rotation/builtin/builtintest"
)

// masterRecorder is a Strategy that needs the master and records the
// Values.Master its setSecret gets.
type masterRecorder struct{ got *string }

func (masterRecorder) Generate(context.Context, string, func(context.Context) (string, error)) (string, error) {
	return "", nil
}
func (m masterRecorder) Set(_ context.Context, v builtin.Values) error { *m.got = v.Master; return nil }
func (masterRecorder) Test(context.Context, builtin.Values) error      { return nil }

// TestBuiltinReadsOnlyTheBoundMaster: a built-in function reads the master
// the rotation is bound to, however AWSPENDING names it, and refuses an
// AWSPENDING value that names another secret — it never reads that one.
func TestBuiltinReadsOnlyTheBoundMaster(t *testing.T) {
	env := builtintest.NewEnv(t)
	const masterValue, victimValue = `{"username":"admin","password":"master-pw"}`, `{"username":"victim","password":"victim-pw"}`
	master := env.CreateSecret(t, "master", masterValue)
	env.CreateSecret(t, "victim", victimValue)
	app := func(name, masterarn string) string {
		return `{"engine":"postgres","host":"db","username":"app","password":"` + name + `","masterarn":"` + masterarn + `"}`
	}
	for name, tc := range map[string]struct {
		pending    string // the "masterarn" of AWSPENDING
		wantMaster string // Values.Master; "" when the step must be refused
	}{
		"SameARN":    {master, masterValue},
		"SameByName": {"master", masterValue},
		"ErrOther":   {"victim", ""},
	} {
		t.Run(name, func(t *testing.T) {
			var got string
			fn := &builtin.Function{Secrets: env.Secrets, Strategy: masterRecorder{&got}}
			arn := env.CreateSecret(t, "app-"+name, app("p0", "master"))
			token := env.StartRotation(t, arn)
			pending := app("p1", tc.pending)
			if _, err := env.Secrets.PutSecretValue(env.Ctx, rotor.PutSecretValueInput{SecretID: arn, ClientRequestToken: token,
				Value: rotor.Value{String: &pending}, Stages: []string{rotor.StagePending}}); err != nil {
				t.Fatal(err)
			}
			err := env.Step(fn, arn, token, rotor.StepSet)
			if tc.wantMaster != "" {
				if err != nil || got != tc.wantMaster {
					t.Fatalf("setSecret = %v with master %q, want %q", err, got, tc.wantMaster)
				}
				return
			}
			if rotor.ErrorCode(err) != rotor.EPRECONDITION || got != "" {
				t.Fatalf("setSecret = %v with master %q, want EPRECONDITION before any master is read", err, got)
			}
			want := "refusing to rotate: the AWSPENDING secret names the master secret victim, but rotation of " + arn +
				" is bound to master " + master + "; call RotateSecret again to rebind"
			if msg := rotor.ErrorMessage(err); msg != want || strings.Contains(msg, "victim-pw") {
				t.Fatalf("message = %q, want %q", msg, want)
			}
		})
	}
}
