package storetest

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"testing"

	"github.com/rotorhq/rotor"
)

// secretReader returns s as a rotor.SecretReader, or skips the test: the
// interface is optional (the manager falls back to View without it).
func secretReader(t *testing.T, s rotor.Store) rotor.SecretReader {
	t.Helper()
	r, ok := s.(rotor.SecretReader)
	if !ok {
		t.Skipf("%T does not implement the optional rotor.SecretReader", s)
	}
	return r
}

// testReaderSameAsView: ReadSecret and ReadSecretARN return exactly what
// SecretByName (Secret) and Versions return in one View, for a secret with
// every field set, tags, versions created in the same instant (insertion
// order), a placeholder, a binary value and several labels on one version;
// a secret without tags or versions; and ENOTFOUND for a missing name, a
// name in another region and a missing ARN.
func testReaderSameAsView(t *testing.T, s rotor.Store) {
	r := secretReader(t, s)
	ctx := context.Background()
	full := fullSecret(region1, "reader/full", "full", 1)
	empty := secret(region1, "reader/empty", at(2))
	createSecrets(t, s, full, empty)
	update(t, s, func(tx rotor.Tx) error {
		vs := []*rotor.VersionRecord{
			{ID: "tie-z", Value: sealed("kek-1", "z"), CreatedDate: at(5), LastAccessedDate: at(6)},
			{ID: "tie-a", Value: sealed("kek-2", "a"), Binary: true, KmsKeyID: "alias/a", CreatedDate: at(5)},
			{ID: "old", Value: sealed("kek-1", "old"), CreatedDate: at(3)},
			{ID: "pending", KmsKeyID: "alias/p", CreatedDate: at(7)},
		}
		for _, v := range vs {
			if err := tx.CreateVersion(full.ARN, v); err != nil {
				return fmt.Errorf("CreateVersion(%s): %w", v.ID, err)
			}
		}
		for st, id := range map[string]string{rotor.StageCurrent: "tie-a", "zeta": "tie-a", "Alpha": "tie-a",
			rotor.StagePrevious: "tie-z", rotor.StagePending: "pending"} {
			if err := tx.SetStage(full.ARN, st, id); err != nil {
				return err
			}
		}
		return nil
	})

	for _, sec := range []*rotor.SecretRecord{full, empty} {
		var wantRec *rotor.SecretRecord
		var wantVs []*rotor.VersionRecord
		view(t, s, func(tx rotor.Tx) (err error) {
			if wantRec, err = tx.SecretByName(sec.Region, sec.Name); err != nil {
				return err
			}
			wantVs, err = tx.Versions(sec.ARN)
			return err
		})
		for what, read := range map[string]func() (*rotor.SecretRecord, []*rotor.VersionRecord, error){
			"ReadSecret": func() (*rotor.SecretRecord, []*rotor.VersionRecord, error) {
				return r.ReadSecret(ctx, sec.Region, sec.Name)
			},
			"ReadSecretARN": func() (*rotor.SecretRecord, []*rotor.VersionRecord, error) { return r.ReadSecretARN(ctx, sec.ARN) },
		} {
			what = what + "(" + sec.Name + ")"
			rec, vs, err := read()
			if err != nil {
				t.Fatalf("%s: %v", what, err)
			}
			sameSecret(t, what, rec, wantRec)
			if len(vs) == 0 && len(wantVs) == 0 {
				continue
			}
			if g, w := versionIDs(vs), versionIDs(wantVs); !slices.Equal(g, w) {
				t.Errorf("%s: versions %v, want %v (as Versions orders them)", what, g, w)
				continue
			}
			for i := range vs {
				if g, w := normVersion(vs[i]), normVersion(wantVs[i]); !reflect.DeepEqual(g, w) {
					t.Errorf("%s: version %d =\n\t%+v\nwant\n\t%+v", what, i, g, w)
				}
				checkUTC(t, what, vs[i].CreatedDate, vs[i].LastAccessedDate)
			}
		}
	}
	if ids := versionIDs(mustRead(t, r, full)); !slices.Equal(ids, []string{"old", "tie-z", "tie-a", "pending"}) {
		t.Errorf("ReadSecret versions = %v, want oldest first, ties in insertion order", ids)
	}

	_, _, err := r.ReadSecret(ctx, region1, "reader/missing")
	wantCode(t, "ReadSecret of a missing name", err, rotor.ENOTFOUND)
	_, _, err = r.ReadSecret(ctx, region2, full.Name)
	wantCode(t, "ReadSecret in another region", err, rotor.ENOTFOUND)
	_, _, err = r.ReadSecretARN(ctx, full.ARN+"x")
	wantCode(t, "ReadSecretARN of a missing ARN", err, rotor.ENOTFOUND)

	// The results are the caller's: changing them changes nothing stored.
	rec, vs, _ := r.ReadSecret(ctx, full.Region, full.Name)
	rec.Tags[0].Key, vs[1].Stages[0] = "changed", "changed"
	vs[1].Value.Ciphertext[0] ^= 0xff
	again, againVs, _ := r.ReadSecret(ctx, full.Region, full.Name)
	if again.Tags[0].Key == "changed" || againVs[1].Stages[0] == "changed" || againVs[1].Value.Ciphertext[0] == vs[1].Value.Ciphertext[0] {
		t.Error("ReadSecret returned memory shared with a later read")
	}
}

// mustRead returns the versions ReadSecret returns for sec.
func mustRead(t *testing.T, r rotor.SecretReader, sec *rotor.SecretRecord) []*rotor.VersionRecord {
	t.Helper()
	_, vs, err := r.ReadSecret(context.Background(), sec.Region, sec.Name)
	if err != nil {
		t.Fatalf("ReadSecret(%s): %v", sec.Name, err)
	}
	return vs
}

// testReaderSnapshot: each ReadSecret sees one committed state while
// Updates move AWSCURRENT to a new version, retag the secret and delete
// the version before last, all in one transaction each: every read shows
// exactly the versions, labels and tag of one state.
func testReaderSnapshot(t *testing.T, s rotor.Store) {
	r := secretReader(t, s)
	ctx := context.Background()
	sec := secret(region1, "reader/snapshot", at(0))
	createSecrets(t, s, sec)
	const steps = 40
	step := func(tx rotor.Tx, n int) error {
		id := fmt.Sprintf("v%03d", n)
		if err := tx.CreateVersion(sec.ARN, &rotor.VersionRecord{ID: id, Value: sealed("kek", id), CreatedDate: at(n)}); err != nil {
			return err
		}
		if err := tx.SetStage(sec.ARN, rotor.StageCurrent, id); err != nil {
			return err
		}
		if n >= 2 {
			if err := tx.DeleteVersions(sec.ARN, []string{fmt.Sprintf("v%03d", n-2)}); err != nil {
				return err
			}
		}
		rec := *sec
		rec.Tags = []rotor.Tag{{Key: "step", Value: id}}
		rec.TagsEverSet = true
		return tx.UpdateSecret(&rec)
	}
	update(t, s, func(tx rotor.Tx) error { return step(tx, 0) })

	var wg sync.WaitGroup
	done := make(chan struct{})
	errs := make(chan error, 4)
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-done:
					return
				default:
				}
				rec, vs, err := r.ReadSecret(ctx, sec.Region, sec.Name)
				if err != nil {
					errs <- err
					return
				}
				// State n: versions v(n-1) (if n > 0) and v(n), AWSCURRENT on
				// v(n), tag step=v(n).
				if len(rec.Tags) != 1 || len(vs) == 0 || len(vs) > 2 {
					errs <- fmt.Errorf("read %d tags and %d versions", len(rec.Tags), len(vs))
					return
				}
				last := vs[len(vs)-1]
				if rec.Tags[0].Value != last.ID || !slices.Equal(last.Stages, []string{rotor.StageCurrent}) ||
					(len(vs) == 2 && len(vs[0].Stages) != 0) {
					errs <- fmt.Errorf("read a mix of states: tag %s, versions %v", rec.Tags[0].Value, stageMap(vs))
					return
				}
			}
		}()
	}
	for n := 1; n < steps; n++ {
		update(t, s, func(tx rotor.Tx) error { return step(tx, n) })
	}
	close(done)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
