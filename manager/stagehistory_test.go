package manager_test

import (
	"testing"
	"time"

	"github.com/rotorhq/rotor"
)

// TestStageHistoryRecordsEveryMove: creating a secret, putting new
// versions and moving a label by hand each append the label moves, at the
// service's clock, oldest first; the read is authorized as
// ListSecretVersionIds on the secret and a denial returns nothing.
func TestStageHistoryRecordsEveryMove(t *testing.T) {
	e := newEnv(t)
	t0 := e.clock.Now()
	v1 := e.create(t, "history", "one").VersionID
	e.clock.Advance(time.Minute)
	v2 := e.put(t, "history", tok(2), "two").VersionID
	e.clock.Advance(time.Minute)
	if _, err := e.svc.UpdateSecretVersionStage(e.ctx, rotor.UpdateSecretVersionStageInput{
		SecretID: "history", VersionStage: "custom", MoveToVersionID: v1}); err != nil {
		t.Fatalf("UpdateSecretVersionStage: %v", err)
	}
	e.clock.Advance(time.Minute)
	if _, err := e.svc.UpdateSecretVersionStage(e.ctx, rotor.UpdateSecretVersionStageInput{
		SecretID: "history", VersionStage: "custom", RemoveFromVersionID: v1}); err != nil {
		t.Fatalf("UpdateSecretVersionStage(remove): %v", err)
	}

	e.authz.reset()
	got, err := e.svc.StageHistory(e.ctx, "history", 0)
	if err != nil {
		t.Fatalf("StageHistory: %v", err)
	}
	want := []rotor.StageEvent{
		{Stage: rotor.StageCurrent, VersionID: v1, Time: t0},
		{Stage: rotor.StageCurrent, VersionID: v2, Time: t0.Add(time.Minute)},
		{Stage: rotor.StagePrevious, VersionID: v1, Time: t0.Add(time.Minute)},
		{Stage: "custom", VersionID: v1, Time: t0.Add(2 * time.Minute)},
		{Stage: "custom", VersionID: "", Time: t0.Add(3 * time.Minute)},
	}
	if len(got) != len(want) {
		t.Fatalf("StageHistory = %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i].Stage != want[i].Stage || got[i].VersionID != want[i].VersionID || !got[i].Time.Equal(want[i].Time) {
			t.Errorf("event %d = %+v, want %+v", i, got[i], want[i])
		}
	}
	calls := e.authz.reset()
	if len(calls) != 1 || calls[0].Action != "secretsmanager:ListSecretVersionIds" {
		t.Errorf("authorization calls = %v, want one secretsmanager:ListSecretVersionIds", calls)
	}

	last, err := e.svc.StageHistory(e.ctx, "history", 2)
	if err != nil || len(last) != 2 || last[1].Stage != "custom" || last[0].Stage != "custom" {
		t.Errorf("StageHistory(limit 2) = %+v, %v; want the two custom moves", last, err)
	}

	e.authz.deny = func(action, _ string) bool { return action == "secretsmanager:ListSecretVersionIds" }
	if got, err := e.svc.StageHistory(e.ctx, "history", 0); rotor.ErrorCode(err) != rotor.EDENIED || got != nil {
		t.Errorf("StageHistory denied = %v, %v; want EDENIED and nothing", got, err)
	}
	e.authz.deny = nil
	if _, err := e.svc.StageHistory(e.ctx, "missing", 0); rotor.ErrorCode(err) != rotor.ENOTFOUND {
		t.Errorf("StageHistory(missing) error = %v, want ENOTFOUND", err)
	}
	if _, err := e.svc.StageHistory(e.ctx, "history", 1001); rotor.ErrorCode(err) != rotor.EVALIDATION {
		t.Errorf("StageHistory(limit 1001) error = %v, want EVALIDATION", err)
	}
}

// TestAllowed asks the authorizer the same question the operation would,
// on the secret's ARN, and performs nothing.
func TestAllowed(t *testing.T) {
	e := newEnv(t)
	arn := e.create(t, "allowed", "v").ARN
	e.authz.reset()
	e.authz.deny = func(action, _ string) bool { return action == "secretsmanager:RotateSecret" }
	if err := e.svc.Allowed(e.ctx, "secretsmanager:RotateSecret", "allowed"); rotor.ErrorCode(err) != rotor.EDENIED {
		t.Errorf("Allowed(denied) = %v, want EDENIED", err)
	}
	if err := e.svc.Allowed(e.ctx, "secretsmanager:GetSecretValue", "allowed"); err != nil {
		t.Errorf("Allowed(allowed) = %v", err)
	}
	if err := e.svc.Allowed(e.ctx, "rotor:ListIdentities", ""); err != nil {
		t.Errorf("Allowed(no secret) = %v", err)
	}
	want := []struct{ Action, Resource string }{
		{"secretsmanager:RotateSecret", arn}, {"secretsmanager:GetSecretValue", arn}, {"rotor:ListIdentities", ""}}
	calls := e.authz.reset()
	if len(calls) != len(want) {
		t.Fatalf("authorization calls = %v, want %v", calls, want)
	}
	for i := range want {
		if calls[i].Action != want[i].Action || calls[i].Resource != want[i].Resource {
			t.Errorf("call %d = %v, want %v", i, calls[i], want[i])
		}
	}
	if err := e.svc.Allowed(e.ctx, "secretsmanager:GetSecretValue", "missing"); rotor.ErrorCode(err) != rotor.ENOTFOUND {
		t.Errorf("Allowed(missing) = %v, want ENOTFOUND", err)
	}
}
