package postgres

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"strconv"
	"sync"

	"github.com/rotorhq/rotor"
)

// Sync (rotor.ChangeSyncer).
//
// Each Store listens, beside changeChannel, on a channel of its own. Sync
// sends a numbered notification on it from a pool connection and waits for
// Watch to receive it. PostgreSQL delivers the notifications of committed
// transactions to a listener in commit order, whatever their channel: a
// write committed before Sync was called is committed before Sync's
// notification, so Watch has passed its change to fn (and fn returned)
// before it sees Sync's number.

var _ rotor.ChangeSyncer = (*Store)(nil)

// syncer is a Store's side of Sync.
type syncer struct {
	once    sync.Once
	channel string // this Store's own channel

	mu        sync.Mutex
	listening bool                  // a Watch is listening on channel
	sent      uint64                // the last number handed out
	waiting   map[uint64]chan error // by number, until it comes back
}

// syncChannel returns the store's own channel, made on first use.
func (s *Store) syncChannel() string {
	s.sync.once.Do(func() {
		var b [8]byte
		rand.Read(b[:])
		s.sync.channel = "rotor_sync_" + hex.EncodeToString(b[:])
		s.sync.waiting = map[uint64]chan error{}
	})
	return s.sync.channel
}

// Sync returns once Watch has passed to its fn every change committed
// before Sync was called. It returns EUNAVAILABLE at once when no Watch of
// this Store is listening, or when the listening connection is lost before
// the answer comes back; ctx's error when it ends first; the store's error
// when the notification cannot be sent.
func (s *Store) Sync(ctx context.Context) error {
	channel := s.syncChannel()
	s.sync.mu.Lock()
	if !s.sync.listening {
		s.sync.mu.Unlock()
		return errNotListening()
	}
	s.sync.sent++
	n := s.sync.sent
	ch := make(chan error, 1)
	s.sync.waiting[n] = ch
	s.sync.mu.Unlock()
	defer func() {
		s.sync.mu.Lock()
		delete(s.sync.waiting, n)
		s.sync.mu.Unlock()
	}()
	if _, err := s.pool.Exec(ctx, "SELECT pg_notify($1, $2)", channel, strconv.FormatUint(n, 10)); err != nil {
		return storeError(ctxErr(ctx, err), "change feed", "sync")
	}
	select {
	case err := <-ch:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

func errNotListening() error {
	return rotor.Errorf(rotor.EUNAVAILABLE, "The change feed is not listening to the database.")
}

// syncListening records whether a Watch listens on the store's channel;
// when it stops, every Sync waiting fails.
func (s *Store) syncListening(on bool) {
	s.sync.mu.Lock()
	defer s.sync.mu.Unlock()
	s.sync.listening = on
	if !on {
		for n, ch := range s.sync.waiting {
			ch <- errNotListening()
			delete(s.sync.waiting, n)
		}
	}
}

// syncArrived releases the Syncs numbered up to the one in payload: each
// of them was called before that number was handed out, so before its
// notification was committed.
func (s *Store) syncArrived(payload string) {
	n, err := strconv.ParseUint(payload, 10, 64)
	if err != nil {
		return
	}
	s.sync.mu.Lock()
	defer s.sync.mu.Unlock()
	for k, ch := range s.sync.waiting {
		if k <= n {
			ch <- nil
			delete(s.sync.waiting, k)
		}
	}
}
