package sqlite_test

import (
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/rotorhq/rotor"
)

// TestUpdateSecretAfterWrites checks UpdateSecret against the secret its
// transaction read before (which it compares with instead of reading the
// row again): each write in between that changes the secret's row or tags
// makes it read the row again, so the secret stored is exactly the record
// given, every field of it, whatever was written in between; label and
// version writes in between leave the secret as read.
func TestUpdateSecretAfterWrites(t *testing.T) {
	s := mustOpen(t, filepath.Join(t.TempDir(), "rotor.db"))
	day := time.Date(2025, 7, 1, 0, 0, 0, 0, time.UTC)
	base := &rotor.SecretRecord{ARN: arn, Region: "us-east-1", Name: "fixture", Description: "d0",
		Tags: []rotor.Tag{{Key: "a", Value: "1"}}, TagsEverSet: true, CreatedDate: day0}
	update(t, s, func(tx rotor.Tx) error {
		if err := tx.CreateSecret(base); err != nil {
			return err
		}
		return tx.CreateVersion(arn, &rotor.VersionRecord{ID: "v1", CreatedDate: day0})
	})
	for _, c := range []struct {
		name    string
		between func(tx rotor.Tx, rec *rotor.SecretRecord) error
	}{
		{"last accessed", func(tx rotor.Tx, _ *rotor.SecretRecord) error { return tx.SetLastAccessed(arn, "v1", day) }},
		{"another update", func(tx rotor.Tx, rec *rotor.SecretRecord) error {
			r := *rec
			r.Description, r.Tags, r.KmsKeyID = "other", []rotor.Tag{{Key: "b", Value: "2"}}, "k"
			return tx.UpdateSecret(&r)
		}},
		{"labels and history", func(tx rotor.Tx, _ *rotor.SecretRecord) error {
			if err := tx.SetStage(arn, "AWSCURRENT", "v1"); err != nil {
				return err
			}
			if err := tx.CreateVersion(arn, &rotor.VersionRecord{ID: "v2", CreatedDate: day0}); err != nil {
				return err
			}
			if err := tx.RemoveStage(arn, "AWSCURRENT"); err != nil {
				return err
			}
			return tx.AddStageEvents(arn, []rotor.StageEvent{{Stage: "AWSCURRENT", VersionID: "v1", Time: day}})
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			var want *rotor.SecretRecord
			update(t, s, func(tx rotor.Tx) error {
				rec, err := tx.SecretByName("us-east-1", "fixture")
				if err != nil {
					return err
				}
				if err := c.between(tx, rec); err != nil {
					return err
				}
				rec.Description += "+"
				want = rec
				return tx.UpdateSecret(rec)
			})
			view(t, s, func(tx rotor.Tx) error {
				got, err := tx.Secret(arn)
				if err != nil {
					return err
				}
				if !reflect.DeepEqual(got, want) {
					t.Errorf("stored %+v\nwant   %+v", got, want)
				}
				return nil
			})
		})
	}
}

// TestPrefetchVersions checks the versions read with the secret
// (PrefetchVersions, which the manager asks for before the lookup of a
// write): Versions returns what it returns without the prefetch, by name
// and by ARN, and a write between the lookup and Versions (a new version,
// a label moved) is seen; another secret's Versions is not served from
// the prefetch.
func TestPrefetchVersions(t *testing.T) {
	s := mustOpen(t, filepath.Join(t.TempDir(), "rotor.db"))
	other := arn + "-other"
	update(t, s, func(tx rotor.Tx) error {
		for _, a := range []string{arn, other} {
			if err := tx.CreateSecret(&rotor.SecretRecord{ARN: a, Region: "us-east-1", Name: a[len(a)-12:], Tags: []rotor.Tag{{Key: "k", Value: a}}}); err != nil {
				return err
			}
			for i, id := range []string{"v1", "v2"} {
				if err := tx.CreateVersion(a, &rotor.VersionRecord{ID: id, CreatedDate: day0.Add(time.Duration(i)),
					Value: &rotor.Sealed{KeyID: "k", WrappedKey: []byte{1}, Ciphertext: []byte(a + id)}}); err != nil {
					return err
				}
			}
			if err := tx.SetStage(a, "AWSCURRENT", "v2"); err != nil {
				return err
			}
		}
		return nil
	})
	type prefetcher interface{ PrefetchVersions() }
	plain := func(tx rotor.Tx, a string) []*rotor.VersionRecord {
		t.Helper()
		vs, err := tx.Versions(a)
		if err != nil {
			t.Fatal(err)
		}
		return vs
	}
	lookups := map[string]func(tx rotor.Tx) (*rotor.SecretRecord, error){
		"by name": func(tx rotor.Tx) (*rotor.SecretRecord, error) { return tx.SecretByName("us-east-1", arn[len(arn)-12:]) },
		"by ARN":  func(tx rotor.Tx) (*rotor.SecretRecord, error) { return tx.Secret(arn) },
	}
	for name, lookup := range lookups {
		t.Run(name, func(t *testing.T) {
			update(t, s, func(tx rotor.Tx) error {
				want := plain(tx, arn)
				wantRec, err := tx.Secret(arn)
				if err != nil {
					return err
				}
				tx.(prefetcher).PrefetchVersions()
				rec, err := lookup(tx)
				if err != nil {
					return err
				}
				if !reflect.DeepEqual(rec, wantRec) {
					t.Errorf("secret read with its versions: %+v, want %+v", rec, wantRec)
				}
				if got := plain(tx, other); reflect.DeepEqual(got, want) || len(got) != 2 {
					t.Errorf("the other secret's versions: %s", describe(got))
				}
				// The other's Versions used up the prefetch; ask again.
				tx.(prefetcher).PrefetchVersions()
				if _, err := lookup(tx); err != nil {
					return err
				}
				if got := plain(tx, arn); !reflect.DeepEqual(got, want) {
					t.Errorf("prefetched %s, want %s", describe(got), describe(want))
				}
				tx.(prefetcher).PrefetchVersions()
				if _, err := lookup(tx); err != nil {
					return err
				}
				if err := tx.SetStage(arn, "AWSCURRENT", "v1"); err != nil {
					return err
				}
				if got := describe(plain(tx, arn)); got != "v1[AWSCURRENT] v2[]" {
					t.Errorf("after a label move: %s", got)
				}
				return tx.SetStage(arn, "AWSCURRENT", "v2")
			})
		})
	}
}
