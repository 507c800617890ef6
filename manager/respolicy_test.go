package manager_test

import (
	"strings"
	"testing"
	"time"

	"github.com/rotorhq/rotor"
	"github.com/rotorhq/rotor/policy"
)

// Resource policies used by the tests. ownPolicy names a user of the
// service's account; publicPolicy grants everyone.
const (
	ownPolicy = "{\n  \"Version\" : \"2012-10-17\",\r\n\t\"Statement\": [{\"Sid\": \"caf\u00e9\", \"Effect\": \"Allow\",\n" +
		"   \"Principal\": {\"AWS\": \"arn:aws:iam::" + testAccount + ":user/app1\"},\n" +
		"   \"Action\": \"secretsmanager:GetSecretValue\", \"Resource\": \"*\"}]}  \n"
	publicPolicy = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*",` +
		`"Action":"secretsmanager:GetSecretValue","Resource":"*"}]}`
	otherAccountPolicy = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::210987654321:root"},` +
		`"Action":"secretsmanager:*","Resource":"*"}]}`
)

func (e *env) getPolicy(t testing.TB, id string) *rotor.ResourcePolicy {
	t.Helper()
	out, err := e.svc.GetResourcePolicy(e.ctx, id)
	if err != nil {
		t.Fatalf("GetResourcePolicy(%q): %v", id, err)
	}
	return out
}

// TestResourcePolicyRoundTrip: Put stores the document byte for byte and
// moves LastChangedDate; Get returns it (ARN and Name only while there is
// none); Delete removes it, and deleting again succeeds without changing
// the secret.
func TestResourcePolicyRoundTrip(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	r := e.create(t, "app1/db", "v")
	created := e.describe(t, "app1/db").LastChangedDate

	wantEqual(t, "GetResourcePolicy before Put", *e.getPolicy(t, "app1/db"), rotor.ResourcePolicy{ARN: r.ARN, Name: "app1/db"})

	e.clock.Advance(time.Hour)
	ref, err := e.svc.PutResourcePolicy(e.ctx, rotor.PutResourcePolicyInput{SecretID: "app1/db", ResourcePolicy: ownPolicy, BlockPublicPolicy: true})
	if err != nil {
		t.Fatalf("PutResourcePolicy: %v", err)
	}
	wantEqual(t, "PutResourcePolicy", *ref, rotor.SecretRef{ARN: r.ARN, Name: "app1/db"})
	wantEqual(t, "GetResourcePolicy by name", *e.getPolicy(t, "app1/db"), rotor.ResourcePolicy{ARN: r.ARN, Name: "app1/db", Policy: ownPolicy})
	wantEqual(t, "GetResourcePolicy by ARN", e.getPolicy(t, r.ARN).Policy, ownPolicy)
	put := e.describe(t, "app1/db").LastChangedDate
	if want := created.Add(time.Hour); !put.Equal(want) {
		t.Errorf("LastChangedDate after Put = %v, want %v", put, want)
	}

	// A second service over the same store reads it from the store, not
	// from the first one's cache.
	wantEqual(t, "GetResourcePolicy (fresh service)", newEnvSharing(t, e).getPolicy(t, r.ARN).Policy, ownPolicy)

	e.clock.Advance(time.Hour)
	ref, err = e.svc.DeleteResourcePolicy(e.ctx, r.ARN)
	if err != nil {
		t.Fatalf("DeleteResourcePolicy: %v", err)
	}
	wantEqual(t, "DeleteResourcePolicy", *ref, rotor.SecretRef{ARN: r.ARN, Name: "app1/db"})
	wantEqual(t, "GetResourcePolicy after Delete", *e.getPolicy(t, "app1/db"), rotor.ResourcePolicy{ARN: r.ARN, Name: "app1/db"})
	deleted := e.describe(t, "app1/db").LastChangedDate
	if want := put.Add(time.Hour); !deleted.Equal(want) {
		t.Errorf("LastChangedDate after Delete = %v, want %v", deleted, want)
	}

	e.clock.Advance(time.Hour)
	if _, err := e.svc.DeleteResourcePolicy(e.ctx, "app1/db"); err != nil {
		t.Fatalf("DeleteResourcePolicy without a policy: %v", err)
	}
	if got := e.describe(t, "app1/db").LastChangedDate; !got.Equal(deleted) {
		t.Errorf("LastChangedDate after deleting no policy = %v, want %v (unchanged)", got, deleted)
	}
}

// TestPutResourcePolicyPublic: BlockPublicPolicy refuses a policy that
// grants access outside the account (everyone, another account); without
// it (AWS's default) the same policy is stored.
func TestPutResourcePolicyPublic(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.create(t, "s", "v")
	for _, doc := range []string{publicPolicy, otherAccountPolicy} {
		_, err := e.svc.PutResourcePolicy(e.ctx, rotor.PutResourcePolicyInput{SecretID: "s", ResourcePolicy: doc, BlockPublicPolicy: true})
		wantErr(t, err, rotor.EPUBLICPOLICY, "")
		if msg := rotor.ErrorMessage(err); !strings.Contains(msg, "BlockPublicPolicy") || !strings.Contains(msg, testAccount) {
			t.Errorf("PublicPolicyException message = %q, want it to name BlockPublicPolicy and the account", msg)
		}
		wantEqual(t, "policy after refusal", e.getPolicy(t, "s").Policy, "")

		if _, err := e.svc.PutResourcePolicy(e.ctx, rotor.PutResourcePolicyInput{SecretID: "s", ResourcePolicy: doc}); err != nil {
			t.Fatalf("PutResourcePolicy without BlockPublicPolicy: %v", err)
		}
		wantEqual(t, "policy without BlockPublicPolicy", e.getPolicy(t, "s").Policy, doc)
		if _, err := e.svc.DeleteResourcePolicy(e.ctx, "s"); err != nil {
			t.Fatal(err)
		}
	}
}

// TestPutResourcePolicyRefused: every refusal names what is wrong, with
// AWS's exception, and changes nothing: the policy in place and
// LastChangedDate stay, and refusals of the input never open a write
// transaction.
func TestPutResourcePolicyRefused(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.create(t, "s", "v")
	if _, err := e.svc.PutResourcePolicy(e.ctx, rotor.PutResourcePolicyInput{SecretID: "s", ResourcePolicy: ownPolicy}); err != nil {
		t.Fatal(err)
	}
	before := e.snapshot(t, "s")
	e.clock.Advance(time.Hour)

	big := `{"Id":"` + strings.Repeat("\u00e9", policy.MaxResourceSize) + `"}`
	stmt := `","Statement":[{"Effect":"Allow","Principal":{"AWS":"` + testAccount + `"},"Action":"secretsmanager:*","Resource":"*"}]}`
	atLimit := `{"Version":"2012-10-17","Id":"` + strings.Repeat("\u00e9", policy.MaxResourceSize-len(`{"Version":"2012-10-17","Id":"`)-len(stmt)) + stmt
	cases := []struct {
		name, doc string
		block     bool
		code, msg string
	}{
		{"NotJSON", `{"Version":`, false, rotor.EPOLICY, "This policy has invalid syntax."},
		{"NoPrincipal", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"secretsmanager:*","Resource":"*"}]}`, false,
			rotor.EPOLICY, "Missing required field Principal"},
		{"UnsupportedPrincipal", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"secretsmanager:*","Resource":"*"}]}`, false,
			rotor.EPOLICY, "This resource policy contains an unsupported principal."},
		{"NoAction", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Resource":"*"}]}`, false,
			rotor.EPOLICY, "Policy statement must contain actions."},
		{"Empty", ``, false, rotor.EVALIDATION,
			"1 validation error detected: Value at 'resourcePolicy' failed to satisfy constraint: Member must have length greater than or equal to 1"},
		{"TooLarge", big, false, rotor.EVALIDATION,
			"1 validation error detected: Value at 'resourcePolicy' failed to satisfy constraint: Member must have length less than or equal to 20480"},
		{"Public", publicPolicy, true, rotor.EPUBLICPOLICY, ""},
	}
	writes := e.store.updates.Load()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.svc.PutResourcePolicy(e.ctx, rotor.PutResourcePolicyInput{SecretID: "s", ResourcePolicy: tc.doc, BlockPublicPolicy: tc.block})
			wantErr(t, err, tc.code, tc.msg)
		})
	}
	if n := e.store.updates.Load() - writes; n != 0 {
		t.Errorf("refused requests opened %d write transactions, want 0", n)
	}
	wantEqual(t, "policy after refusals", e.getPolicy(t, "s").Policy, ownPolicy)
	wantEqual(t, "secret after refusals", e.snapshot(t, "s"), before)

	// 20,480 characters (more bytes) is within the limit.
	if n := len([]rune(atLimit)); n != policy.MaxResourceSize {
		t.Fatalf("fixture has %d characters", n)
	}
	if _, err := e.svc.PutResourcePolicy(e.ctx, rotor.PutResourcePolicyInput{SecretID: "s", ResourcePolicy: atLimit}); err != nil {
		t.Fatalf("PutResourcePolicy of %d characters: %v", policy.MaxResourceSize, err)
	}
	wantEqual(t, "policy at the limit", e.getPolicy(t, "s").Policy, atLimit)
}

// TestResourcePolicyUnknownAndDeletedSecret: an unknown secret is
// ResourceNotFound for all four operations; a secret scheduled for
// deletion refuses Put, Get and Delete as AWS does, keeps its policy, and
// has it again once restored.
func TestResourcePolicyUnknownAndDeletedSecret(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, err := e.svc.PutResourcePolicy(e.ctx, rotor.PutResourcePolicyInput{SecretID: "nope", ResourcePolicy: ownPolicy})
	wantErr(t, err, rotor.ENOTFOUND, msgNotFound)
	_, err = e.svc.GetResourcePolicy(e.ctx, "nope")
	wantErr(t, err, rotor.ENOTFOUND, msgNotFound)
	_, err = e.svc.DeleteResourcePolicy(e.ctx, "nope")
	wantErr(t, err, rotor.ENOTFOUND, msgNotFound)
	_, err = e.svc.ValidateResourcePolicy(e.ctx, rotor.ValidateResourcePolicyInput{SecretID: "nope", ResourcePolicy: ownPolicy})
	wantErr(t, err, rotor.ENOTFOUND, msgNotFound)

	e.create(t, "d", "v")
	if _, err := e.svc.PutResourcePolicy(e.ctx, rotor.PutResourcePolicyInput{SecretID: "d", ResourcePolicy: ownPolicy}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.DeleteSecret(e.ctx, rotor.DeleteSecretInput{SecretID: "d", RecoveryWindowDays: 7}); err != nil {
		t.Fatal(err)
	}
	before := e.snapshot(t, "d")
	_, err = e.svc.PutResourcePolicy(e.ctx, rotor.PutResourcePolicyInput{SecretID: "d", ResourcePolicy: publicPolicy})
	wantErr(t, err, rotor.ESTATE, msgMarkedForDelete)
	_, err = e.svc.GetResourcePolicy(e.ctx, "d")
	wantErr(t, err, rotor.ESTATE, msgMarkedForDelete)
	_, err = e.svc.DeleteResourcePolicy(e.ctx, "d")
	wantErr(t, err, rotor.ESTATE, msgMarkedForDelete)
	wantEqual(t, "deleted secret after refusals", e.snapshot(t, "d"), before)
	if _, err := e.svc.ValidateResourcePolicy(e.ctx, rotor.ValidateResourcePolicyInput{SecretID: "d", ResourcePolicy: ownPolicy}); err != nil {
		t.Errorf("ValidateResourcePolicy naming a deleted secret: %v", err)
	}

	if _, err := e.svc.RestoreSecret(e.ctx, "d"); err != nil {
		t.Fatal(err)
	}
	wantEqual(t, "policy after restore", e.getPolicy(t, "d").Policy, ownPolicy)
}

// TestResourcePolicyAuthorization: each operation asks for its own action
// on the secret's ARN; ValidateResourcePolicy asks for
// ValidateResourcePolicy and PutResourcePolicy (as AWS documents), on no
// resource without a SecretId; a caller denied on an unknown secret gets
// the denial, not ResourceNotFound; a denied Put stores nothing.
func TestResourcePolicyAuthorization(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	arn := e.create(t, "s", "v").ARN
	e.authz.reset()

	calls := map[string]func() error{
		"Put": func() error {
			_, err := e.svc.PutResourcePolicy(e.ctx, rotor.PutResourcePolicyInput{SecretID: "s", ResourcePolicy: ownPolicy})
			return err
		},
		"Get":    func() error { _, err := e.svc.GetResourcePolicy(e.ctx, "s"); return err },
		"Delete": func() error { _, err := e.svc.DeleteResourcePolicy(e.ctx, "s"); return err },
		"Validate": func() error {
			_, err := e.svc.ValidateResourcePolicy(e.ctx, rotor.ValidateResourcePolicyInput{SecretID: "s", ResourcePolicy: ownPolicy})
			return err
		},
		"ValidateNoSecret": func() error {
			_, err := e.svc.ValidateResourcePolicy(e.ctx, rotor.ValidateResourcePolicyInput{ResourcePolicy: ownPolicy})
			return err
		},
	}
	want := map[string][]authCall{
		"Put":    {{"secretsmanager:PutResourcePolicy", arn}},
		"Get":    {{"secretsmanager:GetResourcePolicy", arn}},
		"Delete": {{"secretsmanager:DeleteResourcePolicy", arn}},
		"Validate": {{"secretsmanager:ValidateResourcePolicy", arn},
			{"secretsmanager:PutResourcePolicy", arn}},
		"ValidateNoSecret": {{"secretsmanager:ValidateResourcePolicy", ""},
			{"secretsmanager:PutResourcePolicy", ""}},
	}
	for _, name := range []string{"Put", "Get", "Validate", "ValidateNoSecret", "Delete"} {
		if err := calls[name](); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		wantEqual(t, name+" authorization", e.authz.reset(), want[name])
	}

	// Denied: the denial, and nothing stored.
	e.authz.deny = func(action, _ string) bool { return action != "secretsmanager:GetResourcePolicy" }
	if _, err := e.svc.DeleteResourcePolicy(e.ctx, "s"); rotor.ErrorCode(err) != rotor.EDENIED {
		t.Fatalf("denied Delete: %v", err)
	}
	_, err := e.svc.PutResourcePolicy(e.ctx, rotor.PutResourcePolicyInput{SecretID: "s", ResourcePolicy: ownPolicy})
	wantErr(t, err, rotor.EDENIED, "")
	wantEqual(t, "policy after denied Put", e.getPolicy(t, "s").Policy, "")
	_, err = e.svc.PutResourcePolicy(e.ctx, rotor.PutResourcePolicyInput{SecretID: "unknown", ResourcePolicy: ownPolicy})
	wantErr(t, err, rotor.EDENIED, "")
	// Validate needs PutResourcePolicy too.
	e.authz.deny = func(action, _ string) bool { return action == "secretsmanager:PutResourcePolicy" }
	_, err = e.svc.ValidateResourcePolicy(e.ctx, rotor.ValidateResourcePolicyInput{SecretID: "unknown", ResourcePolicy: ownPolicy})
	wantErr(t, err, rotor.EDENIED, "")
	_, err = e.svc.ValidateResourcePolicy(e.ctx, rotor.ValidateResourcePolicyInput{ResourcePolicy: ownPolicy})
	wantErr(t, err, rotor.EDENIED, "")
}

// TestValidateResourcePolicy: findings become ValidationErrors; only an
// error finding fails validation; a malformed document is refused as Put
// refuses it; nothing is stored.
func TestValidateResourcePolicy(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.create(t, "s", "v")
	validate := func(id, doc string) (*rotor.PolicyValidation, error) {
		return e.svc.ValidateResourcePolicy(e.ctx, rotor.ValidateResourcePolicyInput{SecretID: id, ResourcePolicy: doc})
	}

	for _, id := range []string{"", "s"} {
		out, err := validate(id, ownPolicy)
		if err != nil {
			t.Fatalf("Validate(%q, own): %v", id, err)
		}
		wantEqual(t, "Validate(own)", *out, rotor.PolicyValidation{Passed: true})

		out, err = validate(id, publicPolicy)
		if err != nil {
			t.Fatalf("Validate(%q, public): %v", id, err)
		}
		wantEqual(t, "Validate(public)", *out, rotor.PolicyValidation{Errors: []rotor.PolicyValidationError{{
			Check: policy.CheckPublicAccess, Message: "The resource policy grants access to principals outside account " + testAccount + "."}}})
	}

	warn := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"` + testAccount + `"},` +
		`"Action":"secretsmanager:GetSecretValue","Resource":"*","Condition":{"StringEquals":{"aws:NoSuchKey":"x"}}}]}`
	out, err := validate("s", warn)
	if err != nil {
		t.Fatal(err)
	}
	if !out.Passed || len(out.Errors) != 1 || out.Errors[0].Check != policy.CheckUnknownConditionKey {
		t.Errorf("Validate(unknown condition key) = %+v, want passed with one %s", out, policy.CheckUnknownConditionKey)
	}

	_, err = validate("s", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"secretsmanager:*","Resource":"*"}]}`)
	wantErr(t, err, rotor.EPOLICY, "Missing required field Principal")
	_, err = validate("", `not json`)
	wantErr(t, err, rotor.EPOLICY, "This policy has invalid syntax.")
	_, err = validate("", ``)
	wantErr(t, err, rotor.EVALIDATION, "")

	wantEqual(t, "policy after Validate", e.getPolicy(t, "s").Policy, "")
}

// TestResourcePolicyForAuthorizer: ResourcePolicy gives the compiled
// policy of an exact ARN, compiled once per cache fill (the same *Policy
// until the secret changes), nil when there is none, ENOTFOUND otherwise.
func TestResourcePolicyForAuthorizer(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	arn := e.create(t, "s", "v").ARN

	p, err := e.svc.ResourcePolicy(e.ctx, arn)
	if err != nil || p != nil {
		t.Fatalf("ResourcePolicy without a policy = %v, %v; want nil, nil", p, err)
	}
	if _, err := e.svc.PutResourcePolicy(e.ctx, rotor.PutResourcePolicyInput{SecretID: "s", ResourcePolicy: ownPolicy}); err != nil {
		t.Fatal(err)
	}
	p1, err := e.svc.ResourcePolicy(e.ctx, arn)
	if err != nil || p1 == nil {
		t.Fatalf("ResourcePolicy = %v, %v", p1, err)
	}
	if p1.String() != ownPolicy || p1.Kind() != policy.Resource {
		t.Errorf("ResourcePolicy = %s %q, want the resource policy stored", p1.Kind(), p1.String())
	}
	p2, err := e.svc.ResourcePolicy(e.ctx, arn)
	if err != nil || p2 != p1 {
		t.Errorf("second ResourcePolicy = %p, %v; want the cached %p", p2, err, p1)
	}
	got := p1.Evaluate(&policy.Request{Action: "secretsmanager:GetSecretValue", Resource: arn,
		Principal: "arn:aws:iam::" + testAccount + ":user/app1"})
	if got != policy.Allow {
		t.Errorf("Evaluate(app1 GetSecretValue) = %v, want Allow", got)
	}

	if _, err := e.svc.PutResourcePolicy(e.ctx, rotor.PutResourcePolicyInput{SecretID: "s", ResourcePolicy: publicPolicy}); err != nil {
		t.Fatal(err)
	}
	p3, err := e.svc.ResourcePolicy(e.ctx, arn)
	if err != nil || p3 == nil || p3.String() != publicPolicy {
		t.Fatalf("ResourcePolicy after a new Put = %v, %v; want the new policy", p3, err)
	}

	for _, bad := range []string{arn[:len(arn)-7], arn + "x", "s", strings.Replace(arn, testRegion, otherRegion, 1)} {
		if _, err := e.svc.ResourcePolicy(e.ctx, bad); rotor.ErrorCode(err) != rotor.ENOTFOUND {
			t.Errorf("ResourcePolicy(%q) = %v, want ENOTFOUND", bad, err)
		}
	}
}

// TestResourcePolicySurvivesOtherWrites: every other write rewrites the
// secret's record; none may drop or change its resource policy, and
// re-creating a deleted name starts without one.
func TestResourcePolicySurvivesOtherWrites(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.create(t, "s", "v0")
	if _, err := e.svc.PutResourcePolicy(e.ctx, rotor.PutResourcePolicyInput{SecretID: "s", ResourcePolicy: ownPolicy}); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		name string
		fn   func() error
	}{
		{"TagResource", func() error { return e.svc.TagResource(e.ctx, "s", []rotor.Tag{{Key: "k", Value: "v"}}) }},
		{"UntagResource", func() error { return e.svc.UntagResource(e.ctx, "s", []string{"k"}) }},
		{"UpdateSecret", func() error {
			_, err := e.svc.UpdateSecret(e.ctx, rotor.UpdateSecretInput{SecretID: "s", Description: str("d"), ClientRequestToken: tok(1), Value: sv("v1")})
			return err
		}},
		{"PutSecretValue", func() error {
			_, err := e.svc.PutSecretValue(e.ctx, rotor.PutSecretValueInput{SecretID: "s", ClientRequestToken: tok(2), Value: sv("v2")})
			return err
		}},
		{"DeleteSecret", func() error {
			_, err := e.svc.DeleteSecret(e.ctx, rotor.DeleteSecretInput{SecretID: "s", RecoveryWindowDays: 7})
			return err
		}},
		{"RestoreSecret", func() error { _, err := e.svc.RestoreSecret(e.ctx, "s"); return err }},
	}
	for _, st := range steps {
		if err := st.fn(); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if st.name == "DeleteSecret" {
			continue // Get refuses a secret scheduled for deletion
		}
		wantEqual(t, "policy after "+st.name, e.getPolicy(t, "s").Policy, ownPolicy)
	}

	if _, err := e.svc.DeleteSecret(e.ctx, rotor.DeleteSecretInput{SecretID: "s", ForceDelete: true}); err != nil {
		t.Fatal(err)
	}
	e.create(t, "s", "again")
	wantEqual(t, "policy of the re-created secret", e.getPolicy(t, "s").Policy, "")
}
