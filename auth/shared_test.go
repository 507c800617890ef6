package auth_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/rotorhq/rotor"
	"github.com/rotorhq/rotor/auth"
)

// Two Services on one store stand for two servers on one database: a
// change made through one reaches the other's key cache only through
// InvalidateCache (a change feed) or the cache's maximum age.

// sharing returns an env whose Service is a second one over e's store and
// keyring, with cfg's CacheMaxAge, behind its own HTTP server.
func sharing(t *testing.T, e *env, maxAge time.Duration) *env {
	t.Helper()
	o := &env{store: e.store, keyring: e.keyring, clock: e.clock, admin: e.admin}
	o.svc = auth.New(auth.Config{Store: e.store, Keyring: e.keyring, Now: e.clock.Now, CacheMaxAge: maxAge})
	o.server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var res result
		if a, err := o.svc.Authenticate(r, body); err != nil {
			res.Code, res.Message = rotor.ErrorCode(err), rotor.ErrorMessage(err)
		} else {
			res.Identity = a.Principal.Identity
		}
		json.NewEncoder(w).Encode(res)
	}))
	t.Cleanup(o.server.Close)
	return o
}

// TestInvalidateCacheAcrossServices: a key deactivated through one service
// keeps working on the other while it is cached there, and stops at once
// after InvalidateCache.
func TestInvalidateCacheAcrossServices(t *testing.T) {
	a := newEnv(t)
	b := sharing(t, a, 0)
	spare := a.spareAdminKey(t)
	wantOK(t, b.call(t, creds(spare), testRegion), auth.BootstrapIdentity)
	if err := a.svc.UpdateAccessKey(context.Background(), spare.AccessKeyID, rotor.KeyInactive); err != nil {
		t.Fatal(err)
	}
	wantFail(t, a.call(t, creds(spare), testRegion), rotor.EAUTHUNKNOWN, msgInvalid)
	// The premise: b has the key cached and has not been told.
	wantOK(t, b.call(t, creds(spare), testRegion), auth.BootstrapIdentity)
	b.svc.InvalidateCache()
	wantFail(t, b.call(t, creds(spare), testRegion), rotor.EAUTHUNKNOWN, msgInvalid)
}

// TestAuthCacheMaxAge: with a maximum age, a key deactivated elsewhere
// stops working once its cached copy is older than that, without any
// invalidation; at one nanosecond every request reads the store.
func TestAuthCacheMaxAge(t *testing.T) {
	a := newEnv(t)
	b := sharing(t, a, time.Nanosecond)
	spare := a.spareAdminKey(t)
	wantOK(t, b.call(t, creds(spare), testRegion), auth.BootstrapIdentity)
	if err := a.svc.UpdateAccessKey(context.Background(), spare.AccessKeyID, rotor.KeyInactive); err != nil {
		t.Fatal(err)
	}
	wantFail(t, b.call(t, creds(spare), testRegion), rotor.EAUTHUNKNOWN, msgInvalid)
}
