package postgres_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rotorhq/rotor"
	"github.com/rotorhq/rotor/postgres"
	"github.com/rotorhq/rotor/postgres/pgtest"
)

// watcher runs s.Watch until the test ends, collecting the changes.
type watcher struct {
	changes chan rotor.Change
	done    chan error
	cancel  context.CancelFunc
}

func watch(t *testing.T, s *postgres.Store) *watcher {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	w := &watcher{changes: make(chan rotor.Change, 1000), done: make(chan error, 1), cancel: cancel}
	go func() { w.done <- s.Watch(ctx, func(c rotor.Change) { w.changes <- c }) }()
	t.Cleanup(func() {
		cancel()
		<-w.done
	})
	return w
}

// next returns the next change, failing t if none comes within 10 s.
func (w *watcher) next(t *testing.T) rotor.Change {
	t.Helper()
	select {
	case c := <-w.changes:
		return c
	case err := <-w.done:
		t.Fatalf("Watch returned %v while changes were expected", err)
	case <-time.After(10 * time.Second):
		t.Fatal("no change reported within 10 s")
	}
	return rotor.Change{}
}

// expect fails t unless the next changes are want, in order.
func (w *watcher) expect(t *testing.T, what string, want ...rotor.Change) {
	t.Helper()
	for _, c := range want {
		if got := w.next(t); got != c {
			t.Fatalf("%s: change %+v, want %+v", what, got, c)
		}
	}
}

func update(t *testing.T, s rotor.Store, fn func(tx rotor.Tx) error) {
	t.Helper()
	if err := s.Update(context.Background(), fn); err != nil {
		t.Fatalf("Update: %v", err)
	}
}

// TestChangeFeed writes through one Store and watches through another on
// the same database, as two servers would: every committed write is
// reported, by secret ARN or as auth data, and nothing else is.
func TestChangeFeed(t *testing.T) {
	a, dbURL := pgtest.Open(t, postgres.Options{})
	b, err := postgres.Open(context.Background(), dbURL, postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	w := watch(t, b)
	w.expect(t, "listening", rotor.Change{All: true})

	x, y, z := secretRec("x"), secretRec("y"), secretRec("z")
	update(t, a, func(tx rotor.Tx) error { return tx.CreateSecret(x) })
	w.expect(t, "a secret created on the other store", rotor.Change{SecretARN: x.ARN})

	// A rolled-back Update and one that only reads report nothing: the
	// next change is the identity written after them.
	errDeliberate := errors.New("deliberate")
	if err := a.Update(context.Background(), func(tx rotor.Tx) error {
		if err := tx.CreateSecret(y); err != nil {
			return err
		}
		return errDeliberate
	}); !errors.Is(err, errDeliberate) {
		t.Fatal(err)
	}
	update(t, a, func(tx rotor.Tx) error { _, err := tx.Secret(x.ARN); return err })
	update(t, a, func(tx rotor.Tx) error {
		return tx.CreateIdentity(&rotor.IdentityRecord{Name: "bob", Role: rotor.RoleNone})
	})
	w.expect(t, "an identity", rotor.Change{Auth: true})

	// One Update writing versions, labels and tags of two secrets and an
	// access key: each secret once, then auth.
	update(t, a, func(tx rotor.Tx) error {
		if err := tx.CreateSecret(z); err != nil {
			return err
		}
		if err := tx.CreateVersion(z.ARN, &rotor.VersionRecord{ID: "v1", Value: &rotor.Sealed{KeyID: "k", WrappedKey: []byte("w"), Ciphertext: []byte("c")}}); err != nil {
			return err
		}
		if err := tx.SetStage(z.ARN, rotor.StageCurrent, "v1"); err != nil {
			return err
		}
		x.Tags = []rotor.Tag{{Key: "k", Value: "v"}}
		if err := tx.UpdateSecret(x); err != nil {
			return err
		}
		return tx.CreateAccessKey(&rotor.AccessKeyRecord{AccessKeyID: "AKIAFEED", Identity: "bob", Status: "Active",
			Secret: rotor.Sealed{KeyID: "k", WrappedKey: []byte("w"), Ciphertext: []byte("c")}})
	})
	w.expect(t, "two secrets and an access key", rotor.Change{SecretARN: x.ARN}, rotor.Change{SecretARN: z.ARN}, rotor.Change{Auth: true})

	// The watching store's own writes are reported too; access dates
	// alone are not: z's access date is written first, and the next
	// change reported must be x's description.
	update(t, b, func(tx rotor.Tx) error { return tx.SetLastAccessed(z.ARN, "v1", t0) })
	x.Description = "watched"
	update(t, b, func(tx rotor.Tx) error { return tx.UpdateSecret(x) })
	w.expect(t, "the watching store's own write, not an access date", rotor.Change{SecretARN: x.ARN})

	// Too many secrets to name in one notification: All.
	update(t, a, func(tx rotor.Tx) error {
		for i := range 200 {
			if err := tx.CreateSecret(secretRec(fmt.Sprintf("bulk-%03d-%s", i, strings.Repeat("n", 40)))); err != nil {
				return err
			}
		}
		return nil
	})
	w.expect(t, "200 secrets in one Update", rotor.Change{All: true})

	// Watch ends with its context.
	w.cancel()
	select {
	case err := <-w.done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Watch after cancel = %v, want context.Canceled", err)
		}
		w.done <- err // for the cleanup
	case <-time.After(10 * time.Second):
		t.Fatal("Watch did not return after its context was cancelled")
	}
}

// TestChangeFeedReconnects kills the listener's backend: Watch reconnects,
// reports All (it may have missed changes), and later changes still
// arrive. Closing the store ends Watch with nil.
func TestChangeFeedReconnects(t *testing.T) {
	a, dbURL := pgtest.Open(t, postgres.Options{})
	var logged syncBuffer
	b, err := postgres.Open(context.Background(), dbURL, postgres.Options{Logger: slog.New(slog.NewTextHandler(&logged, nil))})
	if err != nil {
		t.Fatal(err)
	}
	w := watch(t, b)
	w.expect(t, "listening", rotor.Change{All: true})
	conn := pgtest.Connect(t, dbURL)

	for round := range 2 {
		var killed int
		if err := conn.QueryRow(context.Background(), `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
			WHERE datname = current_database() AND application_name = 'rotor-watch'`).Scan(&killed); err != nil {
			t.Fatal(err)
		}
		if killed != 1 {
			t.Fatalf("round %d: terminated %d listener backends, want 1", round, killed)
		}
		w.expect(t, "after the listener's backend was terminated", rotor.Change{All: true})
		sec := secretRec(fmt.Sprint("after-kill-", round))
		update(t, a, func(tx rotor.Tx) error { return tx.CreateSecret(sec) })
		w.expect(t, "a write after reconnecting", rotor.Change{SecretARN: sec.ARN})
	}

	if n := strings.Count(logged.String(), "change feed: connection to PostgreSQL lost"); n != 2 {
		t.Errorf("logged %d lost connections, want 2:\n%s", n, logged.String())
	}

	b.Close()
	select {
	case err := <-w.done:
		if err != nil {
			t.Errorf("Watch after Close = %v, want nil", err)
		}
		w.done <- err
	case <-time.After(10 * time.Second):
		t.Fatal("Watch did not return after the store was closed")
	}
}

// syncBuffer is a bytes.Buffer safe for concurrent use.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
