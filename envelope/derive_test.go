package envelope_test

import (
	"bytes"
	"testing"

	"github.com/rotorhq/rotor/envelope"
)

// TestDeriveKey: the same keyring (parsed twice, as two replicas would)
// derives the same key for a purpose, another purpose or keyring derives
// another, a removed key derives nothing.
func TestDeriveKey(t *testing.T) {
	kr, err := envelope.Generate()
	if err != nil {
		t.Fatal(err)
	}
	id, a, ok := kr.DeriveKey("", "purpose one")
	if !ok || id != kr.ActiveID() || len(a) != 32 {
		t.Fatalf("DeriveKey(active) = %q, %d bytes, %v; want the active id and 32 bytes", id, len(a), ok)
	}
	_, again, _ := kr.DeriveKey(id, "purpose one")
	_, other, _ := kr.DeriveKey(id, "purpose two")
	if !bytes.Equal(a, again) || bytes.Equal(a, other) {
		t.Errorf("derived keys: same purpose equal = %v (want true), other purpose equal = %v (want false)",
			bytes.Equal(a, again), bytes.Equal(a, other))
	}
	kr2, _ := envelope.Generate()
	if _, b, _ := kr2.DeriveKey("", "purpose one"); bytes.Equal(a, b) {
		t.Error("two keyrings derived the same key")
	}
	meta, err := kr.AddKey()
	if err != nil {
		t.Fatal(err)
	}
	if err := kr.RemoveKey(id); err != nil {
		t.Fatalf("RemoveKey: %v (active is now %s)", err, meta.ID)
	}
	if _, _, ok := kr.DeriveKey(id, "purpose one"); ok {
		t.Error("DeriveKey with a removed key succeeded")
	}
}
