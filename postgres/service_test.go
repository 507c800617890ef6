package postgres_test

import (
	"context"
	"strings"
	"testing"

	"github.com/rotorhq/rotor"
	"github.com/rotorhq/rotor/envelope"
	"github.com/rotorhq/rotor/manager"
	"github.com/rotorhq/rotor/postgres"
	"github.com/rotorhq/rotor/postgres/pgtest"
)

type allowAll struct{}

func (allowAll) Authorize(context.Context, rotor.Caller, rotor.AccessRequest) error { return nil }

// TestServiceRefusesWhatPostgresCannotHold runs the secrets service on a
// PostgreSQL store and sends it the strings the API lets through but
// PostgreSQL's text cannot hold (a NUL from "\u0000"): the caller gets
// EINVALID (InvalidParameterException on the wire, not a 500) naming the
// field, and nothing is stored.
func TestServiceRefusesWhatPostgresCannotHold(t *testing.T) {
	s, _ := pgtest.Open(t, postgres.Options{})
	kr, err := envelope.Generate()
	if err != nil {
		t.Fatal(err)
	}
	svc := manager.New(manager.Config{Store: s, Keyring: kr, Authorizer: allowAll{}, Account: "123456789012"})
	ctx := rotor.NewContext(context.Background(), rotor.Caller{
		Principal: rotor.Principal{Identity: "tester", Role: rotor.RoleAdmin}, Region: "us-east-1", RequestID: "r"})
	value := "s3cret"
	token := "00000000-0000-0000-0000-000000000001"
	if _, err := svc.CreateSecret(ctx, rotor.CreateSecretInput{Name: "app", ClientRequestToken: token,
		Value: rotor.Value{String: &value}}); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		field string
		call  func() error
	}{
		{"description", func() error {
			_, err := svc.CreateSecret(ctx, rotor.CreateSecretInput{Name: "other", Description: "a\x00b",
				ClientRequestToken: "00000000-0000-0000-0000-000000000002", Value: rotor.Value{String: &value}})
			return err
		}},
		{"tag key", func() error { return svc.TagResource(ctx, "app", []rotor.Tag{{Key: "k\x00", Value: "v"}}) }},
		{"version id", func() error {
			_, err := svc.PutSecretValue(ctx, rotor.PutSecretValueInput{SecretID: "app",
				ClientRequestToken: "00000000-0000-0000-0000-00000000000\x00", Value: rotor.Value{String: &value}})
			return err
		}},
	}
	for _, c := range cases {
		err := c.call()
		if rotor.ErrorCode(err) != rotor.EINVALID || !strings.Contains(rotor.ErrorMessage(err), c.field) {
			t.Errorf("%s with a NUL: err = %v; want EINVALID naming the field", c.field, err)
		}
	}
	if _, err := svc.DescribeSecret(ctx, "other"); rotor.ErrorCode(err) != rotor.ENOTFOUND {
		t.Errorf("the refused secret: DescribeSecret = %v, want ENOTFOUND", err)
	}
	d, err := svc.DescribeSecret(ctx, "app")
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Tags) != 0 || len(d.VersionStages) != 1 {
		t.Errorf("app after refused requests: tags %v, versions %v; want no tag and its one version", d.Tags, d.VersionStages)
	}
}
