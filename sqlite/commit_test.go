package sqlite_test

import (
	"context"
	"fmt"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/rotorhq/rotor"
	"github.com/rotorhq/rotor/sqlite"
)

// queueUpdates starts n Updates, each creating sec(i) and then failing
// when fails(i), while another Update holds the writer; once all n wait
// for the writer it calls release, and it returns each Update's result.
func queueUpdates(s *sqlite.Store, n int, sec func(int) *rotor.SecretRecord, fails func(int) bool, release func()) []error {
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			errs[i] = s.Update(context.Background(), func(tx rotor.Tx) error {
				if err := tx.CreateSecret(sec(i)); err != nil {
					return err
				}
				if fails(i) {
					return fmt.Errorf("fn %d fails", i)
				}
				return nil
			})
		})
	}
	for sqlite.Waiting(s) < n {
		runtime.Gosched()
	}
	release()
	wg.Wait()
	return errs
}

// TestGroupCommit counts commits, not time: Updates queued behind the
// writer share one COMMIT (one fsync), each is durable once it returns
// (the file, reopened, holds them all), and Updates one after another
// commit one by one.
func TestGroupCommit(t *testing.T) {
	const queued = 16
	path := filepath.Join(t.TempDir(), "rotor.db")
	s, err := sqlite.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	sec := func(i int) *rotor.SecretRecord {
		name := fmt.Sprintf("group-%02d", i)
		return &rotor.SecretRecord{ARN: rotor.SecretARN("us-east-1", "123456789012", name, "abcdef"), Region: "us-east-1", Name: name}
	}

	holding, release := make(chan struct{}), make(chan struct{})
	first := make(chan error, 1)
	go func() {
		first <- s.Update(ctx, func(tx rotor.Tx) error {
			close(holding)
			<-release
			return tx.CreateSecret(sec(queued))
		})
	}()
	<-holding
	errs := queueUpdates(s, queued, sec, func(i int) bool { return i%5 == 0 }, func() { close(release) })
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	ok := 1 // the first
	for i, err := range errs {
		if (err != nil) != (i%5 == 0) {
			t.Errorf("update %d: err = %v", i, err)
		}
		if err == nil {
			ok++
		}
	}
	if st := s.Stats(); st.Commits != 1 || st.Updates != int64(ok) {
		t.Errorf("Stats = %+v, want 1 commit carrying %d updates", st, ok)
	}

	// One after another: one commit each.
	for i := queued + 1; i < queued+4; i++ {
		if err := s.Update(ctx, func(tx rotor.Tx) error { return tx.CreateSecret(sec(i)) }); err != nil {
			t.Fatal(err)
		}
	}
	if st := s.Stats(); st.Commits != 4 || st.Updates != int64(ok+3) {
		t.Errorf("Stats = %+v, want 4 commits carrying %d updates", st, ok+3)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = mustOpen(t, path)
	if err := s.View(ctx, func(tx rotor.Tx) error {
		for i := range queued + 4 {
			_, err := tx.Secret(sec(i).ARN)
			if want := i < queued && i%5 == 0; want != (rotor.ErrorCode(err) == rotor.ENOTFOUND) {
				t.Errorf("after reopening, secret %d: err = %v", i, err)
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

// TestGroupCommitCancelledWaiters stresses the hand-off between callers
// while some give up waiting (their context ends): every Update returns,
// each one that returned nil is stored, each that failed left nothing, and
// the writer is free at the end.
func TestGroupCommitCancelledWaiters(t *testing.T) {
	s := mustOpen(t, filepath.Join(t.TempDir(), "rotor.db"))
	const workers, each = 16, 25
	var wg sync.WaitGroup
	ok := make([][]bool, workers)
	for w := range workers {
		ok[w] = make([]bool, each)
		wg.Go(func() {
			for i := range each {
				ctx, cancel := context.WithCancel(context.Background())
				if (w+i)%3 == 0 {
					go func() { runtime.Gosched(); cancel() }()
				}
				name := fmt.Sprintf("cancel-%02d-%02d", w, i)
				err := s.Update(ctx, func(tx rotor.Tx) error {
					return tx.CreateSecret(&rotor.SecretRecord{ARN: rotor.SecretARN("us-east-1", "123456789012", name, "abcdef"), Region: "us-east-1", Name: name})
				})
				cancel()
				ok[w][i] = err == nil
			}
		})
	}
	wg.Wait()
	if err := s.Update(context.Background(), func(rotor.Tx) error { return nil }); err != nil {
		t.Fatalf("Update after the storm: %v", err)
	}
	if err := s.View(context.Background(), func(tx rotor.Tx) error {
		for w := range workers {
			for i := range each {
				name := fmt.Sprintf("cancel-%02d-%02d", w, i)
				_, err := tx.Secret(rotor.SecretARN("us-east-1", "123456789012", name, "abcdef"))
				if stored := err == nil; stored != ok[w][i] {
					t.Errorf("%s: stored = %v (%v), but Update reported success = %v", name, stored, err, ok[w][i])
				}
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

// TestGroupCommitFirstMemberFails covers the first Update of a batch, which
// runs without a savepoint: when it fails (returns an error, panics, or
// calls runtime.Goexit) after writing, the whole transaction is rolled
// back, nothing of it is kept, and the Updates queued behind it run in a
// new batch that commits once, their failing ones (in savepoints)
// excepted.
func TestGroupCommitFirstMemberFails(t *testing.T) {
	for _, how := range []string{"error", "panic", "goexit"} {
		t.Run(how, func(t *testing.T) {
			const queued = 6
			s := mustOpen(t, filepath.Join(t.TempDir(), "rotor.db"))
			ctx := context.Background()
			sec := func(i int) *rotor.SecretRecord {
				name := fmt.Sprintf("first-%02d", i)
				return &rotor.SecretRecord{ARN: rotor.SecretARN("us-east-1", "123456789012", name, "abcdef"), Region: "us-east-1", Name: name}
			}
			holding, release := make(chan struct{}), make(chan struct{})
			first := make(chan error, 1)
			go func() {
				defer close(first)
				defer func() { recover() }()
				first <- s.Update(ctx, func(tx rotor.Tx) error {
					close(holding)
					<-release
					if err := tx.CreateSecret(sec(queued)); err != nil {
						return err
					}
					switch how {
					case "panic":
						panic("fn panics")
					case "goexit":
						runtime.Goexit()
					}
					return fmt.Errorf("the first fails")
				})
			}()
			<-holding
			errs := queueUpdates(s, queued, sec, func(i int) bool { return i%3 == 1 }, func() { close(release) })
			if err, ok := <-first; ok && (how != "error" || err == nil) {
				t.Errorf("the first Update returned %v", err)
			}
			ok := 0
			for i, err := range errs {
				if (err != nil) != (i%3 == 1) {
					t.Errorf("update %d: err = %v", i, err)
				}
				if err == nil {
					ok++
				}
			}
			if st := s.Stats(); st.Commits != 1 || st.Updates != int64(ok) {
				t.Errorf("Stats = %+v, want 1 commit carrying %d updates", st, ok)
			}
			if err := s.View(ctx, func(tx rotor.Tx) error {
				for i := range queued + 1 {
					_, err := tx.Secret(sec(i).ARN)
					if want := i == queued || i%3 == 1; want != (rotor.ErrorCode(err) == rotor.ENOTFOUND) {
						t.Errorf("secret %d: err = %v", i, err)
					}
				}
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			// The writer is free and works.
			if err := s.Update(ctx, func(tx rotor.Tx) error { return tx.CreateSecret(sec(queued)) }); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestWriterBusy: the writer's busy time counts each holder's turn, from
// taking the writer to handing it on or committing, and no more than the
// time that passed.
func TestWriterBusy(t *testing.T) {
	s, err := sqlite.Open(filepath.Join(t.TempDir(), "rotor.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	start := time.Now()
	if got := s.Stats().WriterBusy; got != 0 {
		t.Fatalf("WriterBusy = %v before any Update", got)
	}
	const hold = 30 * time.Millisecond
	for range 2 {
		if err := s.Update(context.Background(), func(rotor.Tx) error { time.Sleep(hold); return nil }); err != nil {
			t.Fatal(err)
		}
	}
	// A failed Update held the writer too.
	s.Update(context.Background(), func(rotor.Tx) error { time.Sleep(hold); return fmt.Errorf("fails") })
	got := s.Stats().WriterBusy
	if got < 3*hold || got > time.Since(start) {
		t.Errorf("WriterBusy = %v after three Updates holding the writer %v each, in %v", got, hold, time.Since(start))
	}
}
