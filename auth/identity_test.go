package auth_test

import (
	"context"
	"strings"
	"testing"

	"github.com/rotorhq/rotor"
	"github.com/rotorhq/rotor/auth"
)

func TestValidIdentityName(t *testing.T) {
	tests := map[string]bool{
		"a":                     true,
		"Alice_01.ops@corp+x=y": true,
		"a,b-c":                 true,
		strings.Repeat("n", 64): true,
		"":                      false,
		strings.Repeat("n", 65): false,
		"with space":            false,
		"slash/name":            false,
		"colon:name":            false,
		"star*":                 false,
		"é":                     false,
		"tab\t":                 false,
	}
	for name, want := range tests {
		if got := auth.ValidIdentityName(name); got != want {
			t.Errorf("ValidIdentityName(%q)=%v, want %v", name, got, want)
		}
	}
}

func TestCreateIdentity(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	t.Run("OK", func(t *testing.T) {
		id, err := e.svc.CreateIdentity(ctx, "dave", rotor.RoleReadOnly)
		if err != nil {
			t.Fatal(err)
		}
		if id.Name != "dave" || id.Role != rotor.RoleReadOnly || !id.CreatedDate.Equal(e.clock.Now()) || len(id.AccessKeys) != 0 {
			t.Fatalf("identity=%+v, want read-only dave created now without keys", id)
		}
	})
	t.Run("NoRole", func(t *testing.T) {
		id, err := e.svc.CreateIdentity(ctx, "nora", rotor.RoleNone)
		if err != nil {
			t.Fatal(err)
		}
		if id.Name != "nora" || id.Role != rotor.RoleNone {
			t.Fatalf("identity=%+v, want nora without a role", id)
		}
	})
	t.Run("ErrExists", func(t *testing.T) {
		_, err := e.svc.CreateIdentity(ctx, "dave", rotor.RoleAdmin)
		wantCode(t, err, rotor.EEXISTS)
	})
	for name, tt := range map[string]struct {
		name string
		role rotor.Role
	}{
		"ErrInvalidName":  {"no spaces", rotor.RoleAdmin},
		"ErrEmptyName":    {"", rotor.RoleAdmin},
		"ErrLongName":     {strings.Repeat("x", 65), rotor.RoleAdmin},
		"ErrScopedRole":   {"erin", rotor.RoleScoped},
		"ErrUnknownRole":  {"erin", "superuser"},
		"ErrRoleCaseOnly": {"erin", "Admin"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := e.svc.CreateIdentity(ctx, tt.name, tt.role)
			wantCode(t, err, rotor.EINVALID)
		})
	}
	ids, err := e.svc.ListIdentities(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, i := range ids {
		names = append(names, i.Name)
	}
	if strings.Join(names, ",") != "admin,dave,nora" {
		t.Fatalf("identities=%v, want [admin dave nora]", names)
	}
}

func TestAccessKeys(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	if _, err := e.svc.CreateIdentity(ctx, "frank", rotor.RoleReadOnly); err != nil {
		t.Fatal(err)
	}
	var keys []*rotor.AccessKey
	for range rotor.MaxAccessKeysPerIdentity {
		k, err := e.svc.CreateAccessKey(ctx, "frank")
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k)
	}
	if keys[0].AccessKeyID == keys[1].AccessKeyID || keys[0].SecretAccessKey == keys[1].SecretAccessKey {
		t.Fatal("two keys share an id or a secret")
	}
	_, err := e.svc.CreateAccessKey(ctx, "frank")
	wantCode(t, err, rotor.ELIMIT)

	_, err = e.svc.CreateAccessKey(ctx, "nobody")
	wantCode(t, err, rotor.ENOTFOUND)
	wantCode(t, e.svc.UpdateAccessKey(ctx, keys[0].AccessKeyID, "Disabled"), rotor.EINVALID)
	wantCode(t, e.svc.UpdateAccessKey(ctx, "AKIANOSUCHKEYNOSUCHK", rotor.KeyInactive), rotor.ENOTFOUND)
	wantCode(t, e.svc.DeleteAccessKey(ctx, "AKIANOSUCHKEYNOSUCHK"), rotor.ENOTFOUND)
	wantCode(t, e.svc.DeleteIdentity(ctx, "nobody"), rotor.ENOTFOUND)

	if err := e.svc.UpdateAccessKey(ctx, keys[1].AccessKeyID, rotor.KeyInactive); err != nil {
		t.Fatal(err)
	}
	ids, err := e.svc.ListIdentities(ctx)
	if err != nil {
		t.Fatal(err)
	}
	frank := ids[1]
	status := make(map[string]string)
	for _, k := range frank.AccessKeys {
		status[k.AccessKeyID] = k.Status
	}
	if frank.Name != "frank" || len(frank.AccessKeys) != 2 ||
		status[keys[0].AccessKeyID] != rotor.KeyActive || status[keys[1].AccessKeyID] != rotor.KeyInactive {
		t.Fatalf("frank=%+v, want keys %s (Active) and %s (Inactive)", frank, keys[0].AccessKeyID, keys[1].AccessKeyID)
	}

	// Deleting a key frees a slot.
	if err := e.svc.DeleteAccessKey(ctx, keys[0].AccessKeyID); err != nil {
		t.Fatal(err)
	}
	k, err := e.svc.CreateAccessKey(ctx, "frank")
	if err != nil {
		t.Fatal(err)
	}
	wantOK(t, e.call(t, creds(k), testRegion), "frank")
	wantFail(t, e.call(t, creds(keys[0]), testRegion), rotor.EAUTHUNKNOWN, msgInvalid)
	wantFail(t, e.call(t, creds(keys[1]), testRegion), rotor.EAUTHUNKNOWN, msgInvalid)
}
