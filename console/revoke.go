package console

import (
	"sync"
	"time"
)

// maxRevoked bounds the sessions a server remembers as signed out.
const maxRevoked = 10000

// revocations remembers the sessions signed out on this server process
// (by nonce) until they would have expired anyway, so a copy of a
// signed-out cookie is refused here. It is not shared: another replica
// accepts such a copy until the session's own limits. At maxRevoked, the
// expired entries are dropped first, then the one that expires soonest.
// Safe for concurrent use.
type revocations struct {
	mu sync.Mutex
	m  map[string]time.Time // nonce -> when the session expires at the latest
}

// revoke remembers the session with nonce as ended until expires.
func (r *revocations) revoke(nonce string, expires, now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.m == nil {
		r.m = map[string]time.Time{}
	}
	if len(r.m) >= maxRevoked {
		soonest, at := "", time.Time{}
		for n, e := range r.m {
			if !e.After(now) {
				delete(r.m, n)
			} else if soonest == "" || e.Before(at) {
				soonest, at = n, e
			}
		}
		if len(r.m) >= maxRevoked {
			delete(r.m, soonest)
		}
	}
	r.m[nonce] = expires
}

// revoked reports whether the session with nonce was signed out here.
func (r *revocations) revoked(nonce string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, ok := r.m[nonce]
	return ok
}
