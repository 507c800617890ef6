package manager_test

import (
	"context"
	"testing"
	"time"

	"github.com/rotorhq/rotor"
	"github.com/rotorhq/rotor/manager"
)

// Two Services on one store stand for two servers on one database: a write
// through one reaches the other's cache only through InvalidateSecret (a
// change feed) or the cache's maximum age.

// TestInvalidateSecretAcrossServices: the other service serves its cached
// state until told the secret changed; InvalidateSecret with the ARN alone
// makes its next read, by name or ARN, see the write.
func TestInvalidateSecretAcrossServices(t *testing.T) {
	a := newEnv(t)
	b := newEnvSharing(t, a)
	arn := a.create(t, "shared", "v1").ARN
	if got := b.current(t, "shared"); got != "v1" {
		t.Fatalf("b reads %q, want v1", got)
	}
	a.put(t, "shared", tok(1), "v2")
	if got := b.current(t, "shared"); got != "v1" {
		// The premise: b's cache holds the secret, so without an
		// invalidation it does not see a's write.
		t.Fatalf("b reads %q before any invalidation; want its cached v1", got)
	}
	b.svc.InvalidateSecret(arn)
	if got := b.current(t, "shared"); got != "v2" {
		t.Fatalf("b reads %q after InvalidateSecret, want v2", got)
	}
	if got := b.current(t, arn); got != "v2" {
		t.Fatalf("b reads %q by ARN, want v2", got)
	}

	// Deleted and re-created under the same name on a: the new secret's
	// invalidation (b never cached its ARN) is enough for b's name lookup.
	if _, err := a.svc.DeleteSecret(a.ctx, rotor.DeleteSecretInput{SecretID: "shared", ForceDelete: true}); err != nil {
		t.Fatal(err)
	}
	re, err := a.svc.CreateSecret(a.ctx, rotor.CreateSecretInput{Name: "shared", ClientRequestToken: tok(2), Value: sv("v3")})
	if err != nil {
		t.Fatal(err)
	}
	b.svc.InvalidateSecret(re.ARN)
	if got := b.current(t, "shared"); got != "v3" {
		t.Fatalf("b reads %q after the name was re-created, want v3", got)
	}
}

// TestCacheMaxAge: with a maximum age, another service's write is seen
// without any invalidation once the cached entry is older than that; a
// maximum age of one nanosecond is a cache that never serves a hit.
func TestCacheMaxAge(t *testing.T) {
	a := newEnv(t)
	b := newEnvSharing(t, a)
	b.cfg.CacheMaxAge = time.Nanosecond
	b.svc = manager.New(b.cfg)
	a.create(t, "aged", "v1")
	if got := b.current(t, "aged"); got != "v1" {
		t.Fatalf("b reads %q, want v1", got)
	}
	a.put(t, "aged", tok(1), "v2")
	if got := b.current(t, "aged"); got != "v2" {
		t.Fatalf("b reads %q, want v2: its entry is past its maximum age", got)
	}
	if st := b.svc.CacheStats(); st.Hits != 0 {
		t.Errorf("cache hits = %d with a 1 ns maximum age, want 0", st.Hits)
	}
}

// unreachableStore is the real store whose transactions fail the way a
// database store's do while the database cannot be reached.
type unreachableStore struct{ rotor.Store }

func (unreachableStore) View(context.Context, func(rotor.Tx) error) error {
	return rotor.Errorf(rotor.EUNAVAILABLE, "The database is unavailable; try again.")
}

func (unreachableStore) Update(context.Context, func(rotor.Tx) error) error {
	return rotor.Errorf(rotor.EUNAVAILABLE, "The database is unavailable; try again.")
}

// TestStoreUnavailableIsKept: a store that cannot reach its database
// makes reads and writes fail with EUNAVAILABLE (503, which clients
// retry), not EINTERNAL.
func TestStoreUnavailableIsKept(t *testing.T) {
	e := newEnv(t)
	e.create(t, "s", "v")
	e.cfg.Store = unreachableStore{e.store}
	svc := manager.New(e.cfg)
	if _, err := svc.GetSecretValue(e.ctx, rotor.GetSecretValueInput{SecretID: "s"}); rotor.ErrorCode(err) != rotor.EUNAVAILABLE {
		t.Errorf("GetSecretValue = %v, want EUNAVAILABLE", err)
	}
	if _, err := svc.PutSecretValue(e.ctx, rotor.PutSecretValueInput{SecretID: "s", ClientRequestToken: tok(1), Value: sv("w")}); rotor.ErrorCode(err) != rotor.EUNAVAILABLE {
		t.Errorf("PutSecretValue = %v, want EUNAVAILABLE", err)
	}
}
