package sigv4

import (
	"crypto/hmac"
	"crypto/sha256"
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
	keys map[cacheKey][]byte
}

// get returns the SigV4 signing key for secret and the scope
// date/region/service, deriving and caching it on a miss. The returned slice
// must not be modified.
func (c *keyCache) get(secret, date, region, service string) []byte {
	k := cacheKey{secret: sha256.Sum256([]byte(secret)), date: date, region: region, service: service}
	c.mu.RLock()
	key, ok := c.keys[k]
	c.mu.RUnlock()
	if ok {
		return key
	}

	key = deriveKey(secret, date, region, service)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.keys == nil {
		c.keys = make(map[cacheKey][]byte)
	}
	if _, ok := c.keys[k]; !ok {
		for old := range c.keys {
			if len(c.keys) < maxCachedKeys {
				break
			}
			delete(c.keys, old)
		}
	}
	c.keys[k] = key
	return key
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
