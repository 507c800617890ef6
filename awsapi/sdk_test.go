package awsapi_test

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"

	"github.com/rotorhq/rotor"
	"github.com/rotorhq/rotor/awsapi"
)

// These tests drive the Handler with the real aws-sdk-go-v2 Secrets Manager
// client over HTTP, against a function-field fake service: each operation's
// fields must survive the round trip in both directions.

const (
	testARN   = "arn:aws:secretsmanager:eu-west-3:000000000000:secret:db/main-AbCdEf"
	testName  = "db/main"
	versionA  = "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa"
	versionB  = "bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb"
	versionC  = "cccccccc-cccc-4ccc-8ccc-cccccccccccc"
	lambdaARN = "arn:aws:lambda:eu-west-3:000000000000:function:rotate"
)

var (
	created     = ms(1523477145713) // 2018-04-11T20:05:45.713Z
	changed     = ms(1700000000999)
	accessed    = time.Date(2024, 5, 6, 17, 45, 12, 0, time.UTC)
	accessedDay = time.Date(2024, 5, 6, 0, 0, 0, 0, time.UTC)
)

func timeEq(t *testing.T, field string, got *time.Time, want time.Time) {
	t.Helper()
	if got == nil || !got.Equal(want) {
		t.Errorf("%s=%v, want %v", field, got, want)
	}
}

func TestSDKCreateSecret(t *testing.T) {
	t.Run("StringValueAndMetadata", func(t *testing.T) {
		var got rotor.CreateSecretInput
		var caller rotor.Caller
		fs := &fakeSecrets{CreateSecretFn: func(ctx context.Context, in rotor.CreateSecretInput) (*rotor.VersionResult, error) {
			got = in
			caller, _ = rotor.CallerFrom(ctx)
			return &rotor.VersionResult{ARN: testARN, Name: in.Name, VersionID: in.ClientRequestToken}, nil
		}}
		c := newClient(t, newHandler(fs, nil))
		out, err := c.CreateSecret(context.Background(), &secretsmanager.CreateSecretInput{
			Name:               aws.String(testName),
			ClientRequestToken: aws.String(versionA),
			Description:        aws.String("main database"),
			KmsKeyId:           aws.String("alias/db"),
			SecretString:       aws.String(`{"password":"<p&ss>"}`),
			Tags:               []types.Tag{{Key: aws.String("env"), Value: aws.String("prod")}, {Key: aws.String("team"), Value: aws.String("")}},
			Type:               aws.String("partner"),
		})
		if err != nil {
			t.Fatal(err)
		}
		want := rotor.CreateSecretInput{
			Name: testName, ClientRequestToken: versionA, Description: "main database", KmsKeyID: "alias/db",
			Value: rotor.Value{String: ptr(`{"password":"<p&ss>"}`)},
			Tags:  []rotor.Tag{{Key: "env", Value: "prod"}, {Key: "team", Value: ""}}, Type: "partner",
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("service got %+v, want %+v", got, want)
		}
		if aws.ToString(out.ARN) != testARN || aws.ToString(out.Name) != testName || aws.ToString(out.VersionId) != versionA {
			t.Errorf("output ARN=%q Name=%q VersionId=%q", aws.ToString(out.ARN), aws.ToString(out.Name), aws.ToString(out.VersionId))
		}
		if id, ok := awsmiddleware.GetRequestIDMetadata(out.ResultMetadata); !ok || len(id) != 36 {
			t.Errorf("request id=%q, want a UUID", id)
		} else if caller.RequestID != id {
			t.Errorf("Caller.RequestID=%q, want the response's request id %q", caller.RequestID, id)
		}
		if caller.Region != testRegion || !reflect.DeepEqual(caller.Principal, testPrincipal) {
			t.Errorf("Caller=%+v, want region %s and the authenticated principal", caller, testRegion)
		}
	})
	t.Run("BinaryValue", func(t *testing.T) {
		var got rotor.CreateSecretInput
		fs := &fakeSecrets{CreateSecretFn: func(_ context.Context, in rotor.CreateSecretInput) (*rotor.VersionResult, error) {
			got = in
			return &rotor.VersionResult{ARN: testARN, Name: in.Name, VersionID: versionA}, nil
		}}
		c := newClient(t, newHandler(fs, nil))
		bin := []byte{0, 1, 2, 0xfe, 0xff, '\n'}
		if _, err := c.CreateSecret(context.Background(), &secretsmanager.CreateSecretInput{Name: aws.String(testName), SecretBinary: bin}); err != nil {
			t.Fatal(err)
		}
		if got.Value.String != nil || !slices.Equal(got.Value.Binary, bin) {
			t.Errorf("service got value %+v, want binary %v", got.Value, bin)
		}
		if got.ClientRequestToken == "" {
			t.Error("ClientRequestToken empty, want the SDK's generated token passed on")
		}
	})
	t.Run("NoValueNoVersionId", func(t *testing.T) {
		var got rotor.CreateSecretInput
		fs := &fakeSecrets{CreateSecretFn: func(_ context.Context, in rotor.CreateSecretInput) (*rotor.VersionResult, error) {
			got = in
			return &rotor.VersionResult{ARN: testARN, Name: in.Name}, nil
		}}
		c := newClient(t, newHandler(fs, nil))
		out, err := c.CreateSecret(context.Background(), &secretsmanager.CreateSecretInput{Name: aws.String(testName)})
		if err != nil {
			t.Fatal(err)
		}
		if !got.Value.IsZero() || got.Tags != nil {
			t.Errorf("service got value %+v tags %v, want none", got.Value, got.Tags)
		}
		if out.VersionId != nil {
			t.Errorf("VersionId=%q, want absent", *out.VersionId)
		}
	})
	t.Run("AddReplicaRegionsRefused", func(t *testing.T) {
		fs := &fakeSecrets{}
		c := newClient(t, newHandler(fs, nil))
		_, err := c.CreateSecret(context.Background(), &secretsmanager.CreateSecretInput{
			Name: aws.String(testName), AddReplicaRegions: []types.ReplicaRegionType{{Region: aws.String("us-east-2")}},
		})
		wantAPIError(t, err, "InvalidRequestException", "AddReplicaRegions is not available in this version of Rotor yet.")
		if fs.calls.Load() != 0 {
			t.Error("service called, want refused before it")
		}
	})
}

func TestSDKGetSecretValue(t *testing.T) {
	t.Run("String", func(t *testing.T) {
		var got rotor.GetSecretValueInput
		fs := &fakeSecrets{GetSecretValueFn: func(_ context.Context, in rotor.GetSecretValueInput) (*rotor.SecretValue, error) {
			got = in
			return &rotor.SecretValue{ARN: testARN, Name: testName, VersionID: versionA, Value: rotor.Value{String: ptr("s3cr3t <&>")},
				Stages: []string{"AWSPREVIOUS", "AWSCURRENT", "BLUE"}, CreatedDate: created}, nil
		}}
		c := newClient(t, newHandler(fs, nil))
		out, err := c.GetSecretValue(context.Background(), &secretsmanager.GetSecretValueInput{
			SecretId: aws.String(testName), VersionId: aws.String(versionA), VersionStage: aws.String("AWSCURRENT"),
		})
		if err != nil {
			t.Fatal(err)
		}
		if want := (rotor.GetSecretValueInput{SecretID: testName, VersionID: versionA, VersionStage: "AWSCURRENT"}); got != want {
			t.Errorf("service got %+v, want %+v", got, want)
		}
		if aws.ToString(out.SecretString) != "s3cr3t <&>" || out.SecretBinary != nil {
			t.Errorf("SecretString=%q SecretBinary=%v", aws.ToString(out.SecretString), out.SecretBinary)
		}
		if aws.ToString(out.ARN) != testARN || aws.ToString(out.Name) != testName || aws.ToString(out.VersionId) != versionA {
			t.Errorf("ARN=%q Name=%q VersionId=%q", aws.ToString(out.ARN), aws.ToString(out.Name), aws.ToString(out.VersionId))
		}
		if want := []string{"AWSCURRENT", "AWSPREVIOUS", "BLUE"}; !slices.Equal(out.VersionStages, want) {
			t.Errorf("VersionStages=%v, want sorted %v", out.VersionStages, want)
		}
		timeEq(t, "CreatedDate", out.CreatedDate, created)
	})
	t.Run("Binary", func(t *testing.T) {
		bin := make([]byte, 256)
		for i := range bin {
			bin[i] = byte(i)
		}
		fs := &fakeSecrets{GetSecretValueFn: func(_ context.Context, in rotor.GetSecretValueInput) (*rotor.SecretValue, error) {
			return &rotor.SecretValue{ARN: testARN, Name: testName, VersionID: versionA, Value: rotor.Value{Binary: bin},
				Stages: []string{"AWSCURRENT"}, CreatedDate: created}, nil
		}}
		c := newClient(t, newHandler(fs, nil))
		out, err := c.GetSecretValue(context.Background(), &secretsmanager.GetSecretValueInput{SecretId: aws.String(testName)})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(out.SecretBinary, bin) || out.SecretString != nil {
			t.Errorf("SecretBinary=%v SecretString=%v, want the 256 bytes only", out.SecretBinary, out.SecretString)
		}
	})
}

func fullDescription() *rotor.SecretDescription {
	return &rotor.SecretDescription{
		ARN: testARN, Name: testName, Type: "partner", Description: "main database", KmsKeyID: "alias/db",
		Rotation: rotor.RotationConfig{Configured: true, Enabled: true, LambdaARN: lambdaARN,
			Rules: rotor.RotationRules{AutomaticallyAfterDays: 14, Duration: "2h", ScheduleExpression: "cron(0 16 1,15 * ? *)"}},
		LastRotatedDate: changed, LastChangedDate: changed, LastAccessedDate: accessed,
		DeletedDate: changed.Add(time.Hour), NextRotationDate: changed.Add(24 * time.Hour), CreatedDate: created,
		OwningService: "rds", PrimaryRegion: "eu-west-3",
		Tags:          []rotor.Tag{{Key: "z", Value: "1"}, {Key: "a", Value: ""}},
		VersionStages: map[string][]string{versionA: {"AWSPREVIOUS"}, versionB: {"AWSPENDING", "AWSCURRENT"}},
	}
}

func TestSDKDescribeSecret(t *testing.T) {
	t.Run("AllFields", func(t *testing.T) {
		var gotID string
		fs := &fakeSecrets{DescribeSecretFn: func(_ context.Context, id string) (*rotor.SecretDescription, error) {
			gotID = id
			return fullDescription(), nil
		}}
		c := newClient(t, newHandler(fs, nil))
		out, err := c.DescribeSecret(context.Background(), &secretsmanager.DescribeSecretInput{SecretId: aws.String(testARN)})
		if err != nil {
			t.Fatal(err)
		}
		if gotID != testARN {
			t.Errorf("service got id %q, want %q", gotID, testARN)
		}
		if aws.ToString(out.ARN) != testARN || aws.ToString(out.Name) != testName || aws.ToString(out.Type) != "partner" ||
			aws.ToString(out.Description) != "main database" || aws.ToString(out.KmsKeyId) != "alias/db" ||
			aws.ToString(out.OwningService) != "rds" || aws.ToString(out.PrimaryRegion) != "eu-west-3" {
			t.Errorf("strings: %+v", out)
		}
		if out.RotationEnabled == nil || !*out.RotationEnabled || aws.ToString(out.RotationLambdaARN) != lambdaARN {
			t.Errorf("RotationEnabled=%v RotationLambdaARN=%q", out.RotationEnabled, aws.ToString(out.RotationLambdaARN))
		}
		if r := out.RotationRules; r == nil || aws.ToInt64(r.AutomaticallyAfterDays) != 14 || aws.ToString(r.Duration) != "2h" ||
			aws.ToString(r.ScheduleExpression) != "cron(0 16 1,15 * ? *)" {
			t.Errorf("RotationRules=%+v", out.RotationRules)
		}
		timeEq(t, "CreatedDate", out.CreatedDate, created)
		timeEq(t, "LastChangedDate", out.LastChangedDate, changed)
		timeEq(t, "LastRotatedDate", out.LastRotatedDate, changed)
		timeEq(t, "LastAccessedDate", out.LastAccessedDate, accessedDay)
		timeEq(t, "DeletedDate", out.DeletedDate, changed.Add(time.Hour))
		timeEq(t, "NextRotationDate", out.NextRotationDate, changed.Add(24*time.Hour))
		wantTags := []types.Tag{{Key: aws.String("z"), Value: aws.String("1")}, {Key: aws.String("a"), Value: aws.String("")}}
		if !reflect.DeepEqual(out.Tags, wantTags) {
			t.Errorf("Tags=%v, want %v in the order given", out.Tags, wantTags)
		}
		wantStages := map[string][]string{versionA: {"AWSPREVIOUS"}, versionB: {"AWSCURRENT", "AWSPENDING"}}
		if !reflect.DeepEqual(out.VersionIdsToStages, wantStages) {
			t.Errorf("VersionIdsToStages=%v, want %v", out.VersionIdsToStages, wantStages)
		}
	})
	t.Run("FreshSecretOmitsMembers", func(t *testing.T) {
		fs := &fakeSecrets{DescribeSecretFn: func(_ context.Context, id string) (*rotor.SecretDescription, error) {
			return &rotor.SecretDescription{ARN: testARN, Name: testName, CreatedDate: created}, nil
		}}
		c := newClient(t, newHandler(fs, nil))
		out, err := c.DescribeSecret(context.Background(), &secretsmanager.DescribeSecretInput{SecretId: aws.String(testName)})
		if err != nil {
			t.Fatal(err)
		}
		if out.RotationEnabled != nil || out.RotationRules != nil || out.RotationLambdaARN != nil || out.Tags != nil ||
			out.VersionIdsToStages != nil || out.Description != nil || out.KmsKeyId != nil || out.LastAccessedDate != nil ||
			out.DeletedDate != nil || out.Type != nil || out.LastRotatedDate != nil || out.NextRotationDate != nil {
			t.Errorf("fresh secret has members that should be absent: %+v", out)
		}
	})
	t.Run("TagsEmptyAndRotationDisabled", func(t *testing.T) {
		fs := &fakeSecrets{DescribeSecretFn: func(_ context.Context, id string) (*rotor.SecretDescription, error) {
			return &rotor.SecretDescription{ARN: testARN, Name: testName, Tags: []rotor.Tag{},
				Rotation: rotor.RotationConfig{Configured: true, Enabled: false, LambdaARN: lambdaARN}}, nil
		}}
		c := newClient(t, newHandler(fs, nil))
		out, err := c.DescribeSecret(context.Background(), &secretsmanager.DescribeSecretInput{SecretId: aws.String(testName)})
		if err != nil {
			t.Fatal(err)
		}
		if out.Tags == nil || len(out.Tags) != 0 {
			t.Errorf("Tags=%#v, want present and empty", out.Tags)
		}
		if out.RotationEnabled == nil || *out.RotationEnabled {
			t.Errorf("RotationEnabled=%v, want present and false", out.RotationEnabled)
		}
		if out.RotationRules != nil {
			t.Errorf("RotationRules=%+v, want absent when no rules are set", out.RotationRules)
		}
	})
}

func TestSDKListSecrets(t *testing.T) {
	var got rotor.ListSecretsInput
	fs := &fakeSecrets{ListSecretsFn: func(_ context.Context, in rotor.ListSecretsInput) (*rotor.ListSecretsOutput, error) {
		got = in
		return &rotor.ListSecretsOutput{Secrets: []rotor.SecretDescription{*fullDescription(), {ARN: testARN + "2", Name: "other"}}, NextToken: "page-2"}, nil
	}}
	c := newClient(t, newHandler(fs, nil))
	out, err := c.ListSecrets(context.Background(), &secretsmanager.ListSecretsInput{
		IncludePlannedDeletion: aws.Bool(true), MaxResults: aws.Int32(7), NextToken: aws.String("page-1"),
		Filters:   []types.Filter{{Key: types.FilterNameStringTypeName, Values: []string{"db/", "!test"}}, {Key: types.FilterNameStringTypeTagKey, Values: []string{"env"}}},
		SortOrder: types.SortOrderTypeDesc, SortBy: types.SortByTypeName,
	})
	if err != nil {
		t.Fatal(err)
	}
	want := rotor.ListSecretsInput{IncludePlannedDeletion: true, MaxResults: 7, NextToken: "page-1",
		Filters: []rotor.Filter{{Key: "name", Values: []string{"db/", "!test"}}, {Key: "tag-key", Values: []string{"env"}}},
		SortBy:  "name", SortOrder: "desc"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("service got %+v, want %+v", got, want)
	}
	if aws.ToString(out.NextToken) != "page-2" || len(out.SecretList) != 2 {
		t.Fatalf("NextToken=%q, %d entries", aws.ToString(out.NextToken), len(out.SecretList))
	}
	e := out.SecretList[0]
	wantStages := map[string][]string{versionA: {"AWSPREVIOUS"}, versionB: {"AWSCURRENT", "AWSPENDING"}}
	if !reflect.DeepEqual(e.SecretVersionsToStages, wantStages) {
		t.Errorf("SecretVersionsToStages=%v, want %v", e.SecretVersionsToStages, wantStages)
	}
	timeEq(t, "LastAccessedDate", e.LastAccessedDate, accessedDay)
	timeEq(t, "CreatedDate", e.CreatedDate, created)
	timeEq(t, "LastRotatedDate", e.LastRotatedDate, changed)
	timeEq(t, "NextRotationDate", e.NextRotationDate, changed.Add(24*time.Hour))
	timeEq(t, "LastChangedDate", e.LastChangedDate, changed)
	timeEq(t, "DeletedDate", e.DeletedDate, changed.Add(time.Hour))
	if e.RotationEnabled == nil || !*e.RotationEnabled || aws.ToString(e.RotationLambdaARN) != lambdaARN {
		t.Errorf("entry RotationEnabled=%v RotationLambdaARN=%q", e.RotationEnabled, aws.ToString(e.RotationLambdaARN))
	}
	if r := e.RotationRules; r == nil || aws.ToInt64(r.AutomaticallyAfterDays) != 14 || aws.ToString(r.Duration) != "2h" ||
		aws.ToString(r.ScheduleExpression) != "cron(0 16 1,15 * ? *)" {
		t.Errorf("entry RotationRules=%+v", e.RotationRules)
	}
	if e.RotationEnabled == nil || !*e.RotationEnabled || len(e.Tags) != 2 {
		t.Errorf("entry RotationEnabled=%v Tags=%v", e.RotationEnabled, e.Tags)
	}
	if e2 := out.SecretList[1]; e2.SecretVersionsToStages != nil || e2.Tags != nil || e2.RotationEnabled != nil ||
		e2.LastRotatedDate != nil || e2.NextRotationDate != nil || e2.RotationRules != nil {
		t.Errorf("second entry has members that should be absent: %+v", e2)
	}

	t.Run("NoInput", func(t *testing.T) {
		got = rotor.ListSecretsInput{Filters: []rotor.Filter{{}}}
		if _, err := c.ListSecrets(context.Background(), &secretsmanager.ListSecretsInput{}); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, rotor.ListSecretsInput{}) {
			t.Errorf("service got %+v, want the zero input", got)
		}
	})
}

func TestSDKListSecretVersionIds(t *testing.T) {
	var got rotor.ListSecretVersionIdsInput
	fs := &fakeSecrets{ListSecretVersionIdsFn: func(_ context.Context, in rotor.ListSecretVersionIdsInput) (*rotor.ListSecretVersionIdsOutput, error) {
		got = in
		return &rotor.ListSecretVersionIdsOutput{ARN: testARN, Name: testName, NextToken: "more", Versions: []rotor.VersionEntry{
			{VersionID: versionB, Stages: []string{"AWSCURRENT", "A"}, LastAccessedDate: accessed, CreatedDate: changed, KmsKeyIDs: []string{"DefaultEncryptionKey"}},
			{VersionID: versionA, CreatedDate: created},
		}}, nil
	}}
	c := newClient(t, newHandler(fs, nil))
	out, err := c.ListSecretVersionIds(context.Background(), &secretsmanager.ListSecretVersionIdsInput{
		SecretId: aws.String(testName), MaxResults: aws.Int32(2), NextToken: aws.String("tok"), IncludeDeprecated: aws.Bool(true),
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := (rotor.ListSecretVersionIdsInput{SecretID: testName, MaxResults: 2, NextToken: "tok", IncludeDeprecated: true}); got != want {
		t.Errorf("service got %+v, want %+v", got, want)
	}
	if aws.ToString(out.ARN) != testARN || aws.ToString(out.Name) != testName || aws.ToString(out.NextToken) != "more" || len(out.Versions) != 2 {
		t.Fatalf("output %+v", out)
	}
	v0, v1 := out.Versions[0], out.Versions[1]
	if aws.ToString(v0.VersionId) != versionB || !slices.Equal(v0.VersionStages, []string{"A", "AWSCURRENT"}) ||
		!slices.Equal(v0.KmsKeyIds, []string{"DefaultEncryptionKey"}) {
		t.Errorf("first version %+v", v0)
	}
	timeEq(t, "LastAccessedDate", v0.LastAccessedDate, accessedDay)
	timeEq(t, "CreatedDate", v0.CreatedDate, changed)
	if aws.ToString(v1.VersionId) != versionA || v1.VersionStages != nil || v1.LastAccessedDate != nil || v1.KmsKeyIds != nil {
		t.Errorf("deprecated version %+v, want no VersionStages, LastAccessedDate or KmsKeyIds", v1)
	}
}

func TestSDKBatchGetSecretValue(t *testing.T) {
	var got rotor.BatchGetSecretValueInput
	fs := &fakeSecrets{BatchGetSecretValueFn: func(_ context.Context, in rotor.BatchGetSecretValueInput) (*rotor.BatchGetSecretValueOutput, error) {
		got = in
		return &rotor.BatchGetSecretValueOutput{
			Values: []rotor.SecretValue{
				{ARN: testARN, Name: testName, VersionID: versionA, Value: rotor.Value{String: ptr("one")}, Stages: []string{"AWSCURRENT"}, CreatedDate: created},
				{ARN: testARN + "b", Name: "bin", VersionID: versionB, Value: rotor.Value{Binary: []byte{9, 8, 7}}, Stages: []string{"AWSCURRENT"}, CreatedDate: changed},
			},
			Errors: []rotor.BatchError{
				{SecretID: "missing", Code: rotor.ENOTFOUND, Message: "Secrets Manager can't find the specified secret."},
				{SecretID: "locked", Code: rotor.EDECRYPT, Message: "cannot decrypt"},
				{SecretID: "denied", Code: rotor.EDENIED, Message: "no"},
				{SecretID: "broken", Code: rotor.EINTERNAL, Message: "disk full at /var/lib/x"},
			},
			NextToken: "n2",
		}, nil
	}}
	c := newClient(t, newHandler(fs, nil))
	out, err := c.BatchGetSecretValue(context.Background(), &secretsmanager.BatchGetSecretValueInput{
		SecretIdList: []string{testName, "missing", "locked", "denied", "broken"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got.SecretIDs, []string{testName, "missing", "locked", "denied", "broken"}) || got.Filters != nil || got.MaxResults != 0 {
		t.Errorf("service got %+v", got)
	}
	if len(out.SecretValues) != 2 || aws.ToString(out.SecretValues[0].SecretString) != "one" ||
		!slices.Equal(out.SecretValues[1].SecretBinary, []byte{9, 8, 7}) || aws.ToString(out.NextToken) != "n2" {
		t.Fatalf("output %+v", out)
	}
	timeEq(t, "CreatedDate", out.SecretValues[1].CreatedDate, changed)
	wantErrs := [][3]string{
		{"missing", "ResourceNotFoundException", "Secrets Manager can't find the specified secret."},
		{"locked", "DecryptionFailure", "cannot decrypt"},
		{"denied", "AccessDeniedException", "no"},
		{"broken", "InternalServiceError", "An error occurred on the server side."},
	}
	if len(out.Errors) != len(wantErrs) {
		t.Fatalf("Errors=%+v", out.Errors)
	}
	for i, w := range wantErrs {
		e := out.Errors[i]
		if g := [3]string{aws.ToString(e.SecretId), aws.ToString(e.ErrorCode), aws.ToString(e.Message)}; g != w {
			t.Errorf("Errors[%d]=%v, want %v", i, g, w)
		}
	}

	t.Run("Filters", func(t *testing.T) {
		if _, err := c.BatchGetSecretValue(context.Background(), &secretsmanager.BatchGetSecretValueInput{
			Filters: []types.Filter{{Key: types.FilterNameStringTypeAll, Values: []string{"prod"}}}, MaxResults: aws.Int32(20), NextToken: aws.String("t"),
		}); err != nil {
			t.Fatal(err)
		}
		want := rotor.BatchGetSecretValueInput{Filters: []rotor.Filter{{Key: "all", Values: []string{"prod"}}}, MaxResults: 20, NextToken: "t"}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("service got %+v, want %+v", got, want)
		}
	})
}

func TestSDKPutSecretValue(t *testing.T) {
	var got rotor.PutSecretValueInput
	fs := &fakeSecrets{PutSecretValueFn: func(_ context.Context, in rotor.PutSecretValueInput) (*rotor.VersionResult, error) {
		got = in
		return &rotor.VersionResult{ARN: testARN, Name: testName, VersionID: in.ClientRequestToken, Stages: []string{"PENDING2", "AWSPENDING"}}, nil
	}}
	c := newClient(t, newHandler(fs, nil))
	token := strings.Repeat("r", 36)
	out, err := c.PutSecretValue(context.Background(), &secretsmanager.PutSecretValueInput{
		SecretId: aws.String(testARN), ClientRequestToken: aws.String(versionC), SecretString: aws.String("v2"),
		VersionStages: []string{"AWSPENDING", "PENDING2"}, RotationToken: aws.String(token),
	})
	if err != nil {
		t.Fatal(err)
	}
	want := rotor.PutSecretValueInput{SecretID: testARN, ClientRequestToken: versionC, Value: rotor.Value{String: ptr("v2")},
		Stages: []string{"AWSPENDING", "PENDING2"}, RotationToken: token}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("service got %+v, want %+v", got, want)
	}
	if aws.ToString(out.VersionId) != versionC || !slices.Equal(out.VersionStages, []string{"AWSPENDING", "PENDING2"}) || aws.ToString(out.ARN) != testARN {
		t.Errorf("output ARN=%q VersionId=%q VersionStages=%v", aws.ToString(out.ARN), aws.ToString(out.VersionId), out.VersionStages)
	}

	t.Run("NoStagesIsNil", func(t *testing.T) {
		if _, err := c.PutSecretValue(context.Background(), &secretsmanager.PutSecretValueInput{
			SecretId: aws.String(testARN), SecretBinary: []byte("b"),
		}); err != nil {
			t.Fatal(err)
		}
		if got.Stages != nil || string(got.Value.Binary) != "b" || got.Value.String != nil {
			t.Errorf("service got Stages=%v Value=%+v, want nil stages and the binary value", got.Stages, got.Value)
		}
	})
}

func TestSDKUpdateSecret(t *testing.T) {
	var got rotor.UpdateSecretInput
	fs := &fakeSecrets{UpdateSecretFn: func(_ context.Context, in rotor.UpdateSecretInput) (*rotor.VersionResult, error) {
		got = in
		if in.Value.IsZero() {
			return &rotor.VersionResult{ARN: testARN, Name: testName}, nil
		}
		return &rotor.VersionResult{ARN: testARN, Name: testName, VersionID: in.ClientRequestToken}, nil
	}}
	c := newClient(t, newHandler(fs, nil))

	out, err := c.UpdateSecret(context.Background(), &secretsmanager.UpdateSecretInput{
		SecretId: aws.String(testName), Description: aws.String(""), KmsKeyId: aws.String(""),
	})
	if err != nil {
		t.Fatal(err)
	}
	if got.Description == nil || *got.Description != "" || got.KmsKeyID == nil || *got.KmsKeyID != "" || got.Type != nil || !got.Value.IsZero() {
		t.Errorf("service got %+v, want Description and KmsKeyID set to empty, Type nil, no value", got)
	}
	if out.VersionId != nil {
		t.Errorf("VersionId=%q, want absent for a metadata-only update", *out.VersionId)
	}

	out, err = c.UpdateSecret(context.Background(), &secretsmanager.UpdateSecretInput{
		SecretId: aws.String(testName), ClientRequestToken: aws.String(versionB), SecretString: aws.String("new"), Type: aws.String("t"),
	})
	if err != nil {
		t.Fatal(err)
	}
	if got.Description != nil || got.KmsKeyID != nil || aws.ToString(got.Type) != "t" || aws.ToString(got.Value.String) != "new" || got.ClientRequestToken != versionB {
		t.Errorf("service got %+v, want only Type, token and value", got)
	}
	if aws.ToString(out.VersionId) != versionB {
		t.Errorf("VersionId=%q, want %q", aws.ToString(out.VersionId), versionB)
	}
}

func TestSDKUpdateSecretVersionStage(t *testing.T) {
	var got rotor.UpdateSecretVersionStageInput
	fs := &fakeSecrets{UpdateSecretVersionStageFn: func(_ context.Context, in rotor.UpdateSecretVersionStageInput) (*rotor.SecretRef, error) {
		got = in
		return &rotor.SecretRef{ARN: testARN, Name: testName}, nil
	}}
	c := newClient(t, newHandler(fs, nil))
	out, err := c.UpdateSecretVersionStage(context.Background(), &secretsmanager.UpdateSecretVersionStageInput{
		SecretId: aws.String(testName), VersionStage: aws.String("AWSCURRENT"), MoveToVersionId: aws.String(versionB), RemoveFromVersionId: aws.String(versionA),
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := (rotor.UpdateSecretVersionStageInput{SecretID: testName, VersionStage: "AWSCURRENT", MoveToVersionID: versionB, RemoveFromVersionID: versionA}); got != want {
		t.Errorf("service got %+v, want %+v", got, want)
	}
	if aws.ToString(out.ARN) != testARN || aws.ToString(out.Name) != testName {
		t.Errorf("output ARN=%q Name=%q", aws.ToString(out.ARN), aws.ToString(out.Name))
	}
}

func TestSDKDeleteAndRestoreSecret(t *testing.T) {
	var got rotor.DeleteSecretInput
	var restored string
	deletion := ms(1700600000500)
	fs := &fakeSecrets{
		DeleteSecretFn: func(_ context.Context, in rotor.DeleteSecretInput) (*rotor.DeleteSecretOutput, error) {
			got = in
			return &rotor.DeleteSecretOutput{ARN: testARN, Name: testName, DeletionDate: deletion}, nil
		},
		RestoreSecretFn: func(_ context.Context, id string) (*rotor.SecretRef, error) {
			restored = id
			return &rotor.SecretRef{ARN: testARN, Name: testName}, nil
		},
	}
	c := newClient(t, newHandler(fs, nil))
	tests := []struct {
		name string
		in   secretsmanager.DeleteSecretInput
		want rotor.DeleteSecretInput
	}{
		{"Default", secretsmanager.DeleteSecretInput{SecretId: aws.String(testName)}, rotor.DeleteSecretInput{SecretID: testName}},
		{"Window", secretsmanager.DeleteSecretInput{SecretId: aws.String(testName), RecoveryWindowInDays: aws.Int64(7)}, rotor.DeleteSecretInput{SecretID: testName, RecoveryWindowDays: 7}},
		{"Force", secretsmanager.DeleteSecretInput{SecretId: aws.String(testName), ForceDeleteWithoutRecovery: aws.Bool(true)}, rotor.DeleteSecretInput{SecretID: testName, ForceDelete: true}},
		{"ExplicitFalse", secretsmanager.DeleteSecretInput{SecretId: aws.String(testName), ForceDeleteWithoutRecovery: aws.Bool(false)}, rotor.DeleteSecretInput{SecretID: testName}},
		{"BothPassedOn", secretsmanager.DeleteSecretInput{SecretId: aws.String(testName), RecoveryWindowInDays: aws.Int64(40), ForceDeleteWithoutRecovery: aws.Bool(true)},
			rotor.DeleteSecretInput{SecretID: testName, RecoveryWindowDays: 40, ForceDelete: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := c.DeleteSecret(context.Background(), &tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("service got %+v, want %+v", got, tt.want)
			}
			timeEq(t, "DeletionDate", out.DeletionDate, deletion)
			if aws.ToString(out.ARN) != testARN || aws.ToString(out.Name) != testName {
				t.Errorf("output ARN=%q Name=%q", aws.ToString(out.ARN), aws.ToString(out.Name))
			}
		})
	}
	t.Run("ExplicitZeroWindow", func(t *testing.T) {
		before := fs.calls.Load()
		_, err := c.DeleteSecret(context.Background(), &secretsmanager.DeleteSecretInput{SecretId: aws.String(testName), RecoveryWindowInDays: aws.Int64(0)})
		wantAPIError(t, err, "InvalidParameterException", "The RecoveryWindowInDays value must be between 7 and 30 days (inclusive).")
		_, err = c.DeleteSecret(context.Background(), &secretsmanager.DeleteSecretInput{SecretId: aws.String(testName), RecoveryWindowInDays: aws.Int64(0), ForceDeleteWithoutRecovery: aws.Bool(true)})
		wantAPIError(t, err, "InvalidParameterException", "You can't use ForceDeleteWithoutRecovery in conjunction with RecoveryWindowInDays.")
		if fs.calls.Load() != before {
			t.Error("service called for an explicit zero window")
		}
	})
	t.Run("Restore", func(t *testing.T) {
		out, err := c.RestoreSecret(context.Background(), &secretsmanager.RestoreSecretInput{SecretId: aws.String(testARN)})
		if err != nil {
			t.Fatal(err)
		}
		if restored != testARN || aws.ToString(out.ARN) != testARN || aws.ToString(out.Name) != testName {
			t.Errorf("service got %q; output ARN=%q Name=%q", restored, aws.ToString(out.ARN), aws.ToString(out.Name))
		}
	})
}

func TestSDKTagUntag(t *testing.T) {
	var gotID string
	var gotTags []rotor.Tag
	var gotKeys []string
	fs := &fakeSecrets{
		TagResourceFn: func(_ context.Context, id string, tags []rotor.Tag) error {
			gotID, gotTags = id, tags
			return nil
		},
		UntagResourceFn: func(_ context.Context, id string, keys []string) error {
			gotID, gotKeys = id, keys
			return nil
		},
	}
	c := newClient(t, newHandler(fs, nil))
	if _, err := c.TagResource(context.Background(), &secretsmanager.TagResourceInput{
		SecretId: aws.String(testName), Tags: []types.Tag{{Key: aws.String("k1"), Value: aws.String("v1")}, {Key: aws.String("K1"), Value: aws.String("")}},
	}); err != nil {
		t.Fatal(err)
	}
	if want := []rotor.Tag{{Key: "k1", Value: "v1"}, {Key: "K1", Value: ""}}; gotID != testName || !reflect.DeepEqual(gotTags, want) {
		t.Errorf("TagResource got %q %v, want %q %v", gotID, gotTags, testName, want)
	}
	if _, err := c.UntagResource(context.Background(), &secretsmanager.UntagResourceInput{
		SecretId: aws.String(testARN), TagKeys: []string{"k1", "absent"},
	}); err != nil {
		t.Fatal(err)
	}
	if gotID != testARN || !slices.Equal(gotKeys, []string{"k1", "absent"}) {
		t.Errorf("UntagResource got %q %v", gotID, gotKeys)
	}
}

func TestSDKGetRandomPassword(t *testing.T) {
	var got rotor.PasswordSpec
	fs := &fakeSecrets{GetRandomPasswordFn: func(_ context.Context, spec rotor.PasswordSpec) (string, error) {
		got = spec
		return "p@ss w0rd", nil
	}}
	c := newClient(t, newHandler(fs, nil))
	tests := []struct {
		name string
		in   secretsmanager.GetRandomPasswordInput
		want rotor.PasswordSpec
	}{
		{"Defaults", secretsmanager.GetRandomPasswordInput{}, rotor.DefaultPasswordSpec()},
		{"AllExplicit", secretsmanager.GetRandomPasswordInput{
			PasswordLength: aws.Int64(20), ExcludeCharacters: aws.String(`/@"'\`), ExcludeNumbers: aws.Bool(true),
			ExcludePunctuation: aws.Bool(true), ExcludeUppercase: aws.Bool(true), ExcludeLowercase: aws.Bool(false),
			IncludeSpace: aws.Bool(true), RequireEachIncludedType: aws.Bool(false),
		}, rotor.PasswordSpec{Length: 20, ExcludeCharacters: `/@"'\`, ExcludeNumbers: true, ExcludePunctuation: true,
			ExcludeUppercase: true, IncludeSpace: true, RequireEachIncludedType: false}},
		{"ExplicitFalseStaysFalse", secretsmanager.GetRandomPasswordInput{
			ExcludeNumbers: aws.Bool(false), ExcludePunctuation: aws.Bool(false), ExcludeUppercase: aws.Bool(false),
			ExcludeLowercase: aws.Bool(false), IncludeSpace: aws.Bool(false), RequireEachIncludedType: aws.Bool(true),
		}, rotor.DefaultPasswordSpec()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := c.GetRandomPassword(context.Background(), &tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("service got %+v, want %+v", got, tt.want)
			}
			if aws.ToString(out.RandomPassword) != "p@ss w0rd" {
				t.Errorf("RandomPassword=%q", aws.ToString(out.RandomPassword))
			}
		})
	}
}

// TestSDKErrors checks every domain error code reaches the SDK as the AWS
// exception of the table, typed where the model declares it, with the
// domain message.
func TestSDKErrors(t *testing.T) {
	tests := []struct {
		code  string
		want  string
		typed any // pointer to the SDK's typed error, nil when AWS does not model it
	}{
		{rotor.ENOTFOUND, "ResourceNotFoundException", new(*types.ResourceNotFoundException)},
		{rotor.EEXISTS, "ResourceExistsException", new(*types.ResourceExistsException)},
		{rotor.EINVALID, "InvalidParameterException", new(*types.InvalidParameterException)},
		{rotor.EVALIDATION, "ValidationException", nil},
		{rotor.ESTATE, "InvalidRequestException", new(*types.InvalidRequestException)},
		{rotor.ELIMIT, "LimitExceededException", new(*types.LimitExceededException)},
		{rotor.EPRECONDITION, "PreconditionNotMetException", new(*types.PreconditionNotMetException)},
		{rotor.ENEXTTOKEN, "InvalidNextTokenException", new(*types.InvalidNextTokenException)},
		{rotor.EENCRYPT, "EncryptionFailure", new(*types.EncryptionFailure)},
		{rotor.EDECRYPT, "DecryptionFailure", new(*types.DecryptionFailure)},
		{rotor.EDENIED, "AccessDeniedException", nil},
		{rotor.ETHROTTLED, "ThrottlingException", nil},
		{rotor.EUNSUPPORTED, "InvalidRequestException", new(*types.InvalidRequestException)},
		{rotor.EPOLICY, "MalformedPolicyDocumentException", new(*types.MalformedPolicyDocumentException)},
		{rotor.EPUBLICPOLICY, "PublicPolicyException", new(*types.PublicPolicyException)},
		{rotor.EAUTHMISSING, "MissingAuthenticationTokenException", nil},
		{rotor.EAUTHINCOMPLETE, "IncompleteSignatureException", nil},
		{rotor.EAUTHUNKNOWN, "UnrecognizedClientException", nil},
		{rotor.EAUTHSIGNATURE, "InvalidSignatureException", nil},
		{rotor.EAUTHEXPIRED, "ExpiredTokenException", nil},
	}
	for _, tt := range tests {
		t.Run(tt.code, func(t *testing.T) {
			msg := "message for " + tt.code + " with <special> & \"quotes\""
			fs := &fakeSecrets{DescribeSecretFn: func(context.Context, string) (*rotor.SecretDescription, error) {
				return nil, errors.Join(errors.New("context"), &rotor.Error{Code: tt.code, Message: msg, Err: errors.New("internal cause")})
			}}
			c := newClient(t, newHandler(fs, nil))
			_, err := c.DescribeSecret(context.Background(), &secretsmanager.DescribeSecretInput{SecretId: aws.String(testName)})
			wantAPIError(t, err, tt.want, msg)
			if tt.typed != nil && !errors.As(err, tt.typed) {
				t.Errorf("err %T is not the SDK's typed %T", err, tt.typed)
			}
			var re *awshttp.ResponseError
			if !errors.As(err, &re) {
				t.Fatalf("err %T carries no HTTP response", err)
			}
			wantStatus := 400
			if re.HTTPStatusCode() != wantStatus || len(re.ServiceRequestID()) != 36 {
				t.Errorf("status=%d request id=%q, want %d and a UUID", re.HTTPStatusCode(), re.ServiceRequestID(), wantStatus)
			}
		})
	}
}

// TestSDKInternalError checks a non-rotor error (and an EINTERNAL one) is a
// 500 InternalServiceError with a generic message, its cause logged with the
// request id and never sent.
func TestSDKInternalError(t *testing.T) {
	for name, cause := range map[string]error{
		"PlainError":    errors.New("sqlite: disk I/O error at /var/lib/rotor hunter2"),
		"EINTERNAL":     &rotor.Error{Code: rotor.EINTERNAL, Message: "store failed hunter2", Err: errors.New("disk")},
		"UnknownCode":   &rotor.Error{Code: "no-such-code", Message: "hunter2"},
		"NilResultOnly": nil,
	} {
		t.Run(name, func(t *testing.T) {
			var logs logBuffer
			fs := &fakeSecrets{GetSecretValueFn: func(context.Context, rotor.GetSecretValueInput) (*rotor.SecretValue, error) {
				return nil, cause
			}}
			h := newHandler(fs, nil)
			h.Logger = newLogger(&logs)
			c := newClient(t, h)
			_, err := c.GetSecretValue(context.Background(), &secretsmanager.GetSecretValueInput{SecretId: aws.String(testName)})
			wantAPIError(t, err, "InternalServiceError", "An error occurred on the server side.")
			var typed *types.InternalServiceError
			if !errors.As(err, &typed) {
				t.Errorf("err %T is not *types.InternalServiceError", err)
			}
			var re *awshttp.ResponseError
			if !errors.As(err, &re) || re.HTTPStatusCode() != 500 {
				t.Fatalf("err=%v, want an HTTP 500", err)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("client error %q reveals the internal cause", err)
			}
			if l := logs.String(); !strings.Contains(l, re.ServiceRequestID()) || !strings.Contains(l, `"level":"ERROR"`) ||
				(cause != nil && !strings.Contains(l, "hunter2")) {
				t.Errorf("log %q lacks an error entry with the request id and cause", l)
			}
		})
	}
}

// TestSDKUnsupported checks each unsupported operation of a handler without
// a rotation engine (RotateSecret and CancelRotateSecret included) answers
// InvalidRequestException, after authentication, without calling the service.
func TestSDKUnsupported(t *testing.T) {
	fs := &fakeSecrets{}
	auth := &acceptAll{}
	h := &awsapi.Handler{Secrets: fs, Auth: auth}
	c := newClient(t, h)
	ctx := context.Background()
	id := aws.String(testName)
	calls := map[string]func() error{
		"RotateSecret": func() error {
			_, err := c.RotateSecret(ctx, &secretsmanager.RotateSecretInput{SecretId: id})
			return err
		},
		"CancelRotateSecret": func() error {
			_, err := c.CancelRotateSecret(ctx, &secretsmanager.CancelRotateSecretInput{SecretId: id})
			return err
		},
		"ReplicateSecretToRegions": func() error {
			_, err := c.ReplicateSecretToRegions(ctx, &secretsmanager.ReplicateSecretToRegionsInput{SecretId: id,
				AddReplicaRegions: []types.ReplicaRegionType{{Region: aws.String("us-east-2")}}})
			return err
		},
		"RemoveRegionsFromReplication": func() error {
			_, err := c.RemoveRegionsFromReplication(ctx, &secretsmanager.RemoveRegionsFromReplicationInput{SecretId: id, RemoveReplicaRegions: []string{"us-east-2"}})
			return err
		},
		"StopReplicationToReplica": func() error {
			_, err := c.StopReplicationToReplica(ctx, &secretsmanager.StopReplicationToReplicaInput{SecretId: id})
			return err
		},
	}
	if got := h.Unsupported(); len(got) != len(calls) {
		t.Fatalf("Unsupported()=%v, but this test covers %d operations", got, len(calls))
	}
	for _, op := range h.Unsupported() {
		t.Run(op, func(t *testing.T) {
			call, ok := calls[op]
			if !ok {
				t.Fatalf("no SDK call for %s", op)
			}
			before := auth.calls.Load()
			err := call()
			wantAPIError(t, err, "InvalidRequestException", op+" is not available in this version of Rotor yet.")
			var typed *types.InvalidRequestException
			if !errors.As(err, &typed) {
				t.Errorf("err %T is not *types.InvalidRequestException", err)
			}
			if auth.calls.Load() != before+1 {
				t.Error("request was not authenticated")
			}
		})
	}
	if fs.calls.Load() != 0 {
		t.Errorf("service called %d times", fs.calls.Load())
	}
}
