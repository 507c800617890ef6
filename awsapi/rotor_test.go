package awsapi_test

import (
	"context"
	"encoding/json"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/rotorhq/rotor"
	"github.com/rotorhq/rotor/awsapi"
)

// rotorCall sends one Rotor operation, encoding in with the exported wire
// struct (as the CLI does), and decodes a 200 response into out.
func rotorCall(t *testing.T, h http.Handler, op string, in, out any) {
	t.Helper()
	rec := post(t, h, "rotor."+op, jsonBody(t, in))
	mustJSON(t, rec)
	if err := json.Unmarshal(rec.Body.Bytes(), out); err != nil {
		t.Fatalf("%s response %s: %v", op, rec.Body.String(), err)
	}
}

func TestRotorOperations(t *testing.T) {
	want := []string{"AbandonRotation", "Backup", "CreateAccessKey", "CreateIdentity", "DeleteAccessKey", "DeleteIdentity",
		"DeleteIdentityPolicy", "DownloadBackup", "GetCallerIdentity", "GetIdentityPolicy", "ListIdentities", "ListKeys", "ListRotationRuns", "PutIdentityPolicy",
		"RetireKey", "RotateKeys", "RotationHistory", "UpdateAccessKey"}
	if got := awsapi.RotorOperations(); !slices.Equal(got, want) {
		t.Errorf("RotorOperations()=%v, want %v", got, want)
	}
}

func TestRotorIdentities(t *testing.T) {
	var calls []string
	var caller rotor.Caller
	fa := &fakeAdmin{
		CreateIdentityFn: func(ctx context.Context, name string, role rotor.Role) (*rotor.Identity, error) {
			calls = append(calls, "create "+name+" "+string(role))
			caller, _ = rotor.CallerFrom(ctx)
			return &rotor.Identity{Name: name, Role: role, CreatedDate: created}, nil
		},
		ListIdentitiesFn: func(context.Context) ([]rotor.Identity, error) {
			return []rotor.Identity{
				{Name: "admin", Role: rotor.RoleAdmin, CreatedDate: created, AccessKeys: []rotor.AccessKeyInfo{
					{AccessKeyID: "AKIA1", Identity: "admin", Status: rotor.KeyActive, CreatedDate: created},
					{AccessKeyID: "AKIA2", Identity: "admin", Status: rotor.KeyInactive, CreatedDate: changed},
				}},
				{Name: "ci", Role: rotor.RoleReadOnly, CreatedDate: changed},
			}, nil
		},
		DeleteIdentityFn: func(_ context.Context, name string) error {
			calls = append(calls, "delete "+name)
			return nil
		},
		PutIdentityPolicyFn: func(_ context.Context, name, doc string) error {
			calls = append(calls, "put-policy "+name+" "+doc)
			return nil
		},
		GetIdentityPolicyFn: func(_ context.Context, name string) (string, error) {
			calls = append(calls, "get-policy "+name)
			return `{"Statement": []}`, nil
		},
		DeleteIdentityPolicyFn: func(_ context.Context, name string) error {
			calls = append(calls, "delete-policy "+name)
			return nil
		},
	}
	h := newHandler(nil, fa)

	var co awsapi.CreateIdentityOutput
	rotorCall(t, h, "CreateIdentity", awsapi.CreateIdentityInput{Name: "none"}, &co)
	if co.Identity.Name != "none" || co.Identity.Role != "" {
		t.Errorf("CreateIdentity without a role=%+v, want none without a role", co.Identity)
	}
	rotorCall(t, h, "CreateIdentity", awsapi.CreateIdentityInput{Name: "ci", Role: "read-only"}, &co)
	wantID := awsapi.Identity{Name: "ci", Role: "read-only", CreatedDate: awsapi.Timestamp{Time: created}, AccessKeys: []awsapi.AccessKeySummary{}}
	if !reflect.DeepEqual(co.Identity, wantID) {
		t.Errorf("CreateIdentity=%+v, want %+v", co.Identity, wantID)
	}
	// httptest's requests come from 192.0.2.1:1234, without TLS.
	if caller.SourceIP != "192.0.2.1" || caller.SecureTransport {
		t.Errorf("Caller SourceIP=%q SecureTransport=%v, want the peer's address without TLS", caller.SourceIP, caller.SecureTransport)
	}
	if caller.Principal.Identity != testPrincipal.Identity || caller.Region != testRegion || caller.RequestID == "" {
		t.Errorf("Caller=%+v, want the authenticated principal, region and a request id", caller)
	}

	var lo awsapi.ListIdentitiesOutput
	rotorCall(t, h, "ListIdentities", awsapi.ListIdentitiesInput{}, &lo)
	wantList := []awsapi.Identity{
		{Name: "admin", Role: "admin", CreatedDate: awsapi.Timestamp{Time: created}, AccessKeys: []awsapi.AccessKeySummary{
			{AccessKeyID: "AKIA1", Status: "Active", CreatedDate: awsapi.Timestamp{Time: created}},
			{AccessKeyID: "AKIA2", Status: "Inactive", CreatedDate: awsapi.Timestamp{Time: changed}},
		}},
		{Name: "ci", Role: "read-only", CreatedDate: awsapi.Timestamp{Time: changed}, AccessKeys: []awsapi.AccessKeySummary{}},
	}
	if !reflect.DeepEqual(lo.Identities, wantList) {
		t.Errorf("ListIdentities=%+v, want %+v", lo.Identities, wantList)
	}

	rec := post(t, h, "rotor.DeleteIdentity", `{"Name":"ci"}`)
	mustJSON(t, rec)
	if rec.Body.String() != "{}" {
		t.Errorf("DeleteIdentity body=%s, want {}", rec.Body.String())
	}
	var empty struct{}
	doc := `{"Version": "2012-10-17", "Statement": []}`
	rotorCall(t, h, "PutIdentityPolicy", awsapi.PutIdentityPolicyInput{Name: "ci", PolicyDocument: doc}, &empty)
	var gp awsapi.GetIdentityPolicyOutput
	rotorCall(t, h, "GetIdentityPolicy", awsapi.GetIdentityPolicyInput{Name: "ci"}, &gp)
	if gp.Name != "ci" || gp.PolicyDocument != `{"Statement": []}` {
		t.Errorf("GetIdentityPolicy=%+v", gp)
	}
	rotorCall(t, h, "DeleteIdentityPolicy", awsapi.DeleteIdentityPolicyInput{Name: "ci"}, &empty)
	if want := []string{"create none ", "create ci read-only", "delete ci", "put-policy ci " + doc, "get-policy ci",
		"delete-policy ci"}; !slices.Equal(calls, want) {
		t.Errorf("calls=%v, want %v", calls, want)
	}
}

func TestRotorAccessKeys(t *testing.T) {
	var calls []string
	fa := &fakeAdmin{
		CreateAccessKeyFn: func(_ context.Context, identity string) (*rotor.AccessKey, error) {
			calls = append(calls, "create "+identity)
			return &rotor.AccessKey{AccessKeyInfo: rotor.AccessKeyInfo{AccessKeyID: "AKIANEW", Identity: identity, Status: rotor.KeyActive, CreatedDate: created},
				SecretAccessKey: "wJalrXUtnFEMI/K7MDENG"}, nil
		},
		UpdateAccessKeyFn: func(_ context.Context, id, status string) error {
			calls = append(calls, "update "+id+" "+status)
			return nil
		},
		DeleteAccessKeyFn: func(_ context.Context, id string) error {
			calls = append(calls, "delete "+id)
			return nil
		},
	}
	h := newHandler(nil, fa)
	var co awsapi.CreateAccessKeyOutput
	rotorCall(t, h, "CreateAccessKey", awsapi.CreateAccessKeyInput{Identity: "ci"}, &co)
	want := awsapi.AccessKey{AccessKeyID: "AKIANEW", SecretAccessKey: "wJalrXUtnFEMI/K7MDENG", Identity: "ci", Status: "Active", CreatedDate: awsapi.Timestamp{Time: created}}
	if co.AccessKey != want {
		t.Errorf("CreateAccessKey=%+v, want %+v", co.AccessKey, want)
	}
	var empty struct{}
	rotorCall(t, h, "UpdateAccessKey", awsapi.UpdateAccessKeyInput{AccessKeyID: "AKIANEW", Status: "Inactive"}, &empty)
	rotorCall(t, h, "DeleteAccessKey", awsapi.DeleteAccessKeyInput{AccessKeyID: "AKIANEW"}, &empty)
	if want := []string{"create ci", "update AKIANEW Inactive", "delete AKIANEW"}; !slices.Equal(calls, want) {
		t.Errorf("calls=%v, want %v", calls, want)
	}
}

func TestRotorKeysAndBackup(t *testing.T) {
	var calls []string
	fa := &fakeAdmin{
		ListKeysFn: func(context.Context) ([]rotor.KeyInfo, error) {
			return []rotor.KeyInfo{{ID: "k1", Active: false, CreatedDate: created, Wrapped: 0}, {ID: "k2", Active: true, CreatedDate: changed, Wrapped: 42}}, nil
		},
		RotateKeysFn: func(context.Context) (*rotor.KeyInfo, error) {
			return &rotor.KeyInfo{ID: "k3", Active: true, CreatedDate: changed, Wrapped: 43}, nil
		},
		RetireKeyFn: func(_ context.Context, id string) error {
			calls = append(calls, "retire "+id)
			return nil
		},
		BackupFn: func(_ context.Context, path string) (string, error) {
			calls = append(calls, "backup "+path)
			return "/var/lib/rotor/backups/" + path, nil
		},
	}
	h := newHandler(nil, fa)

	rec := post(t, h, "rotor.ListKeys", ``)
	mustJSON(t, rec)
	if !strings.Contains(rec.Body.String(), `{"KeyId":"k1","Active":false,"CreatedDate":1523477145.713,"Wrapped":0}`) {
		t.Errorf("ListKeys body %s does not show Active:false and Wrapped:0 explicitly", rec.Body.String())
	}
	var lk awsapi.ListKeysOutput
	rotorCall(t, h, "ListKeys", awsapi.ListKeysInput{}, &lk)
	wantKeys := []awsapi.KeyInfo{
		{KeyID: "k1", CreatedDate: awsapi.Timestamp{Time: created}},
		{KeyID: "k2", Active: true, CreatedDate: awsapi.Timestamp{Time: changed}, Wrapped: 42},
	}
	if !reflect.DeepEqual(lk.Keys, wantKeys) {
		t.Errorf("ListKeys=%+v, want %+v", lk.Keys, wantKeys)
	}
	var rk awsapi.RotateKeysOutput
	rotorCall(t, h, "RotateKeys", awsapi.RotateKeysInput{}, &rk)
	if want := (awsapi.KeyInfo{KeyID: "k3", Active: true, CreatedDate: awsapi.Timestamp{Time: changed}, Wrapped: 43}); rk.Key != want {
		t.Errorf("RotateKeys=%+v, want %+v", rk.Key, want)
	}
	var empty struct{}
	rotorCall(t, h, "RetireKey", awsapi.RetireKeyInput{KeyID: "k1"}, &empty)
	var bo awsapi.BackupOutput
	rotorCall(t, h, "Backup", awsapi.BackupInput{Path: "rotor.db"}, &bo)
	if want := []string{"retire k1", "backup rotor.db"}; !slices.Equal(calls, want) {
		t.Errorf("calls=%v, want %v", calls, want)
	}
	if bo.Path != "/var/lib/rotor/backups/rotor.db" {
		t.Errorf("Backup answered Path %q, want the path the service wrote", bo.Path)
	}
}

func TestRotorValidationAndErrors(t *testing.T) {
	tests := []struct {
		name, op, body string
		status         int
		typ, want      string
	}{
		{"RequiredMissing", "CreateIdentity", `{}`, 400, "ValidationException",
			"1 validation error detected: Value null at 'name' failed to satisfy constraint: Member must not be null"},
		{"PolicyRequired", "PutIdentityPolicy", `{"Name":"x"}`, 400, "ValidationException",
			"1 validation error detected: Value null at 'policyDocument' failed to satisfy constraint: Member must not be null"},
		{"AdminMalformedPolicyMapped", "PutIdentityPolicy", `{"Name":"x","PolicyDocument":"{"}`, 400,
			"MalformedPolicyDocumentException", "Syntax errors in policy."},
		{"RoleEnum", "CreateIdentity", `{"Name":"x","Role":"root"}`, 400, "ValidationException",
			"1 validation error detected: Value 'root' at 'role' failed to satisfy constraint: Member must satisfy enum value set: [admin, read-only]"},
		{"EmptyName", "DeleteIdentity", `{"Name":""}`, 400, "ValidationException",
			"1 validation error detected: Value '' at 'name' failed to satisfy constraint: Member must have length greater than or equal to 1"},
		{"StatusEnum", "UpdateAccessKey", `{"AccessKeyId":"AKIA1","Status":"Disabled"}`, 400, "ValidationException",
			"1 validation error detected: Value 'Disabled' at 'status' failed to satisfy constraint: Member must satisfy enum value set: [Active, Inactive]"},
		{"WrongType", "Backup", `{"Path":["/tmp/x"]}`, 400, "SerializationException", "Value at 'path' must be a string."},
		{"Malformed", "RetireKey", `{"KeyId":`, 400, "SerializationException", "The request body is not valid JSON."},
		{"AdminErrorMapped", "DeleteIdentity", `{"Name":"me"}`, 400, "InvalidRequestException", "An identity cannot delete itself."},
		{"AdminLimitMapped", "CreateAccessKey", `{"Identity":"ci"}`, 400, "LimitExceededException", "An identity can have at most 2 access keys."},
		{"AdminDeniedMapped", "ListKeys", `{}`, 400, "AccessDeniedException", "Only admin identities may call rotor.ListKeys."},
	}
	fa := &fakeAdmin{
		DeleteIdentityFn: func(context.Context, string) error {
			return rotor.Errorf(rotor.ESTATE, "An identity cannot delete itself.")
		},
		PutIdentityPolicyFn: func(context.Context, string, string) error {
			return rotor.Errorf(rotor.EPOLICY, "Syntax errors in policy.")
		},
		CreateAccessKeyFn: func(context.Context, string) (*rotor.AccessKey, error) {
			return nil, rotor.Errorf(rotor.ELIMIT, "An identity can have at most 2 access keys.")
		},
		ListKeysFn: func(context.Context) ([]rotor.KeyInfo, error) {
			return nil, rotor.Errorf(rotor.EDENIED, "Only admin identities may call rotor.ListKeys.")
		},
	}
	h := newHandler(nil, fa)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := fa.calls.Load()
			rec := post(t, h, "rotor."+tt.op, tt.body)
			if msg := mustError(t, rec, tt.status, tt.typ); msg != tt.want {
				t.Errorf("Message=%q, want %q", msg, tt.want)
			}
			if called := fa.calls.Load() != before; called != strings.HasPrefix(tt.name, "Admin") {
				t.Errorf("admin service called=%v", called)
			}
		})
	}
}

// TestRotorGetCallerIdentity: GetCallerIdentity answers who signed the
// request, for any principal — a scoped one that may call no admin
// operation included — without asking the admin service anything.
func TestRotorGetCallerIdentity(t *testing.T) {
	p := rotor.Principal{Identity: "rotation/run-1", AccessKeyID: "ASIATEMPTEMPTEMP", Role: rotor.RoleScoped}
	h := &awsapi.Handler{Secrets: &fakeSecrets{}, Admin: &fakeAdmin{}, Auth: authFunc(func(*http.Request, []byte) (rotor.Authentication, error) {
		return rotor.Authentication{Principal: p, Region: testRegion, Service: "rotor"}, nil
	})}
	var out awsapi.GetCallerIdentityOutput
	rotorCall(t, h, "GetCallerIdentity", awsapi.GetCallerIdentityInput{}, &out)
	want := awsapi.GetCallerIdentityOutput{Identity: "rotation/run-1", AccessKeyID: "ASIATEMPTEMPTEMP", Role: "scoped"}
	if out != want {
		t.Errorf("GetCallerIdentity=%+v, want %+v", out, want)
	}
}
