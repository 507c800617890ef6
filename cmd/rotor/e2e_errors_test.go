package main

// End-to-end tests of the error rows of aws-api.md §2.4 (GetSecretValue),
// §2.5 (ClientRequestToken idempotency), §2.6 (secrets scheduled for
// deletion), names (§2.1), values (§2.2) and the label quota (§2.3).

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	"github.com/rotorhq/rotor"
)

func TestE2EGetSecretValueErrors(t *testing.T) {
	s := MustRunMain(t, "", nil)
	c := s.e2eClient("")
	name := "geterr/app"
	created := e2eCreate(t, c, name, "one")
	v1 := aws.ToString(created.VersionId)
	e2ePut(t, c, name, "two") // v1 is now AWSPREVIOUS
	e2eCreate(t, c, "geterr/empty", "")
	e2eCreate(t, c, "geterr/deleted", "x")
	_, err := c.DeleteSecret(e2eCtx, &secretsmanager.DeleteSecretInput{SecretId: aws.String("geterr/deleted")})
	e2eNoErr(t, "DeleteSecret", err)
	unknownID := e2eToken()
	unknownARN := rotor.SecretARN("us-east-1", s.Config.AccountID, "geterr/nothing", "AbCdEf")

	get := func(id, version, stage string) error {
		in := &secretsmanager.GetSecretValueInput{SecretId: aws.String(id)}
		if version != "" {
			in.VersionId = aws.String(version)
		}
		if stage != "" {
			in.VersionStage = aws.String(stage)
		}
		_, err := c.GetSecretValue(e2eCtx, in)
		return err
	}
	t.Run("UnknownSecretByName", func(t *testing.T) {
		e2eWantErr[*types.ResourceNotFoundException](t, "GetSecretValue", get("geterr/nothing", "", ""), e2eMsgNotFound)
	})
	t.Run("UnknownSecretByARN", func(t *testing.T) {
		e2eWantErr[*types.ResourceNotFoundException](t, "GetSecretValue", get(unknownARN, "", ""), e2eMsgNotFound)
	})
	t.Run("LabelNotAttached", func(t *testing.T) {
		e2eWantErr[*types.ResourceNotFoundException](t, "GetSecretValue", get(name, "", "NOPE"), e2eMsgStageNotFound("NOPE"))
	})
	t.Run("SecretWithoutValue", func(t *testing.T) {
		e2eWantErr[*types.ResourceNotFoundException](t, "GetSecretValue", get("geterr/empty", "", ""), e2eMsgStageNotFound("AWSCURRENT"))
	})
	t.Run("UnknownVersionId", func(t *testing.T) {
		e2eWantErr[*types.ResourceNotFoundException](t, "GetSecretValue", get(name, unknownID, ""), e2eMsgVersionNotFound(unknownID))
	})
	t.Run("VersionLacksStage", func(t *testing.T) {
		e2eWantErr[*types.InvalidRequestException](t, "GetSecretValue", get(name, v1, "AWSCURRENT"), e2eMsgStageNotOnID)
	})
	t.Run("ScheduledForDeletion", func(t *testing.T) {
		e2eWantErr[*types.InvalidRequestException](t, "GetSecretValue", get("geterr/deleted", "", ""), e2eMsgMarkedDeleted)
	})
}

func TestE2EIdempotency(t *testing.T) {
	s := MustRunMain(t, "", nil)
	c := s.e2eClient("")

	t.Run("CreateRetrySameTokenSameValue", func(t *testing.T) {
		name, token := "idem/create-retry", e2eToken()
		in := &secretsmanager.CreateSecretInput{Name: aws.String(name), SecretString: aws.String("v"), ClientRequestToken: aws.String(token)}
		first, err := c.CreateSecret(e2eCtx, in)
		e2eNoErr(t, "CreateSecret", err)
		again, err := c.CreateSecret(e2eCtx, in)
		e2eNoErr(t, "CreateSecret retry", err)
		if aws.ToString(again.ARN) != aws.ToString(first.ARN) || aws.ToString(again.VersionId) != token || aws.ToString(again.Name) != name {
			t.Errorf("retry = %q %q %q, want the first response %q %q %q", aws.ToString(again.ARN), aws.ToString(again.Name),
				aws.ToString(again.VersionId), aws.ToString(first.ARN), name, token)
		}
		if vs := e2eVersions(t, c, name, true); len(vs) != 1 {
			t.Errorf("versions = %d after a retried create, want 1", len(vs))
		}
	})

	t.Run("CreateSameNameOtherToken", func(t *testing.T) {
		name := "idem/create-exists"
		e2eCreate(t, c, name, "v")
		_, err := c.CreateSecret(e2eCtx, &secretsmanager.CreateSecretInput{Name: aws.String(name), SecretString: aws.String("v"), ClientRequestToken: aws.String(e2eToken())})
		e2eWantErr[*types.ResourceExistsException](t, "CreateSecret with another token", err, e2eMsgExists(name))
		// The SDK fills in a random token when none is given.
		_, err = c.CreateSecret(e2eCtx, &secretsmanager.CreateSecretInput{Name: aws.String(name), SecretString: aws.String("v")})
		e2eWantErr[*types.ResourceExistsException](t, "CreateSecret without a token", err, e2eMsgExists(name))
	})

	t.Run("CreateSameTokenOtherValue", func(t *testing.T) {
		name, token := "idem/create-token", e2eToken()
		first, err := c.CreateSecret(e2eCtx, &secretsmanager.CreateSecretInput{Name: aws.String(name), SecretString: aws.String("v"), ClientRequestToken: aws.String(token)})
		e2eNoErr(t, "CreateSecret", err)
		_, err = c.CreateSecret(e2eCtx, &secretsmanager.CreateSecretInput{Name: aws.String(name), SecretString: aws.String("other"), ClientRequestToken: aws.String(token)})
		e2eWantErr[*types.ResourceExistsException](t, "CreateSecret", err, e2eMsgTokenInUse(token, aws.ToString(first.ARN)))
	})

	t.Run("PutRetrySameTokenSameValue", func(t *testing.T) {
		name, token := "idem/put-retry", e2eToken()
		e2eCreate(t, c, name, "one")
		in := &secretsmanager.PutSecretValueInput{SecretId: aws.String(name), SecretString: aws.String("two"), ClientRequestToken: aws.String(token)}
		first, err := c.PutSecretValue(e2eCtx, in)
		e2eNoErr(t, "PutSecretValue", err)
		before := e2eTakeSnapshot(t, c, name)
		again, err := c.PutSecretValue(e2eCtx, in)
		e2eNoErr(t, "PutSecretValue retry", err)
		if aws.ToString(again.VersionId) != token || aws.ToString(again.ARN) != aws.ToString(first.ARN) || !slices.Equal(again.VersionStages, []string{"AWSCURRENT"}) {
			t.Errorf("retry = %q %q %v, want %q %q [AWSCURRENT]", aws.ToString(again.ARN), aws.ToString(again.VersionId), again.VersionStages, aws.ToString(first.ARN), token)
		}
		if after := e2eTakeSnapshot(t, c, name); !e2eSnapshotsEqual(before, after) {
			t.Errorf("a retried put changed the secret:\nbefore %+v\nafter  %+v", before, after)
		}
	})

	t.Run("PutSameTokenOtherValue", func(t *testing.T) {
		name := "idem/put-token"
		created := e2eCreate(t, c, name, "one")
		token := aws.ToString(created.VersionId)
		_, err := c.PutSecretValue(e2eCtx, &secretsmanager.PutSecretValueInput{SecretId: aws.String(name), SecretString: aws.String("two"), ClientRequestToken: aws.String(token)})
		e2eWantErr[*types.ResourceExistsException](t, "PutSecretValue", err, e2eMsgTokenInUse(token, aws.ToString(created.ARN)))
	})

	t.Run("PutSameTokenSameBytesAsBinary", func(t *testing.T) {
		// A binary value is never equal to a string with the same bytes.
		name := "idem/put-kind"
		created := e2eCreate(t, c, name, "one")
		token := aws.ToString(created.VersionId)
		_, err := c.PutSecretValue(e2eCtx, &secretsmanager.PutSecretValueInput{SecretId: aws.String(name), SecretBinary: []byte("one"), ClientRequestToken: aws.String(token)})
		e2eWantErr[*types.ResourceExistsException](t, "PutSecretValue", err, e2eMsgTokenInUse(token, aws.ToString(created.ARN)))
	})

	t.Run("UpdateRetrySameTokenSameValue", func(t *testing.T) {
		name, token := "idem/update-retry", e2eToken()
		e2eCreate(t, c, name, "one")
		in := &secretsmanager.UpdateSecretInput{SecretId: aws.String(name), SecretString: aws.String("two"), ClientRequestToken: aws.String(token)}
		_, err := c.UpdateSecret(e2eCtx, in)
		e2eNoErr(t, "UpdateSecret", err)
		before := e2eTakeSnapshot(t, c, name)
		again, err := c.UpdateSecret(e2eCtx, in)
		e2eNoErr(t, "UpdateSecret retry", err)
		if aws.ToString(again.VersionId) != token {
			t.Errorf("retry VersionId = %q, want %q", aws.ToString(again.VersionId), token)
		}
		if after := e2eTakeSnapshot(t, c, name); !e2eSnapshotsEqual(before, after) {
			t.Errorf("a retried update changed the secret:\nbefore %+v\nafter  %+v", before, after)
		}
	})

	t.Run("UpdateSameTokenOtherValue", func(t *testing.T) {
		name := "idem/update-token"
		created := e2eCreate(t, c, name, "one")
		token := aws.ToString(created.VersionId)
		_, err := c.UpdateSecret(e2eCtx, &secretsmanager.UpdateSecretInput{SecretId: aws.String(name), SecretString: aws.String("two"), ClientRequestToken: aws.String(token)})
		e2eWantErr[*types.ResourceExistsException](t, "UpdateSecret", err, e2eMsgTokenInUse(token, aws.ToString(created.ARN)))
	})
}

// e2eSnapshotsEqual compares two snapshots field by field.
func e2eSnapshotsEqual(a, b e2eSnapshot) bool {
	return a.ARN == b.ARN && a.Name == b.Name && a.Description == b.Description && a.KmsKeyID == b.KmsKeyID &&
		a.LastChanged.Equal(b.LastChanged) && a.Deleted.Equal(b.Deleted) &&
		slices.Equal(e2eTagPairs(a.Tags), e2eTagPairs(b.Tags)) && (a.Tags == nil) == (b.Tags == nil) &&
		e2eEqualStageMaps(a.Stages, b.Stages) && len(a.Versions) == len(b.Versions) && e2eEqualVersionMaps(a.Versions, b.Versions)
}

// e2eEqualVersionMaps compares version→labels maps where nil labels
// (deprecated) must stay nil.
func e2eEqualVersionMaps(a, b map[string][]string) bool {
	for id, st := range a {
		o, ok := b[id]
		if !ok || (st == nil) != (o == nil) || !e2eEqualStages(st, o) {
			return false
		}
	}
	return len(a) == len(b)
}

func TestE2EScheduledForDeletion(t *testing.T) {
	s := MustRunMain(t, "", nil)
	c := s.e2eClient("")
	name := "scheduled/app"
	created := e2eCreate(t, c, name, "one")
	v1 := aws.ToString(created.VersionId)
	v2 := aws.ToString(e2ePut(t, c, name, "two").VersionId)
	_, err := c.TagResource(e2eCtx, &secretsmanager.TagResourceInput{SecretId: aws.String(name), Tags: []types.Tag{{Key: aws.String("k"), Value: aws.String("v")}}})
	e2eNoErr(t, "TagResource", err)
	e2eCreate(t, c, "scheduled/other", "x")
	_, err = c.DeleteSecret(e2eCtx, &secretsmanager.DeleteSecretInput{SecretId: aws.String(name), RecoveryWindowInDays: aws.Int64(7)})
	e2eNoErr(t, "DeleteSecret", err)
	before := e2eTakeSnapshot(t, c, name)

	for _, tc := range []struct {
		op   string
		call func() error
	}{
		{"GetSecretValue", func() error {
			_, err := c.GetSecretValue(e2eCtx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(name)})
			return err
		}},
		{"GetSecretValueByVersionId", func() error {
			_, err := c.GetSecretValue(e2eCtx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(name), VersionId: aws.String(v1)})
			return err
		}},
		{"PutSecretValue", func() error {
			_, err := c.PutSecretValue(e2eCtx, &secretsmanager.PutSecretValueInput{SecretId: aws.String(name), SecretString: aws.String("three")})
			return err
		}},
		{"UpdateSecretValue", func() error {
			_, err := c.UpdateSecret(e2eCtx, &secretsmanager.UpdateSecretInput{SecretId: aws.String(name), SecretString: aws.String("three")})
			return err
		}},
		{"UpdateSecretDescription", func() error {
			_, err := c.UpdateSecret(e2eCtx, &secretsmanager.UpdateSecretInput{SecretId: aws.String(name), Description: aws.String("new")})
			return err
		}},
		{"UpdateSecretVersionStage", func() error {
			_, err := c.UpdateSecretVersionStage(e2eCtx, &secretsmanager.UpdateSecretVersionStageInput{SecretId: aws.String(name),
				VersionStage: aws.String("AWSCURRENT"), MoveToVersionId: aws.String(v1), RemoveFromVersionId: aws.String(v2)})
			return err
		}},
		{"TagResource", func() error {
			_, err := c.TagResource(e2eCtx, &secretsmanager.TagResourceInput{SecretId: aws.String(name), Tags: []types.Tag{{Key: aws.String("k2"), Value: aws.String("v")}}})
			return err
		}},
		{"UntagResource", func() error {
			_, err := c.UntagResource(e2eCtx, &secretsmanager.UntagResourceInput{SecretId: aws.String(name), TagKeys: []string{"k"}})
			return err
		}},
	} {
		t.Run(tc.op, func(t *testing.T) {
			e2eWantErr[*types.InvalidRequestException](t, tc.op, tc.call(), e2eMsgMarkedDeleted)
			if after := e2eTakeSnapshot(t, c, name); !e2eSnapshotsEqual(before, after) {
				t.Errorf("refused %s changed the secret:\nbefore %+v\nafter  %+v", tc.op, before, after)
			}
		})
	}

	t.Run("DescribeSecretWorks", func(t *testing.T) {
		d := e2eDescribe(t, c, name)
		if d.DeletedDate == nil {
			t.Error("DeletedDate absent on a secret scheduled for deletion")
		}
		if want := map[string][]string{v1: {"AWSPREVIOUS"}, v2: {"AWSCURRENT"}}; !e2eEqualStageMaps(d.VersionIdsToStages, want) {
			t.Errorf("VersionIdsToStages = %v, want %v", d.VersionIdsToStages, want)
		}
	})

	t.Run("ListSecretsHidesIt", func(t *testing.T) {
		if got := e2eNames(e2eListAll(t, c, secretsmanager.ListSecretsInput{})); !slices.Equal(got, []string{"scheduled/other"}) {
			t.Errorf("ListSecrets = %v, want only scheduled/other", got)
		}
		got := e2eNames(e2eListAll(t, c, secretsmanager.ListSecretsInput{IncludePlannedDeletion: aws.Bool(true)}))
		if ok, diff := e2eSameSet(got, []string{name, "scheduled/other"}); !ok {
			t.Errorf("ListSecrets(IncludePlannedDeletion): %s", diff)
		}
	})

	t.Run("CreateSameName", func(t *testing.T) {
		_, err := c.CreateSecret(e2eCtx, &secretsmanager.CreateSecretInput{Name: aws.String(name), SecretString: aws.String("new")})
		e2eWantErr[*types.InvalidRequestException](t, "CreateSecret", err, e2eMsgScheduledName)
	})

	t.Run("RestoreClearsIt", func(t *testing.T) {
		_, err := c.RestoreSecret(e2eCtx, &secretsmanager.RestoreSecretInput{SecretId: aws.String(name)})
		e2eNoErr(t, "RestoreSecret", err)
		if d := e2eDescribe(t, c, name); d.DeletedDate != nil {
			t.Errorf("DeletedDate = %v after restore", d.DeletedDate)
		}
		got, err := c.GetSecretValue(e2eCtx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(name)})
		e2eNoErr(t, "GetSecretValue after restore", err)
		if aws.ToString(got.SecretString) != "two" || aws.ToString(got.VersionId) != v2 {
			t.Errorf("AWSCURRENT after restore = %s %q, want %s \"two\"", aws.ToString(got.VersionId), aws.ToString(got.SecretString), v2)
		}
		_, err = c.TagResource(e2eCtx, &secretsmanager.TagResourceInput{SecretId: aws.String(name), Tags: []types.Tag{{Key: aws.String("k2"), Value: aws.String("v")}}})
		e2eNoErr(t, "TagResource after restore", err)
	})
}

func TestE2EInvalidNames(t *testing.T) {
	s := MustRunMain(t, "", nil)
	c := s.e2eClient("")
	for _, name := range []string{"has space", "star*", "what?", "bracket]", `back\slash`, "comma,", "colon:x", "caf\u00e9", "tab\tname"} {
		t.Run(name, func(t *testing.T) {
			_, err := c.CreateSecret(e2eCtx, &secretsmanager.CreateSecretInput{Name: aws.String(name), SecretString: aws.String("v")})
			e2eWantCode(t, "CreateSecret", err, "ValidationException", rotor.InvalidNameMessage)
		})
	}
	t.Run("TooLong", func(t *testing.T) {
		_, err := c.CreateSecret(e2eCtx, &secretsmanager.CreateSecretInput{Name: aws.String(strings.Repeat("a", 513)), SecretString: aws.String("v")})
		e2eWantCode(t, "CreateSecret", err, "ValidationException", "")
	})
	t.Run("Empty", func(t *testing.T) {
		_, err := c.CreateSecret(e2eCtx, &secretsmanager.CreateSecretInput{Name: aws.String(""), SecretString: aws.String("v")})
		e2eWantCode(t, "CreateSecret", err, "ValidationException", "")
	})
	t.Run("ValidCharacters", func(t *testing.T) {
		for _, name := range []string{"a/b_c+d=e.f@g-h", strings.Repeat("n", 512), "UPPER/lower/123"} {
			e2eCreate(t, c, name, "v")
		}
	})
	t.Run("NothingCreated", func(t *testing.T) {
		if got := e2eListNames(t, c); len(got) != 3 {
			t.Errorf("ListSecrets = %v, want only the three valid names", got)
		}
	})
}

func TestE2EValues(t *testing.T) {
	s := MustRunMain(t, "", nil)
	c := s.e2eClient("")
	const limit = 65536
	big := strings.Repeat("a", limit)
	tooBig := big + "a"

	t.Run("StringAtLimitAccepted", func(t *testing.T) {
		name := "values/string-limit"
		e2eCreate(t, c, name, big)
		e2ePut(t, c, name, strings.Repeat("b", limit))
		got, err := c.GetSecretValue(e2eCtx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(name)})
		e2eNoErr(t, "GetSecretValue", err)
		if aws.ToString(got.SecretString) != strings.Repeat("b", limit) {
			t.Errorf("read back %d bytes, want the %d written", len(aws.ToString(got.SecretString)), limit)
		}
	})

	t.Run("BinaryAtLimitAccepted", func(t *testing.T) {
		name := "values/binary-limit"
		value := make([]byte, limit)
		for i := range value {
			value[i] = byte(i * 7)
		}
		_, err := c.CreateSecret(e2eCtx, &secretsmanager.CreateSecretInput{Name: aws.String(name), SecretBinary: value})
		e2eNoErr(t, "CreateSecret", err)
		got, err := c.GetSecretValue(e2eCtx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(name)})
		e2eNoErr(t, "GetSecretValue", err)
		if string(got.SecretBinary) != string(value) {
			t.Errorf("read back %d bytes that differ from the %d written", len(got.SecretBinary), limit)
		}
	})

	t.Run("OverLimitRejected", func(t *testing.T) {
		e2eCreate(t, c, "values/target", "v")
		for _, tc := range []struct {
			what string
			call func() error
		}{
			{"CreateSecret string", func() error {
				_, err := c.CreateSecret(e2eCtx, &secretsmanager.CreateSecretInput{Name: aws.String("values/too-big"), SecretString: aws.String(tooBig)})
				return err
			}},
			{"CreateSecret binary", func() error {
				_, err := c.CreateSecret(e2eCtx, &secretsmanager.CreateSecretInput{Name: aws.String("values/too-big-bin"), SecretBinary: []byte(tooBig)})
				return err
			}},
			{"PutSecretValue string", func() error {
				_, err := c.PutSecretValue(e2eCtx, &secretsmanager.PutSecretValueInput{SecretId: aws.String("values/target"), SecretString: aws.String(tooBig)})
				return err
			}},
			{"PutSecretValue binary", func() error {
				_, err := c.PutSecretValue(e2eCtx, &secretsmanager.PutSecretValueInput{SecretId: aws.String("values/target"), SecretBinary: []byte(tooBig)})
				return err
			}},
			{"UpdateSecret string", func() error {
				_, err := c.UpdateSecret(e2eCtx, &secretsmanager.UpdateSecretInput{SecretId: aws.String("values/target"), SecretString: aws.String(tooBig)})
				return err
			}},
		} {
			e2eWantCode(t, tc.what+" of 65,537 bytes", tc.call(), "ValidationException", "")
		}
		for _, n := range []string{"values/too-big", "values/too-big-bin"} {
			_, err := c.DescribeSecret(e2eCtx, &secretsmanager.DescribeSecretInput{SecretId: aws.String(n)})
			e2eWantErr[*types.ResourceNotFoundException](t, n+" after a refused create", err, e2eMsgNotFound)
		}
		if vs := e2eVersions(t, c, "values/target", true); len(vs) != 1 {
			t.Errorf("values/target has %d versions after refused writes, want 1", len(vs))
		}
	})

	t.Run("StringAndBinary", func(t *testing.T) {
		e2eCreate(t, c, "values/both-target", "v")
		for _, tc := range []struct {
			what string
			call func() error
		}{
			{"CreateSecret", func() error {
				_, err := c.CreateSecret(e2eCtx, &secretsmanager.CreateSecretInput{Name: aws.String("values/both"), SecretString: aws.String("s"), SecretBinary: []byte("b")})
				return err
			}},
			{"PutSecretValue", func() error {
				_, err := c.PutSecretValue(e2eCtx, &secretsmanager.PutSecretValueInput{SecretId: aws.String("values/both-target"), SecretString: aws.String("s"), SecretBinary: []byte("b")})
				return err
			}},
			{"UpdateSecret", func() error {
				_, err := c.UpdateSecret(e2eCtx, &secretsmanager.UpdateSecretInput{SecretId: aws.String("values/both-target"), SecretString: aws.String("s"), SecretBinary: []byte("b")})
				return err
			}},
		} {
			e2eWantErr[*types.InvalidParameterException](t, tc.what+" with both values", tc.call(), "")
		}
		_, err := c.DescribeSecret(e2eCtx, &secretsmanager.DescribeSecretInput{SecretId: aws.String("values/both")})
		e2eWantErr[*types.ResourceNotFoundException](t, "values/both after a refused create", err, e2eMsgNotFound)
		if vs := e2eVersions(t, c, "values/both-target", true); len(vs) != 1 {
			t.Errorf("values/both-target has %d versions after refused writes, want 1", len(vs))
		}
	})
}

func TestE2ELabelLimit(t *testing.T) {
	s := MustRunMain(t, "", nil)
	c := s.e2eClient("")
	name := "labels/app"
	v1 := aws.ToString(e2eCreate(t, c, name, "one").VersionId)
	var labels []string
	for i := 1; i <= 19; i++ {
		labels = append(labels, fmt.Sprintf("L%02d", i))
	}
	// AWSCURRENT + 19 = 20 labels on the secret: allowed.
	v2 := aws.ToString(e2ePut(t, c, name, "two", labels...).VersionId)
	before := e2eTakeSnapshot(t, c, name)

	t.Run("PutSecretValue21st", func(t *testing.T) {
		_, err := c.PutSecretValue(e2eCtx, &secretsmanager.PutSecretValueInput{SecretId: aws.String(name), SecretString: aws.String("three"), VersionStages: []string{"L20"}})
		e2eWantErr[*types.LimitExceededException](t, "PutSecretValue", err, "")
	})
	t.Run("UpdateSecretVersionStage21st", func(t *testing.T) {
		_, err := c.UpdateSecretVersionStage(e2eCtx, &secretsmanager.UpdateSecretVersionStageInput{SecretId: aws.String(name),
			VersionStage: aws.String("L20"), MoveToVersionId: aws.String(v1)})
		e2eWantErr[*types.LimitExceededException](t, "UpdateSecretVersionStage", err, "")
	})
	t.Run("NothingChanged", func(t *testing.T) {
		if after := e2eTakeSnapshot(t, c, name); !e2eSnapshotsEqual(before, after) {
			t.Errorf("refused label changes changed the secret:\nbefore %+v\nafter  %+v", before, after)
		}
	})
	t.Run("MovingAnExistingLabelIsAllowed", func(t *testing.T) {
		_, err := c.UpdateSecretVersionStage(e2eCtx, &secretsmanager.UpdateSecretVersionStageInput{SecretId: aws.String(name),
			VersionStage: aws.String("L01"), MoveToVersionId: aws.String(v1), RemoveFromVersionId: aws.String(v2)})
		e2eNoErr(t, "move L01", err)
		if st := e2eDescribe(t, c, name).VersionIdsToStages[v1]; !e2eEqualStages(st, []string{"AWSCURRENT", "L01"}) {
			t.Errorf("%s stages = %v, want [AWSCURRENT L01]", v1, st)
		}
	})
}

func TestE2ERecreateAfterForceDelete(t *testing.T) {
	s := MustRunMain(t, "", nil)
	c := s.e2eClient("")
	name := "recreate/app"
	first := aws.ToString(e2eCreate(t, c, name, "old").ARN)
	_, err := c.DeleteSecret(e2eCtx, &secretsmanager.DeleteSecretInput{SecretId: aws.String(name), ForceDeleteWithoutRecovery: aws.Bool(true)})
	e2eNoErr(t, "DeleteSecret", err)
	second := aws.ToString(e2eCreate(t, c, name, "new").ARN)
	if first == second {
		t.Fatalf("re-created secret has the old ARN %s, want a new random suffix", first)
	}
	if !e2eARNPattern("us-east-1", s.Config.AccountID, name).MatchString(second) {
		t.Errorf("ARN = %s", second)
	}
	got, err := c.GetSecretValue(e2eCtx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(name)})
	e2eNoErr(t, "GetSecretValue", err)
	if aws.ToString(got.SecretString) != "new" || aws.ToString(got.ARN) != second {
		t.Errorf("by name: %s %q, want %s \"new\"", aws.ToString(got.ARN), aws.ToString(got.SecretString), second)
	}
	_, err = c.GetSecretValue(e2eCtx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(first)})
	e2eWantErr[*types.ResourceNotFoundException](t, "GetSecretValue by the old ARN", err, e2eMsgNotFound)
}
