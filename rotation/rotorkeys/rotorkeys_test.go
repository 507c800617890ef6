package rotorkeys_test

import (
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/rotorhq/rotor"
	"github.com/rotorhq/rotor/admin"
	"github.com/rotorhq/rotor/auth"
	"github.com/rotorhq/rotor/awsapi"
	"github.com/rotorhq/rotor/envelope"
	"github.com/rotorhq/rotor/rotation/builtin"
	"github.com/rotorhq/rotor/rotation/builtin/builtintest"
	"github.com/rotorhq/rotor/rotation/rotorkeys"
)

// env is a real secrets service and a real auth service on one SQLite
// store, served over HTTP so that keys are proven with signed requests.
type env struct {
	*builtintest.Env
	auth *auth.Service
	keys rotorkeys.Service
	fn   *builtin.Function
}

func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{Env: builtintest.NewEnv(t)}
	kr, err := envelope.Generate()
	if err != nil {
		t.Fatal(err)
	}
	e.auth = auth.New(auth.Config{Store: e.Store, Keyring: kr})
	h := &awsapi.Handler{Secrets: e.Secrets, Auth: e.auth,
		Admin: admin.New(admin.Config{Auth: e.auth, Store: e.Store, Keyring: kr})}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	e.Endpoint = srv.URL
	e.keys = rotorkeys.Service{Auth: e.auth}
	e.fn = &builtin.Function{Secrets: e.Secrets, Strategy: builtin.AccessKeys{Keys: e.keys}}
	return e
}

// identity creates an identity with role and one key.
func (e *env) identity(t *testing.T, name string, role rotor.Role) *rotor.AccessKey {
	t.Helper()
	if _, err := e.auth.CreateIdentity(e.Ctx, name, role); err != nil {
		t.Fatal(err)
	}
	k, err := e.auth.CreateAccessKey(e.Ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// bind binds the rotation of arn to identity, as RotateSecret does for a
// caller allowed rotor:CreateAccessKey.
func (e *env) bind(t *testing.T, arn, identity string) {
	t.Helper()
	err := e.Store.Update(e.Ctx, func(tx rotor.Tx) error {
		rec, err := tx.Secret(arn)
		if err != nil {
			return err
		}
		rec.Rotation.Identity = identity
		return tx.UpdateSecret(rec)
	})
	if err != nil {
		t.Fatal(err)
	}
	e.Secrets.InvalidateCache()
}

// keyIDs returns the ids of identity's keys.
func (e *env) keyIDs(t *testing.T, identity string) []string {
	t.Helper()
	ids, err := e.keys.Keys(e.Ctx, identity)
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

// who signs a request with the key of value and returns whom the server
// says it belongs to, or the error.
func (e *env) who(t *testing.T, value string) (string, error) {
	t.Helper()
	key := builtin.AccessKey{ID: field(t, value, "accessKeyId"), Secret: field(t, value, "secretAccessKey")}
	return e.keys.WhoAmI(e.Ctx, e.Endpoint, builtintest.Region, key)
}

func keySecret(k *rotor.AccessKey, identity string) string {
	return fmt.Sprintf(`{"accessKeyId":%q,"secretAccessKey":%q,"identity":%q}`, k.AccessKeyID, k.SecretAccessKey, identity)
}

func field(t *testing.T, value, key string) string {
	t.Helper()
	var doc map[string]json.RawMessage
	if err := json.Unmarshal([]byte(value), &doc); err != nil {
		t.Fatalf("value is not JSON: %v", err)
	}
	var s string
	json.Unmarshal(doc[key], &s)
	return s
}

// TestRotateAccessKeys rotates an identity's key three times: after each
// rotation AWSCURRENT's and AWSPREVIOUS's keys both sign requests as the
// identity, the identity holds exactly those two keys, the key before
// them no longer works, and the value's other keys are kept byte for byte.
func TestRotateAccessKeys(t *testing.T) {
	e := newEnv(t)
	name := builtintest.Unique("svc-")
	k := e.identity(t, name, rotor.RoleReadOnly)
	const extra = `{ "note" : "keep me",  "n": 1.50, "identity":%q, "accessKeyId":%q, "secretAccessKey":%q, "tags":[1, 2] }`
	arn := e.CreateSecret(t, builtintest.Unique("key-"), fmt.Sprintf(extra, name, k.AccessKeyID, k.SecretAccessKey))
	e.bind(t, arn, name)

	var retired []string // values whose key the rotations deleted
	prevPrev := ""
	for i := range 3 {
		e.Rotate(t, e.fn, arn)
		cur, prev := e.Value(t, arn, rotor.StageCurrent), e.Value(t, arn, rotor.StagePrevious)
		for stage, v := range map[string]string{rotor.StageCurrent: cur, rotor.StagePrevious: prev} {
			if who, err := e.who(t, v); err != nil || who != name {
				t.Errorf("rotation %d: %s key signs as %q, %v; want %q", i+1, stage, who, err, name)
			}
		}
		want := []string{field(t, prev, "accessKeyId"), field(t, cur, "accessKeyId")}
		if got := e.keyIDs(t, name); !slices.Equal(got, want) {
			t.Errorf("rotation %d: identity holds %v, want AWSPREVIOUS's and AWSCURRENT's %v", i+1, got, want)
		}
		wantValue := fmt.Sprintf(extra, name, field(t, cur, "accessKeyId"), field(t, cur, "secretAccessKey"))
		if cur != wantValue {
			t.Errorf("rotation %d: AWSCURRENT = %s, want %s (other keys byte for byte)", i+1, cur, wantValue)
		}
		if prevPrev != "" {
			retired = append(retired, prevPrev)
		}
		for _, v := range retired {
			if _, err := e.who(t, v); err == nil || !strings.Contains(err.Error(), "UnrecognizedClientException") {
				t.Errorf("rotation %d: a key deleted by an earlier rotation still works (%v)", i+1, err)
			}
		}
		prevPrev = prev
	}
	if len(retired) != 2 {
		t.Fatalf("retired %d keys, want 2", len(retired))
	}
}

// TestAccessKeyCreateIsIdempotent: a createSecret retried after it stored
// AWSPENDING keeps that key and creates no other.
func TestAccessKeyCreateIsIdempotent(t *testing.T) {
	e := newEnv(t)
	name := builtintest.Unique("svc-")
	k := e.identity(t, name, rotor.RoleReadOnly)
	arn := e.CreateSecret(t, builtintest.Unique("key-"), keySecret(k, name))
	e.bind(t, arn, name)
	token := e.StartRotation(t, arn)
	for range 2 {
		if err := e.Step(e.fn, arn, token, rotor.StepCreate); err != nil {
			t.Fatal(err)
		}
	}
	pending := e.Value(t, arn, rotor.StagePending)
	if got, want := e.keyIDs(t, name), []string{k.AccessKeyID, field(t, pending, "accessKeyId")}; !slices.Equal(got, want) {
		t.Errorf("identity holds %v, want %v", got, want)
	}
}

// TestAccessKeyDeletesOrphan: a key created by a createSecret that failed
// before storing it (or by anyone) is the idle key the next createSecret
// deletes; AWSCURRENT's key stays.
func TestAccessKeyDeletesOrphan(t *testing.T) {
	e := newEnv(t)
	name := builtintest.Unique("svc-")
	k := e.identity(t, name, rotor.RoleReadOnly)
	orphan, err := e.auth.CreateAccessKey(e.Ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	arn := e.CreateSecret(t, builtintest.Unique("key-"), keySecret(k, name))
	e.bind(t, arn, name)
	e.Rotate(t, e.fn, arn)
	cur := e.Value(t, arn, rotor.StageCurrent)
	if got, want := e.keyIDs(t, name), []string{k.AccessKeyID, field(t, cur, "accessKeyId")}; !slices.Equal(got, want) {
		t.Errorf("identity holds %v, want %v (orphan %s deleted)", got, want, orphan.AccessKeyID)
	}
}

// TestAccessKeyRefusals: createSecret changes no key when the rotation is
// bound to no identity, when the value names another identity than the
// bound one (even with that identity's valid key), or when its key is not
// the identity's.
func TestAccessKeyRefusals(t *testing.T) {
	e := newEnv(t)
	name := builtintest.Unique("svc-")
	k := e.identity(t, name, rotor.RoleReadOnly)
	other := builtintest.Unique("adm-")
	ok := e.identity(t, other, rotor.RoleAdmin)
	stranger := builtintest.Unique("str-")
	sk := e.identity(t, stranger, rotor.RoleReadOnly)

	cases := []struct {
		name, value, bound, msg string
	}{
		{"Unbound", keySecret(k, name), "", "is bound to no identity"},
		{"OtherIdentity", keySecret(ok, other), name, fmt.Sprintf("is for identity %q but the rotation", other)},
		{"ForeignKey", keySecret(sk, name), name, fmt.Sprintf("is not a key of identity %q", name)},
		{"NotAKeySecret", `{"username":"x","password":"y"}`, name, `has no "accessKeyId" key`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			arn := e.CreateSecret(t, builtintest.Unique("key-"), tc.value)
			e.bind(t, arn, tc.bound)
			token := e.StartRotation(t, arn)
			err := e.Step(e.fn, arn, token, rotor.StepCreate)
			if err == nil || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("createSecret: %v, want an error containing %q", err, tc.msg)
			}
			for id, want := range map[string]string{name: k.AccessKeyID, other: ok.AccessKeyID, stranger: sk.AccessKeyID} {
				if got := e.keyIDs(t, id); !slices.Equal(got, []string{want}) {
					t.Errorf("identity %s holds %v, want only %s", id, got, want)
				}
			}
			if v := e.Value(t, arn, rotor.StagePending); v != "" {
				t.Errorf("AWSPENDING = %q, want none", v)
			}
		})
	}
}

// TestAccessKeyTestFails: testSecret fails, without the key's secret in
// its message, when the AWSPENDING key no longer works.
func TestAccessKeyTestFails(t *testing.T) {
	e := newEnv(t)
	name := builtintest.Unique("svc-")
	k := e.identity(t, name, rotor.RoleReadOnly)
	arn := e.CreateSecret(t, builtintest.Unique("key-"), keySecret(k, name))
	e.bind(t, arn, name)
	token := e.StartRotation(t, arn)
	if err := e.Steps(e.fn, arn, token, rotor.StepCreate, rotor.StepSet, rotor.StepTest); err != nil {
		t.Fatal(err)
	}
	pending := e.Value(t, arn, rotor.StagePending)
	if err := e.auth.DeleteAccessKey(e.Ctx, field(t, pending, "accessKeyId")); err != nil {
		t.Fatal(err)
	}
	err := e.Step(e.fn, arn, token, rotor.StepTest)
	if err == nil || !strings.Contains(err.Error(), "UnrecognizedClientException") {
		t.Fatalf("testSecret with a deleted key: %v, want the server's refusal", err)
	}
	if strings.Contains(err.Error(), field(t, pending, "secretAccessKey")) {
		t.Errorf("testSecret's error holds the key's secret: %v", err)
	}
}
