package storetest

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rotorhq/rotor"
)

func testSecretCreateAndFind(t *testing.T, s rotor.Store) {
	full := fullSecret(region1, "app/db-password", "full", 10)
	minimal := secret(region1, "minimal", at(20))
	createSecrets(t, s, full, minimal)

	view(t, s, func(tx rotor.Tx) error {
		for _, want := range []*rotor.SecretRecord{full, minimal} {
			got, err := tx.Secret(want.ARN)
			if err != nil {
				t.Errorf("Secret(%s): %v", want.ARN, err)
			} else {
				sameSecret(t, "Secret("+want.Name+")", got, want)
			}
			got, err = tx.SecretByName(want.Region, want.Name)
			if err != nil {
				t.Errorf("SecretByName(%s, %s): %v", want.Region, want.Name, err)
			} else {
				sameSecret(t, "SecretByName("+want.Name+")", got, want)
			}
		}
		return nil
	})
	got := getSecret(t, s, minimal.ARN)
	if got.Tags != nil || got.TagsEverSet {
		t.Errorf("untagged secret: Tags=%v TagsEverSet=%v, want nil, false", got.Tags, got.TagsEverSet)
	}

	viewCode(t, s, "Secret(unknown ARN)", rotor.ENOTFOUND, func(tx rotor.Tx) error {
		_, err := tx.Secret(full.ARN + "x")
		return err
	})
	viewCode(t, s, "SecretByName(other region)", rotor.ENOTFOUND, func(tx rotor.Tx) error {
		_, err := tx.SecretByName(region2, full.Name)
		return err
	})
	viewCode(t, s, "SecretByName(unknown name)", rotor.ENOTFOUND, func(tx rotor.Tx) error {
		_, err := tx.SecretByName(region1, "app/db")
		return err
	})
}

func testSecretErrExists(t *testing.T, s rotor.Store) {
	orig := fullSecret(region1, "dup", "orig", 1)
	createSecrets(t, s, orig)

	sameARN := secret(region1, "other-name", at(2))
	sameARN.ARN = orig.ARN
	updateCode(t, s, "CreateSecret(same ARN)", rotor.EEXISTS, func(tx rotor.Tx) error { return tx.CreateSecret(sameARN) })

	sameName := secret(region1, orig.Name, at(3))
	sameName.ARN = rotor.SecretARN(region1, account, orig.Name, "ZZZZZZ")
	updateCode(t, s, "CreateSecret(same name, same region)", rotor.EEXISTS, func(tx rotor.Tx) error { return tx.CreateSecret(sameName) })

	dupTags := secret(region1, "dup-tags", at(4))
	dupTags.Tags = []rotor.Tag{{Key: "k", Value: "1"}, {Key: "k", Value: "2"}}
	updateCode(t, s, "CreateSecret(duplicate tag key)", rotor.EEXISTS, func(tx rotor.Tx) error { return tx.CreateSecret(dupTags) })

	// The failed creates kept nothing; the original is untouched.
	sameSecret(t, "original after failed creates", getSecret(t, s, orig.ARN), orig)
	view(t, s, func(tx rotor.Tx) error {
		for _, name := range []string{"other-name", "dup-tags"} {
			if _, err := tx.SecretByName(region1, name); rotor.ErrorCode(err) != rotor.ENOTFOUND {
				t.Errorf("SecretByName(%s) after failed create: err = %v, want ENOTFOUND", name, err)
			}
		}
		return nil
	})

	// The same name in another region is another secret.
	otherRegion := secret(region2, orig.Name, at(5))
	createSecrets(t, s, otherRegion)
	view(t, s, func(tx rotor.Tx) error {
		for _, want := range []*rotor.SecretRecord{orig, otherRegion} {
			got, err := tx.SecretByName(want.Region, want.Name)
			if err != nil {
				t.Errorf("SecretByName(%s, %s): %v", want.Region, want.Name, err)
				continue
			}
			sameSecret(t, "SecretByName in "+want.Region, got, want)
		}
		return nil
	})
}

func testSecretListByRegion(t *testing.T, s rotor.Store) {
	// Created out of order, across two regions.
	c := secret(region1, "c", at(30))
	a := secret(region1, "a", at(10))
	x := secret(region2, "x", at(5))
	b := fullSecret(region1, "b", "b", 20)
	createSecrets(t, s, c, a, x, b)

	view(t, s, func(tx rotor.Tx) error {
		got, err := tx.Secrets(region1)
		if err != nil {
			t.Fatalf("Secrets(%s): %v", region1, err)
		}
		want := []*rotor.SecretRecord{a, b, c}
		if len(got) != len(want) {
			t.Fatalf("Secrets(%s) returned %d secrets, want %d", region1, len(got), len(want))
		}
		for i := range want {
			sameSecret(t, "Secrets("+region1+")["+want[i].Name+"]", got[i], want[i])
		}

		got, err = tx.Secrets(region2)
		if err != nil {
			t.Fatalf("Secrets(%s): %v", region2, err)
		}
		if len(got) != 1 {
			t.Fatalf("Secrets(%s) returned %d secrets, want 1", region2, len(got))
		}
		sameSecret(t, "Secrets("+region2+")[0]", got[0], x)

		got, err = tx.Secrets("ap-south-1")
		if err != nil || len(got) != 0 {
			t.Errorf("Secrets(empty region) = %d secrets, %v; want none, nil", len(got), err)
		}
		return nil
	})
}

func testSecretUpdateRoundTrip(t *testing.T, s rotor.Store) {
	orig := fullSecret(region1, "round-trip", "v1", 1)
	neighbour := fullSecret(region1, "neighbour", "n", 2)
	createSecrets(t, s, orig, neighbour)

	// Every field changes, tags reorder, and one tag goes away.
	changed := fullSecret(region1, "round-trip-renamed", "v2", 100)
	changed.ARN = orig.ARN
	changed.Tags = []rotor.Tag{{Key: "Mid-v1", Value: "changed"}, {Key: "new", Value: "x"}, {Key: "zeta-v1", Value: "1"}}
	changed.Rotation.Enabled = false
	changed.PrimaryRegion = region2
	update(t, s, func(tx rotor.Tx) error { return tx.UpdateSecret(changed) })
	sameSecret(t, "after UpdateSecret (all fields)", getSecret(t, s, orig.ARN), changed)

	view(t, s, func(tx rotor.Tx) error {
		got, err := tx.SecretByName(region1, changed.Name)
		if err != nil {
			t.Errorf("SecretByName(new name): %v", err)
		} else {
			sameSecret(t, "SecretByName(new name)", got, changed)
		}
		if _, err := tx.SecretByName(region1, orig.Name); rotor.ErrorCode(err) != rotor.ENOTFOUND {
			t.Errorf("SecretByName(old name): err = %v, want ENOTFOUND", err)
		}
		return nil
	})

	// Back to zero values: no tags left but TagsEverSet kept, rotation
	// configured but disabled, dates cleared.
	cleared := secret(region1, changed.Name, at(100))
	cleared.ARN = orig.ARN
	cleared.TagsEverSet = true
	cleared.Rotation = rotor.RotationConfig{Configured: true}
	update(t, s, func(tx rotor.Tx) error { return tx.UpdateSecret(cleared) })
	got := getSecret(t, s, orig.ARN)
	sameSecret(t, "after UpdateSecret (cleared)", got, cleared)
	if len(got.Tags) != 0 || !got.TagsEverSet {
		t.Errorf("cleared: Tags=%v TagsEverSet=%v, want none, true", got.Tags, got.TagsEverSet)
	}

	// The other secret was not touched.
	sameSecret(t, "neighbour", getSecret(t, s, neighbour.ARN), neighbour)
}

func testSecretUpdateErrors(t *testing.T, s rotor.Store) {
	a := fullSecret(region1, "a", "a", 1)
	b := fullSecret(region1, "b", "b", 2)
	createSecrets(t, s, a, b)

	unknown := secret(region1, "unknown", at(3))
	updateCode(t, s, "UpdateSecret(unknown)", rotor.ENOTFOUND, func(tx rotor.Tx) error { return tx.UpdateSecret(unknown) })

	rename := *a
	rename.Name = b.Name
	updateCode(t, s, "UpdateSecret(name taken)", rotor.EEXISTS, func(tx rotor.Tx) error { return tx.UpdateSecret(&rename) })

	dupTags := *a
	dupTags.Tags = []rotor.Tag{{Key: "k", Value: "1"}, {Key: "k", Value: "2"}}
	updateCode(t, s, "UpdateSecret(duplicate tag key)", rotor.EEXISTS, func(tx rotor.Tx) error { return tx.UpdateSecret(&dupTags) })

	sameSecret(t, "a after failed updates", getSecret(t, s, a.ARN), a)
	sameSecret(t, "b after failed updates", getSecret(t, s, b.ARN), b)
	view(t, s, func(tx rotor.Tx) error {
		if _, err := tx.Secret(unknown.ARN); rotor.ErrorCode(err) != rotor.ENOTFOUND {
			t.Errorf("UpdateSecret(unknown) created it: Secret err = %v", err)
		}
		return nil
	})
}

func testSecretDeleteCascades(t *testing.T, s rotor.Store) {
	doomed := fullSecret(region1, "doomed", "d", 1)
	kept := fullSecret(region1, "kept", "k", 2)
	createSecrets(t, s, doomed, kept)
	update(t, s, func(tx rotor.Tx) error {
		for _, arn := range []string{doomed.ARN, kept.ARN} {
			for i, id := range []string{"v1", "v2"} {
				if err := tx.CreateVersion(arn, &rotor.VersionRecord{ID: id, Value: sealed("kek", arn+id), CreatedDate: at(10 + i)}); err != nil {
					return err
				}
			}
			if err := tx.SetStage(arn, rotor.StageCurrent, "v2"); err != nil {
				return err
			}
			if err := tx.SetStage(arn, rotor.StagePrevious, "v1"); err != nil {
				return err
			}
		}
		return nil
	})

	update(t, s, func(tx rotor.Tx) error { return tx.DeleteSecret(doomed.ARN) })

	view(t, s, func(tx rotor.Tx) error {
		if _, err := tx.Secret(doomed.ARN); rotor.ErrorCode(err) != rotor.ENOTFOUND {
			t.Errorf("Secret(deleted): err = %v, want ENOTFOUND", err)
		}
		if _, err := tx.SecretByName(region1, doomed.Name); rotor.ErrorCode(err) != rotor.ENOTFOUND {
			t.Errorf("SecretByName(deleted): err = %v, want ENOTFOUND", err)
		}
		if _, err := tx.Versions(doomed.ARN); rotor.ErrorCode(err) != rotor.ENOTFOUND {
			t.Errorf("Versions(deleted): err = %v, want ENOTFOUND", err)
		}
		if _, err := tx.Version(doomed.ARN, "v1"); rotor.ErrorCode(err) != rotor.ENOTFOUND {
			t.Errorf("Version(deleted secret, v1): err = %v, want ENOTFOUND", err)
		}
		if n, err := tx.CountSealedByKey("kek"); err != nil || n != 2 {
			t.Errorf("CountSealedByKey after delete = %d, %v; want 2 (the kept secret's)", n, err)
		}
		return nil
	})

	// Re-creating the same ARN and name starts empty: no old versions,
	// labels or tags survived.
	again := secret(region1, doomed.Name, at(50))
	again.ARN = doomed.ARN
	createSecrets(t, s, again)
	sameSecret(t, "re-created secret", getSecret(t, s, doomed.ARN), again)
	if vs := getVersions(t, s, doomed.ARN); len(vs) != 0 {
		t.Errorf("re-created secret has versions %v, want none", versionIDs(vs))
	}
	update(t, s, func(tx rotor.Tx) error {
		// If an old label row survived, this would be its second version.
		if err := tx.CreateVersion(again.ARN, &rotor.VersionRecord{ID: "v1", Value: sealed("kek", "new"), CreatedDate: at(51)}); err != nil {
			return err
		}
		return nil
	})
	vs := getVersions(t, s, doomed.ARN)
	if len(vs) != 1 {
		t.Errorf("re-created secret has versions %v, want [v1]", versionIDs(vs))
	} else if len(vs[0].Stages) != 0 {
		t.Errorf("re-created secret's v1 has labels %v, want none (old labels survived the delete)", vs[0].Stages)
	}

	// The other secret is intact.
	sameSecret(t, "kept secret", getSecret(t, s, kept.ARN), kept)
	vs = getVersions(t, s, kept.ARN)
	if got := versionIDs(vs); !slices.Equal(got, []string{"v1", "v2"}) {
		t.Errorf("kept secret's versions = %v, want [v1 v2]", got)
	} else if !slices.Equal(vs[1].Stages, []string{rotor.StageCurrent}) || !slices.Equal(vs[0].Stages, []string{rotor.StagePrevious}) {
		t.Errorf("kept secret's labels = %v, %v", vs[0].Stages, vs[1].Stages)
	}

	updateCode(t, s, "DeleteSecret(unknown)", rotor.ENOTFOUND, func(tx rotor.Tx) error { return tx.DeleteSecret(doomed.ARN + "x") })
}

func testSecretPurgeDue(t *testing.T, s rotor.Store) {
	cutoff := at(100)
	mk := func(name string, purge int) *rotor.SecretRecord {
		sec := secret(region1, name, at(1))
		if purge >= 0 {
			sec.DeletedDate = at(0)
			sec.PurgeDate = at(purge)
		}
		return sec
	}
	before := mk("before", 50)
	exact := mk("exact", 100)
	after := mk("after", 101)
	live := mk("live", -1)
	other := secret(region2, "other-region", at(1))
	other.PurgeDate = at(10)
	createSecrets(t, s, after, live, exact, before, other)

	var got []string
	view(t, s, func(tx rotor.Tx) (err error) {
		got, err = tx.PurgeDue(cutoff)
		return err
	})
	slices.Sort(got)
	want := []string{before.ARN, exact.ARN, other.ARN}
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("PurgeDue(cutoff) = %v, want %v", got, want)
	}

	view(t, s, func(tx rotor.Tx) error {
		got, err := tx.PurgeDue(at(9))
		if err != nil || len(got) != 0 {
			t.Errorf("PurgeDue(before any purge date) = %v, %v; want none", got, err)
		}
		return nil
	})

	// Restoring a secret (clearing its dates) takes it off the list.
	restored := *before
	restored.DeletedDate, restored.PurgeDate = time.Time{}, time.Time{}
	update(t, s, func(tx rotor.Tx) error { return tx.UpdateSecret(&restored) })
	view(t, s, func(tx rotor.Tx) (err error) {
		got, err = tx.PurgeDue(cutoff)
		return err
	})
	if slices.Contains(got, before.ARN) || len(got) != 2 {
		t.Errorf("PurgeDue after restore = %v, want %v without %s", got, want, before.ARN)
	}
}

// testSecretResourcePolicyByteExact: a resource policy comes back byte for
// byte as stored — white space, escapes, key order, non-ASCII text and a
// document of the maximum size — from Secret, SecretByName and Secrets, and
// clearing it leaves "".
func testSecretResourcePolicyByteExact(t *testing.T, s rotor.Store) {
	docs := []string{
		"{\r\n\t\"Version\" : \"2012-10-17\",\n  \"Statement\":[ {\"Sid\":\"caf\u00e9 \\u00e9\\\"q\\\" \\/ \u65e5\u672c \U0001F511\"} ] }  \n",
		`{"Statement":[],"Version":"2012-10-17"}`,
		`{"Id":"` + strings.Repeat("x", 20480-len(`{"Id":""}`)) + `"}`,
	}
	var recs []*rotor.SecretRecord
	for i, doc := range docs {
		rec := secret(region1, fmt.Sprintf("policy-%d", i), at(i))
		rec.ResourcePolicy = doc
		recs = append(recs, rec)
	}
	createSecrets(t, s, recs...)
	check := func(what string, want []string) {
		t.Helper()
		view(t, s, func(tx rotor.Tx) error {
			for i, rec := range recs {
				got, err := tx.Secret(rec.ARN)
				if err != nil {
					t.Errorf("%s: Secret(%s): %v", what, rec.Name, err)
				} else if got.ResourcePolicy != want[i] {
					t.Errorf("%s: Secret(%s).ResourcePolicy = %q, want %q", what, rec.Name, got.ResourcePolicy, want[i])
				}
				got, err = tx.SecretByName(region1, rec.Name)
				if err != nil {
					t.Errorf("%s: SecretByName(%s): %v", what, rec.Name, err)
				} else if got.ResourcePolicy != want[i] {
					t.Errorf("%s: SecretByName(%s).ResourcePolicy = %q, want %q", what, rec.Name, got.ResourcePolicy, want[i])
				}
			}
			all, err := tx.Secrets(region1)
			if err != nil {
				t.Errorf("%s: Secrets: %v", what, err)
				return nil
			}
			for i, got := range all {
				if i < len(want) && got.ResourcePolicy != want[i] {
					t.Errorf("%s: Secrets()[%d].ResourcePolicy = %q, want %q", what, i, got.ResourcePolicy, want[i])
				}
			}
			return nil
		})
	}
	check("after CreateSecret", docs)
	if n := len([]rune(docs[2])); n != 20480 {
		t.Fatalf("fixture: largest document has %d characters, want 20480", n)
	}

	// Clearing one policy and replacing another touches only those rows.
	recs[0].ResourcePolicy = ""
	recs[1].ResourcePolicy = docs[0]
	update(t, s, func(tx rotor.Tx) error {
		if err := tx.UpdateSecret(recs[0]); err != nil {
			return err
		}
		return tx.UpdateSecret(recs[1])
	})
	check("after UpdateSecret", []string{"", docs[0], docs[2]})
}

func testSecretRegions(t *testing.T, s rotor.Store) {
	view(t, s, func(tx rotor.Tx) error {
		got, err := tx.Regions()
		if err != nil {
			t.Fatalf("Regions of an empty store: %v", err)
		}
		if got == nil || len(got) != 0 {
			t.Errorf("Regions of an empty store = %v, want an empty, non-nil map", got)
		}
		return nil
	})
	deleted := secret(region1, "deleted", at(3))
	deleted.DeletedDate, deleted.PurgeDate = at(4), at(5)
	createSecrets(t, s, secret(region1, "a", at(1)), secret(region1, "b", at(2)), deleted, secret(region2, "x", at(1)))
	view(t, s, func(tx rotor.Tx) error {
		got, err := tx.Regions()
		if err != nil {
			t.Fatalf("Regions: %v", err)
		}
		want := map[string]int{region1: 3, region2: 1}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("Regions = %v, want %v", got, want)
		}
		return nil
	})
}
