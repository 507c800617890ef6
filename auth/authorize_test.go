package auth_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/rotorhq/rotor"
	"github.com/rotorhq/rotor/auth"
	"github.com/rotorhq/rotor/envelope"
	"github.com/rotorhq/rotor/policy"
	"github.com/rotorhq/rotor/sqlite"
)

const (
	account  = "000000000000"
	app1ARN  = "arn:aws:secretsmanager:us-east-1:000000000000:secret:app1/db-AbCdEf"
	app2ARN  = "arn:aws:secretsmanager:us-east-1:000000000000:secret:app2/db-GhIjKl"
	getValue = "secretsmanager:GetSecretValue"
)

// principalOf authenticates a request signed with c and returns its
// principal, as the wire layer would get it.
func (e *env) principalOf(t *testing.T, c aws.Credentials) rotor.Principal {
	t.Helper()
	body := []byte(`{}`)
	req := httptest.NewRequest(http.MethodPost, "http://rotor.test/", bytes.NewReader(body))
	req.Header.Set("X-Amz-Target", "secretsmanager.GetSecretValue")
	sum := sha256.Sum256(body)
	if err := v4.NewSigner().SignHTTP(context.Background(), c, req, hex.EncodeToString(sum[:]),
		"secretsmanager", testRegion, e.clock.Now()); err != nil {
		t.Fatalf("sign: %v", err)
	}
	a, err := e.svc.Authenticate(req, body)
	if err != nil {
		t.Fatalf("Authenticate: %v", err)
	}
	return a.Principal
}

// ask authorizes r for p with the default caller context.
func ask(svc *auth.Service, p rotor.Principal, r rotor.AccessRequest) error {
	return svc.Authorize(context.Background(), rotor.Caller{Principal: p, Region: testRegion}, r)
}

func secret(arn, name string, tags ...rotor.Tag) *rotor.SecretRecord {
	return &rotor.SecretRecord{ARN: arn, Region: testRegion, Name: name, Tags: tags}
}

func wantDenied(t *testing.T, err error, message string) {
	t.Helper()
	if rotor.ErrorCode(err) != rotor.EDENIED {
		t.Fatalf("err = %v, want EDENIED", err)
	}
	if got := rotor.ErrorMessage(err); got != message {
		t.Fatalf("message =\n\t%s\nwant\n\t%s", got, message)
	}
}

func wantAllowed(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("err = %v, want allowed", err)
	}
}

// TestIdentityPolicyLifecycle follows a role-less identity through its
// inline policy: it may do nothing, then what its policy allows (from the
// next request on: the cached principal is dropped), then nothing again.
func TestIdentityPolicyLifecycle(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	if _, err := e.svc.CreateIdentity(ctx, "app1", rotor.RoleNone); err != nil {
		t.Fatal(err)
	}
	key, err := e.svc.CreateAccessKey(ctx, "app1")
	if err != nil {
		t.Fatal(err)
	}
	get1 := rotor.AccessRequest{Action: getValue, Resource: app1ARN, Secret: secret(app1ARN, "app1/db")}
	get2 := rotor.AccessRequest{Action: getValue, Resource: app2ARN, Secret: secret(app2ARN, "app2/db")}
	list := rotor.AccessRequest{Action: "secretsmanager:ListSecrets"}

	p := e.principalOf(t, creds(key))
	if p.ARN != "arn:aws:iam::000000000000:user/app1" {
		t.Fatalf("ARN = %q", p.ARN)
	}
	wantDenied(t, ask(e.svc, p, get1), "User: arn:aws:iam::000000000000:user/app1 is not authorized to perform: "+
		"secretsmanager:GetSecretValue on resource: "+app1ARN+" because no identity-based policy allows the secretsmanager:GetSecretValue action")
	wantDenied(t, ask(e.svc, p, list), "User: arn:aws:iam::000000000000:user/app1 is not authorized to perform: "+
		"secretsmanager:ListSecrets because no identity-based policy allows the secretsmanager:ListSecrets action")

	doc := `{"Version": "2012-10-17",
  "Statement": [{"Effect": "Allow", "Action": ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"],
    "Resource": "arn:aws:secretsmanager:*:000000000000:secret:app1/*"}]}`
	if err := e.svc.PutIdentityPolicy(ctx, "app1", doc); err != nil {
		t.Fatal(err)
	}
	if got, err := e.svc.GetIdentityPolicy(ctx, "app1"); err != nil || got != doc {
		t.Fatalf("GetIdentityPolicy = %q, %v; want the document byte for byte", got, err)
	}
	p = e.principalOf(t, creds(key))
	wantAllowed(t, ask(e.svc, p, get1))
	wantDenied(t, ask(e.svc, p, get2), "User: arn:aws:iam::000000000000:user/app1 is not authorized to perform: "+
		"secretsmanager:GetSecretValue on resource: "+app2ARN+" because no identity-based policy allows the secretsmanager:GetSecretValue action")
	wantDenied(t, ask(e.svc, p, rotor.AccessRequest{Action: "secretsmanager:PutSecretValue", Resource: app1ARN}),
		"User: arn:aws:iam::000000000000:user/app1 is not authorized to perform: secretsmanager:PutSecretValue on resource: "+
			app1ARN+" because no identity-based policy allows the secretsmanager:PutSecretValue action")

	if err := e.svc.DeleteIdentityPolicy(ctx, "app1"); err != nil {
		t.Fatal(err)
	}
	p = e.principalOf(t, creds(key))
	wantCode(t, ask(e.svc, p, get1), rotor.EDENIED)
	wantCode(t, e.svc.DeleteIdentityPolicy(ctx, "app1"), rotor.ENOTFOUND)
	_, err = e.svc.GetIdentityPolicy(ctx, "app1")
	wantCode(t, err, rotor.ENOTFOUND)
}

// TestIdentityPolicyWithRole: the inline policy adds to the role's built-in
// document, and its explicit Deny wins over the role's Allow.
func TestIdentityPolicyWithRole(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	if _, err := e.svc.CreateIdentity(ctx, "reader", rotor.RoleReadOnly); err != nil {
		t.Fatal(err)
	}
	key, err := e.svc.CreateAccessKey(ctx, "reader")
	if err != nil {
		t.Fatal(err)
	}
	if err := e.svc.PutIdentityPolicy(ctx, "reader", `{"Version":"2012-10-17","Statement":[
		{"Effect":"Deny","Action":"secretsmanager:GetSecretValue","Resource":"arn:aws:secretsmanager:*:*:secret:app2/*"},
		{"Effect":"Allow","Action":"secretsmanager:PutSecretValue","Resource":"arn:aws:secretsmanager:*:*:secret:app1/*"}]}`); err != nil {
		t.Fatal(err)
	}
	p := e.principalOf(t, creds(key))
	wantAllowed(t, ask(e.svc, p, rotor.AccessRequest{Action: getValue, Resource: app1ARN}))
	wantAllowed(t, ask(e.svc, p, rotor.AccessRequest{Action: "secretsmanager:PutSecretValue", Resource: app1ARN}))
	wantAllowed(t, ask(e.svc, p, rotor.AccessRequest{Action: "secretsmanager:ListSecrets"}))
	wantDenied(t, ask(e.svc, p, rotor.AccessRequest{Action: getValue, Resource: app2ARN}),
		"User: arn:aws:iam::000000000000:user/reader is not authorized to perform: secretsmanager:GetSecretValue on resource: "+
			app2ARN+" with an explicit deny in an identity-based policy")
}

func TestPutIdentityPolicyErrors(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	valid := `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}`
	tests := map[string]struct {
		name, doc, code, message string
	}{
		"ErrNotJSON":     {"admin", `{"Statement":`, rotor.EPOLICY, "Syntax errors in policy."},
		"ErrNoAction":    {"admin", `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Resource":"*"}}`, rotor.EPOLICY, ""},
		"ErrPrincipal":   {"admin", `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"}}`, rotor.EPOLICY, ""},
		"ErrTooLarge":    {"admin", `{"Version":"2012-10-17","Statement":{"Sid":"` + strings.Repeat("a", 6200) + `","Effect":"Allow","Action":"*","Resource":"*"}}`, rotor.ELIMIT, "Cannot exceed quota for PolicySize: 6144"},
		"ErrNoIdentity":  {"nobody", valid, rotor.ENOTFOUND, "No identity named nobody exists."},
		"ErrEmptyString": {"admin", "", rotor.EPOLICY, ""},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			err := e.svc.PutIdentityPolicy(ctx, tt.name, tt.doc)
			wantCode(t, err, tt.code)
			if tt.message != "" && rotor.ErrorMessage(err) != tt.message {
				t.Fatalf("message = %q, want %q", rotor.ErrorMessage(err), tt.message)
			}
		})
	}
	// Nothing was stored by the refused requests.
	if _, err := e.svc.GetIdentityPolicy(ctx, "admin"); rotor.ErrorCode(err) != rotor.ENOTFOUND {
		t.Fatalf("GetIdentityPolicy after refusals = %v, want ENOTFOUND", err)
	}
}

// TestResourcePolicy: a secret's resource policy is evaluated with the
// caller's identity policies: its Allow suffices without any identity
// policy, its Deny wins over the admin document, and it applies to
// rotation credentials too.
func TestResourcePolicy(t *testing.T) {
	e := newEnv(t)
	rp := `{"Version":"2012-10-17","Statement":[
		{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::000000000000:user/app1"},"Action":"secretsmanager:GetSecretValue","Resource":"*"},
		{"Effect":"Deny","Principal":"*","Action":"secretsmanager:PutSecretValue","Resource":"*"}]}`
	sec := secret(app1ARN, "app1/db")
	sec.ResourcePolicy = rp
	nobody := rotor.Principal{Identity: "app1", Role: rotor.RoleNone, Policies: []*policy.Policy{}}
	admin := rotor.Principal{Identity: "admin", Role: rotor.RoleAdmin}
	get := rotor.AccessRequest{Action: getValue, Resource: app1ARN, Secret: sec}
	put := rotor.AccessRequest{Action: "secretsmanager:PutSecretValue", Resource: app1ARN, Secret: sec}

	wantAllowed(t, ask(e.svc, nobody, get))
	// Without the secret record (a secret that does not exist) there is no
	// resource policy.
	wantCode(t, ask(e.svc, nobody, rotor.AccessRequest{Action: getValue, Resource: app1ARN}), rotor.EDENIED)
	wantDenied(t, ask(e.svc, admin, put), "User: arn:aws:iam::000000000000:user/admin is not authorized to perform: "+
		"secretsmanager:PutSecretValue on resource: "+app1ARN+" with an explicit deny in a resource-based policy")
	wantAllowed(t, ask(e.svc, admin, get))
	// Another user gets nothing from the Allow naming app1.
	other := rotor.Principal{Identity: "app2", Role: rotor.RoleNone, Policies: []*policy.Policy{}}
	wantCode(t, ask(e.svc, other, get), rotor.EDENIED)

	// Rotation credentials, issued and authenticated as the engine does.
	scope := rotor.Principal{Identity: "rotation/run-1", Role: rotor.RoleScoped, Scope: rotor.RotationScope(app1ARN, "")}
	id, sk, tok, err := e.svc.IssueTemporary(scope, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	p := e.principalOf(t, aws.Credentials{AccessKeyID: id, SecretAccessKey: sk, SessionToken: tok})
	if p.ARN != "arn:aws:sts::000000000000:assumed-role/rotor-rotation/run-1" {
		t.Fatalf("rotation ARN = %q", p.ARN)
	}
	wantAllowed(t, ask(e.svc, p, get))
	wantDenied(t, ask(e.svc, p, put), "User: arn:aws:sts::000000000000:assumed-role/rotor-rotation/run-1 is not authorized to perform: "+
		"secretsmanager:PutSecretValue on resource: "+app1ARN+" with an explicit deny in a resource-based policy")
	noPolicy := secret(app1ARN, "app1/db")
	wantAllowed(t, ask(e.svc, p, rotor.AccessRequest{Action: "secretsmanager:PutSecretValue", Resource: app1ARN, Secret: noPolicy}))
	wantCode(t, ask(e.svc, p, rotor.AccessRequest{Action: getValue, Resource: app2ARN, Secret: secret(app2ARN, "app2/db")}), rotor.EDENIED)
	// The in-process form of the same principal (Scope, no compiled
	// policy), as built-in rotation functions call, decides the same.
	wantDenied(t, ask(e.svc, scope, put), "User: arn:aws:sts::000000000000:assumed-role/rotor-rotation/run-1 is not authorized to perform: "+
		"secretsmanager:PutSecretValue on resource: "+app1ARN+" with an explicit deny in a resource-based policy")
}

// TestConditionKeys: each condition key Rotor supplies is filled from the
// request, and a condition on a key Rotor does not know never matches.
func TestConditionKeys(t *testing.T) {
	svc := auth.New(auth.Config{Now: func() time.Time { return time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC) }})
	allowIf := func(cond string) rotor.Principal {
		doc := `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"secretsmanager:*","Resource":"*","Condition":` + cond + `}}`
		return rotor.Principal{Identity: "app1", Policies: []*policy.Policy{policy.MustParse(doc, policy.Identity)}}
	}
	tagged := secret(app1ARN, "app1/db", rotor.Tag{Key: "Env", Value: "prod"})
	base := rotor.AccessRequest{Action: getValue, Resource: app1ARN, Secret: tagged, SecretID: "app1/db"}
	tests := map[string]struct {
		cond   string
		caller func(*rotor.Caller)
		req    func(*rotor.AccessRequest)
		allow  bool
	}{
		"SourceIpIn":        {`{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}`, func(c *rotor.Caller) { c.SourceIP = "10.1.2.3" }, nil, true},
		"SourceIpOut":       {`{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}`, func(c *rotor.Caller) { c.SourceIP = "192.0.2.1" }, nil, false},
		"SourceIpUnknown":   {`{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}`, nil, nil, false},
		"SecureTransport":   {`{"Bool":{"aws:SecureTransport":"true"}}`, func(c *rotor.Caller) { c.SecureTransport = true }, nil, true},
		"InsecureTransport": {`{"Bool":{"aws:SecureTransport":"true"}}`, nil, nil, false},
		"ResourceTag":       {`{"StringEquals":{"aws:ResourceTag/env":"prod"}}`, nil, nil, true},
		"ResourceTagOther":  {`{"StringEquals":{"secretsmanager:ResourceTag/Env":"dev"}}`, nil, nil, false},
		"ResourceTagNoSecret": {`{"StringEquals":{"aws:ResourceTag/Env":"prod"}}`, nil,
			func(r *rotor.AccessRequest) { r.Secret = nil }, false},
		"VersionStage": {`{"StringEquals":{"secretsmanager:VersionStage":"AWSPREVIOUS"}}`, nil,
			func(r *rotor.AccessRequest) { r.VersionStage = "AWSPREVIOUS" }, true},
		"VersionStageOther": {`{"StringEquals":{"secretsmanager:VersionStage":"AWSPREVIOUS"}}`, nil,
			func(r *rotor.AccessRequest) { r.VersionStage = "AWSCURRENT" }, false},
		"VersionID": {`{"StringEquals":{"secretsmanager:VersionId":"v1"}}`, nil,
			func(r *rotor.AccessRequest) { r.VersionID = "v1" }, true},
		"Name":          {`{"StringLike":{"secretsmanager:Name":"app1/*"}}`, nil, nil, true},
		"NameOther":     {`{"StringLike":{"secretsmanager:Name":"app2/*"}}`, nil, nil, false},
		"SecretId":      {`{"StringEquals":{"secretsmanager:SecretId":"app1/db"}}`, nil, nil, true},
		"SecretIdARN":   {`{"StringEquals":{"secretsmanager:SecretId":"app1/db"}}`, nil, func(r *rotor.AccessRequest) { r.SecretID = app1ARN }, false},
		"PrincipalArn":  {`{"ArnEquals":{"aws:PrincipalArn":"arn:aws:iam::000000000000:user/app1"}}`, nil, nil, true},
		"Username":      {`{"StringEquals":{"aws:username":"app1"}}`, nil, nil, true},
		"CurrentTime":   {`{"DateLessThan":{"aws:CurrentTime":"2027-01-01T00:00:00Z"}}`, nil, nil, true},
		"CurrentTimeNo": {`{"DateGreaterThan":{"aws:CurrentTime":"2027-01-01T00:00:00Z"}}`, nil, nil, false},
		"RequestTag": {`{"StringEquals":{"aws:RequestTag/team":"a"}}`, nil,
			func(r *rotor.AccessRequest) { r.RequestTags = []rotor.Tag{{Key: "team", Value: "a"}} }, true},
		"TagKeys": {`{"ForAllValues:StringEquals":{"aws:TagKeys":["team","env"]}}`, nil,
			func(r *rotor.AccessRequest) { r.RequestTags = []rotor.Tag{{Key: "team", Value: "a"}} }, true},
		"TagKeysOther": {`{"ForAnyValue:StringEquals":{"aws:TagKeys":["owner"]}}`, nil,
			func(r *rotor.AccessRequest) { r.TagKeys = []string{"team"} }, false},
		"RotationLambda": {`{"ArnLike":{"secretsmanager:RotationLambdaARN":"arn:aws:lambda:*:*:function:rotor-*"}}`, nil,
			func(r *rotor.AccessRequest) {
				r.RotationLambdaARN = "arn:aws:lambda:us-east-1:000000000000:function:rotor-pg"
			}, true},
		"AllowRotationLambda": {`{"StringEquals":{"secretsmanager:resource/AllowRotationLambdaArn":"arn:aws:lambda:us-east-1:000000000000:function:f"}}`, nil,
			func(r *rotor.AccessRequest) {
				s := *tagged
				s.Rotation.LambdaARN = "arn:aws:lambda:us-east-1:000000000000:function:f"
				r.Secret = &s
			}, true},
		"UnknownKey":        {`{"StringEquals":{"aws:SomethingElse":"x"}}`, nil, nil, false},
		"UnknownKeyNegated": {`{"StringNotEquals":{"aws:SomethingElse":"x"}}`, nil, nil, true},
		"UsernameVariable":  {`{"StringLike":{"secretsmanager:Name":"${aws:username}/*"}}`, nil, nil, true},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			c := rotor.Caller{Principal: allowIf(tt.cond), Region: testRegion}
			if tt.caller != nil {
				tt.caller(&c)
			}
			r := base
			if tt.req != nil {
				tt.req(&r)
			}
			err := svc.Authorize(context.Background(), c, r)
			if tt.allow && err != nil {
				t.Fatalf("Authorize = %v, want allowed", err)
			} else if !tt.allow && rotor.ErrorCode(err) != rotor.EDENIED {
				t.Fatalf("Authorize = %v, want EDENIED", err)
			}
		})
	}
}

// TestAuthorizeAllocations: evaluating a compiled identity policy and a
// cached resource policy allocates nothing.
func TestAuthorizeAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts differ under -race")
	}
	svc := auth.New(auth.Config{})
	idp := policy.MustParse(`{"Version":"2012-10-17","Statement":[
		{"Effect":"Allow","Action":"secretsmanager:GetSecretValue","Resource":"arn:aws:secretsmanager:*:*:secret:app1/*",
		 "Condition":{"StringEquals":{"secretsmanager:VersionStage":"AWSCURRENT"}}}]}`, policy.Identity)
	sec := secret(app1ARN, "app1/db")
	sec.ResourcePolicy = `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*","Action":"secretsmanager:DeleteSecret","Resource":"*"}]}`
	c := rotor.Caller{Principal: rotor.Principal{Identity: "app1", ARN: auth.UserARN(account, "app1"), Policies: []*policy.Policy{idp}}, Region: testRegion}
	r := rotor.AccessRequest{Action: getValue, Resource: app1ARN, Secret: sec, VersionStage: "AWSCURRENT"}
	if err := svc.Authorize(context.Background(), c, r); err != nil {
		t.Fatal(err)
	}
	if n := testing.AllocsPerRun(200, func() { _ = svc.Authorize(context.Background(), c, r) }); n > 0 {
		t.Fatalf("Authorize allocates %v times per call, want 0", n)
	}
}

// TestIdentitiesFromOldSchemaKeepTheirRights opens a database written
// before identity policies existed (migrations 0001-0003 only, identities
// with roles): after migrating, each identity's keys carry exactly its
// role's rights.
func TestIdentitiesFromOldSchemaKeepTheirRights(t *testing.T) {
	path := filepath.Join(t.TempDir(), "old.db")
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	stmts := []string{`CREATE TABLE migrations (version INTEGER NOT NULL PRIMARY KEY, name TEXT NOT NULL, applied_date BIGINT NOT NULL)`}
	for i, name := range []string{"0001_init.sql", "0002_runs.sql", "0003_cred_master.sql"} {
		b, err := os.ReadFile(filepath.Join("..", "sqlite", "migrations", name))
		if err != nil {
			t.Fatal(err)
		}
		stmts = append(stmts, string(b), fmt.Sprintf(`INSERT INTO migrations VALUES (%d, '%s', 1)`, i+1, name))
	}
	stmts = append(stmts, `INSERT INTO identities (name, role, created_date) VALUES ('old-admin', 'admin', 1), ('old-reader', 'read-only', 1)`)
	for _, q := range stmts {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("building the old database: %v", err)
		}
	}
	db.Close()

	st, err := sqlite.Open(path)
	if err != nil {
		t.Fatalf("open (migrate) old database: %v", err)
	}
	defer st.Close()
	kr, err := envelope.Generate()
	if err != nil {
		t.Fatal(err)
	}
	e := &env{store: &countingStore{Store: st}, keyring: kr, clock: &clock{now: time.Now().UTC()}}
	e.svc = auth.New(auth.Config{Store: e.store, Keyring: kr, Now: e.clock.Now})
	ctx := context.Background()
	principal := func(name string) rotor.Principal {
		k, err := e.svc.CreateAccessKey(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		return e.principalOf(t, creds(k))
	}
	admin, reader := principal("old-admin"), principal("old-reader")
	for _, action := range append(modelActions(t), rotorActions...) {
		for _, resource := range []string{app1ARN, ""} {
			r := rotor.AccessRequest{Action: action, Resource: resource}
			wantAllowed(t, ask(e.svc, admin, r))
			readErr, roleErr := ask(e.svc, reader, r), authz(e.svc, rotor.Principal{Identity: "old-reader", Role: rotor.RoleReadOnly}, action, resource)
			if (readErr == nil) != (roleErr == nil) {
				t.Errorf("old-reader %s on %q: %v, read-only role: %v", action, resource, readErr, roleErr)
			}
		}
	}
	wantAllowed(t, ask(e.svc, reader, rotor.AccessRequest{Action: getValue, Resource: app1ARN}))
	wantCode(t, ask(e.svc, reader, rotor.AccessRequest{Action: "secretsmanager:PutSecretValue", Resource: app1ARN}), rotor.EDENIED)
}

// TestDeniedMessageForMissingSecret: policies are matched against the ARN
// the request names, but the denial names the SecretId as sent (AWS:
// "... on resource: cfn/atlas/profile/development because ..."), never an
// ARN Rotor would have to invent; a CreateSecret names the new ARN.
func TestDeniedMessageForMissingSecret(t *testing.T) {
	svc := auth.New(auth.Config{})
	app1 := rotor.Principal{Identity: "app1", Policies: []*policy.Policy{policy.MustParse(`{"Version":"2012-10-17",
		"Statement":{"Effect":"Allow","Action":"secretsmanager:GetSecretValue","Resource":"arn:aws:secretsmanager:*:*:secret:app1/*"}}`, policy.Identity)}}
	partial := "arn:aws:secretsmanager:us-east-1:000000000000:secret:app2/missing"
	wantDenied(t, ask(svc, app1, rotor.AccessRequest{Action: getValue, Resource: partial, SecretID: "app2/missing"}),
		"User: arn:aws:iam::000000000000:user/app1 is not authorized to perform: secretsmanager:GetSecretValue on resource: "+
			"app2/missing because no identity-based policy allows the secretsmanager:GetSecretValue action")
	wantAllowed(t, ask(svc, app1, rotor.AccessRequest{Action: getValue, Resource: "arn:aws:secretsmanager:us-east-1:000000000000:secret:app1/missing",
		SecretID: "app1/missing"}))
	wantDenied(t, ask(svc, app1, rotor.AccessRequest{Action: "secretsmanager:CreateSecret", Resource: app2ARN, Name: "app2/db"}),
		"User: arn:aws:iam::000000000000:user/app1 is not authorized to perform: secretsmanager:CreateSecret on resource: "+
			app2ARN+" because no identity-based policy allows the secretsmanager:CreateSecret action")
}

// TestResourcePolicyAccountDenyCoversRotation: a Deny naming the account
// covers every principal of it, rotation sessions (arn:aws:sts::...)
// included, as on AWS.
func TestResourcePolicyAccountDenyCoversRotation(t *testing.T) {
	svc := auth.New(auth.Config{})
	sec := secret(app1ARN, "app1/db")
	sec.ResourcePolicy = `{"Version":"2012-10-17","Statement":{"Effect":"Deny","Principal":{"AWS":"000000000000"},
		"Action":"secretsmanager:PutSecretValue","Resource":"*"}}`
	rot := rotor.Principal{Identity: "rotation/run-2", Role: rotor.RoleScoped, Scope: rotor.RotationScope(app1ARN, "")}
	wantDenied(t, ask(svc, rot, rotor.AccessRequest{Action: "secretsmanager:PutSecretValue", Resource: app1ARN, Secret: sec}),
		"User: arn:aws:sts::000000000000:assumed-role/rotor-rotation/run-2 is not authorized to perform: secretsmanager:PutSecretValue on resource: "+
			app1ARN+" with an explicit deny in a resource-based policy")
	wantAllowed(t, ask(svc, rot, rotor.AccessRequest{Action: getValue, Resource: app1ARN, Secret: sec}))
}
