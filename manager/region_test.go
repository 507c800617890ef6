package manager_test

import (
	"strings"
	"testing"

	"github.com/rotorhq/rotor"
)

func TestRegionsIsolate(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	east := e.create(t, "shared", "east-value")
	westCtx := callerCtx(otherRegion)
	west, err := e.svc.CreateSecret(westCtx, rotor.CreateSecretInput{Name: "shared", ClientRequestToken: tok(0), Value: sv("west-value")})
	if err != nil {
		t.Fatalf("same name in another region: %v", err)
	}
	if east.ARN == west.ARN || !strings.Contains(west.ARN, ":"+otherRegion+":") {
		t.Fatalf("ARNs %q and %q", east.ARN, west.ARN)
	}
	if got := e.current(t, "shared"); got != "east-value" {
		t.Fatalf("east value = %q", got)
	}
	v, err := e.svc.GetSecretValue(westCtx, rotor.GetSecretValueInput{SecretID: "shared"})
	if err != nil || *v.Value.String != "west-value" {
		t.Fatalf("west value = %v, %v", v, err)
	}

	// No cross-region visibility, by ARN or partial ARN, for reads and writes.
	for _, id := range []string{west.ARN, west.ARN[:len(west.ARN)-7]} {
		_, err := e.svc.GetSecretValue(e.ctx, rotor.GetSecretValueInput{SecretID: id})
		wantErr(t, err, rotor.ENOTFOUND, msgNotFound)
		_, err = e.svc.DescribeSecret(e.ctx, id)
		wantErr(t, err, rotor.ENOTFOUND, msgNotFound)
		_, err = e.svc.PutSecretValue(e.ctx, rotor.PutSecretValueInput{SecretID: id, ClientRequestToken: tok(1), Value: sv("x")})
		wantErr(t, err, rotor.ENOTFOUND, msgNotFound)
		err = e.svc.TagResource(e.ctx, id, []rotor.Tag{{Key: "k"}})
		wantErr(t, err, rotor.ENOTFOUND, msgNotFound)
	}
	list, err := e.svc.ListSecrets(e.ctx, rotor.ListSecretsInput{})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Secrets) != 1 || list.Secrets[0].ARN != east.ARN {
		t.Fatalf("east listing = %+v", list.Secrets)
	}
	// Deleting in one region leaves the other alone.
	if _, err := e.svc.DeleteSecret(westCtx, rotor.DeleteSecretInput{SecretID: "shared", ForceDelete: true}); err != nil {
		t.Fatal(err)
	}
	if got := e.current(t, "shared"); got != "east-value" {
		t.Fatalf("east value after west delete = %q", got)
	}
}

func TestSecretIDResolution(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	r := e.create(t, "app/db", "v")
	// A secret whose name looks like another's name plus a suffix.
	other := e.create(t, "app/db-AbCdEf", "other")
	partial := strings.TrimSuffix(r.ARN, r.ARN[len(r.ARN)-7:])

	for name, tc := range map[string]struct {
		id   string
		want string
	}{
		"Name":               {"app/db", r.ARN},
		"ARN":                {r.ARN, r.ARN},
		"PartialARN":         {partial, r.ARN},
		"NameWithSuffixLike": {"app/db-AbCdEf", other.ARN},
		"PartialOfOther":     {"arn:aws:secretsmanager:us-east-1:123456789012:secret:app/db-AbCdEf", other.ARN},
	} {
		t.Run(name, func(t *testing.T) {
			if got := e.describe(t, tc.id).ARN; got != tc.want {
				t.Fatalf("ARN = %q, want %q", got, tc.want)
			}
		})
	}
	for name, id := range map[string]string{
		"ErrOtherAccount": "arn:aws:secretsmanager:us-east-1:999999999999:secret:app/db",
		"ErrOtherService": "arn:aws:ssm:us-east-1:123456789012:secret:app/db",
		"ErrWrongSuffix":  partial + "-zzzzzz",
		"ErrPrefixOnly":   "app/d",
		"ErrCaseDiffers":  "App/db",
	} {
		t.Run(name, func(t *testing.T) {
			_, err := e.svc.DescribeSecret(e.ctx, id)
			wantErr(t, err, rotor.ENOTFOUND, msgNotFound)
		})
	}
}

func TestAuthorization(t *testing.T) {
	t.Parallel()
	t.Run("ActionsAndResources", func(t *testing.T) {
		e := newEnv(t)
		r := e.create(t, "a", "v")
		e.authz.reset()
		e.current(t, "a")
		e.describe(t, "a")
		e.put(t, "a", tok(1), "v1")
		if _, err := e.svc.ListSecrets(e.ctx, rotor.ListSecretsInput{}); err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.GetRandomPassword(e.ctx, rotor.DefaultPasswordSpec()); err != nil {
			t.Fatal(err)
		}
		wantEqual(t, "calls", e.authz.reset(), []authCall{
			{"secretsmanager:GetSecretValue", r.ARN},
			{"secretsmanager:DescribeSecret", r.ARN},
			{"secretsmanager:PutSecretValue", r.ARN},
			{"secretsmanager:ListSecrets", ""},
			{"secretsmanager:GetRandomPassword", ""},
		})
	})

	t.Run("DeniedCallerCannotProbeExistence", func(t *testing.T) {
		e := newEnv(t)
		r := e.create(t, "exists", "v")
		e.authz.deny = func(action, resource string) bool { return action != "secretsmanager:ListSecrets" }
		for _, id := range []string{"exists", r.ARN, "missing", "arn:aws:secretsmanager:us-east-1:123456789012:secret:missing-AbCdEf"} {
			_, err := e.svc.GetSecretValue(e.ctx, rotor.GetSecretValueInput{SecretID: id})
			wantErr(t, err, rotor.EDENIED, "")
			_, err = e.svc.DescribeSecret(e.ctx, id)
			wantErr(t, err, rotor.EDENIED, "")
			_, err = e.svc.UpdateSecret(e.ctx, rotor.UpdateSecretInput{SecretID: id, Description: str("x")})
			wantErr(t, err, rotor.EDENIED, "")
			_, err = e.svc.DeleteSecret(e.ctx, rotor.DeleteSecretInput{SecretID: id, ForceDelete: true})
			wantErr(t, err, rotor.EDENIED, "")
		}
		e.authz.reset()
		_, _ = e.svc.DescribeSecret(e.ctx, "missing")
		wantEqual(t, "calls", e.authz.reset(), []authCall{
			{"secretsmanager:DescribeSecret", "arn:aws:secretsmanager:us-east-1:123456789012:secret:missing"}})
		e.authz.deny = nil
		if got := e.current(t, "exists"); got != "v" {
			t.Fatalf("value = %q after denied writes", got)
		}
	})

	t.Run("ErrDeniedGetRandomPassword", func(t *testing.T) {
		e := newEnv(t, withAuthorizer(denyAll{}))
		_, err := e.svc.GetRandomPassword(e.ctx, rotor.DefaultPasswordSpec())
		wantErr(t, err, rotor.EDENIED, "")
		_, err = e.svc.ListSecrets(e.ctx, rotor.ListSecretsInput{})
		wantErr(t, err, rotor.EDENIED, "")
	})
}

func TestGetRandomPassword(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	p, err := e.svc.GetRandomPassword(e.ctx, rotor.DefaultPasswordSpec())
	if err != nil {
		t.Fatal(err)
	}
	if len(p) != 32 {
		t.Fatalf("len = %d, want 32", len(p))
	}
	spec := rotor.PasswordSpec{Length: 12, ExcludePunctuation: true, ExcludeNumbers: true, ExcludeUppercase: true}
	p, err = e.svc.GetRandomPassword(e.ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	if len(p) != 12 || strings.Trim(p, "abcdefghijklmnopqrstuvwxyz") != "" {
		t.Fatalf("password %q breaks %+v", p, spec)
	}
	_, err = e.svc.GetRandomPassword(e.ctx, rotor.PasswordSpec{Length: 2, RequireEachIncludedType: true})
	if rotor.ErrorCode(err) != rotor.EINVALID {
		t.Fatalf("impossible spec: %v, want EINVALID", err)
	}
}
