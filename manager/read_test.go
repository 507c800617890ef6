package manager_test

import (
	"context"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/rotorhq/rotor"
	"github.com/rotorhq/rotor/manager"
)

// TestReadPathsAgree reads the same secrets through a Service whose cache
// misses go through the store's rotor.SecretReader (one query) and one
// whose misses go through View (resolve, then Versions), each twice (a
// miss, then a hit of its packed cache entry), and requires the same
// results and errors from all four: GetSecretValue by name, full and
// partial ARN, version id and label, for a secret with tags, a resource
// policy, several labels, a placeholder and a binary value; a secret
// scheduled for deletion; a secret of another region; names and ARNs that
// do not exist; and DescribeSecret, ListSecretVersionIds and
// GetResourcePolicy of each.
func TestReadPathsAgree(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	if e.reading == nil {
		t.Fatal("newEnv's Service does not read through a SecretReader")
	}
	vcfg := e.cfg
	vcfg.Store = e.store // without the SecretReader: misses read through View
	viewSvc := manager.New(vcfg)
	t.Cleanup(func() { viewSvc.FlushAccessDates(context.Background()) })

	full := e.create(t, "app/db", "one")
	e.clock.Advance(time.Minute)
	e.put(t, "app/db", tok(1), "two")
	e.clock.Advance(time.Minute)
	e.put(t, "app/db", tok(2), "three", "CUSTOM", "ALPHA")
	e.createPlaceholder(t, full.ARN, tok(3), "AWSPENDING")
	if err := e.svc.TagResource(e.ctx, "app/db", []rotor.Tag{{Key: "team", Value: "a"}, {Key: "env", Value: "prod"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.PutResourcePolicy(e.ctx, rotor.PutResourcePolicyInput{SecretID: "app/db", ResourcePolicy: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + testAccount + `:root"},"Action":"secretsmanager:GetSecretValue","Resource":"*"}]}`}); err != nil {
		t.Fatal(err)
	}
	bin, err := e.svc.CreateSecret(e.ctx, rotor.CreateSecretInput{Name: "bin", ClientRequestToken: tok(10), Value: rotor.Value{Binary: []byte{0, 1, 2}}})
	if err != nil {
		t.Fatal(err)
	}
	gone := e.create(t, "gone", "x")
	if _, err := e.svc.DeleteSecret(e.ctx, rotor.DeleteSecretInput{SecretID: "gone", RecoveryWindowDays: 7}); err != nil {
		t.Fatal(err)
	}
	elsewhere, err := e.svc.CreateSecret(callerCtx("eu-west-1"), rotor.CreateSecretInput{Name: "app/db", ClientRequestToken: tok(20), Value: sv("eu")})
	if err != nil {
		t.Fatal(err)
	}

	ids := []string{"app/db", full.ARN, full.ARN[:len(full.ARN)-7], "bin", bin.ARN, "gone", gone.ARN,
		"missing", full.ARN + "x", elsewhere.ARN, full.ARN[:len(full.ARN)-7] + "-zzzzzz"}
	result := func(v any, err error) outcome {
		if err != nil {
			return outcome{Code: rotor.ErrorCode(err)}
		}
		return outcome{Value: v}
	}
	reads := map[string]func(svc *manager.Service, id string) outcome{
		"Get": func(svc *manager.Service, id string) outcome {
			return result(svc.GetSecretValue(e.ctx, rotor.GetSecretValueInput{SecretID: id}))
		},
		"GetPrevious": func(svc *manager.Service, id string) outcome {
			return result(svc.GetSecretValue(e.ctx, rotor.GetSecretValueInput{SecretID: id, VersionStage: "AWSPREVIOUS"}))
		},
		"GetByID": func(svc *manager.Service, id string) outcome {
			return result(svc.GetSecretValue(e.ctx, rotor.GetSecretValueInput{SecretID: id, VersionID: tok(2)}))
		},
		"GetByIDAndWrongStage": func(svc *manager.Service, id string) outcome {
			return result(svc.GetSecretValue(e.ctx, rotor.GetSecretValueInput{SecretID: id, VersionID: tok(2), VersionStage: "AWSCURRENT"}))
		},
		"GetPlaceholder": func(svc *manager.Service, id string) outcome {
			return result(svc.GetSecretValue(e.ctx, rotor.GetSecretValueInput{SecretID: id, VersionStage: "AWSPENDING"}))
		},
		"GetUnknownStage": func(svc *manager.Service, id string) outcome {
			return result(svc.GetSecretValue(e.ctx, rotor.GetSecretValueInput{SecretID: id, VersionStage: "NOPE"}))
		},
		"Describe": func(svc *manager.Service, id string) outcome {
			return result(svc.DescribeSecret(e.ctx, id))
		},
		"ListVersions": func(svc *manager.Service, id string) outcome {
			return result(svc.ListSecretVersionIds(e.ctx, rotor.ListSecretVersionIdsInput{SecretID: id, IncludeDeprecated: true}))
		},
		"GetResourcePolicy": func(svc *manager.Service, id string) outcome {
			return result(svc.GetResourcePolicy(e.ctx, id))
		},
	}
	found := 0
	for what, read := range reads {
		for _, id := range ids {
			want := read(e.svc, id) // a miss through ReadSecret
			if want.Code == "" {
				found++
			}
			for i, got := range []outcome{read(e.svc, id), read(viewSvc, id), read(viewSvc, id)} {
				if !reflect.DeepEqual(got, want) {
					t.Errorf("%s(%s) read %d = %s, want (SecretReader miss) %s", what, id, i+2, show(got), show(want))
				}
			}
		}
	}
	if found < 20 {
		t.Fatalf("only %d reads succeeded: the fixture is not what the test means", found)
	}
	if e.reading.reads.Load() == 0 {
		t.Error("no read went through the SecretReader")
	}
}

// outcome is what a read returned: its value, or its error's code.
type outcome struct {
	Value any
	Code  string
}

// show formats an outcome with the values behind its pointers.
func show(o outcome) string {
	if o.Code != "" {
		return o.Code
	}
	if sv, ok := o.Value.(*rotor.SecretValue); ok && sv.Value.String != nil {
		return fmt.Sprintf("%+v (string %q)", *sv, *sv.Value.String)
	}
	return fmt.Sprintf("%+v", o.Value)
}
