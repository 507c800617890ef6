package envelope

import (
	"crypto/cipher"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/rotorhq/rotor"
)

const (
	nonceSize      = 12
	tagSize        = 16
	wrappedKeySize = nonceSize + keySize + tagSize
)

// Domain prefixes of the associated data; see the package documentation.
const (
	domainVersion   = "rotor/v1/version"
	domainAccessKey = "rotor/v1/access-key"
	domainWrap      = "rotor/v1/wrap"
)

// VersionAAD returns the associated data that binds a sealed secret value
// to the version versionID of the secret secretARN. Every package that seals
// or opens secret versions must use it.
func VersionAAD(secretARN, versionID string) []byte {
	return parts([]byte(domainVersion), []byte(secretARN), []byte(versionID))
}

// AccessKeyAAD returns the associated data that binds a sealed secret
// access key to its access key id. Every package that seals or opens
// access-key secrets must use it.
func AccessKeyAAD(accessKeyID string) []byte {
	return parts([]byte(domainAccessKey), []byte(accessKeyID))
}

// wrapAAD is the associated data of a wrapped data key: it binds the key
// to the KEK id and to the row's own associated data.
func wrapAAD(kekID string, aad []byte) []byte {
	return parts([]byte(domainWrap), []byte(kekID), aad)
}

// parts encodes ps unambiguously: each part is a 4-byte big-endian length
// followed by its bytes.
func parts(ps ...[]byte) []byte {
	n := 0
	for _, p := range ps {
		n += 4 + len(p)
	}
	out := make([]byte, 0, n)
	for _, p := range ps {
		out = binary.BigEndian.AppendUint32(out, uint32(len(p)))
		out = append(out, p...)
	}
	return out
}

// Seal encrypts plaintext under a fresh data key and wraps that key under
// the active key-encryption key. aad must identify the value's owner
// (VersionAAD or AccessKeyAAD); Open needs the same aad. It returns
// EENCRYPT if the keyring has no active key or encryption fails.
func (k *Keyring) Seal(plaintext, aad []byte) (rotor.Sealed, error) {
	dek := make([]byte, keySize)
	defer clear(dek)
	if _, err := rand.Read(dek); err != nil {
		return rotor.Sealed{}, sealError(err)
	}
	ciphertext, err := encrypt(dek, plaintext, aad)
	if err != nil {
		return rotor.Sealed{}, sealError(err)
	}

	// Hold the read lock while wrapping, so the key named in the result is
	// still in the keyring when Seal returns.
	k.mu.RLock()
	defer k.mu.RUnlock()
	kk := k.keys[k.active]
	if kk == nil {
		return rotor.Sealed{}, &rotor.Error{Code: rotor.EENCRYPT,
			Message: "The value cannot be encrypted: the keyring has no active key-encryption key."}
	}
	wrapped, err := seal(kk.aead, dek, wrapAAD(kk.id, aad))
	if err != nil {
		return rotor.Sealed{}, sealError(err)
	}
	return rotor.Sealed{KeyID: kk.id, WrappedKey: wrapped, Ciphertext: ciphertext}, nil
}

// Open returns the plaintext of s, which must have been sealed with the
// same aad. It returns EDECRYPT if s.KeyID is not in the keyring, aad does
// not match, or any part of s was altered or truncated.
func (k *Keyring) Open(s rotor.Sealed, aad []byte) ([]byte, error) {
	dek, err := k.unwrap(s, aad)
	if err != nil {
		return nil, err
	}
	defer clear(dek)
	if len(s.Ciphertext) < nonceSize+tagSize {
		return nil, decryptError(s.KeyID, errors.New("ciphertext too short"))
	}
	aead, err := newGCM(dek)
	if err != nil {
		return nil, decryptError(s.KeyID, err)
	}
	plaintext, err := aead.Open(nil, s.Ciphertext[:nonceSize], s.Ciphertext[nonceSize:], aad)
	if err != nil {
		return nil, decryptError(s.KeyID, fmt.Errorf("open ciphertext: %w", err))
	}
	if plaintext == nil {
		plaintext = []byte{}
	}
	return plaintext, nil
}

// CheckKey reports whether k can unwrap the data key of s, which must have
// been sealed with the same aad: nil if it can, else the EDECRYPT error Open
// would return. The data key is wiped at once and the value is not
// decrypted, so a restore can check a backup against a keyring without
// holding plaintext.
func (k *Keyring) CheckKey(s rotor.Sealed, aad []byte) error {
	dek, err := k.unwrap(s, aad)
	if err != nil {
		return err
	}
	clear(dek)
	return nil
}

// Rewrap returns s with its data key re-wrapped under the active
// key-encryption key; the Ciphertext is the same slice, unchanged. If s is
// already wrapped by the active key it returns s as it is. Only the wrapped
// key is authenticated, not the ciphertext. It returns EDECRYPT if the data
// key cannot be unwrapped (unknown KeyID, wrong aad, tampering) and EENCRYPT
// if wrapping fails.
func (k *Keyring) Rewrap(s rotor.Sealed, aad []byte) (rotor.Sealed, error) {
	k.mu.RLock()
	defer k.mu.RUnlock()
	if s.KeyID != "" && s.KeyID == k.active {
		return s, nil
	}
	dek, err := k.unwrapLocked(s, aad)
	if err != nil {
		return rotor.Sealed{}, err
	}
	defer clear(dek)
	kk := k.keys[k.active]
	if kk == nil {
		return rotor.Sealed{}, &rotor.Error{Code: rotor.EENCRYPT,
			Message: "The value cannot be encrypted: the keyring has no active key-encryption key."}
	}
	wrapped, err := seal(kk.aead, dek, wrapAAD(kk.id, aad))
	if err != nil {
		return rotor.Sealed{}, sealError(err)
	}
	return rotor.Sealed{KeyID: kk.id, WrappedKey: wrapped, Ciphertext: s.Ciphertext}, nil
}

// unwrap returns the data key of s; the caller wipes it. For a key id the
// keyring lacks it asks the missing handler (SetMissing), if any, and tries
// once more when that added keys.
func (k *Keyring) unwrap(s rotor.Sealed, aad []byte) ([]byte, error) {
	k.mu.RLock()
	dek, err := k.unwrapLocked(s, aad)
	missing := k.missing
	absent := err != nil && k.keys[s.KeyID] == nil
	k.mu.RUnlock()
	if absent && missing != nil && missing(s.KeyID) {
		k.mu.RLock()
		defer k.mu.RUnlock()
		return k.unwrapLocked(s, aad)
	}
	return dek, err
}

func (k *Keyring) unwrapLocked(s rotor.Sealed, aad []byte) ([]byte, error) {
	kk := k.keys[s.KeyID]
	if kk == nil {
		return nil, &rotor.Error{Code: rotor.EDECRYPT,
			Message: fmt.Sprintf("The value cannot be decrypted: key-encryption key %q is not in the keyring.", s.KeyID)}
	}
	if len(s.WrappedKey) != wrappedKeySize {
		return nil, decryptError(s.KeyID, fmt.Errorf("wrapped key is %d bytes, want %d", len(s.WrappedKey), wrappedKeySize))
	}
	dek, err := kk.aead.Open(nil, s.WrappedKey[:nonceSize], s.WrappedKey[nonceSize:], wrapAAD(kk.id, aad))
	if err != nil {
		return nil, decryptError(s.KeyID, fmt.Errorf("unwrap data key: %w", err))
	}
	return dek, nil
}

// encrypt seals plaintext under a one-off AES-256-GCM key.
func encrypt(key, plaintext, aad []byte) ([]byte, error) {
	aead, err := newGCM(key)
	if err != nil {
		return nil, err
	}
	return seal(aead, plaintext, aad)
}

// seal returns nonce || aead.Seal(plaintext) with a random nonce.
func seal(aead cipher.AEAD, plaintext, aad []byte) ([]byte, error) {
	out := make([]byte, nonceSize, nonceSize+len(plaintext)+tagSize)
	if _, err := rand.Read(out); err != nil {
		return nil, fmt.Errorf("read nonce: %w", err)
	}
	return aead.Seal(out, out, plaintext, aad), nil
}

func sealError(err error) error {
	return &rotor.Error{Code: rotor.EENCRYPT, Message: "The value cannot be encrypted.", Err: err}
}

func decryptError(keyID string, err error) error {
	return &rotor.Error{Code: rotor.EDECRYPT,
		Message: fmt.Sprintf("The value cannot be decrypted with key-encryption key %q: it was altered or does not belong here.", keyID),
		Err:     err}
}
