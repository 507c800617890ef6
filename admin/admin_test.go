package admin_test

import (
	"context"
	"strings"
	"testing"

	"github.com/rotorhq/rotor"
	"github.com/rotorhq/rotor/auth"
)

// TestAuthorization calls every method as callers that are not admins and
// checks each is refused before it changes anything.
func TestAuthorization(t *testing.T) {
	e := newEnv(t)
	oldKey := e.keyring.ActiveID()
	calls := map[string]func(ctx context.Context) error{
		"CreateIdentity": func(ctx context.Context) error {
			_, err := e.admin.CreateIdentity(ctx, "mallory", rotor.RoleAdmin)
			return err
		},
		"ListIdentities": func(ctx context.Context) error { _, err := e.admin.ListIdentities(ctx); return err },
		"DeleteIdentity": func(ctx context.Context) error { return e.admin.DeleteIdentity(ctx, auth.BootstrapIdentity) },
		"CreateAccessKey": func(ctx context.Context) error {
			_, err := e.admin.CreateAccessKey(ctx, auth.BootstrapIdentity)
			return err
		},
		"UpdateAccessKey": func(ctx context.Context) error {
			return e.admin.UpdateAccessKey(ctx, e.adminKey.AccessKeyID, rotor.KeyInactive)
		},
		"DeleteAccessKey": func(ctx context.Context) error { return e.admin.DeleteAccessKey(ctx, e.adminKey.AccessKeyID) },
		"ListKeys":        func(ctx context.Context) error { _, err := e.admin.ListKeys(ctx); return err },
		"RotateKeys":      func(ctx context.Context) error { _, err := e.admin.RotateKeys(ctx); return err },
		"RetireKey":       func(ctx context.Context) error { return e.admin.RetireKey(ctx, oldKey) },
		"Backup":          func(ctx context.Context) error { _, err := e.admin.Backup(ctx, "denied.db"); return err },
		"DownloadBackup": func(ctx context.Context) error {
			snap, err := e.admin.DownloadBackup(ctx)
			if err == nil {
				snap.Close()
			}
			return err
		},
		"PutIdentityPolicy": func(ctx context.Context) error {
			return e.admin.PutIdentityPolicy(ctx, auth.BootstrapIdentity, `{"Version":"2012-10-17","Statement":{"Effect":"Deny","Action":"*","Resource":"*"}}`)
		},
		"GetIdentityPolicy": func(ctx context.Context) error {
			_, err := e.admin.GetIdentityPolicy(ctx, auth.BootstrapIdentity)
			return err
		},
		"DeleteIdentityPolicy": func(ctx context.Context) error { return e.admin.DeleteIdentityPolicy(ctx, auth.BootstrapIdentity) },
	}
	callers := map[string]struct {
		ctx  context.Context
		code string
	}{
		"ReadOnly": {as("reader", rotor.RoleReadOnly), rotor.EDENIED},
		"Scoped":   {as("rotation", rotor.RoleScoped), rotor.EDENIED},
		"NoRole":   {as("app1", rotor.RoleNone), rotor.EDENIED},
		"NoCaller": {context.Background(), rotor.EAUTHMISSING},
	}
	for method, call := range calls {
		for who, c := range callers {
			t.Run(method+"/"+who, func(t *testing.T) {
				err := call(c.ctx)
				wantCode(t, err, c.code)
				if c.code == rotor.EDENIED {
					if msg := rotor.ErrorMessage(err); !strings.Contains(msg, "rotor:"+method) {
						t.Fatalf("Message=%q, want it to name rotor:%s", msg, method)
					}
				}
			})
		}
	}

	ids, err := e.admin.ListIdentities(adminCtx())
	if err != nil {
		t.Fatal(err)
	}
	if len(ids) != 1 || len(ids[0].AccessKeys) != 1 || ids[0].AccessKeys[0].Status != rotor.KeyActive {
		t.Fatalf("identities=%+v, want the admin with its one active key, unchanged", ids)
	}
	if keys := e.keyring.Keys(); len(keys) != 1 || keys[0].ID != oldKey {
		t.Fatalf("keyring=%+v, want only %s", keys, oldKey)
	}
	// Nothing was written: no backup directory, no scratch directory.
	e.noBackupFiles(t)
	if _, err := e.admin.GetIdentityPolicy(adminCtx(), auth.BootstrapIdentity); rotor.ErrorCode(err) != rotor.ENOTFOUND {
		t.Fatalf("denied PutIdentityPolicy stored a policy: %v", err)
	}
}

func TestIdentityPolicies(t *testing.T) {
	e := newEnv(t)
	ctx := adminCtx()
	if _, err := e.admin.CreateIdentity(ctx, "app1", rotor.RoleNone); err != nil {
		t.Fatal(err)
	}
	doc := `{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": "*"}}`
	if err := e.admin.PutIdentityPolicy(ctx, "app1", doc); err != nil {
		t.Fatal(err)
	}
	if got, err := e.admin.GetIdentityPolicy(ctx, "app1"); err != nil || got != doc {
		t.Fatalf("GetIdentityPolicy = %q, %v", got, err)
	}
	wantCode(t, e.admin.PutIdentityPolicy(ctx, "app1", `{"Statement":`), rotor.EPOLICY)
	if got, _ := e.admin.GetIdentityPolicy(ctx, "app1"); got != doc {
		t.Fatalf("a refused document replaced the stored one: %q", got)
	}
	wantCode(t, e.admin.PutIdentityPolicy(ctx, "nobody", doc), rotor.ENOTFOUND)
	if err := e.admin.DeleteIdentityPolicy(ctx, "app1"); err != nil {
		t.Fatal(err)
	}
	wantCode(t, e.admin.DeleteIdentityPolicy(ctx, "app1"), rotor.ENOTFOUND)
}

func TestIdentitiesAndKeys(t *testing.T) {
	e := newEnv(t)
	ctx := adminCtx()
	srv := server(t, e.auth)

	id, err := e.admin.CreateIdentity(ctx, "alice", rotor.RoleReadOnly)
	if err != nil {
		t.Fatal(err)
	}
	if id.Name != "alice" || id.Role != rotor.RoleReadOnly {
		t.Fatalf("identity=%+v, want read-only alice", id)
	}
	_, err = e.admin.CreateIdentity(ctx, "alice", rotor.RoleAdmin)
	wantCode(t, err, rotor.EEXISTS)
	_, err = e.admin.CreateIdentity(ctx, "bad name", rotor.RoleAdmin)
	wantCode(t, err, rotor.EINVALID)

	var keys []*rotor.AccessKey
	for range rotor.MaxAccessKeysPerIdentity {
		k, err := e.admin.CreateAccessKey(ctx, "alice")
		if err != nil {
			t.Fatal(err)
		}
		if got := call(t, srv, k); got != "" {
			t.Fatalf("new key refused: %s", got)
		}
		keys = append(keys, k)
	}
	_, err = e.admin.CreateAccessKey(ctx, "alice") // the third
	wantCode(t, err, rotor.ELIMIT)

	ids, err := e.admin.ListIdentities(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(ids) != 2 || ids[1].Name != "alice" || len(ids[1].AccessKeys) != 2 {
		t.Fatalf("identities=%+v, want admin and alice with 2 keys", ids)
	}

	if err := e.admin.UpdateAccessKey(ctx, keys[0].AccessKeyID, rotor.KeyInactive); err != nil {
		t.Fatal(err)
	}
	if got := call(t, srv, keys[0]); !strings.HasPrefix(got, rotor.EAUTHUNKNOWN) {
		t.Fatalf("deactivated key: %q, want %s", got, rotor.EAUTHUNKNOWN)
	}
	wantCode(t, e.admin.UpdateAccessKey(ctx, keys[0].AccessKeyID, "Revoked"), rotor.EINVALID)
	if err := e.admin.DeleteAccessKey(ctx, keys[1].AccessKeyID); err != nil {
		t.Fatal(err)
	}
	if got := call(t, srv, keys[1]); !strings.HasPrefix(got, rotor.EAUTHUNKNOWN) {
		t.Fatalf("deleted key: %q, want %s", got, rotor.EAUTHUNKNOWN)
	}
	wantCode(t, e.admin.DeleteAccessKey(ctx, keys[1].AccessKeyID), rotor.ENOTFOUND)

	if err := e.admin.DeleteIdentity(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	wantCode(t, e.admin.DeleteIdentity(ctx, "alice"), rotor.ENOTFOUND)
	if ids, err = e.admin.ListIdentities(ctx); err != nil || len(ids) != 1 {
		t.Fatalf("identities=%+v, %v; want only admin", ids, err)
	}
}

func TestDeleteIdentitySelf(t *testing.T) {
	e := newEnv(t)
	if _, err := e.admin.CreateIdentity(adminCtx(), "ops", rotor.RoleAdmin); err != nil {
		t.Fatal(err)
	}
	wantCode(t, e.admin.DeleteIdentity(as("ops", rotor.RoleAdmin), "ops"), rotor.ESTATE)
	wantCode(t, e.admin.DeleteIdentity(adminCtx(), auth.BootstrapIdentity), rotor.ESTATE)
	ids, err := e.admin.ListIdentities(adminCtx())
	if err != nil || len(ids) != 2 {
		t.Fatalf("identities=%+v, %v; want admin and ops still there", ids, err)
	}
	// Another admin may delete it, once it is not the holder of the last
	// active admin access key.
	wantCode(t, e.admin.DeleteIdentity(as("ops", rotor.RoleAdmin), auth.BootstrapIdentity), rotor.ESTATE)
	if _, err := e.admin.CreateAccessKey(adminCtx(), "ops"); err != nil {
		t.Fatal(err)
	}
	if err := e.admin.DeleteIdentity(as("ops", rotor.RoleAdmin), auth.BootstrapIdentity); err != nil {
		t.Fatal(err)
	}
}
