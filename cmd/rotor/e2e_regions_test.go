package main

// Regions are namespaces: each served region holds its own secrets, and a
// region the server does not serve is refused.

import (
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
)

func TestE2ERegions(t *testing.T) {
	s := MustRunMain(t, "", func(c *Config) { c.Regions = []string{"us-east-1", "eu-west-1"} })
	east, west := s.e2eClient("us-east-1"), s.e2eClient("eu-west-1")
	const shared = "regions/shared"
	eastARN := aws.ToString(e2eCreate(t, east, shared, "east-value").ARN)
	westARN := aws.ToString(e2eCreate(t, west, shared, "west-value").ARN)
	eastOnly := aws.ToString(e2eCreate(t, east, "regions/east-only", "e").ARN)

	t.Run("SameNameTwoARNs", func(t *testing.T) {
		if !e2eARNPattern("us-east-1", s.Config.AccountID, shared).MatchString(eastARN) {
			t.Errorf("us-east-1 ARN = %s", eastARN)
		}
		if !e2eARNPattern("eu-west-1", s.Config.AccountID, shared).MatchString(westARN) {
			t.Errorf("eu-west-1 ARN = %s", westARN)
		}
		for _, tc := range []struct {
			c         *secretsmanager.Client
			id, value string
			arn       string
		}{
			{east, shared, "east-value", eastARN},
			{west, shared, "west-value", westARN},
			{east, eastARN, "east-value", eastARN},
			{west, westARN, "west-value", westARN},
		} {
			got, err := tc.c.GetSecretValue(e2eCtx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(tc.id)})
			e2eNoErr(t, "GetSecretValue "+tc.id, err)
			if aws.ToString(got.SecretString) != tc.value || aws.ToString(got.ARN) != tc.arn {
				t.Errorf("GetSecretValue %s = %s %q, want %s %q", tc.id, aws.ToString(got.ARN), aws.ToString(got.SecretString), tc.arn, tc.value)
			}
		}
	})

	t.Run("NotVisibleFromTheOtherRegion", func(t *testing.T) {
		for _, tc := range []struct {
			what string
			c    *secretsmanager.Client
			id   string
		}{
			{"east-only by name from eu-west-1", west, "regions/east-only"},
			{"east-only by ARN from eu-west-1", west, eastOnly},
			{"east-only by partial ARN from eu-west-1", west, eastOnly[:len(eastOnly)-7]},
			{"the eu-west-1 ARN from us-east-1", east, westARN},
		} {
			_, err := tc.c.GetSecretValue(e2eCtx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(tc.id)})
			e2eWantErr[*types.ResourceNotFoundException](t, "GetSecretValue "+tc.what, err, e2eMsgNotFound)
			_, err = tc.c.DescribeSecret(e2eCtx, &secretsmanager.DescribeSecretInput{SecretId: aws.String(tc.id)})
			e2eWantErr[*types.ResourceNotFoundException](t, "DescribeSecret "+tc.what, err, e2eMsgNotFound)
			_, err = tc.c.PutSecretValue(e2eCtx, &secretsmanager.PutSecretValueInput{SecretId: aws.String(tc.id), SecretString: aws.String("x")})
			e2eWantErr[*types.ResourceNotFoundException](t, "PutSecretValue "+tc.what, err, e2eMsgNotFound)
		}
		if got := e2eNames(e2eListAll(t, west, secretsmanager.ListSecretsInput{})); !slices.Equal(got, []string{shared}) {
			t.Errorf("ListSecrets in eu-west-1 = %v, want only %s", got, shared)
		}
		if got := e2eNames(e2eListAll(t, east, secretsmanager.ListSecretsInput{})); !slices.Equal(got, []string{shared, "regions/east-only"}) {
			t.Errorf("ListSecrets in us-east-1 = %v", got)
		}
		out, err := west.BatchGetSecretValue(e2eCtx, &secretsmanager.BatchGetSecretValueInput{SecretIdList: []string{"regions/east-only", shared}})
		e2eNoErr(t, "BatchGetSecretValue", err)
		if len(out.SecretValues) != 1 || aws.ToString(out.SecretValues[0].SecretString) != "west-value" || len(out.Errors) != 1 {
			t.Errorf("BatchGetSecretValue from eu-west-1 = %d values, %d errors; want the eu-west-1 secret and one not-found", len(out.SecretValues), len(out.Errors))
		}
	})

	t.Run("DeletingInOneRegionLeavesTheOther", func(t *testing.T) {
		_, err := east.DeleteSecret(e2eCtx, &secretsmanager.DeleteSecretInput{SecretId: aws.String(shared), ForceDeleteWithoutRecovery: aws.Bool(true)})
		e2eNoErr(t, "DeleteSecret in us-east-1", err)
		got, err := west.GetSecretValue(e2eCtx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(shared)})
		e2eNoErr(t, "GetSecretValue in eu-west-1", err)
		if aws.ToString(got.SecretString) != "west-value" {
			t.Errorf("eu-west-1 value = %q", aws.ToString(got.SecretString))
		}
	})

	t.Run("UnservedRegionRefused", func(t *testing.T) {
		_, err := s.e2eClient("ap-south-1").ListSecrets(e2eCtx, &secretsmanager.ListSecretsInput{})
		e2eWantCode(t, "ListSecrets signed for ap-south-1", err, "InvalidSignatureException", "")
		_, err = s.e2eClient("ap-south-1").CreateSecret(e2eCtx, &secretsmanager.CreateSecretInput{Name: aws.String("regions/nowhere"), SecretString: aws.String("x")})
		e2eWantCode(t, "CreateSecret signed for ap-south-1", err, "InvalidSignatureException", "")
		for _, c := range []*secretsmanager.Client{east, west} {
			_, err := c.DescribeSecret(e2eCtx, &secretsmanager.DescribeSecretInput{SecretId: aws.String("regions/nowhere")})
			e2eWantErr[*types.ResourceNotFoundException](t, "DescribeSecret regions/nowhere", err, e2eMsgNotFound)
		}
	})
}
