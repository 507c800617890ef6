package manager_test

import (
	"regexp"
	"strings"
	"testing"

	"github.com/rotorhq/rotor"
)

func TestCreateSecret(t *testing.T) {
	t.Parallel()
	t.Run("OK", func(t *testing.T) {
		e := newEnv(t)
		r, err := e.svc.CreateSecret(e.ctx, rotor.CreateSecretInput{Name: "app/db", ClientRequestToken: tok(1),
			Value: sv("s3cret"), Description: "the db", Tags: []rotor.Tag{{Key: "env", Value: "prod"}}})
		if err != nil {
			t.Fatal(err)
		}
		if !regexp.MustCompile(`^arn:aws:secretsmanager:us-east-1:123456789012:secret:app/db-[A-Za-z0-9]{6}$`).MatchString(r.ARN) {
			t.Fatalf("ARN = %q", r.ARN)
		}
		wantEqual(t, "result", *r, rotor.VersionResult{ARN: r.ARN, Name: "app/db", VersionID: tok(1)})
		d := e.describe(t, "app/db")
		wantEqual(t, "VersionStages", d.VersionStages, map[string][]string{tok(1): {"AWSCURRENT"}})
		wantEqual(t, "Tags", d.Tags, []rotor.Tag{{Key: "env", Value: "prod"}})
		wantEqual(t, "Description", d.Description, "the db")
		now := e.clock.Now()
		if !d.CreatedDate.Equal(now) || !d.LastChangedDate.Equal(now) {
			t.Fatalf("CreatedDate = %v, LastChangedDate = %v, want %v", d.CreatedDate, d.LastChangedDate, now)
		}
		if got := e.current(t, r.ARN); got != "s3cret" {
			t.Fatalf("value = %q", got)
		}
	})

	t.Run("OKBinary", func(t *testing.T) {
		e := newEnv(t)
		if _, err := e.svc.CreateSecret(e.ctx, rotor.CreateSecretInput{Name: "bin", ClientRequestToken: tok(1),
			Value: rotor.Value{Binary: []byte{0, 1, 2, 255}}}); err != nil {
			t.Fatal(err)
		}
		v := e.get(t, rotor.GetSecretValueInput{SecretID: "bin"})
		if v.Value.String != nil || string(v.Value.Binary) != "\x00\x01\x02\xff" {
			t.Fatalf("value = %+v", v.Value)
		}
	})

	t.Run("OKWithoutValue", func(t *testing.T) {
		e := newEnv(t)
		r := e.create(t, "empty", "")
		if r.VersionID != "" {
			t.Fatalf("VersionID = %q, want none", r.VersionID)
		}
		if d := e.describe(t, "empty"); d.VersionStages != nil {
			t.Fatalf("VersionStages = %v, want nil", d.VersionStages)
		}
		_, err := e.svc.GetSecretValue(e.ctx, rotor.GetSecretValueInput{SecretID: "empty"})
		wantErr(t, err, rotor.ENOTFOUND, "Secrets Manager can't find the specified secret value for staging label: AWSCURRENT")
	})

	t.Run("ErrInvalidName", func(t *testing.T) {
		e := newEnv(t)
		for _, name := range []string{"has space", "star*", "q?", "br]", `back\slash`, "", strings.Repeat("a", 513), "colon:x"} {
			_, err := e.svc.CreateSecret(e.ctx, rotor.CreateSecretInput{Name: name})
			wantErr(t, err, rotor.EVALIDATION, rotor.InvalidNameMessage)
		}
		if _, err := e.svc.CreateSecret(e.ctx, rotor.CreateSecretInput{Name: strings.Repeat("a", 512)}); err != nil {
			t.Fatalf("512-character name: %v", err)
		}
	})

	t.Run("ErrNameExists", func(t *testing.T) {
		e := newEnv(t)
		e.create(t, "dup", "v")
		for _, in := range []rotor.CreateSecretInput{
			{Name: "dup"},
			{Name: "dup", ClientRequestToken: tok(9), Value: sv("v")},
			{Name: "dup", ClientRequestToken: tok(0)}, // same token, no value
		} {
			_, err := e.svc.CreateSecret(e.ctx, in)
			wantErr(t, err, rotor.EEXISTS, "The operation failed because the secret dup already exists.")
		}
	})

	t.Run("IdempotentRetry", func(t *testing.T) {
		e := newEnv(t)
		in := rotor.CreateSecretInput{Name: "retry", ClientRequestToken: tok(1), Value: sv("v")}
		first, err := e.svc.CreateSecret(e.ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		before := e.snapshot(t, "retry")
		e.clock.Advance(1)
		again, err := e.svc.CreateSecret(e.ctx, in)
		if err != nil {
			t.Fatalf("retry: %v", err)
		}
		wantEqual(t, "retry result", again, first)
		wantEqual(t, "state after retry", e.snapshot(t, "retry"), before)
	})

	t.Run("ErrTokenReusedWithOtherValue", func(t *testing.T) {
		e := newEnv(t)
		r := e.create(t, "reuse", "v") // token tok(0)
		for _, v := range []rotor.Value{sv("other"), {Binary: []byte("v")}} {
			_, err := e.svc.CreateSecret(e.ctx, rotor.CreateSecretInput{Name: "reuse", ClientRequestToken: tok(0), Value: v})
			wantErr(t, err, rotor.EEXISTS, "You can't use ClientRequestToken "+tok(0)+
				" because that value is already in use for a version of secret "+r.ARN+".")
		}
	})

	t.Run("ErrNameScheduledForDeletion", func(t *testing.T) {
		e := newEnv(t)
		e.create(t, "gone", "v")
		if _, err := e.svc.DeleteSecret(e.ctx, rotor.DeleteSecretInput{SecretID: "gone"}); err != nil {
			t.Fatal(err)
		}
		_, err := e.svc.CreateSecret(e.ctx, rotor.CreateSecretInput{Name: "gone", ClientRequestToken: tok(0), Value: sv("v")})
		wantErr(t, err, rotor.ESTATE, "You can't create this secret because a secret with this name is already scheduled for deletion.")
	})

	t.Run("ErrValueWithoutToken", func(t *testing.T) {
		e := newEnv(t)
		_, err := e.svc.CreateSecret(e.ctx, rotor.CreateSecretInput{Name: "x", Value: sv("v")})
		wantErr(t, err, rotor.ESTATE, "You must provide a ClientRequestToken value. We recommend a UUID-type value.")
	})

	t.Run("ErrValue", func(t *testing.T) {
		e := newEnv(t)
		big := strings.Repeat("x", rotor.MaxSecretValueBytes+1)
		for name, tc := range map[string]struct {
			v    rotor.Value
			code string
			msg  string
		}{
			"Both":       {rotor.Value{String: str("a"), Binary: []byte("b")}, rotor.EINVALID, "You can't specify both a binary secret value and a string secret value in the same secret."},
			"EmptyStr":   {sv(""), rotor.EVALIDATION, ""},
			"EmptyBin":   {rotor.Value{Binary: []byte{}}, rotor.EVALIDATION, ""},
			"TooLongStr": {sv(big), rotor.EVALIDATION, ""},
			"TooLongBin": {rotor.Value{Binary: []byte(big)}, rotor.EVALIDATION, ""},
		} {
			t.Run(name, func(t *testing.T) {
				_, err := e.svc.CreateSecret(e.ctx, rotor.CreateSecretInput{Name: "v" + name, ClientRequestToken: tok(1), Value: tc.v})
				wantErr(t, err, tc.code, tc.msg)
				if strings.Contains(rotor.ErrorMessage(err), "xxxx") {
					t.Fatalf("message leaks the value: %q", rotor.ErrorMessage(err))
				}
			})
		}
		if _, err := e.svc.CreateSecret(e.ctx, rotor.CreateSecretInput{Name: "max", ClientRequestToken: tok(1),
			Value: sv(big[1:])}); err != nil {
			t.Fatalf("65536-byte value: %v", err)
		}
	})

	t.Run("ErrTags", func(t *testing.T) {
		e := newEnv(t)
		many := make([]rotor.Tag, 51)
		for i := range many {
			many[i] = rotor.Tag{Key: "k" + strings.Repeat("x", i)}
		}
		for name, tc := range map[string]struct {
			tags []rotor.Tag
			code string
		}{
			"DuplicateKey": {[]rotor.Tag{{Key: "a", Value: "1"}, {Key: "a", Value: "2"}}, rotor.EINVALID},
			"EmptyKey":     {[]rotor.Tag{{Key: "", Value: "1"}}, rotor.EVALIDATION},
			"LongKey":      {[]rotor.Tag{{Key: strings.Repeat("k", 129)}}, rotor.EVALIDATION},
			"LongValue":    {[]rotor.Tag{{Key: "k", Value: strings.Repeat("v", 257)}}, rotor.EVALIDATION},
			"TooMany":      {many, rotor.EINVALID},
		} {
			t.Run(name, func(t *testing.T) {
				_, err := e.svc.CreateSecret(e.ctx, rotor.CreateSecretInput{Name: "t" + name, Tags: tc.tags})
				wantErr(t, err, tc.code, "")
			})
		}
		if _, err := e.svc.CreateSecret(e.ctx, rotor.CreateSecretInput{Name: "fifty", Tags: many[:50]}); err != nil {
			t.Fatalf("50 tags: %v", err)
		}
		if _, err := e.svc.CreateSecret(e.ctx, rotor.CreateSecretInput{Name: "limits",
			Tags: []rotor.Tag{{Key: strings.Repeat("k", 128), Value: strings.Repeat("v", 256)}, {Key: "empty"}}}); err != nil {
			t.Fatalf("tags at the limits: %v", err)
		}
		// Nothing was created by the rejected requests.
		out, err := e.svc.ListSecrets(e.ctx, rotor.ListSecretsInput{})
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, s := range out.Secrets {
			names = append(names, s.Name)
		}
		wantEqual(t, "names", names, []string{"fifty", "limits"})
	})

	t.Run("KmsKeyID", func(t *testing.T) {
		e := newEnv(t)
		for name, tc := range map[string]struct{ in, want string }{
			"custom":  {"alias/mine", "alias/mine"},
			"default": {"alias/aws/secretsmanager", ""},
			"none":    {"", ""},
		} {
			if _, err := e.svc.CreateSecret(e.ctx, rotor.CreateSecretInput{Name: name, KmsKeyID: tc.in, ClientRequestToken: tok(1), Value: sv("v")}); err != nil {
				t.Fatal(err)
			}
			if got := e.describe(t, name).KmsKeyID; got != tc.want {
				t.Fatalf("%s: KmsKeyID = %q, want %q", name, got, tc.want)
			}
			if got := e.current(t, name); got != "v" {
				t.Fatalf("%s: value = %q", name, got)
			}
		}
	})

	t.Run("RecreatedNameGetsNewARN", func(t *testing.T) {
		e := newEnv(t)
		first := e.create(t, "again", "one")
		if _, err := e.svc.DeleteSecret(e.ctx, rotor.DeleteSecretInput{SecretID: "again", ForceDelete: true}); err != nil {
			t.Fatal(err)
		}
		second := e.create(t, "again", "two")
		if first.ARN == second.ARN {
			t.Fatalf("re-created secret reuses ARN %q", first.ARN)
		}
		_, err := e.svc.GetSecretValue(e.ctx, rotor.GetSecretValueInput{SecretID: first.ARN})
		wantErr(t, err, rotor.ENOTFOUND, msgNotFound)
		if got := e.current(t, second.ARN); got != "two" {
			t.Fatalf("value = %q", got)
		}
	})

	t.Run("ErrDenied", func(t *testing.T) {
		e := newEnv(t, withAuthorizer(denyAll{}))
		_, err := e.svc.CreateSecret(e.ctx, rotor.CreateSecretInput{Name: "nope", ClientRequestToken: tok(1), Value: sv("v")})
		wantErr(t, err, rotor.EDENIED, "")
		allowed := newEnvSharing(t, e)
		_, err = allowed.svc.DescribeSecret(allowed.ctx, "nope")
		wantErr(t, err, rotor.ENOTFOUND, msgNotFound)
	})

	t.Run("AuthorizesWithNewARN", func(t *testing.T) {
		e := newEnv(t)
		e.authz.reset()
		r := e.create(t, "authz", "v")
		wantEqual(t, "authorizations", e.authz.reset(), []authCall{{"secretsmanager:CreateSecret", r.ARN}})
	})
}
