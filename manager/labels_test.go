package manager_test

import (
	"fmt"
	"testing"

	"github.com/rotorhq/rotor"
)

// Scenarios of aws-api.md §2.3, several recorded against AWS by LocalStack [LS].
func TestStagingLabels(t *testing.T) {
	t.Parallel()
	t.Run("PutWithVersionStagesLeavesCurrent", func(t *testing.T) { // [LS] test_put_secret_value_with_version_stages
		e := newEnv(t)
		e.create(t, "s", "v0")
		r := e.put(t, "s", tok(1), "v1", "SAMPLESTAGE1", "SAMPLESTAGE0")
		wantEqual(t, "result stages", r.Stages, []string{"SAMPLESTAGE0", "SAMPLESTAGE1"})
		wantEqual(t, "stages", e.stages(t, "s"), map[string][]string{
			tok(0): {"AWSCURRENT"},
			tok(1): {"SAMPLESTAGE0", "SAMPLESTAGE1"},
		})
		if got := e.current(t, "s"); got != "v0" {
			t.Fatalf("current = %q", got)
		}
	})

	t.Run("SortedLabels", func(t *testing.T) {
		e := newEnv(t)
		e.create(t, "s", "v0")
		r := e.put(t, "s", tok(1), "v1", "two", "one", "four", "three")
		wantEqual(t, "stages", r.Stages, []string{"four", "one", "three", "two"})
		v := e.get(t, rotor.GetSecretValueInput{SecretID: "s", VersionStage: "three"})
		wantEqual(t, "get stages", v.Stages, []string{"four", "one", "three", "two"})
	})

	t.Run("PreviousFollowsCurrentKeepingCustomLabels", func(t *testing.T) { // [LS] ..._custom_stages_1
		e := newEnv(t)
		e.create(t, "s", "v1")
		e.put(t, "s", tok(2), "v2", "AWSCURRENT", "AWSSOMETHING", "PUT1")
		wantEqual(t, "after v2", e.stages(t, "s"), map[string][]string{
			tok(0): {"AWSPREVIOUS"},
			tok(2): {"AWSCURRENT", "AWSSOMETHING", "PUT1"},
		})
		e.put(t, "s", tok(3), "v3")
		wantEqual(t, "after v3", e.stages(t, "s"), map[string][]string{
			tok(2): {"AWSPREVIOUS", "AWSSOMETHING", "PUT1"},
			tok(3): {"AWSCURRENT"},
		})
	})

	t.Run("CurrentOntoPendingKeepsPending", func(t *testing.T) { // [LS] test_update_secret_version_stages_current_pending
		e := newEnv(t)
		e.create(t, "s", "v1")
		e.put(t, "s", tok(2), "v2", "AWSPENDING")
		if _, err := e.svc.UpdateSecretVersionStage(e.ctx, rotor.UpdateSecretVersionStageInput{SecretID: "s",
			VersionStage: "AWSCURRENT", MoveToVersionID: tok(2), RemoveFromVersionID: tok(0)}); err != nil {
			t.Fatal(err)
		}
		wantEqual(t, "after move", e.allVersions(t, "s"), map[string][]string{
			tok(0): {"AWSPREVIOUS"},
			tok(2): {"AWSCURRENT", "AWSPENDING"},
		})
		e.put(t, "s", tok(3), "v3")
		wantEqual(t, "after put", e.allVersions(t, "s"), map[string][]string{
			tok(0): nil,
			tok(2): {"AWSPREVIOUS"},
			tok(3): {"AWSCURRENT"},
		})
	})

	t.Run("ManualCurrentAbandonsPending", func(t *testing.T) { // §6.4 RotationAbandoned
		for _, via := range []string{"PutSecretValue", "UpdateSecret"} {
			t.Run(via, func(t *testing.T) {
				e := newEnv(t)
				e.create(t, "s", "v1")
				e.put(t, "s", tok(2), "pending", "AWSPENDING")
				if via == "PutSecretValue" {
					e.put(t, "s", tok(3), "v3")
				} else if _, err := e.svc.UpdateSecret(e.ctx, rotor.UpdateSecretInput{SecretID: "s", ClientRequestToken: tok(3), Value: sv("v3")}); err != nil {
					t.Fatal(err)
				}
				wantEqual(t, "stages", e.allVersions(t, "s"), map[string][]string{
					tok(0): {"AWSPREVIOUS"},
					tok(2): nil,
					tok(3): {"AWSCURRENT"},
				})
			})
		}
	})

	t.Run("PutNotCurrentKeepsPending", func(t *testing.T) {
		e := newEnv(t)
		e.create(t, "s", "v1")
		e.put(t, "s", tok(2), "pending", "AWSPENDING")
		e.put(t, "s", tok(3), "other", "OTHER")
		wantEqual(t, "stages", e.stages(t, "s"), map[string][]string{
			tok(0): {"AWSCURRENT"},
			tok(2): {"AWSPENDING"},
			tok(3): {"OTHER"},
		})
	})

	t.Run("FirstVersionGetsCurrent", func(t *testing.T) {
		e := newEnv(t)
		e.create(t, "s", "")
		r := e.put(t, "s", tok(1), "v1", "AWSPENDING")
		wantEqual(t, "stages", r.Stages, []string{"AWSCURRENT", "AWSPENDING"})
		if got := e.current(t, "s"); got != "v1" {
			t.Fatalf("current = %q", got)
		}
	})

	t.Run("LabelMovesOffOtherVersion", func(t *testing.T) {
		e := newEnv(t)
		e.create(t, "s", "v1")
		e.put(t, "s", tok(2), "v2", "BLUE")
		e.put(t, "s", tok(3), "v3", "BLUE")
		wantEqual(t, "stages", e.allVersions(t, "s"), map[string][]string{
			tok(0): {"AWSCURRENT"},
			tok(2): nil,
			tok(3): {"BLUE"},
		})
	})

	t.Run("UpdateSecretMovesCurrent", func(t *testing.T) {
		e := newEnv(t)
		e.create(t, "s", "v1")
		r, err := e.svc.UpdateSecret(e.ctx, rotor.UpdateSecretInput{SecretID: "s", ClientRequestToken: tok(2), Value: sv("v2")})
		if err != nil {
			t.Fatal(err)
		}
		wantEqual(t, "VersionID", r.VersionID, tok(2))
		wantEqual(t, "stages", e.stages(t, "s"), map[string][]string{tok(0): {"AWSPREVIOUS"}, tok(2): {"AWSCURRENT"}})
		if got := e.current(t, "s"); got != "v2" {
			t.Fatalf("current = %q", got)
		}
	})

	t.Run("DeprecatedHidden", func(t *testing.T) { // [LS] test_deprecated_secret_version_stage
		e := newEnv(t)
		e.create(t, "s", "v1")
		e.put(t, "s", tok(2), "v2")
		e.put(t, "s", tok(3), "v3")
		wantEqual(t, "describe", e.stages(t, "s"), map[string][]string{tok(2): {"AWSPREVIOUS"}, tok(3): {"AWSCURRENT"}})
		out, err := e.svc.ListSecretVersionIds(e.ctx, rotor.ListSecretVersionIdsInput{SecretID: "s"})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Versions) != 2 {
			t.Fatalf("ListSecretVersionIds lists %d versions, want 2", len(out.Versions))
		}
		all := e.allVersions(t, "s")
		if st, ok := all[tok(0)]; !ok || st != nil {
			t.Fatalf("IncludeDeprecated: tok(0) = %v (listed %v), want listed with no stages", st, ok)
		}
		list, err := e.svc.ListSecrets(e.ctx, rotor.ListSecretsInput{})
		if err != nil {
			t.Fatal(err)
		}
		wantEqual(t, "list", list.Secrets[0].VersionStages, map[string][]string{tok(2): {"AWSPREVIOUS"}, tok(3): {"AWSCURRENT"}})
	})

	t.Run("ErrMoreThan20Labels", func(t *testing.T) {
		e := newEnv(t)
		e.create(t, "s", "v1") // AWSCURRENT
		var labels []string
		for i := range 19 {
			labels = append(labels, fmt.Sprintf("L%02d", i))
		}
		e.put(t, "s", tok(1), "v2", labels...) // 20 labels in all
		before := e.snapshot(t, "s")
		_, err := e.svc.PutSecretValue(e.ctx, rotor.PutSecretValueInput{SecretID: "s", ClientRequestToken: tok(2), Value: sv("v3"), Stages: []string{"L20"}})
		wantErr(t, err, rotor.ELIMIT, "")
		_, err = e.svc.UpdateSecretVersionStage(e.ctx, rotor.UpdateSecretVersionStageInput{SecretID: "s", VersionStage: "L21", MoveToVersionID: tok(0)})
		wantErr(t, err, rotor.ELIMIT, "")
		wantEqual(t, "state", e.snapshot(t, "s"), before)
		// Moving an existing label is fine.
		e.put(t, "s", tok(3), "v4", "L00")
	})
}

func TestUpdateSecretVersionStage(t *testing.T) {
	t.Parallel()
	setup := func(t *testing.T) (*env, *rotor.VersionResult) {
		e := newEnv(t)
		r := e.create(t, "s", "v1")      // tok(0)
		e.put(t, "s", tok(1), "v2")      // tok(1) current, tok(0) previous
		e.put(t, "s", tok(2), "v3", "X") // tok(2) X
		return e, r
	}
	move := func(e *env, stage, to, from string) (*rotor.SecretRef, error) {
		return e.svc.UpdateSecretVersionStage(e.ctx, rotor.UpdateSecretVersionStageInput{SecretID: "s", VersionStage: stage, MoveToVersionID: to, RemoveFromVersionID: from})
	}

	t.Run("MoveCurrentBack", func(t *testing.T) {
		e, r := setup(t)
		ref, err := move(e, "AWSCURRENT", tok(0), tok(1))
		if err != nil {
			t.Fatal(err)
		}
		wantEqual(t, "ref", *ref, rotor.SecretRef{ARN: r.ARN, Name: "s"})
		wantEqual(t, "stages", e.stages(t, "s"), map[string][]string{tok(0): {"AWSCURRENT"}, tok(1): {"AWSPREVIOUS"}, tok(2): {"X"}})
		if got := e.current(t, "s"); got != "v1" {
			t.Fatalf("current = %q", got)
		}
	})

	t.Run("MoveCustomLabel", func(t *testing.T) {
		e, _ := setup(t)
		if _, err := move(e, "X", tok(0), tok(2)); err != nil {
			t.Fatal(err)
		}
		wantEqual(t, "stages", e.stages(t, "s"), map[string][]string{tok(0): {"AWSPREVIOUS", "X"}, tok(1): {"AWSCURRENT"}})
	})

	t.Run("MoveAloneWhenUnattached", func(t *testing.T) {
		e, _ := setup(t)
		if _, err := move(e, "NEW", tok(0), ""); err != nil {
			t.Fatal(err)
		}
		if _, err := move(e, "NEW", tok(0), ""); err != nil { // already there: no-op
			t.Fatal(err)
		}
		wantEqual(t, "tok(0)", e.stages(t, "s")[tok(0)], []string{"AWSPREVIOUS", "NEW"})
	})

	t.Run("FirstCurrentOnEmptySecret", func(t *testing.T) { // finishSecret on a secret created without value
		e := newEnv(t)
		r := e.create(t, "empty", "")
		e.createPlaceholder(t, r.ARN, tok(5), "AWSPENDING")
		if _, err := e.svc.PutSecretValue(e.ctx, rotor.PutSecretValueInput{SecretID: r.ARN, ClientRequestToken: tok(5), Value: sv("p"), Stages: []string{"AWSPENDING"}}); err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.UpdateSecretVersionStage(e.ctx, rotor.UpdateSecretVersionStageInput{SecretID: r.ARN, VersionStage: "AWSCURRENT", MoveToVersionID: tok(5)}); err != nil {
			t.Fatal(err)
		}
		wantEqual(t, "stages", e.stages(t, "empty"), map[string][]string{tok(5): {"AWSCURRENT", "AWSPENDING"}})
	})

	t.Run("RemoveOnlyDeprecates", func(t *testing.T) {
		e, _ := setup(t)
		if _, err := move(e, "X", "", tok(2)); err != nil {
			t.Fatal(err)
		}
		wantEqual(t, "stages", e.stages(t, "s"), map[string][]string{tok(0): {"AWSPREVIOUS"}, tok(1): {"AWSCURRENT"}})
		if st, ok := e.allVersions(t, "s")[tok(2)]; !ok || st != nil {
			t.Fatalf("tok(2) = %v, %v; want deprecated", st, ok)
		}
	})

	t.Run("RemoveCurrentLeavesPrevious", func(t *testing.T) {
		e, _ := setup(t)
		if _, err := move(e, "AWSCURRENT", "", tok(1)); err != nil {
			t.Fatal(err)
		}
		wantEqual(t, "stages", e.stages(t, "s"), map[string][]string{tok(0): {"AWSPREVIOUS"}, tok(2): {"X"}})
		_, err := e.svc.GetSecretValue(e.ctx, rotor.GetSecretValueInput{SecretID: "s"})
		wantErr(t, err, rotor.ENOTFOUND, "Secrets Manager can't find the specified secret value for staging label: AWSCURRENT")
	})

	for name, tc := range map[string]struct {
		stage, to, from string
		code, msg       string
	}{
		"ErrNeither":          {"AWSCURRENT", "", "", rotor.EINVALID, ""},
		"ErrCurrentNoRemove":  {"AWSCURRENT", tok(0), "", rotor.EINVALID, "The parameter RemoveFromVersionId can't be empty. Staging label AWSCURRENT is currently attached to version " + tok(1) + ", so you must explicitly reference that version in RemoveFromVersionId."},
		"ErrCustomNoRemove":   {"X", tok(0), "", rotor.EINVALID, "The parameter RemoveFromVersionId can't be empty. Staging label X is currently attached to version " + tok(2) + ", so you must explicitly reference that version in RemoveFromVersionId."},
		"ErrRemoveWrong":      {"AWSCURRENT", tok(0), tok(2), rotor.EINVALID, "Version stage AWSCURRENT not found in version " + tok(2)},
		"ErrRemoveUnknown":    {"X", "", tok(9), rotor.EINVALID, "Not a valid version: " + tok(9)},
		"ErrRemoveNotCarried": {"X", "", tok(0), rotor.EINVALID, ""},
		"ErrMoveUnknown":      {"X", tok(9), tok(2), rotor.ENOTFOUND, "Secrets Manager can't find the specified secret value for VersionId: " + tok(9)},
		"ErrEmptyStage":       {"", tok(0), "", rotor.EVALIDATION, ""},
	} {
		t.Run(name, func(t *testing.T) {
			e, _ := setup(t)
			before := e.snapshot(t, "s")
			_, err := move(e, tc.stage, tc.to, tc.from)
			wantErr(t, err, tc.code, tc.msg)
			wantEqual(t, "state", e.snapshot(t, "s"), before)
		})
	}

	t.Run("ErrUnknownSecret", func(t *testing.T) {
		e := newEnv(t)
		_, err := e.svc.UpdateSecretVersionStage(e.ctx, rotor.UpdateSecretVersionStageInput{SecretID: "nope", VersionStage: "X", MoveToVersionID: tok(1)})
		wantErr(t, err, rotor.ENOTFOUND, msgNotFound)
	})
}
