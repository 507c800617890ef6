package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/rotorhq/rotor"
)

// testTxConcurrentUpdatesIsolated checks what a backend that groups
// several Updates into one commit must keep: Updates queued behind a
// writer (so a grouping backend batches them) each commit exactly their own
// work, visible as soon as their Update returns, while batch-mates that
// fail — by returning an error after writing, by a constraint violation,
// or by panicking — leave nothing behind and do not affect the others.
func testTxConcurrentUpdatesIsolated(t *testing.T, s rotor.Store) {
	const n = 24
	ctx := context.Background()
	taken := secret(region1, "taken", at(0))
	createSecrets(t, s, taken)

	// Hold the writer until every Update below has been started.
	holding, release := make(chan struct{}), make(chan struct{})
	first := make(chan error, 1)
	go func() {
		first <- s.Update(ctx, func(tx rotor.Tx) error {
			close(holding)
			<-release
			return tx.CreateVersion(taken.ARN, &rotor.VersionRecord{ID: "held", Value: sealed("kek-batch", "held"), CreatedDate: at(0)})
		})
	}()
	<-holding

	type outcome int
	const (
		succeed outcome = iota
		returnError
		violate // a constraint violation inside the store
		panicky
	)
	kind := func(i int) outcome { return outcome(i % 4) }
	secs := make([]*rotor.SecretRecord, n)
	errs := make([]error, n)
	panics := make([]any, n)
	var wg sync.WaitGroup
	for i := range n {
		secs[i] = secret(region1, fmt.Sprintf("batch-%02d", i), at(i))
		wg.Go(func() {
			defer func() { panics[i] = recover() }()
			errs[i] = s.Update(ctx, func(tx rotor.Tx) error {
				if err := tx.CreateSecret(secs[i]); err != nil {
					return err
				}
				id := fmt.Sprintf("v%02d", i)
				if err := tx.CreateVersion(secs[i].ARN, &rotor.VersionRecord{ID: id, Value: sealed("kek-batch", id), CreatedDate: at(i)}); err != nil {
					return err
				}
				if err := tx.SetStage(secs[i].ARN, rotor.StageCurrent, id); err != nil {
					return err
				}
				switch kind(i) {
				case returnError:
					return errDeliberate
				case violate:
					return tx.CreateSecret(taken) // EEXISTS
				case panicky:
					panic(errDeliberate)
				}
				return nil
			})
			if errs[i] == nil {
				// Acknowledged means committed: a fresh View sees it.
				if err := s.View(ctx, func(tx rotor.Tx) error {
					_, err := tx.Version(secs[i].ARN, fmt.Sprintf("v%02d", i))
					return err
				}); err != nil {
					t.Errorf("update %d: acknowledged, but a View right after it: %v", i, err)
				}
			}
		})
	}
	// Let the Updates queue behind the writer (a grouping backend then
	// batches them); nothing below depends on how many did.
	time.Sleep(50 * time.Millisecond)
	close(release)
	wg.Wait()
	if err := <-first; err != nil {
		t.Fatalf("first Update: %v", err)
	}

	for i := range n {
		switch kind(i) {
		case succeed:
			if errs[i] != nil || panics[i] != nil {
				t.Errorf("update %d: err = %v, panic = %v; want success", i, errs[i], panics[i])
			}
		case returnError:
			if !errors.Is(errs[i], errDeliberate) {
				t.Errorf("update %d: err = %v, want fn's own error", i, errs[i])
			}
		case violate:
			wantCode(t, fmt.Sprintf("update %d (constraint violation)", i), errs[i], rotor.EEXISTS)
		case panicky:
			if panics[i] != errDeliberate {
				t.Errorf("update %d: recovered %v, want fn's panic to propagate", i, panics[i])
			}
		}
	}
	view(t, s, func(tx rotor.Tx) error {
		if _, err := tx.Version(taken.ARN, "held"); err != nil {
			t.Errorf("the first Update's version: %v", err)
		}
		for i, sec := range secs {
			id := fmt.Sprintf("v%02d", i)
			v, err := tx.Version(sec.ARN, id)
			if kind(i) != succeed {
				if rotor.ErrorCode(err) != rotor.ENOTFOUND {
					t.Errorf("failed update %d: Version = %v, %v; want ENOTFOUND (rolled back)", i, v, err)
				}
				if _, err := tx.Secret(sec.ARN); rotor.ErrorCode(err) != rotor.ENOTFOUND {
					t.Errorf("failed update %d: Secret err = %v, want ENOTFOUND (rolled back)", i, err)
				}
				continue
			}
			if err != nil {
				t.Errorf("update %d: Version: %v", i, err)
				continue
			}
			if want := sealed("kek-batch", id); !bytes.Equal(v.Value.Ciphertext, want.Ciphertext) || len(v.Stages) != 1 || v.Stages[0] != rotor.StageCurrent {
				t.Errorf("update %d: stored %+v, want its own value labelled AWSCURRENT", i, v)
			}
		}
		all, err := tx.Secrets(region1)
		if err != nil {
			return err
		}
		if want := 1 + n/4; len(all) != want {
			t.Errorf("Secrets = %d, want %d (taken + the successful updates)", len(all), want)
		}
		return nil
	})
}

// testTxUpdateAfterFailedBatchMate checks that a write queued right behind
// a failing one still commits and that the writer is free afterwards, many
// times over, so a grouping backend's recovery after a failed member is
// exercised repeatedly.
func testTxUpdateAfterFailedBatchMate(t *testing.T, s rotor.Store) {
	const rounds, perRound = 20, 4
	ctx := context.Background()
	for r := range rounds {
		var wg sync.WaitGroup
		errs := make([]error, perRound)
		for i := range perRound {
			sec := secret(region1, fmt.Sprintf("round-%02d-%d", r, i), at(r))
			wg.Go(func() {
				errs[i] = s.Update(ctx, func(tx rotor.Tx) error {
					if err := tx.CreateSecret(sec); err != nil {
						return err
					}
					if i%2 == 1 {
						return errDeliberate
					}
					return nil
				})
			})
		}
		wg.Wait()
		for i, err := range errs {
			if want := i%2 == 1; want != errors.Is(err, errDeliberate) || (!want && err != nil) {
				t.Fatalf("round %d update %d: err = %v", r, i, err)
			}
		}
	}
	view(t, s, func(tx rotor.Tx) error {
		all, err := tx.Secrets(region1)
		if err != nil {
			return err
		}
		if len(all) != rounds*perRound/2 {
			t.Errorf("Secrets = %d, want %d (only the successful updates)", len(all), rounds*perRound/2)
		}
		return nil
	})
}
