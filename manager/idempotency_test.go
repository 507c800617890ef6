package manager_test

import (
	"testing"

	"github.com/rotorhq/rotor"
)

// The ClientRequestToken table of aws-api.md §2.5.
func TestClientRequestToken(t *testing.T) {
	t.Parallel()
	inUse := func(arn string) string {
		return "You can't use ClientRequestToken " + tok(1) + " because that value is already in use for a version of secret " + arn + "."
	}

	t.Run("PutSameValueIsNoOp", func(t *testing.T) {
		e := newEnv(t)
		r := e.create(t, "s", "v0")
		first := e.put(t, "s", tok(1), "v1")
		before := e.snapshot(t, "s")
		e.clock.Advance(1)
		again := e.put(t, "s", tok(1), "v1")
		wantEqual(t, "result", again, first)
		wantEqual(t, "result", *again, rotor.VersionResult{ARN: r.ARN, Name: "s", VersionID: tok(1), Stages: []string{"AWSCURRENT"}})
		wantEqual(t, "state", e.snapshot(t, "s"), before)
	})

	t.Run("PutSameValueReportsCurrentLabels", func(t *testing.T) {
		e := newEnv(t)
		e.create(t, "s", "v0")
		e.put(t, "s", tok(1), "v1")
		e.put(t, "s", tok(2), "v2") // tok(1) is now AWSPREVIOUS
		again := e.put(t, "s", tok(1), "v1")
		wantEqual(t, "stages", again.Stages, []string{"AWSPREVIOUS"})
	})

	t.Run("ErrPutOtherValue", func(t *testing.T) {
		e := newEnv(t)
		r := e.create(t, "s", "v0")
		e.put(t, "s", tok(1), "v1")
		before := e.snapshot(t, "s")
		for _, v := range []rotor.Value{sv("v2"), {Binary: []byte("v1")}} {
			_, err := e.svc.PutSecretValue(e.ctx, rotor.PutSecretValueInput{SecretID: "s", ClientRequestToken: tok(1), Value: v})
			wantErr(t, err, rotor.EEXISTS, inUse(r.ARN))
		}
		wantEqual(t, "state", e.snapshot(t, "s"), before)
	})

	t.Run("UpdateSameValueIsNoOp", func(t *testing.T) {
		e := newEnv(t)
		r := e.create(t, "s", "v0")
		if _, err := e.svc.UpdateSecret(e.ctx, rotor.UpdateSecretInput{SecretID: "s", ClientRequestToken: tok(1), Value: sv("v1")}); err != nil {
			t.Fatal(err)
		}
		before := e.snapshot(t, "s")
		e.clock.Advance(1)
		again, err := e.svc.UpdateSecret(e.ctx, rotor.UpdateSecretInput{SecretID: "s", ClientRequestToken: tok(1), Value: sv("v1")})
		if err != nil {
			t.Fatal(err)
		}
		wantEqual(t, "result", *again, rotor.VersionResult{ARN: r.ARN, Name: "s", VersionID: tok(1)})
		wantEqual(t, "state", e.snapshot(t, "s"), before)
	})

	t.Run("ErrUpdateOtherValue", func(t *testing.T) {
		e := newEnv(t)
		r := e.create(t, "s", "v0")
		e.put(t, "s", tok(1), "v1")
		before := e.snapshot(t, "s")
		_, err := e.svc.UpdateSecret(e.ctx, rotor.UpdateSecretInput{SecretID: "s", ClientRequestToken: tok(1), Value: sv("v2"), Description: str("changed")})
		wantErr(t, err, rotor.EEXISTS, inUse(r.ARN))
		wantEqual(t, "state", e.snapshot(t, "s"), before)
	})

	t.Run("PutFillsPlaceholder", func(t *testing.T) {
		e := newEnv(t)
		r := e.create(t, "s", "v0")
		e.createPlaceholder(t, r.ARN, tok(1), "AWSPENDING")
		wantEqual(t, "describe", e.stages(t, "s"), map[string][]string{tok(0): {"AWSCURRENT"}, tok(1): {"AWSPENDING"}})

		// The rotation template's createSecret step.
		got, err := e.svc.PutSecretValue(e.ctx, rotor.PutSecretValueInput{SecretID: r.ARN, ClientRequestToken: tok(1),
			Value: sv("pending-value"), Stages: []string{"AWSPENDING"}})
		if err != nil {
			t.Fatal(err)
		}
		wantEqual(t, "result", *got, rotor.VersionResult{ARN: r.ARN, Name: "s", VersionID: tok(1), Stages: []string{"AWSPENDING"}})
		v := e.get(t, rotor.GetSecretValueInput{SecretID: r.ARN, VersionID: tok(1), VersionStage: "AWSPENDING"})
		if *v.Value.String != "pending-value" {
			t.Fatalf("pending value = %q", *v.Value.String)
		}
		if got := e.current(t, "s"); got != "v0" {
			t.Fatalf("current = %q, want unchanged", got)
		}

		// Filled exactly once: the same value again is a no-op, another is refused.
		if _, err := e.svc.PutSecretValue(e.ctx, rotor.PutSecretValueInput{SecretID: r.ARN, ClientRequestToken: tok(1),
			Value: sv("pending-value"), Stages: []string{"AWSPENDING"}}); err != nil {
			t.Fatalf("repeat fill: %v", err)
		}
		_, err = e.svc.PutSecretValue(e.ctx, rotor.PutSecretValueInput{SecretID: r.ARN, ClientRequestToken: tok(1),
			Value: sv("other"), Stages: []string{"AWSPENDING"}})
		wantErr(t, err, rotor.EEXISTS, inUse(r.ARN))
	})

	t.Run("PutFillsPlaceholderAsCurrent", func(t *testing.T) {
		e := newEnv(t)
		r := e.create(t, "s", "v0")
		e.createPlaceholder(t, r.ARN, tok(1), "AWSPENDING")
		got := e.put(t, "s", tok(1), "v1") // no VersionStages: AWSCURRENT
		wantEqual(t, "stages", got.Stages, []string{"AWSCURRENT", "AWSPENDING"})
		wantEqual(t, "describe", e.stages(t, "s"), map[string][]string{tok(0): {"AWSPREVIOUS"}, tok(1): {"AWSCURRENT", "AWSPENDING"}})
	})

	t.Run("ErrUpdateOntoPlaceholder", func(t *testing.T) {
		e := newEnv(t)
		r := e.create(t, "s", "v0")
		e.createPlaceholder(t, r.ARN, tok(1), "AWSPENDING")
		_, err := e.svc.UpdateSecret(e.ctx, rotor.UpdateSecretInput{SecretID: "s", ClientRequestToken: tok(1), Value: sv("v1")})
		wantErr(t, err, rotor.EEXISTS, inUse(r.ARN))
	})

	t.Run("ErrValueWithoutToken", func(t *testing.T) {
		e := newEnv(t)
		e.create(t, "s", "v0")
		before := e.snapshot(t, "s")
		const msg = "You must provide a ClientRequestToken value. We recommend a UUID-type value."
		_, err := e.svc.PutSecretValue(e.ctx, rotor.PutSecretValueInput{SecretID: "s", Value: sv("v")})
		wantErr(t, err, rotor.ESTATE, msg)
		_, err = e.svc.UpdateSecret(e.ctx, rotor.UpdateSecretInput{SecretID: "s", Value: sv("v")})
		wantErr(t, err, rotor.ESTATE, msg)
		// Checked before the secret is looked up.
		_, err = e.svc.PutSecretValue(e.ctx, rotor.PutSecretValueInput{SecretID: "unknown", Value: sv("v")})
		wantErr(t, err, rotor.ESTATE, msg)
		wantEqual(t, "state", e.snapshot(t, "s"), before)
	})

	t.Run("ErrPutWithoutValue", func(t *testing.T) {
		e := newEnv(t)
		e.create(t, "s", "v0")
		_, err := e.svc.PutSecretValue(e.ctx, rotor.PutSecretValueInput{SecretID: "s", ClientRequestToken: tok(1)})
		wantErr(t, err, rotor.ESTATE, "You must provide either SecretString or SecretBinary.")
	})
}
