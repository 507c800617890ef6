package awsapi_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"

	"github.com/rotorhq/rotor"
	"github.com/rotorhq/rotor/awsapi"
)

// happySecrets answers every call with a well-formed result built from its
// input, so fuzzed requests exercise the encoders too.
func happySecrets() *fakeSecrets {
	ref := func(id string) *rotor.SecretRef { return &rotor.SecretRef{ARN: testARN, Name: id} }
	desc := func(id string) *rotor.SecretDescription {
		d := fullDescription()
		d.Name = id
		return d
	}
	val := func(id string) rotor.SecretValue {
		return rotor.SecretValue{ARN: testARN, Name: id, VersionID: versionA, Value: rotor.Value{String: &id}, Stages: []string{"AWSCURRENT"}, CreatedDate: created}
	}
	return &fakeSecrets{
		CreateSecretFn: func(_ context.Context, in rotor.CreateSecretInput) (*rotor.VersionResult, error) {
			return &rotor.VersionResult{ARN: testARN, Name: in.Name, VersionID: in.ClientRequestToken}, nil
		},
		GetSecretValueFn: func(_ context.Context, in rotor.GetSecretValueInput) (*rotor.SecretValue, error) {
			v := val(in.SecretID)
			return &v, nil
		},
		BatchGetSecretValueFn: func(_ context.Context, in rotor.BatchGetSecretValueInput) (*rotor.BatchGetSecretValueOutput, error) {
			out := &rotor.BatchGetSecretValueOutput{NextToken: in.NextToken}
			for _, id := range in.SecretIDs {
				out.Values = append(out.Values, val(id))
				out.Errors = append(out.Errors, rotor.BatchError{SecretID: id, Code: rotor.ENOTFOUND, Message: "not found"})
			}
			return out, nil
		},
		PutSecretValueFn: func(_ context.Context, in rotor.PutSecretValueInput) (*rotor.VersionResult, error) {
			return &rotor.VersionResult{ARN: testARN, Name: in.SecretID, VersionID: in.ClientRequestToken, Stages: in.Stages}, nil
		},
		UpdateSecretFn: func(_ context.Context, in rotor.UpdateSecretInput) (*rotor.VersionResult, error) {
			return &rotor.VersionResult{ARN: testARN, Name: in.SecretID, VersionID: in.ClientRequestToken}, nil
		},
		UpdateSecretVersionStageFn: func(_ context.Context, in rotor.UpdateSecretVersionStageInput) (*rotor.SecretRef, error) {
			return ref(in.SecretID), nil
		},
		DescribeSecretFn: func(_ context.Context, id string) (*rotor.SecretDescription, error) { return desc(id), nil },
		ListSecretsFn: func(_ context.Context, in rotor.ListSecretsInput) (*rotor.ListSecretsOutput, error) {
			return &rotor.ListSecretsOutput{Secrets: []rotor.SecretDescription{*desc(in.NextToken)}, NextToken: in.NextToken}, nil
		},
		ListSecretVersionIdsFn: func(_ context.Context, in rotor.ListSecretVersionIdsInput) (*rotor.ListSecretVersionIdsOutput, error) {
			return &rotor.ListSecretVersionIdsOutput{ARN: testARN, Name: in.SecretID, Versions: []rotor.VersionEntry{{VersionID: versionA, CreatedDate: created}}}, nil
		},
		DeleteSecretFn: func(_ context.Context, in rotor.DeleteSecretInput) (*rotor.DeleteSecretOutput, error) {
			return &rotor.DeleteSecretOutput{ARN: testARN, Name: in.SecretID, DeletionDate: created}, nil
		},
		RestoreSecretFn: func(_ context.Context, id string) (*rotor.SecretRef, error) { return ref(id), nil },
		TagResourceFn:   func(context.Context, string, []rotor.Tag) error { return nil },
		UntagResourceFn: func(context.Context, string, []string) error { return nil },
		GetRandomPasswordFn: func(_ context.Context, spec rotor.PasswordSpec) (string, error) {
			return spec.ExcludeCharacters, nil
		},
		PutResourcePolicyFn: func(_ context.Context, in rotor.PutResourcePolicyInput) (*rotor.SecretRef, error) {
			return ref(in.SecretID), nil
		},
		GetResourcePolicyFn: func(_ context.Context, id string) (*rotor.ResourcePolicy, error) {
			return &rotor.ResourcePolicy{ARN: testARN, Name: id, Policy: "{}"}, nil
		},
		DeleteResourcePolicyFn: func(_ context.Context, id string) (*rotor.SecretRef, error) { return ref(id), nil },
		ValidateResourcePolicyFn: func(_ context.Context, in rotor.ValidateResourcePolicyInput) (*rotor.PolicyValidation, error) {
			return &rotor.PolicyValidation{Errors: []rotor.PolicyValidationError{{Check: "C", Message: in.ResourcePolicy}}}, nil
		},
	}
}

// happyAdmin is the AdminService counterpart of happySecrets.
func happyAdmin() *fakeAdmin {
	key := &rotor.KeyInfo{ID: "k", Active: true, CreatedDate: created, Wrapped: 1}
	return &fakeAdmin{
		CreateIdentityFn: func(_ context.Context, name string, role rotor.Role) (*rotor.Identity, error) {
			return &rotor.Identity{Name: name, Role: role, CreatedDate: created}, nil
		},
		ListIdentitiesFn: func(context.Context) ([]rotor.Identity, error) {
			return []rotor.Identity{{Name: "a", Role: rotor.RoleAdmin, AccessKeys: []rotor.AccessKeyInfo{{AccessKeyID: "AK"}}}}, nil
		},
		DeleteIdentityFn: func(context.Context, string) error { return nil },
		CreateAccessKeyFn: func(_ context.Context, id string) (*rotor.AccessKey, error) {
			return &rotor.AccessKey{AccessKeyInfo: rotor.AccessKeyInfo{AccessKeyID: "AK", Identity: id}, SecretAccessKey: "s"}, nil
		},
		UpdateAccessKeyFn: func(context.Context, string, string) error { return nil },
		DeleteAccessKeyFn: func(context.Context, string) error { return nil },
		ListKeysFn:        func(context.Context) ([]rotor.KeyInfo, error) { return []rotor.KeyInfo{*key}, nil },
		RotateKeysFn:      func(context.Context) (*rotor.KeyInfo, error) { return key, nil },
		RetireKeyFn:       func(context.Context, string) error { return nil },
		BackupFn:          func(_ context.Context, path string) (string, error) { return "/backups/" + path, nil },
		DownloadBackupFn:  func(context.Context) (*rotor.Snapshot, error) { return newSnapshot(snapshotBytes), nil },
	}
}

// snapshotBytes stand for a database snapshot in the fakes' answers.
var snapshotBytes = []byte("SQLite format 3\x00 and a few pages")

// newSnapshot returns a rotor.Snapshot of data.
func newSnapshot(data []byte) *rotor.Snapshot {
	return &rotor.Snapshot{ReadCloser: io.NopCloser(bytes.NewReader(data)), Size: int64(len(data)), SHA256: sha256.Sum256(data)}
}

// happyRotation is the Rotator counterpart of happySecrets.
func happyRotation() *fakeRotation {
	return &fakeRotation{
		RotateSecretFn: func(_ context.Context, in rotor.RotateSecretInput) (*rotor.VersionResult, error) {
			return &rotor.VersionResult{ARN: testARN, Name: in.SecretID, VersionID: in.ClientRequestToken}, nil
		},
		CancelRotateSecretFn: func(_ context.Context, id string) (*rotor.VersionResult, error) {
			return &rotor.VersionResult{ARN: testARN, Name: id}, nil
		},
	}
}

// happyRuns is the RotationService counterpart of happySecrets.
func happyRuns() *fakeRuns {
	run := func(id string) rotor.RunRecord {
		return rotor.RunRecord{ID: "run-1", SecretARN: testARN, Region: testRegion, Token: id, Kind: rotor.RunRotate,
			FunctionARN: lambdaARN, Status: rotor.RunFailed, Step: rotor.StepSet, Attempt: 2, MaxAttempts: 3, Created: created}
	}
	return &fakeRuns{
		ListRotationRunsFn: func(_ context.Context, f rotor.RunFilter) ([]rotor.RunRecord, error) {
			return []rotor.RunRecord{run(f.SecretID)}, nil
		},
		RotationHistoryFn: func(_ context.Context, id string, _ int) ([]rotor.RunHistory, error) {
			return []rotor.RunHistory{{Run: run(id), Steps: []rotor.StepRecord{{Step: rotor.StepCreate, Attempt: 1, Started: created, Outcome: "ok"}}}}, nil
		},
		AbandonRotationFn: func(_ context.Context, id string) (*rotor.VersionResult, error) {
			return &rotor.VersionResult{ARN: testARN, Name: id}, nil
		},
	}
}

// rotateSeed is a valid RotateSecret body with every supported member.
const rotateSeed = `{"SecretId":"s","ClientRequestToken":"` + versionC + `","RotationLambdaARN":"` + lambdaARN +
	`","RotationRules":{"AutomaticallyAfterDays":30,"Duration":"3h"},"RotateImmediately":false}`

// fuzzSeeds are a valid and an invalid body for every operation.
var fuzzSeeds = map[string][2]string{
	"secretsmanager.CreateSecret": {`{"Name":"db/main","ClientRequestToken":"` + versionA + `","SecretString":"x","Tags":[{"Key":"k","Value":"v"}]}`,
		`{"Name":"bad name","SecretBinary":"%%%"}`},
	"secretsmanager.DescribeSecret":           {`{"SecretId":"db/main"}`, `{"SecretId":""}`},
	"secretsmanager.UpdateSecret":             {`{"SecretId":"s","Description":"","SecretBinary":"AAEC"}`, `{"SecretId":"s","KmsKeyId":7}`},
	"secretsmanager.DeleteSecret":             {`{"SecretId":"s","RecoveryWindowInDays":7}`, `{"SecretId":"s","RecoveryWindowInDays":0,"ForceDeleteWithoutRecovery":true}`},
	"secretsmanager.RestoreSecret":            {`{"SecretId":"s"}`, `{"SecretId":null}`},
	"secretsmanager.ListSecrets":              {`{"Filters":[{"Key":"name","Values":["db"]}],"SortBy":"name","MaxResults":5}`, `{"Filters":[{"Key":"nope","Values":[]}],"MaxResults":0}`},
	"secretsmanager.GetSecretValue":           {`{"SecretId":"s","VersionStage":"AWSCURRENT"}`, `{"SecretId":"s","VersionId":"short"}`},
	"secretsmanager.BatchGetSecretValue":      {`{"SecretIdList":["a","b"]}`, `{"SecretIdList":[],"MaxResults":99}`},
	"secretsmanager.PutSecretValue":           {`{"SecretId":"s","SecretString":"v","VersionStages":["B","A"]}`, `{"SecretId":"s","SecretString":"","RotationToken":"x"}`},
	"secretsmanager.ListSecretVersionIds":     {`{"SecretId":"s","IncludeDeprecated":true}`, `{"SecretId":"s","IncludeDeprecated":"yes"}`},
	"secretsmanager.UpdateSecretVersionStage": {`{"SecretId":"s","VersionStage":"AWSCURRENT","MoveToVersionId":"` + versionB + `"}`, `{"SecretId":"s"}`},
	"secretsmanager.TagResource":              {`{"SecretId":"s","Tags":[]}`, `{"SecretId":"s","Tags":[{"Key":""}]}`},
	"secretsmanager.UntagResource":            {`{"SecretId":"s","TagKeys":["k"]}`, `{"SecretId":"s","TagKeys":[null]}`},
	"secretsmanager.GetRandomPassword":        {`{"PasswordLength":20,"ExcludeNumbers":false}`, `{"PasswordLength":1e3}`},
	"secretsmanager.RotateSecret":             {rotateSeed, `{"SecretId":"s","RotationRules":{"AutomaticallyAfterDays":0}}`},
	"secretsmanager.CancelRotateSecret":       {`{"SecretId":"s"}`, `[`},
	"rotor.CreateIdentity":                    {`{"Name":"ci","Role":"read-only"}`, `{"Name":"ci","Role":"god"}`},
	"rotor.ListIdentities":                    {`{}`, `[]`},
	"rotor.DeleteIdentity":                    {`{"Name":"ci"}`, `{"Name":1}`},
	"rotor.CreateAccessKey":                   {`{"Identity":"ci"}`, `{}`},
	"rotor.UpdateAccessKey":                   {`{"AccessKeyId":"AK","Status":"Active"}`, `{"AccessKeyId":"AK","Status":"active"}`},
	"rotor.DeleteAccessKey":                   {`{"AccessKeyId":"AK"}`, `{"AccessKeyId":""}`},
	"rotor.ListKeys":                          {``, `"x"`},
	"rotor.RotateKeys":                        {`{}`, `{} {}`},
	"rotor.RetireKey":                         {`{"KeyId":"k"}`, `{"KeyId":{}}`},
	"rotor.Backup":                            {`{"Path":"/tmp/b"}`, `{"Path":false}`},
	"rotor.DownloadBackup":                    {`{}`, `{"Path":"x"}`},
	"rotor.ListRotationRuns":                  {`{"SecretId":"s","Status":"failed","MaxResults":10}`, `{"Status":"FAILED","MaxResults":0}`},
	"rotor.RotationHistory":                   {`{"SecretId":"s","MaxResults":1000}`, `{"MaxResults":1001}`},
	"rotor.AbandonRotation":                   {`{"SecretId":"s"}`, `{"SecretId":""}`},
	"":                                        {`{}`, `{`},
	"secretsmanager.Nope":                     {`{}`, ``},
}

// moreFuzzSeeds are further target and body pairs: strings that are not
// Unicode text, SecretIds that are neither names nor ARNs, reserved tag
// keys.
var moreFuzzSeeds = [][2]string{
	{"secretsmanager.DeleteSecret", `{"SecretId":"s/\ud83d\ude00","ForceDeleteWithoutRecovery":true}`},
	{"secretsmanager.DeleteSecret", `{"SecretId":" Inv *?!]Name\\-","ForceDeleteWithoutRecovery":true}`},
	{"secretsmanager.CreateSecret", `{"Name":"u","SecretString":"\ud83d\ude00","Tags":[{"Key":"aws:k","Value":"v"}]}`},
	{"secretsmanager.CreateSecret", `{"Name":"u","SecretString":"a\ud800b"}`},
	{"secretsmanager.CreateSecret", "{\"Name\":\"u\",\"SecretString\":\"a\xffb\"}"},
	{"secretsmanager.TagResource", `{"SecretId":"s","Tags":[{"Key":"AWS:k","Value":"v"}]}`},
	{"secretsmanager.UntagResource", `{"SecretId":"s","TagKeys":["aws:k"]}`},
	{"secretsmanager.BatchGetSecretValue", `{"SecretIdList":["a","Inv Name"]}`},
	{"secretsmanager.PutResourcePolicy", `{"SecretId":"Inv Name","ResourcePolicy":"{}"}`},
	{"rotor.AbandonRotation", `{"SecretId":"Inv Name"}`},
}

// FuzzHandler sends arbitrary targets and bodies through decoding,
// validation and dispatch, on a handler without and one with the optional
// rotation services. The handler must never panic, and must answer 200 with
// a JSON object or 400 with an AWS error: the fakes never fail, so a 500 is
// a bug in the wire layer.
func FuzzHandler(f *testing.F) {
	bare := &awsapi.Handler{Secrets: happySecrets(), Admin: happyAdmin(), Auth: &acceptAll{}}
	full := &awsapi.Handler{Secrets: happySecrets(), Admin: happyAdmin(), Rotation: happyRotation(), Runs: happyRuns(), Auth: &acceptAll{}}
	for target, bodies := range fuzzSeeds {
		f.Add(target, []byte(bodies[0]))
		f.Add(target, []byte(bodies[1]))
	}
	for _, seed := range moreFuzzSeeds {
		f.Add(seed[0], []byte(seed[1]))
	}
	for _, op := range append(full.Operations(), full.Unsupported()...) {
		f.Add("secretsmanager."+op, []byte(`{}`))
	}
	for _, op := range awsapi.RotorOperations() {
		f.Add("rotor."+op, []byte(`{}`))
	}
	f.Fuzz(func(t *testing.T, target string, body []byte) {
		for _, h := range []*awsapi.Handler{bare, full} {
			serveFuzzed(t, h, target, body)
		}
	})
}

// serveFuzzed sends one fuzzed request through h and checks the answer.
func serveFuzzed(t *testing.T, h *awsapi.Handler, target string, body []byte) {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
	req.Header.Set("X-Amz-Target", target)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)

	if rec.Header().Get("Content-Type") == awsapi.OctetStream {
		// A streamed snapshot: 200, its bytes, their digest.
		sum, err := awsapi.ParseContentDigest(rec.Header().Get("Content-Digest"))
		if rec.Code != http.StatusOK || err != nil || sum != sha256.Sum256(rec.Body.Bytes()) ||
			rec.Header().Get("Content-Length") != strconv.Itoa(rec.Body.Len()) {
			t.Fatalf("target %q: stream answered %d, %v, digest %v, %d bytes", target, rec.Code, rec.Header(), err, rec.Body.Len())
		}
		return
	}
	var m map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &m); err != nil {
		t.Fatalf("target %q: body %q is not a JSON object: %v", target, rec.Body.String(), err)
	}
	typ, _ := m["__type"].(string)
	switch rec.Code {
	case http.StatusOK:
		if typ != "" {
			t.Fatalf("target %q: 200 with __type %q", target, typ)
		}
	case http.StatusBadRequest:
		if typ == "" || rec.Header().Get("X-Amzn-ErrorType") != typ {
			t.Fatalf("target %q: 400 without a matching __type/X-Amzn-ErrorType: %s", target, rec.Body.String())
		}
	default:
		t.Fatalf("target %q body %q: status %d: %s", target, body, rec.Code, rec.Body.String())
	}
	if rec.Header().Get("x-amzn-RequestId") == "" {
		t.Fatalf("target %q: no request id", target)
	}
}
