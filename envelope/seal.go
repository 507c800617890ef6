package envelope

import (
	"crypto/cipher"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"sync"

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

// appendPart appends p as one part of associated data (see parts).
func appendPart(b []byte, p string) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(len(p)))
	return append(b, p...)
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
	plaintext, err := k.open(nil, s.KeyID, s.WrappedKey, s.Ciphertext, aad)
	if err != nil {
		return nil, err
	}
	if plaintext == nil {
		plaintext = []byte{}
	}
	return plaintext, nil
}

// AppendOpenVersion is Open for the value of version versionID of the
// secret secretARN (aad VersionAAD(secretARN, versionID)) sealed as keyID,
// wrappedKey and ciphertext (the fields of a rotor.Sealed, held as
// strings): it appends the plaintext to dst and returns the extended
// slice, with the same errors as Open. It allocates nothing for the
// associated data, the data key or the sealed bytes (they live in pooled
// buffers, wiped after use), so a caller that appends to a buffer of its
// own, and wipes it, leaves no copy of the plaintext behind.
func (k *Keyring) AppendOpenVersion(dst []byte, keyID, wrappedKey, ciphertext, secretARN, versionID string) ([]byte, error) {
	sc := getScratch()
	defer putScratch(sc)
	aadLen := 3*4 + len(domainVersion) + len(secretARN) + len(versionID)
	b := slices.Grow(sc.b[:0], aadLen+len(wrappedKey)+len(ciphertext))
	b = appendPart(b, domainVersion)
	b = appendPart(b, secretARN)
	b = appendPart(b, versionID)
	b = append(b, wrappedKey...)
	b = append(b, ciphertext...)
	sc.b = b
	aad, rest := b[:aadLen:aadLen], b[aadLen:]
	return k.open(dst, keyID, rest[:len(wrappedKey):len(wrappedKey)], rest[len(wrappedKey):], aad)
}

// open appends to dst the plaintext of the value sealed as keyID,
// wrapped and ciphertext with aad (see Open).
func (k *Keyring) open(dst []byte, keyID string, wrapped, ciphertext, aad []byte) ([]byte, error) {
	sc := getScratch()
	defer putScratch(sc)
	dek, err := k.unwrap(sc, keyID, wrapped, aad)
	if err != nil {
		return nil, err
	}
	if len(ciphertext) < nonceSize+tagSize {
		return nil, decryptError(keyID, errors.New("ciphertext too short"))
	}
	aead, err := newGCM(dek)
	if err != nil {
		return nil, decryptError(keyID, err)
	}
	plaintext, err := aead.Open(dst, ciphertext[:nonceSize], ciphertext[nonceSize:], aad)
	if err != nil {
		return nil, decryptError(keyID, fmt.Errorf("open ciphertext: %w", err))
	}
	return plaintext, nil
}

// scratch is a pooled buffer for associated data, sealed bytes and data
// keys, so that opening a value allocates none of them. putScratch wipes
// it.
type scratch struct{ b []byte }

// maxPooledScratch bounds the buffers kept for reuse: a rare large value
// does not pin its memory.
const maxPooledScratch = 16 << 10

var scratchPool = sync.Pool{New: func() any { return &scratch{b: make([]byte, 0, 1024)} }}

func getScratch() *scratch { return scratchPool.Get().(*scratch) }

func putScratch(sc *scratch) {
	clear(sc.b[:cap(sc.b)])
	if cap(sc.b) > maxPooledScratch {
		return
	}
	sc.b = sc.b[:0]
	scratchPool.Put(sc)
}

// CheckKey reports whether k can unwrap the data key of s, which must have
// been sealed with the same aad: nil if it can, else the EDECRYPT error Open
// would return. The data key is wiped at once and the value is not
// decrypted, so a restore can check a backup against a keyring without
// holding plaintext.
func (k *Keyring) CheckKey(s rotor.Sealed, aad []byte) error {
	sc := getScratch()
	defer putScratch(sc)
	_, err := k.unwrap(sc, s.KeyID, s.WrappedKey, aad)
	return err
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
	sc := getScratch()
	defer putScratch(sc)
	dek, err := k.unwrapLocked(sc, s.KeyID, s.WrappedKey, aad)
	if err != nil {
		return rotor.Sealed{}, err
	}
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

// unwrap returns the data key wrapped as keyID and wrapped for aad, in
// sc (which putScratch wipes). For a key id the keyring lacks it asks the
// missing handler (SetMissing), if any, and tries once more when that
// added keys.
func (k *Keyring) unwrap(sc *scratch, keyID string, wrapped, aad []byte) ([]byte, error) {
	k.mu.RLock()
	dek, err := k.unwrapLocked(sc, keyID, wrapped, aad)
	missing := k.missing
	absent := err != nil && k.keys[keyID] == nil
	k.mu.RUnlock()
	if absent && missing != nil && missing(keyID) {
		k.mu.RLock()
		defer k.mu.RUnlock()
		return k.unwrapLocked(sc, keyID, wrapped, aad)
	}
	return dek, err
}

// unwrapLocked is unwrap without the missing handler, with k.mu held. It
// builds the wrap associated data in sc.b and returns the data key after
// it, in the same buffer.
func (k *Keyring) unwrapLocked(sc *scratch, keyID string, wrapped, aad []byte) ([]byte, error) {
	kk := k.keys[keyID]
	if kk == nil {
		return nil, &rotor.Error{Code: rotor.EDECRYPT,
			Message: fmt.Sprintf("The value cannot be decrypted: key-encryption key %q is not in the keyring.", keyID)}
	}
	if len(wrapped) != wrappedKeySize {
		return nil, decryptError(keyID, fmt.Errorf("wrapped key is %d bytes, want %d", len(wrapped), wrappedKeySize))
	}
	b := slices.Grow(sc.b[:0], 3*4+len(domainWrap)+len(kk.id)+len(aad)+keySize)
	b = appendPart(b, domainWrap)
	b = appendPart(b, kk.id)
	b = binary.BigEndian.AppendUint32(b, uint32(len(aad)))
	b = append(b, aad...)
	sc.b = b
	dek, err := kk.aead.Open(b[len(b):len(b)], wrapped[:nonceSize], wrapped[nonceSize:], b)
	if err != nil {
		return nil, decryptError(keyID, fmt.Errorf("unwrap data key: %w", err))
	}
	sc.b = b[:len(b)+len(dek)] // so that putScratch wipes the key too
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
