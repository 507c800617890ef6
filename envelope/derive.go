package envelope

import (
	"crypto/hkdf"
	"crypto/sha256"
	"fmt"
)

// DeriveKey returns a 32-byte key for purpose (a fixed label such as
// "rotor console session v1") derived with HKDF-SHA256 from the
// key-encryption key id, so that every process holding the same keyring
// derives the same key and nothing derived can be turned back into the
// key-encryption key or used for another purpose. id "" means the active
// key; the id used is returned. false when the keyring has no such key
// (an empty keyring, or a key that was removed).
func (k *Keyring) DeriveKey(id, purpose string) (string, []byte, bool) {
	k.mu.RLock()
	if id == "" {
		id = k.active
	}
	kk := k.keys[id]
	k.mu.RUnlock()
	if kk == nil {
		return "", nil, false
	}
	key, err := hkdf.Key(sha256.New, kk.key, nil, purpose, keySize)
	if err != nil { // only for lengths HKDF cannot produce
		panic(fmt.Sprintf("envelope: derive key: %v", err))
	}
	return id, key, true
}
