package auth_test

import (
	"context"
	"encoding/json"
	"os"
	"reflect"
	"sort"
	"testing"

	"github.com/rotorhq/rotor"
	"github.com/rotorhq/rotor/auth"
)

// modelActions returns "secretsmanager:<Op>" for every operation of the
// Secrets Manager model the wire layer serves.
func modelActions(t *testing.T) []string {
	t.Helper()
	data, err := os.ReadFile("../awsapi/model/secretsmanager-service-2.json")
	if err != nil {
		t.Fatalf("read model: %v", err)
	}
	var model struct {
		Operations map[string]json.RawMessage `json:"operations"`
	}
	if err := json.Unmarshal(data, &model); err != nil {
		t.Fatalf("parse model: %v", err)
	}
	var out []string
	for op := range model.Operations {
		out = append(out, "secretsmanager:"+op)
	}
	sort.Strings(out)
	if len(out) < 23 {
		t.Fatalf("model has %d operations, want at least 23", len(out))
	}
	return out
}

// authz asks svc whether p may perform action on resource (no secret
// record: no resource policy, no tags).
func authz(svc *auth.Service, p rotor.Principal, action, resource string) error {
	return svc.Authorize(context.Background(), rotor.Caller{Principal: p, Region: "us-east-1"},
		rotor.AccessRequest{Action: action, Resource: resource})
}

// rotorActions are Rotor's own operations (rotor.AdminService).
var rotorActions = []string{
	"rotor:CreateIdentity", "rotor:ListIdentities", "rotor:DeleteIdentity",
	"rotor:PutIdentityPolicy", "rotor:GetIdentityPolicy", "rotor:DeleteIdentityPolicy",
	"rotor:CreateAccessKey", "rotor:UpdateAccessKey", "rotor:DeleteAccessKey",
	"rotor:ListKeys", "rotor:RotateKeys", "rotor:RetireKey", "rotor:Backup", "rotor:DownloadBackup",
}

const (
	arnA = "arn:aws:secretsmanager:us-east-1:000000000000:secret:a-AbCdEf"
	arnB = "arn:aws:secretsmanager:us-east-1:000000000000:secret:b-GhIjKl"
)

func TestAuthorizeReadOnly(t *testing.T) {
	svc := auth.New(auth.Config{})
	p := rotor.Principal{Identity: "reader", Role: rotor.RoleReadOnly}
	allowed := map[string]bool{
		"secretsmanager:GetSecretValue":       true,
		"secretsmanager:BatchGetSecretValue":  true,
		"secretsmanager:DescribeSecret":       true,
		"secretsmanager:ListSecrets":          true,
		"secretsmanager:ListSecretVersionIds": true,
	}
	for _, action := range append(modelActions(t), rotorActions...) {
		for _, resource := range []string{arnA, ""} {
			t.Run(action+"/"+resource, func(t *testing.T) {
				err := authz(svc, p, action, resource)
				if allowed[action] {
					if err != nil {
						t.Fatalf("Authorize = %v, want allowed", err)
					}
					return
				}
				wantCode(t, err, rotor.EDENIED)
			})
		}
	}
}

func TestAuthorizeAdmin(t *testing.T) {
	svc := auth.New(auth.Config{})
	p := rotor.Principal{Identity: "admin", Role: rotor.RoleAdmin}
	for _, action := range append(modelActions(t), rotorActions...) {
		for _, resource := range []string{arnA, ""} {
			if err := authz(svc, p, action, resource); err != nil {
				t.Errorf("Authorize(%s, %q) = %v, want allowed", action, resource, err)
			}
		}
	}
}

const (
	arnMaster = "arn:aws:secretsmanager:us-east-1:000000000000:secret:master-MnOpQr"
	arnOther  = "arn:aws:secretsmanager:us-east-1:000000000000:secret:other-StUvWx"
)

// TestAuthorizeRotationScope checks the scope of rotation credentials
// against every Secrets Manager action and Rotor's own, on the secret
// being rotated, its bound master, another secret and no resource: exactly
// the listed pairs are allowed.
func TestAuthorizeRotationScope(t *testing.T) {
	svc := auth.New(auth.Config{})
	type pair struct{ action, resource string }
	onSecret := []string{"secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue",
		"secretsmanager:PutSecretValue", "secretsmanager:UpdateSecretVersionStage"}
	onMaster := []string{"secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"}
	tests := map[string]struct {
		master string
		allow  map[pair]bool
	}{
		"WithMaster":    {arnMaster, map[pair]bool{}},
		"WithoutMaster": {"", map[pair]bool{}},
	}
	for _, tt := range tests {
		for _, a := range onSecret {
			tt.allow[pair{a, arnA}] = true
		}
		// The scope's GetRandomPassword statement has Resource "*", as
		// IAM writes an action on no resource, so it covers any resource
		// (GetRandomPassword is only ever asked about with none).
		for _, r := range []string{arnA, arnMaster, arnOther, "", arnA[:len(arnA)-7], "*"} {
			tt.allow[pair{"secretsmanager:GetRandomPassword", r}] = true
		}
	}
	for _, a := range onMaster {
		tests["WithMaster"].allow[pair{a, arnMaster}] = true
	}
	actions := append(modelActions(t), rotorActions...)
	actions = append(actions, "secretsmanager:*", "*", "secretsmanager", "secretsmanager:", "lambda:InvokeFunction")
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			p := rotor.Principal{Identity: "rotation/run-1", Role: rotor.RoleScoped, Scope: rotor.RotationScope(arnA, tt.master)}
			for _, action := range actions {
				// The ARN prefix without its suffix is another resource:
				// matching is exact.
				for _, resource := range []string{arnA, arnMaster, arnOther, "", arnA[:len(arnA)-7], "*"} {
					err := authz(svc, p, action, resource)
					if tt.allow[pair{action, resource}] {
						if err != nil {
							t.Errorf("Authorize(%s, %q) = %v, want allowed", action, resource, err)
						}
						continue
					}
					if rotor.ErrorCode(err) != rotor.EDENIED {
						t.Errorf("Authorize(%s, %q) = %v, want EDENIED", action, resource, err)
					}
				}
			}
		})
	}
}

// TestRotationScopeShape pins the scope itself: three grants (two without
// a master), each naming one resource, so that it maps to an IAM policy
// with one statement per resource.
func TestRotationScopeShape(t *testing.T) {
	want := []rotor.Grant{
		{Actions: []string{"secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue",
			"secretsmanager:PutSecretValue", "secretsmanager:UpdateSecretVersionStage"}, Resources: []string{arnA}},
		{Actions: []string{"secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"}, Resources: []string{arnMaster}},
		{Actions: []string{"secretsmanager:GetRandomPassword"}, Resources: []string{""}},
	}
	if got := rotor.RotationScope(arnA, arnMaster); !reflect.DeepEqual(got, want) {
		t.Errorf("RotationScope(secret, master) =\n\t%+v\nwant\n\t%+v", got, want)
	}
	noMaster := []rotor.Grant{want[0], want[2]}
	if got := rotor.RotationScope(arnA, ""); !reflect.DeepEqual(got, noMaster) {
		t.Errorf("RotationScope(secret, \"\") =\n\t%+v\nwant\n\t%+v", got, noMaster)
	}
}

// TestAuthorizeScopeNeverWidensARole: a Scope on a long-term role is
// ignored by Authorize (and refused by IssueTemporary), and a scoped
// principal without a Scope may do nothing.
func TestAuthorizeScopeNeverWidensARole(t *testing.T) {
	svc := auth.New(auth.Config{})
	all := []rotor.Grant{{Actions: append(modelActions(t), rotorActions...), Resources: []string{arnA, ""}}}
	reader := rotor.Principal{Identity: "reader", Role: rotor.RoleReadOnly, Scope: all}
	wantCode(t, authz(svc, reader, "secretsmanager:PutSecretValue", arnA), rotor.EDENIED)
	wantCode(t, authz(svc, reader, "rotor:CreateIdentity", ""), rotor.EDENIED)
	empty := rotor.Principal{Identity: "rotation/x", Role: rotor.RoleScoped}
	for _, action := range modelActions(t) {
		for _, resource := range []string{arnA, ""} {
			wantCode(t, authz(svc, empty, action, resource), rotor.EDENIED)
		}
	}
}

func TestAuthorizeUnknownRole(t *testing.T) {
	svc := auth.New(auth.Config{})
	for _, role := range []rotor.Role{rotor.RoleNone, "root", "Admin"} {
		p := rotor.Principal{Identity: "x", Role: role, Scope: rotor.RotationScope(arnA, "")}
		for _, action := range []string{"secretsmanager:GetSecretValue", "secretsmanager:GetRandomPassword", "rotor:ListKeys"} {
			wantCode(t, authz(svc, p, action, arnA), rotor.EDENIED)
		}
	}
}

func TestAuthorizeDeniedMessage(t *testing.T) {
	svc := auth.New(auth.Config{})
	p := rotor.Principal{Identity: "reader", Role: rotor.RoleReadOnly}
	tests := map[string]struct{ action, resource, want string }{
		"WithResource": {"secretsmanager:PutSecretValue", arnA,
			"User: arn:aws:iam::000000000000:user/reader is not authorized to perform: secretsmanager:PutSecretValue on resource: " +
				arnA + " because no identity-based policy allows the secretsmanager:PutSecretValue action"},
		"WithoutResource": {"rotor:CreateIdentity", "",
			"User: arn:aws:iam::000000000000:user/reader is not authorized to perform: rotor:CreateIdentity" +
				" because no identity-based policy allows the rotor:CreateIdentity action"},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			err := authz(svc, p, tt.action, tt.resource)
			wantCode(t, err, rotor.EDENIED)
			if got := rotor.ErrorMessage(err); got != tt.want {
				t.Fatalf("Message=%q, want %q", got, tt.want)
			}
		})
	}
}
