package console

import (
	"math"
	"net"
	"sync"
	"time"
)

// Sign-in throttling: failed sign-ins are limited per source address and
// per access key id, each by a token bucket held in memory (per server
// process: replicas each keep their own). A sign-in takes a token from
// both buckets before the secret is checked and gives both back when it
// succeeds, so only failures count, and concurrent guesses cannot overdraw
// a bucket. A refused attempt is answered 429 with Retry-After and is
// audited like any other sign-in.
const (
	// DefaultSignInBurstPerAddress failed sign-ins from one address (an
	// IPv4 address, or an IPv6 /64) are allowed at once, then one more
	// every DefaultSignInEveryPerAddress.
	DefaultSignInBurstPerAddress = 10
	DefaultSignInEveryPerAddress = 6 * time.Second
	// DefaultSignInBurstPerKey failed sign-ins with one access key id are
	// allowed at once, then one more every DefaultSignInEveryPerKey.
	DefaultSignInBurstPerKey = 5
	DefaultSignInEveryPerKey = 12 * time.Second
)

// maxBuckets bounds each limiter's memory. When a new key finds the map
// full, the buckets that have refilled completely (which hold no
// information) are dropped; if that frees nothing, an arbitrary bucket is.
const maxBuckets = 10000

// limiter is a set of token buckets, one per key. Safe for concurrent use.
type limiter struct {
	burst float64
	every time.Duration // time to earn one token

	mu sync.Mutex
	b  map[string]*bucket
}

type bucket struct {
	tokens float64
	at     time.Time // when tokens was last brought up to date
}

func newLimiter(burst int, every time.Duration) *limiter {
	return &limiter{burst: float64(burst), every: every, b: map[string]*bucket{}}
}

// refill brings b up to date at now.
func (l *limiter) refill(b *bucket, now time.Time) {
	if d := now.Sub(b.at); d > 0 {
		b.tokens = math.Min(l.burst, b.tokens+float64(d)/float64(l.every))
		b.at = now
	}
}

// take removes a token from key's bucket at now; when there is none it
// takes nothing and returns how long until there is one.
func (l *limiter) take(key string, now time.Time) (ok bool, wait time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.b[key]
	if b == nil {
		if len(l.b) >= maxBuckets {
			l.evict(now)
		}
		b = &bucket{tokens: l.burst, at: now}
		l.b[key] = b
	}
	l.refill(b, now)
	if b.tokens < 1 {
		return false, time.Duration((1 - b.tokens) * float64(l.every))
	}
	b.tokens--
	return true, 0
}

// refund gives back a token taken from key's bucket.
func (l *limiter) refund(key string, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if b := l.b[key]; b != nil {
		l.refill(b, now)
		b.tokens = math.Min(l.burst, b.tokens+1)
	}
}

// evict makes room: it drops every full bucket, or one bucket if none is
// full. l.mu is held.
func (l *limiter) evict(now time.Time) {
	for k, b := range l.b {
		l.refill(b, now)
		if b.tokens >= l.burst {
			delete(l.b, k)
		}
	}
	if len(l.b) < maxBuckets {
		return
	}
	for k := range l.b {
		delete(l.b, k)
		return
	}
}

// signInThrottle limits failed sign-ins per address and per key id.
type signInThrottle struct {
	byAddr, byKey *limiter
}

// addrKey is the bucket of a source address: IPv4 addresses each have
// their own, IPv6 addresses share one per /64 (what one host usually
// holds).
func addrKey(ip string) string {
	p := net.ParseIP(ip)
	if p == nil || p.To4() != nil {
		return ip
	}
	return p.Mask(net.CIDRMask(64, 128)).String() + "/64"
}

// take reserves one attempt for a sign-in from ip with keyID (keyID ""
// when it cannot be an access key id: only the address counts then). It
// returns false, and how long to wait, when either bucket is empty; then
// nothing is taken.
func (t *signInThrottle) take(ip, keyID string, now time.Time) (bool, time.Duration) {
	ok, wait := t.byAddr.take(addrKey(ip), now)
	if !ok || keyID == "" {
		return ok, wait
	}
	if ok, wait := t.byKey.take(keyID, now); !ok {
		t.byAddr.refund(addrKey(ip), now)
		return false, wait
	}
	return true, 0
}

// succeeded gives back what take took, for a sign-in that succeeded.
func (t *signInThrottle) succeeded(ip, keyID string, now time.Time) {
	t.byAddr.refund(addrKey(ip), now)
	if keyID != "" {
		t.byKey.refund(keyID, now)
	}
}
