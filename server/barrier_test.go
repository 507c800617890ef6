package server

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
)

// TestBarrierWaitsForALaterSync: a caller that arrives while a Sync is
// running is not released by it, only by the next one, which it shares
// with every caller that arrived meanwhile; a Sync's error reaches its
// callers.
func TestBarrierWaitsForALaterSync(t *testing.T) {
	var calls atomic.Int64
	started := make(chan struct{})
	release := make(chan error)
	b := &barrier{sync: func(context.Context) error {
		calls.Add(1)
		started <- struct{}{}
		return <-release
	}}
	ctx := context.Background()

	first := make(chan error, 1)
	go func() { first <- b.wait(ctx) }()
	<-started // Sync 1 runs, for the first caller only

	const late = 5
	var wg sync.WaitGroup
	lateErrs := make(chan error, late)
	for range late {
		wg.Go(func() { lateErrs <- b.wait(ctx) })
	}
	// Let the late callers queue up behind Sync 1 (they cannot be
	// released before Sync 2 runs, which needs release again).
	for b.queued() < late {
		runtime.Gosched()
	}
	release <- nil
	if err := <-first; err != nil {
		t.Fatalf("first caller: %v", err)
	}
	<-started // Sync 2, for the late callers
	boom := errors.New("feed down")
	release <- boom
	wg.Wait()
	close(lateErrs)
	for err := range lateErrs {
		if err != boom {
			t.Errorf("late caller got %v, want Sync 2's error", err)
		}
	}
	if calls.Load() != 2 {
		t.Errorf("%d Syncs for 1 + %d callers, want 2", calls.Load(), late)
	}
}

// TestBarrierContext: a caller whose context ends stops waiting.
func TestBarrierContext(t *testing.T) {
	block := make(chan struct{})
	b := &barrier{sync: func(context.Context) error { <-block; return nil }}
	defer close(block)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := b.wait(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("wait = %v, want context.Canceled", err)
	}
}
