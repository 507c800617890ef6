package rotation_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rotorhq/rotor"
	"github.com/rotorhq/rotor/audit"
	"github.com/rotorhq/rotor/rotation/lambda"
)

// auditLines flushes l and returns its lines, decoded.
func auditLines(t *testing.T, l *audit.Log, path string) []map[string]any {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := l.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("line %q: %v", line, err)
		}
		out = append(out, m)
	}
	return out
}

func TestEngine_AuditsEveryStepWithoutValues(t *testing.T) {
	e := newEnv(t, 1)
	path := filepath.Join(t.TempDir(), "audit.log")
	l, err := audit.Open(audit.Options{Path: path, Account: "000000000000"})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	e.engine.Audit = l

	_, fn := e.register(t, "gen", nil)
	arn := e.create(t, "app", `{"username":"app","password":"old-password"}`)
	out, err := e.secrets.RotateSecret(e.ctx, rotor.RotateSecretInput{SecretID: "app", RotationLambdaARN: fn})
	if err != nil {
		t.Fatal(err)
	}
	e.runDue(t)
	lines := auditLines(t, l, path)
	if len(lines) != 4 {
		t.Fatalf("%d audit lines, want one per step (4)", len(lines))
	}
	for i, m := range lines {
		params, _ := m["requestParameters"].(map[string]any)
		if m["eventName"] != rotor.Steps[i] || m["eventSource"] != rotor.AuditSourceRotation || m["errorCode"] != nil ||
			params["secretId"] != arn || params["clientRequestToken"] != out.VersionID || params["rotationLambdaARN"] != fn {
			t.Errorf("line %d = %v", i, m)
		}
	}

	// A failing step is recorded with its scrubbed error, and no value.
	f, fn2 := e.register(t, "leaky", map[string]int{rotor.StepSet: 1})
	f.message = func(inv lambda.Invocation) string {
		v, _ := e.secrets.GetSecretValue(e.ctx, rotor.GetSecretValueInput{SecretID: inv.Event.SecretID,
			VersionID: inv.Event.ClientRequestToken, VersionStage: rotor.StagePending})
		return "login failed with " + *v.Value.String
	}
	e.create(t, "leak", `{"user":"u","password":"old-secret-password"}`)
	if _, err := e.secrets.RotateSecret(e.ctx, rotor.RotateSecretInput{SecretID: "leak", RotationLambdaARN: fn2}); err != nil {
		t.Fatal(err)
	}
	e.runDue(t)
	pending, err := e.secrets.GetSecretValue(e.ctx, rotor.GetSecretValueInput{SecretID: "leak", VersionStage: rotor.StagePending})
	if err != nil {
		t.Fatal(err)
	}
	lines = auditLines(t, l, path)
	if len(lines) != 6 {
		t.Fatalf("%d audit lines, want 4 + createSecret + setSecret", len(lines))
	}
	last := lines[5]
	if last["eventName"] != rotor.StepSet || last["errorCode"] != "RotationStepFailed" ||
		!strings.Contains(last["errorMessage"].(string), "[redacted]") {
		t.Fatalf("failed step line = %v", last)
	}
	raw, _ := os.ReadFile(path)
	for _, v := range []string{*pending.Value.String, "old-secret-password", "old-password"} {
		if strings.Contains(string(raw), v) {
			t.Fatalf("the audit log holds a secret value %q", v)
		}
	}
	if _, err := audit.Verify([]string{path}); err != nil {
		t.Fatal(err)
	}
}

// refusingAuditor refuses every Begin, as the audit log does while its
// file cannot be written.
type refusingAuditor struct{ records int }

func (a *refusingAuditor) Begin(context.Context) (bool, error) {
	return false, rotor.Errorf(rotor.EUNAVAILABLE, "The audit log cannot be written at the moment.")
}
func (a *refusingAuditor) Record(rotor.AuditRecord, bool) { a.records++ }

func TestEngine_UnauditableStepIsNotRun(t *testing.T) {
	e := newEnv(t, 3)
	e.engine.Audit = &refusingAuditor{}
	f, fn := e.register(t, "gen", nil)
	e.create(t, "app", `{"password":"p-1234"}`)
	if _, err := e.secrets.RotateSecret(e.ctx, rotor.RotateSecretInput{SecretID: "app", RotationLambdaARN: fn}); err != nil {
		t.Fatal(err)
	}
	e.runDue(t)
	if calls := f.Calls(); len(calls) != 0 {
		t.Fatalf("steps %v ran although their audit records could not be kept", calls)
	}
	runs, err := e.secrets.ListRotationRuns(e.ctx, rotor.RunFilter{SecretID: "app"})
	if err != nil || len(runs) != 1 || runs[0].Status != rotor.RunPending || !strings.Contains(runs[0].LastError, "audit log") {
		t.Fatalf("runs = %+v, %v; want the attempt failed and retried later", runs, err)
	}
}
