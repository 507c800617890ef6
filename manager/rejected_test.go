package manager_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/rotorhq/rotor"
)

// TestRejectedRequestsChangeNothing sends a sample of bad requests of every
// writing operation to a secret with history and checks that DescribeSecret
// and ListSecretVersionIds answer exactly as before.
func TestRejectedRequestsChangeNothing(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	r, err := e.svc.CreateSecret(e.ctx, rotor.CreateSecretInput{Name: "rich", ClientRequestToken: tok(0), Value: sv("v0"),
		Description: "d", Tags: []rotor.Tag{{Key: "k", Value: "v"}}})
	if err != nil {
		t.Fatal(err)
	}
	e.put(t, "rich", tok(1), "v1")
	e.put(t, "rich", tok(2), "v2", "CUSTOM")
	e.createPlaceholder(t, r.ARN, tok(3), "AWSPENDING")
	e.current(t, "rich")
	before := e.snapshot(t, "rich")
	e.clock.Advance(time.Hour)

	long := strings.Repeat("x", 70000)
	for name, call := range map[string]func() error{
		"PutBothValues": func() error {
			_, err := e.svc.PutSecretValue(e.ctx, rotor.PutSecretValueInput{SecretID: "rich", ClientRequestToken: tok(9), Value: rotor.Value{String: str("a"), Binary: []byte("b")}})
			return err
		},
		"PutTooLong": func() error {
			_, err := e.svc.PutSecretValue(e.ctx, rotor.PutSecretValueInput{SecretID: "rich", ClientRequestToken: tok(9), Value: sv(long)})
			return err
		},
		"PutEmptyStages": func() error {
			_, err := e.svc.PutSecretValue(e.ctx, rotor.PutSecretValueInput{SecretID: "rich", ClientRequestToken: tok(9), Value: sv("x"), Stages: []string{}})
			return err
		},
		"PutLongStage": func() error {
			_, err := e.svc.PutSecretValue(e.ctx, rotor.PutSecretValueInput{SecretID: "rich", ClientRequestToken: tok(9), Value: sv("x"), Stages: []string{strings.Repeat("S", 257)}})
			return err
		},
		"PutTokenTooLong": func() error {
			_, err := e.svc.PutSecretValue(e.ctx, rotor.PutSecretValueInput{SecretID: "rich", ClientRequestToken: strings.Repeat("t", 65), Value: sv("x")})
			return err
		},
		"PutTokenOtherValue": func() error {
			_, err := e.svc.PutSecretValue(e.ctx, rotor.PutSecretValueInput{SecretID: "rich", ClientRequestToken: tok(1), Value: sv("changed")})
			return err
		},
		"UpdateTokenOtherValue": func() error {
			_, err := e.svc.UpdateSecret(e.ctx, rotor.UpdateSecretInput{SecretID: "rich", ClientRequestToken: tok(0), Value: sv("changed"), Description: str("changed")})
			return err
		},
		"UpdateLongDescription": func() error {
			_, err := e.svc.UpdateSecret(e.ctx, rotor.UpdateSecretInput{SecretID: "rich", Description: str(long)})
			return err
		},
		"UpdateLongKmsKey": func() error {
			_, err := e.svc.UpdateSecret(e.ctx, rotor.UpdateSecretInput{SecretID: "rich", KmsKeyID: str(long)})
			return err
		},
		"StageMoveWithoutRemove": func() error {
			_, err := e.svc.UpdateSecretVersionStage(e.ctx, rotor.UpdateSecretVersionStageInput{SecretID: "rich", VersionStage: "AWSCURRENT", MoveToVersionID: tok(0)})
			return err
		},
		"StageMoveToUnknown": func() error {
			_, err := e.svc.UpdateSecretVersionStage(e.ctx, rotor.UpdateSecretVersionStageInput{SecretID: "rich", VersionStage: "CUSTOM", MoveToVersionID: tok(8), RemoveFromVersionID: tok(2)})
			return err
		},
		"TagDuplicate": func() error {
			return e.svc.TagResource(e.ctx, "rich", []rotor.Tag{{Key: "a"}, {Key: "a"}})
		},
		"TagLongValue": func() error {
			return e.svc.TagResource(e.ctx, "rich", []rotor.Tag{{Key: "a", Value: long}})
		},
		"UntagEmptyKey": func() error { return e.svc.UntagResource(e.ctx, "rich", []string{"k", ""}) },
		"DeleteBadWindow": func() error {
			_, err := e.svc.DeleteSecret(e.ctx, rotor.DeleteSecretInput{SecretID: "rich", RecoveryWindowDays: 3})
			return err
		},
		"CreateExisting": func() error {
			_, err := e.svc.CreateSecret(e.ctx, rotor.CreateSecretInput{Name: "rich", ClientRequestToken: tok(5), Value: sv("x")})
			return err
		},
		"DeniedPut": func() error {
			e.authz.deny = func(string, string) bool { return true }
			defer func() { e.authz.deny = nil }()
			_, err := e.svc.PutSecretValue(e.ctx, rotor.PutSecretValueInput{SecretID: "rich", ClientRequestToken: tok(9), Value: sv("x")})
			return err
		},
		"CancelledContext": func() error {
			ctx, cancel := context.WithCancel(e.ctx)
			cancel()
			_, err := e.svc.PutSecretValue(ctx, rotor.PutSecretValueInput{SecretID: r.ARN, ClientRequestToken: tok(9), Value: sv("x")})
			return err
		},
	} {
		t.Run(name, func(t *testing.T) {
			if err := call(); err == nil {
				t.Fatal("request accepted")
			}
			wantEqual(t, "state", e.snapshot(t, "rich"), before)
			if got := e.current(t, "rich"); got != "v1" {
				t.Fatalf("current = %q", got)
			}
		})
	}
}

func TestRunPurger(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.create(t, "old", "v")
	e.create(t, "kept", "v")
	if _, err := e.svc.DeleteSecret(e.ctx, rotor.DeleteSecretInput{SecretID: "old", RecoveryWindowDays: 7}); err != nil {
		t.Fatal(err)
	}
	e.describe(t, "old")
	e.clock.Advance(8 * 24 * time.Hour)

	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	go func() {
		e.svc.RunPurger(ctx, 10*time.Millisecond)
		close(stopped)
	}()
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, err := e.svc.DescribeSecret(e.ctx, "old")
		if rotor.ErrorCode(err) == rotor.ENOTFOUND {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("secret not purged by RunPurger: %v", err)
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	<-stopped
	e.describe(t, "kept")
}
