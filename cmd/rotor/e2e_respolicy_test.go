package main

// End-to-end tests of resource policies (issue 9) through aws-sdk-go-v2:
// PutResourcePolicy, GetResourcePolicy, DeleteResourcePolicy and
// ValidateResourcePolicy with AWS's rules, against the server's configured
// account.

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"

	"github.com/rotorhq/rotor/policy"
)

// e2ePolicyAccount is the account the resource-policy tests configure, so
// that "public" is judged against the server's account and not a default.
const e2ePolicyAccount = "111122223333"

// e2eUserPolicy allows user to read the secret; it is public unless user is
// in the server's account.
func e2eUserPolicy(account, user string) string {
	return "{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": [\n    {\n      \"Sid\": \"ReadFor" + user + "\",\n" +
		"      \"Effect\": \"Allow\",\n      \"Principal\": {\"AWS\": \"arn:aws:iam::" + account + ":user/" + user + "\"},\n" +
		"      \"Action\": [\"secretsmanager:GetSecretValue\", \"secretsmanager:DescribeSecret\"],\n" +
		"      \"Resource\": \"*\"\n    }\n  ]\n}\n"
}

const e2ePublicPolicy = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"secretsmanager:GetSecretValue","Resource":"*"}]}`

func TestE2EResourcePolicy(t *testing.T) {
	s := MustRunMain(t, "", func(c *Config) { c.AccountID = e2ePolicyAccount })
	c := s.e2eClient("")
	own := e2eUserPolicy(e2ePolicyAccount, "app1")

	getPolicy := func(t *testing.T, id string) *secretsmanager.GetResourcePolicyOutput {
		t.Helper()
		out, err := c.GetResourcePolicy(e2eCtx, &secretsmanager.GetResourcePolicyInput{SecretId: aws.String(id)})
		e2eNoErr(t, "GetResourcePolicy "+id, err)
		return out
	}
	put := func(id, doc string, block *bool) (*secretsmanager.PutResourcePolicyOutput, error) {
		return c.PutResourcePolicy(e2eCtx, &secretsmanager.PutResourcePolicyInput{SecretId: aws.String(id),
			ResourcePolicy: aws.String(doc), BlockPublicPolicy: block})
	}

	t.Run("RoundTrip", func(t *testing.T) {
		name := "respolicy/app1/db"
		arn := aws.ToString(e2eCreate(t, c, name, "v").ARN)
		if !strings.Contains(arn, ":"+e2ePolicyAccount+":") {
			t.Fatalf("ARN %s is not in the configured account", arn)
		}

		// No policy: ARN and Name only.
		r := s.e2eRawJSON(t, "GetResourcePolicy", map[string]string{"SecretId": name})
		if m := r.JSON(t); r.Status != 200 || len(m) != 2 || m["ARN"] != arn || m["Name"] != name {
			t.Errorf("GetResourcePolicy without a policy = %d %s, want ARN and Name only", r.Status, r.Body)
		}

		before := e2eDescribe(t, c, name).LastChangedDate
		time.Sleep(5 * time.Millisecond)
		out, err := put(name, own, aws.Bool(true))
		e2eNoErr(t, "PutResourcePolicy", err)
		if aws.ToString(out.ARN) != arn || aws.ToString(out.Name) != name {
			t.Errorf("PutResourcePolicy = %s %s, want %s %s", aws.ToString(out.ARN), aws.ToString(out.Name), arn, name)
		}
		got := getPolicy(t, arn)
		if aws.ToString(got.ResourcePolicy) != own || aws.ToString(got.ARN) != arn || aws.ToString(got.Name) != name {
			t.Errorf("GetResourcePolicy = %q, want the document byte for byte: %q", aws.ToString(got.ResourcePolicy), own)
		}
		after := e2eDescribe(t, c, name).LastChangedDate
		if !after.After(*before) {
			t.Errorf("LastChangedDate after Put = %v, want after %v", after, before)
		}

		// DescribeSecret and ListSecrets never show the policy.
		for _, op := range []struct {
			name string
			body any
		}{{"DescribeSecret", map[string]string{"SecretId": name}}, {"ListSecrets", map[string]any{}}} {
			r := s.e2eRawJSON(t, op.name, op.body)
			if r.Status != 200 || strings.Contains(string(r.Body), "ResourcePolicy") || strings.Contains(string(r.Body), "ReadForapp1") {
				t.Errorf("%s = %d %s, want no resource policy in it", op.name, r.Status, r.Body)
			}
		}

		time.Sleep(5 * time.Millisecond)
		del, err := c.DeleteResourcePolicy(e2eCtx, &secretsmanager.DeleteResourcePolicyInput{SecretId: aws.String(name)})
		e2eNoErr(t, "DeleteResourcePolicy", err)
		if aws.ToString(del.ARN) != arn || aws.ToString(del.Name) != name {
			t.Errorf("DeleteResourcePolicy = %s %s", aws.ToString(del.ARN), aws.ToString(del.Name))
		}
		if got := getPolicy(t, name); got.ResourcePolicy != nil {
			t.Errorf("GetResourcePolicy after Delete = %q, want none", aws.ToString(got.ResourcePolicy))
		}
		if d := e2eDescribe(t, c, name).LastChangedDate; !d.After(*after) {
			t.Errorf("LastChangedDate after Delete = %v, want after %v", d, after)
		}
		// Deleting again succeeds.
		_, err = c.DeleteResourcePolicy(e2eCtx, &secretsmanager.DeleteResourcePolicyInput{SecretId: aws.String(name)})
		e2eNoErr(t, "DeleteResourcePolicy again", err)
	})

	t.Run("BlockPublicPolicy", func(t *testing.T) {
		name := "respolicy/public"
		e2eCreate(t, c, name, "v")
		// The default account's user is outside the configured account.
		for _, doc := range []string{e2ePublicPolicy, e2eUserPolicy("000000000000", "app1")} {
			_, err := put(name, doc, aws.Bool(true))
			e2eWantErr[*types.PublicPolicyException](t, "PutResourcePolicy(public, BlockPublicPolicy)", err, "")
			if got := getPolicy(t, name); got.ResourcePolicy != nil {
				t.Fatalf("refused policy was stored: %q", aws.ToString(got.ResourcePolicy))
			}
			// AWS's default is not to block; false blocks nothing either.
			for _, block := range []*bool{nil, aws.Bool(false)} {
				_, err := put(name, doc, block)
				e2eNoErr(t, "PutResourcePolicy(public, no block)", err)
				if got := getPolicy(t, name); aws.ToString(got.ResourcePolicy) != doc {
					t.Errorf("GetResourcePolicy = %q, want %q", aws.ToString(got.ResourcePolicy), doc)
				}
			}
			_, err = c.DeleteResourcePolicy(e2eCtx, &secretsmanager.DeleteResourcePolicyInput{SecretId: aws.String(name)})
			e2eNoErr(t, "DeleteResourcePolicy", err)
		}
	})

	t.Run("RefusedChangesNothing", func(t *testing.T) {
		name := "respolicy/refused"
		e2eCreate(t, c, name, "v")
		_, err := put(name, own, nil)
		e2eNoErr(t, "PutResourcePolicy", err)
		before := e2eDescribe(t, c, name)

		_, err = put(name, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"secretsmanager:*","Resource":"*"}]}`, nil)
		e2eWantErr[*types.MalformedPolicyDocumentException](t, "no Principal", err, "Missing required field Principal")
		_, err = put(name, `{"Version": 2012`, nil)
		e2eWantErr[*types.MalformedPolicyDocumentException](t, "not JSON", err, "This policy has invalid syntax.")
		_, err = put(name, e2ePublicPolicy, aws.Bool(true))
		e2eWantErr[*types.PublicPolicyException](t, "public", err, "")
		_, err = put(name, `{"Id":"`+strings.Repeat("x", 20480)+`"}`, nil)
		e2eWantCode(t, "too large", err, "ValidationException", "")
		if err == nil || !strings.HasSuffix(err.Error(), "at 'resourcePolicy' failed to satisfy constraint: Member must have length less than or equal to 20480") {
			t.Errorf("too large: %.200v..., want the length constraint on resourcePolicy", err)
		}

		if got := getPolicy(t, name); aws.ToString(got.ResourcePolicy) != own {
			t.Errorf("policy after refusals = %q, want %q", aws.ToString(got.ResourcePolicy), own)
		}
		if after := e2eDescribe(t, c, name); !after.LastChangedDate.Equal(*before.LastChangedDate) {
			t.Errorf("LastChangedDate after refusals = %v, want %v", after.LastChangedDate, before.LastChangedDate)
		}

		// 20,480 characters, most of them two bytes, fit.
		stmt := `","Statement":[{"Effect":"Allow","Principal":{"AWS":"` + e2ePolicyAccount + `"},"Action":"secretsmanager:*","Resource":"*"}]}`
		big := `{"Version":"2012-10-17","Id":"` + strings.Repeat("\u00e9", 20480-len(`{"Version":"2012-10-17","Id":"`)-len(stmt)) + stmt
		_, err = put(name, big, aws.Bool(true))
		e2eNoErr(t, "PutResourcePolicy of 20,480 characters", err)
		if got := getPolicy(t, name); aws.ToString(got.ResourcePolicy) != big {
			t.Errorf("20,480-character policy did not come back byte for byte (%d bytes)", len(aws.ToString(got.ResourcePolicy)))
		}
	})

	t.Run("NotFoundAndDeleted", func(t *testing.T) {
		_, err := put("respolicy/none", own, nil)
		e2eWantErr[*types.ResourceNotFoundException](t, "Put unknown", err, e2eMsgNotFound)
		_, err = c.GetResourcePolicy(e2eCtx, &secretsmanager.GetResourcePolicyInput{SecretId: aws.String("respolicy/none")})
		e2eWantErr[*types.ResourceNotFoundException](t, "Get unknown", err, e2eMsgNotFound)
		_, err = c.DeleteResourcePolicy(e2eCtx, &secretsmanager.DeleteResourcePolicyInput{SecretId: aws.String("respolicy/none")})
		e2eWantErr[*types.ResourceNotFoundException](t, "Delete unknown", err, e2eMsgNotFound)
		_, err = c.ValidateResourcePolicy(e2eCtx, &secretsmanager.ValidateResourcePolicyInput{SecretId: aws.String("respolicy/none"), ResourcePolicy: aws.String(own)})
		e2eWantErr[*types.ResourceNotFoundException](t, "Validate unknown", err, e2eMsgNotFound)

		name := "respolicy/deleted"
		e2eCreate(t, c, name, "v")
		_, err = put(name, own, nil)
		e2eNoErr(t, "PutResourcePolicy", err)
		_, err = c.DeleteSecret(e2eCtx, &secretsmanager.DeleteSecretInput{SecretId: aws.String(name), RecoveryWindowInDays: aws.Int64(7)})
		e2eNoErr(t, "DeleteSecret", err)
		const marked = "You can't perform this operation on the secret because it was marked for deletion."
		_, err = put(name, e2ePublicPolicy, nil)
		e2eWantErr[*types.InvalidRequestException](t, "Put on deleted", err, marked)
		_, err = c.GetResourcePolicy(e2eCtx, &secretsmanager.GetResourcePolicyInput{SecretId: aws.String(name)})
		e2eWantErr[*types.InvalidRequestException](t, "Get on deleted", err, marked)
		_, err = c.DeleteResourcePolicy(e2eCtx, &secretsmanager.DeleteResourcePolicyInput{SecretId: aws.String(name)})
		e2eWantErr[*types.InvalidRequestException](t, "Delete on deleted", err, marked)
		_, err = c.RestoreSecret(e2eCtx, &secretsmanager.RestoreSecretInput{SecretId: aws.String(name)})
		e2eNoErr(t, "RestoreSecret", err)
		if got := getPolicy(t, name); aws.ToString(got.ResourcePolicy) != own {
			t.Errorf("policy after restore = %q, want %q", aws.ToString(got.ResourcePolicy), own)
		}
	})

	t.Run("Validate", func(t *testing.T) {
		name := "respolicy/validate"
		e2eCreate(t, c, name, "v")
		for _, id := range []*string{nil, aws.String(name)} {
			out, err := c.ValidateResourcePolicy(e2eCtx, &secretsmanager.ValidateResourcePolicyInput{SecretId: id, ResourcePolicy: aws.String(own)})
			e2eNoErr(t, "ValidateResourcePolicy(own)", err)
			if !out.PolicyValidationPassed || len(out.ValidationErrors) != 0 {
				t.Errorf("Validate(own) = %v %+v, want passed without errors", out.PolicyValidationPassed, out.ValidationErrors)
			}
			out, err = c.ValidateResourcePolicy(e2eCtx, &secretsmanager.ValidateResourcePolicyInput{SecretId: id, ResourcePolicy: aws.String(e2ePublicPolicy)})
			e2eNoErr(t, "ValidateResourcePolicy(public)", err)
			if out.PolicyValidationPassed || len(out.ValidationErrors) != 1 || aws.ToString(out.ValidationErrors[0].CheckName) != "PUBLIC_ACCESS" ||
				!strings.Contains(aws.ToString(out.ValidationErrors[0].ErrorMessage), e2ePolicyAccount) {
				t.Errorf("Validate(public) = %v %+v, want failed with PUBLIC_ACCESS naming the account", out.PolicyValidationPassed, out.ValidationErrors)
			}
		}
		_, err := c.ValidateResourcePolicy(e2eCtx, &secretsmanager.ValidateResourcePolicyInput{ResourcePolicy: aws.String("[]")})
		e2eWantErr[*types.MalformedPolicyDocumentException](t, "Validate(not an object)", err, "")
		// Validation stores nothing.
		if got := getPolicy(t, name); got.ResourcePolicy != nil {
			t.Errorf("ValidateResourcePolicy stored %q", aws.ToString(got.ResourcePolicy))
		}
	})
}

// TestDocsAccessControlPolicies keeps docs/access-control.md true: every
// JSON policy in it is valid. The ones with a Principal are resource
// policies: PutResourcePolicy accepts each with BlockPublicPolicy and
// ValidateResourcePolicy passes it without findings; the others are
// identity policies that policy.Parse accepts without findings.
func TestDocsAccessControlPolicies(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "..", "docs", "access-control.md"))
	e2eNoErr(t, "read docs/access-control.md", err)
	blocks := regexp.MustCompile("(?s)```json\n(.*?)```").FindAllStringSubmatch(string(data), -1)
	if len(blocks) < 4 {
		t.Fatalf("found %d JSON policies in docs/access-control.md, want at least 4", len(blocks))
	}
	s := MustRunMain(t, "", func(c *Config) { c.AccountID = "111122223333" })
	c := s.e2eClient("")
	resource := 0
	for i, b := range blocks {
		doc := b[1]
		if !strings.Contains(doc, `"Principal"`) {
			p, err := policy.Parse(doc, policy.Identity)
			if err != nil {
				t.Errorf("JSON block %d (identity policy): %v", i+1, err)
			} else if f := p.Findings("111122223333"); len(f) != 0 {
				t.Errorf("JSON block %d (identity policy): findings %+v", i+1, f)
			}
			continue
		}
		resource++
		// A secret of its own for each policy: once attached, a policy is in
		// force (the TLS example denies this plain-HTTP server's admin).
		name := fmt.Sprintf("docs/app1/db%d", i+1)
		e2eCreate(t, c, name, "v")
		_, err := c.PutResourcePolicy(e2eCtx, &secretsmanager.PutResourcePolicyInput{SecretId: aws.String(name),
			ResourcePolicy: aws.String(doc), BlockPublicPolicy: aws.Bool(true)})
		if err != nil {
			t.Errorf("JSON block %d: PutResourcePolicy: %v", i+1, err)
			continue
		}
		v, err := c.ValidateResourcePolicy(e2eCtx, &secretsmanager.ValidateResourcePolicyInput{ResourcePolicy: aws.String(doc)})
		if err != nil || !v.PolicyValidationPassed || len(v.ValidationErrors) != 0 {
			t.Errorf("JSON block %d: ValidateResourcePolicy = %+v, %v; want passed without findings", i+1, v, err)
		}
	}
	if resource < 3 {
		t.Errorf("found %d resource policies in docs/access-control.md, want at least 3", resource)
	}
}
