package manager_test

import (
	"testing"
	"time"

	"github.com/rotorhq/rotor"
)

func TestDeleteSecret(t *testing.T) {
	t.Parallel()
	t.Run("Lifecycle", func(t *testing.T) {
		e := newEnv(t)
		r := e.create(t, "d", "v0")
		deletedAt := e.clock.Now().Add(time.Hour)
		e.clock.Advance(time.Hour)
		out, err := e.svc.DeleteSecret(e.ctx, rotor.DeleteSecretInput{SecretID: "d", RecoveryWindowDays: 7})
		if err != nil {
			t.Fatal(err)
		}
		purgeAt := deletedAt.Add(7 * 24 * time.Hour)
		wantEqual(t, "result", *out, rotor.DeleteSecretOutput{ARN: r.ARN, Name: "d", DeletionDate: purgeAt})

		// Scheduled: Describe and ListSecretVersionIds work, with DeletedDate.
		d := e.describe(t, "d")
		if !d.DeletedDate.Equal(deletedAt) || !d.LastChangedDate.Equal(deletedAt) {
			t.Fatalf("DeletedDate = %v, LastChangedDate = %v, want %v", d.DeletedDate, d.LastChangedDate, deletedAt)
		}
		if _, err := e.svc.ListSecretVersionIds(e.ctx, rotor.ListSecretVersionIdsInput{SecretID: "d"}); err != nil {
			t.Fatalf("ListSecretVersionIds on a scheduled secret: %v", err)
		}

		// Everything else is refused.
		before := e.snapshot(t, "d")
		for name, call := range map[string]func() error{
			"GetSecretValue": func() error {
				_, err := e.svc.GetSecretValue(e.ctx, rotor.GetSecretValueInput{SecretID: "d"})
				return err
			},
			"PutSecretValue": func() error {
				_, err := e.svc.PutSecretValue(e.ctx, rotor.PutSecretValueInput{SecretID: "d", ClientRequestToken: tok(1), Value: sv("x")})
				return err
			},
			"UpdateSecret": func() error {
				_, err := e.svc.UpdateSecret(e.ctx, rotor.UpdateSecretInput{SecretID: "d", Description: str("x")})
				return err
			},
			"UpdateSecretVersionStage": func() error {
				_, err := e.svc.UpdateSecretVersionStage(e.ctx, rotor.UpdateSecretVersionStageInput{SecretID: "d", VersionStage: "X", MoveToVersionID: tok(0)})
				return err
			},
			"TagResource":   func() error { return e.svc.TagResource(e.ctx, "d", []rotor.Tag{{Key: "k"}}) },
			"UntagResource": func() error { return e.svc.UntagResource(e.ctx, "d", []string{"k"}) },
		} {
			t.Run("Err"+name, func(t *testing.T) {
				wantErr(t, call(), rotor.ESTATE, msgMarkedForDelete)
			})
		}
		_, err = e.svc.DeleteSecret(e.ctx, rotor.DeleteSecretInput{SecretID: "d"})
		wantErr(t, err, rotor.ESTATE, "You tried to perform the operation on a secret that's currently marked deleted.")
		wantEqual(t, "state", e.snapshot(t, "d"), before)

		// Hidden from ListSecrets unless IncludePlannedDeletion.
		for _, include := range []bool{false, true} {
			l, err := e.svc.ListSecrets(e.ctx, rotor.ListSecretsInput{IncludePlannedDeletion: include})
			if err != nil {
				t.Fatal(err)
			}
			if got := len(l.Secrets); got != map[bool]int{false: 0, true: 1}[include] {
				t.Fatalf("IncludePlannedDeletion=%v lists %d secrets", include, got)
			}
		}

		// Not purged before the window ends.
		e.clock.Advance(7*24*time.Hour - time.Second)
		if n, err := e.svc.PurgeDue(e.ctx); err != nil || n != 0 {
			t.Fatalf("PurgeDue before the window ended = %d, %v", n, err)
		}
		e.describe(t, "d")
		e.clock.Advance(time.Second)
		if n, err := e.svc.PurgeDue(e.ctx); err != nil || n != 1 {
			t.Fatalf("PurgeDue at the end of the window = %d, %v; want 1", n, err)
		}
		_, err = e.svc.DescribeSecret(e.ctx, "d")
		wantErr(t, err, rotor.ENOTFOUND, msgNotFound)
		if n, err := e.svc.PurgeDue(e.ctx); err != nil || n != 0 {
			t.Fatalf("second PurgeDue = %d, %v", n, err)
		}
		if again := e.create(t, "d", "v"); again.ARN == r.ARN {
			t.Fatalf("re-created secret reuses ARN")
		}
	})

	t.Run("DefaultWindow30Days", func(t *testing.T) {
		e := newEnv(t)
		e.create(t, "d", "v0")
		out, err := e.svc.DeleteSecret(e.ctx, rotor.DeleteSecretInput{SecretID: "d"})
		if err != nil {
			t.Fatal(err)
		}
		if want := e.clock.Now().Add(30 * 24 * time.Hour); !out.DeletionDate.Equal(want) {
			t.Fatalf("DeletionDate = %v, want %v", out.DeletionDate, want)
		}
	})

	t.Run("Restore", func(t *testing.T) {
		e := newEnv(t)
		r := e.create(t, "d", "v0")
		if _, err := e.svc.DeleteSecret(e.ctx, rotor.DeleteSecretInput{SecretID: "d"}); err != nil {
			t.Fatal(err)
		}
		ref, err := e.svc.RestoreSecret(e.ctx, "d")
		if err != nil {
			t.Fatal(err)
		}
		wantEqual(t, "ref", *ref, rotor.SecretRef{ARN: r.ARN, Name: "d"})
		if d := e.describe(t, "d"); !d.DeletedDate.IsZero() {
			t.Fatalf("DeletedDate = %v after restore", d.DeletedDate)
		}
		if got := e.current(t, "d"); got != "v0" {
			t.Fatalf("value = %q", got)
		}
		e.clock.Advance(31 * 24 * time.Hour)
		if n, err := e.svc.PurgeDue(e.ctx); err != nil || n != 0 {
			t.Fatalf("PurgeDue after restore = %d, %v", n, err)
		}
		// Restoring a live secret is a no-op success.
		before := e.snapshot(t, "d")
		if _, err := e.svc.RestoreSecret(e.ctx, "d"); err != nil {
			t.Fatal(err)
		}
		wantEqual(t, "state", e.snapshot(t, "d"), before)
		_, err = e.svc.RestoreSecret(e.ctx, "nope")
		wantErr(t, err, rotor.ENOTFOUND, msgNotFound)
	})

	t.Run("Force", func(t *testing.T) {
		e := newEnv(t)
		r := e.create(t, "d", "v0")
		e.current(t, "d") // warm the cache
		out, err := e.svc.DeleteSecret(e.ctx, rotor.DeleteSecretInput{SecretID: "d", ForceDelete: true})
		if err != nil {
			t.Fatal(err)
		}
		wantEqual(t, "result", *out, rotor.DeleteSecretOutput{ARN: r.ARN, Name: "d", DeletionDate: e.clock.Now()})
		_, err = e.svc.GetSecretValue(e.ctx, rotor.GetSecretValueInput{SecretID: "d"})
		wantErr(t, err, rotor.ENOTFOUND, msgNotFound)
	})

	t.Run("ForceScheduled", func(t *testing.T) {
		e := newEnv(t)
		e.create(t, "d", "v0")
		if _, err := e.svc.DeleteSecret(e.ctx, rotor.DeleteSecretInput{SecretID: "d"}); err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.DeleteSecret(e.ctx, rotor.DeleteSecretInput{SecretID: "d", ForceDelete: true}); err != nil {
			t.Fatal(err)
		}
		_, err := e.svc.DescribeSecret(e.ctx, "d")
		wantErr(t, err, rotor.ENOTFOUND, msgNotFound)
	})

	t.Run("ForceUnknown", func(t *testing.T) {
		e := newEnv(t)
		out, err := e.svc.DeleteSecret(e.ctx, rotor.DeleteSecretInput{SecretID: "never", ForceDelete: true})
		if err != nil {
			t.Fatal(err)
		}
		wantEqual(t, "Name", out.Name, "never")
		wantEqual(t, "ARN", out.ARN, "arn:aws:secretsmanager:us-east-1:123456789012:secret:never")
		_, err = e.svc.DeleteSecret(e.ctx, rotor.DeleteSecretInput{SecretID: "never"})
		wantErr(t, err, rotor.ENOTFOUND, msgNotFound)
	})

	for name, tc := range map[string]struct {
		in  rotor.DeleteSecretInput
		msg string
	}{
		"ErrWindowTooShort": {rotor.DeleteSecretInput{SecretID: "d", RecoveryWindowDays: 6}, "The RecoveryWindowInDays value must be between 7 and 30 days (inclusive)."},
		"ErrWindowTooLong":  {rotor.DeleteSecretInput{SecretID: "d", RecoveryWindowDays: 31}, "The RecoveryWindowInDays value must be between 7 and 30 days (inclusive)."},
		"ErrWindowNegative": {rotor.DeleteSecretInput{SecretID: "d", RecoveryWindowDays: -1}, "The RecoveryWindowInDays value must be between 7 and 30 days (inclusive)."},
		"ErrForceAndWindow": {rotor.DeleteSecretInput{SecretID: "d", RecoveryWindowDays: 7, ForceDelete: true}, "You can't use ForceDeleteWithoutRecovery in conjunction with RecoveryWindowInDays."},
	} {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t)
			e.create(t, "d", "v0")
			before := e.snapshot(t, "d")
			_, err := e.svc.DeleteSecret(e.ctx, tc.in)
			wantErr(t, err, rotor.EINVALID, tc.msg)
			wantEqual(t, "state", e.snapshot(t, "d"), before)
		})
	}
}
