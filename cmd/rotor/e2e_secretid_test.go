package main

// End-to-end tests of the SecretId rule (issue 14): every operation that
// takes a SecretId refuses one that is neither a valid name nor an ARN with
// HTTP 400 ValidationException rotor.InvalidNameMessage, as AWS does, before
// it looks anything up or asks the authorizer, and changes nothing.

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"regexp"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	"github.com/aws/smithy-go"
	"github.com/rotorhq/rotor"
)

// e2eInvalidIDs are the ids real AWS answers with InvalidNameMessage on
// every operation.
var e2eInvalidIDs = []string{"Inv Name", " Inv Name", " Inv*Name? ", ` Inv *?!]Name\-`}

// e2eIDOp is one operation that takes a SecretId, called with id.
type e2eIDOp struct {
	name string
	call func(t *testing.T, id string) error
}

// e2eIDOps returns every operation of c and s that takes a SecretId. The
// order matters for valid ids: DeleteSecret (forced) comes last.
func e2eIDOps(s *testServer, c *secretsmanager.Client) []e2eIDOp {
	token := func() *string { return aws.String(e2eToken()) }
	sdk := func(name string, f func(id *string) error) e2eIDOp {
		return e2eIDOp{name, func(_ *testing.T, id string) error { return f(aws.String(id)) }}
	}
	rotorOp := func(name string) e2eIDOp {
		return e2eIDOp{"rotor." + name, func(t *testing.T, id string) error {
			return s.e2eRotorCall(t, c, name, map[string]string{"SecretId": id})
		}}
	}
	return []e2eIDOp{
		sdk("DescribeSecret", func(id *string) error {
			_, err := c.DescribeSecret(e2eCtx, &secretsmanager.DescribeSecretInput{SecretId: id})
			return err
		}),
		sdk("GetSecretValue", func(id *string) error {
			_, err := c.GetSecretValue(e2eCtx, &secretsmanager.GetSecretValueInput{SecretId: id})
			return err
		}),
		sdk("BatchGetSecretValue", func(id *string) error {
			out, err := c.BatchGetSecretValue(e2eCtx, &secretsmanager.BatchGetSecretValueInput{SecretIdList: []string{*id}})
			if err == nil && len(out.Errors) > 0 {
				return &smithy.GenericAPIError{Code: aws.ToString(out.Errors[0].ErrorCode), Message: aws.ToString(out.Errors[0].Message)}
			}
			return err
		}),
		sdk("ListSecretVersionIds", func(id *string) error {
			_, err := c.ListSecretVersionIds(e2eCtx, &secretsmanager.ListSecretVersionIdsInput{SecretId: id})
			return err
		}),
		sdk("PutSecretValue", func(id *string) error {
			_, err := c.PutSecretValue(e2eCtx, &secretsmanager.PutSecretValueInput{SecretId: id, SecretString: aws.String("changed"), ClientRequestToken: token()})
			return err
		}),
		sdk("UpdateSecret", func(id *string) error {
			_, err := c.UpdateSecret(e2eCtx, &secretsmanager.UpdateSecretInput{SecretId: id, Description: aws.String("changed")})
			return err
		}),
		sdk("UpdateSecretVersionStage", func(id *string) error {
			_, err := c.UpdateSecretVersionStage(e2eCtx, &secretsmanager.UpdateSecretVersionStageInput{SecretId: id, VersionStage: aws.String("STAGE"), MoveToVersionId: token()})
			return err
		}),
		sdk("TagResource", func(id *string) error {
			_, err := c.TagResource(e2eCtx, &secretsmanager.TagResourceInput{SecretId: id, Tags: []types.Tag{{Key: aws.String("k"), Value: aws.String("changed")}}})
			return err
		}),
		sdk("UntagResource", func(id *string) error {
			_, err := c.UntagResource(e2eCtx, &secretsmanager.UntagResourceInput{SecretId: id, TagKeys: []string{"keep"}})
			return err
		}),
		sdk("RotateSecret", func(id *string) error {
			_, err := c.RotateSecret(e2eCtx, &secretsmanager.RotateSecretInput{SecretId: id})
			return err
		}),
		sdk("CancelRotateSecret", func(id *string) error {
			_, err := c.CancelRotateSecret(e2eCtx, &secretsmanager.CancelRotateSecretInput{SecretId: id})
			return err
		}),
		sdk("GetResourcePolicy", func(id *string) error {
			_, err := c.GetResourcePolicy(e2eCtx, &secretsmanager.GetResourcePolicyInput{SecretId: id})
			return err
		}),
		sdk("PutResourcePolicy", func(id *string) error {
			_, err := c.PutResourcePolicy(e2eCtx, &secretsmanager.PutResourcePolicyInput{SecretId: id, ResourcePolicy: aws.String("{}")})
			return err
		}),
		sdk("DeleteResourcePolicy", func(id *string) error {
			_, err := c.DeleteResourcePolicy(e2eCtx, &secretsmanager.DeleteResourcePolicyInput{SecretId: id})
			return err
		}),
		sdk("ValidateResourcePolicy", func(id *string) error {
			_, err := c.ValidateResourcePolicy(e2eCtx, &secretsmanager.ValidateResourcePolicyInput{SecretId: id, ResourcePolicy: aws.String("{}")})
			return err
		}),
		sdk("ReplicateSecretToRegions", func(id *string) error {
			_, err := c.ReplicateSecretToRegions(e2eCtx, &secretsmanager.ReplicateSecretToRegionsInput{SecretId: id,
				AddReplicaRegions: []types.ReplicaRegionType{{Region: aws.String("us-east-2")}}})
			return err
		}),
		sdk("RemoveRegionsFromReplication", func(id *string) error {
			_, err := c.RemoveRegionsFromReplication(e2eCtx, &secretsmanager.RemoveRegionsFromReplicationInput{SecretId: id, RemoveReplicaRegions: []string{"us-east-2"}})
			return err
		}),
		sdk("StopReplicationToReplica", func(id *string) error {
			_, err := c.StopReplicationToReplica(e2eCtx, &secretsmanager.StopReplicationToReplicaInput{SecretId: id})
			return err
		}),
		rotorOp("ListRotationRuns"),
		rotorOp("RotationHistory"),
		rotorOp("AbandonRotation"),
		sdk("RestoreSecret", func(id *string) error {
			_, err := c.RestoreSecret(e2eCtx, &secretsmanager.RestoreSecretInput{SecretId: id})
			return err
		}),
		sdk("DeleteSecret", func(id *string) error {
			_, err := c.DeleteSecret(e2eCtx, &secretsmanager.DeleteSecretInput{SecretId: id, ForceDeleteWithoutRecovery: aws.Bool(true)})
			return err
		}),
	}
}

// e2eRotorError is an error answered to one of Rotor's own operations.
type e2eRotorError struct {
	Status  int
	Type    string `json:"__type"`
	Message string `json:"Message"`
}

func (e *e2eRotorError) Error() string { return e.Type + ": " + e.Message }

// e2eRotorCall sends rotor.<op> with body in, signed (service "rotor") with
// the credentials of c, and returns nil or an *e2eRotorError.
func (s *testServer) e2eRotorCall(t *testing.T, c *secretsmanager.Client, op string, in any) error {
	t.Helper()
	body, err := json.Marshal(in)
	e2eNoErr(t, "marshal", err)
	req, err := http.NewRequestWithContext(e2eCtx, http.MethodPost, s.URL()+"/", bytes.NewReader(body))
	e2eNoErr(t, "new request", err)
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", "rotor."+op)
	creds, err := c.Options().Credentials.Retrieve(e2eCtx)
	e2eNoErr(t, "credentials", err)
	sum := sha256.Sum256(body)
	e2eNoErr(t, "sign", v4.NewSigner().SignHTTP(e2eCtx, creds, req, hex.EncodeToString(sum[:]), "rotor", s.Region, time.Now()))
	resp, err := http.DefaultClient.Do(req)
	e2eNoErr(t, "POST rotor."+op, err)
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	e2eNoErr(t, "read response", err)
	if resp.StatusCode == http.StatusOK {
		return nil
	}
	e := &e2eRotorError{Status: resp.StatusCode}
	if err := json.Unmarshal(data, e); err != nil {
		t.Fatalf("rotor.%s: HTTP %d with body %q", op, resp.StatusCode, data)
	}
	return e
}

// e2eWantInvalidName reports unless err is HTTP 400 ValidationException with
// rotor.InvalidNameMessage.
func e2eWantInvalidName(t *testing.T, what string, err error) {
	t.Helper()
	var re *e2eRotorError
	if errors.As(err, &re) {
		if re.Status != http.StatusBadRequest || re.Type != "ValidationException" || re.Message != rotor.InvalidNameMessage {
			t.Errorf("%s: HTTP %d %s %q, want 400 ValidationException %q", what, re.Status, re.Type, re.Message, rotor.InvalidNameMessage)
		}
		return
	}
	e2eWantCode(t, what, err, "ValidationException", rotor.InvalidNameMessage)
	var he *awshttp.ResponseError
	if errors.As(err, &he) && he.HTTPStatusCode() != http.StatusBadRequest {
		t.Errorf("%s: HTTP %d, want 400", what, he.HTTPStatusCode())
	} else if he == nil {
		t.Errorf("%s: %v carries no HTTP response", what, err)
	}
}

// e2eWantAccepted reports if err says the id was refused or named nothing:
// a valid id of an existing secret must get past the id rule and be found
// (the operation may still fail for its own reasons).
func e2eWantAccepted(t *testing.T, what string, err error) {
	t.Helper()
	var ae smithy.APIError
	if errors.As(err, &ae) && (ae.ErrorCode() == "ValidationException" || ae.ErrorMessage() == e2eMsgNotFound) {
		t.Errorf("%s: %v", what, err)
	}
	var re *e2eRotorError
	if errors.As(err, &re) && (re.Type == "ValidationException" || re.Type == "ResourceNotFoundException") {
		t.Errorf("%s: %v", what, err)
	}
	if err != nil && ae == nil && re == nil {
		t.Errorf("%s: %v", what, err)
	}
}

func TestE2EInvalidSecretID(t *testing.T) {
	s := MustRunMain(t, "", nil)
	c := s.e2eClient("")
	ops := e2eIDOps(s, c)

	// Secrets whose names an invalid id resembles: none may change.
	var kept []string
	for _, name := range []string{"InvName", "Inv", "Name", "Inv-Name"} {
		out, err := c.CreateSecret(e2eCtx, &secretsmanager.CreateSecretInput{Name: aws.String(name), SecretString: aws.String("v"),
			Tags: []types.Tag{{Key: aws.String("keep"), Value: aws.String("v")}}})
		e2eNoErr(t, "CreateSecret "+name, err)
		kept = append(kept, aws.ToString(out.ARN))
	}
	before := map[string]e2eSnapshot{}
	for _, arn := range kept {
		before[arn] = e2eTakeSnapshot(t, c, arn)
	}

	for _, op := range ops {
		t.Run(op.name, func(t *testing.T) {
			for _, id := range e2eInvalidIDs {
				e2eWantInvalidName(t, op.name+"("+id+")", op.call(t, id))
			}
		})
	}
	for _, arn := range kept {
		if got := e2eTakeSnapshot(t, c, arn); !equalSnapshots(got, before[arn]) {
			t.Errorf("%s changed:\n got %+v\nwant %+v", arn, got, before[arn])
		}
	}

	// A valid name and a valid ARN get past the rule on every operation.
	byName := e2eCreate(t, c, "sid/by-name", "v")
	byARN := e2eCreate(t, c, "sid/by+arn=@.", "v")
	for _, id := range []string{aws.ToString(byName.Name), aws.ToString(byARN.ARN)} {
		t.Run("Valid/"+id, func(t *testing.T) {
			for _, op := range ops {
				e2eWantAccepted(t, op.name+"("+id+")", op.call(t, id))
			}
		})
	}
}

// equalSnapshots compares two snapshots field by field.
func equalSnapshots(a, b e2eSnapshot) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return bytes.Equal(ja, jb)
}

// TestE2EInvalidSecretIDNoOracle checks that an identity the authorizer
// would deny gets ValidationException, not AccessDeniedException, for an
// invalid id: the id is judged before anyone is asked, so the answer says
// nothing about what exists or what the caller may do.
func TestE2EInvalidSecretIDNoOracle(t *testing.T) {
	s := MustRunMain(t, "", nil)
	admin := s.e2eClient("")
	e2eCreate(t, admin, "Inv", "v")
	if _, err := cli(t, s, "identity", "create", "reader", "-role", "read-only"); err != nil {
		t.Fatal(err)
	}
	out, err := cli(t, s, "access-key", "create", "reader")
	if err != nil {
		t.Fatal(err)
	}
	id := regexp.MustCompile(`"AccessKeyId":\s*"([^"]+)"`).FindStringSubmatch(out)
	secret := regexp.MustCompile(`"SecretAccessKey":\s*"([^"]+)"`).FindStringSubmatch(out)
	if id == nil || secret == nil {
		t.Fatalf("access-key create printed %s", out)
	}
	reader := s.ClientWith("", id[1], secret[1], "")
	// The reader may not delete: a valid id is denied...
	_, err = reader.DeleteSecret(e2eCtx, &secretsmanager.DeleteSecretInput{SecretId: aws.String("Inv"), ForceDeleteWithoutRecovery: aws.Bool(true)})
	e2eWantCode(t, "reader DeleteSecret(Inv)", err, "AccessDeniedException", "")
	// ... and an invalid one is refused as invalid, on every operation.
	for _, op := range e2eIDOps(s, reader) {
		for _, bad := range e2eInvalidIDs {
			e2eWantInvalidName(t, "reader "+op.name+"("+bad+")", op.call(t, bad))
		}
	}
	e2eDescribe(t, admin, "Inv")
	// Authentication still comes first: an unsigned request with an
	// invalid id gets the authentication error.
	r := s.e2eRaw(t, "", "DeleteSecret", []byte(`{"SecretId":"Inv Name","ForceDeleteWithoutRecovery":true}`), e2eRawOptions{Unsigned: true})
	if r.Status != http.StatusBadRequest || r.Header.Get("X-Amzn-Errortype") != "MissingAuthenticationTokenException" {
		t.Errorf("unsigned DeleteSecret: HTTP %d %s %s", r.Status, r.Header.Get("X-Amzn-Errortype"), r.Body)
	}
}
