package main

// End-to-end tests of every implemented Secrets Manager operation through
// the real aws-sdk-go-v2 client (aws-api.md §2, §3).

import (
	"bytes"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	"github.com/rotorhq/rotor"
)

// e2eARNPattern matches the ARN of secret name in region for account.
func e2eARNPattern(region, account, name string) *regexp.Regexp {
	return regexp.MustCompile(`^arn:aws:secretsmanager:` + regexp.QuoteMeta(region) + `:` + account +
		`:secret:` + regexp.QuoteMeta(name) + `-[A-Za-z0-9]{6}$`)
}

// e2eWithin reports whether got lies in [lo-slack, hi+slack]. The slack
// covers the wire's millisecond truncation, not performance.
func e2eWithin(got, lo, hi time.Time) bool {
	const slack = time.Second
	return !got.Before(lo.Add(-slack)) && !got.After(hi.Add(slack))
}

func TestE2ECreateSecret(t *testing.T) {
	s := MustRunMain(t, "", nil)
	c := s.e2eClient("")

	t.Run("String", func(t *testing.T) {
		name, token := "create/string", e2eToken()
		out, err := c.CreateSecret(e2eCtx, &secretsmanager.CreateSecretInput{
			Name: aws.String(name), SecretString: aws.String(`{"user":"app","password":"p<a>ss"}`), ClientRequestToken: aws.String(token),
		})
		e2eNoErr(t, "CreateSecret", err)
		if !e2eARNPattern("us-east-1", s.Config.AccountID, name).MatchString(aws.ToString(out.ARN)) {
			t.Errorf("ARN = %q, want arn:aws:secretsmanager:us-east-1:%s:secret:%s-XXXXXX", aws.ToString(out.ARN), s.Config.AccountID, name)
		}
		if aws.ToString(out.Name) != name || aws.ToString(out.VersionId) != token {
			t.Errorf("Name, VersionId = %q, %q; want %q, %q", aws.ToString(out.Name), aws.ToString(out.VersionId), name, token)
		}
		got, err := c.GetSecretValue(e2eCtx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(name)})
		e2eNoErr(t, "GetSecretValue", err)
		if aws.ToString(got.SecretString) != `{"user":"app","password":"p<a>ss"}` || got.SecretBinary != nil {
			t.Errorf("value = %q / %v, want the string as created and no binary", aws.ToString(got.SecretString), got.SecretBinary)
		}
		if aws.ToString(got.VersionId) != token || !slices.Equal(got.VersionStages, []string{"AWSCURRENT"}) {
			t.Errorf("VersionId, VersionStages = %q, %v; want %q, [AWSCURRENT]", aws.ToString(got.VersionId), got.VersionStages, token)
		}
		if aws.ToString(got.ARN) != aws.ToString(out.ARN) || got.CreatedDate == nil {
			t.Errorf("ARN = %q, CreatedDate = %v; want %q and a date", aws.ToString(got.ARN), got.CreatedDate, aws.ToString(out.ARN))
		}
	})

	t.Run("Binary", func(t *testing.T) {
		name := "create/binary"
		value := []byte{0x00, 0x01, 0xff, 0xfe, 'a', 0x80, '\n'}
		_, err := c.CreateSecret(e2eCtx, &secretsmanager.CreateSecretInput{Name: aws.String(name), SecretBinary: value})
		e2eNoErr(t, "CreateSecret", err)
		got, err := c.GetSecretValue(e2eCtx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(name)})
		e2eNoErr(t, "GetSecretValue", err)
		if !bytes.Equal(got.SecretBinary, value) || got.SecretString != nil {
			t.Errorf("SecretBinary = %v, SecretString = %v; want %v and no string", got.SecretBinary, got.SecretString, value)
		}
	})

	t.Run("NoValue", func(t *testing.T) {
		name := "create/novalue"
		out := e2eCreate(t, c, name, "")
		if out.VersionId != nil {
			t.Errorf("VersionId = %q, want none for a secret created without a value", aws.ToString(out.VersionId))
		}
		d := e2eDescribe(t, c, name)
		if len(d.VersionIdsToStages) != 0 {
			t.Errorf("VersionIdsToStages = %v, want none", d.VersionIdsToStages)
		}
		_, err := c.GetSecretValue(e2eCtx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(name)})
		e2eWantErr[*types.ResourceNotFoundException](t, "GetSecretValue", err, e2eMsgStageNotFound("AWSCURRENT"))
		if vs := e2eVersions(t, c, name, true); len(vs) != 0 {
			t.Errorf("ListSecretVersionIds = %d versions, want 0", len(vs))
		}
	})

	t.Run("TagsDescriptionKmsKeyId", func(t *testing.T) {
		name := "create/meta"
		tags := []types.Tag{{Key: aws.String("zeta"), Value: aws.String("1")}, {Key: aws.String("alpha"), Value: aws.String("")},
			{Key: aws.String("Mid"), Value: aws.String("x y")}}
		_, err := c.CreateSecret(e2eCtx, &secretsmanager.CreateSecretInput{
			Name: aws.String(name), SecretString: aws.String("v"), Description: aws.String("the app's database"),
			KmsKeyId: aws.String("alias/app-key"), Tags: tags,
		})
		e2eNoErr(t, "CreateSecret", err)
		d := e2eDescribe(t, c, name)
		if aws.ToString(d.Description) != "the app's database" {
			t.Errorf("Description = %q", aws.ToString(d.Description))
		}
		if aws.ToString(d.KmsKeyId) != "alias/app-key" {
			t.Errorf("KmsKeyId = %q, want the given key echoed", aws.ToString(d.KmsKeyId))
		}
		if got, want := e2eTagPairs(d.Tags), e2eTagPairs(tags); !slices.Equal(got, want) {
			t.Errorf("Tags = %v, want %v in the order they were added", got, want)
		}
	})

	t.Run("DefaultKeyOmitted", func(t *testing.T) {
		name := "create/defaultkey"
		e2eCreate(t, c, name, "v")
		if d := e2eDescribe(t, c, name); d.KmsKeyId != nil || d.Description != nil || d.Tags != nil {
			t.Errorf("KmsKeyId, Description, Tags = %v, %v, %v; want all absent", d.KmsKeyId, d.Description, d.Tags)
		}
	})
}

// e2eTagPairs renders tags as key=value strings, in order.
func e2eTagPairs(tags []types.Tag) []string {
	out := make([]string, 0, len(tags))
	for _, tg := range tags {
		out = append(out, aws.ToString(tg.Key)+"="+aws.ToString(tg.Value))
	}
	return out
}

func TestE2EGetSecretValue(t *testing.T) {
	s := MustRunMain(t, "", nil)
	c := s.e2eClient("")
	name := "get/app"
	created := e2eCreate(t, c, name, "one")
	v1 := aws.ToString(created.VersionId)
	v2 := aws.ToString(e2ePut(t, c, name, "two").VersionId)
	arn := aws.ToString(created.ARN)
	partial := arn[:len(arn)-rotor.ARNSuffixLength-1]

	for _, tc := range []struct {
		name       string
		in         secretsmanager.GetSecretValueInput
		wantID     string
		wantValue  string
		wantStages []string
	}{
		{"ByName", secretsmanager.GetSecretValueInput{SecretId: aws.String(name)}, v2, "two", []string{"AWSCURRENT"}},
		{"ByFullARN", secretsmanager.GetSecretValueInput{SecretId: aws.String(arn)}, v2, "two", []string{"AWSCURRENT"}},
		{"ByPartialARN", secretsmanager.GetSecretValueInput{SecretId: aws.String(partial)}, v2, "two", []string{"AWSCURRENT"}},
		{"ByVersionId", secretsmanager.GetSecretValueInput{SecretId: aws.String(name), VersionId: aws.String(v1)}, v1, "one", []string{"AWSPREVIOUS"}},
		{"ByVersionStage", secretsmanager.GetSecretValueInput{SecretId: aws.String(name), VersionStage: aws.String("AWSPREVIOUS")}, v1, "one", []string{"AWSPREVIOUS"}},
		{"ByVersionIdAndStage", secretsmanager.GetSecretValueInput{SecretId: aws.String(arn), VersionId: aws.String(v2), VersionStage: aws.String("AWSCURRENT")}, v2, "two", []string{"AWSCURRENT"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := tc.in
			got, err := c.GetSecretValue(e2eCtx, &in)
			e2eNoErr(t, "GetSecretValue", err)
			if aws.ToString(got.ARN) != arn || aws.ToString(got.Name) != name {
				t.Errorf("ARN, Name = %q, %q; want %q, %q", aws.ToString(got.ARN), aws.ToString(got.Name), arn, name)
			}
			if aws.ToString(got.VersionId) != tc.wantID || aws.ToString(got.SecretString) != tc.wantValue {
				t.Errorf("VersionId, SecretString = %q, %q; want %q, %q", aws.ToString(got.VersionId), aws.ToString(got.SecretString), tc.wantID, tc.wantValue)
			}
			if !slices.Equal(got.VersionStages, tc.wantStages) {
				t.Errorf("VersionStages = %v, want %v", got.VersionStages, tc.wantStages)
			}
			if got.CreatedDate == nil {
				t.Error("CreatedDate missing")
			}
		})
	}
}

func TestE2EBatchGetSecretValue(t *testing.T) {
	s := MustRunMain(t, "", nil)
	c := s.e2eClient("")
	values := map[string]string{"batch/a": "va", "batch/b": "vb", "batch/c": "vc"}
	arns := map[string]string{}
	for _, n := range []string{"batch/a", "batch/b", "batch/c"} {
		arns[n] = aws.ToString(e2eCreate(t, c, n, values[n]).ARN)
	}
	e2eCreate(t, c, "other/x", "vx")

	checkValues := func(t *testing.T, got []types.SecretValueEntry, want []string) {
		t.Helper()
		var names []string
		for _, v := range got {
			n := aws.ToString(v.Name)
			names = append(names, n)
			if aws.ToString(v.SecretString) != values[n] || aws.ToString(v.ARN) != arns[n] {
				t.Errorf("%s: SecretString, ARN = %q, %q; want %q, %q", n, aws.ToString(v.SecretString), aws.ToString(v.ARN), values[n], arns[n])
			}
			if !slices.Equal(v.VersionStages, []string{"AWSCURRENT"}) || v.VersionId == nil || v.CreatedDate == nil {
				t.Errorf("%s: VersionStages %v, VersionId %v, CreatedDate %v; want [AWSCURRENT], an id and a date", n, v.VersionStages, v.VersionId, v.CreatedDate)
			}
		}
		if ok, diff := e2eSameSet(names, want); !ok {
			t.Errorf("SecretValues: %s", diff)
		}
	}

	t.Run("IdListWithMissing", func(t *testing.T) {
		out, err := c.BatchGetSecretValue(e2eCtx, &secretsmanager.BatchGetSecretValueInput{
			SecretIdList: []string{"batch/a", arns["batch/b"], "batch/missing"},
		})
		e2eNoErr(t, "BatchGetSecretValue", err)
		checkValues(t, out.SecretValues, []string{"batch/a", "batch/b"})
		if len(out.Errors) != 1 {
			t.Fatalf("Errors = %+v, want one entry for batch/missing", out.Errors)
		}
		e := out.Errors[0]
		if aws.ToString(e.SecretId) != "batch/missing" || aws.ToString(e.ErrorCode) != "ResourceNotFoundException" || aws.ToString(e.Message) != e2eMsgNotFound {
			t.Errorf("Errors[0] = {%q, %q, %q}; want {batch/missing, ResourceNotFoundException, %q}",
				aws.ToString(e.SecretId), aws.ToString(e.ErrorCode), aws.ToString(e.Message), e2eMsgNotFound)
		}
	})

	t.Run("Filters", func(t *testing.T) {
		out, err := c.BatchGetSecretValue(e2eCtx, &secretsmanager.BatchGetSecretValueInput{
			Filters: []types.Filter{e2eFilter(types.FilterNameStringTypeName, "batch/")},
		})
		e2eNoErr(t, "BatchGetSecretValue", err)
		checkValues(t, out.SecretValues, []string{"batch/a", "batch/b", "batch/c"})
		if len(out.Errors) != 0 || out.NextToken != nil {
			t.Errorf("Errors = %v, NextToken = %v; want none", out.Errors, out.NextToken)
		}
	})

	t.Run("FiltersPaginated", func(t *testing.T) {
		var all []types.SecretValueEntry
		in := &secretsmanager.BatchGetSecretValueInput{
			Filters: []types.Filter{e2eFilter(types.FilterNameStringTypeName, "batch/")}, MaxResults: aws.Int32(2),
		}
		for page := 0; ; page++ {
			if page > 10 {
				t.Fatal("more than 10 pages for 3 secrets")
			}
			out, err := c.BatchGetSecretValue(e2eCtx, in)
			e2eNoErr(t, "BatchGetSecretValue", err)
			if len(out.SecretValues) > 2 {
				t.Errorf("page %d has %d values, MaxResults is 2", page, len(out.SecretValues))
			}
			all = append(all, out.SecretValues...)
			if out.NextToken == nil {
				break
			}
			in.NextToken = out.NextToken
		}
		checkValues(t, all, []string{"batch/a", "batch/b", "batch/c"})
	})

	t.Run("MaxResultsWithoutFilters", func(t *testing.T) {
		_, err := c.BatchGetSecretValue(e2eCtx, &secretsmanager.BatchGetSecretValueInput{
			SecretIdList: []string{"batch/a"}, MaxResults: aws.Int32(5),
		})
		e2eWantErr[*types.InvalidParameterException](t, "BatchGetSecretValue", err, e2eMsgBatchMaxNoFilt)
	})

	t.Run("IdListAndFilters", func(t *testing.T) {
		_, err := c.BatchGetSecretValue(e2eCtx, &secretsmanager.BatchGetSecretValueInput{
			SecretIdList: []string{"batch/a"}, Filters: []types.Filter{e2eFilter(types.FilterNameStringTypeName, "batch/")},
		})
		e2eWantErr[*types.InvalidParameterException](t, "BatchGetSecretValue", err, e2eMsgBatchBoth)
	})
}

func TestE2EPutSecretValue(t *testing.T) {
	s := MustRunMain(t, "", nil)
	c := s.e2eClient("")

	t.Run("DefaultStageIsAWSCURRENT", func(t *testing.T) {
		name := "put/default"
		v1 := aws.ToString(e2eCreate(t, c, name, "one").VersionId)
		token := e2eToken()
		out, err := c.PutSecretValue(e2eCtx, &secretsmanager.PutSecretValueInput{
			SecretId: aws.String(name), SecretString: aws.String("two"), ClientRequestToken: aws.String(token),
		})
		e2eNoErr(t, "PutSecretValue", err)
		if aws.ToString(out.VersionId) != token || aws.ToString(out.Name) != name || out.ARN == nil {
			t.Errorf("VersionId, Name, ARN = %v, %v, %v; want %s, %s and the ARN", aws.ToString(out.VersionId), aws.ToString(out.Name), out.ARN, token, name)
		}
		if !slices.Equal(out.VersionStages, []string{"AWSCURRENT"}) {
			t.Errorf("VersionStages = %v, want [AWSCURRENT]", out.VersionStages)
		}
		want := map[string][]string{token: {"AWSCURRENT"}, v1: {"AWSPREVIOUS"}}
		if got := e2eDescribe(t, c, name).VersionIdsToStages; !e2eEqualStageMaps(got, want) {
			t.Errorf("VersionIdsToStages = %v, want %v", got, want)
		}
	})

	t.Run("CustomStagesLeaveAWSCURRENT", func(t *testing.T) {
		name := "put/custom"
		v1 := aws.ToString(e2eCreate(t, c, name, "one").VersionId)
		out := e2ePut(t, c, name, "two", "SAMPLESTAGE1", "SAMPLESTAGE0")
		if !slices.Equal(out.VersionStages, []string{"SAMPLESTAGE0", "SAMPLESTAGE1"}) {
			t.Errorf("VersionStages = %v, want [SAMPLESTAGE0 SAMPLESTAGE1] (sorted, as AWS answers)", out.VersionStages)
		}
		got, err := c.GetSecretValue(e2eCtx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(name)})
		e2eNoErr(t, "GetSecretValue", err)
		if aws.ToString(got.VersionId) != v1 || aws.ToString(got.SecretString) != "one" {
			t.Errorf("AWSCURRENT = %s %q, want the first version %s \"one\"", aws.ToString(got.VersionId), aws.ToString(got.SecretString), v1)
		}
		want := map[string][]string{v1: {"AWSCURRENT"}, aws.ToString(out.VersionId): {"SAMPLESTAGE0", "SAMPLESTAGE1"}}
		if got := e2eDescribe(t, c, name).VersionIdsToStages; !e2eEqualStageMaps(got, want) {
			t.Errorf("VersionIdsToStages = %v, want %v", got, want)
		}
	})

	t.Run("FirstVersionGetsAWSCURRENT", func(t *testing.T) {
		name := "put/first"
		e2eCreate(t, c, name, "")
		out := e2ePut(t, c, name, "first", "CUSTOM")
		if !slices.Equal(out.VersionStages, []string{"AWSCURRENT", "CUSTOM"}) {
			t.Errorf("VersionStages = %v, want [AWSCURRENT CUSTOM]", out.VersionStages)
		}
		got, err := c.GetSecretValue(e2eCtx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(name)})
		e2eNoErr(t, "GetSecretValue", err)
		if aws.ToString(got.SecretString) != "first" {
			t.Errorf("AWSCURRENT value = %q, want \"first\"", aws.ToString(got.SecretString))
		}
	})

	t.Run("CustomStageMoves", func(t *testing.T) {
		name := "put/moves"
		v1 := aws.ToString(e2eCreate(t, c, name, "one").VersionId)
		v2 := aws.ToString(e2ePut(t, c, name, "two", "BLUE").VersionId)
		v3 := aws.ToString(e2ePut(t, c, name, "three", "BLUE").VersionId)
		want := map[string][]string{v1: {"AWSCURRENT"}, v3: {"BLUE"}}
		if got := e2eDescribe(t, c, name).VersionIdsToStages; !e2eEqualStageMaps(got, want) {
			t.Errorf("VersionIdsToStages = %v, want %v (%s deprecated)", got, want, v2)
		}
	})

	t.Run("Binary", func(t *testing.T) {
		name := "put/binary"
		e2eCreate(t, c, name, "one")
		value := []byte{0xde, 0xad, 0x00, 0xbe, 0xef}
		_, err := c.PutSecretValue(e2eCtx, &secretsmanager.PutSecretValueInput{SecretId: aws.String(name), SecretBinary: value})
		e2eNoErr(t, "PutSecretValue", err)
		got, err := c.GetSecretValue(e2eCtx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(name)})
		e2eNoErr(t, "GetSecretValue", err)
		if !bytes.Equal(got.SecretBinary, value) || got.SecretString != nil {
			t.Errorf("SecretBinary, SecretString = %v, %v; want %v, none", got.SecretBinary, got.SecretString, value)
		}
	})

	t.Run("NoValue", func(t *testing.T) {
		name := "put/novalue"
		e2eCreate(t, c, name, "one")
		_, err := c.PutSecretValue(e2eCtx, &secretsmanager.PutSecretValueInput{SecretId: aws.String(name)})
		e2eWantErr[*types.InvalidRequestException](t, "PutSecretValue", err, "You must provide either SecretString or SecretBinary.")
	})

	t.Run("UnknownSecret", func(t *testing.T) {
		_, err := c.PutSecretValue(e2eCtx, &secretsmanager.PutSecretValueInput{SecretId: aws.String("put/unknown"), SecretString: aws.String("x")})
		e2eWantErr[*types.ResourceNotFoundException](t, "PutSecretValue", err, e2eMsgNotFound)
	})
}

// e2eEqualStageMaps compares version→labels maps, ignoring label order.
func e2eEqualStageMaps(got, want map[string][]string) bool {
	if len(got) != len(want) {
		return false
	}
	for id, st := range want {
		g, ok := got[id]
		if !ok || !e2eEqualStages(g, st) {
			return false
		}
	}
	return true
}

func TestE2EUpdateSecret(t *testing.T) {
	s := MustRunMain(t, "", nil)
	c := s.e2eClient("")

	t.Run("MetadataOnly", func(t *testing.T) {
		name := "update/meta"
		v1 := aws.ToString(e2eCreate(t, c, name, "one").VersionId)
		out, err := c.UpdateSecret(e2eCtx, &secretsmanager.UpdateSecretInput{SecretId: aws.String(name), Description: aws.String("new text")})
		e2eNoErr(t, "UpdateSecret", err)
		if out.VersionId != nil {
			t.Errorf("VersionId = %q, want none for a metadata-only update", aws.ToString(out.VersionId))
		}
		if aws.ToString(out.Name) != name || out.ARN == nil {
			t.Errorf("Name, ARN = %q, %v", aws.ToString(out.Name), out.ARN)
		}
		d := e2eDescribe(t, c, name)
		if aws.ToString(d.Description) != "new text" {
			t.Errorf("Description = %q, want \"new text\"", aws.ToString(d.Description))
		}
		if want := map[string][]string{v1: {"AWSCURRENT"}}; !e2eEqualStageMaps(d.VersionIdsToStages, want) {
			t.Errorf("VersionIdsToStages = %v, want %v", d.VersionIdsToStages, want)
		}
	})

	t.Run("WithValue", func(t *testing.T) {
		name := "update/value"
		v1 := aws.ToString(e2eCreate(t, c, name, "one").VersionId)
		v2 := e2eToken()
		out, err := c.UpdateSecret(e2eCtx, &secretsmanager.UpdateSecretInput{
			SecretId: aws.String(name), SecretString: aws.String("two"), ClientRequestToken: aws.String(v2),
		})
		e2eNoErr(t, "UpdateSecret", err)
		if aws.ToString(out.VersionId) != v2 {
			t.Errorf("VersionId = %q, want %q", aws.ToString(out.VersionId), v2)
		}
		if want := map[string][]string{v2: {"AWSCURRENT"}, v1: {"AWSPREVIOUS"}}; !e2eEqualStageMaps(e2eDescribe(t, c, name).VersionIdsToStages, want) {
			t.Errorf("after the first update VersionIdsToStages = %v, want %v", e2eDescribe(t, c, name).VersionIdsToStages, want)
		}
		v3 := e2eToken()
		_, err = c.UpdateSecret(e2eCtx, &secretsmanager.UpdateSecretInput{
			SecretId: aws.String(name), SecretString: aws.String("three"), ClientRequestToken: aws.String(v3),
		})
		e2eNoErr(t, "UpdateSecret", err)
		if want := map[string][]string{v3: {"AWSCURRENT"}, v2: {"AWSPREVIOUS"}}; !e2eEqualStageMaps(e2eDescribe(t, c, name).VersionIdsToStages, want) {
			t.Errorf("after the second update VersionIdsToStages = %v, want %v", e2eDescribe(t, c, name).VersionIdsToStages, want)
		}
		got, err := c.GetSecretValue(e2eCtx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(name)})
		e2eNoErr(t, "GetSecretValue", err)
		if aws.ToString(got.SecretString) != "three" {
			t.Errorf("AWSCURRENT value = %q, want \"three\"", aws.ToString(got.SecretString))
		}
	})

	t.Run("KmsKeyIdBackToDefault", func(t *testing.T) {
		name := "update/kms"
		e2eCreate(t, c, name, "one")
		_, err := c.UpdateSecret(e2eCtx, &secretsmanager.UpdateSecretInput{SecretId: aws.String(name), KmsKeyId: aws.String("alias/other")})
		e2eNoErr(t, "UpdateSecret", err)
		if got := aws.ToString(e2eDescribe(t, c, name).KmsKeyId); got != "alias/other" {
			t.Errorf("KmsKeyId = %q, want alias/other", got)
		}
		_, err = c.UpdateSecret(e2eCtx, &secretsmanager.UpdateSecretInput{SecretId: aws.String(name), KmsKeyId: aws.String("")})
		e2eNoErr(t, "UpdateSecret", err)
		if got := e2eDescribe(t, c, name).KmsKeyId; got != nil {
			t.Errorf("KmsKeyId = %q after switching back to the default key, want it omitted", *got)
		}
	})

	t.Run("UnknownSecret", func(t *testing.T) {
		_, err := c.UpdateSecret(e2eCtx, &secretsmanager.UpdateSecretInput{SecretId: aws.String("update/unknown"), Description: aws.String("x")})
		e2eWantErr[*types.ResourceNotFoundException](t, "UpdateSecret", err, e2eMsgNotFound)
	})
}

func TestE2EUpdateSecretVersionStage(t *testing.T) {
	s := MustRunMain(t, "", nil)
	c := s.e2eClient("")

	// twoVersions creates name with v1, then v2 as AWSCURRENT (v1 AWSPREVIOUS).
	twoVersions := func(t *testing.T, name string) (v1, v2 string) {
		t.Helper()
		v1 = aws.ToString(e2eCreate(t, c, name, "one").VersionId)
		v2 = aws.ToString(e2ePut(t, c, name, "two").VersionId)
		return v1, v2
	}
	move := func(name, stage, to, from string) (*secretsmanager.UpdateSecretVersionStageOutput, error) {
		in := &secretsmanager.UpdateSecretVersionStageInput{SecretId: aws.String(name), VersionStage: aws.String(stage)}
		if to != "" {
			in.MoveToVersionId = aws.String(to)
		}
		if from != "" {
			in.RemoveFromVersionId = aws.String(from)
		}
		return c.UpdateSecretVersionStage(e2eCtx, in)
	}

	t.Run("MoveAWSCURRENTWithRemove", func(t *testing.T) {
		name := "stage/move"
		v1, v2 := twoVersions(t, name)
		out, err := move(name, "AWSCURRENT", v1, v2)
		e2eNoErr(t, "UpdateSecretVersionStage", err)
		if aws.ToString(out.Name) != name || out.ARN == nil {
			t.Errorf("Name, ARN = %q, %v", aws.ToString(out.Name), out.ARN)
		}
		want := map[string][]string{v1: {"AWSCURRENT"}, v2: {"AWSPREVIOUS"}}
		if got := e2eDescribe(t, c, name).VersionIdsToStages; !e2eEqualStageMaps(got, want) {
			t.Errorf("VersionIdsToStages = %v, want %v (AWSPREVIOUS follows AWSCURRENT)", got, want)
		}
		got, err := c.GetSecretValue(e2eCtx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(name)})
		e2eNoErr(t, "GetSecretValue", err)
		if aws.ToString(got.SecretString) != "one" {
			t.Errorf("AWSCURRENT value = %q, want \"one\"", aws.ToString(got.SecretString))
		}
	})

	t.Run("MissingRemoveFromVersionId", func(t *testing.T) {
		name := "stage/noremove"
		v1, v2 := twoVersions(t, name)
		_, err := move(name, "AWSCURRENT", v1, "")
		e2eWantErr[*types.InvalidParameterException](t, "UpdateSecretVersionStage", err, e2eMsgRemoveFromEmpty("AWSCURRENT", v2))
		want := map[string][]string{v2: {"AWSCURRENT"}, v1: {"AWSPREVIOUS"}}
		if got := e2eDescribe(t, c, name).VersionIdsToStages; !e2eEqualStageMaps(got, want) {
			t.Errorf("VersionIdsToStages = %v after a refused move, want %v", got, want)
		}
	})

	t.Run("WrongRemoveFromVersionId", func(t *testing.T) {
		name := "stage/wrongremove"
		v1, _ := twoVersions(t, name)
		_, err := move(name, "AWSCURRENT", v1, v1)
		e2eWantErr[*types.InvalidParameterException](t, "UpdateSecretVersionStage", err, "")
	})

	t.Run("RemoveOnlyDeprecates", func(t *testing.T) {
		name := "stage/removeonly"
		v1 := aws.ToString(e2eCreate(t, c, name, "one").VersionId)
		v2 := aws.ToString(e2ePut(t, c, name, "two", "ONLY").VersionId)
		_, err := move(name, "ONLY", "", v2)
		e2eNoErr(t, "UpdateSecretVersionStage", err)
		if want := map[string][]string{v1: {"AWSCURRENT"}}; !e2eEqualStageMaps(e2eDescribe(t, c, name).VersionIdsToStages, want) {
			t.Errorf("VersionIdsToStages = %v, want %v", e2eDescribe(t, c, name).VersionIdsToStages, want)
		}
		if m := e2eStagesByVersion(e2eVersions(t, c, name, false)); len(m) != 1 {
			t.Errorf("ListSecretVersionIds = %v, want only %s", m, v1)
		}
		m := e2eStagesByVersion(e2eVersions(t, c, name, true))
		if st, ok := m[v2]; !ok || st != nil {
			t.Errorf("ListSecretVersionIds(IncludeDeprecated) = %v, want %s listed without stages", m, v2)
		}
		got, err := c.GetSecretValue(e2eCtx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(name), VersionId: aws.String(v2)})
		e2eNoErr(t, "GetSecretValue of the deprecated version by id", err)
		if aws.ToString(got.SecretString) != "two" || len(got.VersionStages) != 0 {
			t.Errorf("deprecated version: %q %v, want \"two\" without stages", aws.ToString(got.SecretString), got.VersionStages)
		}
	})

	t.Run("MoveAloneWhenNobodyHasTheLabel", func(t *testing.T) {
		name := "stage/movealone"
		v1, v2 := twoVersions(t, name)
		_, err := move(name, "NEWLABEL", v1, "")
		e2eNoErr(t, "UpdateSecretVersionStage", err)
		want := map[string][]string{v1: {"AWSPREVIOUS", "NEWLABEL"}, v2: {"AWSCURRENT"}}
		if got := e2eDescribe(t, c, name).VersionIdsToStages; !e2eEqualStageMaps(got, want) {
			t.Errorf("VersionIdsToStages = %v, want %v", got, want)
		}
	})

	t.Run("MoveCustomLabel", func(t *testing.T) {
		name := "stage/custom"
		v1, v2 := twoVersions(t, name)
		_, err := move(name, "BLUE", v1, "")
		e2eNoErr(t, "attach BLUE", err)
		_, err = move(name, "BLUE", v2, v1)
		e2eNoErr(t, "move BLUE", err)
		want := map[string][]string{v1: {"AWSPREVIOUS"}, v2: {"AWSCURRENT", "BLUE"}}
		if got := e2eDescribe(t, c, name).VersionIdsToStages; !e2eEqualStageMaps(got, want) {
			t.Errorf("VersionIdsToStages = %v, want %v (moving a custom label moves nothing else)", got, want)
		}
	})

	t.Run("UnknownSecret", func(t *testing.T) {
		_, err := move("stage/unknown", "AWSCURRENT", e2eToken(), "")
		e2eWantErr[*types.ResourceNotFoundException](t, "UpdateSecretVersionStage", err, e2eMsgNotFound)
	})
}

func TestE2EDescribeSecret(t *testing.T) {
	s := MustRunMain(t, "", nil)
	c := s.e2eClient("")

	t.Run("Fields", func(t *testing.T) {
		name := "describe/fields"
		before := time.Now()
		created, err := c.CreateSecret(e2eCtx, &secretsmanager.CreateSecretInput{
			Name: aws.String(name), SecretString: aws.String("one"), Description: aws.String("desc"),
			Tags: []types.Tag{{Key: aws.String("env"), Value: aws.String("prod")}},
		})
		e2eNoErr(t, "CreateSecret", err)
		v1 := aws.ToString(created.VersionId)
		v2 := aws.ToString(e2ePut(t, c, name, "two").VersionId)
		after := time.Now()
		d := e2eDescribe(t, c, name)
		if aws.ToString(d.ARN) != aws.ToString(created.ARN) || aws.ToString(d.Name) != name || aws.ToString(d.Description) != "desc" {
			t.Errorf("ARN, Name, Description = %q, %q, %q", aws.ToString(d.ARN), aws.ToString(d.Name), aws.ToString(d.Description))
		}
		if want := map[string][]string{v1: {"AWSPREVIOUS"}, v2: {"AWSCURRENT"}}; !e2eEqualStageMaps(d.VersionIdsToStages, want) {
			t.Errorf("VersionIdsToStages = %v, want %v", d.VersionIdsToStages, want)
		}
		if d.CreatedDate == nil || !e2eWithin(*d.CreatedDate, before, after) {
			t.Errorf("CreatedDate = %v, want between %v and %v", d.CreatedDate, before, after)
		}
		if d.LastChangedDate == nil || !e2eWithin(*d.LastChangedDate, before, after) || d.LastChangedDate.Before(*d.CreatedDate) {
			t.Errorf("LastChangedDate = %v, want between CreatedDate %v and %v", d.LastChangedDate, d.CreatedDate, after)
		}
		if d.LastAccessedDate != nil || d.DeletedDate != nil || d.LastRotatedDate != nil || d.NextRotationDate != nil {
			t.Errorf("LastAccessedDate, DeletedDate, LastRotatedDate, NextRotationDate = %v, %v, %v, %v; want all absent",
				d.LastAccessedDate, d.DeletedDate, d.LastRotatedDate, d.NextRotationDate)
		}
		if d.RotationEnabled != nil || d.RotationLambdaARN != nil || d.RotationRules != nil {
			t.Errorf("RotationEnabled, RotationLambdaARN, RotationRules = %v, %v, %v; want absent on a never-rotated secret",
				d.RotationEnabled, d.RotationLambdaARN, d.RotationRules)
		}
		if got := e2eTagPairs(d.Tags); !slices.Equal(got, []string{"env=prod"}) {
			t.Errorf("Tags = %v, want [env=prod]", got)
		}

		// On the wire: the members with no value are absent, the map is
		// called VersionIdsToStages.
		m := s.e2eRawJSON(t, "DescribeSecret", map[string]string{"SecretId": name}).JSON(t)
		for _, k := range []string{"RotationEnabled", "RotationLambdaARN", "RotationRules", "LastAccessedDate", "DeletedDate", "KmsKeyId", "SecretVersionsToStages"} {
			if _, ok := m[k]; ok {
				t.Errorf("DescribeSecret body has %s = %v, want it absent", k, m[k])
			}
		}
		if _, ok := m["VersionIdsToStages"]; !ok {
			t.Error("DescribeSecret body lacks VersionIdsToStages")
		}
	})

	t.Run("TagsAbsentThenEmptyAfterRemoval", func(t *testing.T) {
		name := "describe/tags"
		e2eCreate(t, c, name, "one")
		if m := s.e2eRawJSON(t, "DescribeSecret", map[string]string{"SecretId": name}).JSON(t); m["Tags"] != nil {
			t.Errorf("never-tagged secret: Tags = %v, want the member absent", m["Tags"])
		}
		_, err := c.TagResource(e2eCtx, &secretsmanager.TagResourceInput{SecretId: aws.String(name),
			Tags: []types.Tag{{Key: aws.String("a"), Value: aws.String("1")}}})
		e2eNoErr(t, "TagResource", err)
		_, err = c.UntagResource(e2eCtx, &secretsmanager.UntagResourceInput{SecretId: aws.String(name), TagKeys: []string{"a"}})
		e2eNoErr(t, "UntagResource", err)
		m := s.e2eRawJSON(t, "DescribeSecret", map[string]string{"SecretId": name}).JSON(t)
		tags, ok := m["Tags"].([]any)
		if !ok || len(tags) != 0 {
			t.Errorf("after removing every tag: Tags = %#v, want [] (AWS keeps the empty list once a secret was tagged)", m["Tags"])
		}
	})

	t.Run("LastAccessedDateAfterRead", func(t *testing.T) {
		name := "describe/accessed"
		e2eCreate(t, c, name, "one")
		before := time.Now().UTC()
		_, err := c.GetSecretValue(e2eCtx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(name)})
		e2eNoErr(t, "GetSecretValue", err)
		after := time.Now().UTC()
		e2eWaitAccessed(t, c, name)
		d := e2eDescribe(t, c, name)
		if d.LastAccessedDate == nil {
			t.Fatal("LastAccessedDate absent after a read")
		}
		got := d.LastAccessedDate.UTC()
		if !got.Equal(before.Truncate(24*time.Hour)) && !got.Equal(after.Truncate(24*time.Hour)) {
			t.Errorf("LastAccessedDate = %v, want midnight UTC of the day of the read (%v)", got, before.Truncate(24*time.Hour))
		}
	})

	t.Run("UnknownSecret", func(t *testing.T) {
		_, err := c.DescribeSecret(e2eCtx, &secretsmanager.DescribeSecretInput{SecretId: aws.String("describe/unknown")})
		e2eWantErr[*types.ResourceNotFoundException](t, "DescribeSecret", err, e2eMsgNotFound)
	})
}

func TestE2EListSecretVersionIds(t *testing.T) {
	s := MustRunMain(t, "", nil)
	c := s.e2eClient("")

	t.Run("IncludeDeprecated", func(t *testing.T) {
		name := "versions/deprecated"
		created := e2eCreate(t, c, name, "one")
		v1 := aws.ToString(created.VersionId)
		v2 := aws.ToString(e2ePut(t, c, name, "two").VersionId)
		v3 := aws.ToString(e2ePut(t, c, name, "three").VersionId)

		out, err := c.ListSecretVersionIds(e2eCtx, &secretsmanager.ListSecretVersionIdsInput{SecretId: aws.String(name)})
		e2eNoErr(t, "ListSecretVersionIds", err)
		if aws.ToString(out.ARN) != aws.ToString(created.ARN) || aws.ToString(out.Name) != name {
			t.Errorf("ARN, Name = %q, %q", aws.ToString(out.ARN), aws.ToString(out.Name))
		}
		want := map[string][]string{v2: {"AWSPREVIOUS"}, v3: {"AWSCURRENT"}}
		if got := e2eStagesByVersion(out.Versions); !e2eEqualStageMaps(got, want) {
			t.Errorf("default listing = %v, want %v (deprecated %s hidden)", got, want, v1)
		}
		for _, v := range out.Versions {
			if v.CreatedDate == nil {
				t.Errorf("version %s has no CreatedDate", aws.ToString(v.VersionId))
			}
		}
		all := e2eStagesByVersion(e2eVersions(t, c, name, true))
		if len(all) != 3 {
			t.Errorf("IncludeDeprecated listing = %v, want 3 versions", all)
		}
		if st, ok := all[v1]; !ok || st != nil {
			t.Errorf("IncludeDeprecated: %s = %v (listed %v), want listed without stages", v1, st, ok)
		}

		// On the wire the deprecated entry has no VersionStages member at all.
		m := s.e2eRawJSON(t, "ListSecretVersionIds", map[string]any{"SecretId": name, "IncludeDeprecated": true}).JSON(t)
		entries, _ := m["Versions"].([]any)
		found := false
		for _, e := range entries {
			em, _ := e.(map[string]any)
			if em["VersionId"] == v1 {
				found = true
				if _, ok := em["VersionStages"]; ok {
					t.Errorf("deprecated entry %v has a VersionStages member, want none", em)
				}
			}
		}
		if !found {
			t.Errorf("raw IncludeDeprecated listing lacks %s: %v", v1, m)
		}
	})

	t.Run("KmsKeyIds", func(t *testing.T) {
		e2eCreate(t, c, "versions/kms-default", "one")
		_, err := c.CreateSecret(e2eCtx, &secretsmanager.CreateSecretInput{
			Name: aws.String("versions/kms-custom"), SecretString: aws.String("one"), KmsKeyId: aws.String("alias/app-key"),
		})
		e2eNoErr(t, "CreateSecret", err)
		for name, want := range map[string][]string{
			"versions/kms-default": {"DefaultEncryptionKey"},
			"versions/kms-custom":  {"alias/app-key"},
		} {
			vs := e2eVersions(t, c, name, false)
			if len(vs) != 1 || !slices.Equal(vs[0].KmsKeyIds, want) {
				t.Errorf("%s: versions %+v, want one with KmsKeyIds %v", name, vs, want)
			}
		}
	})

	t.Run("Pagination", func(t *testing.T) {
		name := "versions/pages"
		ids := []string{aws.ToString(e2eCreate(t, c, name, "v0").VersionId)}
		for i := 1; i < 5; i++ {
			ids = append(ids, aws.ToString(e2ePut(t, c, name, "v", "L"+string(rune('A'+i))).VersionId))
		}
		var got []string
		in := &secretsmanager.ListSecretVersionIdsInput{SecretId: aws.String(name), MaxResults: aws.Int32(2)}
		for page := 0; ; page++ {
			if page > 10 {
				t.Fatal("more than 10 pages for 5 versions")
			}
			out, err := c.ListSecretVersionIds(e2eCtx, in)
			e2eNoErr(t, "ListSecretVersionIds", err)
			if len(out.Versions) > 2 {
				t.Errorf("page %d has %d versions, MaxResults is 2", page, len(out.Versions))
			}
			for _, v := range out.Versions {
				got = append(got, aws.ToString(v.VersionId))
			}
			if out.NextToken == nil {
				break
			}
			in.NextToken = out.NextToken
		}
		if ok, diff := e2eSameSet(got, ids); !ok || len(got) != len(ids) {
			t.Errorf("paged versions %v: %s", got, diff)
		}
	})

	t.Run("UnknownSecret", func(t *testing.T) {
		_, err := c.ListSecretVersionIds(e2eCtx, &secretsmanager.ListSecretVersionIdsInput{SecretId: aws.String("versions/unknown")})
		e2eWantErr[*types.ResourceNotFoundException](t, "ListSecretVersionIds", err, e2eMsgNotFound)
	})
}

func TestE2EDeleteSecret(t *testing.T) {
	s := MustRunMain(t, "", nil)
	c := s.e2eClient("")
	day := 24 * time.Hour

	deleteWith := func(name string, window *int64, force *bool) (*secretsmanager.DeleteSecretOutput, error) {
		return c.DeleteSecret(e2eCtx, &secretsmanager.DeleteSecretInput{SecretId: aws.String(name), RecoveryWindowInDays: window, ForceDeleteWithoutRecovery: force})
	}

	for _, tc := range []struct {
		name   string
		window *int64
		days   int
	}{
		{"DefaultWindow30Days", nil, 30},
		{"Window7", aws.Int64(7), 7},
		{"Window30", aws.Int64(30), 30},
	} {
		t.Run(tc.name, func(t *testing.T) {
			name := "delete/" + strings.ToLower(tc.name)
			arn := aws.ToString(e2eCreate(t, c, name, "one").ARN)
			before := time.Now()
			out, err := deleteWith(name, tc.window, nil)
			after := time.Now()
			e2eNoErr(t, "DeleteSecret", err)
			if aws.ToString(out.ARN) != arn || aws.ToString(out.Name) != name {
				t.Errorf("ARN, Name = %q, %q", aws.ToString(out.ARN), aws.ToString(out.Name))
			}
			window := time.Duration(tc.days) * day
			if out.DeletionDate == nil || !e2eWithin(*out.DeletionDate, before.Add(window), after.Add(window)) {
				t.Errorf("DeletionDate = %v, want now + %d days (%v)", out.DeletionDate, tc.days, before.Add(window))
			}
			d := e2eDescribe(t, c, name)
			if d.DeletedDate == nil || !e2eWithin(*d.DeletedDate, before, after) {
				t.Errorf("DescribeSecret DeletedDate = %v, want the time of deletion (%v)", d.DeletedDate, before)
			}
		})
	}

	for _, w := range []int64{6, 31} {
		t.Run(fmt.Sprintf("WindowOutOfRange%d", w), func(t *testing.T) {
			name := fmt.Sprintf("delete/badwindow-%d", w)
			e2eCreate(t, c, name, "one")
			_, err := deleteWith(name, aws.Int64(w), nil)
			e2eWantErr[*types.InvalidParameterException](t, "DeleteSecret", err, e2eMsgRecoveryWindow)
			if d := e2eDescribe(t, c, name); d.DeletedDate != nil {
				t.Errorf("refused delete left DeletedDate = %v", d.DeletedDate)
			}
		})
	}

	t.Run("Force", func(t *testing.T) {
		name := "delete/force"
		e2eCreate(t, c, name, "one")
		before := time.Now()
		out, err := deleteWith(name, nil, aws.Bool(true))
		after := time.Now()
		e2eNoErr(t, "DeleteSecret", err)
		if out.DeletionDate == nil || !e2eWithin(*out.DeletionDate, before, after) {
			t.Errorf("DeletionDate = %v, want now", out.DeletionDate)
		}
		_, err = c.DescribeSecret(e2eCtx, &secretsmanager.DescribeSecretInput{SecretId: aws.String(name)})
		e2eWantErr[*types.ResourceNotFoundException](t, "DescribeSecret after force delete", err, e2eMsgNotFound)
		_, err = c.GetSecretValue(e2eCtx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(name)})
		e2eWantErr[*types.ResourceNotFoundException](t, "GetSecretValue after force delete", err, e2eMsgNotFound)
	})

	t.Run("ForceAndWindow", func(t *testing.T) {
		name := "delete/both"
		e2eCreate(t, c, name, "one")
		_, err := deleteWith(name, aws.Int64(7), aws.Bool(true))
		e2eWantErr[*types.InvalidParameterException](t, "DeleteSecret", err, e2eMsgForceAndWindow)
		if d := e2eDescribe(t, c, name); d.DeletedDate != nil {
			t.Errorf("refused delete left DeletedDate = %v", d.DeletedDate)
		}
	})

	t.Run("ForceUnknownSucceeds", func(t *testing.T) {
		_, err := deleteWith("delete/never-existed", nil, aws.Bool(true))
		e2eNoErr(t, "force DeleteSecret of an unknown secret", err)
	})

	t.Run("ForceScheduled", func(t *testing.T) {
		name := "delete/force-scheduled"
		e2eCreate(t, c, name, "one")
		_, err := deleteWith(name, nil, nil)
		e2eNoErr(t, "DeleteSecret", err)
		_, err = deleteWith(name, nil, aws.Bool(true))
		e2eNoErr(t, "force DeleteSecret of a scheduled secret", err)
		_, err = c.DescribeSecret(e2eCtx, &secretsmanager.DescribeSecretInput{SecretId: aws.String(name)})
		e2eWantErr[*types.ResourceNotFoundException](t, "DescribeSecret", err, e2eMsgNotFound)
	})

	t.Run("DeleteScheduledAgain", func(t *testing.T) {
		name := "delete/twice"
		e2eCreate(t, c, name, "one")
		_, err := deleteWith(name, nil, nil)
		e2eNoErr(t, "DeleteSecret", err)
		_, err = deleteWith(name, aws.Int64(7), nil)
		e2eWantErr[*types.InvalidRequestException](t, "second DeleteSecret", err, e2eMsgAlreadyDeleted)
	})

	t.Run("UnknownSecret", func(t *testing.T) {
		_, err := deleteWith("delete/unknown", nil, nil)
		e2eWantErr[*types.ResourceNotFoundException](t, "DeleteSecret", err, e2eMsgNotFound)
	})
}

func TestE2ERestoreSecret(t *testing.T) {
	s := MustRunMain(t, "", nil)
	c := s.e2eClient("")

	t.Run("ClearsDeletion", func(t *testing.T) {
		name := "restore/app"
		arn := aws.ToString(e2eCreate(t, c, name, "one").ARN)
		_, err := c.DeleteSecret(e2eCtx, &secretsmanager.DeleteSecretInput{SecretId: aws.String(name)})
		e2eNoErr(t, "DeleteSecret", err)
		out, err := c.RestoreSecret(e2eCtx, &secretsmanager.RestoreSecretInput{SecretId: aws.String(name)})
		e2eNoErr(t, "RestoreSecret", err)
		if aws.ToString(out.ARN) != arn || aws.ToString(out.Name) != name {
			t.Errorf("ARN, Name = %q, %q; want %q, %q", aws.ToString(out.ARN), aws.ToString(out.Name), arn, name)
		}
		if d := e2eDescribe(t, c, name); d.DeletedDate != nil {
			t.Errorf("DeletedDate = %v after restore, want absent", d.DeletedDate)
		}
		got, err := c.GetSecretValue(e2eCtx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(name)})
		e2eNoErr(t, "GetSecretValue after restore", err)
		if aws.ToString(got.SecretString) != "one" {
			t.Errorf("value = %q, want \"one\"", aws.ToString(got.SecretString))
		}
		if names := e2eListNames(t, c, e2eFilter(types.FilterNameStringTypeName, name)); !slices.Equal(names, []string{name}) {
			t.Errorf("ListSecrets = %v, want the restored secret listed", names)
		}
	})

	t.Run("UnknownSecret", func(t *testing.T) {
		_, err := c.RestoreSecret(e2eCtx, &secretsmanager.RestoreSecretInput{SecretId: aws.String("restore/unknown")})
		e2eWantErr[*types.ResourceNotFoundException](t, "RestoreSecret", err, e2eMsgNotFound)
	})
}

func TestE2ETagging(t *testing.T) {
	s := MustRunMain(t, "", nil)
	c := s.e2eClient("")
	tag := func(k, v string) types.Tag { return types.Tag{Key: aws.String(k), Value: aws.String(v)} }

	t.Run("AddOverwriteRemove", func(t *testing.T) {
		name := "tags/app"
		arn := aws.ToString(e2eCreate(t, c, name, "one").ARN)
		_, err := c.TagResource(e2eCtx, &secretsmanager.TagResourceInput{SecretId: aws.String(name), Tags: []types.Tag{tag("team", "a"), tag("env", "dev")}})
		e2eNoErr(t, "TagResource", err)
		// By ARN; keys are case-sensitive: "Env" is another key than "env".
		_, err = c.TagResource(e2eCtx, &secretsmanager.TagResourceInput{SecretId: aws.String(arn), Tags: []types.Tag{tag("env", "prod"), tag("Env", "X")}})
		e2eNoErr(t, "TagResource", err)
		got := e2eTagPairs(e2eDescribe(t, c, name).Tags)
		if ok, diff := e2eSameSet(got, []string{"team=a", "env=prod", "Env=X"}); !ok || len(got) != 3 {
			t.Errorf("Tags = %v: %s", got, diff)
		}
		if len(got) == 3 && (got[0] != "team=a" || got[2] != "Env=X") {
			t.Errorf("Tags = %v, want them in the order they were added (team first, Env last)", got)
		}
		_, err = c.UntagResource(e2eCtx, &secretsmanager.UntagResourceInput{SecretId: aws.String(name), TagKeys: []string{"team", "absent"}})
		e2eNoErr(t, "UntagResource (absent keys are ignored)", err)
		got = e2eTagPairs(e2eDescribe(t, c, name).Tags)
		if ok, diff := e2eSameSet(got, []string{"env=prod", "Env=X"}); !ok {
			t.Errorf("Tags after untag = %v: %s", got, diff)
		}
	})

	t.Run("UnknownSecret", func(t *testing.T) {
		_, err := c.TagResource(e2eCtx, &secretsmanager.TagResourceInput{SecretId: aws.String("tags/unknown"), Tags: []types.Tag{tag("a", "b")}})
		e2eWantErr[*types.ResourceNotFoundException](t, "TagResource", err, e2eMsgNotFound)
		_, err = c.UntagResource(e2eCtx, &secretsmanager.UntagResourceInput{SecretId: aws.String("tags/unknown"), TagKeys: []string{"a"}})
		e2eWantErr[*types.ResourceNotFoundException](t, "UntagResource", err, e2eMsgNotFound)
	})
}

// Character classes of GetRandomPassword (aws-api.md §5).
const (
	e2eUpper = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	e2eLower = "abcdefghijklmnopqrstuvwxyz"
	e2eDigit = "0123456789"
	e2ePunct = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"
)

// e2eWithout returns set without the characters of excl.
func e2eWithout(set, excl string) string {
	return strings.Map(func(r rune) rune {
		if strings.ContainsRune(excl, r) {
			return -1
		}
		return r
	}, set)
}

func TestE2EGetRandomPassword(t *testing.T) {
	s := MustRunMain(t, "", nil)
	c := s.e2eClient("")
	gen := func(t *testing.T, in secretsmanager.GetRandomPasswordInput) (string, error) {
		t.Helper()
		out, err := c.GetRandomPassword(e2eCtx, &in)
		if err != nil {
			return "", err
		}
		return aws.ToString(out.RandomPassword), nil
	}
	has := func(pw, class string) bool { return strings.ContainsAny(pw, class) }

	t.Run("Defaults", func(t *testing.T) {
		seen := map[string]bool{}
		for i := 0; i < 20; i++ {
			pw, err := gen(t, secretsmanager.GetRandomPasswordInput{})
			e2eNoErr(t, "GetRandomPassword", err)
			if len(pw) != 32 {
				t.Errorf("length %d, want 32: %q", len(pw), pw)
			}
			for _, class := range []string{e2eUpper, e2eLower, e2eDigit, e2ePunct} {
				if !has(pw, class) {
					t.Errorf("%q lacks a character of %q (every class is required by default)", pw, class)
				}
			}
			for _, r := range pw {
				if !strings.ContainsRune(e2eUpper+e2eLower+e2eDigit+e2ePunct, r) {
					t.Errorf("%q contains %q, outside the four classes (no space by default)", pw, r)
				}
			}
			seen[pw] = true
		}
		if len(seen) != 20 {
			t.Errorf("20 default passwords had only %d distinct values", len(seen))
		}
	})

	for _, tc := range []struct {
		name    string
		in      secretsmanager.GetRandomPasswordInput
		length  int
		allowed string // every character must be from here
		must    []string
	}{
		{"Length64", secretsmanager.GetRandomPasswordInput{PasswordLength: aws.Int64(64)}, 64, e2eUpper + e2eLower + e2eDigit + e2ePunct, []string{e2eUpper, e2eLower, e2eDigit, e2ePunct}},
		{"ExcludeNumbers", secretsmanager.GetRandomPasswordInput{ExcludeNumbers: aws.Bool(true)}, 32, e2eUpper + e2eLower + e2ePunct, []string{e2eUpper, e2eLower, e2ePunct}},
		{"ExcludePunctuation", secretsmanager.GetRandomPasswordInput{ExcludePunctuation: aws.Bool(true)}, 32, e2eUpper + e2eLower + e2eDigit, []string{e2eUpper, e2eLower, e2eDigit}},
		{"ExcludeUppercase", secretsmanager.GetRandomPasswordInput{ExcludeUppercase: aws.Bool(true)}, 32, e2eLower + e2eDigit + e2ePunct, []string{e2eLower, e2eDigit, e2ePunct}},
		{"ExcludeLowercase", secretsmanager.GetRandomPasswordInput{ExcludeLowercase: aws.Bool(true)}, 32, e2eUpper + e2eDigit + e2ePunct, []string{e2eUpper, e2eDigit, e2ePunct}},
		{"OnlyDigits", secretsmanager.GetRandomPasswordInput{PasswordLength: aws.Int64(12), ExcludePunctuation: aws.Bool(true), ExcludeUppercase: aws.Bool(true), ExcludeLowercase: aws.Bool(true)}, 12, e2eDigit, []string{e2eDigit}},
		{"ExcludeCharacters", secretsmanager.GetRandomPasswordInput{PasswordLength: aws.Int64(200), ExcludeCharacters: aws.String(`:/@"'\abcXYZ0123`)},
			200, e2eWithout(e2eUpper+e2eLower+e2eDigit+e2ePunct, `:/@"'\abcXYZ0123`),
			[]string{e2eUpper, e2eLower, e2eDigit, e2ePunct}},
		{"IncludeSpace", secretsmanager.GetRandomPasswordInput{PasswordLength: aws.Int64(4096), IncludeSpace: aws.Bool(true)}, 4096, e2eUpper + e2eLower + e2eDigit + e2ePunct + " ", []string{e2eUpper, e2eLower, e2eDigit, e2ePunct, " "}},
		{"NoRequirementLength1", secretsmanager.GetRandomPasswordInput{PasswordLength: aws.Int64(1), RequireEachIncludedType: aws.Bool(false)}, 1, e2eUpper + e2eLower + e2eDigit + e2ePunct, nil},
		{"ExplicitFalse", secretsmanager.GetRandomPasswordInput{ExcludeNumbers: aws.Bool(false), ExcludePunctuation: aws.Bool(false), ExcludeUppercase: aws.Bool(false),
			ExcludeLowercase: aws.Bool(false), IncludeSpace: aws.Bool(false), RequireEachIncludedType: aws.Bool(true)}, 32, e2eUpper + e2eLower + e2eDigit + e2ePunct, []string{e2eUpper, e2eLower, e2eDigit, e2ePunct}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pw, err := gen(t, tc.in)
			e2eNoErr(t, "GetRandomPassword", err)
			if len(pw) != tc.length {
				t.Errorf("length %d, want %d", len(pw), tc.length)
			}
			for _, r := range pw {
				if !strings.ContainsRune(tc.allowed, r) {
					t.Errorf("password contains %q, not allowed here", r)
					break
				}
			}
			for _, class := range tc.must {
				if !has(pw, class) {
					t.Errorf("password %q lacks a character of %q", pw, class)
				}
			}
		})
	}

	for _, tc := range []struct {
		name string
		in   secretsmanager.GetRandomPasswordInput
		msg  string
	}{
		{"EveryClassExcluded", secretsmanager.GetRandomPasswordInput{ExcludeNumbers: aws.Bool(true), ExcludePunctuation: aws.Bool(true),
			ExcludeUppercase: aws.Bool(true), ExcludeLowercase: aws.Bool(true)}, ""},
		{"ShorterThanRequiredClasses", secretsmanager.GetRandomPasswordInput{PasswordLength: aws.Int64(3)}, e2eMsgPasswordShort},
		{"RequiredClassEmptiedByExclusions", secretsmanager.GetRandomPasswordInput{ExcludeCharacters: aws.String(e2eDigit)}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := gen(t, tc.in)
			e2eWantErr[*types.InvalidParameterException](t, "GetRandomPassword", err, tc.msg)
		})
	}

	for _, n := range []int64{4097, 0} {
		t.Run(fmt.Sprintf("Length%dOutOfModelRange", n), func(t *testing.T) {
			_, err := gen(t, secretsmanager.GetRandomPasswordInput{PasswordLength: aws.Int64(n)})
			e2eWantCode(t, "GetRandomPassword", err, "ValidationException", "")
		})
	}
}
