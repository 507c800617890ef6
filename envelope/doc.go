// Package envelope encrypts values at rest with envelope encryption and
// manages the keyring of key-encryption keys (KEKs) that protects them.
//
// # Scheme
//
// Every value is sealed under a fresh random 256-bit data-encryption key
// (DEK) with AES-256-GCM. The DEK is then wrapped (itself encrypted with
// AES-256-GCM) by the keyring's active KEK. The result is a rotor.Sealed:
//
//	KeyID      = id of the KEK that wrapped the DEK
//	Ciphertext = nonce(12) || GCM-Seal(DEK, nonce, plaintext, aad)
//	WrappedKey = nonce(12) || GCM-Seal(KEK, nonce, DEK, wrapAAD)
//
// Nonces are 12 random bytes; GCM tags are 16 bytes, so a WrappedKey is
// always 60 bytes and a Ciphertext is len(plaintext)+28 bytes.
//
// # Associated data
//
// The caller's associated data (aad) names the owner of the value, so a
// stored row cannot be swapped for another: secret versions use
// VersionAAD(secretARN, versionID) and access-key secrets use
// AccessKeyAAD(accessKeyID). Every package must use these two functions;
// any other encoding of the same owner opens nothing.
//
// The DEK is wrapped with
//
//	wrapAAD = part("rotor/v1/wrap") || part(KeyID) || part(aad)
//
// so a wrapped key only unwraps under the KEK it names and for the row it
// belongs to: moving it to another row, or relabelling it with another
// KeyID, makes it fail authentication. All associated data is a sequence of
// parts, each a 4-byte big-endian length followed by its bytes, starting
// with a domain string ("rotor/v1/version", "rotor/v1/access-key",
// "rotor/v1/wrap"); that encoding is unambiguous, so ("a","bc") and
// ("ab","c") never collide.
//
// # Rotation
//
// KEKs rotate while the server serves: AddKey creates a key and makes it
// active (new values are sealed under it), Rewrap moves each stored DEK
// under the active key without touching the ciphertext, and RemoveKey drops
// an old key once nothing refers to it. Values whose DEK is wrapped by a
// removed key can no longer be opened.
//
// # Key file
//
// A keyring is stored as a JSON document, mode 0600:
//
//	{"active":"kek-20261127-a1b2c3",
//	 "keys":[{"id":"kek-20261127-a1b2c3","key":"<base64 of 32 bytes>","created":"2026-11-27T10:00:00Z"}]}
//
// Instead of a document, Parse also accepts one standard-base64 32-byte key
// (padded or not)
// (as an operator might put in an environment variable); its id is "env-"
// followed by the first 8 hex digits of the SHA-256 of the key.
//
// Errors are *rotor.Error values; their messages never contain key material
// or plaintext.
package envelope
