package rotor

import "context"

// Change is one committed write as a store shared by several servers
// reports it, so that every server drops what its caches hold of it.
type Change struct {
	// SecretARN is the secret whose metadata, versions, labels or policy
	// changed; "" when the change touched no secret. A write of access
	// dates alone (Tx.SetLastAccessed) is not reported: it is day-granular
	// bookkeeping that every read would otherwise turn into a cache drop
	// on every server (each server's first reads of a day would evict the
	// hot set everywhere); other servers show the new date once their
	// cached copy reaches its maximum age.
	SecretARN string
	// Auth is true when identities, access keys or identity policies
	// changed.
	Auth bool
	// All is true when changes may have been missed (the feed lost its
	// connection, or a write touched too much to name): drop every cache.
	All bool
}

// ChangeFeed is implemented by a Store that several servers share. Watch
// calls fn, one call at a time, for each change any server commits (this
// one included), until ctx ends or the store is closed; it then returns
// ctx's error or nil. When it may have missed changes (a lost connection),
// it calls fn with All set before it reports later ones. A store used by
// one server alone does not implement it.
type ChangeFeed interface {
	Watch(ctx context.Context, fn func(Change)) error
}

// ChangeSyncer is implemented by a ChangeFeed that can say when it has
// caught up. Sync returns nil once Watch has called fn (and fn has
// returned) for every change committed before Sync was called: a server
// that calls Sync before it answers a request from its caches answers with
// every write any server acknowledged before the request arrived. Sync
// returns an error at once when Watch is not listening (changes may be
// missed then; the caller falls back on its caches' maximum age), and when
// ctx ends first.
type ChangeSyncer interface {
	Sync(ctx context.Context) error
}
