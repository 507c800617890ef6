package awsapi_test

import (
	"context"
	"errors"
	"net/http"
	"reflect"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	"github.com/google/uuid"

	"github.com/rotorhq/rotor"
	"github.com/rotorhq/rotor/awsapi"
)

// newRotationHandler returns a Handler over the fakes with a rotation engine
// and an accept-all authenticator.
func newRotationHandler(fs *fakeSecrets, fr *fakeRotation) *awsapi.Handler {
	return &awsapi.Handler{Secrets: fs, Rotation: fr, Auth: &acceptAll{}}
}

// recordRotate returns a Rotator that records every RotateSecret input and
// answers with the token as the version id.
func recordRotate(got *[]rotor.RotateSecretInput) *fakeRotation {
	return &fakeRotation{RotateSecretFn: func(_ context.Context, in rotor.RotateSecretInput) (*rotor.VersionResult, error) {
		*got = append(*got, in)
		return &rotor.VersionResult{ARN: testARN, Name: testName, VersionID: in.ClientRequestToken}, nil
	}}
}

func TestSDKRotateSecret(t *testing.T) {
	tests := []struct {
		name string
		in   secretsmanager.RotateSecretInput
		want rotor.RotateSecretInput
	}{
		{"StoredConfigImmediatelyByDefault",
			secretsmanager.RotateSecretInput{SecretId: aws.String(testName), ClientRequestToken: aws.String(versionC)},
			rotor.RotateSecretInput{SecretID: testName, ClientRequestToken: versionC}},
		{"RotateImmediatelyFalse",
			secretsmanager.RotateSecretInput{SecretId: aws.String(testName), ClientRequestToken: aws.String(versionC), RotateImmediately: aws.Bool(false)},
			rotor.RotateSecretInput{SecretID: testName, ClientRequestToken: versionC, RotateImmediately: ptr(false)}},
		{"RotateImmediatelyTrue",
			secretsmanager.RotateSecretInput{SecretId: aws.String(testName), ClientRequestToken: aws.String(versionC), RotateImmediately: aws.Bool(true)},
			rotor.RotateSecretInput{SecretID: testName, ClientRequestToken: versionC, RotateImmediately: ptr(true)}},
		{"FunctionAndDays",
			secretsmanager.RotateSecretInput{SecretId: aws.String(testARN), ClientRequestToken: aws.String(versionC), RotationLambdaARN: aws.String(lambdaARN),
				RotationRules: &types.RotationRulesType{AutomaticallyAfterDays: aws.Int64(30), Duration: aws.String("3h")}},
			rotor.RotateSecretInput{SecretID: testARN, ClientRequestToken: versionC, RotationLambdaARN: lambdaARN,
				RotationRules: &rotor.RotationRules{AutomaticallyAfterDays: 30, Duration: "3h"}}},
		{"ScheduleExpressionAtBounds",
			secretsmanager.RotateSecretInput{SecretId: aws.String(testName), ClientRequestToken: aws.String(versionC),
				RotationRules: &types.RotationRulesType{ScheduleExpression: aws.String("cron(0 16 1,15 * ? *)"), AutomaticallyAfterDays: aws.Int64(1000)}},
			rotor.RotateSecretInput{SecretID: testName, ClientRequestToken: versionC,
				RotationRules: &rotor.RotationRules{AutomaticallyAfterDays: 1000, ScheduleExpression: "cron(0 16 1,15 * ? *)"}}},
		{"OneDay",
			secretsmanager.RotateSecretInput{SecretId: aws.String(testName), ClientRequestToken: aws.String(versionC),
				RotationRules: &types.RotationRulesType{AutomaticallyAfterDays: aws.Int64(1)}},
			rotor.RotateSecretInput{SecretID: testName, ClientRequestToken: versionC, RotationRules: &rotor.RotationRules{AutomaticallyAfterDays: 1}}},
		{"EmptyRulesAreGiven",
			secretsmanager.RotateSecretInput{SecretId: aws.String(testName), ClientRequestToken: aws.String(versionC), RotationRules: &types.RotationRulesType{}},
			rotor.RotateSecretInput{SecretID: testName, ClientRequestToken: versionC, RotationRules: &rotor.RotationRules{}}},
	}
	var got []rotor.RotateSecretInput
	c := newClient(t, newRotationHandler(nil, recordRotate(&got)))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got = nil
			out, err := c.RotateSecret(context.Background(), &tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 1 || !reflect.DeepEqual(got[0], tt.want) {
				t.Fatalf("service got %+v, want one call with %+v", got, tt.want)
			}
			if aws.ToString(out.ARN) != testARN || aws.ToString(out.Name) != testName || aws.ToString(out.VersionId) != versionC {
				t.Errorf("output ARN=%q Name=%q VersionId=%q", aws.ToString(out.ARN), aws.ToString(out.Name), aws.ToString(out.VersionId))
			}
		})
	}
	t.Run("SDKGeneratesToken", func(t *testing.T) {
		got = nil
		out, err := c.RotateSecret(context.Background(), &secretsmanager.RotateSecretInput{SecretId: aws.String(testName)})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 {
			t.Fatalf("service called %d times", len(got))
		}
		if _, err := uuid.Parse(got[0].ClientRequestToken); err != nil {
			t.Errorf("ClientRequestToken=%q, want the SDK's generated UUID", got[0].ClientRequestToken)
		}
		if aws.ToString(out.VersionId) != got[0].ClientRequestToken {
			t.Errorf("VersionId=%q, want the token %q", aws.ToString(out.VersionId), got[0].ClientRequestToken)
		}
	})
	t.Run("Caller", func(t *testing.T) {
		var caller rotor.Caller
		fr := &fakeRotation{RotateSecretFn: func(ctx context.Context, in rotor.RotateSecretInput) (*rotor.VersionResult, error) {
			caller, _ = rotor.CallerFrom(ctx)
			return &rotor.VersionResult{ARN: testARN, Name: testName, VersionID: in.ClientRequestToken}, nil
		}}
		c := newClient(t, newRotationHandler(nil, fr))
		if _, err := c.RotateSecret(context.Background(), &secretsmanager.RotateSecretInput{SecretId: aws.String(testName)}); err != nil {
			t.Fatal(err)
		}
		if caller.Region != testRegion || !reflect.DeepEqual(caller.Principal, testPrincipal) || caller.RequestID == "" {
			t.Errorf("Caller=%+v, want the authenticated principal, region and a request id", caller)
		}
	})
}

// TestSDKRotateSecretRefused checks the requests the wire layer refuses
// itself, with AWS's exception and text, before the rotation engine is
// called.
func TestSDKRotateSecretRefused(t *testing.T) {
	const daysMsg = "RotationRules.AutomaticallyAfterDays must be within 1-1000."
	const externalMsg = "managed external secrets are not available in this version of Rotor yet."
	tests := []struct {
		name      string
		in        secretsmanager.RotateSecretInput
		code, msg string
	}{
		{"ExplicitZeroDays", secretsmanager.RotateSecretInput{SecretId: aws.String(testName),
			RotationRules: &types.RotationRulesType{AutomaticallyAfterDays: aws.Int64(0)}}, "InvalidParameterException", daysMsg},
		{"NegativeDays", secretsmanager.RotateSecretInput{SecretId: aws.String(testName),
			RotationRules: &types.RotationRulesType{AutomaticallyAfterDays: aws.Int64(-3), Duration: aws.String("2h")}}, "InvalidParameterException", daysMsg},
		{"TooManyDays", secretsmanager.RotateSecretInput{SecretId: aws.String(testName),
			RotationRules: &types.RotationRulesType{AutomaticallyAfterDays: aws.Int64(1001)}}, "InvalidParameterException", daysMsg},
		{"ExternalMetadata", secretsmanager.RotateSecretInput{SecretId: aws.String(testName),
			ExternalSecretRotationMetadata: []types.ExternalSecretRotationMetadataItem{{Key: aws.String("k"), Value: aws.String("v")}}},
			"InvalidRequestException", externalMsg},
		{"ExternalRoleArn", secretsmanager.RotateSecretInput{SecretId: aws.String(testName),
			ExternalSecretRotationRoleArn: aws.String("arn:aws:iam::000000000000:role/partner")}, "InvalidRequestException", externalMsg},
		{"OtherConstraintsStillValidationException", secretsmanager.RotateSecretInput{SecretId: aws.String(testName),
			RotationRules: &types.RotationRulesType{AutomaticallyAfterDays: aws.Int64(0), Duration: aws.String("3d")}}, "ValidationException",
			"1 validation error detected: Value '3d' at 'rotationRules.duration' failed to satisfy constraint: Member must satisfy regular expression pattern: [0-9]+h"},
	}
	fr := &fakeRotation{}
	c := newClient(t, newRotationHandler(nil, fr))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := c.RotateSecret(context.Background(), &tt.in)
			wantAPIError(t, err, tt.code, tt.msg)
		})
	}
	if n := fr.calls.Load(); n != 0 {
		t.Errorf("rotation engine called %d times, want 0", n)
	}
}

// TestRawRotateSecret covers what the SDK never sends: a request without a
// ClientRequestToken, which AWS refuses with InvalidParameterException
// before looking at anything else, and the exact response JSON.
func TestRawRotateSecret(t *testing.T) {
	var got []rotor.RotateSecretInput
	fr := recordRotate(&got)
	h := newRotationHandler(nil, fr)
	t.Run("MissingToken", func(t *testing.T) {
		for _, body := range []string{
			`{"SecretId":"s"}`,
			`{"SecretId":"s","ClientRequestToken":null}`,
			`{"SecretId":"s","RotationRules":{"AutomaticallyAfterDays":0},"ExternalSecretRotationRoleArn":"arn:aws:iam::000000000000:role/partner"}`,
		} {
			rec := post(t, h, "secretsmanager.RotateSecret", body)
			if msg := mustError(t, rec, http.StatusBadRequest, "InvalidParameterException"); msg != "You must provide a ClientRequestToken value. We recommend a UUID-type value." {
				t.Errorf("body %s: Message=%q", body, msg)
			}
		}
		if n := fr.calls.Load(); n != 0 {
			t.Errorf("rotation engine called %d times, want 0", n)
		}
	})
	t.Run("ShortTokenIsValidationException", func(t *testing.T) {
		rec := post(t, h, "secretsmanager.RotateSecret", `{"SecretId":"s","ClientRequestToken":"short"}`)
		if msg := mustError(t, rec, http.StatusBadRequest, "ValidationException"); msg != "1 validation error detected: Value 'short' at 'clientRequestToken' failed to satisfy constraint: Member must have length greater than or equal to 32" {
			t.Errorf("Message=%q", msg)
		}
	})
	t.Run("ResponseBody", func(t *testing.T) {
		got = nil
		rec := post(t, h, "secretsmanager.RotateSecret", `{"SecretId":"s","ClientRequestToken":"`+versionC+`","RotationRules":{"AutomaticallyAfterDays":7}}`)
		mustJSON(t, rec)
		if want := `{"ARN":"` + testARN + `","Name":"` + testName + `","VersionId":"` + versionC + `"}`; rec.Body.String() != want {
			t.Errorf("body=%s, want %s", rec.Body.String(), want)
		}
		want := rotor.RotateSecretInput{SecretID: "s", ClientRequestToken: versionC, RotationRules: &rotor.RotationRules{AutomaticallyAfterDays: 7}}
		if len(got) != 1 || !reflect.DeepEqual(got[0], want) {
			t.Errorf("service got %+v, want %+v", got, want)
		}
	})
}

func TestSDKCancelRotateSecret(t *testing.T) {
	var gotID string
	fr := &fakeRotation{CancelRotateSecretFn: func(_ context.Context, id string) (*rotor.VersionResult, error) {
		gotID = id
		if id == "idle" {
			return &rotor.VersionResult{ARN: testARN, Name: testName}, nil
		}
		return &rotor.VersionResult{ARN: testARN, Name: testName, VersionID: versionC}, nil
	}}
	h := newRotationHandler(nil, fr)
	c := newClient(t, h)
	out, err := c.CancelRotateSecret(context.Background(), &secretsmanager.CancelRotateSecretInput{SecretId: aws.String(testARN)})
	if err != nil {
		t.Fatal(err)
	}
	if gotID != testARN {
		t.Errorf("service got %q, want %q", gotID, testARN)
	}
	if aws.ToString(out.ARN) != testARN || aws.ToString(out.Name) != testName || aws.ToString(out.VersionId) != versionC {
		t.Errorf("output ARN=%q Name=%q VersionId=%q", aws.ToString(out.ARN), aws.ToString(out.Name), aws.ToString(out.VersionId))
	}
	t.Run("NoRunNoVersionId", func(t *testing.T) {
		rec := post(t, h, "secretsmanager.CancelRotateSecret", `{"SecretId":"idle"}`)
		mustJSON(t, rec)
		if want := `{"ARN":"` + testARN + `","Name":"` + testName + `"}`; rec.Body.String() != want {
			t.Errorf("body=%s, want %s", rec.Body.String(), want)
		}
	})
	t.Run("SecretIdRequired", func(t *testing.T) {
		before := fr.calls.Load()
		rec := post(t, h, "secretsmanager.CancelRotateSecret", `{}`)
		if msg := mustError(t, rec, http.StatusBadRequest, "ValidationException"); msg != "1 validation error detected: Value null at 'secretId' failed to satisfy constraint: Member must not be null" {
			t.Errorf("Message=%q", msg)
		}
		if fr.calls.Load() != before {
			t.Error("rotation engine called")
		}
	})
}

// TestSDKRotationErrors checks the engine's errors reach the SDK as the AWS
// exceptions of the table, with the engine's message.
func TestSDKRotationErrors(t *testing.T) {
	const deniedMsg = "Secrets Manager cannot invoke the specified Lambda function. Ensure that the function policy grants access to the principal secretsmanager.amazonaws.com."
	tests := []struct {
		name, code, exception, msg string
		typed                      any
	}{
		{"Denied", rotor.EDENIED, "AccessDeniedException", deniedMsg, nil},
		{"PreviousRotation", rotor.ESTATE, "InvalidRequestException", "A previous rotation isn't complete. That rotation will be reattempted.", new(*types.InvalidRequestException)},
		{"NoFunction", rotor.ESTATE, "InvalidRequestException", "No Lambda rotation function ARN is associated with this secret.", new(*types.InvalidRequestException)},
		{"NotFound", rotor.ENOTFOUND, "ResourceNotFoundException", "Secrets Manager can't find the specified secret.", new(*types.ResourceNotFoundException)},
		{"BadSchedule", rotor.EINVALID, "InvalidParameterException", "Invalid schedule expression.", new(*types.InvalidParameterException)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fail := &rotor.Error{Code: tt.code, Message: tt.msg, Err: errors.New("internal cause")}
			fr := &fakeRotation{
				RotateSecretFn:       func(context.Context, rotor.RotateSecretInput) (*rotor.VersionResult, error) { return nil, fail },
				CancelRotateSecretFn: func(context.Context, string) (*rotor.VersionResult, error) { return nil, fail },
			}
			c := newClient(t, newRotationHandler(nil, fr))
			_, err := c.RotateSecret(context.Background(), &secretsmanager.RotateSecretInput{SecretId: aws.String(testName), RotationLambdaARN: aws.String(lambdaARN)})
			wantAPIError(t, err, tt.exception, tt.msg)
			if tt.typed != nil && !errors.As(err, tt.typed) {
				t.Errorf("err %T is not the SDK's typed %T", err, tt.typed)
			}
			_, err = c.CancelRotateSecret(context.Background(), &secretsmanager.CancelRotateSecretInput{SecretId: aws.String(testName)})
			wantAPIError(t, err, tt.exception, tt.msg)
		})
	}
}

// TestRotationWithoutSecretService checks the rotation operations need only
// the rotation engine, while the other operations still need Secrets.
func TestRotationWithoutSecretService(t *testing.T) {
	var got []rotor.RotateSecretInput
	h := &awsapi.Handler{Rotation: recordRotate(&got), Auth: &acceptAll{}}
	mustJSON(t, post(t, h, "secretsmanager.RotateSecret", `{"SecretId":"s","ClientRequestToken":"`+versionC+`"}`))
	if len(got) != 1 {
		t.Errorf("rotation engine called %d times, want 1", len(got))
	}
	mustError(t, post(t, h, "secretsmanager.DescribeSecret", `{"SecretId":"s"}`), http.StatusInternalServerError, "InternalServiceError")
}
