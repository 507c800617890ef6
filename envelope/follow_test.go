package envelope_test

import (
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/rotorhq/rotor"
	"github.com/rotorhq/rotor/envelope"
)

// Several servers on one database each hold a copy of the keyring. These
// tests cover how a copy follows a newer one: staging a key, merging,
// activating, and asking for keys it lacks before failing.

// copyOf returns a keyring loaded from a file k was saved to: another
// server's copy.
func copyOf(t *testing.T, k *envelope.Keyring) *envelope.Keyring {
	t.Helper()
	path := filepath.Join(t.TempDir(), "kek.json")
	if err := k.SaveFile(path); err != nil {
		t.Fatal(err)
	}
	c, err := envelope.LoadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestStagedKey(t *testing.T) {
	k, err := envelope.Generate()
	if err != nil {
		t.Fatal(err)
	}
	first := k.ActiveID()
	if _, ok := k.Staged(); ok {
		t.Fatal("a fresh keyring has a staged key")
	}
	m, err := k.AddInactiveKey()
	if err != nil {
		t.Fatal(err)
	}
	if m.Active || k.ActiveID() != first {
		t.Fatalf("AddInactiveKey made %s active", m.ID)
	}
	// The staged key survives the key file, in its order.
	c := copyOf(t, k)
	if got, ok := c.Staged(); !ok || got.ID != m.ID {
		t.Fatalf("Staged after a save and load = %v, %v; want %s", got, ok, m.ID)
	}
	if err := c.Activate(m.ID); err != nil {
		t.Fatal(err)
	}
	if _, ok := c.Staged(); ok || c.ActiveID() != m.ID {
		t.Fatalf("after Activate: active %s, still staged", c.ActiveID())
	}
	if err := c.Activate("kek-nope"); rotor.ErrorCode(err) != rotor.ENOTFOUND {
		t.Fatalf("Activate(unknown) = %v, want ENOTFOUND", err)
	}
}

// TestMerge: a copy gains the keys and the active key of a newer copy; a
// key of the same id with other material is refused and changes nothing.
func TestMerge(t *testing.T) {
	a, err := envelope.Generate()
	if err != nil {
		t.Fatal(err)
	}
	b := copyOf(t, a)
	sealedOld, err := a.Seal([]byte("old"), []byte("aad"))
	if err != nil {
		t.Fatal(err)
	}
	added, err := a.AddKey()
	if err != nil {
		t.Fatal(err)
	}
	sealedNew, err := a.Seal([]byte("new"), []byte("aad"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Open(sealedNew, []byte("aad")); rotor.ErrorCode(err) != rotor.EDECRYPT {
		t.Fatalf("b opened a value under a key it lacks: %v", err)
	}
	ids, changed, err := b.Merge(copyOf(t, a))
	if err != nil || len(ids) != 1 || ids[0] != added.ID || !changed || b.ActiveID() != added.ID {
		t.Fatalf("Merge = %v, %v, %v; active %s; want [%s], true", ids, changed, err, b.ActiveID(), added.ID)
	}
	for _, s := range []rotor.Sealed{sealedOld, sealedNew} {
		if _, err := b.Open(s, []byte("aad")); err != nil {
			t.Fatalf("b cannot open a value wrapped by %s after Merge: %v", s.KeyID, err)
		}
	}
	if ids, changed, err := b.Merge(copyOf(t, a)); err != nil || len(ids) != 0 || changed {
		t.Fatalf("second Merge = %v, %v, %v; want nothing new", ids, changed, err)
	}

	// Same id, other key material.
	impostor := MustParse(t, keyFile(added.ID, keyEntry(added.ID, testKeyB64, "")))
	before := b.Keys()
	if _, _, err := b.Merge(impostor); rotor.ErrorCode(err) != rotor.EINVALID {
		t.Fatalf("Merge of an impostor = %v, want EINVALID", err)
	}
	if _, err := b.Open(sealedNew, []byte("aad")); err != nil {
		t.Fatalf("the refused Merge changed the key: %v", err)
	}
	if after := b.Keys(); len(after) != len(before) {
		t.Fatalf("the refused Merge changed the keys: %v -> %v", before, after)
	}
}

// TestSetMissing: Open asks the missing handler for an unknown key id and
// tries again when it added keys; a handler that finds nothing leaves the
// error as it was; a known id never calls it.
func TestSetMissing(t *testing.T) {
	a, err := envelope.Generate()
	if err != nil {
		t.Fatal(err)
	}
	b := copyOf(t, a)
	if _, err := a.AddKey(); err != nil {
		t.Fatal(err)
	}
	sealed, err := a.Seal([]byte("v"), []byte("aad"))
	if err != nil {
		t.Fatal(err)
	}
	newer := copyOf(t, a)

	var calls atomic.Int32
	var found atomic.Bool
	b.SetMissing(func(id string) bool {
		calls.Add(1)
		if id != sealed.KeyID {
			t.Errorf("missing handler called for %s, want %s", id, sealed.KeyID)
		}
		if !found.Load() {
			return false
		}
		added, _, err := b.Merge(newer)
		return err == nil && len(added) > 0
	})
	if _, err := b.Open(sealed, []byte("aad")); rotor.ErrorCode(err) != rotor.EDECRYPT || calls.Load() != 1 {
		t.Fatalf("Open with nothing found = %v after %d calls; want EDECRYPT after 1", err, calls.Load())
	}
	found.Store(true)
	got, err := b.Open(sealed, []byte("aad"))
	if err != nil || string(got) != "v" || calls.Load() != 2 {
		t.Fatalf("Open after the handler merged = %q, %v after %d calls", got, err, calls.Load())
	}
	if _, err := b.Open(sealed, []byte("aad")); err != nil || calls.Load() != 2 {
		t.Fatalf("Open of a known key called the handler (%d calls, %v)", calls.Load(), err)
	}
}
