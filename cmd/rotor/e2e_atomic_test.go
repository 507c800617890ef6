package main

// A rejected request changes nothing: DescribeSecret and
// ListSecretVersionIds(IncludeDeprecated) are the same before and after.

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	"github.com/aws/smithy-go"
)

func TestE2ERejectedRequestChangesNothing(t *testing.T) {
	s := MustRunMain(t, "", nil)
	c := s.e2eClient("")
	name := "atomic/app"
	created, err := c.CreateSecret(e2eCtx, &secretsmanager.CreateSecretInput{
		Name: aws.String(name), SecretString: aws.String("one"), ClientRequestToken: aws.String(e2eToken()),
		Description: aws.String("before"), Tags: []types.Tag{{Key: aws.String("env"), Value: aws.String("prod")}},
	})
	e2eNoErr(t, "CreateSecret", err)
	v1 := aws.ToString(created.VersionId)
	v2 := aws.ToString(e2ePut(t, c, name, "two").VersionId) // AWSCURRENT; v1 AWSPREVIOUS
	v4 := aws.ToString(e2ePut(t, c, name, "four", "TEMP").VersionId)
	_, err = c.UpdateSecretVersionStage(e2eCtx, &secretsmanager.UpdateSecretVersionStageInput{SecretId: aws.String(name),
		VersionStage: aws.String("TEMP"), RemoveFromVersionId: aws.String(v4)}) // v4 deprecated
	e2eNoErr(t, "UpdateSecretVersionStage", err)
	var labels []string
	for i := 1; i <= 18; i++ {
		labels = append(labels, fmt.Sprintf("L%02d", i))
	}
	v3 := aws.ToString(e2ePut(t, c, name, "three", labels...).VersionId) // 20 labels on the secret now
	if setup := e2eTakeSnapshot(t, c, name); len(setup.Versions) != 4 || setup.Versions[v4] != nil || len(setup.Stages) != 3 {
		t.Fatalf("setup: versions = %v, want 4 with %s deprecated", setup.Versions, v4)
	}

	for _, tc := range []struct {
		name string
		call func() error
		code string // SDK error code
	}{
		{"MoveAWSCURRENTWithoutRemove", func() error {
			_, err := c.UpdateSecretVersionStage(e2eCtx, &secretsmanager.UpdateSecretVersionStageInput{SecretId: aws.String(name),
				VersionStage: aws.String("AWSCURRENT"), MoveToVersionId: aws.String(v1)})
			return err
		}, "InvalidParameterException"},
		{"MoveWithWrongRemove", func() error {
			_, err := c.UpdateSecretVersionStage(e2eCtx, &secretsmanager.UpdateSecretVersionStageInput{SecretId: aws.String(name),
				VersionStage: aws.String("AWSCURRENT"), MoveToVersionId: aws.String(v1), RemoveFromVersionId: aws.String(v3)})
			return err
		}, "InvalidParameterException"},
		{"PutReusedTokenOtherValue", func() error {
			_, err := c.PutSecretValue(e2eCtx, &secretsmanager.PutSecretValueInput{SecretId: aws.String(name),
				SecretString: aws.String("not two"), ClientRequestToken: aws.String(v2)})
			return err
		}, "ResourceExistsException"},
		{"UpdateReusedTokenOtherValueWithDescription", func() error {
			_, err := c.UpdateSecret(e2eCtx, &secretsmanager.UpdateSecretInput{SecretId: aws.String(name),
				SecretString: aws.String("not one"), ClientRequestToken: aws.String(v1), Description: aws.String("after")})
			return err
		}, "ResourceExistsException"},
		{"CreateSameName", func() error {
			_, err := c.CreateSecret(e2eCtx, &secretsmanager.CreateSecretInput{Name: aws.String(name), SecretString: aws.String("x"),
				Description: aws.String("after")})
			return err
		}, "ResourceExistsException"},
		{"RecoveryWindow6", func() error {
			_, err := c.DeleteSecret(e2eCtx, &secretsmanager.DeleteSecretInput{SecretId: aws.String(name), RecoveryWindowInDays: aws.Int64(6)})
			return err
		}, "InvalidParameterException"},
		{"ForceAndWindow", func() error {
			_, err := c.DeleteSecret(e2eCtx, &secretsmanager.DeleteSecretInput{SecretId: aws.String(name), RecoveryWindowInDays: aws.Int64(7),
				ForceDeleteWithoutRecovery: aws.Bool(true)})
			return err
		}, "InvalidParameterException"},
		{"PutOversizeValue", func() error {
			_, err := c.PutSecretValue(e2eCtx, &secretsmanager.PutSecretValueInput{SecretId: aws.String(name),
				SecretString: aws.String(strings.Repeat("x", 65537))})
			return err
		}, "ValidationException"},
		{"UpdateOversizeValueWithDescription", func() error {
			_, err := c.UpdateSecret(e2eCtx, &secretsmanager.UpdateSecretInput{SecretId: aws.String(name),
				SecretBinary: make([]byte, 65537), Description: aws.String("after")})
			return err
		}, "ValidationException"},
		{"PutBothValues", func() error {
			_, err := c.PutSecretValue(e2eCtx, &secretsmanager.PutSecretValueInput{SecretId: aws.String(name),
				SecretString: aws.String("s"), SecretBinary: []byte("b")})
			return err
		}, "InvalidParameterException"},
		{"Put21stLabel", func() error {
			_, err := c.PutSecretValue(e2eCtx, &secretsmanager.PutSecretValueInput{SecretId: aws.String(name),
				SecretString: aws.String("five"), VersionStages: []string{"L19"}})
			return err
		}, "LimitExceededException"},
		{"Put21stLabelWithAWSCURRENT", func() error {
			_, err := c.PutSecretValue(e2eCtx, &secretsmanager.PutSecretValueInput{SecretId: aws.String(name),
				SecretString: aws.String("five"), VersionStages: []string{"AWSCURRENT", "L19"}})
			return err
		}, "LimitExceededException"},
		{"Move21stLabel", func() error {
			_, err := c.UpdateSecretVersionStage(e2eCtx, &secretsmanager.UpdateSecretVersionStageInput{SecretId: aws.String(name),
				VersionStage: aws.String("L19"), MoveToVersionId: aws.String(v1)})
			return err
		}, "LimitExceededException"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := e2eTakeSnapshot(t, c, name)
			err := tc.call()
			var ae smithy.APIError
			if !errors.As(err, &ae) || ae.ErrorCode() != tc.code {
				t.Errorf("error = %v, want %s", err, tc.code)
			}
			if after := e2eTakeSnapshot(t, c, name); !e2eSnapshotsEqual(before, after) {
				t.Errorf("rejected request changed the secret:\nbefore %+v\nafter  %+v", before, after)
			}
		})
	}

	t.Run("ValuesUnchanged", func(t *testing.T) {
		for id, want := range map[string]string{v1: "one", v2: "two", v3: "three", v4: "four"} {
			got, err := c.GetSecretValue(e2eCtx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(name), VersionId: aws.String(id)})
			e2eNoErr(t, "GetSecretValue "+id, err)
			if aws.ToString(got.SecretString) != want {
				t.Errorf("version %s = %q, want %q", id, aws.ToString(got.SecretString), want)
			}
		}
	})
}
