package manager

import (
	"context"
	"errors"

	"github.com/rotorhq/rotor"
)

// preloadBatchSize is the number of secrets PreloadCache reads per
// statement: large enough that a statement's fixed cost is small against
// its rows, small enough that the read holds little memory at a time. A
// variable for tests.
var preloadBatchSize = 512

// PreloadStats says what PreloadCache did.
type PreloadStats struct {
	Cached  int   // secrets added to the cache
	Scanned int   // secrets read from the store
	Bytes   int64 // the cache's usage when it stopped
	Full    bool  // it stopped because the cache had no room left
}

// PreloadCache reads secrets from the store into the cache until the cache
// is full or every secret has been read, so that a server that just
// started answers reads from memory instead of sending each first read of
// a secret to the store. Secrets are read in ARN order, in batches of one
// snapshot each; a secret invalidated while its batch was read, or already
// cached, is left as it is, and nothing already cached is evicted (secrets
// the service read on its own take precedence); a secret too large for the
// room left is passed over, and the cache counts as full once
// preloadMaxMisfits in a row were. It stops early, returning
// ctx's error, when ctx is done.
//
// A store without rotor.SecretScanner is not pre-read (PreloadStats is
// zero). A disabled cache (Config.CacheMaxBytes < 0) reads nothing either.
func (s *Service) PreloadCache(ctx context.Context) (PreloadStats, error) {
	var st PreloadStats
	sc, ok := s.store.(rotor.SecretScanner)
	if !ok || s.cache.maxBytes <= 0 {
		return st, nil
	}
	after, misfits := "", 0
	for {
		if err := ctx.Err(); err != nil {
			st.Bytes = s.cache.usage()
			return st, err
		}
		r, last, n, err := s.preloadBatch(ctx, sc, after, &misfits)
		st.Scanned += n
		st.Cached += r.cached
		if err != nil {
			st.Bytes = s.cache.usage()
			return st, err
		}
		if r.full || n < preloadBatchSize {
			st.Full, st.Bytes = r.full, s.cache.usage()
			return st, nil
		}
		after = last
	}
}

// preloadMaxMisfits is how many secrets in a row PreloadCache lets go by
// for want of room before it calls the cache full: one large secret does
// not end the preload while smaller ones still fit.
const preloadMaxMisfits = 16

// preloadResult is one batch's outcome.
type preloadResult struct {
	cached int
	full   bool
}

// preloadBatch reads the secrets after after into the cache and returns
// what it cached, the last ARN read and the number of secrets read;
// *misfits counts the secrets in a row that found no room.
func (s *Service) preloadBatch(ctx context.Context, sc rotor.SecretScanner, after string, misfits *int) (preloadResult, string, int, error) {
	var r preloadResult
	expires := s.cache.expiry() // before the snapshot, as in lookup
	gen := s.cache.begin()
	defer s.cache.end()
	batch, err := sc.ScanSecrets(ctx, after, preloadBatchSize)
	if err != nil {
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) || ctx.Err() != nil {
			return r, after, 0, ctx.Err()
		}
		return r, after, 0, internal("preload cache", err)
	}
	for _, ss := range batch {
		e := newPacked(ss.Record, ss.Versions)
		e.expires = expires
		added, full := s.cache.preload(gen, e)
		if !full {
			*misfits = 0
		} else if *misfits++; *misfits >= preloadMaxMisfits {
			r.full = true
			break
		}
		if added {
			r.cached++
		}
	}
	last := after
	if len(batch) > 0 {
		last = batch[len(batch)-1].Record.ARN
	}
	return r, last, len(batch), nil
}
