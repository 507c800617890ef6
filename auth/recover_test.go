package auth_test

import (
	"context"
	"testing"

	"github.com/rotorhq/rotor"
)

func TestRecoverAdmin(t *testing.T) {
	ctx := context.Background()
	t.Run("LockedOut", func(t *testing.T) {
		e := newEnv(t)
		// The bootstrap admin's two keys are inactive: nobody can sign in
		// as an admin (as after restoring an old backup whose keys are gone).
		second, err := e.svc.CreateAccessKey(ctx, "admin")
		if err != nil {
			t.Fatal(err)
		}
		if err := e.svc.UpdateAccessKey(ctx, e.admin.AccessKeyID, rotor.KeyInactive); err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.CreateIdentity(ctx, "reader", rotor.RoleReadOnly); err != nil {
			t.Fatal(err)
		}
		wantCode(t, e.svc.UpdateAccessKey(ctx, second.AccessKeyID, rotor.KeyInactive), rotor.ESTATE)

		wantCode(t, func() error { _, _, err := e.svc.RecoverAdmin(ctx, "reader"); return err }(), rotor.ESTATE)
		wantCode(t, func() error { _, _, err := e.svc.RecoverAdmin(ctx, "bad name"); return err }(), rotor.EINVALID)
		// At the limit with one inactive key: that one makes room.
		key, removed, err := e.svc.RecoverAdmin(ctx, "admin")
		if err != nil {
			t.Fatal(err)
		}
		if removed != e.admin.AccessKeyID || key.Identity != "admin" || key.Status != rotor.KeyActive {
			t.Fatalf("RecoverAdmin = %+v, removed %q; want a new active admin key replacing %s", key.AccessKeyInfo, removed, e.admin.AccessKeyID)
		}
		wantOK(t, e.call(t, creds(key), testRegion), "admin")
		wantOK(t, e.call(t, creds(second), testRegion), "admin")
		// Both keys active now: nothing to recover with this identity.
		wantCode(t, func() error { _, _, err := e.svc.RecoverAdmin(ctx, "admin"); return err }(), rotor.ESTATE)
	})
	t.Run("DropsDenyingPolicy", func(t *testing.T) {
		// An admin whose inline policy denies everything is locked out as
		// surely as one without keys: recovery removes that policy.
		e := newEnv(t)
		if err := e.svc.PutIdentityPolicy(ctx, "admin",
			`{"Version":"2012-10-17","Statement":{"Effect":"Deny","Action":"*","Resource":"*"}}`); err != nil {
			t.Fatal(err)
		}
		wantCode(t, ask(e.svc, e.principalOf(t, creds(e.admin)), rotor.AccessRequest{Action: "rotor:ListIdentities"}), rotor.EDENIED)
		key, _, err := e.svc.RecoverAdmin(ctx, "admin")
		if err != nil {
			t.Fatal(err)
		}
		wantAllowed(t, ask(e.svc, e.principalOf(t, creds(key)), rotor.AccessRequest{Action: "rotor:ListIdentities"}))
		if _, err := e.svc.GetIdentityPolicy(ctx, "admin"); rotor.ErrorCode(err) != rotor.ENOTFOUND {
			t.Fatalf("GetIdentityPolicy after recovery = %v, want ENOTFOUND", err)
		}
	})
	t.Run("NewIdentity", func(t *testing.T) {
		e := newEnv(t)
		key, removed, err := e.svc.RecoverAdmin(ctx, "break-glass")
		if err != nil || removed != "" {
			t.Fatalf("RecoverAdmin = %v, %q, %v", key, removed, err)
		}
		r := e.call(t, creds(key), testRegion)
		wantOK(t, r, "break-glass")
		if r.Role != rotor.RoleAdmin {
			t.Fatalf("role = %s, want admin", r.Role)
		}
	})
}
