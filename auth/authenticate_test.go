package auth_test

import (
	"context"
	"net/http"
	"reflect"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/rotorhq/rotor"
	"github.com/rotorhq/rotor/auth"
	"github.com/rotorhq/rotor/envelope"
)

func TestAuthenticate(t *testing.T) {
	e := newEnv(t)
	t.Run("OK", func(t *testing.T) {
		r := e.call(t, creds(e.admin), "eu-west-1")
		wantOK(t, r, auth.BootstrapIdentity)
		if r.Role != rotor.RoleAdmin || r.AccessKeyID != e.admin.AccessKeyID || r.Region != "eu-west-1" ||
			r.Service != "secretsmanager" || !r.Expires.IsZero() {
			t.Fatalf("Authentication=%+v, want admin key %s in eu-west-1 for secretsmanager without expiry", r, e.admin.AccessKeyID)
		}
	})
	t.Run("ErrWrongSecret", func(t *testing.T) {
		c := creds(e.admin)
		c.SecretAccessKey = c.SecretAccessKey[:39] + "x"
		if c.SecretAccessKey == e.admin.SecretAccessKey {
			c.SecretAccessKey = c.SecretAccessKey[:39] + "y"
		}
		wantFail(t, e.call(t, c, testRegion), rotor.EAUTHSIGNATURE, "")
	})
	t.Run("ErrUnknownKey", func(t *testing.T) {
		c := aws.Credentials{AccessKeyID: "AKIAAAAAAAAAAAAAAAAA", SecretAccessKey: e.admin.SecretAccessKey}
		wantFail(t, e.call(t, c, testRegion), rotor.EAUTHUNKNOWN, msgInvalid)
	})
	t.Run("ErrMalformedKeyID", func(t *testing.T) {
		before := e.store.transactions()
		for _, id := range []string{"AKIAshort", "AKIAlowercaselower00", "XKIAAAAAAAAAAAAAAAAA", "AKIAAAAAAAAAAAAAAAAAA"} {
			c := aws.Credentials{AccessKeyID: id, SecretAccessKey: e.admin.SecretAccessKey}
			wantFail(t, e.call(t, c, testRegion), rotor.EAUTHUNKNOWN, msgInvalid)
		}
		if n := e.store.transactions() - before; n != 0 {
			t.Fatalf("malformed key ids ran %d store transactions, want 0", n)
		}
	})
	t.Run("ErrUnservedRegion", func(t *testing.T) {
		wantFail(t, e.call(t, creds(e.admin), "ap-south-7"), rotor.EAUTHSIGNATURE,
			"Credential should be scoped to a valid region, not 'ap-south-7'.")
	})
	t.Run("ErrLongTermKeyWithSessionToken", func(t *testing.T) {
		c := creds(e.admin)
		c.SessionToken = "not-issued-by-rotor"
		wantFail(t, e.call(t, c, testRegion), rotor.EAUTHUNKNOWN, msgInvalid)
	})
	t.Run("ErrMissingSignature", func(t *testing.T) {
		r := e.callWith(t, creds(e.admin), testRegion, func(r *http.Request) { r.Header.Del("Authorization") })
		wantFail(t, r, rotor.EAUTHMISSING, "")
	})
	t.Run("ErrTamperedHeader", func(t *testing.T) {
		r := e.callWith(t, creds(e.admin), testRegion, func(r *http.Request) { r.Header.Set("X-Amz-Target", "secretsmanager.DeleteSecret") })
		wantFail(t, r, rotor.EAUTHSIGNATURE, "")
	})
}

func TestAuthenticateAnyRegionWhenNoneConfigured(t *testing.T) {
	e := newEnvRegions(t, nil)
	wantOK(t, e.call(t, creds(e.admin), "ap-south-7"), auth.BootstrapIdentity)
}

func TestAuthenticateKeyStatusChanges(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.spareAdminKey(t) // so the bootstrap key is not the last admin key
	c := creds(e.admin)
	wantOK(t, e.call(t, c, testRegion), auth.BootstrapIdentity) // warm the cache

	if err := e.svc.UpdateAccessKey(ctx, e.admin.AccessKeyID, rotor.KeyInactive); err != nil {
		t.Fatal(err)
	}
	wantFail(t, e.call(t, c, testRegion), rotor.EAUTHUNKNOWN, msgInvalid)
	wantFail(t, e.call(t, c, testRegion), rotor.EAUTHUNKNOWN, msgInvalid) // inactive state cached too

	if err := e.svc.UpdateAccessKey(ctx, e.admin.AccessKeyID, rotor.KeyActive); err != nil {
		t.Fatal(err)
	}
	wantOK(t, e.call(t, c, testRegion), auth.BootstrapIdentity)

	if err := e.svc.DeleteAccessKey(ctx, e.admin.AccessKeyID); err != nil {
		t.Fatal(err)
	}
	wantFail(t, e.call(t, c, testRegion), rotor.EAUTHUNKNOWN, msgInvalid)
}

func TestAuthenticateDeletedIdentity(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	if _, err := e.svc.CreateIdentity(ctx, "bob", rotor.RoleReadOnly); err != nil {
		t.Fatal(err)
	}
	k, err := e.svc.CreateAccessKey(ctx, "bob")
	if err != nil {
		t.Fatal(err)
	}
	r := e.call(t, creds(k), testRegion)
	wantOK(t, r, "bob")
	if r.Role != rotor.RoleReadOnly {
		t.Fatalf("Role=%q, want %q", r.Role, rotor.RoleReadOnly)
	}
	if err := e.svc.DeleteIdentity(ctx, "bob"); err != nil {
		t.Fatal(err)
	}
	wantFail(t, e.call(t, creds(k), testRegion), rotor.EAUTHUNKNOWN, msgInvalid)
	wantOK(t, e.call(t, creds(e.admin), testRegion), auth.BootstrapIdentity)
}

// TestAuthenticateCache checks that a warm request reads nothing from the
// store, and decrypts nothing: the stored secret is made undecryptable and
// the cached key still works until a change through the Service drops it.
func TestAuthenticateCache(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	c := creds(e.admin)
	wantOK(t, e.call(t, c, testRegion), auth.BootstrapIdentity)

	before := e.store.transactions()
	for range 20 {
		wantOK(t, e.call(t, c, testRegion), auth.BootstrapIdentity)
	}
	if n := e.store.transactions() - before; n != 0 {
		t.Fatalf("warm requests ran %d store transactions, want 0", n)
	}

	// Break the stored wrapped data key (same ciphertext, garbage wrapping).
	err := e.store.Update(ctx, func(tx rotor.Tx) error {
		rec, err := tx.AccessKey(e.admin.AccessKeyID)
		if err != nil {
			return err
		}
		broken := rec.Secret
		broken.WrappedKey = make([]byte, len(rec.Secret.WrappedKey))
		return tx.ReplaceSealed(rotor.SealedRef{Kind: rotor.SealedAccessKey, ID: rec.AccessKeyID, Sealed: rec.Secret}, broken)
	})
	if err != nil {
		t.Fatal(err)
	}
	wantOK(t, e.call(t, c, testRegion), auth.BootstrapIdentity)

	// A change through the Service drops the entry: the next request
	// reads the store again and cannot decrypt the broken secret.
	if err := e.svc.UpdateAccessKey(ctx, e.admin.AccessKeyID, rotor.KeyActive); err != nil {
		t.Fatal(err)
	}
	before = e.store.views.Load()
	wantFail(t, e.call(t, c, testRegion), rotor.EINTERNAL, "")
	if e.store.views.Load() == before {
		t.Fatal("request after invalidation read nothing from the store")
	}
}

// TestAuthenticateInvalidationRace toggles a key's status while requests
// run; once the final deactivation returns, the key must be refused.
func TestAuthenticateInvalidationRace(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.spareAdminKey(t) // so the bootstrap key is not the last admin key
	c := creds(e.admin)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				r := e.call(t, c, testRegion)
				if r.Code != "" && r.Code != rotor.EAUTHUNKNOWN {
					t.Errorf("Code=%q (%s), want success or %q", r.Code, r.Message, rotor.EAUTHUNKNOWN)
				}
			}
		})
	}
	for i := range 20 {
		status := rotor.KeyActive
		if i%2 == 1 {
			status = rotor.KeyInactive
		}
		if err := e.svc.UpdateAccessKey(ctx, e.admin.AccessKeyID, status); err != nil {
			t.Error(err)
		}
	}
	close(stop)
	wg.Wait()
	// The last change was to Inactive.
	wantFail(t, e.call(t, c, testRegion), rotor.EAUTHUNKNOWN, msgInvalid)
}

func TestTemporaryCredentials(t *testing.T) {
	e := newEnv(t)
	const arn = "arn:aws:secretsmanager:us-east-1:000000000000:secret:db-AbCdEf"
	p := rotor.Principal{Identity: "rotation-db", Role: rotor.RoleScoped, Scope: rotor.RotationScope(arn, "")}
	id, secret, token, err := e.svc.IssueTemporary(p, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^ASIA[A-Z0-9]{16}$`).MatchString(id) {
		t.Fatalf("access key id %q, want ASIA + 16 upper-case letters or digits", id)
	} else if len(secret) != 40 || token == "" {
		t.Fatalf("secret of %d characters and token %q, want 40 characters and a token", len(secret), token)
	}
	c := aws.Credentials{AccessKeyID: id, SecretAccessKey: secret, SessionToken: token}

	t.Run("OK", func(t *testing.T) {
		r := e.call(t, c, testRegion)
		wantOK(t, r, "rotation-db")
		if r.Role != rotor.RoleScoped || r.AccessKeyID != id || !reflect.DeepEqual(r.Scope, rotor.RotationScope(arn, "")) ||
			!r.Expires.Equal(e.clock.Now().Add(time.Minute)) {
			t.Fatalf("Authentication=%+v, want scoped %s on %s expiring in 1m", r, id, arn)
		}
	})
	t.Run("ErrNoToken", func(t *testing.T) {
		noToken := c
		noToken.SessionToken = ""
		wantFail(t, e.call(t, noToken, testRegion), rotor.EAUTHUNKNOWN, msgInvalid)
	})
	t.Run("ErrWrongToken", func(t *testing.T) {
		wrong := c
		wrong.SessionToken = token[:len(token)-1] + "A"
		if wrong.SessionToken == token {
			wrong.SessionToken = token[:len(token)-1] + "B"
		}
		wantFail(t, e.call(t, wrong, testRegion), rotor.EAUTHUNKNOWN, msgInvalid)
	})
	t.Run("ErrWrongSecret", func(t *testing.T) {
		wrong := c
		wrong.SecretAccessKey = e.admin.SecretAccessKey
		wantFail(t, e.call(t, wrong, testRegion), rotor.EAUTHSIGNATURE, "")
	})
	t.Run("ErrExpired", func(t *testing.T) {
		e.clock.Advance(time.Minute - time.Second)
		wantOK(t, e.call(t, c, testRegion), "rotation-db")
		e.clock.Advance(time.Second)
		wantFail(t, e.call(t, c, testRegion), rotor.EAUTHEXPIRED, msgExpired)
	})
}

func TestTemporaryCredentialsRevoke(t *testing.T) {
	e := newEnv(t)
	p := rotor.Principal{Identity: "ops", Role: rotor.RoleReadOnly}
	id, secret, token, err := e.svc.IssueTemporary(p, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	other, otherSecret, otherToken, err := e.svc.IssueTemporary(p, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	c := aws.Credentials{AccessKeyID: id, SecretAccessKey: secret, SessionToken: token}
	c2 := aws.Credentials{AccessKeyID: other, SecretAccessKey: otherSecret, SessionToken: otherToken}
	wantOK(t, e.call(t, c, testRegion), "ops")
	e.svc.Revoke(id)
	wantFail(t, e.call(t, c, testRegion), rotor.EAUTHUNKNOWN, msgInvalid)
	wantOK(t, e.call(t, c2, testRegion), "ops")
}

// TestTemporaryPrincipal: Temporary returns the principal issued — scope
// compiled, key id and ARN set — and nothing once revoked.
func TestTemporaryPrincipal(t *testing.T) {
	e := newEnv(t)
	scope := rotor.RotationScope("arn:aws:secretsmanager:us-east-1:000000000000:secret:a-AbCdEf", "")
	id, _, _, err := e.svc.IssueTemporary(rotor.Principal{Identity: "rotation/r1", Role: rotor.RoleScoped, Scope: scope}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	p, ok := e.svc.Temporary(id)
	if !ok || p.AccessKeyID != id || p.ARN == "" || p.Policies == nil || len(p.Scope) != len(scope) {
		t.Fatalf("Temporary(%s) = %+v, %v; want the issued principal with its compiled scope", id, p, ok)
	}
	e.svc.Revoke(id)
	if _, ok := e.svc.Temporary(id); ok {
		t.Fatal("Temporary after Revoke: still found")
	}
}

func TestTemporaryCredentialsNeverStored(t *testing.T) {
	e := newEnv(t)
	before := e.store.transactions()
	id, secret, token, err := e.svc.IssueTemporary(rotor.Principal{Identity: "x", Role: rotor.RoleAdmin}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	wantOK(t, e.call(t, aws.Credentials{AccessKeyID: id, SecretAccessKey: secret, SessionToken: token}, testRegion), "x")
	if n := e.store.transactions() - before; n != 0 {
		t.Fatalf("issuing and using temporary credentials ran %d store transactions, want 0", n)
	}
}

// TestTemporaryCredentialsForgotten checks that credentials long expired
// are dropped from memory when new ones are issued.
func TestTemporaryCredentialsForgotten(t *testing.T) {
	e := newEnv(t)
	p := rotor.Principal{Identity: "x", Role: rotor.RoleReadOnly}
	id, secret, token, err := e.svc.IssueTemporary(p, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	c := aws.Credentials{AccessKeyID: id, SecretAccessKey: secret, SessionToken: token}
	e.clock.Advance(2 * time.Hour)
	wantFail(t, e.call(t, c, testRegion), rotor.EAUTHEXPIRED, msgExpired)
	if _, _, _, err := e.svc.IssueTemporary(p, time.Minute); err != nil {
		t.Fatal(err)
	}
	wantFail(t, e.call(t, c, testRegion), rotor.EAUTHUNKNOWN, msgInvalid)
}

func TestTemporaryCredentialsRevokedWithIdentity(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	if _, err := e.svc.CreateIdentity(ctx, "carol", rotor.RoleReadOnly); err != nil {
		t.Fatal(err)
	}
	id, secret, token, err := e.svc.IssueTemporary(rotor.Principal{Identity: "carol", Role: rotor.RoleReadOnly}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	c := aws.Credentials{AccessKeyID: id, SecretAccessKey: secret, SessionToken: token}
	wantOK(t, e.call(t, c, testRegion), "carol")
	if err := e.svc.DeleteIdentity(ctx, "carol"); err != nil {
		t.Fatal(err)
	}
	wantFail(t, e.call(t, c, testRegion), rotor.EAUTHUNKNOWN, msgInvalid)
}

func TestIssueTemporaryErrors(t *testing.T) {
	e := newEnv(t)
	tests := map[string]struct {
		p   rotor.Principal
		ttl time.Duration
	}{
		"ErrZeroTTL":     {rotor.Principal{Identity: "x", Role: rotor.RoleScoped}, 0},
		"ErrNegativeTTL": {rotor.Principal{Identity: "x", Role: rotor.RoleAdmin}, -time.Second},
		"ErrNoRole":      {rotor.Principal{Identity: "x"}, time.Minute},
		"ErrUnknownRole": {rotor.Principal{Identity: "x", Role: "root"}, time.Minute},
		"ErrNoIdentity":  {rotor.Principal{Role: rotor.RoleScoped}, time.Minute},
		"ErrScopeOnRole": {rotor.Principal{Identity: "x", Role: rotor.RoleReadOnly, Scope: rotor.RotationScope("arn:x", "")}, time.Minute},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			id, secret, token, err := e.svc.IssueTemporary(tt.p, tt.ttl)
			wantCode(t, err, rotor.EINVALID)
			if id != "" || secret != "" || token != "" {
				t.Fatalf("IssueTemporary returned credentials %q/%q/%q with an error", id, secret, token)
			}
		})
	}
}

func TestBootstrap(t *testing.T) {
	e := newEnv(t) // bootstraps once
	ctx := context.Background()
	k := e.admin
	if !regexp.MustCompile(`^AKIA[A-Z0-9]{16}$`).MatchString(k.AccessKeyID) {
		t.Fatalf("AccessKeyID=%q, want AKIA + 16 upper-case letters or digits", k.AccessKeyID)
	} else if !regexp.MustCompile(`^[A-Za-z0-9+/]{40}$`).MatchString(k.SecretAccessKey) {
		t.Fatalf("secret of %d characters is not 40 base64 characters", len(k.SecretAccessKey))
	} else if k.Identity != auth.BootstrapIdentity || k.Status != rotor.KeyActive {
		t.Fatalf("key=%+v, want active key of %s", k.AccessKeyInfo, auth.BootstrapIdentity)
	}

	// Further calls, even concurrent ones, create nothing.
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			if k, err := e.svc.Bootstrap(ctx); err != nil || k != nil {
				t.Errorf("second Bootstrap = %v, %v, want nil, nil", k, err)
			}
		})
	}
	wg.Wait()
	ids, err := e.svc.ListIdentities(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(ids) != 1 || ids[0].Name != auth.BootstrapIdentity || ids[0].Role != rotor.RoleAdmin ||
		len(ids[0].AccessKeys) != 1 || ids[0].AccessKeys[0].AccessKeyID != k.AccessKeyID {
		t.Fatalf("identities=%+v, want only admin with key %s", ids, k.AccessKeyID)
	}

	// The secret is stored sealed, bound to its key id.
	var rec *rotor.AccessKeyRecord
	if err := e.store.View(ctx, func(tx rotor.Tx) (err error) { rec, err = tx.AccessKey(k.AccessKeyID); return }); err != nil {
		t.Fatal(err)
	}
	plain, err := e.keyring.Open(rec.Secret, envelope.AccessKeyAAD(k.AccessKeyID))
	if err != nil || string(plain) != k.SecretAccessKey {
		t.Fatalf("stored secret opens to %d bytes, %v; want the key's secret", len(plain), err)
	}
	if _, err := e.keyring.Open(rec.Secret, envelope.AccessKeyAAD("AKIAOTHEROTHEROTHER0")); err == nil {
		t.Fatal("stored secret opens with another key id's AAD")
	}
}

func TestBootstrapConcurrentFirstStart(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	// No identity left (the API refuses to delete the last admin; a store
	// emptied by hand is what a first start sees).
	if err := e.store.Update(ctx, func(tx rotor.Tx) error { return tx.DeleteIdentity(auth.BootstrapIdentity) }); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var created []*rotor.AccessKey
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			k, err := e.svc.Bootstrap(ctx)
			if err != nil {
				t.Error(err)
			}
			if k != nil {
				mu.Lock()
				created = append(created, k)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(created) != 1 {
		t.Fatalf("%d Bootstrap calls created a key, want exactly 1", len(created))
	}
	wantOK(t, e.call(t, creds(created[0]), testRegion), auth.BootstrapIdentity)
}
