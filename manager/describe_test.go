package manager_test

import (
	"testing"
	"time"

	"github.com/rotorhq/rotor"
)

func TestDescribeSecret(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	created := e.clock.Now()
	r, err := e.svc.CreateSecret(e.ctx, rotor.CreateSecretInput{Name: "d", ClientRequestToken: tok(0), Value: sv("v"),
		Description: "desc", KmsKeyID: "alias/custom", Type: "partner"})
	if err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(time.Hour)
	e.put(t, "d", tok(1), "v1")
	want := rotor.SecretDescription{
		ARN: r.ARN, Name: "d", Type: "partner", Description: "desc", KmsKeyID: "alias/custom",
		CreatedDate: created, LastChangedDate: created.Add(time.Hour),
		VersionStages: map[string][]string{tok(0): {"AWSPREVIOUS"}, tok(1): {"AWSCURRENT"}},
	}
	wantEqual(t, "description", *e.describe(t, "d"), want)

	t.Run("TagsNilUntilTagged", func(t *testing.T) {
		if tags := e.describe(t, "d").Tags; tags != nil {
			t.Fatalf("Tags = %#v, want nil", tags)
		}
		if err := e.svc.TagResource(e.ctx, "d", []rotor.Tag{{Key: "a", Value: "1"}}); err != nil {
			t.Fatal(err)
		}
		if err := e.svc.UntagResource(e.ctx, "d", []string{"a"}); err != nil {
			t.Fatal(err)
		}
		if tags := e.describe(t, "d").Tags; tags == nil || len(tags) != 0 {
			t.Fatalf("Tags = %#v, want empty and non-nil", tags)
		}
	})

	t.Run("ErrUnknown", func(t *testing.T) {
		_, err := e.svc.DescribeSecret(e.ctx, "unknown")
		wantErr(t, err, rotor.ENOTFOUND, msgNotFound)
	})

	t.Run("ResultIsACopy", func(t *testing.T) {
		d := e.describe(t, "d")
		d.VersionStages[tok(1)][0] = "MUTATED"
		d.Tags = append(d.Tags, rotor.Tag{Key: "x"})
		if got := e.describe(t, "d").VersionStages[tok(1)]; got[0] != "AWSCURRENT" {
			t.Fatalf("cache shared with caller: %v", got)
		}
	})
}

func TestUpdateSecretMetadata(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	r, err := e.svc.CreateSecret(e.ctx, rotor.CreateSecretInput{Name: "u", ClientRequestToken: tok(0), Value: sv("v"), KmsKeyID: "alias/one"})
	if err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(time.Hour)
	out, err := e.svc.UpdateSecret(e.ctx, rotor.UpdateSecretInput{SecretID: "u", Description: str("new"), Type: str("t")})
	if err != nil {
		t.Fatal(err)
	}
	wantEqual(t, "result", *out, rotor.VersionResult{ARN: r.ARN, Name: "u"})
	d := e.describe(t, "u")
	if d.Description != "new" || d.Type != "t" || !d.LastChangedDate.Equal(e.clock.Now()) || d.KmsKeyID != "alias/one" {
		t.Fatalf("after update: %+v", d)
	}
	wantEqual(t, "versions", d.VersionStages, map[string][]string{tok(0): {"AWSCURRENT"}})

	// KmsKeyID "" means the default key; new versions record the key.
	if _, err := e.svc.UpdateSecret(e.ctx, rotor.UpdateSecretInput{SecretID: "u", KmsKeyID: str(""), ClientRequestToken: tok(1), Value: sv("v1")}); err != nil {
		t.Fatal(err)
	}
	if k := e.describe(t, "u").KmsKeyID; k != "" {
		t.Fatalf("KmsKeyID = %q, want default", k)
	}
	list, err := e.svc.ListSecretVersionIds(e.ctx, rotor.ListSecretVersionIdsInput{SecretID: "u"})
	if err != nil {
		t.Fatal(err)
	}
	keys := map[string][]string{}
	for _, v := range list.Versions {
		keys[v.VersionID] = v.KmsKeyIDs
	}
	wantEqual(t, "KmsKeyIDs", keys, map[string][]string{tok(0): {"alias/one"}, tok(1): {"DefaultEncryptionKey"}})

	// Nothing to change: LastChangedDate stays.
	last := e.describe(t, "u").LastChangedDate
	e.clock.Advance(time.Hour)
	if _, err := e.svc.UpdateSecret(e.ctx, rotor.UpdateSecretInput{SecretID: "u", Description: str("new")}); err != nil {
		t.Fatal(err)
	}
	if got := e.describe(t, "u").LastChangedDate; !got.Equal(last) {
		t.Fatalf("LastChangedDate moved to %v on a no-op update", got)
	}
	_, err = e.svc.UpdateSecret(e.ctx, rotor.UpdateSecretInput{SecretID: "nope", Description: str("x")})
	wantErr(t, err, rotor.ENOTFOUND, msgNotFound)
}

func TestTags(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.create(t, "t", "v")
	tag := func(tags ...rotor.Tag) {
		t.Helper()
		if err := e.svc.TagResource(e.ctx, "t", tags); err != nil {
			t.Fatal(err)
		}
	}
	tag(rotor.Tag{Key: "b", Value: "1"}, rotor.Tag{Key: "a", Value: "2"})
	tag(rotor.Tag{Key: "c", Value: "3"}, rotor.Tag{Key: "b", Value: "overwritten"}, rotor.Tag{Key: "B", Value: "case"})
	wantEqual(t, "tags", e.describe(t, "t").Tags, []rotor.Tag{{Key: "b", Value: "overwritten"}, {Key: "a", Value: "2"}, {Key: "c", Value: "3"}, {Key: "B", Value: "case"}})
	if err := e.svc.UntagResource(e.ctx, "t", []string{"a", "absent"}); err != nil {
		t.Fatal(err)
	}
	wantEqual(t, "tags", e.describe(t, "t").Tags, []rotor.Tag{{Key: "b", Value: "overwritten"}, {Key: "c", Value: "3"}, {Key: "B", Value: "case"}})

	t.Run("ErrTotalOver50", func(t *testing.T) {
		var many []rotor.Tag
		for i := range 47 {
			many = append(many, rotor.Tag{Key: string(rune('A'+i%26)) + string(rune('a'+i/26)), Value: "x"})
		}
		tag(many...) // 3 + 47 = 50
		before := e.snapshot(t, "t")
		err := e.svc.TagResource(e.ctx, "t", []rotor.Tag{{Key: "one-too-many"}})
		wantErr(t, err, rotor.EINVALID, "")
		wantEqual(t, "state", e.snapshot(t, "t"), before)
		tag(rotor.Tag{Key: "b", Value: "still fine"}) // overwriting does not add
	})

	t.Run("ErrBadTags", func(t *testing.T) {
		before := e.snapshot(t, "t")
		wantErr(t, e.svc.TagResource(e.ctx, "t", []rotor.Tag{{Key: "x"}, {Key: "x"}}), rotor.EINVALID, "")
		wantErr(t, e.svc.TagResource(e.ctx, "t", []rotor.Tag{{Key: ""}}), rotor.EVALIDATION, "")
		wantErr(t, e.svc.UntagResource(e.ctx, "t", []string{""}), rotor.EVALIDATION, "")
		wantErr(t, e.svc.TagResource(e.ctx, "nope", []rotor.Tag{{Key: "x"}}), rotor.ENOTFOUND, msgNotFound)
		wantEqual(t, "state", e.snapshot(t, "t"), before)
	})
}
