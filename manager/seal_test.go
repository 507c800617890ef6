package manager_test

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/rotorhq/rotor"
	"github.com/rotorhq/rotor/envelope"
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

// TestWriteLocatesThroughReader checks that a write whose secret is not
// cached finds it (to authorize) through the store's rotor.SecretReader,
// one query, by name, full ARN and partial ARN (which falls back to a
// View), and writes the secret it found.
func TestWriteLocatesThroughReader(t *testing.T) {
	e := newEnv(t)
	arn := e.create(t, "located", "v0").ARN // writes leave the secret out of the cache
	partial := arn[:len(arn)-7]             // without "-" and the suffix
	ids := []string{"located", arn, partial}
	for i, id := range ids {
		reads := e.reading.reads.Load()
		if _, err := e.svc.PutSecretValue(e.ctx, rotor.PutSecretValueInput{SecretID: id, ClientRequestToken: tok(10 + i), Value: sv(id)}); err != nil {
			t.Fatalf("PutSecretValue(%s): %v", id, err)
		}
		if got := e.reading.reads.Load() - reads; got != 1 {
			t.Errorf("PutSecretValue(%s): %d reads through the SecretReader, want 1", id, got)
		}
	}
	for i, id := range ids {
		if got := e.get(t, rotor.GetSecretValueInput{SecretID: "located", VersionID: tok(10 + i)}); *got.Value.String != id {
			t.Errorf("version of PutSecretValue(%s): %q", id, *got.Value.String)
		}
	}
	if _, err := e.svc.PutSecretValue(e.ctx, rotor.PutSecretValueInput{SecretID: "missing", ClientRequestToken: tok(20), Value: sv("x")}); rotor.ErrorCode(err) != rotor.ENOTFOUND {
		t.Errorf("PutSecretValue(missing): %v, want ENOTFOUND", err)
	}
}

// keySwitchStore makes the keyring's active key change right before the
// next Update's function runs: between a write's sealing and its
// transaction, where a key rotation (a new active key, then a re-wrap of
// every value under the old one) could run.
type keySwitchStore struct {
	rotor.Store
	kr    *envelope.Keyring
	armed atomic.Bool
}

func (s *keySwitchStore) Update(ctx context.Context, fn func(rotor.Tx) error) error {
	if s.armed.Swap(false) {
		if _, err := s.kr.AddKey(); err != nil {
			return err
		}
	}
	return s.Store.Update(ctx, fn)
}

// TestValueSealedUnderTheKeyActiveAtTheWrite: a value sealed before its
// write transaction is sealed again when the active key changed since, so
// no write commits a value under a key a rotation has already re-wrapped
// everything away from (and may retire).
func TestValueSealedUnderTheKeyActiveAtTheWrite(t *testing.T) {
	var ks *keySwitchStore
	e := newEnv(t, func(c *manager.Config) {
		ks = &keySwitchStore{Store: c.Store, kr: c.Keyring.(*envelope.Keyring)}
		c.Store = ks
	})
	e.create(t, "rotating", "one")
	for i, write := range []func() error{
		func() error {
			_, err := e.svc.PutSecretValue(e.ctx, rotor.PutSecretValueInput{SecretID: "rotating", ClientRequestToken: tok(2), Value: sv("two")})
			return err
		},
		func() error {
			_, err := e.svc.UpdateSecret(e.ctx, rotor.UpdateSecretInput{SecretID: "rotating", ClientRequestToken: tok(3), Value: sv("three")})
			return err
		},
	} {
		ks.armed.Store(true)
		if err := write(); err != nil {
			t.Fatal(err)
		}
		if ks.armed.Load() {
			t.Fatal("the write ran no Update")
		}
		id := tok(2 + i)
		var keyID string
		arn := e.describe(t, "rotating").ARN
		if err := ks.Store.View(e.ctx, func(tx rotor.Tx) error {
			v, err := tx.Version(arn, id)
			if err == nil {
				keyID = v.Value.KeyID
			}
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if active := ks.kr.ActiveID(); keyID != active {
			t.Errorf("write %d: value stored under key %s, want the key active at its transaction, %s", i, keyID, active)
		}
		if got := e.get(t, rotor.GetSecretValueInput{SecretID: "rotating", VersionID: id}); got.Value.String == nil {
			t.Errorf("write %d: value does not read back", i)
		}
	}
}
