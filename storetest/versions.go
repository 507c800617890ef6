package storetest

import (
	"fmt"
	"slices"
	"testing"

	"github.com/rotorhq/rotor"
)

// withVersions creates a secret and, in order, versions with the given ids
// (each with a value, CreatedDate at(i)); it returns the secret's ARN.
func withVersions(t *testing.T, s rotor.Store, name string, ids ...string) string {
	t.Helper()
	sec := secret(region1, name, at(0))
	createSecrets(t, s, sec)
	update(t, s, func(tx rotor.Tx) error {
		for i, id := range ids {
			if err := tx.CreateVersion(sec.ARN, &rotor.VersionRecord{ID: id, Value: sealed("kek", name+"/"+id), CreatedDate: at(i + 1)}); err != nil {
				return fmt.Errorf("CreateVersion(%s): %w", id, err)
			}
		}
		return nil
	})
	return sec.ARN
}

// stagesOf returns the labels of every version of arn, by version id.
func stagesOf(t *testing.T, s rotor.Store, arn string) map[string][]string {
	t.Helper()
	m := map[string][]string{}
	for _, v := range getVersions(t, s, arn) {
		m[v.ID] = v.Stages
	}
	return m
}

func testVersionRoundTrip(t *testing.T, s rotor.Store) {
	sec := secret(region1, "versions", at(0))
	createSecrets(t, s, sec)
	str := &rotor.VersionRecord{ID: "string-version", Value: sealed("kek-1", "s"), KmsKeyID: "alias/one",
		CreatedDate: at(20), LastAccessedDate: at(21)}
	bin := &rotor.VersionRecord{ID: "binary-version", Value: sealed("kek-2", "b"), Binary: true, KmsKeyID: "",
		CreatedDate: at(10)}
	placeholder := &rotor.VersionRecord{ID: "placeholder", KmsKeyID: "alias/two", CreatedDate: at(30)}
	// Stages given to CreateVersion are ignored.
	ignored := &rotor.VersionRecord{ID: "ignored-stages", Value: sealed("kek-1", "i"), Stages: []string{rotor.StageCurrent},
		CreatedDate: at(40)}
	update(t, s, func(tx rotor.Tx) error {
		for _, v := range []*rotor.VersionRecord{str, bin, placeholder, ignored} {
			if err := tx.CreateVersion(sec.ARN, v); err != nil {
				return fmt.Errorf("CreateVersion(%s): %w", v.ID, err)
			}
		}
		// Labels attached out of alphabetical order.
		for _, st := range []string{"zeta", rotor.StagePrevious, "Alpha", rotor.StageCurrent} {
			if err := tx.SetStage(sec.ARN, st, str.ID); err != nil {
				return err
			}
		}
		return tx.SetStage(sec.ARN, rotor.StagePending, placeholder.ID)
	})

	wantStr := *str
	wantStr.Stages = []string{rotor.StageCurrent, rotor.StagePrevious, "Alpha", "zeta"}
	slices.Sort(wantStr.Stages)
	wantPlaceholder := *placeholder
	wantPlaceholder.Stages = []string{rotor.StagePending}
	wantIgnored := *ignored
	wantIgnored.Stages = nil
	want := []*rotor.VersionRecord{bin, &wantStr, &wantPlaceholder, &wantIgnored} // oldest first

	view(t, s, func(tx rotor.Tx) error {
		got, err := tx.Versions(sec.ARN)
		if err != nil {
			t.Fatalf("Versions: %v", err)
		}
		if ids, wantIDs := versionIDs(got), versionIDs(want); !slices.Equal(ids, wantIDs) {
			t.Fatalf("Versions order = %v, want %v (oldest first)", ids, wantIDs)
		}
		for i := range want {
			sameVersion(t, "Versions["+want[i].ID+"]", got[i], want[i])
		}
		for _, w := range want {
			v, err := tx.Version(sec.ARN, w.ID)
			if err != nil {
				t.Errorf("Version(%s): %v", w.ID, err)
				continue
			}
			sameVersion(t, "Version("+w.ID+")", v, w)
		}
		if got[2].Value != nil {
			t.Errorf("placeholder Value = %+v, want nil", *got[2].Value)
		}
		return nil
	})

	viewCode(t, s, "Version(unknown id)", rotor.ENOTFOUND, func(tx rotor.Tx) error {
		_, err := tx.Version(sec.ARN, "nope")
		return err
	})
	viewCode(t, s, "Version(unknown secret)", rotor.ENOTFOUND, func(tx rotor.Tx) error {
		_, err := tx.Version(sec.ARN+"x", str.ID)
		return err
	})
	viewCode(t, s, "Versions(unknown secret)", rotor.ENOTFOUND, func(tx rotor.Tx) error {
		_, err := tx.Versions(sec.ARN + "x")
		return err
	})

	empty := secret(region1, "no-versions", at(1))
	createSecrets(t, s, empty)
	if vs := getVersions(t, s, empty.ARN); len(vs) != 0 {
		t.Errorf("Versions(secret without versions) = %v, want none", versionIDs(vs))
	}
}

func testVersionCreateErrors(t *testing.T, s rotor.Store) {
	arn := withVersions(t, s, "create-errors", "v1")
	other := withVersions(t, s, "other", "other-v")

	dup := &rotor.VersionRecord{ID: "v1", Value: sealed("kek-9", "dup"), CreatedDate: at(9)}
	updateCode(t, s, "CreateVersion(duplicate id)", rotor.EEXISTS, func(tx rotor.Tx) error { return tx.CreateVersion(arn, dup) })
	updateCode(t, s, "CreateVersion(duplicate id, placeholder)", rotor.EEXISTS, func(tx rotor.Tx) error {
		return tx.CreateVersion(arn, &rotor.VersionRecord{ID: "v1", CreatedDate: at(9)})
	})
	updateCode(t, s, "CreateVersion(unknown secret)", rotor.ENOTFOUND, func(tx rotor.Tx) error {
		return tx.CreateVersion(arn+"x", &rotor.VersionRecord{ID: "v2", Value: sealed("kek", "x"), CreatedDate: at(9)})
	})

	// The original v1 is unchanged.
	view(t, s, func(tx rotor.Tx) error {
		v, err := tx.Version(arn, "v1")
		if err != nil {
			t.Fatalf("Version(v1): %v", err)
		}
		sameVersion(t, "v1 after duplicate create", v, &rotor.VersionRecord{ID: "v1", Value: sealed("kek", "create-errors/v1"), CreatedDate: at(1)})
		return nil
	})

	// The same id on another secret is fine.
	update(t, s, func(tx rotor.Tx) error {
		return tx.CreateVersion(other, &rotor.VersionRecord{ID: "v1", Value: sealed("kek", "other-v1"), CreatedDate: at(5)})
	})
	if ids := versionIDs(getVersions(t, s, other)); !slices.Equal(ids, []string{"other-v", "v1"}) {
		t.Errorf("other secret's versions = %v, want [other-v v1]", ids)
	}
	if ids := versionIDs(getVersions(t, s, arn)); !slices.Equal(ids, []string{"v1"}) {
		t.Errorf("first secret's versions = %v, want [v1]", ids)
	}
}

func testVersionFillOnce(t *testing.T, s rotor.Store) {
	arn := withVersions(t, s, "fill", "full")
	update(t, s, func(tx rotor.Tx) error {
		if err := tx.CreateVersion(arn, &rotor.VersionRecord{ID: "pending", KmsKeyID: "alias/k", CreatedDate: at(5)}); err != nil {
			return err
		}
		return tx.SetStage(arn, rotor.StagePending, "pending")
	})

	value := sealed("kek-fill", "filled")
	update(t, s, func(tx rotor.Tx) error { return tx.FillVersion(arn, "pending", *value, true) })
	want := &rotor.VersionRecord{ID: "pending", Value: value, Binary: true, KmsKeyID: "alias/k",
		Stages: []string{rotor.StagePending}, CreatedDate: at(5)}
	view(t, s, func(tx rotor.Tx) error {
		v, err := tx.Version(arn, "pending")
		if err != nil {
			t.Fatalf("Version(pending): %v", err)
		}
		sameVersion(t, "filled version", v, want)
		return nil
	})

	updateCode(t, s, "FillVersion(already filled)", rotor.ESTATE, func(tx rotor.Tx) error {
		return tx.FillVersion(arn, "pending", *sealed("kek-fill", "second"), false)
	})
	updateCode(t, s, "FillVersion(created with a value)", rotor.ESTATE, func(tx rotor.Tx) error {
		return tx.FillVersion(arn, "full", *sealed("kek-fill", "overwrite"), false)
	})
	updateCode(t, s, "FillVersion(unknown version)", rotor.ENOTFOUND, func(tx rotor.Tx) error {
		return tx.FillVersion(arn, "nope", *sealed("kek-fill", "x"), false)
	})
	updateCode(t, s, "FillVersion(unknown secret)", rotor.ENOTFOUND, func(tx rotor.Tx) error {
		return tx.FillVersion(arn+"x", "pending", *sealed("kek-fill", "x"), false)
	})

	view(t, s, func(tx rotor.Tx) error {
		v, err := tx.Version(arn, "pending")
		if err != nil {
			t.Fatalf("Version(pending): %v", err)
		}
		sameVersion(t, "filled version after refused refill", v, want)
		v, err = tx.Version(arn, "full")
		if err != nil {
			t.Fatalf("Version(full): %v", err)
		}
		sameVersion(t, "full version after refused fill", v, &rotor.VersionRecord{ID: "full", Value: sealed("kek", "fill/full"), CreatedDate: at(1)})
		return nil
	})
}

func testVersionSetLastAccessed(t *testing.T, s rotor.Store) {
	arn := withVersions(t, s, "accessed", "v1", "v2")
	day := at(86400)
	update(t, s, func(tx rotor.Tx) error { return tx.SetLastAccessed(arn, "v2", day) })
	view(t, s, func(tx rotor.Tx) error {
		sec, err := tx.Secret(arn)
		if err != nil {
			t.Fatalf("Secret: %v", err)
		}
		if !sec.LastAccessedDate.Equal(day) {
			t.Errorf("secret LastAccessedDate = %v, want %v", sec.LastAccessedDate, day)
		}
		v2, err := tx.Version(arn, "v2")
		if err != nil {
			t.Fatalf("Version(v2): %v", err)
		}
		if !v2.LastAccessedDate.Equal(day) {
			t.Errorf("v2 LastAccessedDate = %v, want %v", v2.LastAccessedDate, day)
		}
		v1, err := tx.Version(arn, "v1")
		if err != nil {
			t.Fatalf("Version(v1): %v", err)
		}
		if !v1.LastAccessedDate.IsZero() {
			t.Errorf("v1 LastAccessedDate = %v, want zero (not accessed)", v1.LastAccessedDate)
		}
		return nil
	})
	later := day.AddDate(0, 0, 1)
	update(t, s, func(tx rotor.Tx) error { return tx.SetLastAccessed(arn, "v1", later) })
	if sec := getSecret(t, s, arn); !sec.LastAccessedDate.Equal(later) {
		t.Errorf("secret LastAccessedDate after second read = %v, want %v", sec.LastAccessedDate, later)
	}
	// An earlier day written after (another server's note) moves nothing
	// back, the secret's date nor the version's.
	update(t, s, func(tx rotor.Tx) error { return tx.SetLastAccessed(arn, "v1", day) })
	if sec := getSecret(t, s, arn); !sec.LastAccessedDate.Equal(later) {
		t.Errorf("secret LastAccessedDate after an earlier day = %v, want %v", sec.LastAccessedDate, later)
	}
	view(t, s, func(tx rotor.Tx) error {
		v1, err := tx.Version(arn, "v1")
		if err != nil {
			t.Fatalf("Version(v1): %v", err)
		}
		if !v1.LastAccessedDate.Equal(later) {
			t.Errorf("v1 LastAccessedDate after an earlier day = %v, want %v", v1.LastAccessedDate, later)
		}
		return nil
	})

	updateCode(t, s, "SetLastAccessed(unknown version)", rotor.ENOTFOUND, func(tx rotor.Tx) error {
		return tx.SetLastAccessed(arn, "nope", day)
	})
	updateCode(t, s, "SetLastAccessed(unknown secret)", rotor.ENOTFOUND, func(tx rotor.Tx) error {
		return tx.SetLastAccessed(arn+"x", "v1", day)
	})
}

func testVersionDeleteVersions(t *testing.T, s rotor.Store) {
	arn := withVersions(t, s, "prune", "v1", "v2", "v3", "v4")
	other := withVersions(t, s, "other", "v1")
	update(t, s, func(tx rotor.Tx) error {
		if err := tx.SetStage(arn, rotor.StageCurrent, "v4"); err != nil {
			return err
		}
		if err := tx.SetStage(arn, "old", "v2"); err != nil {
			return err
		}
		return tx.SetStage(other, rotor.StageCurrent, "v1")
	})

	update(t, s, func(tx rotor.Tx) error { return tx.DeleteVersions(arn, []string{"v1", "v2", "v2"}) })
	if got := stagesOf(t, s, arn); len(got) != 2 || got["v3"] != nil || !slices.Equal(got["v4"], []string{rotor.StageCurrent}) {
		t.Errorf("after DeleteVersions(v1, v2): versions and labels = %v, want v3 [] and v4 [AWSCURRENT]", got)
	}
	update(t, s, func(tx rotor.Tx) error {
		// Had the deleted v2's label survived, this would put "old" on a
		// second row.
		return tx.SetStage(arn, "old", "v3")
	})
	if got := stagesOf(t, s, arn); !slices.Equal(got["v3"], []string{"old"}) {
		t.Errorf("label old on v3 = %v", got["v3"])
	}

	updateCode(t, s, "DeleteVersions(one unknown id)", rotor.ENOTFOUND, func(tx rotor.Tx) error {
		return tx.DeleteVersions(arn, []string{"v3", "nope"})
	})
	updateCode(t, s, "DeleteVersions(unknown secret)", rotor.ENOTFOUND, func(tx rotor.Tx) error {
		return tx.DeleteVersions(arn+"x", []string{"v3"})
	})
	update(t, s, func(tx rotor.Tx) error { return tx.DeleteVersions(arn, nil) })
	if ids := versionIDs(getVersions(t, s, arn)); !slices.Equal(ids, []string{"v3", "v4"}) {
		t.Errorf("versions after refused and empty deletes = %v, want [v3 v4]", ids)
	}
	if got := stagesOf(t, s, other); !slices.Equal(got["v1"], []string{rotor.StageCurrent}) {
		t.Errorf("other secret's v1 labels = %v, want [AWSCURRENT]", got["v1"])
	}
}

func testStageSetMoves(t *testing.T, s rotor.Store) {
	arn := withVersions(t, s, "labels", "v1", "v2", "v3")
	other := withVersions(t, s, "other", "v1")

	update(t, s, func(tx rotor.Tx) error {
		if err := tx.SetStage(arn, rotor.StageCurrent, "v1"); err != nil {
			return err
		}
		if err := tx.SetStage(arn, "custom", "v1"); err != nil {
			return err
		}
		// The same label on another secret is independent.
		return tx.SetStage(other, rotor.StageCurrent, "v1")
	})
	steps := []struct {
		stage, id string
		want      map[string][]string
	}{
		{rotor.StageCurrent, "v2", map[string][]string{"v1": {"custom"}, "v2": {rotor.StageCurrent}}},
		{rotor.StagePrevious, "v1", map[string][]string{"v1": {rotor.StagePrevious, "custom"}, "v2": {rotor.StageCurrent}}},
		{rotor.StageCurrent, "v2", map[string][]string{"v1": {rotor.StagePrevious, "custom"}, "v2": {rotor.StageCurrent}}}, // idempotent
		{"custom", "v3", map[string][]string{"v1": {rotor.StagePrevious}, "v2": {rotor.StageCurrent}, "v3": {"custom"}}},
		{rotor.StageCurrent, "v3", map[string][]string{"v1": {rotor.StagePrevious}, "v3": {rotor.StageCurrent, "custom"}}},
	}
	for _, st := range steps {
		update(t, s, func(tx rotor.Tx) error { return tx.SetStage(arn, st.stage, st.id) })
		vs := getVersions(t, s, arn)
		if err := checkLabelsUnique(vs); err != nil {
			t.Errorf("after SetStage(%s, %s): %v", st.stage, st.id, err)
		}
		got := map[string][]string{}
		for _, v := range vs {
			if len(v.Stages) > 0 {
				got[v.ID] = v.Stages
			}
		}
		if fmt.Sprint(got) != fmt.Sprint(st.want) {
			t.Errorf("after SetStage(%s, %s): labels = %v, want %v", st.stage, st.id, got, st.want)
		}
	}
	if got := stagesOf(t, s, other); !slices.Equal(got["v1"], []string{rotor.StageCurrent}) {
		t.Errorf("other secret's labels = %v, want v1 [AWSCURRENT]", got)
	}

	// Moving and returning a label inside one transaction.
	update(t, s, func(tx rotor.Tx) error {
		if err := tx.SetStage(arn, rotor.StageCurrent, "v1"); err != nil {
			return err
		}
		return tx.SetStage(arn, rotor.StageCurrent, "v3")
	})
	if got := stageMap(getVersions(t, s, arn))[rotor.StageCurrent]; !slices.Equal(got, []string{"v3"}) {
		t.Errorf("AWSCURRENT after a move and back in one transaction is on %v, want [v3]", got)
	}

	updateCode(t, s, "SetStage(unknown version)", rotor.ENOTFOUND, func(tx rotor.Tx) error {
		return tx.SetStage(arn, rotor.StageCurrent, "nope")
	})
	updateCode(t, s, "SetStage(unknown secret)", rotor.ENOTFOUND, func(tx rotor.Tx) error {
		return tx.SetStage(arn+"x", rotor.StageCurrent, "v1")
	})
	updateCode(t, s, "SetStage(version of another secret)", rotor.ENOTFOUND, func(tx rotor.Tx) error {
		return tx.SetStage(other, "custom", "v2")
	})
	if got := stageMap(getVersions(t, s, arn))[rotor.StageCurrent]; !slices.Equal(got, []string{"v3"}) {
		t.Errorf("AWSCURRENT after refused moves is on %v, want [v3]", got)
	}
}

func testStageRemove(t *testing.T, s rotor.Store) {
	arn := withVersions(t, s, "remove", "v1", "v2")
	update(t, s, func(tx rotor.Tx) error {
		for _, st := range []struct{ stage, id string }{
			{rotor.StageCurrent, "v2"}, {rotor.StagePrevious, "v1"}, {"custom", "v1"},
		} {
			if err := tx.SetStage(arn, st.stage, st.id); err != nil {
				return err
			}
		}
		return nil
	})

	update(t, s, func(tx rotor.Tx) error { return tx.RemoveStage(arn, rotor.StagePrevious) })
	got := stagesOf(t, s, arn)
	if !slices.Equal(got["v1"], []string{"custom"}) || !slices.Equal(got["v2"], []string{rotor.StageCurrent}) {
		t.Errorf("after RemoveStage(AWSPREVIOUS): labels = %v, want v1 [custom], v2 [AWSCURRENT]", got)
	}

	// A label on no version: nothing to do, not an error.
	update(t, s, func(tx rotor.Tx) error { return tx.RemoveStage(arn, rotor.StagePrevious) })
	update(t, s, func(tx rotor.Tx) error { return tx.RemoveStage(arn, "custom") })
	got = stagesOf(t, s, arn)
	if len(got) != 2 || len(got["v1"]) != 0 || !slices.Equal(got["v2"], []string{rotor.StageCurrent}) {
		t.Errorf("after removing every label from v1: %v, want v1 [] (kept, deprecated) and v2 [AWSCURRENT]", got)
	}

	updateCode(t, s, "RemoveStage(unknown secret)", rotor.ENOTFOUND, func(tx rotor.Tx) error {
		return tx.RemoveStage(arn+"x", rotor.StageCurrent)
	})
}
