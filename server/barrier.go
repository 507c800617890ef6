package server

import (
	"context"
	"sync"
)

// barrier shares rotor.ChangeSyncer.Sync calls among concurrent callers:
// a caller waits for the first Sync that starts after it arrived, and one
// Sync serves every caller waiting when it starts. Under load that is one
// round trip to the database for a whole batch of requests.
type barrier struct {
	sync func(context.Context) error

	mu      sync.Mutex
	running bool
	waiting []chan error // callers for the next Sync
}

// wait returns once a Sync begun after the call has returned, with its
// error, or with ctx's error.
func (b *barrier) wait(ctx context.Context) error {
	ch := make(chan error, 1)
	b.mu.Lock()
	b.waiting = append(b.waiting, ch)
	if !b.running {
		b.running = true
		go b.loop()
	}
	b.mu.Unlock()
	select {
	case err := <-ch:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// loop runs Syncs while callers wait, each for the callers that arrived
// before it started.
func (b *barrier) loop() {
	for {
		b.mu.Lock()
		batch := b.waiting
		b.waiting = nil
		if len(batch) == 0 {
			b.running = false
			b.mu.Unlock()
			return
		}
		b.mu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), barrierTimeout)
		err := b.sync(ctx)
		cancel()
		for _, ch := range batch {
			ch <- err
		}
	}
}

// queued is how many callers wait for the next Sync (for tests).
func (b *barrier) queued() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.waiting)
}
