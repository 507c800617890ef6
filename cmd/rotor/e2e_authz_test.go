package main

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/rotorhq/rotor"
)

// e2eIdentity creates identity name through the CLI (with role unless "")
// and, when doc is not "", gives it doc as its identity policy through
// `rotor identity policy put`; it returns a client signing as it.
func e2eIdentity(t *testing.T, s *testServer, name, role, doc string) *secretsmanager.Client {
	t.Helper()
	args := []string{"identity", "create", name}
	if role != "" {
		args = append(args, "-role", role)
	}
	if _, err := cli(t, s, args...); err != nil {
		t.Fatal(err)
	}
	if doc != "" {
		file := filepath.Join(t.TempDir(), name+".json")
		if err := os.WriteFile(file, []byte(doc), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := cli(t, s, "identity", "policy", "put", name, file); err != nil {
			t.Fatalf("identity policy put %s: %v", name, err)
		}
		if out, err := cli(t, s, "identity", "policy", "get", name); err != nil || !regexp.MustCompile(`"PolicyDocument"`).MatchString(out) {
			t.Fatalf("identity policy get %s: %q %v", name, out, err)
		}
	}
	out, err := cli(t, s, "access-key", "create", name)
	if err != nil {
		t.Fatal(err)
	}
	id := regexp.MustCompile(`"AccessKeyId":\s*"([^"]+)"`).FindStringSubmatch(out)
	secret := regexp.MustCompile(`"SecretAccessKey":\s*"([^"]+)"`).FindStringSubmatch(out)
	if id == nil || secret == nil {
		t.Fatalf("access-key create printed %s", out)
	}
	return s.ClientWith("", id[1], secret[1], "")
}

// e2eSetResourcePolicy stores doc as the resource policy of the secret
// name, directly in the store (the PutResourcePolicy operation is another
// branch's), and drops the manager's cache.
func e2eSetResourcePolicy(t *testing.T, s *testServer, name, doc string) {
	t.Helper()
	err := s.store.Update(e2eCtx, func(tx rotor.Tx) error {
		rec, err := tx.SecretByName(s.Region, name)
		if err != nil {
			return err
		}
		rec.ResourcePolicy = doc
		return tx.UpdateSecret(rec)
	})
	if err != nil {
		t.Fatalf("set resource policy of %s: %v", name, err)
	}
	s.manager.InvalidateCache()
}

// TestE2EIdentityPolicies: three identities with identity policies, a
// role-less identity, and secrets with and without resource policies; every
// operation is allowed or denied as AWS would, with AWS's exact message.
func TestE2EIdentityPolicies(t *testing.T) {
	s := MustRunMain(t, "", nil)
	admin := s.e2eClient("")
	arns := map[string]string{}
	for _, name := range []string{"app1/db", "app1/locked", "app2/db", "shared"} {
		arns[name] = aws.ToString(e2eCreate(t, admin, name, "value of "+name).ARN)
	}
	const prefix = "arn:aws:secretsmanager:us-east-1:000000000000:secret:"
	app1 := e2eIdentity(t, s, "app1", "", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow",
		"Action":["secretsmanager:GetSecretValue","secretsmanager:DescribeSecret","secretsmanager:BatchGetSecretValue"],
		"Resource":"`+prefix+`app1/*"},
		{"Effect":"Allow","Action":"secretsmanager:BatchGetSecretValue","Resource":"*"}]}`)
	app2 := e2eIdentity(t, s, "app2", "", `{"Version":"2012-10-17","Statement":{"Effect":"Allow",
		"Action":["secretsmanager:GetSecretValue","secretsmanager:DescribeSecret"],"Resource":"`+prefix+`app2/*"}}`)
	auditor := e2eIdentity(t, s, "auditor", "", `{"Version":"2012-10-17","Statement":{"Effect":"Allow",
		"Action":["secretsmanager:DescribeSecret","secretsmanager:ListSecrets"],"Resource":"*"}}`)
	nobody := e2eIdentity(t, s, "nobody", "", "")
	// Condition keys the wire layer fills: the TCP peer and TLS.
	cond := func(c string) string {
		return `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"secretsmanager:GetSecretValue","Resource":"*","Condition":` + c + `}}`
	}
	local := e2eIdentity(t, s, "local", "", cond(`{"IpAddress":{"aws:SourceIp":"127.0.0.0/8"}}`))
	remote := e2eIdentity(t, s, "remote", "", cond(`{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}`))
	tlsOnly := e2eIdentity(t, s, "tls-only", "", cond(`{"Bool":{"aws:SecureTransport":"true"}}`))

	e2eSetResourcePolicy(t, s, "app1/locked", `{"Version":"2012-10-17","Statement":{"Effect":"Deny",
		"Principal":{"AWS":"*"},"Action":"secretsmanager:GetSecretValue","Resource":"*"}}`)
	e2eSetResourcePolicy(t, s, "shared", `{"Version":"2012-10-17","Statement":{"Effect":"Allow",
		"Principal":{"AWS":"arn:aws:iam::000000000000:user/auditor"},"Action":"secretsmanager:GetSecretValue","Resource":"*"}}`)

	user := func(n string) string {
		return "User: arn:aws:iam::000000000000:user/" + n + " is not authorized to perform: "
	}
	implicit := func(n, action, resource string) string {
		msg := user(n) + "secretsmanager:" + action
		if resource != "" {
			msg += " on resource: " + resource
		}
		return msg + " because no identity-based policy allows the secretsmanager:" + action + " action"
	}
	get := func(c *secretsmanager.Client, id string) error {
		_, err := c.GetSecretValue(e2eCtx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(id)})
		return err
	}
	describe := func(c *secretsmanager.Client, id string) error {
		_, err := c.DescribeSecret(e2eCtx, &secretsmanager.DescribeSecretInput{SecretId: aws.String(id)})
		return err
	}
	put := func(c *secretsmanager.Client, id string) error {
		_, err := c.PutSecretValue(e2eCtx, &secretsmanager.PutSecretValueInput{SecretId: aws.String(id), SecretString: aws.String("x")})
		return err
	}
	list := func(c *secretsmanager.Client, _ string) error {
		_, err := c.ListSecrets(e2eCtx, &secretsmanager.ListSecretsInput{})
		return err
	}
	password := func(c *secretsmanager.Client, _ string) error {
		_, err := c.GetRandomPassword(e2eCtx, &secretsmanager.GetRandomPasswordInput{})
		return err
	}
	tests := []struct {
		who    string
		client *secretsmanager.Client
		op     string
		call   func(*secretsmanager.Client, string) error
		id     string
		code   string // "" = allowed
		msg    string
	}{
		{"app1", app1, "GetSecretValue", get, "app1/db", "", ""},
		{"app1", app1, "DescribeSecret", describe, "app1/db", "", ""},
		{"app1", app1, "GetSecretValue", get, "app2/db", "AccessDeniedException", implicit("app1", "GetSecretValue", arns["app2/db"])},
		{"app1", app1, "PutSecretValue", put, "app1/db", "AccessDeniedException", implicit("app1", "PutSecretValue", arns["app1/db"])},
		{"app1", app1, "ListSecrets", list, "", "AccessDeniedException", implicit("app1", "ListSecrets", "")},
		{"app1", app1, "GetSecretValue", get, "app1/locked", "AccessDeniedException",
			user("app1") + "secretsmanager:GetSecretValue on resource: " + arns["app1/locked"] + " with an explicit deny in a resource-based policy"},
		{"app1", app1, "DescribeSecret", describe, "app1/locked", "", ""},
		// A secret that does not exist: the policies are matched against
		// the ARN the request names (a name as a partial ARN), so a caller
		// allowed there learns it is missing; a denial names the SecretId
		// as sent, as AWS does (no ARN is invented).
		{"app1", app1, "GetSecretValue", get, "app1/missing", "ResourceNotFoundException", ""},
		{"app2", app2, "GetSecretValue", get, "app1/missing", "AccessDeniedException", implicit("app2", "GetSecretValue", "app1/missing")},
		{"app2", app2, "DescribeSecret", describe, prefix + "app1/missing-AbCdEf", "AccessDeniedException",
			implicit("app2", "DescribeSecret", prefix+"app1/missing-AbCdEf")},
		{"app2", app2, "GetSecretValue", get, "app2/db", "", ""},
		{"app2", app2, "GetSecretValue", get, arns["app1/db"], "AccessDeniedException", implicit("app2", "GetSecretValue", arns["app1/db"])},
		{"auditor", auditor, "DescribeSecret", describe, "app2/db", "", ""},
		{"auditor", auditor, "ListSecrets", list, "", "", ""},
		{"auditor", auditor, "GetSecretValue", get, "app1/db", "AccessDeniedException", implicit("auditor", "GetSecretValue", arns["app1/db"])},
		{"auditor", auditor, "GetSecretValue", get, "shared", "", ""}, // the resource policy allows it
		{"app2", app2, "GetSecretValue", get, "shared", "AccessDeniedException", implicit("app2", "GetSecretValue", arns["shared"])},
		{"nobody", nobody, "GetSecretValue", get, "app1/db", "AccessDeniedException", implicit("nobody", "GetSecretValue", arns["app1/db"])},
		{"nobody", nobody, "ListSecrets", list, "", "AccessDeniedException", implicit("nobody", "ListSecrets", "")},
		{"nobody", nobody, "GetRandomPassword", password, "", "AccessDeniedException", implicit("nobody", "GetRandomPassword", "")},
		{"local", local, "GetSecretValue", get, "app2/db", "", ""},
		{"remote", remote, "GetSecretValue", get, "app2/db", "AccessDeniedException", implicit("remote", "GetSecretValue", arns["app2/db"])},
		{"tls-only", tlsOnly, "GetSecretValue", get, "app2/db", "AccessDeniedException", implicit("tls-only", "GetSecretValue", arns["app2/db"])},
	}
	for _, tt := range tests {
		what := tt.who + " " + tt.op + "(" + tt.id + ")"
		err := tt.call(tt.client, tt.id)
		if tt.code == "" {
			e2eNoErr(t, what, err)
			continue
		}
		e2eWantCode(t, what, err, tt.code, tt.msg)
	}

	// ListSecrets needs only the list action and lists every secret.
	if got := e2eListNames(t, auditor); len(got) != 4 {
		t.Errorf("auditor ListSecrets = %v, want all four secrets", got)
	}

	// BatchGetSecretValue answers per secret.
	out, err := app1.BatchGetSecretValue(e2eCtx, &secretsmanager.BatchGetSecretValueInput{
		SecretIdList: []string{"app1/db", "app2/db", "app1/locked"}})
	e2eNoErr(t, "app1 BatchGetSecretValue", err)
	if len(out.SecretValues) != 1 || aws.ToString(out.SecretValues[0].Name) != "app1/db" ||
		aws.ToString(out.SecretValues[0].SecretString) != "value of app1/db" {
		t.Errorf("BatchGetSecretValue values = %+v, want only app1/db", out.SecretValues)
	}
	wantErrs := map[string]string{
		"app2/db": implicit("app1", "GetSecretValue", arns["app2/db"]),
		"app1/locked": user("app1") + "secretsmanager:GetSecretValue on resource: " + arns["app1/locked"] +
			" with an explicit deny in a resource-based policy",
	}
	if len(out.Errors) != len(wantErrs) {
		t.Fatalf("BatchGetSecretValue errors = %+v, want %d", out.Errors, len(wantErrs))
	}
	for _, e := range out.Errors {
		id := aws.ToString(e.SecretId)
		if aws.ToString(e.ErrorCode) != "AccessDeniedException" || aws.ToString(e.Message) != wantErrs[id] {
			t.Errorf("BatchGetSecretValue error for %s = %s %q, want AccessDeniedException %q",
				id, aws.ToString(e.ErrorCode), aws.ToString(e.Message), wantErrs[id])
		}
	}
	// The call itself needs its own action.
	_, err = app2.BatchGetSecretValue(e2eCtx, &secretsmanager.BatchGetSecretValueInput{SecretIdList: []string{"app2/db"}})
	e2eWantCode(t, "app2 BatchGetSecretValue", err, "AccessDeniedException", implicit("app2", "BatchGetSecretValue", ""))

}

// TestE2EResourcePolicyBindsRotationCredentials: a built-in rotation runs
// as the run's scoped principal through the same authorizer, so a Deny in
// the secret's resource policy naming rotation sessions
// (arn:aws:sts::<account>:assumed-role/rotor-rotation/*) stops it, while
// the admin may still write; without that policy the same rotation works.
func TestE2EResourcePolicyBindsRotationCredentials(t *testing.T) {
	s := MustRunMain(t, "", func(c *Config) { c.Rotation.MaxAttempts = 1 })
	admin := s.e2eClient("")
	e2eCreate(t, admin, "guarded", "v0")
	e2eCreate(t, admin, "open", "v0")
	e2eSetResourcePolicy(t, s, "guarded", `{"Version":"2012-10-17","Statement":{"Effect":"Deny","Principal":"*",
		"Action":"secretsmanager:PutSecretValue","Resource":"*",
		"Condition":{"ArnLike":{"aws:PrincipalArn":"arn:aws:sts::000000000000:assumed-role/rotor-rotation/*"}}}}`)
	e2ePut(t, admin, "guarded", "v1") // the admin is not a rotation session

	fn := aws.String(lambdaARN("rotor-generate-password"))
	if _, err := admin.RotateSecret(e2eCtx, &secretsmanager.RotateSecretInput{SecretId: aws.String("guarded"), RotationLambdaARN: fn}); err != nil {
		t.Fatal(err)
	}
	status, lastErr := waitRunEnded(t, s, "guarded")
	if status != rotor.RunFailed || !regexp.MustCompile(`User: arn:aws:sts::000000000000:assumed-role/rotor-rotation/\S+ is not authorized to perform: `+
		`secretsmanager:PutSecretValue on resource: \S+ with an explicit deny in a resource-based policy`).MatchString(lastErr) {
		t.Fatalf("rotation of guarded ended %s (%q), want failed by the resource policy's explicit deny", status, lastErr)
	}
	out, err := admin.RotateSecret(e2eCtx, &secretsmanager.RotateSecretInput{SecretId: aws.String("open"), RotationLambdaARN: fn})
	if err != nil {
		t.Fatal(err)
	}
	waitRotated(t, admin, "open", aws.ToString(out.VersionId))
}
