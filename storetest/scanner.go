package storetest

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/rotorhq/rotor"
)

// testScannerWalk: ScanSecrets, called with the last ARN of each batch,
// returns every secret of every region exactly once, in ARN byte order,
// each exactly as one View of Secret and Versions returns it (tags,
// versions oldest first, sorted labels); a short batch ends the walk, a
// scan after the last ARN returns nothing, and a limit below 1 is EINVALID.
func testScannerWalk(t *testing.T, s rotor.Store) {
	sc, ok := s.(rotor.SecretScanner)
	if !ok {
		t.Skipf("%T does not implement the optional rotor.SecretScanner", s)
	}
	ctx := context.Background()
	full := fullSecret(region1, "scan/full", "full", 1)
	secrets := []*rotor.SecretRecord{full}
	for i := range 6 {
		region := region1
		if i%2 == 1 {
			region = region2
		}
		secrets = append(secrets, secret(region, fmt.Sprintf("scan/%c", 'f'-i), at(i)))
	}
	createSecrets(t, s, secrets...)
	update(t, s, func(tx rotor.Tx) error {
		for i, id := range []string{"b-older", "a-newer"} {
			if err := tx.CreateVersion(full.ARN, &rotor.VersionRecord{ID: id, Value: sealed("kek-1", id), CreatedDate: at(3 + i)}); err != nil {
				return err
			}
		}
		if err := tx.CreateVersion(secrets[2].ARN, &rotor.VersionRecord{ID: "only", Value: sealed("kek-1", "only"), CreatedDate: at(1)}); err != nil {
			return err
		}
		for st, id := range map[string]string{rotor.StageCurrent: "a-newer", "zz": "a-newer", rotor.StagePrevious: "b-older"} {
			if err := tx.SetStage(full.ARN, st, id); err != nil {
				return err
			}
		}
		return tx.SetStage(secrets[2].ARN, rotor.StageCurrent, "only")
	})

	var want []string
	for _, sec := range secrets {
		want = append(want, sec.ARN)
	}
	slices.Sort(want) // byte order

	var got []string
	after := ""
	for batches := 0; ; batches++ {
		if batches > len(secrets) {
			t.Fatalf("ScanSecrets did not end after %d batches", batches)
		}
		batch, err := sc.ScanSecrets(ctx, after, 3)
		if err != nil {
			t.Fatalf("ScanSecrets(%q, 3): %v", after, err)
		}
		for _, ss := range batch {
			got = append(got, ss.Record.ARN)
			var wantRec *rotor.SecretRecord
			var wantVs []*rotor.VersionRecord
			view(t, s, func(tx rotor.Tx) (err error) {
				if wantRec, err = tx.Secret(ss.Record.ARN); err != nil {
					return err
				}
				wantVs, err = tx.Versions(ss.Record.ARN)
				return err
			})
			what := "ScanSecrets(" + ss.Record.Name + ")"
			sameSecret(t, what, ss.Record, wantRec)
			if g, w := versionIDs(ss.Versions), versionIDs(wantVs); !slices.Equal(g, w) {
				t.Errorf("%s: versions %v, want %v", what, g, w)
				continue
			}
			for i := range ss.Versions {
				if g, w := normVersion(ss.Versions[i]), normVersion(wantVs[i]); !reflect.DeepEqual(g, w) {
					t.Errorf("%s: version %d =\n\t%+v\nwant\n\t%+v", what, i, g, w)
				}
			}
		}
		if len(batch) < 3 {
			break
		}
		after = batch[len(batch)-1].Record.ARN
	}
	if !slices.Equal(got, want) {
		t.Errorf("ScanSecrets walk = %s\nwant (every secret once, ARN order) %s", strings.Join(got, " "), strings.Join(want, " "))
	}
	if batch, err := sc.ScanSecrets(ctx, want[len(want)-1], 3); err != nil || len(batch) != 0 {
		t.Errorf("ScanSecrets after the last ARN = %d secrets, %v; want none", len(batch), err)
	}
	_, err := sc.ScanSecrets(ctx, "", 0)
	wantCode(t, "ScanSecrets with limit 0", err, rotor.EINVALID)
}
