package awsapi

import (
	"errors"
	"strings"
	"testing"

	"github.com/rotorhq/rotor"
)

// TestDecodeInputShapes drives the validator with shapes of the real model
// that the served operations do not reach: nested structures, Smithy's
// unanchored patterns, and maps. The RotateSecret shape is the model's own,
// with the AutomaticallyAfterDays range that the served operation lifts
// (rotateSecretInput), so these cases also show that lifting it left the
// model unchanged.
func TestDecodeInputShapes(t *testing.T) {
	rotate := secretsManagerModel.Inputs["RotateSecret"]
	describeOut := secretsManagerModel.Shapes["DescribeSecretResponse"]
	tests := []struct {
		name  string
		shape *shape
		body  string
		want  string // "" = valid
	}{
		{"UnanchoredPatternMatchesInside", rotate, `{"SecretId":"s","RotationRules":{"Duration":"2hx"}}`, ""},
		{"PatternFails", rotate, `{"SecretId":"s","RotationRules":{"Duration":"xh"}}`,
			"1 validation error detected: Value 'xh' at 'rotationRules.duration' failed to satisfy constraint: Member must satisfy regular expression pattern: [0-9]+h"},
		{"NestedStructureAllErrorsInModelOrder", rotate, `{"SecretId":"s","RotationRules":{"ScheduleExpression":"","AutomaticallyAfterDays":0}}`,
			"3 validation errors detected: " +
				"Value '0' at 'rotationRules.automaticallyAfterDays' failed to satisfy constraint: Member must have value greater than or equal to 1; " +
				"Value '' at 'rotationRules.scheduleExpression' failed to satisfy constraint: Member must have length greater than or equal to 1; " +
				`Value '' at 'rotationRules.scheduleExpression' failed to satisfy constraint: Member must satisfy regular expression pattern: [0-9A-Za-z\(\)#\?\*\-\/, ]+`},
		{"ListOfStructures", rotate, `{"SecretId":"s","ExternalSecretRotationMetadata":[{"Key":"k","Value":"v"},{"Key":"k","Value":""}]}`,
			"1 validation error detected: Value '' at 'externalSecretRotationMetadata.2.member.value' failed to satisfy constraint: Member must have length greater than or equal to 1"},
		{"Map", describeOut, `{"VersionIdsToStages":{"short":[]}}`,
			"2 validation errors detected: " +
				"Value 'short' at 'versionIdsToStages.key' failed to satisfy constraint: Member must have length greater than or equal to 32; " +
				"Value '[]' at 'versionIdsToStages.short.value' failed to satisfy constraint: Member must have length greater than or equal to 1"},
		{"MapValid", describeOut, `{"VersionIdsToStages":{"` + strings.Repeat("v", 32) + `":["AWSCURRENT"]},"CreatedDate":1523477145.713}`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := decodeInput(tt.shape, []byte(tt.body))
			if tt.want == "" {
				if err != nil {
					t.Fatalf("err=%v, want valid", err)
				}
				return
			}
			var re *rotor.Error
			if !errors.As(err, &re) || re.Code != rotor.EVALIDATION {
				t.Fatalf("err=%v, want a rotor EVALIDATION error", err)
			}
			if re.Message != tt.want {
				t.Errorf("Message=\n%q\nwant\n%q", re.Message, tt.want)
			}
		})
	}
}

// TestDecodeInputKeepsOnlyDeclaredMembers checks the re-encoded input holds
// exactly the declared members, so a case-variant duplicate ("secretid")
// cannot reach the wire struct through Go's case-insensitive decoding.
func TestDecodeInputKeepsOnlyDeclaredMembers(t *testing.T) {
	in := secretsManagerModel.Inputs["ListSecretVersionIds"]
	got, err := decodeInput(in, []byte(`{"SecretId":"s","secretid":"`+strings.Repeat("x", 5000)+`","MaxResults":7,"Extra":{"a":[1]},"NextToken":null}`))
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"MaxResults":7,"SecretId":"s"}`; string(got) != want {
		t.Errorf("decodeInput=%s, want %s", got, want)
	}
}
