package auth_test

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/rotorhq/rotor"
)

// adminKeys returns every access key's status by id.
func keyStatus(t *testing.T, e *env) map[string]string {
	t.Helper()
	ids, err := e.svc.ListIdentities(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, i := range ids {
		for _, k := range i.AccessKeys {
			out[k.AccessKeyID] = string(i.Role) + "/" + k.Status
		}
	}
	return out
}

func wantLastAdmin(t *testing.T, err error, what string) {
	t.Helper()
	wantCode(t, err, rotor.ESTATE)
	if msg := rotor.ErrorMessage(err); !strings.Contains(msg, "last active admin access key") || !strings.Contains(msg, "create another admin access key first") {
		t.Fatalf("%s: message %q does not say it is the last admin key and what to do", what, msg)
	}
}

// TestLastAdminKeyKept: nothing the API offers may leave the server without
// an active admin access key, and a refused change changes nothing.
func TestLastAdminKeyKept(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	adminKey := e.admin.AccessKeyID
	// A read-only identity with keys does not count.
	if _, err := e.svc.CreateIdentity(ctx, "reader", rotor.RoleReadOnly); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.CreateAccessKey(ctx, "reader"); err != nil {
		t.Fatal(err)
	}
	// Nor does an inactive second admin key.
	spare, err := e.svc.CreateAccessKey(ctx, "admin")
	if err != nil {
		t.Fatal(err)
	}
	if err := e.svc.UpdateAccessKey(ctx, spare.AccessKeyID, rotor.KeyInactive); err != nil {
		t.Fatal(err)
	}
	before := keyStatus(t, e)

	wantLastAdmin(t, e.svc.UpdateAccessKey(ctx, adminKey, rotor.KeyInactive), "deactivate")
	wantLastAdmin(t, e.svc.DeleteAccessKey(ctx, adminKey), "delete key")
	wantLastAdmin(t, e.svc.DeleteIdentity(ctx, "admin"), "delete identity")
	if got := keyStatus(t, e); len(got) != len(before) || got[adminKey] != "admin/Active" {
		t.Fatalf("keys after refusals = %v, want %v", got, before)
	}
	wantOK(t, e.call(t, creds(e.admin), testRegion), "admin")

	// What does not remove the last one is allowed: the inactive spare can
	// go, the reader can go, and once another admin holds an active key the
	// first may be deactivated and its identity deleted.
	if err := e.svc.DeleteAccessKey(ctx, spare.AccessKeyID); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.DeleteIdentity(ctx, "reader"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.CreateIdentity(ctx, "ops", rotor.RoleAdmin); err != nil {
		t.Fatal(err)
	}
	ops, err := e.svc.CreateAccessKey(ctx, "ops")
	if err != nil {
		t.Fatal(err)
	}
	if err := e.svc.UpdateAccessKey(ctx, adminKey, rotor.KeyInactive); err != nil {
		t.Fatalf("deactivate with another admin key active: %v", err)
	}
	if err := e.svc.DeleteIdentity(ctx, "admin"); err != nil {
		t.Fatalf("delete identity with another admin key active: %v", err)
	}
	wantLastAdmin(t, e.svc.DeleteIdentity(ctx, "ops"), "delete the remaining admin")
	wantOK(t, e.call(t, creds(ops), testRegion), "ops")
}

// TestLastAdminKeyConcurrent: two admins deactivating each other's (the
// last two) keys at once must not both succeed.
func TestLastAdminKeyConcurrent(t *testing.T) {
	for round := range 10 {
		e := newEnv(t)
		ctx := context.Background()
		second, err := e.svc.CreateAccessKey(ctx, "admin")
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i, id := range []string{e.admin.AccessKeyID, second.AccessKeyID} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if round%2 == 0 {
					errs[i] = e.svc.UpdateAccessKey(ctx, id, rotor.KeyInactive)
				} else {
					errs[i] = e.svc.DeleteAccessKey(ctx, id)
				}
			}()
		}
		wg.Wait()
		if (errs[0] == nil) == (errs[1] == nil) {
			t.Fatalf("round %d: errors %v, %v; want exactly one refused", round, errs[0], errs[1])
		}
		active := 0
		for _, st := range keyStatus(t, e) {
			if st == "admin/Active" {
				active++
			}
		}
		if active != 1 {
			t.Fatalf("round %d: %d active admin keys left, want 1", round, active)
		}
	}
}
