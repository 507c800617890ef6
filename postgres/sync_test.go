package postgres_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/rotorhq/rotor"
	"github.com/rotorhq/rotor/postgres"
	"github.com/rotorhq/rotor/postgres/pgtest"
)

// TestSync: once Sync returns, Watch has passed to its fn every change
// committed on another store before Sync was called — each time, with no
// wait between the write and the Sync. Without a listening Watch, Sync
// fails at once with EUNAVAILABLE.
func TestSync(t *testing.T) {
	a, dbURL := pgtest.Open(t, postgres.Options{})
	b, err := postgres.Open(context.Background(), dbURL, postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	ctx := context.Background()
	if err := b.Sync(ctx); rotor.ErrorCode(err) != rotor.EUNAVAILABLE {
		t.Fatalf("Sync without Watch = %v, want EUNAVAILABLE", err)
	}

	var mu sync.Mutex
	seen := map[string]bool{}
	listening := make(chan struct{}, 1)
	wctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- b.Watch(wctx, func(c rotor.Change) {
			if c.All {
				select {
				case listening <- struct{}{}:
				default:
				}
			}
			mu.Lock()
			seen[c.SecretARN] = true
			mu.Unlock()
		})
	}()
	t.Cleanup(func() { cancel(); <-done })
	select {
	case <-listening:
	case <-time.After(10 * time.Second):
		t.Fatal("Watch did not start listening")
	}
	for i := range 50 {
		rec := secretRec(fmt.Sprintf("sync-%d", i))
		update(t, a, func(tx rotor.Tx) error { return tx.CreateSecret(rec) })
		if err := b.Sync(ctx); err != nil {
			t.Fatalf("Sync %d: %v", i, err)
		}
		mu.Lock()
		ok := seen[rec.ARN]
		mu.Unlock()
		if !ok {
			t.Fatalf("write %d: Sync returned before Watch delivered the change committed before it", i)
		}
	}

	// Concurrent Syncs all return.
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for range 20 {
		wg.Go(func() { errs <- b.Sync(ctx) })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("concurrent Sync: %v", err)
		}
	}
}
