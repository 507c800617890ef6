package main

// End-to-end tests of reserved tag keys (issue 8 §3): a key starting with
// "aws:", in any case, is refused on CreateSecret, TagResource and
// UntagResource, and nothing is stored.

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
)

const e2eMsgReservedTagKey = "The aws: prefix is reserved for AWS use. You can't add, edit or delete tags whose key starts with it."

func TestE2EReservedTagKeys(t *testing.T) {
	s := MustRunMain(t, "", nil)
	c := s.e2eClient("")
	tag := func(k string) types.Tag { return types.Tag{Key: aws.String(k), Value: aws.String("v")} }
	e2eCreate(t, c, "tags/existing", "v")
	_, err := c.TagResource(e2eCtx, &secretsmanager.TagResourceInput{SecretId: aws.String("tags/existing"), Tags: []types.Tag{tag("team")}})
	e2eNoErr(t, "TagResource team", err)
	before := e2eTakeSnapshot(t, c, "tags/existing")

	for _, key := range []string{"aws:createdBy", "AWS:Env", "Aws:x", "aWs:", "aws:secretsmanager:owningService"} {
		t.Run(key, func(t *testing.T) {
			_, err := c.CreateSecret(e2eCtx, &secretsmanager.CreateSecretInput{Name: aws.String("tags/new"), SecretString: aws.String("v"),
				Tags: []types.Tag{tag("ok"), tag(key)}})
			e2eWantErr[*types.InvalidParameterException](t, "CreateSecret", err, e2eMsgReservedTagKey)
			_, err = c.TagResource(e2eCtx, &secretsmanager.TagResourceInput{SecretId: aws.String("tags/existing"), Tags: []types.Tag{tag("ok"), tag(key)}})
			e2eWantErr[*types.InvalidParameterException](t, "TagResource", err, e2eMsgReservedTagKey)
			_, err = c.UntagResource(e2eCtx, &secretsmanager.UntagResourceInput{SecretId: aws.String("tags/existing"), TagKeys: []string{"team", key}})
			e2eWantErr[*types.InvalidParameterException](t, "UntagResource", err, e2eMsgReservedTagKey)
		})
	}
	if got := e2eTakeSnapshot(t, c, "tags/existing"); !equalSnapshots(got, before) {
		t.Errorf("tags/existing changed:\n got %+v\nwant %+v", got, before)
	}
	if names := e2eListNames(t, c); len(names) != 1 {
		t.Errorf("ListSecrets = %v, want only tags/existing", names)
	}

	// Keys that merely contain "aws" are the user's.
	for _, key := range []string{"aws", "awsx:y", "my-aws:z", "aws-env", " aws:lead"} {
		_, err := c.TagResource(e2eCtx, &secretsmanager.TagResourceInput{SecretId: aws.String("tags/existing"), Tags: []types.Tag{tag(key)}})
		e2eNoErr(t, "TagResource "+key, err)
	}
	if got := len(e2eDescribe(t, c, "tags/existing").Tags); got != 6 {
		t.Errorf("tags/existing has %d tags, want 6", got)
	}
}
