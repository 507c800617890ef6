package awsapi_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/rotorhq/rotor"
)

// jsonBody encodes v as a request body.
func jsonBody(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestValidation checks that requests breaking the model's constraints are
// answered with AWS's ValidationException text and never reach the service.
func TestValidation(t *testing.T) {
	ids21 := make([]string, 21)
	for i := range ids21 {
		ids21[i] = fmt.Sprintf("s%d", i+1)
	}
	filters11 := make([]map[string]any, 11)
	rendered11 := make([]string, 11)
	for i := range filters11 {
		filters11[i] = map[string]any{"Key": "name", "Values": []string{"a"}}
		rendered11[i] = "{Key=name, Values=[a]}"
	}
	long := strings.Repeat("a", 513)
	secret := strings.Repeat("p", 65537)
	const filterEnum = "[description, name, tag-key, tag-value, primary-region, owning-service, all]"

	tests := []struct {
		name   string
		target string
		body   any
		want   string
	}{
		{"NameTooLong", "CreateSecret", map[string]any{"Name": long},
			"1 validation error detected: Value '" + long + "' at 'name' failed to satisfy constraint: Member must have length less than or equal to 512"},
		{"NameBadCharacters", "CreateSecret", map[string]any{"Name": "bad name*"},
			rotor.InvalidNameMessage},
		{"NameEmpty", "CreateSecret", map[string]any{"Name": ""},
			"1 validation error detected: Value '' at 'name' failed to satisfy constraint: Member must have length greater than or equal to 1"},
		{"RequiredMissing", "GetSecretValue", map[string]any{},
			"1 validation error detected: Value null at 'secretId' failed to satisfy constraint: Member must not be null"},
		{"RequiredNull", "GetSecretValue", map[string]any{"SecretId": nil},
			"1 validation error detected: Value null at 'secretId' failed to satisfy constraint: Member must not be null"},
		{"MemberNameIsCaseSensitive", "GetSecretValue", map[string]any{"secretid": "x"},
			"1 validation error detected: Value null at 'secretId' failed to satisfy constraint: Member must not be null"},
		{"TwoRequiredMissing", "TagResource", map[string]any{},
			"2 validation errors detected: Value null at 'secretId' failed to satisfy constraint: Member must not be null; " +
				"Value null at 'tags' failed to satisfy constraint: Member must not be null"},
		{"TwoErrorsCounted", "GetSecretValue", map[string]any{"SecretId": "s", "VersionId": "short", "VersionStage": ""},
			"2 validation errors detected: Value 'short' at 'versionId' failed to satisfy constraint: Member must have length greater than or equal to 32; " +
				"Value '' at 'versionStage' failed to satisfy constraint: Member must have length greater than or equal to 1"},
		{"EnumSortOrder", "ListSecrets", map[string]any{"SortOrder": "up"},
			"1 validation error detected: Value 'up' at 'sortOrder' failed to satisfy constraint: Member must satisfy enum value set: [asc, desc]"},
		{"MaxResultsZero", "ListSecrets", map[string]any{"MaxResults": 0},
			"1 validation error detected: Value '0' at 'maxResults' failed to satisfy constraint: Member must have value greater than or equal to 1"},
		{"MaxResults101", "ListSecrets", map[string]any{"MaxResults": 101},
			"1 validation error detected: Value '101' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to 100"},
		{"BatchMaxResults21", "BatchGetSecretValue", map[string]any{"Filters": []any{}, "MaxResults": 21},
			"1 validation error detected: Value '21' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to 20"},
		{"ListTooLong", "BatchGetSecretValue", map[string]any{"SecretIdList": ids21},
			"1 validation error detected: Value '[" + strings.Join(ids21, ", ") + "]' at 'secretIdList' failed to satisfy constraint: Member must have length less than or equal to 20"},
		{"ListOfStructuresTooLong", "ListSecrets", map[string]any{"Filters": filters11},
			"1 validation error detected: Value '[" + strings.Join(rendered11, ", ") + "]' at 'filters' failed to satisfy constraint: Member must have length less than or equal to 10"},
		{"ListItem", "BatchGetSecretValue", map[string]any{"SecretIdList": []string{"a", ""}},
			"1 validation error detected: Value '' at 'secretIdList.2.member' failed to satisfy constraint: Member must have length greater than or equal to 1"},
		{"NestedFilterKeyEnum", "ListSecrets", map[string]any{"Filters": []any{map[string]any{"Key": "invalid", "Values": []string{"x"}}}},
			"1 validation error detected: Value 'invalid' at 'filters.1.member.key' failed to satisfy constraint: Member must satisfy enum value set: " + filterEnum},
		{"NestedFilterValuePattern", "ListSecrets", map[string]any{"Filters": []any{map[string]any{"Key": "name", "Values": []string{"ok", "a*b"}}}},
			`1 validation error detected: Value 'a*b' at 'filters.1.member.values.2.member' failed to satisfy constraint: Member must satisfy regular expression pattern: ^\!?[a-zA-Z0-9 :_@\/\+\=\.\-\!]*$`},
		{"NestedFilterValuesEmpty", "ListSecrets", map[string]any{"Filters": []any{map[string]any{"Key": "name", "Values": []string{}}}},
			"1 validation error detected: Value '[]' at 'filters.1.member.values' failed to satisfy constraint: Member must have length greater than or equal to 1"},
		{"NestedTagKey", "TagResource", map[string]any{"SecretId": "s", "Tags": []any{map[string]any{"Key": "", "Value": "v"}}},
			"1 validation error detected: Value '' at 'tags.1.member.key' failed to satisfy constraint: Member must have length greater than or equal to 1"},
		{"LengthInCharacters", "CreateSecret", map[string]any{"Name": "n", "Description": strings.Repeat("é", 2049)},
			"1 validation error detected: Value '" + strings.Repeat("é", 2049) + "' at 'description' failed to satisfy constraint: Member must have length less than or equal to 2048"},
		{"LongRange", "GetRandomPassword", map[string]any{"PasswordLength": 4097},
			"1 validation error detected: Value '4097' at 'passwordLength' failed to satisfy constraint: Member must have value less than or equal to 4096"},
		{"SensitiveStringTooShort", "PutSecretValue", map[string]any{"SecretId": "s", "SecretString": ""},
			"1 validation error detected: Value at 'secretString' failed to satisfy constraint: Member must have length greater than or equal to 1"},
		{"SensitiveStringTooLong", "CreateSecret", map[string]any{"Name": "n", "SecretString": secret},
			"1 validation error detected: Value at 'secretString' failed to satisfy constraint: Member must have length less than or equal to 65536"},
		{"SensitiveBinaryTooLong", "UpdateSecret", map[string]any{"SecretId": "s", "SecretBinary": base64.StdEncoding.EncodeToString([]byte(secret))},
			"1 validation error detected: Value at 'secretBinary' failed to satisfy constraint: Member must have length less than or equal to 65536"},
		{"SensitivePattern", "PutSecretValue", map[string]any{"SecretId": "s", "SecretString": "v", "RotationToken": "not a valid rotation token, has spaces!!"},
			`1 validation error detected: Value at 'rotationToken' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[a-zA-Z0-9\-]+$`},
		{"SensitiveAndPlainCounted", "PutSecretValue", map[string]any{"SecretId": "", "SecretString": ""},
			"2 validation errors detected: Value '' at 'secretId' failed to satisfy constraint: Member must have length greater than or equal to 1; " +
				"Value at 'secretString' failed to satisfy constraint: Member must have length greater than or equal to 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := &fakeSecrets{}
			rec := post(t, newHandler(fs, nil), "secretsmanager."+tt.target, jsonBody(t, tt.body))
			msg := mustError(t, rec, http.StatusBadRequest, "ValidationException")
			if msg != tt.want {
				t.Errorf("Message=\n%q\nwant\n%q", msg, tt.want)
			}
			if strings.Contains(rec.Body.String(), "ppppp") || strings.Contains(rec.Body.String(), "has spaces") {
				t.Errorf("response echoes a sensitive value: %.200s", rec.Body.String())
			}
			if n := fs.calls.Load(); n != 0 {
				t.Errorf("service called %d times, want 0", n)
			}
		})
	}
}

// TestSerialization checks that bodies that are not JSON, or members of the
// wrong JSON type, are answered SerializationException naming the member
// (never its value), and never reach the service.
func TestSerialization(t *testing.T) {
	tests := []struct {
		name     string
		target   string
		body     string
		contains string // the message must contain this
	}{
		{"Malformed", "GetSecretValue", `{"SecretId":`, "not valid JSON"},
		{"TrailingData", "GetSecretValue", `{"SecretId":"a"} {}`, "not valid JSON"},
		{"TopLevelArray", "ListSecrets", `[]`, "must be a JSON object"},
		{"TopLevelNull", "ListSecrets", `null`, "must be a JSON object"},
		{"StringAsNumber", "GetSecretValue", `{"SecretId":12345}`, "'secretId' must be a string"},
		{"NumberAsString", "ListSecrets", `{"MaxResults":"7777"}`, "'maxResults' must be a number"},
		{"BoolAsString", "ListSecrets", `{"IncludePlannedDeletion":"yes"}`, "'includePlannedDeletion' must be a boolean"},
		{"ListAsObject", "ListSecrets", `{"Filters":{"Key":"name"}}`, "'filters' must be a JSON array"},
		{"NestedWrongType", "ListSecrets", `{"Filters":[{"Key":99999}]}`, "'filters.1.member.key' must be a string"},
		{"StructAsString", "ListSecrets", `{"Filters":["name"]}`, "'filters.1.member' must be a JSON object"},
		{"NullListItem", "BatchGetSecretValue", `{"SecretIdList":["a",null]}`, "secretIdList.2.member"},
		{"IntegerFraction", "ListSecrets", `{"MaxResults":1.5}`, "'maxResults' must be a whole number"},
		{"IntegerOverflow", "ListSecrets", `{"MaxResults":4294967296}`, "'maxResults' must be a whole number"},
		{"InvalidBase64", "PutSecretValue", `{"SecretId":"s","SecretBinary":"@@@@hunter2@@@@"}`, "'secretBinary' is not valid base64"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := &fakeSecrets{}
			rec := post(t, newHandler(fs, nil), "secretsmanager."+tt.target, tt.body)
			msg := mustError(t, rec, http.StatusBadRequest, "SerializationException")
			if !strings.Contains(msg, tt.contains) {
				t.Errorf("Message=%q, want it to contain %q", msg, tt.contains)
			}
			for _, v := range []string{"12345", "7777", "yes", "99999", "hunter2"} {
				if strings.Contains(msg, v) {
					t.Errorf("Message=%q echoes the value %q", msg, v)
				}
			}
			if n := fs.calls.Load(); n != 0 {
				t.Errorf("service called %d times, want 0", n)
			}
		})
	}
}

// TestValidationAccepts checks inputs at the limits pass validation and
// reach the service with their values, and that unknown members are ignored.
func TestValidationAccepts(t *testing.T) {
	var got rotor.CreateSecretInput
	fs := &fakeSecrets{CreateSecretFn: func(_ context.Context, in rotor.CreateSecretInput) (*rotor.VersionResult, error) {
		got = in
		return &rotor.VersionResult{ARN: "arn", Name: in.Name}, nil
	}}
	h := newHandler(fs, nil)

	desc := strings.Repeat("é", 2048) // 2048 characters, 4096 bytes
	name := strings.Repeat("n", 512)
	rec := post(t, h, "secretsmanager.CreateSecret", jsonBody(t, map[string]any{
		"Name": name, "Description": desc, "SecretString": strings.Repeat("s", 65536),
		"UnknownMember": map[string]any{"deep": []any{1, "x"}}, "description": 17,
	}))
	mustJSON(t, rec)
	if got.Name != name || got.Description != desc || got.Value.String == nil || len(*got.Value.String) != 65536 {
		t.Errorf("service got Name len %d, Description len %d, value set %v; want the request's values",
			len(got.Name), len(got.Description), got.Value.String != nil)
	}
}
