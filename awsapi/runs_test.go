package awsapi_test

import (
	"context"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/rotorhq/rotor"
	"github.com/rotorhq/rotor/awsapi"
)

// newRunsHandler returns a Handler serving only Rotor's rotation-run
// operations: Admin is left nil to show they need only Runs.
func newRunsHandler(fr *fakeRuns) *awsapi.Handler {
	return &awsapi.Handler{Runs: fr, Auth: &acceptAll{}}
}

// failedRun is a run with every field set.
func failedRun() rotor.RunRecord {
	return rotor.RunRecord{
		ID: "run-7", SecretARN: testARN, Region: testRegion, Token: versionC, Kind: rotor.RunRotate,
		FunctionARN: lambdaARN, Status: rotor.RunFailed, Step: rotor.StepSet, Attempt: 3, MaxAttempts: 3,
		NextAttempt: changed.Add(time.Minute), LastError: "setSecret: connection refused",
		Created: created, Updated: changed, Finished: changed.Add(time.Hour),
	}
}

// failedRunWire is failedRun on the wire.
var failedRunWire = awsapi.Run{
	RunID: "run-7", SecretARN: testARN, Region: testRegion, VersionID: versionC, Kind: "rotate",
	FunctionARN: lambdaARN, Status: "failed", Step: "setSecret", Attempt: 3, MaxAttempts: 3,
	NextAttempt: awsapi.Timestamp{Time: changed.Add(time.Minute)}, LastError: "setSecret: connection refused",
	Created: awsapi.Timestamp{Time: created}, Updated: awsapi.Timestamp{Time: changed}, Finished: awsapi.Timestamp{Time: changed.Add(time.Hour)},
}

func TestRotorListRotationRuns(t *testing.T) {
	var got []rotor.RunFilter
	var caller rotor.Caller
	fr := &fakeRuns{ListRotationRunsFn: func(ctx context.Context, f rotor.RunFilter) ([]rotor.RunRecord, error) {
		got = append(got, f)
		caller, _ = rotor.CallerFrom(ctx)
		if f.Status == rotor.RunSucceeded {
			return nil, nil
		}
		return []rotor.RunRecord{failedRun(), {ID: "run-8", SecretARN: testARN, Token: versionA, Kind: rotor.RunTestOnly, Status: rotor.RunPending, Attempt: 1, MaxAttempts: 3}}, nil
	}}
	h := newRunsHandler(fr)

	var out awsapi.ListRotationRunsOutput
	rotorCall(t, h, "ListRotationRuns", awsapi.ListRotationRunsInput{SecretID: testName, Status: "failed", MaxResults: 1000}, &out)
	want := []awsapi.Run{failedRunWire,
		{RunID: "run-8", SecretARN: testARN, VersionID: versionA, Kind: "test", Status: "pending", Attempt: 1, MaxAttempts: 3}}
	if !reflect.DeepEqual(out.Runs, want) {
		t.Errorf("Runs=%+v, want %+v", out.Runs, want)
	}
	rotorCall(t, h, "ListRotationRuns", awsapi.ListRotationRunsInput{}, &out)
	rotorCall(t, h, "ListRotationRuns", awsapi.ListRotationRunsInput{Status: "succeeded", MaxResults: 1}, &out)
	if out.Runs == nil || len(out.Runs) != 0 {
		t.Errorf("Runs=%#v, want empty", out.Runs)
	}
	wantFilters := []rotor.RunFilter{{SecretID: testName, Status: "failed", Limit: 1000}, {}, {Status: "succeeded", Limit: 1}}
	if !reflect.DeepEqual(got, wantFilters) {
		t.Errorf("service got %+v, want %+v", got, wantFilters)
	}
	if caller.Principal.Identity != testPrincipal.Identity || caller.Region != testRegion || caller.RequestID == "" {
		t.Errorf("Caller=%+v, want the authenticated principal, region and a request id", caller)
	}

	t.Run("Encoding", func(t *testing.T) {
		rec := post(t, h, "rotor.ListRotationRuns", `{"Status":"pending"}`)
		mustJSON(t, rec)
		wantRun8 := `{"RunId":"run-8","SecretARN":"` + testARN + `","Region":"","VersionId":"` + versionA +
			`","Kind":"test","FunctionARN":"","Status":"pending","Step":"","Attempt":1,"MaxAttempts":3,"LastError":""}`
		if !strings.HasSuffix(rec.Body.String(), ","+wantRun8+"]}") {
			t.Errorf("body=%s, want the second run encoded as %s (zero timestamps left out)", rec.Body.String(), wantRun8)
		}
		if !strings.Contains(rec.Body.String(), `"NextAttempt":1700000060.999,"LastError":"setSecret: connection refused","Created":1523477145.713`) {
			t.Errorf("body=%s, want epoch-second timestamps", rec.Body.String())
		}
		rec = post(t, h, "rotor.ListRotationRuns", `{"Status":"succeeded"}`)
		mustJSON(t, rec)
		if rec.Body.String() != `{"Runs":[]}` {
			t.Errorf("body=%s, want {\"Runs\":[]}", rec.Body.String())
		}
	})
}

func TestRotorRotationHistory(t *testing.T) {
	var gotID string
	var gotLimit int
	fr := &fakeRuns{RotationHistoryFn: func(_ context.Context, id string, limit int) ([]rotor.RunHistory, error) {
		gotID, gotLimit = id, limit
		return []rotor.RunHistory{
			{Run: failedRun(), Steps: []rotor.StepRecord{
				{RunID: "run-7", Step: rotor.StepCreate, Attempt: 1, Started: created, Duration: 1500 * time.Millisecond, Outcome: "ok", Output: "created"},
				{RunID: "run-7", Step: rotor.StepSet, Attempt: 1, Started: changed, Duration: 30 * time.Second, Outcome: "error", Error: "connection refused"},
			}},
			{Run: rotor.RunRecord{ID: "run-9", Status: rotor.RunRunning, Attempt: 1}},
		}, nil
	}}
	h := newRunsHandler(fr)
	var out awsapi.RotationHistoryOutput
	rotorCall(t, h, "RotationHistory", awsapi.RotationHistoryInput{SecretID: testARN, MaxResults: 5}, &out)
	if gotID != testARN || gotLimit != 5 {
		t.Errorf("service got %q %d, want %q 5", gotID, gotLimit, testARN)
	}
	want := []awsapi.RunHistory{
		{Run: failedRunWire, Steps: []awsapi.Step{
			{Step: "createSecret", Attempt: 1, Started: awsapi.Timestamp{Time: created}, DurationMillis: 1500, Outcome: "ok", Output: "created"},
			{Step: "setSecret", Attempt: 1, Started: awsapi.Timestamp{Time: changed}, DurationMillis: 30000, Outcome: "error", Error: "connection refused"},
		}},
		{Run: awsapi.Run{RunID: "run-9", Status: "running", Attempt: 1}, Steps: []awsapi.Step{}},
	}
	if !reflect.DeepEqual(out.Runs, want) {
		t.Errorf("Runs=%+v, want %+v", out.Runs, want)
	}

	t.Run("NoMaxResults", func(t *testing.T) {
		rec := post(t, h, "rotor.RotationHistory", `{"SecretId":"db/main"}`)
		mustJSON(t, rec)
		if gotID != "db/main" || gotLimit != 0 {
			t.Errorf("service got %q %d, want db/main and 0 (the default)", gotID, gotLimit)
		}
		body := rec.Body.String()
		if !strings.Contains(body, `{"Step":"setSecret","Attempt":1,"Started":1700000000.999,"DurationMillis":30000,"Outcome":"error","Error":"connection refused","Output":""}`) {
			t.Errorf("body=%s, want the step with DurationMillis as a number", body)
		}
		if !strings.Contains(body, `"Steps":[]}`) {
			t.Errorf("body=%s, want Steps [] for a run without steps", body)
		}
	})
}

func TestRotorAbandonRotation(t *testing.T) {
	var gotID string
	fr := &fakeRuns{AbandonRotationFn: func(_ context.Context, id string) (*rotor.VersionResult, error) {
		gotID = id
		if id == "clean" {
			return &rotor.VersionResult{ARN: testARN, Name: testName}, nil
		}
		return &rotor.VersionResult{ARN: testARN, Name: testName, VersionID: versionC}, nil
	}}
	h := newRunsHandler(fr)
	var out awsapi.AbandonRotationOutput
	rotorCall(t, h, "AbandonRotation", awsapi.AbandonRotationInput{SecretID: testName}, &out)
	if want := (awsapi.AbandonRotationOutput{ARN: testARN, Name: testName, VersionID: versionC}); out != want || gotID != testName {
		t.Errorf("AbandonRotation(%q)=%+v, want %+v", gotID, out, want)
	}
	rec := post(t, h, "rotor.AbandonRotation", `{"SecretId":"clean"}`)
	mustJSON(t, rec)
	if want := `{"ARN":"` + testARN + `","Name":"` + testName + `"}`; rec.Body.String() != want {
		t.Errorf("body=%s, want %s (no VersionId)", rec.Body.String(), want)
	}
}

func TestRotorRunsValidationAndErrors(t *testing.T) {
	const statusEnum = "[pending, running, succeeded, failed, cancelled, abandoned]"
	tests := []struct {
		name, op, body string
		typ, want      string
		called         bool
	}{
		{"StatusEnum", "ListRotationRuns", `{"Status":"FAILED"}`, "ValidationException",
			"1 validation error detected: Value 'FAILED' at 'status' failed to satisfy constraint: Member must satisfy enum value set: " + statusEnum, false},
		{"MaxResultsZero", "ListRotationRuns", `{"MaxResults":0}`, "ValidationException",
			"1 validation error detected: Value '0' at 'maxResults' failed to satisfy constraint: Member must have value greater than or equal to 1", false},
		{"MaxResultsTooLarge", "RotationHistory", `{"SecretId":"s","MaxResults":1001}`, "ValidationException",
			"1 validation error detected: Value '1001' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to 1000", false},
		{"EmptySecretId", "ListRotationRuns", `{"SecretId":""}`, "ValidationException",
			"1 validation error detected: Value '' at 'secretId' failed to satisfy constraint: Member must have length greater than or equal to 1", false},
		{"HistoryNeedsSecretId", "RotationHistory", `{"MaxResults":5}`, "ValidationException",
			"1 validation error detected: Value null at 'secretId' failed to satisfy constraint: Member must not be null", false},
		{"AbandonNeedsSecretId", "AbandonRotation", `{}`, "ValidationException",
			"1 validation error detected: Value null at 'secretId' failed to satisfy constraint: Member must not be null", false},
		{"WrongType", "ListRotationRuns", `{"MaxResults":"10"}`, "SerializationException", "Value at 'maxResults' must be a number.", false},
		{"DeniedMapped", "ListRotationRuns", `{}`, "AccessDeniedException", "Only admin identities may call rotor.ListRotationRuns.", true},
		{"NotFoundMapped", "RotationHistory", `{"SecretId":"gone"}`, "ResourceNotFoundException", "Secrets Manager can't find the specified secret.", true},
		{"StateMapped", "AbandonRotation", `{"SecretId":"busy"}`, "InvalidRequestException", "The rotation is running.", true},
	}
	fr := &fakeRuns{
		ListRotationRunsFn: func(context.Context, rotor.RunFilter) ([]rotor.RunRecord, error) {
			return nil, rotor.Errorf(rotor.EDENIED, "Only admin identities may call rotor.ListRotationRuns.")
		},
		RotationHistoryFn: func(context.Context, string, int) ([]rotor.RunHistory, error) {
			return nil, rotor.Errorf(rotor.ENOTFOUND, "Secrets Manager can't find the specified secret.")
		},
		AbandonRotationFn: func(context.Context, string) (*rotor.VersionResult, error) {
			return nil, rotor.Errorf(rotor.ESTATE, "The rotation is running.")
		},
	}
	h := newRunsHandler(fr)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := fr.calls.Load()
			rec := post(t, h, "rotor."+tt.op, tt.body)
			if msg := mustError(t, rec, http.StatusBadRequest, tt.typ); msg != tt.want {
				t.Errorf("Message=%q, want %q", msg, tt.want)
			}
			if called := fr.calls.Load() != before; called != tt.called {
				t.Errorf("service called=%v, want %v", called, tt.called)
			}
		})
	}
}

// TestRotorRunsUnavailable checks a handler without Runs answers the
// rotation-run operations as not available, after authentication and before
// validation, while the other Rotor operations still work.
func TestRotorRunsUnavailable(t *testing.T) {
	auth := &acceptAll{}
	fa := &fakeAdmin{ListKeysFn: func(context.Context) ([]rotor.KeyInfo, error) { return nil, nil }}
	h := &awsapi.Handler{Admin: fa, Auth: auth}
	for _, op := range []string{"ListRotationRuns", "RotationHistory", "AbandonRotation"} {
		t.Run(op, func(t *testing.T) {
			before := auth.calls.Load()
			rec := post(t, h, "rotor."+op, `{"Status":"bogus"}`)
			if msg := mustError(t, rec, http.StatusBadRequest, "InvalidRequestException"); msg != op+" is not available in this version of Rotor yet." {
				t.Errorf("Message=%q", msg)
			}
			if auth.calls.Load() != before+1 {
				t.Error("request was not authenticated")
			}
		})
	}
	mustJSON(t, post(t, h, "rotor.ListKeys", `{}`))
	if n := fa.calls.Load(); n != 1 {
		t.Errorf("admin service called %d times, want 1 (ListKeys only)", n)
	}
}
