package auth_test

import (
	"context"
	"encoding/json"
	"os"
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

// rotorActions are Rotor's own operations (rotor.AdminService).
var rotorActions = []string{
	"rotor:CreateIdentity", "rotor:ListIdentities", "rotor:DeleteIdentity",
	"rotor:CreateAccessKey", "rotor:UpdateAccessKey", "rotor:DeleteAccessKey",
	"rotor:ListKeys", "rotor:RotateKeys", "rotor:RetireKey", "rotor:Backup",
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
				err := svc.Authorize(context.Background(), p, action, resource)
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
			if err := svc.Authorize(context.Background(), p, action, resource); err != nil {
				t.Errorf("Authorize(%s, %q) = %v, want allowed", action, resource, err)
			}
		}
	}
}

func TestAuthorizeScoped(t *testing.T) {
	svc := auth.New(auth.Config{})
	p := rotor.Principal{Identity: "rotation-a", Role: rotor.RoleScoped, Resources: []string{arnA}}
	for _, action := range modelActions(t) {
		t.Run(action, func(t *testing.T) {
			ctx := context.Background()
			if err := svc.Authorize(ctx, p, action, arnA); err != nil {
				t.Errorf("on own secret: %v, want allowed", err)
			}
			wantCode(t, svc.Authorize(ctx, p, action, arnB), rotor.EDENIED)
			// Exact match only: a prefix or a partial ARN is another resource.
			wantCode(t, svc.Authorize(ctx, p, action, arnA[:len(arnA)-7]), rotor.EDENIED)
			err := svc.Authorize(ctx, p, action, "")
			if action == "secretsmanager:GetRandomPassword" {
				if err != nil {
					t.Errorf("without resource: %v, want allowed", err)
				}
			} else {
				wantCode(t, err, rotor.EDENIED)
			}
		})
	}
	for _, action := range append(rotorActions, "secretsmanager", "secretsmanager:", "lambda:InvokeFunction") {
		for _, resource := range []string{arnA, ""} {
			wantCode(t, svc.Authorize(context.Background(), p, action, resource), rotor.EDENIED)
		}
	}
}

func TestAuthorizeUnknownRole(t *testing.T) {
	svc := auth.New(auth.Config{})
	for _, role := range []rotor.Role{"", "root", "Admin"} {
		p := rotor.Principal{Identity: "x", Role: role, Resources: []string{arnA}}
		for _, action := range []string{"secretsmanager:GetSecretValue", "secretsmanager:GetRandomPassword", "rotor:ListKeys"} {
			wantCode(t, svc.Authorize(context.Background(), p, action, arnA), rotor.EDENIED)
		}
	}
}

func TestAuthorizeDeniedMessage(t *testing.T) {
	svc := auth.New(auth.Config{})
	p := rotor.Principal{Identity: "reader", Role: rotor.RoleReadOnly}
	tests := map[string]struct{ action, resource, want string }{
		"WithResource": {"secretsmanager:PutSecretValue", arnA,
			"User: reader is not authorized to perform: secretsmanager:PutSecretValue on resource: " + arnA},
		"WithoutResource": {"rotor:CreateIdentity", "",
			"User: reader is not authorized to perform: rotor:CreateIdentity"},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			err := svc.Authorize(context.Background(), p, tt.action, tt.resource)
			wantCode(t, err, rotor.EDENIED)
			if got := rotor.ErrorMessage(err); got != tt.want {
				t.Fatalf("Message=%q, want %q", got, tt.want)
			}
		})
	}
}
