package awsapi_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/rotorhq/rotor"
	"github.com/rotorhq/rotor/awsapi"
)

// secretIDBodies are a valid body naming the secret ID for every operation
// that takes a SecretId, whether Rotor offers it or not.
var secretIDBodies = map[string]string{
	"secretsmanager.DescribeSecret":               `{"SecretId":ID}`,
	"secretsmanager.GetSecretValue":               `{"SecretId":ID,"VersionStage":"AWSCURRENT"}`,
	"secretsmanager.BatchGetSecretValue":          `{"SecretIdList":["ok",ID]}`,
	"secretsmanager.ListSecretVersionIds":         `{"SecretId":ID}`,
	"secretsmanager.PutSecretValue":               `{"SecretId":ID,"SecretString":"v"}`,
	"secretsmanager.UpdateSecret":                 `{"SecretId":ID,"Description":"d"}`,
	"secretsmanager.UpdateSecretVersionStage":     `{"SecretId":ID,"VersionStage":"S"}`,
	"secretsmanager.DeleteSecret":                 `{"SecretId":ID,"ForceDeleteWithoutRecovery":true}`,
	"secretsmanager.RestoreSecret":                `{"SecretId":ID}`,
	"secretsmanager.TagResource":                  `{"SecretId":ID,"Tags":[{"Key":"k","Value":"v"}]}`,
	"secretsmanager.UntagResource":                `{"SecretId":ID,"TagKeys":["k"]}`,
	"secretsmanager.RotateSecret":                 `{"SecretId":ID}`,
	"secretsmanager.CancelRotateSecret":           `{"SecretId":ID}`,
	"secretsmanager.GetResourcePolicy":            `{"SecretId":ID}`,
	"secretsmanager.PutResourcePolicy":            `{"SecretId":ID,"ResourcePolicy":"{}"}`,
	"secretsmanager.DeleteResourcePolicy":         `{"SecretId":ID}`,
	"secretsmanager.ValidateResourcePolicy":       `{"SecretId":ID,"ResourcePolicy":"{}"}`,
	"secretsmanager.ReplicateSecretToRegions":     `{"SecretId":ID,"AddReplicaRegions":[{"Region":"us-east-2"}]}`,
	"secretsmanager.RemoveRegionsFromReplication": `{"SecretId":ID,"RemoveReplicaRegions":["us-east-2"]}`,
	"secretsmanager.StopReplicationToReplica":     `{"SecretId":ID}`,
	"rotor.ListRotationRuns":                      `{"SecretId":ID}`,
	"rotor.RotationHistory":                       `{"SecretId":ID}`,
	"rotor.AbandonRotation":                       `{"SecretId":ID}`,
}

// TestInvalidSecretIDNeverReachesAService checks that every operation
// taking a SecretId, on a handler with and one without the optional
// services, answers 400 ValidationException rotor.InvalidNameMessage for an
// id that is neither a name nor an ARN, without calling any service (so
// without a lookup or an authorization), and that valid ids get past the
// rule.
func TestInvalidSecretIDNeverReachesAService(t *testing.T) {
	fs, rot, runs := happySecrets(), happyRotation(), happyRuns()
	for _, h := range []*awsapi.Handler{
		{Secrets: fs, Admin: happyAdmin(), Auth: &acceptAll{}},
		{Secrets: fs, Admin: happyAdmin(), Rotation: rot, Runs: runs, Auth: &acceptAll{}},
	} {
		for target, body := range secretIDBodies {
			for _, id := range []string{`"Inv Name"`, `" Inv Name"`, `" Inv*Name? "`, `" Inv *?!]Name\\-"`, `"a:b"`, `"arn:"`, `"caf\u00e9"`} {
				rec := post(t, h, target, strings.Replace(body, "ID", id, 1))
				if msg := mustError(t, rec, http.StatusBadRequest, "ValidationException"); msg != rotor.InvalidNameMessage {
					t.Errorf("%s with SecretId %s: %q, want %q", target, id, msg, rotor.InvalidNameMessage)
				}
			}
		}
	}
	if n := fs.calls.Load() + rot.calls.Load() + runs.calls.Load(); n != 0 {
		t.Fatalf("services called %d times for invalid ids", n)
	}
	h := &awsapi.Handler{Secrets: fs, Admin: happyAdmin(), Rotation: rot, Runs: runs, Auth: &acceptAll{}}
	for target, body := range secretIDBodies {
		for _, id := range []string{`"app/db_1+=.@-"`, `"rds!cluster-1"`, `"arn:aws:secretsmanager:us-east-1:123456789012:secret:app/db-AbCdEf"`, `"arn:aws:secretsmanager:us-east-1:123456789012:secret:app/db"`} {
			rec := post(t, h, target, strings.Replace(body, "ID", id, 1))
			if rec.Code != http.StatusOK && strings.Contains(rec.Body.String(), "Invalid name") {
				t.Errorf("%s with SecretId %s: %s", target, id, rec.Body)
			}
		}
	}
}
