package sigv4

import (
	"crypto/hmac"
	"crypto/sha256"
	"hash"
	"sync"
)

// maxCachedKeys bounds the signing-key cache of one Verifier. Scopes change
// daily, so a busy server needs about two entries per active access key and
// region; when the cache is full an arbitrary entry makes room.
const maxCachedKeys = 1024

// cacheKey identifies a derived signing key. The secret enters only as its
// SHA-256 hash, so the cache neither holds secrets nor confuses the keys
// derived from an old and a new secret of the same access key.
type cacheKey struct {
	secret                [sha256.Size]byte
	date, region, service string
}

// keyCache is a bounded, concurrency-safe map from scope to signing key.
// Its zero value is ready to use.
type keyCache struct {
	mu   sync.RWMutex
	keys map[cacheKey]*signingKey
}

// signingKey is one derived signing key with a pool of HMAC-SHA256 states
// keyed by it, so that a warm signature check allocates no HMAC.
type signingKey struct {
	key  []byte
	macs sync.Pool // of hash.Hash: HMAC-SHA256 under key, reset
}

func newSigningKey(key []byte) *signingKey {
	k := &signingKey{key: key}
	k.macs.New = func() any { return hmac.New(sha256.New, k.key) }
	return k
}

// sum appends HMAC-SHA256(k.key, msg) to dst and returns the result.
func (k *signingKey) sum(dst, msg []byte) []byte {
	m := k.macs.Get().(hash.Hash)
	m.Write(msg)
	dst = m.Sum(dst)
	m.Reset()
	k.macs.Put(m)
	return dst
}

// get returns the SigV4 signing key for secret and the scope
// date/region/service, deriving and caching it on a miss. The returned slice
// must not be modified.
func (c *keyCache) get(secret, date, region, service string) []byte {
	return c.entry(secret, date, region, service).key
}

// entry is get returning the cache entry.
func (c *keyCache) entry(secret, date, region, service string) *signingKey {
	k := cacheKey{secret: hashSecret(secret), date: date, region: region, service: service}
	c.mu.RLock()
	e, ok := c.keys[k]
	c.mu.RUnlock()
	if ok {
		return e
	}

	e = newSigningKey(deriveKey(secret, date, region, service))
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.keys == nil {
		c.keys = make(map[cacheKey]*signingKey)
	}
	if old, ok := c.keys[k]; ok {
		return old // another goroutine derived the same key meanwhile
	}
	for old := range c.keys {
		if len(c.keys) < maxCachedKeys {
			break
		}
		delete(c.keys, old)
	}
	c.keys[k] = e
	return e
}

// hashSecret returns the SHA-256 of secret without allocating for secrets
// of ordinary length.
func hashSecret(secret string) [sha256.Size]byte {
	var buf [128]byte
	if len(secret) <= len(buf) {
		return sha256.Sum256(append(buf[:0], secret...))
	}
	return sha256.Sum256([]byte(secret))
}

// len returns the number of cached keys.
func (c *keyCache) len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.keys)
}

// deriveKey computes the SigV4 signing key
// HMAC(HMAC(HMAC(HMAC("AWS4"+secret, date), region), service), "aws4_request").
func deriveKey(secret, date, region, service string) []byte {
	key := hmacSHA256([]byte("AWS4"+secret), date)
	key = hmacSHA256(key, region)
	key = hmacSHA256(key, service)
	return hmacSHA256(key, scopeTerminator)
}

// hmacSHA256 returns HMAC-SHA256(key, data).
func hmacSHA256(key []byte, data string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(data))
	return m.Sum(nil)
}
