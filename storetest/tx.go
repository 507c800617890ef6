package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/rotorhq/rotor"
)

var errDeliberate = errors.New("storetest: deliberate failure")

// fillEverything writes one of every kind of row; used to show that a
// rolled-back transaction keeps none of them.
func fillEverything(tx rotor.Tx, sec *rotor.SecretRecord) error {
	if err := tx.CreateSecret(sec); err != nil {
		return err
	}
	if err := tx.CreateVersion(sec.ARN, &rotor.VersionRecord{ID: "v1", Value: sealed("kek-tx", "v1"), CreatedDate: at(1)}); err != nil {
		return err
	}
	if err := tx.SetStage(sec.ARN, rotor.StageCurrent, "v1"); err != nil {
		return err
	}
	if err := tx.CreateIdentity(identity("tx-identity", rotor.RoleAdmin, 1)); err != nil {
		return err
	}
	if err := tx.CreateRun(newRun("tx-run", sec, rotor.RunPending, 1)); err != nil {
		return err
	}
	if err := tx.AddStep(&rotor.StepRecord{RunID: "tx-run", Step: rotor.StepCreate, Attempt: 1, Started: at(1), Outcome: "ok"}); err != nil {
		return err
	}
	return tx.CreateAccessKey(accessKey("AKIATX0000000000001", "tx-identity", "kek-tx", 1))
}

// assertNothing fails t if anything fillEverything writes is stored.
func assertNothing(t *testing.T, s rotor.Store, sec *rotor.SecretRecord) {
	t.Helper()
	view(t, s, func(tx rotor.Tx) error {
		if _, err := tx.Secret(sec.ARN); rotor.ErrorCode(err) != rotor.ENOTFOUND {
			t.Errorf("Secret: err = %v, want ENOTFOUND (nothing kept)", err)
		}
		if all, err := tx.Secrets(sec.Region); err != nil || len(all) != 0 {
			t.Errorf("Secrets = %d, %v; want none", len(all), err)
		}
		if _, err := tx.Identity("tx-identity"); rotor.ErrorCode(err) != rotor.ENOTFOUND {
			t.Errorf("Identity: err = %v, want ENOTFOUND (nothing kept)", err)
		}
		if keys, err := tx.AccessKeys(""); err != nil || len(keys) != 0 {
			t.Errorf("AccessKeys = %d, %v; want none", len(keys), err)
		}
		if n, err := tx.CountSealedByKey("kek-tx"); err != nil || n != 0 {
			t.Errorf("CountSealedByKey = %d, %v; want 0", n, err)
		}
		if _, err := tx.Run("tx-run"); rotor.ErrorCode(err) != rotor.ENOTFOUND {
			t.Errorf("Run: err = %v, want ENOTFOUND (nothing kept)", err)
		}
		if runs, err := tx.RunsWithStatus(rotor.RunPending); err != nil || len(runs) != 0 {
			t.Errorf("RunsWithStatus(pending) = %d, %v; want none", len(runs), err)
		}
		return nil
	})
}

func testTxRollbackOnError(t *testing.T, s rotor.Store) {
	sec := fullSecret(region1, "rolled-back", "r", 1)
	err := s.Update(context.Background(), func(tx rotor.Tx) error {
		if err := fillEverything(tx, sec); err != nil {
			return err
		}
		// The transaction sees its own writes.
		if _, err := tx.Version(sec.ARN, "v1"); err != nil {
			return fmt.Errorf("own write not visible: %w", err)
		}
		return errDeliberate
	})
	if !errors.Is(err, errDeliberate) {
		t.Fatalf("Update returned %v, want fn's error", err)
	}
	assertNothing(t, s, sec)

	// The rows can now be created for real.
	update(t, s, func(tx rotor.Tx) error { return fillEverything(tx, sec) })
	sameSecret(t, "secret committed after a rollback", getSecret(t, s, sec.ARN), sec)
}

func testTxRollbackOnPanic(t *testing.T, s rotor.Store) {
	sec := secret(region1, "panicked", at(1))
	func() {
		defer func() {
			if r := recover(); r != errDeliberate {
				t.Errorf("recovered %v, want the panic to propagate from Update", r)
			}
		}()
		s.Update(context.Background(), func(tx rotor.Tx) error {
			if err := fillEverything(tx, sec); err != nil {
				return err
			}
			panic(errDeliberate)
		})
	}()
	assertNothing(t, s, sec)
	// The writer is free again: a panicking fn must not hold it.
	update(t, s, func(tx rotor.Tx) error { return fillEverything(tx, sec) })
}

func testTxViewIsolation(t *testing.T, s rotor.Store) {
	ctx := context.Background()
	sec := secret(region1, "in-flight", at(1))
	written, release := make(chan struct{}), make(chan struct{})
	releaseOnce := sync.OnceFunc(func() { close(release) })
	defer releaseOnce()
	done := make(chan error, 1)
	go func() {
		done <- s.Update(ctx, func(tx rotor.Tx) error {
			if err := tx.CreateSecret(sec); err != nil {
				return err
			}
			close(written)
			<-release
			return nil
		})
	}()
	select {
	case <-written:
	case err := <-done:
		t.Fatalf("Update ended before writing: %v", err)
	}

	// The Update has written but not committed: a View does not see it.
	viewCode(t, s, "SecretByName(uncommitted)", rotor.ENOTFOUND, func(tx rotor.Tx) error {
		_, err := tx.SecretByName(region1, sec.Name)
		return err
	})
	view(t, s, func(tx rotor.Tx) error {
		if all, err := tx.Secrets(region1); err != nil || len(all) != 0 {
			t.Errorf("Secrets during an uncommitted Update = %d, %v; want none", len(all), err)
		}
		return nil
	})

	releaseOnce()
	if err := <-done; err != nil {
		t.Fatalf("Update: %v", err)
	}
	sameSecret(t, "secret after commit", getSecret(t, s, sec.ARN), sec)
}

func testTxViewSnapshot(t *testing.T, s rotor.Store) {
	ctx := context.Background()
	a := fullSecret(region1, "a", "a", 1)
	createSecrets(t, s, a)
	b := secret(region1, "b", at(2))
	changedA := *a
	changedA.Description = "changed while a View was open"

	started, committed := make(chan struct{}), make(chan struct{})
	committedOnce := sync.OnceFunc(func() { close(committed) })
	defer committedOnce()
	done := make(chan error, 1)
	go func() {
		done <- s.View(ctx, func(tx rotor.Tx) error {
			before, err := tx.Secrets(region1)
			if err != nil {
				return err
			}
			close(started)
			<-committed
			after, err := tx.Secrets(region1)
			if err != nil {
				return err
			}
			if len(before) != 1 || len(after) != 1 {
				return fmt.Errorf("snapshot changed: %d secrets, then %d after a concurrent commit", len(before), len(after))
			}
			if after[0].Description != a.Description {
				return fmt.Errorf("snapshot changed: description %q after a concurrent commit, want %q", after[0].Description, a.Description)
			}
			if _, err := tx.Secret(b.ARN); rotor.ErrorCode(err) != rotor.ENOTFOUND {
				return fmt.Errorf("snapshot sees a secret committed after it began: err = %v", err)
			}
			return nil
		})
	}()
	select {
	case <-started:
	case err := <-done:
		t.Fatalf("View ended early: %v", err)
	}
	update(t, s, func(tx rotor.Tx) error {
		if err := tx.CreateSecret(b); err != nil {
			return err
		}
		return tx.UpdateSecret(&changedA)
	})
	committedOnce()
	if err := <-done; err != nil {
		t.Error(err)
	}
	// A new View sees the commit.
	sameSecret(t, "a in a later View", getSecret(t, s, a.ARN), &changedA)
	sameSecret(t, "b in a later View", getSecret(t, s, b.ARN), b)
}

func testTxViewReadOnly(t *testing.T, s rotor.Store) {
	sec := secret(region1, "written-in-view", at(1))
	err := s.View(context.Background(), func(tx rotor.Tx) error { return tx.CreateSecret(sec) })
	if err == nil {
		t.Error("CreateSecret inside View succeeded, want an error")
	}
	// Even if fn ignores the error, nothing is written.
	s.View(context.Background(), func(tx rotor.Tx) error {
		tx.CreateSecret(sec)
		tx.CreateIdentity(identity("viewer", rotor.RoleAdmin, 1))
		return nil
	})
	view(t, s, func(tx rotor.Tx) error {
		if _, err := tx.Secret(sec.ARN); rotor.ErrorCode(err) != rotor.ENOTFOUND {
			t.Errorf("secret written inside View: err = %v, want ENOTFOUND", err)
		}
		if _, err := tx.Identity("viewer"); rotor.ErrorCode(err) != rotor.ENOTFOUND {
			t.Errorf("identity written inside View: err = %v, want ENOTFOUND", err)
		}
		return nil
	})
}

func testTxContextCanceled(t *testing.T, s rotor.Store) {
	canceled, cancel := context.WithCancel(context.Background())
	cancel()

	sec := secret(region1, "canceled", at(1))
	err := s.Update(canceled, func(tx rotor.Tx) error { return fillEverything(tx, sec) })
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Update(canceled ctx) = %v, want an error wrapping context.Canceled", err)
	}
	err = s.View(canceled, func(tx rotor.Tx) error {
		_, err := tx.Secrets(region1)
		return err
	})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("View(canceled ctx) = %v, want an error wrapping context.Canceled", err)
	}
	assertNothing(t, s, sec)

	// Canceled inside fn, which then returns nil: nothing is committed.
	ctx, cancel := context.WithCancel(context.Background())
	err = s.Update(ctx, func(tx rotor.Tx) error {
		if err := fillEverything(tx, sec); err != nil {
			return err
		}
		cancel()
		return nil
	})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Update whose ctx is canceled before it returns = %v, want an error wrapping context.Canceled", err)
	}
	assertNothing(t, s, sec)

	// Canceled while waiting for another Update to finish: it gives up
	// without waiting for the writer.
	holding, release := make(chan struct{}), make(chan struct{})
	releaseOnce := sync.OnceFunc(func() { close(release) })
	defer releaseOnce()
	first := make(chan error, 1)
	go func() {
		first <- s.Update(context.Background(), func(tx rotor.Tx) error {
			close(holding)
			<-release
			return nil
		})
	}()
	select {
	case <-holding:
	case err := <-first:
		t.Fatalf("first Update ended early: %v", err)
	}
	ctx, cancel = context.WithCancel(context.Background())
	second := make(chan error, 1)
	go func() {
		second <- s.Update(ctx, func(tx rotor.Tx) error { return fillEverything(tx, sec) })
	}()
	cancel()
	if err := <-second; !errors.Is(err, context.Canceled) {
		t.Errorf("Update canceled while another held the writer = %v, want an error wrapping context.Canceled", err)
	}
	releaseOnce()
	if err := <-first; err != nil {
		t.Fatalf("first Update: %v", err)
	}
	assertNothing(t, s, sec)

	// The store still works.
	update(t, s, func(tx rotor.Tx) error { return fillEverything(tx, sec) })
}

func testTxReturnedSlicesOwned(t *testing.T, s rotor.Store) {
	sec := fullSecret(region1, "owned", "o", 1)
	createSecrets(t, s, sec)
	createIdentities(t, s, []*rotor.IdentityRecord{identity("owner", rotor.RoleAdmin, 1)},
		[]*rotor.AccessKeyRecord{accessKey("AKIAOWNED0000000001", "owner", "kek", 2)})
	update(t, s, func(tx rotor.Tx) error {
		if err := tx.CreateVersion(sec.ARN, &rotor.VersionRecord{ID: "v1", Value: sealed("kek", "owned"), CreatedDate: at(2)}); err != nil {
			return err
		}
		return tx.SetStage(sec.ARN, rotor.StageCurrent, "v1")
	})

	scribble := func(b []byte) {
		for i := range b {
			b[i] ^= 0x5a
		}
	}
	view(t, s, func(tx rotor.Tx) error {
		got, err := tx.Secret(sec.ARN)
		if err != nil {
			return err
		}
		got.Tags[0].Key = "scribbled"
		v, err := tx.Version(sec.ARN, "v1")
		if err != nil {
			return err
		}
		scribble(v.Value.Ciphertext)
		scribble(v.Value.WrappedKey)
		v.Stages[0] = "scribbled"
		k, err := tx.AccessKey("AKIAOWNED0000000001")
		if err != nil {
			return err
		}
		scribble(k.Secret.Ciphertext)
		refs, err := tx.SealedByKey("kek", 10)
		if err != nil {
			return err
		}
		for _, r := range refs {
			scribble(r.Sealed.Ciphertext)
		}
		return nil
	})

	sameSecret(t, "secret after scribbling on a returned copy", getSecret(t, s, sec.ARN), sec)
	view(t, s, func(tx rotor.Tx) error {
		v, err := tx.Version(sec.ARN, "v1")
		if err != nil {
			t.Fatalf("Version: %v", err)
		}
		sameVersion(t, "version after scribbling on a returned copy", v,
			&rotor.VersionRecord{ID: "v1", Value: sealed("kek", "owned"), Stages: []string{rotor.StageCurrent}, CreatedDate: at(2)})
		k, err := tx.AccessKey("AKIAOWNED0000000001")
		if err != nil {
			t.Fatalf("AccessKey: %v", err)
		}
		if !bytes.Equal(k.Secret.Ciphertext, sealed("kek", "key-AKIAOWNED0000000001").Ciphertext) {
			t.Errorf("access key ciphertext changed by scribbling on a returned copy")
		}
		return nil
	})
}

// testTxConcurrency runs many concurrent Updates that each do what
// PutSecretValue does: create a version, move AWSCURRENT and AWSPREVIOUS
// (and sometimes custom labels) and prune old unlabelled versions, while
// Views check the label invariant. Each Update stamps its version one second
// after the newest it saw, so if writes are serialised the newest version at
// the end is stamped at(number of commits - 1).
func testTxConcurrency(t *testing.T, s rotor.Store) {
	const workers, iterations, keepDeprecated = 16, 50, 5
	ctx := context.Background()
	sec := secret(region1, "contended", at(0))
	createSecrets(t, s, sec)
	update(t, s, func(tx rotor.Tx) error {
		if err := tx.CreateVersion(sec.ARN, &rotor.VersionRecord{ID: "v0", Value: sealed("kek", "v0"), CreatedDate: at(0)}); err != nil {
			return err
		}
		return tx.SetStage(sec.ARN, rotor.StageCurrent, "v0")
	})

	// checkCurrent returns an error unless labels are unique and AWSCURRENT
	// is on the newest version.
	checkCurrent := func(vs []*rotor.VersionRecord) error {
		if err := checkLabelsUnique(vs); err != nil {
			return err
		}
		current := stageMap(vs)[rotor.StageCurrent]
		if len(vs) == 0 || len(current) != 1 || current[0] != vs[len(vs)-1].ID {
			return fmt.Errorf("AWSCURRENT on %v, want it on the newest of %v", current, versionIDs(vs))
		}
		return nil
	}

	var (
		mu         sync.Mutex
		committed  = map[string]bool{"v0": true}
		pruned     = map[string]bool{} // by committed Updates
		rolledBack = map[string]bool{}
		wg         sync.WaitGroup
		errs       = make(chan error, workers*iterations*2)
	)
	for w := range workers {
		wg.Go(func() {
			for i := range iterations {
				id := fmt.Sprintf("w%02d-i%02d", w, i)
				rollback := (w+i)%7 == 0
				var prunedHere []string
				err := s.Update(ctx, func(tx rotor.Tx) error {
					prunedHere = nil
					vs, err := tx.Versions(sec.ARN)
					if err != nil {
						return err
					}
					if err := checkCurrent(vs); err != nil {
						return fmt.Errorf("before the move: %w", err)
					}
					newest := vs[len(vs)-1]
					v := &rotor.VersionRecord{ID: id, Value: sealed("kek", id), CreatedDate: newest.CreatedDate.Add(time.Second)}
					if err := tx.CreateVersion(sec.ARN, v); err != nil {
						return err
					}
					if err := tx.SetStage(sec.ARN, rotor.StagePrevious, newest.ID); err != nil {
						return err
					}
					if err := tx.SetStage(sec.ARN, rotor.StageCurrent, id); err != nil {
						return err
					}
					if i%3 == 0 {
						if err := tx.SetStage(sec.ARN, fmt.Sprintf("custom-%d", w%4), id); err != nil {
							return err
						}
					}
					if i%5 == 4 {
						if err := tx.RemoveStage(sec.ARN, fmt.Sprintf("custom-%d", (w+1)%4)); err != nil {
							return err
						}
					}
					// Prune all but the newest few unlabelled versions.
					if vs, err = tx.Versions(sec.ARN); err != nil {
						return err
					}
					if err := checkCurrent(vs); err != nil {
						return fmt.Errorf("after the move: %w", err)
					}
					var unlabelled []string
					for _, v := range vs {
						if len(v.Stages) == 0 {
							unlabelled = append(unlabelled, v.ID)
						}
					}
					if n := len(unlabelled) - keepDeprecated; n > 0 {
						prunedHere = unlabelled[:n]
						if err := tx.DeleteVersions(sec.ARN, prunedHere); err != nil {
							return err
						}
					}
					if rollback {
						return errDeliberate
					}
					return nil
				})
				switch {
				case err == nil:
					mu.Lock()
					committed[id] = true
					for _, p := range prunedHere {
						pruned[p] = true
					}
					mu.Unlock()
				case rollback && errors.Is(err, errDeliberate):
					mu.Lock()
					rolledBack[id] = true
					mu.Unlock()
				default:
					errs <- fmt.Errorf("Update %s: %w", id, err)
				}

				err = s.View(ctx, func(tx rotor.Tx) error {
					vs, err := tx.Versions(sec.ARN)
					if err != nil {
						return err
					}
					return checkCurrent(vs)
				})
				if err != nil {
					errs <- fmt.Errorf("View after %s: %w", id, err)
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if len(rolledBack) == 0 || len(committed) < 3 || len(pruned) == 0 {
		t.Fatalf("test did not exercise every outcome: %d committed, %d rolled back, %d pruned",
			len(committed), len(rolledBack), len(pruned))
	}

	vs := getVersions(t, s, sec.ARN)
	if err := checkCurrent(vs); err != nil {
		t.Error(err)
	}
	present := map[string]bool{}
	for i, v := range vs {
		present[v.ID] = true
		if i > 0 && !v.CreatedDate.After(vs[i-1].CreatedDate) {
			t.Errorf("versions %s and %s are both stamped %v: two Updates saw the same newest version", vs[i-1].ID, v.ID, v.CreatedDate)
		}
		if rolledBack[v.ID] {
			t.Errorf("version %s of a rolled-back Update was kept", v.ID)
		}
		if pruned[v.ID] {
			t.Errorf("version %s was pruned by a committed Update but is still there", v.ID)
		}
		if !committed[v.ID] {
			t.Errorf("version %s is stored but was never committed", v.ID)
		}
		if v.Value == nil || !bytes.Equal(v.Value.Ciphertext, sealed("kek", v.ID).Ciphertext) {
			t.Errorf("version %s has the wrong value", v.ID)
		}
	}
	for id := range committed {
		if !present[id] && !pruned[id] {
			t.Errorf("committed version %s was lost", id)
		}
	}
	if newest := vs[len(vs)-1]; !newest.CreatedDate.Equal(at(len(committed) - 1)) {
		t.Errorf("newest version %s stamped %v, want %v after %d commits: some Update did not see every earlier commit",
			newest.ID, newest.CreatedDate, at(len(committed)-1), len(committed)-1)
	}
	if previous := stageMap(vs)[rotor.StagePrevious]; len(vs) < 2 || !slices.Equal(previous, []string{vs[len(vs)-2].ID}) {
		t.Errorf("AWSPREVIOUS on %v, want the second newest version of %v", previous, versionIDs(vs))
	}
}

func testStoreBackup(t *testing.T, s rotor.Store) {
	ctx := context.Background()
	dir := t.TempDir()
	sec := fullSecret(region1, "backed-up", "b", 1)
	createSecrets(t, s, sec)

	existing := filepath.Join(dir, "existing")
	if err := os.WriteFile(existing, []byte("keep me"), 0o600); err != nil {
		t.Fatal(err)
	}
	wantCode(t, "Backup(existing path)", s.Backup(ctx, existing), rotor.EINVALID)
	if b, err := os.ReadFile(existing); err != nil || string(b) != "keep me" {
		t.Errorf("Backup overwrote an existing file: %q, %v", b, err)
	}

	path := filepath.Join(dir, "backup")
	if err := s.Backup(ctx, path); err != nil {
		t.Fatalf("Backup: %v", err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Size() == 0 {
		t.Errorf("Backup wrote no file: %v", err)
	}
	// The store is still in use afterwards.
	update(t, s, func(tx rotor.Tx) error { return tx.CreateSecret(secret(region1, "after-backup", at(2))) })
}

func testStoreBackupRefused(t *testing.T, s rotor.Store) {
	ctx := context.Background()
	dir := t.TempDir()
	createSecrets(t, s, fullSecret(region1, "backed-up", "b", 1))

	existing := filepath.Join(dir, "existing")
	if err := os.WriteFile(existing, []byte("keep me"), 0o600); err != nil {
		t.Fatal(err)
	}
	wantCode(t, "Backup(existing path)", s.Backup(ctx, existing), rotor.EINVALID)
	if b, err := os.ReadFile(existing); err != nil || string(b) != "keep me" {
		t.Errorf("Backup overwrote an existing file: %q, %v", b, err)
	}
	path := filepath.Join(dir, "backup")
	err := s.Backup(ctx, path)
	wantCode(t, "Backup(new path)", err, rotor.EINVALID)
	if rotor.ErrorMessage(err) == "" {
		t.Errorf("Backup refused without a message saying what to use instead")
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a refused Backup created %s: %v", path, err)
	}
	// The store is still in use afterwards.
	update(t, s, func(tx rotor.Tx) error { return tx.CreateSecret(secret(region1, "after-backup", at(2))) })
}
