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
