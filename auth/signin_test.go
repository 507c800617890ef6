package auth_test

import (
	"context"
	"testing"
	"time"

	"github.com/rotorhq/rotor"
	"github.com/rotorhq/rotor/auth"
)

// TestVerifySecret: the right secret of an active key signs in as its
// identity; a wrong secret, an unknown key, a deactivated and a deleted key
// and temporary credentials are refused with the same error, and
// ActivePrincipal follows the key's state at once.
func TestVerifySecret(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	spare := e.spareAdminKey(t)
	if _, err := e.svc.CreateIdentity(ctx, "reader", rotor.RoleReadOnly); err != nil {
		t.Fatal(err)
	}
	reader, err := e.svc.CreateAccessKey(ctx, "reader")
	if err != nil {
		t.Fatal(err)
	}

	p, err := e.svc.VerifySecret(ctx, reader.AccessKeyID, reader.SecretAccessKey)
	if err != nil || p.Identity != "reader" || p.Role != rotor.RoleReadOnly || p.AccessKeyID != reader.AccessKeyID {
		t.Fatalf("VerifySecret(reader) = %+v, %v; want reader, read-only", p, err)
	}
	refused := func(what string, err error) {
		t.Helper()
		if rotor.ErrorCode(err) != rotor.EAUTHUNKNOWN {
			t.Errorf("%s: error = %v, want EAUTHUNKNOWN", what, err)
		}
	}
	_, err = e.svc.VerifySecret(ctx, reader.AccessKeyID, reader.SecretAccessKey+"x")
	refused("wrong secret", err)
	_, err = e.svc.VerifySecret(ctx, reader.AccessKeyID, "")
	refused("empty secret", err)
	_, err = e.svc.VerifySecret(ctx, "AKIAUNKNOWNUNKNOWN00", reader.SecretAccessKey)
	refused("unknown key", err)
	tmpID, tmpSecret, _, err := e.svc.IssueTemporary(rotor.Principal{Identity: "admin", Role: rotor.RoleAdmin}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.svc.VerifySecret(ctx, tmpID, tmpSecret)
	refused("temporary credentials", err)

	if _, err := e.svc.ActivePrincipal(ctx, reader.AccessKeyID); err != nil {
		t.Fatalf("ActivePrincipal(active) = %v", err)
	}
	if err := e.svc.UpdateAccessKey(ctx, reader.AccessKeyID, rotor.KeyInactive); err != nil {
		t.Fatal(err)
	}
	_, err = e.svc.ActivePrincipal(ctx, reader.AccessKeyID)
	refused("ActivePrincipal(deactivated)", err)
	_, err = e.svc.VerifySecret(ctx, reader.AccessKeyID, reader.SecretAccessKey)
	refused("VerifySecret(deactivated)", err)

	if err := e.svc.DeleteAccessKey(ctx, spare.AccessKeyID); err != nil {
		t.Fatal(err)
	}
	_, err = e.svc.ActivePrincipal(ctx, spare.AccessKeyID)
	refused("ActivePrincipal(deleted)", err)
	if p, err := e.svc.VerifySecret(ctx, e.admin.AccessKeyID, e.admin.SecretAccessKey); err != nil || p.Identity != auth.BootstrapIdentity {
		t.Errorf("VerifySecret(admin) = %+v, %v", p, err)
	}
}
