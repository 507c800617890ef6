package manager_test

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/rotorhq/rotor"
	"github.com/rotorhq/rotor/manager"
)

// writerStore marks the time its Updates' functions run: inside the
// single writer.
type writerStore struct {
	rotor.Store
	inside atomic.Bool
}

func (s *writerStore) Update(ctx context.Context, fn func(rotor.Tx) error) error {
	return s.Store.Update(ctx, func(tx rotor.Tx) error {
		s.inside.Store(true)
		defer s.inside.Store(false)
		return fn(tx)
	})
}

// sealCounter counts the values sealed inside and outside the writer.
type sealCounter struct {
	manager.Keyring
	store           *writerStore
	inside, outside atomic.Int64
}

func (k *sealCounter) Seal(plaintext, aad []byte) (rotor.Sealed, error) {
	if k.store.inside.Load() {
		k.inside.Add(1)
	} else {
		k.outside.Add(1)
	}
	return k.Keyring.Seal(plaintext, aad)
}

// TestValuesSealedOutsideTheWriter checks that CreateSecret,
// PutSecretValue and UpdateSecret seal a new value before their write
// transaction (the single writer does not encrypt), once each, bound to
// the secret's ARN and the version id: each value reads back.
func TestValuesSealedOutsideTheWriter(t *testing.T) {
	var keys *sealCounter
	e := newEnv(t, func(c *manager.Config) {
		ws := &writerStore{Store: c.Store}
		keys = &sealCounter{Keyring: c.Keyring, store: ws}
		c.Store, c.Keyring = ws, keys
	})
	if _, err := e.svc.CreateSecret(e.ctx, rotor.CreateSecretInput{Name: "sealed", ClientRequestToken: tok(1), Value: sv("one")}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.PutSecretValue(e.ctx, rotor.PutSecretValueInput{SecretID: "sealed", ClientRequestToken: tok(2), Value: sv("two")}); err != nil {
		t.Fatal(err)
	}
	if got := e.current(t, "sealed"); got != "two" {
		t.Errorf("after PutSecretValue: %q", got)
	}
	if _, err := e.svc.UpdateSecret(e.ctx, rotor.UpdateSecretInput{SecretID: "sealed", ClientRequestToken: tok(3), Value: sv("three")}); err != nil {
		t.Fatal(err)
	}
	if got := e.current(t, "sealed"); got != "three" {
		t.Errorf("after UpdateSecret: %q", got)
	}
	if got := e.get(t, rotor.GetSecretValueInput{SecretID: "sealed", VersionID: tok(1)}); *got.Value.String != "one" {
		t.Errorf("first version: %q", *got.Value.String)
	}
	if in, out := keys.inside.Load(), keys.outside.Load(); in != 0 || out != 3 {
		t.Errorf("%d values sealed inside the writer, %d outside; want 0 and 3", in, out)
	}
}
