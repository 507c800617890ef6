package envelope

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/rotorhq/rotor"
)

// keySize is the size in bytes of key-encryption and data-encryption keys
// (AES-256).
const keySize = 32

// Keyring holds the key-encryption keys (KEKs) and knows which one is
// active. It is safe for concurrent use: Seal, Open and Rewrap take a read
// lock only, so they run in parallel while AddKey or RemoveKey wait for
// their turn. The zero value is an empty keyring that can seal nothing;
// use Generate, Parse, LoadFile or LoadOrCreateFile.
type Keyring struct {
	mu     sync.RWMutex
	keys   map[string]*kek
	order  []string // ids in insertion order
	active string

	// missing, when set, is called by Open for a key id the keyring lacks
	// (see SetMissing).
	missing func(id string) bool
}

// KeyMeta describes one key-encryption key without its key material.
type KeyMeta struct {
	ID      string
	Created time.Time // zero for a key given as bare base64 (see Parse)
	Active  bool
}

// kek is one key-encryption key with its ready-to-use AEAD.
type kek struct {
	id      string
	key     []byte
	created time.Time
	aead    cipher.AEAD
}

func newKEK(id string, key []byte, created time.Time) (*kek, error) {
	aead, err := newGCM(key)
	if err != nil {
		return nil, err
	}
	return &kek{id: id, key: key, created: created, aead: aead}, nil
}

// newGCM returns AES-256-GCM with the standard 12-byte nonce for key.
func newGCM(key []byte) (cipher.AEAD, error) {
	if len(key) != keySize {
		return nil, fmt.Errorf("key is %d bytes, want %d", len(key), keySize)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("new aes cipher: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("new gcm: %w", err)
	}
	return aead, nil
}

// newKeyring builds a keyring from keys (oldest first) and the active id,
// which must be one of them.
func newKeyring(keys []*kek, active string) *Keyring {
	k := &Keyring{keys: make(map[string]*kek, len(keys)), active: active}
	for _, kk := range keys {
		k.keys[kk.id] = kk
		k.order = append(k.order, kk.id)
	}
	return k
}

// Generate returns a keyring holding one fresh random key, which is active.
// It returns EINTERNAL only if the system's random source fails.
func Generate() (*Keyring, error) {
	kk, err := randomKEK(nil)
	if err != nil {
		return nil, err
	}
	return newKeyring([]*kek{kk}, kk.id), nil
}

// randomKEK makes a fresh key created now, with an id of the form
// kek-YYYYMMDD-<6 hex> that taken does not contain.
func randomKEK(taken map[string]*kek) (*kek, error) {
	key := make([]byte, keySize)
	if _, err := rand.Read(key); err != nil {
		return nil, &rotor.Error{Code: rotor.EINTERNAL, Message: "cannot generate a key-encryption key", Err: err}
	}
	created := time.Now().UTC().Truncate(time.Second)
	var suffix [3]byte
	for {
		if _, err := rand.Read(suffix[:]); err != nil {
			return nil, &rotor.Error{Code: rotor.EINTERNAL, Message: "cannot generate a key-encryption key", Err: err}
		}
		id := "kek-" + created.Format("20060102") + "-" + hex.EncodeToString(suffix[:])
		if _, dup := taken[id]; dup {
			continue
		}
		kk, err := newKEK(id, key, created)
		if err != nil {
			return nil, &rotor.Error{Code: rotor.EINTERNAL, Message: "cannot generate a key-encryption key", Err: err}
		}
		return kk, nil
	}
}

// ActiveID returns the id of the key that Seal and Rewrap wrap data keys
// under, or "" for an empty keyring.
func (k *Keyring) ActiveID() string {
	k.mu.RLock()
	defer k.mu.RUnlock()
	return k.active
}

// Keys describes every key, oldest first (by creation time; keys created in
// the same second keep the order they were added in).
func (k *Keyring) Keys() []KeyMeta {
	k.mu.RLock()
	defer k.mu.RUnlock()
	out := make([]KeyMeta, 0, len(k.order))
	for _, id := range k.order {
		kk := k.keys[id]
		out = append(out, KeyMeta{ID: id, Created: kk.created, Active: id == k.active})
	}
	slices.SortStableFunc(out, func(a, b KeyMeta) int { return a.Created.Compare(b.Created) })
	return out
}

// Has reports whether the keyring holds the key id.
func (k *Keyring) Has(id string) bool {
	k.mu.RLock()
	defer k.mu.RUnlock()
	_, ok := k.keys[id]
	return ok
}

// AddKey adds a fresh random key and makes it the active one. The change is
// in memory only: the caller saves the keyring (SaveFile) before sealing
// anything under the new key that must survive a restart. It returns
// EINTERNAL only if the system's random source fails.
func (k *Keyring) AddKey() (KeyMeta, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	kk, err := randomKEK(k.keys)
	if err != nil {
		return KeyMeta{}, err
	}
	if k.keys == nil {
		k.keys = make(map[string]*kek)
	}
	k.keys[kk.id] = kk
	k.order = append(k.order, kk.id)
	k.active = kk.id
	return KeyMeta{ID: kk.id, Created: kk.created, Active: true}, nil
}

// RemoveKey removes the key id and wipes its key bytes (best effort). Values
// whose data key it wraps can no longer be opened, so callers re-wrap them
// first. It returns ESTATE for the active key and ENOTFOUND for an id the
// keyring does not hold.
func (k *Keyring) RemoveKey(id string) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	kk, ok := k.keys[id]
	if !ok {
		return rotor.Errorf(rotor.ENOTFOUND, "key-encryption key %q is not in the keyring", id)
	}
	if id == k.active {
		return rotor.Errorf(rotor.ESTATE, "key-encryption key %q is the active key and cannot be removed", id)
	}
	delete(k.keys, id)
	k.order = slices.DeleteFunc(k.order, func(s string) bool { return s == id })
	clear(kk.key)
	return nil
}

// AddInactiveKey adds a fresh random key without making it active: a
// staged key, which servers sharing a database can all be given before any
// of them seals under it (see Staged). In memory only, like AddKey.
func (k *Keyring) AddInactiveKey() (KeyMeta, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	kk, err := randomKEK(k.keys)
	if err != nil {
		return KeyMeta{}, err
	}
	if k.keys == nil {
		k.keys = make(map[string]*kek)
	}
	k.keys[kk.id] = kk
	k.order = append(k.order, kk.id)
	if k.active == "" {
		k.active = kk.id // an empty keyring's first key must be active
	}
	return KeyMeta{ID: kk.id, Created: kk.created, Active: k.active == kk.id}, nil
}

// Activate makes the key id the active one. ENOTFOUND for an id the
// keyring does not hold.
func (k *Keyring) Activate(id string) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.keys[id] == nil {
		return rotor.Errorf(rotor.ENOTFOUND, "key-encryption key %q is not in the keyring", id)
	}
	k.active = id
	return nil
}

// Staged returns the key AddInactiveKey added last, if it was added after
// the active key (in the key file's order) and is still inactive.
func (k *Keyring) Staged() (KeyMeta, bool) {
	k.mu.RLock()
	defer k.mu.RUnlock()
	i := slices.Index(k.order, k.active)
	if i < 0 || i == len(k.order)-1 {
		return KeyMeta{}, false
	}
	kk := k.keys[k.order[len(k.order)-1]]
	return KeyMeta{ID: kk.id, Created: kk.created}, true
}

// Merge adds to k every key of from that k lacks, and makes from's active
// key k's active key: k follows from, a newer copy of its key file. Keys k
// holds that from lacks are kept (values may still be wrapped by them). It
// returns the ids added and whether the active key changed. A key id both
// hold with different key material is refused with EINVALID, and then
// nothing changes.
func (k *Keyring) Merge(from *Keyring) (added []string, activeChanged bool, err error) {
	from.mu.RLock()
	defer from.mu.RUnlock()
	k.mu.Lock()
	defer k.mu.Unlock()
	for _, id := range from.order {
		if mine := k.keys[id]; mine != nil && !bytesEqual(mine.key, from.keys[id].key) {
			return nil, false, rotor.Errorf(rotor.EINVALID,
				"key-encryption key %q in the new keyring differs from the key of that id in use; nothing was changed", id)
		}
	}
	if k.keys == nil {
		k.keys = make(map[string]*kek)
	}
	for _, id := range from.order {
		if k.keys[id] != nil {
			continue
		}
		src := from.keys[id]
		kk, err := newKEK(id, append([]byte(nil), src.key...), src.created)
		if err != nil {
			return added, false, &rotor.Error{Code: rotor.EINTERNAL, Message: "cannot use key-encryption key " + id, Err: err}
		}
		k.keys[id] = kk
		k.order = append(k.order, id)
		added = append(added, id)
	}
	if from.active != "" && from.active != k.active {
		k.active, activeChanged = from.active, true
	}
	return added, activeChanged, nil
}

// SetMissing makes Open call fn when a value is wrapped by a key id the
// keyring does not hold, before it fails: fn may add keys (Merge, from a
// key file another server updated) and returns whether it did; Open then
// tries once more. fn runs without the keyring's lock held and may be
// called concurrently; it should limit how often it reads anything.
func (k *Keyring) SetMissing(fn func(id string) bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.missing = fn
}

// bytesEqual compares key material in constant time.
func bytesEqual(a, b []byte) bool { return subtle.ConstantTimeCompare(a, b) == 1 }
